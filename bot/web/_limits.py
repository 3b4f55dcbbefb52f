"""The web app's limits: messages a minute on the web chat (per client address and per
chat session), Open311 posts a minute (per key and per address), and the size of every
request body; and, for `bot/web/_desk/login.py`, the sign-in backoff and the cap on
password checks running at once. The counting itself is `storage.ratelimit` (Redis when
configured).

`BodySizeLimit` is a plain ASGI middleware: a body declared larger than its route's cap
is refused with 413 before anything reads it, and a body without a Content-Length
(chunked) is counted as it streams in and cut off at the cap. Only the desk's
rectification, the web chat's photo (`POST /api/chat/photo`) and the citizen's report
page, which carry a photo, may send `max_upload_bytes`; a survey upload may send its own
limit; everything else `max_body_bytes`.

The client's address is the one uvicorn gives: behind a reverse proxy that sets
X-Forwarded-For, that is the citizen's (uvicorn trusts the header from 127.0.0.1 by
default, `FORWARDED_ALLOW_IPS` for others).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web._survey_admin import MAX_SURVEY_BYTES
from civic.i18n import t
from civic.settings import Settings
from storage.ratelimit import (
    Backoff,
    BackoffPolicy,
    Clock,
    RateLimiter,
    Rule,
    Store,
    Verdict,
    make_store,
)

log = logging.getLogger(__name__)

MINUTE = 60


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def chat_error(
    key: str, lang: str | None, status: int, headers: dict[str, str] | None = None, **params: object
) -> JSONResponse:
    """A web chat error in the chat's own shape, so the widget shows its text."""
    message = {"text": t(key, lang, **params), "buttons": []}
    return JSONResponse({"error": key, "messages": [message]}, status, headers)


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


@dataclass(frozen=True)
class LoginPolicies:
    account: BackoffPolicy
    ip: BackoffPolicy


class WebLimits:
    """The web app's rules over one store, built from the settings."""

    def __init__(
        self, settings: Settings, store: Store | None = None, clock: Clock = time.time
    ) -> None:
        self.store = store if store is not None else make_store(settings.redis_url, clock)
        self.limiter = RateLimiter(self.store, clock)
        self.backoff = Backoff(self.store, clock)
        self.chat_ip = Rule("chat-ip", settings.chat_limit_per_ip, MINUTE)
        self.chat_session = Rule("chat-session", settings.chat_limit_per_session, MINUTE)
        self.open311_ip = Rule("open311-ip", settings.open311_limit_per_ip, MINUTE)
        self.open311_key = Rule("open311-key", settings.open311_limit_per_key, MINUTE)
        cap = float(settings.login_max_backoff)
        self.login = LoginPolicies(
            account=BackoffPolicy("login-account", settings.login_free_failures, cap=cap),
            ip=BackoffPolicy("login-ip", settings.login_free_failures_per_ip, cap=cap),
        )
        # Password checks (argon2, slow on purpose) running at once in this process.
        self.password_checks = asyncio.Semaphore(max(1, settings.login_hash_concurrency))
        self.max_body = settings.max_body_bytes
        self.max_upload = settings.max_upload_bytes

    def chat(self, request: Request, session: str, lang: str | None) -> JSONResponse | None:
        """None when this web chat message may go on; otherwise the 429 to answer."""
        return self.chat_address(request, lang) or self.chat_session_turn(session, lang)

    def chat_address(self, request: Request, lang: str | None) -> JSONResponse | None:
        """The per-address half of `chat`, for a request whose session is known only once
        its body is read (a photo upload counts before its body is parsed)."""
        verdict = self.limiter.hit(self.chat_ip, client_ip(request))
        return None if verdict.allowed else self._too_many(verdict, lang)

    def chat_session_turn(self, session: str, lang: str | None) -> JSONResponse | None:
        """The per-session half of `chat`."""
        verdict = self.limiter.hit(self.chat_session, session)
        return None if verdict.allowed else self._too_many(verdict, lang)

    def _too_many(self, verdict: Verdict, lang: str | None) -> JSONResponse:
        headers = {"Retry-After": str(verdict.retry_after)}
        return chat_error("limits.chat", lang, 429, headers, seconds=verdict.retry_after)

    def body_caps(self) -> list[tuple[str, re.Pattern[str], int]]:
        """(method, path, cap) for the routes allowed more than `max_body_bytes`; a cap of
        0 is none."""
        survey = max(MAX_SURVEY_BYTES, self.max_body) if self.max_body > 0 else 0
        return [
            ("POST", re.compile(r"^/desk/tickets/[^/]+/rectify$"), self.max_upload),
            ("POST", re.compile(r"^/api/chat/photo$"), self.max_upload),
            ("POST", re.compile(r"^/my-report/[^/]+$"), self.max_upload),
            ("PUT", re.compile(r"^/admin/surveys/[^/]+$"), survey),
        ]


class BodyTooLarge(Exception):
    """Raised from `receive` when a streamed body passes its cap."""


# Bodies without a declared length up to this cap are read whole before the app starts.
BUFFERED_CAP = 1024 * 1024


class BodySizeLimit:
    def __init__(
        self, app: ASGIApp, *, default: int, larger: Sequence[tuple[str, re.Pattern[str], int]]
    ) -> None:
        self.app, self.default, self.larger = app, default, list(larger)

    def cap_for(self, method: str, path: str) -> int:
        for wanted, pattern, cap in self.larger:
            if method == wanted and pattern.match(path):
                return cap
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cap = self.cap_for(scope["method"], scope["path"]) if scope["type"] == "http" else 0
        if cap <= 0:  # not HTTP, or a cap of 0: no limit
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > cap:
            await self._refuse(scope, send, cap)
            return
        if not declared.isdigit() and cap <= BUFFERED_CAP:
            # A small body sent without a length is read whole first, so the app never
            # starts on one that turns out too large (a parser could refuse it first,
            # in words of its own).
            await self._buffered(scope, receive, send, cap)
            return
        received = 0
        started = False

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge()
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, tracking)
        except BodyTooLarge:
            if started:  # nothing can be said any more; the connection just ends
                log.info("a request body passed its cap after the answer had begun")
                return
            await self._refuse(scope, send, cap)

    async def _buffered(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > cap:
                await self._refuse(scope, send, cap)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, cap: int) -> None:
        request = Request(scope)
        lang = request.headers.get("accept-language")
        response = chat_error("limits.too_large", lang, 413, size=_size(cap))
        response.headers["Connection"] = "close"
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
