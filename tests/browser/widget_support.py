"""What the widget's browser tests stand on: a fake `/api/chat` (the widget is under test,
not the dialogue, which the e2e tests drive through the same endpoint) served with the
widget's pages by uvicorn in a thread, on 127.0.0.1 and, as a second origin, localhost.

Sessions are real: the app's own `POST /api/chat/session` issues them, and the fake chat
and updates endpoints check and rotate tokens with `civic.identity`, answering a refused
one as the app does (401, the notice in the citizen's language).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.web import chat_session_router, widget_router
from civic.i18n import t
from civic.identity import SessionRefused, WebSessions
from storage.models import utcnow

BOT_DIR = Path(__file__).resolve().parents[2] / "bot" / "web"
HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"

LINK = "https://kpb.hangzhou.gov.cn/col/col1229471683/index.html"
GREETING = {
    "zh": "您好!我是智能小助手。请问您是?",
    "en": "Hello! I am the smart assistant. Who are you?",
}
IDENTITIES = {
    "zh": [("市民", "citizen"), ("企业", "business")],
    "en": [("Citizen", "citizen"), ("Business", "business")],
}
PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?$")
SESSIONS = WebSessions("browser-test-secret")
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f3e1d90000000049454e44ae426082"
)


def reply(text: str, buttons: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    return {
        "text": text,
        "buttons": [{"title": t, "payload": p} for t, p in buttons or []],
        "image": None,
        "custom": None,
    }


@dataclass
class FakeChat:
    """Answers like the assistant would, in shape: a greeting with buttons, an echo, a link,
    an image; records every request so tests can check what the widget sent."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    origins: list[str | None] = field(default_factory=list)
    updates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    polls: list[str] = field(default_factory=list)
    updates_available: bool = True
    # The session id of each accepted chat request, and whether to rotate the next token.
    sessions: list[str] = field(default_factory=list)
    rotate_next: bool = False

    def reset(self) -> None:
        self.requests.clear()
        self.origins.clear()
        self.updates.clear()
        self.polls.clear()
        self.updates_available = True
        self.sessions.clear()
        self.rotate_next = False

    def check(self, body: Any) -> tuple[str, dict[str, str]] | JSONResponse:
        """The session id and any rotated token, or the app's 401 for a refused token."""
        fields = body if isinstance(body, dict) else {}
        try:
            session = SESSIONS.verify(fields.get("token"), now=utcnow())
        except SessionRefused as exc:
            notice = reply(t(exc.key, fields.get("language")))
            return JSONResponse({"error": exc.key, "messages": [notice]}, status_code=401)
        if not self.rotate_next:
            return session.session_id, {}
        self.rotate_next = False
        # As the app does once a token is a day old: a new token, the same session.
        fresh = SESSIONS.renew(session, now=utcnow() + timedelta(days=2))
        assert fresh is not None
        return session.session_id, {"token": fresh.token}

    def push(self, session: str, text: str) -> None:
        self.updates.setdefault(session, []).append(reply(text))

    def answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        lang = "en" if body.get("language") == "en" else "zh"
        if body.get("payload"):
            return self._payload(body["payload"], lang)
        text = str(body.get("text") or "")
        if text.lower() in {"你好", "hello"}:
            lang = "zh" if text == "你好" else "en"
            buttons = [
                (title, f'/identify{{"identity":"{code}"}}') for title, code in IDENTITIES[lang]
            ]
            return [reply(GREETING[lang], buttons)]
        if text == "link":
            return [reply(f"详情见 {LINK}。<img src=x onerror=alert(1)> javascript:alert(1)")]
        if text == "photo":
            return [{"text": "", "buttons": [], "image": "/fake/photo.png", "custom": None}]
        return [reply(f"收到:{text}")]

    def _payload(self, payload: str, lang: str) -> list[dict[str, Any]]:
        match = PAYLOAD.match(payload)
        if match is None:
            return [reply(f"payload {payload}")]
        intent, entities = match.group(1), json.loads(match.group(2) or "{}")
        if intent == "switch_language":
            english = entities.get("language") == "en"
            return [reply("Switched to English." if english else "已切换为中文。")]
        if intent == "identify":
            return [reply(f"为您推荐:{LINK}")]
        return [reply(f"payload {payload}")]


def build_app(fake: FakeChat, *, other_origin: str) -> FastAPI:
    """The widget's router and static files, the fake chat API, and a page on
    `other_origin` that embeds the widget from this server (CORS as the integrator sets it)."""
    app = FastAPI()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[other_origin],
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
    )
    app.include_router(widget_router(BOT_DIR / "templates"))
    app.include_router(chat_session_router(SESSIONS))
    app.mount("/static", StaticFiles(directory=str(BOT_DIR / "static")), name="static")

    @app.post("/api/chat")
    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        fake.requests.append(body)
        fake.origins.append(request.headers.get("origin"))
        checked = fake.check(body)
        if isinstance(checked, JSONResponse):
            return checked
        session, rotated = checked
        fake.sessions.append(session)
        return JSONResponse({"messages": fake.answer(body), **rotated})

    @app.post("/api/chat/updates")
    async def updates(request: Request) -> JSONResponse:
        checked = fake.check(await request.json())
        if isinstance(checked, JSONResponse):
            return checked
        session, rotated = checked
        fake.polls.append(session)
        if not fake.updates_available:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return JSONResponse({"messages": fake.updates.pop(session, []), **rotated})

    @app.get("/fake/photo.png")
    async def photo() -> Response:
        return Response(PNG_1X1, media_type="image/png")

    @app.get("/elsewhere", response_class=HTMLResponse)
    async def elsewhere(src: str) -> str:
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Elsewhere</title>'
            f'</head><body><main><h1>Another site</h1></main><script src="{src}" defer></script>'
            "</body></html>"
        )

    return app


@contextmanager
def live_server(fake: FakeChat) -> Iterator[tuple[str, str]]:
    """Serves the app on a free port; yields its base URL on 127.0.0.1 and the same server
    as seen from another origin (localhost)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base, other = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    config = uvicorn.Config(
        build_app(fake, other_origin=other), lifespan="off", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield base, other
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def local_only(url: str) -> bool:
    return re.match(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/", url) is not None or (
        url.startswith(("data:", "blob:", "about:"))
    )


AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => JSON.stringify(n.target)).slice(0, 5),
  }));
}"""
