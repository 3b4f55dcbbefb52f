"""The WeChat channel: WeChat's server calls `GET /wechat` once to verify the address and
`POST /wechat` with each user message; this turns them into `Conversation` turns.

Every request must carry WeChat's signature (and, in safe mode, `msg_signature`): a
wrong one, a timestamp more than `MAX_AGE` away, or a message already received (same
MsgId) gets 403 and nothing is stored. XML that cannot be read gets 400.

WeChat waits 5 seconds for an answer. A turn finished within `passive_seconds` is the
passive reply (the answer's body); a slower one is answered "success" at once and its
reply sent as a customer-service message when it is ready.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from bot.assistant import Conversation, Incoming
from bot.observability import count_sends
from bot.wechat._client import WeChatClient, WeChatError, WeChatUnavailable
from bot.wechat._messages import CHANNEL, WeChatMessage, read_message, render
from bot.wechat._protocol import Crypto, ProtocolError, parse_xml, signed, text_reply
from civic.i18n import detect_language, normalise_language, t
from civic.replies import BotMessage
from storage.citizens import mark_unreachable, note_message
from storage.media import MediaStore
from storage.ratelimit import RateLimiter, Rule
from storage.updates import UpdateLedger

log = logging.getLogger(__name__)

MAX_AGE = 300  # seconds a signed request stays good: older is a replay
PASSIVE_SECONDS = 4.5  # under WeChat's 5, for the answer's way back


@dataclass(frozen=True)
class WeChatAccount:
    token: str
    app_id: str
    aes_key: str | None = None
    passive_seconds: float = PASSIVE_SECONDS

    @property
    def crypto(self) -> Crypto | None:
        return Crypto(self.token, self.aes_key, self.app_id) if self.aes_key else None


def _refuse(status: int, reason: str) -> Response:
    # WeChat's server reads only the status; the reason is for whoever debugs the setup.
    return PlainTextResponse(reason, status_code=status)


class WeChatChannel:
    def __init__(
        self,
        *,
        account: WeChatAccount,
        conversation: Conversation,
        sessions: sessionmaker[Session],
        client: WeChatClient,
        ledger: UpdateLedger,
        media: MediaStore,
        clock: Callable[[], float] = time.time,
        limiter: RateLimiter | None = None,
        per_user_per_minute: int = 0,  # 0: no limit
    ) -> None:
        self._account, self._crypto = account, account.crypto
        self._conversation, self._sessions = conversation, sessions
        self._client, self._ledger, self._media = client, ledger, media
        self._clock = clock
        # the same limit per person as Telegram's per chat: over it, told once a minute
        self._limiter, self._per_user = limiter, Rule("wechat-user", per_user_per_minute, 60)
        self._numbers: dict[str, dict[str, str]] = {}  # the numbered buttons last shown
        self._late: set[asyncio.Task[None]] = set()  # replies still on their way

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/wechat", self.verify, methods=["GET"])
        router.add_api_route("/wechat", self.receive, methods=["POST"])
        return router

    # -- checking -----------------------------------------------------------------

    def _signature_problem(self, request: Request) -> str | None:
        query = request.query_params
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not signed((self._account.token, timestamp, nonce), query.get("signature", "")):
            return "wrong signature"
        if not timestamp.isdigit() or abs(self._clock() - int(timestamp)) > MAX_AGE:
            return "stale timestamp"
        return None

    async def verify(self, request: Request) -> Response:
        """WeChat checks the server address: echo `echostr` if the signature is ours."""
        if problem := self._signature_problem(request):
            return _refuse(403, problem)
        return PlainTextResponse(request.query_params.get("echostr", ""))

    def _read(self, request: Request, body: bytes) -> dict[str, str] | Response:
        """The message's fields, out of the envelope in safe mode; or the refusal."""
        query = request.query_params
        try:
            fields = parse_xml(body)
            if query.get("encrypt_type", "raw") != "aes":
                return fields
            encrypted = fields.get("Encrypt", "")
            if self._crypto is None or not encrypted:
                return _refuse(400, "an encrypted message, but no EncodingAESKey is set")
            parts = (self._account.token, query.get("timestamp", ""), query.get("nonce", ""))
            if not signed((*parts, encrypted), query.get("msg_signature", "")):
                return _refuse(403, "wrong msg_signature")
            return parse_xml(self._crypto.decrypt(encrypted))
        except ProtocolError as exc:
            return _refuse(400, str(exc))

    # -- receiving ----------------------------------------------------------------

    async def receive(self, request: Request) -> Response:
        if problem := self._signature_problem(request):
            return _refuse(403, problem)
        fields = self._read(request, await request.body())
        if isinstance(fields, Response):
            return fields
        try:
            message = read_message(fields)
        except ProtocolError as exc:
            return _refuse(400, str(exc))
        first = await asyncio.to_thread(self._ledger.first_time, message.key)
        if not first:
            return _refuse(403, "message already received")
        await asyncio.to_thread(self._note, message)
        if message.kind in {"silent", "unsubscribe"}:
            return PlainTextResponse("success")
        if self._limiter is not None:
            verdict = await asyncio.to_thread(self._limiter.hit, self._per_user, message.openid)
            if not verdict.allowed:  # told once; the rest of the minute is dropped
                told = t("limits.chat", None, seconds=verdict.retry_after)
                replies = [BotMessage(text=told)] if verdict.first_refusal else []
                return self._passive(request, message, replies)
        turn = asyncio.create_task(self._turn(message))
        done, _ = await asyncio.wait({turn}, timeout=self._account.passive_seconds)
        if done:
            return self._passive(request, message, turn.result())
        late = asyncio.create_task(self._send_late(message, turn))
        self._late.add(late)
        late.add_done_callback(self._late.discard)
        return PlainTextResponse("success")

    def _note(self, message: WeChatMessage) -> None:
        with self._sessions.begin() as session:
            if message.kind == "unsubscribe":
                mark_unreachable(session=session, channel=CHANNEL, address=message.openid)
            elif message.from_user:
                now = datetime.fromtimestamp(self._clock(), UTC)
                typed = message.text if message.kind == "text" else None
                note_message(
                    session=session,
                    channel=CHANNEL,
                    address=message.openid,
                    at=now,
                    language=normalise_language(detect_language(typed)),
                )

    async def _incoming(self, message: WeChatMessage) -> Incoming:
        base = Incoming(channel=CHANNEL, address=message.openid, kind="payload", text=message.text)
        if message.kind == "text":
            payload = self._numbers.get(message.openid, {}).get(message.text.strip())
            # a number from the last numbered buttons is that button's tap
            return (
                replace(base, kind="button", text=payload)
                if payload
                else replace(base, kind="text")
            )
        if message.kind == "image":
            name = await self._save_photo(message.media_id)
            if name is None:
                return replace(base, kind="photo_rejected", text=None)
            return replace(base, text=f'/send_photo{{"photo":"{name}"}}')
        if message.kind == "location":
            return replace(base, metadata=dict(message.metadata))
        if message.kind in {"menu", "subscribe"}:
            return base
        return replace(base, kind="unsupported", text=None)

    async def _save_photo(self, media_id: str) -> str | None:
        try:
            data = await self._client.download_media(media_id)
        except (WeChatError, WeChatUnavailable) as exc:
            log.warning("could not fetch a photo from WeChat: %s", type(exc).__name__)
            return None
        return await asyncio.to_thread(self._media.save, data)

    async def _turn(self, message: WeChatMessage) -> list[BotMessage]:
        """The turn, whose duplicate the ledger has already refused."""
        try:
            return await self._conversation.handle(await self._incoming(message))
        except Exception as exc:
            incident = secrets.token_hex(4)
            log.error("incident %s in a WeChat turn", incident, exc_info=exc)
            return [BotMessage(text=t("errors.internal", None, incident=incident))]

    def _text_of(self, message: WeChatMessage, replies: list[BotMessage]) -> str:
        text, numbers = render(replies)
        self._numbers[message.openid] = numbers
        return text

    # -- answering ----------------------------------------------------------------

    def _passive(
        self, request: Request, message: WeChatMessage, replies: list[BotMessage]
    ) -> Response:
        text = self._text_of(message, replies)
        if not text:
            return PlainTextResponse("success")
        now = int(self._clock())
        reply = text_reply(to_user=message.openid, from_user=message.account, text=text, now=now)
        count_sends(CHANNEL, "reply")
        if self._crypto is None or request.query_params.get("encrypt_type") != "aes":
            return Response(reply, media_type="application/xml")
        nonce = request.query_params.get("nonce", "") or secrets.token_hex(8)
        sealed = self._crypto.seal(reply, timestamp=str(now), nonce=nonce)
        return Response(sealed, media_type="application/xml")

    async def _send_late(
        self, message: WeChatMessage, turn: asyncio.Task[list[BotMessage]]
    ) -> None:
        text = self._text_of(message, await turn)
        if not text:
            return
        try:
            await self._client.send_text(message.openid, text)
            count_sends(CHANNEL, "reply")
        except (WeChatError, WeChatUnavailable) as exc:
            log.warning("a late WeChat reply was not delivered: %s", exc)

    async def drain(self) -> None:
        """Wait for the replies still on their way (at shutdown, and in tests)."""
        while self._late:
            await asyncio.gather(*list(self._late), return_exceptions=True)
