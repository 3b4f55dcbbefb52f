"""The web app: the web chat (the citizen channel that needs no Telegram) and its API."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from bot.assistant import Conversation, Incoming
from bot.observability import (
    REQUEST_ID,
    Readiness,
    count_sends,
    database_check,
    database_metrics,
    new_request_id,
    rasa_check,
    redis_check,
)
from bot.sms import SmsInbound, sms_router
from bot.web._chat_media import ChatMedia, chat_media_router
from bot.web._chat_sessions import chat_session_router, open_session, refused
from bot.web._chat_updates import web_updates_router
from bot.web._desk import desk_router
from bot.web._desk.entries import entries_router
from bot.web._desk.evaluation import evaluation_router
from bot.web._desk.feedback import feedback_router
from bot.web._desk.hotline import hotline_router
from bot.web._desk.notices import notices_router
from bot.web._desk.opinion_coding import opinion_coding_router
from bot.web._desk.opinion_topics import opinion_topics_router
from bot.web._desk.opinion_trends import opinion_trends_router
from bot.web._limits import BodySizeLimit, WebLimits
from bot.web._notice_answers import notice_answers_router
from bot.web._open311 import open311_router
from bot.web._open_data import open_data_router
from bot.web._optout import optout_router
from bot.web._reports import public_reports_router, report_page_router
from bot.web._results import public_notices_router, results_router
from bot.web._survey_admin import survey_admin_router
from bot.web._widget import widget_router
from bot.wechat import WeChatChannel
from civic.city import Profile
from civic.i18n import t
from civic.identity import SessionRefused, web_sessions
from civic.opendata import default_folder
from civic.settings import Settings, get_settings
from storage.media import MediaStore
from storage.updates import DatabaseLedger

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CHANNEL = "web"
# A request id from the proxy in front is kept if it looks like one.
_GIVEN_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ChatIn(BaseModel):
    # The signed session token from POST /api/chat/session (see _chat_sessions.py).
    token: str = Field(default="")
    text: str | None = None
    payload: str | None = None
    message_id: str | None = None
    language: str | None = None


def _bad_request(key: str, lang: str | None, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": key, "messages": [{"text": t(key, lang), "buttons": []}]}, status)


def default_readiness(settings: Settings, sessions: sessionmaker[Session] | None) -> Readiness:
    """What this app needs to answer: the database (when it has one), Rasa, and Redis
    when REDIS_URL is set."""
    timeout = settings.readiness_timeout
    checks = {"rasa": rasa_check(settings.rasa_url, settings.rasa_auth_token, timeout)}
    if sessions is not None:
        checks = {"database": database_check(sessions), **checks}
    if settings.redis_url:
        checks["redis"] = redis_check(settings.redis_url, timeout)
    return Readiness(checks, timeout=timeout)


def create_app(
    conversation: Conversation,
    *,
    sessions: sessionmaker[Session] | None = None,
    profile: Profile | None = None,
    limits: WebLimits | None = None,
    readiness: Readiness | None = None,
    wechat: WeChatChannel | None = None,
) -> FastAPI:
    """The web app: the web chat and the open-data files always; the Open311 API when
    given the database and the city profile; WeChat's server endpoint when given it."""
    app = FastAPI(title="Civic Feedback Assistant", docs_url=None, redoc_url=None)
    settings = get_settings()
    if settings.development:
        log.warning(
            "CIVIC_ENV=development: the secret key is not checked, so web chat sessions "
            "and invitation links may be forgeable; never use this on a public server"
        )
    limits = limits or WebLimits(settings)
    readiness = readiness or default_readiness(settings, sessions)
    chat_sessions = web_sessions(settings)
    app.include_router(chat_session_router(chat_sessions))
    media = MediaStore(settings.var_dir / "media")
    app.include_router(
        chat_media_router(
            ChatMedia(conversation, chat_sessions, limits, media),
            profile=profile,
            tile_url=settings.chat_map_tile_url,
        )
    )
    if wechat is not None:
        app.include_router(wechat.router())
    if sessions is not None and profile is not None:
        app.include_router(
            open311_router(
                sessions=sessions, profile=profile, timezone=profile.timezone, limits=limits
            ),
            prefix="/open311/v2",
        )
        app.include_router(web_updates_router(sessions, chat_sessions))
        app.include_router(optout_router(sessions, get_settings().secret_key))
        app.include_router(notice_answers_router(sessions, get_settings().secret_key))
        app.include_router(survey_admin_router(sessions=sessions, profile=profile))
        inbound = SmsInbound(conversation=conversation, sessions=sessions)
        app.include_router(
            sms_router(
                inbound=inbound,
                ledger=DatabaseLedger(sessions),
                settings=settings,
                limiter=limits.limiter,
            )
        )
        app.include_router(results_router(sessions=sessions, profile=profile))
        app.include_router(public_notices_router(sessions=sessions, profile=profile))
        app.include_router(public_reports_router(sessions=sessions, profile=profile))
        app.include_router(
            report_page_router(
                sessions=sessions,
                profile=profile,
                media=media,
                limits=limits,
                secret=get_settings().secret_key,
            )
        )
        # before the desk's own router, which ends in a catch-all
        app.include_router(evaluation_router(sessions=sessions, profile=profile), prefix="/desk")
        app.include_router(entries_router(sessions=sessions, profile=profile), prefix="/desk")
        app.include_router(feedback_router(sessions=sessions, profile=profile), prefix="/desk")
        app.include_router(hotline_router(sessions=sessions, profile=profile), prefix="/desk")
        app.include_router(notices_router(sessions=sessions, profile=profile), prefix="/desk")
        app.include_router(
            opinion_coding_router(sessions=sessions, profile=profile), prefix="/desk"
        )
        app.include_router(
            opinion_trends_router(sessions=sessions, profile=profile), prefix="/desk"
        )
        app.include_router(
            opinion_topics_router(sessions=sessions, profile=profile), prefix="/desk"
        )
        app.include_router(
            desk_router(sessions=sessions, profile=profile, media=media, limits=limits),
            prefix="/desk",
        )
    # The open-data files need no database: they are what `civicbot opendata publish` wrote.
    app.include_router(
        open_data_router(folder=default_folder(settings.var_dir), templates_dir=HERE / "templates")
    )
    # The demo page at / embeds the widget; /chat is the full-page chat.
    app.include_router(widget_router(HERE / "templates", tile_url=settings.chat_map_tile_url))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(BodySizeLimit, default=limits.max_body, larger=limits.body_caps())
    origins = get_settings().widget_origins
    if origins:
        # Only needed where the widget is embedded on another site.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        )

    @app.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Every log line of a request carries its id (not reset afterwards, so that the
        error handler, which runs outside this middleware, still sees it)."""
        given = request.headers.get("x-request-id", "")
        rid = given if _GIVEN_REQUEST_ID.fullmatch(given) else new_request_id()
        REQUEST_ID.set(rid)
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        return response

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        """The one error handler: log under an incident id, answer politely."""
        incident = secrets.token_hex(4)
        log.error(
            "incident %s on %s",
            incident,
            request.url.path,
            exc_info=exc,
            extra={"incident": incident},
        )
        lang = request.headers.get("accept-language")
        message = {"text": t("errors.internal", lang, incident=incident), "buttons": []}
        body = {"error": "internal", "incident": incident, "messages": [message]}
        return JSONResponse(body, status_code=500)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Alive: the process answers. Nothing behind it is asked (see /readyz)."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ready, body = await readiness.run()
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics")
    def metrics() -> Response:
        # A plain def: FastAPI runs it in a thread, where the database gauges may block.
        body = generate_latest(REGISTRY)
        if sessions is not None:
            body += database_metrics(sessions)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.post("/api/chat")
    async def chat(request: Request) -> JSONResponse:
        lang = request.headers.get("accept-language")
        try:
            body = ChatIn.model_validate(await request.json())
        except ValueError:
            return _bad_request("input.unsupported", lang)
        try:
            chat_session = open_session(chat_sessions, body.token)
        except SessionRefused as exc:
            return refused(exc, body.language or lang)
        if over := limits.chat(request, chat_session.session_id, body.language or lang):
            return over
        # A payload is only what the client says was tapped: the conversation checks it.
        text, kind = (body.payload, "button") if body.payload else (body.text or "", "text")
        incoming = Incoming(
            channel=CHANNEL,
            address=chat_session.session_id,
            kind=kind,
            text=text,
            update_key=(
                f"web:{chat_session.session_id}:{body.message_id}" if body.message_id else None
            ),
            language_hint=body.language or lang,
        )
        replies = await conversation.handle(incoming)
        # Reply keyboards (share location / phone) are Telegram's; the web shows text.
        shown = [r for r in replies if r.text or r.buttons or r.image]
        count_sends(CHANNEL, "reply", len(shown))
        return chat_session.answer({"messages": [r.as_dict() for r in shown]})

    return app
