"""The web chat's photo and location buttons: `POST /api/chat/photo` (multipart: the
photo, the session token, and whether the photo's own GPS position is to be the place),
`POST /api/chat/location` (JSON: a position from the browser or the district map) and
`GET /api/chat/map` (the districts to draw that map).

Both reach the conversation exactly as Telegram's photos and locations do: a stored
photo as `/send_photo{"photo": <name>}`, a position as `/share_location{"lat", "long"}`.
A photo is checked by its bytes (storage.media) and loses its metadata, GPS included,
before it is stored; its position is read only when the citizen asked for it. A refused
file gets an answer in the citizen's language and changes nothing in the conversation.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from bot.assistant import Conversation, Incoming
from bot.observability import count_sends
from bot.web._chat_sessions import ChatSession, open_session, refused
from bot.web._limits import WebLimits, chat_error
from civic.city import Profile, district_map
from civic.i18n import t
from civic.identity import SessionRefused, WebSessions
from civic.replies import BotMessage
from storage.image_metadata import gps_position, without_metadata
from storage.media import MAX_PHOTO_BYTES, MediaStore

CHANNEL = "web"
_TRUE = {"1", "true", "on", "yes"}


class LocationIn(BaseModel):
    token: str = ""
    lat: float = Field(ge=-90, le=90)
    long: float = Field(ge=-180, le=180)
    message_id: str | None = Field(default=None, max_length=64)
    language: str | None = None


def share_location(lat: float, long: float) -> str:
    """Telegram's payload for a shared position, the same here."""
    return "/share_location" + json.dumps({"lat": lat, "long": long}, separators=(",", ":"))


def send_photo(name: str) -> str:
    return "/send_photo" + json.dumps({"photo": name}, separators=(",", ":"))


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


class ChatMedia:
    """The endpoints' work, apart from the routing."""

    def __init__(
        self,
        conversation: Conversation,
        sessions: WebSessions,
        limits: WebLimits,
        media: MediaStore,
    ) -> None:
        self.conversation, self.sessions, self.limits, self.media = (
            conversation,
            sessions,
            limits,
            media,
        )

    async def turn(
        self, chat: ChatSession, payload: str, key: str | None, lang: str | None
    ) -> list[BotMessage]:
        incoming = Incoming(
            channel=CHANNEL,
            address=chat.session_id,
            kind="payload",
            text=payload,
            update_key=f"web:{chat.session_id}:{key}" if key else None,
            language_hint=lang,
        )
        return await self.conversation.handle(incoming)

    def start(self, token: str, lang: str | None) -> ChatSession | JSONResponse:
        """The session behind the token, or the answer refusing it (401, or 429 over the
        session's limit; the caller has counted the client's address already)."""
        try:
            chat = open_session(self.sessions, token)
        except SessionRefused as exc:
            return refused(exc, lang)
        return self.limits.chat_session_turn(chat.session_id, lang) or chat

    async def photo(self, request: Request) -> JSONResponse:
        lang = request.headers.get("accept-language")
        # the address is counted before the body is parsed; the session once it is read
        if over := self.limits.chat_address(request, lang):
            return over
        try:
            form = await request.form(max_files=1, max_fields=8)
        except HTTPException:  # not multipart the parser can read
            return chat_error("input.unsupported", lang, 400)
        lang = _field(form, "language") or lang
        chat = self.start(_field(form, "token"), lang)
        if isinstance(chat, JSONResponse):
            return chat
        upload = form.get("photo")
        if not isinstance(upload, UploadFile):
            return chat_error("chat_media.photo_missing", lang, 400)
        data = await upload.read(MAX_PHOTO_BYTES + 1)
        cleaned = without_metadata(data) if len(data) <= MAX_PHOTO_BYTES else None
        name = self.media.save(cleaned) if cleaned is not None else None
        if name is None:
            return chat_error("chat_media.photo_rejected", lang, 422, size="10 MB")
        key = _field(form, "message_id")[:64] or None
        replies: list[BotMessage] = []
        if _field(form, "use_gps").lower() in _TRUE:
            position = gps_position(data)
            if position is None:
                replies.append(BotMessage(text=t("chat_media.no_gps", lang)))
            else:
                where = share_location(*(round(c, 6) for c in position))
                replies += await self.turn(chat, where, key and f"{key}:location", lang)
        replies += await self.turn(chat, send_photo(name), key and f"{key}:photo", lang)
        return self.answer(chat, replies)

    async def location(self, request: Request) -> JSONResponse:
        lang = request.headers.get("accept-language")
        try:
            raw = await request.json()
            if isinstance(raw, dict) and isinstance(raw.get("language"), str):
                lang = raw["language"]
            body = LocationIn.model_validate(raw)
        except (ValueError, ValidationError):
            return chat_error("chat_media.location_invalid", lang, 400)
        if over := self.limits.chat_address(request, lang):
            return over
        chat = self.start(body.token, lang)
        if isinstance(chat, JSONResponse):
            return chat
        payload = share_location(round(body.lat, 6), round(body.long, 6))
        key = body.message_id and f"{body.message_id}:location"
        return self.answer(chat, await self.turn(chat, payload, key, lang))

    @staticmethod
    def answer(chat: ChatSession, replies: list[BotMessage]) -> JSONResponse:
        # Reply keyboards (share location / phone) are Telegram's; the web shows text.
        shown = [r for r in replies if r.text or r.buttons or r.image]
        count_sends(CHANNEL, "reply", len(shown))
        return chat.answer({"messages": [r.as_dict() for r in shown]})


def chat_media_router(
    media: ChatMedia, *, profile: Profile | None, tile_url: str = ""
) -> APIRouter:
    router = APIRouter()
    router.add_api_route("/api/chat/photo", media.photo, methods=["POST"])
    router.add_api_route("/api/chat/location", media.location, methods=["POST"])

    @router.get("/api/chat/map")
    async def chat_map(request: Request) -> JSONResponse:
        if profile is None:
            lang = request.headers.get("accept-language")
            return chat_error("chat_media.map_unavailable", lang, 404)
        body = district_map(profile, tile_url=tile_url)
        return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})

    return router
