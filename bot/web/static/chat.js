// The web chat: sends what the citizen types or taps to /api/chat and shows the replies.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const KEY = "civic-chat-session";

  function sessionId() {
    let id = localStorage.getItem(KEY);
    if (!id) {
      id = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now()).replace(/[^A-Za-z0-9_-]/g, "");
      localStorage.setItem(KEY, id);
    }
    return id;
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
    body.session = sessionId();
    body.message_id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()));
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const data = await response.json();
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
