"""/verify in chat: a mobile number proven with a code sent by SMS, ahead of Rasa.

Like the survey chat, `PhoneVerification.handle` answers a message that belongs to it
(`/verify`; while a verification is in progress, a typed number or code, or the number
shared with Telegram's contact button) and returns None for anything else. The number
and the code are personal: they never reach Rasa nor a log line. The rules (limits,
expiry, hashed codes) are civic.identity's; this module only talks and sends the SMS.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.delivery import SmsGatewayMisconfigured, SmsRejected, SmsRetryLater
from civic.i18n import t
from civic.identity import (
    CODE_LIFETIME,
    CODES_PER_HOUR,
    Issued,
    PhoneCodes,
    Reply,
    TooManyCodes,
    is_verified,
    mask_phone,
    read_reply,
)
from civic.replies import BotMessage
from storage.models import Citizen

log = logging.getLogger(__name__)

VERIFY = "/verify"
# What the Telegram gateway says for a contact shared with the contact button.
CONTACT_SHARED = "/choose_contact"
# Channels with a button that shares the account's own, already proven, number.
CONTACT_BUTTON_CHANNELS = frozenset({"telegram"})
MINUTES = int(CODE_LIFETIME.total_seconds() // 60)


class SmsSender(Protocol):
    async def send(self, to: str, body: str) -> str: ...

    async def aclose(self) -> None: ...


class PhoneVerification:
    """`sms` is None when no SMS gateway is configured: then only Telegram's contact
    button can prove a number, and the web chat says so."""

    def __init__(
        self, *, sessions: sessionmaker[Session], codes: PhoneCodes, sms: SmsSender | None
    ) -> None:
        self._sessions = sessions
        self._codes = codes
        self._sms = sms

    async def handle(
        self, citizen_id: int, channel: str, language: str, kind: str, text: str
    ) -> list[BotMessage] | None:
        if kind == "payload" and text == VERIFY:
            return self._start(citizen_id, channel, language)
        if kind == "payload" and text.startswith(CONTACT_SHARED):
            return self._contact(citizen_id, language)
        if kind != "text":
            return None
        # asked on every typed message: in a worker thread, off the event loop
        stage = await asyncio.to_thread(self._stage, citizen_id)
        reply = read_reply(text, stage) if stage is not None else None
        if reply is None:
            return None
        return [BotMessage(text=await self._answer(citizen_id, language, reply))]

    def _stage(self, citizen_id: int) -> str | None:
        with self._sessions() as session:
            return self._codes.stage(session=session, citizen_id=citizen_id)

    def _start(self, citizen_id: int, channel: str, language: str) -> list[BotMessage]:
        contact_button = channel in CONTACT_BUTTON_CHANNELS
        with self._sessions.begin() as session:
            citizen = self._citizen(session, citizen_id)
            if is_verified(citizen):
                return [BotMessage(text=t("verify.already", language))]
            if self._sms is None and not contact_button:
                return [BotMessage(text=t("verify.unavailable", language))]
            self._codes.begin(session=session, citizen_id=citizen_id)
        if not contact_button:
            return [BotMessage(text=t("verify.ask_number", language))]
        key = "verify.ask_number_or_share" if self._sms is not None else "verify.share_only"
        button = {"keyboard": "contact", "button": t("verify.share_button", language)}
        return [BotMessage(text=t(key, language)), BotMessage(custom=button)]

    def _contact(self, citizen_id: int, language: str) -> list[BotMessage] | None:
        """The Telegram gateway has kept the shared number and raised the level; if it
        was for /verify, say so here (otherwise it answers a complaint form's question)."""
        with self._sessions.begin() as session:
            if not self._codes.close_by_contact(session=session, citizen_id=citizen_id):
                return None
            verified = is_verified(self._citizen(session, citizen_id))
        return [BotMessage(text=t("verify.done" if verified else "verify.share_only", language))]

    async def _answer(self, citizen_id: int, language: str, reply: Reply) -> str:
        if reply.kind == "bad_number":
            return t("verify.bad_number", language)
        if reply.kind == "bad_code":
            return t("verify.bad_code", language)
        if reply.kind == "number":
            return await self._send_code(citizen_id, language, reply.value)
        with self._sessions.begin() as session:
            checked = self._codes.check(
                session=session, citizen=self._citizen(session, citizen_id), typed=reply.value
            )
        if checked.outcome == "verified":
            log.info("citizen %s verified a phone number by SMS code", citizen_id)
            return t("verify.done", language)
        if checked.outcome == "wrong":
            return t("verify.wrong_code", language, tries=checked.tries_left)
        if checked.outcome == "locked":
            return t("verify.locked", language)
        return t("verify.expired", language, minutes=MINUTES)

    async def _send_code(self, citizen_id: int, language: str, phone: str) -> str:
        if self._sms is None:  # a Telegram citizen who typed a number: only the button
            return t("verify.share_only", language)
        try:
            with self._sessions.begin() as session:
                issued = self._codes.issue(
                    session=session, citizen=self._citizen(session, citizen_id), phone=phone
                )
        except TooManyCodes as limit:
            log.info("phone code refused to citizen %s: limit per %s", citizen_id, limit.per)
            return t(f"verify.too_many_{limit.per}", language, limit=CODES_PER_HOUR)
        # The SMS goes out after the code is committed: no database lock is held while
        # the gateway answers.
        failure = await self._deliver(issued, language)
        if failure is not None:
            with self._sessions.begin() as session:
                self._codes.unsent(session=session, verification_id=issued.verification_id)
            return t(failure, language)
        return t("verify.sent", language, phone=mask_phone(phone), minutes=MINUTES)

    async def _deliver(self, issued: Issued, language: str) -> str | None:
        """Send the code; None when the gateway took it, else the key of what to say."""
        assert self._sms is not None
        body = t("verify.sms", language, code=issued.code, minutes=MINUTES)
        try:
            await self._sms.send(issued.phone, body)
        except SmsRejected as exc:
            log.warning("verification SMS %s refused: code %s", issued.verification_id, exc.code)
            return "verify.unreachable" if exc.unreachable else "verify.send_failed"
        except (SmsRetryLater, SmsGatewayMisconfigured) as exc:
            log.error("verification SMS %s not sent: %s", issued.verification_id, exc)
            return "verify.send_failed"
        return None

    @staticmethod
    def _citizen(session: Session, citizen_id: int) -> Citizen:
        citizen = session.get(Citizen, citizen_id)
        if citizen is None:  # Conversation made the citizen before asking us
            raise LookupError(f"citizen {citizen_id} not found")
        return citizen

    async def aclose(self) -> None:
        if self._sms is not None:
            await self._sms.aclose()
