"""The web chat's sessions over HTTP: `POST /api/chat/session` issues one, and every
chat call (`POST /api/chat`, `POST /api/chat/updates`) must carry its token. The tokens
themselves are `civic.identity`'s: signed, expiring, rotated.

Where the token travels: in the JSON body of each call (`{"token": "..."}`), back in the
JSON answer when it is issued or rotated (`"token"`, `"expires_at"`), and the widget keeps
it in localStorage. Not in a URL: URLs end up in access logs, browser history and Referer
headers. Not in a cookie: the widget is embedded on other sites and calls this host
cross-origin with `credentials: "omit"`, where a cookie would be a third-party cookie
(blocked by more and more browsers) and would need CORS credentials and CSRF defences.
Since the browser never sends the token on its own, a page elsewhere cannot act in a
citizen's session (no CSRF), and a link cannot plant a session on someone (no fixation):
the widget only uses a token this server gave it. What localStorage does not keep out is
a script running on the embedding page itself; an HttpOnly cookie would, but only where
the chat is served from this host's own origin.

A refused token gets 401 in the chat's error shape, in the citizen's language, saying the
earlier conversation is gone; the widget then asks for a new session, shows that text
and sends the message again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from civic.i18n import t
from civic.identity import SessionRefused, WebSession, WebSessions
from storage.models import utcnow

# Tokens are credentials: no cache may keep an answer that carries one.
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class ChatSession:
    """The citizen behind a chat call, and the fresh token to hand back if one is due."""

    session_id: str
    renewed: WebSession | None = None

    def answer(self, body: dict[str, Any]) -> JSONResponse:
        """`body` as the JSON answer, with the rotated token when there is one."""
        if self.renewed is None:
            return JSONResponse(body)
        return JSONResponse({**body, **_token_fields(self.renewed)}, headers=NO_STORE)


def open_session(sessions: WebSessions, token: object) -> ChatSession:
    """The session a chat call's token names; raises SessionRefused (invalid or expired)."""
    now = utcnow()
    session = sessions.verify(token, now=now)
    return ChatSession(session.session_id, sessions.renew(session, now=now))


def refused(exc: SessionRefused, lang: str | None) -> JSONResponse:
    """401 in the chat's error shape, with the citizen's explanation."""
    message = {"text": t(exc.key, lang), "buttons": []}
    headers = {**NO_STORE, "WWW-Authenticate": 'CivicSession realm="web chat"'}
    return JSONResponse({"error": exc.key, "messages": [message]}, 401, headers=headers)


def _token_fields(session: WebSession) -> dict[str, str]:
    return {"token": session.token, "expires_at": session.expires_at.isoformat()}


def chat_session_router(sessions: WebSessions) -> APIRouter:
    """`POST /api/chat/session`: a new session with a new random id, for whoever asks.

    Only this server makes session ids, so a caller cannot choose whose conversation it
    joins; how many sessions one caller may open is for a rate limit in front of this.
    """
    router = APIRouter()

    @router.post("/api/chat/session")
    async def new_session() -> JSONResponse:
        return JSONResponse(_token_fields(sessions.issue(now=utcnow())), headers=NO_STORE)

    return router
