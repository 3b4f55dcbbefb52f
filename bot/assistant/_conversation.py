"""One turn of conversation, the same for every channel: check the input, find the
citizen, ask Rasa, and hand back what to say. Channels only translate to and from this."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.orm import Session, sessionmaker

from bot.assistant._commands import as_typed, authenticates_itself, command_payload
from bot.assistant._rasa_client import RasaClient
from bot.assistant._trackers import delete_redis_conversation, delete_sqlite_conversation
from bot.assistant._verification import PhoneVerification
from bot.observability import TURN_SECONDS
from civic.errors import RasaUnavailable
from civic.handoffs import add_citizen_message, close_handoff, open_handoff_of
from civic.i18n import detect_language, normalise_language, t
from civic.identity import VERIFIED_PHONE, channel_level, raise_level
from civic.replies import BotMessage
from civic.surveys import SurveyChat
from storage.citizens import get_or_create_citizen, remember_offered, was_offered
from storage.updates import UpdateLedger

log = logging.getLogger(__name__)

# Telegram's own limit for one message; the web chat is held to the same.
MAX_TEXT_LENGTH = 4096
# How long a button shown to a citizen stays tappable: longer than a ticket waits for
# "Is it solved?" (7 days) and a survey invitation's reminders.
OFFER_LIFETIME = timedelta(days=30)


@dataclass(frozen=True)
class Incoming:
    """What a citizen sent, in channel-neutral form.

    kind: "text" (typed); "button" (a payload the client says was tapped: it counts only
    if it was offered); "payload" (made by the channel itself: a command, a shared
    location or photo); "sticker", "photo", "edited", or "unsupported".
    """

    channel: str
    address: str
    kind: str
    text: str | None = None
    update_key: str | None = None
    language_hint: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # The channel sends the message again if this turn fails (Telegram's webhook, left
    # unanswered): a Rasa that does not answer raises instead of being apologised for.
    redeliverable: bool = False


def is_emoji_only(text: str) -> bool:
    """True when the text has no letters or digits at all (emoji, symbols, punctuation)."""
    return not any(unicodedata.category(ch)[0] in {"L", "N"} for ch in text)


def _input_problem(incoming: Incoming) -> tuple[str, dict[str, Any]] | None:
    """The catalogue key (and parameters) answering input we cannot pass on, or None."""
    if incoming.kind in {"sticker", "edited", "unsupported", "photo_rejected"}:
        return f"input.{incoming.kind}", {}
    if incoming.kind == "photo" and not (incoming.text or "").strip():
        return "input.photo_no_caption", {}
    text = (incoming.text or "").strip()
    if not text:
        return "input.empty", {}
    if len(text) > MAX_TEXT_LENGTH:
        return "input.too_long", {"length": len(text), "limit": MAX_TEXT_LENGTH}
    if incoming.kind != "payload" and is_emoji_only(text):
        return "input.emoji_only", {}
    return None


_REPLY_PREFIX = re.compile(r"^(?:我是|i am |i'm |im )")
_REPLY_EDGES = " \t\r\n.,;:!?()[]【】「」“”\"'、。"
BACK = {"0", "菜单", "menu", "返回", "back"}


def normalise_reply(text: str) -> str:
    """A typed answer to a numbered menu, folded: '１' → '1', ' 1. ' → '1', 'I am a
    Citizen' → 'citizen'."""
    folded = unicodedata.normalize("NFKC", text).strip(_REPLY_EDGES).lower()
    folded = _REPLY_PREFIX.sub("", folded).strip(_REPLY_EDGES)
    return re.sub(r"^(?:an? )", "", folded)


class MenuMemory:
    """The numbered menu last shown to each citizen, so a reply of "1" or "市民" chooses
    from it on any channel. Kept per process: a restart only means tapping a button."""

    def __init__(self) -> None:
        self._menus: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def remember(self, key: tuple[str, str], menu: list[dict[str, Any]]) -> None:
        self._menus[key] = menu

    def choice(self, key: tuple[str, str], text: str) -> str | None:
        reply = normalise_reply(text)
        if reply in BACK:
            return "/menu"
        for option in self._menus.get(key, []):
            if reply in {normalise_reply(r) for r in option["replies"]}:
                return str(option["payload"])
        return None


@dataclass(frozen=True)
class _Caller:
    citizen_id: int
    public_id: str
    language: str
    with_staff: bool  # a handoff to a person is open


class Conversation:
    def __init__(
        self,
        *,
        rasa: RasaClient,
        sessions: sessionmaker[Session],
        ledger: UpdateLedger,
        tracker_db: Path | None = None,
        tracker_redis: Any | None = None,
        surveys: SurveyChat | None = None,
        verification: PhoneVerification | None = None,
    ) -> None:
        self._rasa = rasa
        # Where Rasa keeps conversations: its SQLite file, or a Redis client.
        self._tracker_db = tracker_db
        self._tracker_redis = tracker_redis
        self._sessions = sessions
        self._ledger = ledger
        self._menus = MenuMemory()
        self._surveys = surveys
        self._verification = verification

    @property
    def surveys(self) -> SurveyChat | None:
        return self._surveys

    def remember_menu(self, channel: str, address: str, options: list[dict[str, Any]]) -> None:
        """A channel without buttons (SMS) numbers them itself: a reply of "1" then chooses
        the first, like an option of the assistant's own numbered menu."""
        self._menus.remember((channel, address), options)

    async def handle(self, incoming: Incoming) -> list[BotMessage]:
        """The assistant's replies to one incoming message; [] for a repeated delivery."""
        with TURN_SECONDS.labels(channel=incoming.channel).time():
            return await self._handle(incoming)

    async def _handle(self, incoming: Incoming) -> list[BotMessage]:
        # The database work of a turn runs in worker threads (asyncio.to_thread): done on
        # the event loop, every turn in the process would wait for each one's queries.
        first = not incoming.update_key or await asyncio.to_thread(
            self._ledger.first_time, incoming.update_key
        )
        if not first:
            log.info("repeated update %s ignored", incoming.update_key)
            return []
        text = (incoming.text or "").strip()
        # what a citizen typed tells their language; a button's payload does not
        typed = text if incoming.kind == "text" else ""
        caller = await asyncio.to_thread(self._caller, incoming, typed)
        citizen_id, sender = caller.citizen_id, caller.public_id
        language = detect_language(typed) or caller.language
        problem = _input_problem(incoming)
        if problem is not None:
            key, params = problem
            return [BotMessage(text=t(key, language, **params))]
        if incoming.kind == "button":
            incoming = await asyncio.to_thread(self._checked_button, citizen_id, incoming, text)
        if caller.with_staff:
            relayed = await asyncio.to_thread(self._relay_to_staff, citizen_id, text, language)
            if relayed is not None:
                return relayed
        if incoming.kind == "text" and (command := command_payload(text)) is not None:
            # a command typed in the web chat is what Telegram's command would be
            incoming, text = replace(incoming, kind="payload", text=command), command
        answered = await self._ahead_of_rasa(citizen_id, incoming, language, text)
        if answered is not None:
            return await asyncio.to_thread(self._offer, citizen_id, answered)
        menu_key = (incoming.channel, incoming.address)
        if incoming.kind == "text":
            text = self._menus.choice(menu_key, text) or command_payload(text) or as_typed(text)
        metadata = {"language": language, "channel": incoming.channel, **incoming.metadata}
        try:
            replies = await self._rasa.send(sender, text, metadata)
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable for citizen %s: %s", sender, exc)
            if incoming.redeliverable:
                raise
            return [BotMessage(text=t("errors.rasa_unavailable", language))]
        if any((r.custom or {}).get("erased") for r in replies):
            await self._forget(sender, menu_key)
            return self._take_menus(menu_key, replies)
        await asyncio.to_thread(self._offer, citizen_id, replies)
        return self._take_menus(menu_key, replies)

    async def _ahead_of_rasa(
        self, citizen_id: int, incoming: Incoming, language: str, text: str
    ) -> list[BotMessage] | None:
        """Phone verification, then surveys: each answers what is its own (a number or
        code typed while a verification waits for it never reaches Rasa)."""
        if self._verification is not None:
            answered = await self._verification.handle(
                citizen_id, incoming.channel, language, incoming.kind, text
            )
            if answered is not None:
                return answered
        if self._surveys is not None:
            return await asyncio.to_thread(
                self._surveys.handle, citizen_id, language, incoming.kind, text
            )
        return None

    def _caller(self, incoming: Incoming, typed: str) -> _Caller:
        """The citizen writing (created on first contact, their assurance raised to the
        channel's), and whether they are talking to a person: one transaction."""
        with self._sessions() as session:
            citizen = get_or_create_citizen(
                session=session,
                channel=incoming.channel,
                address=incoming.address,
                language=normalise_language(detect_language(typed) or incoming.language_hint),
            )
            raise_level(citizen, channel_level(incoming.channel))
            with_staff = open_handoff_of(session=session, citizen_id=citizen.id) is not None
            session.commit()
            return _Caller(citizen.id, citizen.public_id, citizen.language, with_staff)

    def _checked_button(self, citizen_id: int, incoming: Incoming, payload: str) -> Incoming:
        """A tapped payload as a payload when it was offered to this citizen (or carries
        its own proof); otherwise as the text it is, which proves nothing."""
        if authenticates_itself(payload) or command_payload(payload) == payload:
            return replace(incoming, kind="payload")
        since = datetime.now(UTC) - OFFER_LIFETIME
        with self._sessions() as session:
            offered = was_offered(
                session=session, citizen_id=citizen_id, payload=payload, since=since
            )
        if offered:
            return replace(incoming, kind="payload")
        log.info("a button payload never offered to citizen %s was read as text", citizen_id)
        return replace(incoming, kind="text")

    def _offer(self, citizen_id: int, replies: list[BotMessage]) -> list[BotMessage]:
        """Remember the buttons (and numbered-menu options) in `replies`: these, and only
        these, may be tapped."""
        payloads = [b.payload for r in replies for b in r.buttons]
        for reply in replies:
            menu = (reply.custom or {}).get("menu") or []
            payloads += [str(o["payload"]) for o in menu if isinstance(o, dict) and "payload" in o]
        if payloads:
            with self._sessions.begin() as session:
                remember_offered(session=session, citizen_id=citizen_id, payloads=payloads)
        return replies

    async def _forget(self, sender: str, menu_key: tuple[str, str]) -> None:
        """After an erasure: drop the conversation's history in Rasa and the menu. Rasa's
        API does not delete what its store holds, so it is deleted from the store too."""
        self._menus.remember(menu_key, [])
        try:
            await self._rasa.forget(sender)
        except RasaUnavailable:
            log.error("could not clear the Rasa history of erased citizen %s", sender)
        try:
            if self._tracker_db is not None:
                delete_sqlite_conversation(self._tracker_db, sender)
            if self._tracker_redis is not None:
                delete_redis_conversation(self._tracker_redis, sender)
        except (sqlite3.Error, RedisError) as exc:
            log.error(
                "could not delete the stored conversation of erased citizen %s: %s",
                sender,
                type(exc).__name__,
            )

    def _take_menus(self, key: tuple[str, str], replies: list[BotMessage]) -> list[BotMessage]:
        """Remember a numbered menu the assistant sent; it is data, not a message."""
        shown = []
        for reply in replies:
            menu = (reply.custom or {}).get("menu")
            if menu is not None:
                self._menus.remember(key, list(menu))
            signal_only = menu is not None or "erased" in (reply.custom or {})
            if reply.text or reply.buttons or reply.image or (reply.custom and not signal_only):
                shown.append(reply)
        return shown

    def _relay_to_staff(self, citizen_id: int, text: str, language: str) -> list[BotMessage] | None:
        """While the citizen talks to a person, their messages go to the staff's queue,
        not to Rasa; /bot brings them back. None when no person was asked for."""
        with self._sessions() as session:
            handoff = open_handoff_of(session=session, citizen_id=citizen_id)
            if handoff is None:
                return None
            if text == "/bot_return" or normalise_reply(text) in {"/bot", "bot"}:
                close_handoff(session=session, handoff=handoff)
                session.commit()
                return [BotMessage(text=t("handoff.back", language))]
            add_citizen_message(session=session, handoff=handoff, text=text)
            session.commit()
        return [BotMessage(text=t("handoff.relayed", language))]

    def remember_phone(self, incoming: Incoming, phone: str) -> None:
        """Keep the phone number a citizen shared (personal data: database only)."""
        with self._sessions() as session:
            citizen = get_or_create_citizen(
                session=session, channel=incoming.channel, address=incoming.address
            )
            citizen.phone = phone
            # Telegram's own-contact button: the number is the account's own.
            raise_level(citizen, VERIFIED_PHONE)
            session.commit()

    async def aclose(self) -> None:
        await self._rasa.aclose()
        if self._verification is not None:
            await self._verification.aclose()
