"""`GET /api/chat/updates?session=<id>`: what the notifier left for a web-chat session.

The web chat cannot be pushed to, so the notifier writes an OutboundMessage and the page
polls here. Each message is handed out once: a single UPDATE marks the pending messages
delivered and returns them, so two polls at the same moment (two tabs) never both get
one. A poll whose answer is lost on the way loses those messages; the page polls again
and the conversation itself is unaffected.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import OutboundMessage, utcnow

CHANNEL = "web"
# A web chat session id: what the widget makes, and nothing else.
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
BATCH = 50


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


def web_updates_router(sessions: sessionmaker[Session]) -> APIRouter:
    router = APIRouter()

    @router.get("/api/chat/updates")
    def chat_updates(session: str = "") -> JSONResponse:
        # A plain `def`: FastAPI runs it in its thread pool, off the event loop.
        if not SESSION_ID.match(session):
            detail = "session must be 16 to 64 characters of A-Z, a-z, 0-9, '_' or '-'"
            return JSONResponse({"error": "invalid_session", "detail": detail}, 400)
        with sessions.begin() as db:
            messages = take_pending(session=db, address=session)
        return JSONResponse({"messages": messages})

    return router
