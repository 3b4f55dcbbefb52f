"""`POST /api/chat/updates` with `{"token": ...}`: what the notifier left for a web-chat
session.

The web chat cannot be pushed to, so the notifier writes an OutboundMessage and the page
polls here. Each message is handed out once: a single UPDATE marks the pending messages
delivered and returns them, so two polls at the same moment (two tabs) never both get
one. A poll whose answer is lost on the way loses those messages; the page polls again
and the conversation itself is unaffected.

The session comes from its signed token (`bot/web/_chat_sessions.py`), sent in the body:
a session id in the query string let anyone read another citizen's updates by guessing
or seeing the id, and put it in every access log. `GET` is answered 405 with what to do.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bot.web._chat_sessions import open_session, refused
from civic.i18n import t
from civic.identity import SessionRefused, WebSessions
from storage.models import OutboundMessage, utcnow

CHANNEL = "web"
BATCH = 50
USE_POST = 'fetch updates with POST /api/chat/updates and {"token": "<session token>"}'


def take_pending(*, session: Session, address: str, limit: int = BATCH) -> list[dict[str, Any]]:
    """Mark the session's undelivered messages delivered and return them, oldest first."""
    pending = (
        select(OutboundMessage.id)
        .where(
            OutboundMessage.channel == CHANNEL,
            OutboundMessage.address == address,
            OutboundMessage.delivered_at.is_(None),
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
    )
    taken = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(pending), OutboundMessage.delivered_at.is_(None))
        .values(delivered_at=utcnow())
        .returning(OutboundMessage.id, OutboundMessage.body)
        .execution_options(synchronize_session=False)
    ).all()
    return [{"id": row.id, **json.loads(row.body)} for row in sorted(taken)]


def web_updates_router(sessions: sessionmaker[Session], web_sessions: WebSessions) -> APIRouter:
    router = APIRouter()

    def take(address: str) -> list[dict[str, Any]]:
        with sessions.begin() as db:
            return take_pending(session=db, address=address)

    @router.post("/api/chat/updates")
    async def chat_updates(request: Request) -> JSONResponse:
        lang = request.headers.get("accept-language")
        try:
            body = await request.json()
        except ValueError:
            body = None
        fields = body if isinstance(body, dict) else {}
        language = fields.get("language")
        try:
            chat = open_session(web_sessions, fields.get("token"))
        except SessionRefused as exc:
            return refused(exc, language if isinstance(language, str) else lang)
        # The database work runs in the thread pool, off the event loop.
        return chat.answer({"messages": await run_in_threadpool(take, chat.session_id)})

    @router.get("/api/chat/updates")
    async def updates_by_get(request: Request) -> JSONResponse:
        lang = request.headers.get("accept-language")
        message = {"text": t("web_session.updates_by_post", lang), "buttons": []}
        body = {"error": "method_not_allowed", "detail": USE_POST, "messages": [message]}
        return JSONResponse(body, 405, headers={"Allow": "POST"})

    return router
