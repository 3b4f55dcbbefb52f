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
  localStorage.removeItem("civic-chat-session"); // ids pages used to make up themselves

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
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

  async function send(body, echo) {
    show(echo, "me");
    body.message_id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()));
    try {
      body.token = localStorage.getItem(KEY) || await newSession();
      let response = await postJson("/api/chat", body);
      let data = await response.json();
      if (response.status === 401) {
        (data.messages || []).forEach(function (m) { show(m.text, "bot"); });
        body.token = await newSession();
        response = await postJson("/api/chat", body);
        data = await response.json();
      }
      if (response.ok && typeof data.token === "string") { localStorage.setItem(KEY, data.token); }
      (data.messages || []).forEach(function (m) { show(m.text, "bot", m.buttons); });
    } catch (err) {
      show("网络错误,请稍后再试。 Network error, please try again.", "bot");
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) { return; }
    input.value = "";
    send({ text: text }, text);
  });
})();
