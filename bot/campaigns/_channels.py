"""Where invitations go: Telegram chats, and SMS and e-mail for registry households.

Each channel turns its service's answers into one `Outcome`: sent, retry (with how long
to wait), unreachable (blocked, unsubscribed, bad number: do not try again) or failed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.delivery import (
    EmailRejected,
    EmailRetryLater,
    EmailSender,
    SmsGateway,
    SmsRejected,
    SmsRetryLater,
    render_invitation_email,
)
from bot.telegram import retry_after_seconds
from civic.i18n import t
from storage.models import OutboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One message to send: the invitation (round 0) or a reminder (round 1, 2)."""

    invitation_id: int
    round: int
    address: str
    language: str
    title: str
    minutes: int
    token: str
    telegram_link: str
    web_link: str
    unsubscribe_url: str
    # attempts made before this one: with the round, it names this very send
    attempt: int = 0

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.invitation_id, self.round, self.attempt)


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | retry | unreachable | failed
    retry_after: float | None = None
    error: str | None = None
    # True when the whole channel must pause (Telegram's flood control is per bot).
    pause_channel: bool = False


class Channel(Protocol):
    name: str

    async def send(self, delivery: Delivery) -> Outcome: ...

    async def aclose(self) -> None: ...


class TelegramChannel:
    name = "telegram"
    # its transport (bot/telegram/_transport.py) calls the journal's marker as a request leaves
    marks_the_wire = True

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def aclose(self) -> None:
        # the Bot itself was never initialised (no getMe): close its transport directly
        await self._bot.request.shutdown()

    async def send(self, delivery: Delivery) -> Outcome:
        lang = delivery.language
        key = "invitations.chat" if delivery.round == 0 else "invitations.chat_reminder"
        text = t(key, lang, title=delivery.title, minutes=delivery.minutes)
        stop = t("invitations.stop_hint", lang)
        start = {
            "text": t("invitations.start_button", lang),
            "callback_data": f"sv:i:{delivery.token}",
        }
        # plain data: one small keyboard does not need python-telegram-bot's objects
        markup = {"inline_keyboard": [[start]]}
        try:
            # The raw Bot API call: the Message it returns is not needed, and parsing
            # it into objects would cost more than sending it.
            await self._bot.request.post(
                f"{self._bot.base_url}/sendMessage",
                RequestData(
                    [
                        RequestParameter.from_input("chat_id", delivery.address),
                        RequestParameter.from_input("text", f"{text}\n{stop}"),
                        RequestParameter.from_input("reply_markup", markup),
                    ]
                ),
            )
        except RetryAfter as err:
            seconds = retry_after_seconds(err)
            return Outcome("retry", seconds, "429 flood control", pause_channel=True)
        except Forbidden as err:
            return Outcome("unreachable", error=f"403 {err.message}")
        except (TimedOut, NetworkError) as err:
            if isinstance(err, BadRequest):
                return Outcome("failed", error=f"400 {err.message}")
            return Outcome("retry", 30.0, f"network: {err.message}")
        return Outcome("sent")


class WebChannel:
    """The website's chat: the invitation waits in the chat's outbox and shows the next
    time the citizen's widget fetches updates."""

    name = "web"

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    async def send(self, delivery: Delivery) -> Outcome:
        lang = delivery.language
        key = "invitations.chat" if delivery.round == 0 else "invitations.chat_reminder"
        text = t(key, lang, title=delivery.title, minutes=delivery.minutes)
        body: dict[str, object] = {
            "text": f"{text}\n{t('invitations.stop_hint', lang)}",
            "buttons": [
                {"title": t("invitations.start_button", lang), "payload": f"sv:i:{delivery.token}"}
            ],
        }
        await asyncio.to_thread(self._store, delivery.address, body)
        return Outcome("sent")

    def _store(self, address: str, body: dict[str, object]) -> None:
        with self._sessions.begin() as session:
            session.add(
                OutboundMessage(
                    channel="web", address=address, body=json.dumps(body, ensure_ascii=False)
                )
            )

    async def aclose(self) -> None:
        return None


class SmsChannel:
    name = "sms"

    def __init__(self, gateway: SmsGateway) -> None:
        self._gateway = gateway

    async def aclose(self) -> None:
        await self._gateway.aclose()

    async def send(self, delivery: Delivery) -> Outcome:
        key = "invitations.sms" if delivery.round == 0 else "invitations.sms_reminder"
        body = t(
            key,
            delivery.language,
            title=delivery.title,
            minutes=delivery.minutes,
            link=delivery.telegram_link,
            web_link=delivery.web_link,
            unsubscribe_url=delivery.unsubscribe_url,
        )
        try:
            await self._gateway.send(delivery.address, body)
        except SmsRetryLater as err:
            return Outcome("retry", err.retry_after, "sms: try later", pause_channel=True)
        except SmsRejected as err:
            kind = "unreachable" if err.unreachable else "failed"
            return Outcome(kind, error=f"sms rejected: {err.code}")
        return Outcome("sent")


class EmailChannel:
    name = "email"

    def __init__(self, sender: EmailSender) -> None:
        self._sender = sender

    async def aclose(self) -> None:
        return None

    async def send(self, delivery: Delivery) -> Outcome:
        mail = render_invitation_email(
            delivery.language,
            title=delivery.title,
            minutes=delivery.minutes,
            telegram_link=delivery.telegram_link,
            web_link=delivery.web_link,
            unsubscribe_url=delivery.unsubscribe_url,
        )
        try:
            await self._sender.send(
                delivery.address, mail.subject, mail.text, mail.html, delivery.unsubscribe_url
            )
        except EmailRetryLater as err:
            return Outcome("retry", err.retry_after, "smtp: try later")
        except EmailRejected:
            return Outcome("unreachable", error="smtp: recipient refused")
        return Outcome("sent")
