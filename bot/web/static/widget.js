// The smart assistant widget: one <script src="https://host/static/widget.js" defer> on any
// page adds a launcher button and a chat panel that talks to that host's /api/chat.
//
// Who the citizen is, is the server's to say: the widget asks /api/chat/session for a
// signed session token, keeps it in localStorage and sends it in the body of every call
// (never in a URL). A refused token (401: expired or not valid) is replaced by a new
// session, the server's notice that the earlier conversation is gone is shown, and the
// message is sent again; a rotated token that comes back with an answer replaces the old.
//
// The photo and place buttons are chat-media.js, loaded from beside this file when the
// panel first opens.
//
// It lives in an open shadow root so the host page's CSS cannot break it and its CSS
// cannot leak out. Server text is only ever set with textContent; links are built as
// elements from http(s) URLs found in the text.
(function () {
  "use strict";

  const HOST_ID = "civic-assistant";
  if (document.getElementById(HOST_ID)) { return; } // included twice

  const script = document.currentScript ||
    document.querySelector('script[src$="/static/widget.js"], script[src*="/static/widget.js?"]');
  if (!script) { return; }
  const SCRIPT_URL = new URL(script.src, document.baseURI);
  // widget.js sits in <base>/static/, so the API base is one level up (keeps any prefix).
  const API_BASE = new URL("../", SCRIPT_URL);
  const CSS_URL = new URL("widget.css", SCRIPT_URL);
  const MEDIA_URL = new URL("chat-media.js", SCRIPT_URL);
  const MEDIA_CSS_URL = new URL("chat-media.css", SCRIPT_URL);

  const TOKEN_KEY = "civic-chat-token"; // shared with the full-page chat
  const LEGACY_SESSION_KEY = "civic-chat-session"; // ids pages used to make up themselves
  const LANGUAGE_KEY = "civic-chat-language";
  const TRANSCRIPT_KEY = "civic-widget-transcript";
  const OPEN_KEY = "civic-widget-open";
  const MAX_MESSAGES = 50;
  const POLL_MS = 10000;
  const TOKEN_RE = /^[A-Za-z0-9_.-]{20,200}$/;
  const SWITCH_RE = /^\/switch_language\{"language":"(zh|en)"\}$/;
  const URL_RE = /https?:\/\/[^\s<>"'`，。、；：！？（）《》「」『』【】]+/g;
  const TRAILING_RE = /[.,;:!?)\]}'"]+$/;

  // The widget's own labels. Everything the citizen reads from the bot comes from the server.
  const LABELS = {
    zh: {
      htmlLang: "zh-CN",
      name: "智能小助手",
      close: "关闭智能小助手",
      language: "语言",
      log: "对话记录",
      input: "输入您的问题",
      placeholder: "请输入您的问题…",
      send: "发送",
      me: "我说:",
      bot: "小助手说:",
      typing: "小助手正在回复…",
      offline: "网络错误,请稍后再试。",
      newWindow: "(在新窗口打开)",
      image: "小助手发送的图片",
      greeting: "你好",
    },
    en: {
      htmlLang: "en",
      name: "Smart assistant",
      close: "Close the smart assistant",
      language: "Language",
      log: "Conversation",
      input: "Type your question",
      placeholder: "Type your question…",
      send: "Send",
      me: "You said:",
      bot: "Assistant said:",
      typing: "The assistant is replying…",
      offline: "Network error, please try again later.",
      newWindow: "(opens in a new window)",
      image: "Image from the assistant",
      greeting: "hello",
    },
  };

  // Storage can be disabled or full (private browsing, strict cookie settings): fall back
  // to memory so the widget still works for this page view.
  const memory = {};
  function load(store, key) {
    try { return window[store].getItem(key); } catch (err) { return memory[store + key] || null; }
  }
  function save(store, key, value) {
    try { window[store].setItem(key, value); } catch (err) { memory[store + key] = value; }
  }
  function forget(store, key) {
    try { window[store].removeItem(key); } catch (err) { /* nothing kept there */ }
    delete memory[store + key];
  }

  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function storedToken() {
    const token = load("localStorage", TOKEN_KEY);
    return token && TOKEN_RE.test(token) ? token : null;
  }

  function keepToken(token) {
    if (typeof token !== "string" || !TOKEN_RE.test(token)) { return false; }
    save("localStorage", TOKEN_KEY, token);
    return true;
  }

  function pageLanguage() {
    const lang = (document.documentElement.lang || "").toLowerCase();
    return lang.indexOf("en") === 0 ? "en" : "zh";
  }

  function textLanguage(text) {
    if (/[\u3400-\u9fff\uf900-\ufaff]/.test(text)) { return "zh-CN"; }
    return /[A-Za-z].*[A-Za-z]/.test(text) ? "en" : null;
  }

  function readTranscript() {
    try {
      const items = JSON.parse(load("sessionStorage", TRANSCRIPT_KEY) || "[]");
      return Array.isArray(items) ? items.slice(-MAX_MESSAGES) : [];
    } catch (err) {
      return [];
    }
  }

  // ---- DOM ---------------------------------------------------------------------------

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { node.append(c); });
    return node;
  }

  const ICON = '<svg aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="24" height="24">' +
    '<path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6' +
    'a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z"/></svg>';

  const host = el("div", { id: HOST_ID });
  const root = host.attachShadow({ mode: "open" });
  const frame = el("div", { class: "cfa", hidden: "" });
  const launcher = el("button", {
    type: "button", class: "launcher", "aria-expanded": "false", "aria-controls": "cfa-panel",
  });
  launcher.innerHTML = ICON; // a constant, never server text
  const launcherLabel = el("span", { class: "launcher-label" });
  launcher.append(launcherLabel);

  const title = el("h2", { id: "cfa-title", class: "title" });
  const zhButton = el("button", { type: "button", class: "lang", lang: "zh-CN" }, ["中文"]);
  const enButton = el("button", { type: "button", class: "lang", lang: "en" }, ["English"]);
  const languages = el("div", { class: "langs", role: "group" }, [zhButton, enButton]);
  const closeText = el("span", { class: "sr-only" });
  const closeButton = el("button", { type: "button", class: "close" }, [
    el("span", { "aria-hidden": "true" }, ["×"]), closeText,
  ]);
  // The log is a live region wrapping a plain list, so the list keeps its list semantics.
  const list = el("ol", { class: "messages" });
  const log = el("div", { class: "log", role: "log", "aria-live": "polite", tabindex: "0" }, [list]);
  const typing = el("p", { class: "typing", hidden: "" });
  const inputLabel = el("label", { for: "cfa-input", class: "sr-only" });
  const input = el("input", {
    id: "cfa-input", type: "text", maxlength: "4096", autocomplete: "off", enterkeyhint: "send",
  });
  const sendButton = el("button", { type: "submit", class: "send" });
  const form = el("form", { class: "composer" }, [inputLabel, input, sendButton]);
  // The photo and place buttons' panels (chat-media.js) open here, above the composer.
  const mediaHost = el("div", { class: "media-host" });
  const panel = el("section", {
    id: "cfa-panel", class: "panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "cfa-title", hidden: "",
  }, [
    el("div", { class: "head" }, [title, languages, closeButton]),
    log, typing, mediaHost, form,
  ]);
  frame.append(launcher, panel);

  const stylesheet = el("link", { rel: "stylesheet", href: CSS_URL.href });
  // Show nothing until styled; if the CSS cannot load, an unstyled widget beats none.
  stylesheet.addEventListener("load", function () { frame.hidden = false; });
  stylesheet.addEventListener("error", function () { frame.hidden = false; });
  root.append(stylesheet, el("link", { rel: "stylesheet", href: MEDIA_CSS_URL.href }), frame);

  // ---- state -------------------------------------------------------------------------

  // The citizen's last choice, else the page's language; the greeting follows it too.
  const chosen = load("localStorage", LANGUAGE_KEY);
  let language = chosen === "en" || chosen === "zh" ? chosen : pageLanguage();
  let transcript = readTranscript();
  let queue = Promise.resolve();
  let pending = 0;
  let pollTimer = null;
  let updatesAvailable = true;
  let greeted = transcript.length > 0;
  let media = null; // the photo and place buttons, once chat-media.js has loaded
  let mediaLoading = false;

  function applyLabels() {
    const L = LABELS[language];
    frame.setAttribute("lang", L.htmlLang);
    launcherLabel.textContent = L.name;
    title.textContent = L.name;
    languages.setAttribute("aria-label", L.language);
    zhButton.setAttribute("aria-pressed", String(language === "zh"));
    enButton.setAttribute("aria-pressed", String(language === "en"));
    closeText.textContent = L.close;
    log.setAttribute("aria-label", L.log);
    typing.textContent = L.typing;
    inputLabel.textContent = L.input;
    input.placeholder = L.placeholder;
    sendButton.textContent = L.send;
    if (media) { media.applyLabels(); }
  }

  function setLanguage(lang) {
    language = lang;
    save("localStorage", LANGUAGE_KEY, lang);
    applyLabels();
  }

  // ---- rendering ---------------------------------------------------------------------

  function safeUrl(raw) {
    try {
      const url = new URL(raw, API_BASE);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (err) {
      return null;
    }
  }

  // Text with its http(s) URLs turned into links; everything else stays a text node.
  function linkify(text) {
    const parts = [];
    let last = 0;
    text.replace(URL_RE, function (match, offset) {
      const trimmed = match.replace(TRAILING_RE, "");
      const href = safeUrl(trimmed);
      if (!href) { return match; }
      parts.push(document.createTextNode(text.slice(last, offset)));
      const link = el("a", { href: href, target: "_blank", rel: "noopener" }, [trimmed]);
      link.append(el("span", { class: "sr-only" }, [" " + LABELS[language].newWindow]));
      parts.push(link);
      last = offset + trimmed.length;
      return match;
    });
    parts.push(document.createTextNode(text.slice(last)));
    return parts;
  }

  function render(entry) {
    const L = LABELS[language];
    const item = el("li", { class: "msg " + (entry.who === "me" ? "me" : "bot") });
    const bubble = el("div", { class: "bubble" });
    const lang = entry.text ? textLanguage(entry.text) : null;
    if (lang) { bubble.setAttribute("lang", lang); }
    // Who spoke, for screen readers: part of the text the live region announces.
    item.append(el("span", { class: "sr-only" }, [entry.who === "me" ? L.me : L.bot]));
    if (entry.text) { bubble.append(...linkify(entry.text)); }
    const src = entry.image ? safeUrl(entry.image) : null;
    if (src) { bubble.append(el("img", { src: src, alt: L.image })); }
    if (bubble.childNodes.length) { item.append(bubble); }
    if (entry.buttons && entry.buttons.length) {
      const row = el("div", { class: "choices" });
      entry.buttons.forEach(function (b) {
        const button = el("button", { type: "button", class: "choice" }, [String(b.title || "")]);
        button.addEventListener("click", function () {
          send({ payload: String(b.payload || "") }, String(b.title || ""));
        });
        row.append(button);
      });
      item.append(row);
    }
    list.append(item);
    log.scrollTop = log.scrollHeight;
  }

  function add(entry) {
    transcript.push(entry);
    transcript = transcript.slice(-MAX_MESSAGES);
    save("sessionStorage", TRANSCRIPT_KEY, JSON.stringify(transcript));
    render(entry);
  }

  function showReplies(messages) {
    (messages || []).forEach(function (m) {
      if (!m || !(m.text || m.image || (m.buttons && m.buttons.length))) { return; }
      add({
        who: "bot",
        text: typeof m.text === "string" ? m.text : "",
        image: typeof m.image === "string" ? m.image : null,
        buttons: Array.isArray(m.buttons) ? m.buttons.map(function (b) {
          return { title: b && b.title, payload: b && b.payload };
        }) : [],
      });
    });
  }

  // ---- talking to the server ---------------------------------------------------------

  function busy(delta) {
    pending += delta;
    typing.hidden = pending === 0;
  }

  function postJson(path, body) {
    return fetch(new URL(path, API_BASE), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
    });
  }

  // A body carrying a photo (a Blob) goes as multipart form data, everything else as JSON.
  function postWithToken(path, body, token) {
    const fields = Object.assign({}, body, { token: token });
    if (!(body.photo instanceof Blob)) { return postJson(path, fields); }
    const data = new FormData();
    Object.keys(fields).forEach(function (k) {
      if (k === "photo") { data.append(k, fields[k], fields[k].name || "photo"); }
      else if (fields[k] !== null && fields[k] !== undefined) { data.append(k, String(fields[k])); }
    });
    return fetch(new URL(path, API_BASE), { method: "POST", body: data, credentials: "omit" });
  }

  async function readJson(response) {
    const data = await response.json().catch(function () { return null; });
    return data && typeof data === "object" ? data : {};
  }

  async function newSession() {
    const response = await postJson("api/chat/session", {});
    const data = await readJson(response);
    if (!response.ok || !keepToken(data.token)) { throw new Error("no session"); }
    return data.token;
  }

  // POSTs `body` with the session token. A refused token gets a new session and one more
  // try, after the server's notice that the earlier conversation is gone.
  async function call(path, body) {
    const token = storedToken() || await newSession();
    let response = await postWithToken(path, body, token);
    let data = await readJson(response);
    if (response.status === 401) {
      showReplies(data.messages);
      // Another tab may have replaced it already: join that session rather than make one.
      const current = storedToken();
      const fresh = current && current !== token ? current : await newSession();
      response = await postWithToken(path, body, fresh);
      data = await readJson(response);
    }
    if (response.ok) { keepToken(data.token); } // rotated: same session, fresh token
    return { response: response, data: data };
  }

  async function post(body, path) {
    busy(1);
    try {
      const result = await call(path || "api/chat", body);
      const response = result.response;
      const data = result.data;
      if (Array.isArray(data.messages) && data.messages.length) {
        showReplies(data.messages);
      } else if (!response.ok) {
        add({ who: "bot", text: LABELS[language].offline });
      }
    } catch (err) {
      add({ who: "bot", text: LABELS[language].offline });
    } finally {
      busy(-1);
    }
  }

  // Sends one message; replies come back in the order messages were sent. `echo` is what
  // the citizen sees as their own message (nothing for the automatic greeting); `path` is
  // the endpoint (the chat's own unless a photo or a place is sent).
  function send(message, echo, path) {
    const match = SWITCH_RE.exec(message.payload || "");
    if (match) { setLanguage(match[1]); }
    if (echo) { add({ who: "me", text: echo }); }
    const body = Object.assign({}, message, { message_id: randomId(), language: language });
    queue = queue.then(function () { return post(body, path); });
    return queue;
  }

  async function fetchUpdates() {
    if (!updatesAvailable) { return; }
    try {
      const result = await call("api/chat/updates", { language: language });
      if (result.response.status === 404) { updatesAvailable = false; return; }
      if (!result.response.ok) { return; }
      showReplies(result.data.messages);
    } catch (err) {
      // Status updates are a bonus: a failed poll is retried on the next tick, silently.
    }
  }

  function schedulePoll() {
    clearTimeout(pollTimer);
    if (panel.hidden || !updatesAvailable) { return; }
    pollTimer = setTimeout(function () {
      queue = queue.then(fetchUpdates);
      queue.then(schedulePoll);
    }, POLL_MS);
  }

  // ---- opening and closing -----------------------------------------------------------

  function open(focus) {
    loadMedia();
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    save("sessionStorage", OPEN_KEY, "1");
    log.scrollTop = log.scrollHeight;
    if (focus) { input.focus({ preventScroll: true }); }
    if (!greeted) {
      greeted = true;
      send({ text: LABELS[language].greeting });
    }
    queue = queue.then(fetchUpdates);
    queue.then(schedulePoll);
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    save("sessionStorage", OPEN_KEY, "");
    clearTimeout(pollTimer);
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) { open(true); } else { close(); }
  });
  closeButton.addEventListener("click", close);
  frame.addEventListener("keydown", function (event) {
    // Esc while composing pinyin cancels the composition, not the panel.
    if (event.key === "Escape" && !event.isComposing && !panel.hidden) {
      event.preventDefault();
      close();
    }
  });
  [zhButton, enButton].forEach(function (button) {
    button.addEventListener("click", function () {
      const lang = button === enButton ? "en" : "zh";
      if (lang === language) { return; }
      send({ payload: '/switch_language{"language":"' + lang + '"}' }, button.textContent);
    });
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) { input.focus({ preventScroll: true }); return; }
    input.value = "";
    send({ text: text }, text);
  });

  // The photo and place buttons load with the panel's first opening, not with the page.
  function loadMedia() {
    if (mediaLoading) { return; }
    mediaLoading = true;
    const loader = document.createElement("script");
    loader.src = MEDIA_URL.href;
    loader.addEventListener("load", function () {
      if (!window.CivicChatMedia || media) { return; }
      media = window.CivicChatMedia.attach({
        bar: form,
        panelHost: mediaHost,
        apiBase: API_BASE,
        language: function () { return language; },
        deliver: function (path, body, echo) { send(body, echo, path); },
      });
    });
    document.head.append(loader);
  }

  function start() {
    forget("localStorage", LEGACY_SESSION_KEY); // no longer anyone's identity
    applyLabels();
    transcript.forEach(render);
    document.body.append(host);
    // Reopen after a page load if it was open, without stealing the focus.
    if (load("sessionStorage", OPEN_KEY) === "1") { open(false); }
    // A personal survey link (<site>/?start=<token>) or a window's (?start=w_<id>):
    // open the chat and hand the payload over, as Telegram's /start <payload> does.
    const payload = new URLSearchParams(window.location.search).get("start") || "";
    if (/^[A-Za-z0-9_-]{1,64}$/.test(payload)) {
      open(true);
      send({ payload: "/start " + payload }, null);
    }
  }

  if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }
})();
