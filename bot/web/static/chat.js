// The web chat: sends what the citizen types or taps to /api/chat and shows the replies.
// The session token comes from /api/chat/session and travels in the body of each call;
// a refused one is replaced, after the server's notice that the old conversation is gone
// (widget.js does the same, and shares the token through localStorage).
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const KEY = "civic-chat-token";
  const language = (navigator.language || "").toLowerCase().indexOf("en") === 0 ? "en" : "zh";
  localStorage.removeItem("civic-chat-session"); // ids pages used to make up themselves

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  // A body carrying a photo (a Blob) goes as multipart form data, everything else as JSON.
  function postBody(url, body) {
    if (!(body.photo instanceof Blob)) { return postJson(url, body); }
    const data = new FormData();
    Object.keys(body).forEach(function (k) {
      if (k === "photo") { data.append(k, body[k], body[k].name || "photo"); }
      else if (body[k] !== null && body[k] !== undefined) { data.append(k, String(body[k])); }
    });
    return fetch(url, { method: "POST", body: data });
  }

  async function newSession() {
    const response = await postJson("/api/chat/session", {});
    const data = await response.json();
    if (!response.ok || typeof data.token !== "string") { throw new Error("no session"); }
    localStorage.setItem(KEY, data.token);
    return data.token;
  }

  function show(text, who, buttons) {
    const item = document.createElement("li");
    item.className = who;
    item.textContent = text || "";
    if (buttons && buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      buttons.forEach(function (b) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.addEventListener("click", function () { send({ payload: b.payload }, b.title); });
        row.appendChild(button);
      });
      item.appendChild(row);
    }
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  async function send(body, echo, path) {
    const url = "/" + (path || "api/chat");
    show(echo, "me");
    body.message_id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()));
    body.language = language;
    try {
      body.token = localStorage.getItem(KEY) || await newSession();
      let response = await postBody(url, body);
      let data = await response.json();
      if (response.status === 401) {
        (data.messages || []).forEach(function (m) { show(m.text, "bot"); });
        body.token = await newSession();
        response = await postBody(url, body);
        data = await response.json();
      }
      if (response.ok && typeof data.token === "string") { localStorage.setItem(KEY, data.token); }
      (data.messages || []).forEach(function (m) { show(m.text, "bot", m.buttons); });
    } catch (err) {
      show("网络错误,请稍后再试。 Network error, please try again.", "bot");
    }
  }

  if (window.CivicChatMedia) {
    window.CivicChatMedia.attach({
      bar: form,
      panelHost: document.getElementById("media-host"),
      apiBase: new URL("/", document.baseURI),
      language: function () { return language; },
      deliver: function (path, body, echo) { send(body, echo, path); },
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) { return; }
    input.value = "";
    send({ text: text }, text);
  });
})();
