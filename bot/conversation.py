"""One turn of conversation, the same for every channel: check the input, find the
citizen, ask Rasa, and hand back what to say. Channels only translate to and from this."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.rasa_client import BotMessage, RasaClient
from civic.errors import RasaUnavailable
from civic.i18n import detect_language, normalise_language, t
from storage.citizens import get_or_create_citizen
from storage.updates import UpdateLedger

log = logging.getLogger(__name__)

# Telegram's own limit for one message; the web chat is held to the same.
MAX_TEXT_LENGTH = 4096


@dataclass(frozen=True)
class Incoming:
    """What a citizen sent, in channel-neutral form.

    kind: "text" (typed), "payload" (a button or command mapped to an intent),
    "sticker", "photo", "edited", or "unsupported".
    """

    channel: str
    address: str
    kind: str
    text: str | None = None
    update_key: str | None = None
    language_hint: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


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


class Conversation:
    def __init__(
        self, *, rasa: RasaClient, sessions: sessionmaker[Session], ledger: UpdateLedger
    ) -> None:
        self._rasa = rasa
        self._sessions = sessions
        self._ledger = ledger

    async def handle(self, incoming: Incoming) -> list[BotMessage]:
        """The assistant's replies to one incoming message; [] for a repeated delivery."""
        if incoming.update_key and not self._ledger.first_time(incoming.update_key):
            log.info("repeated update %s ignored", incoming.update_key)
            return []
        text = (incoming.text or "").strip()
        with self._sessions() as session:
            citizen = get_or_create_citizen(
                session=session,
                channel=incoming.channel,
                address=incoming.address,
                language=normalise_language(detect_language(text) or incoming.language_hint),
            )
            session.commit()
            sender, stored_language = citizen.public_id, citizen.language
        language = detect_language(text) or stored_language
        problem = _input_problem(incoming)
        if problem is not None:
            key, params = problem
            return [BotMessage(text=t(key, language, **params))]
        metadata = {"language": language, "channel": incoming.channel, **incoming.metadata}
        try:
            return await self._rasa.send(sender, text, metadata)
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable for citizen %s: %s", sender, exc)
            return [BotMessage(text=t("errors.rasa_unavailable", language))]

    def remember_phone(self, incoming: Incoming, phone: str) -> None:
        """Keep the phone number a citizen shared (personal data: database only)."""
        with self._sessions() as session:
            citizen = get_or_create_citizen(
                session=session, channel=incoming.channel, address=incoming.address
            )
            citizen.phone = phone
            session.commit()

    async def aclose(self) -> None:
        await self._rasa.aclose()
