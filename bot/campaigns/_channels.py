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
    sms_segments,
)
from bot.observability import count_refusal
from bot.telegram import close_bot, retry_after_seconds
from civic.i18n import t
from storage.models import OutboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NoticeText:
    """A notice's follow-up instead of a survey invitation: the problem the citizen
    raised, the agency and its commitment, the notice's public page, and the page where
    an SMS reader answers with one tap."""

    stage: str  # committed | verified
    topic: str
    agency: str
    commitment: str
    page_url: str
    answer_url: str


@dataclass(frozen=True)
class Delivery:
    """One message to send: the invitation (round 0) or a reminder (round 1, 2), or a
    notice's follow-up (`notice`)."""

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
    notice: NoticeText | None = None

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
    # SMS segments the message was billed as (0 on other channels)
    segments: int = 0


class Channel(Protocol):
    name: str

    async def send(self, delivery: Delivery) -> Outcome: ...

    async def aclose(self) -> None: ...


ANSWERS = ("better", "same", "worse")


def notice_chat_text(delivery: Delivery, notice: NoticeText) -> str:
    """A follow-up in a chat: what happened, the page, the question, the opt-out hint."""
    return "\n".join(
        (
            t(
                f"notices_citizen.{notice.stage}",
                delivery.language,
                topic=notice.topic,
                agency=notice.agency,
                commitment=notice.commitment,
            ),
            t("notices_citizen.more", delivery.language, url=notice.page_url),
            t("notices_citizen.question", delivery.language),
            t("invitations.stop_hint", delivery.language),
        )
    )


def notice_buttons(delivery: Delivery) -> list[tuple[str, str]]:
    """The one-tap answers as (title, payload); the payload carries the signed token."""
    return [
        (t(f"notices_citizen.answer_{answer}", delivery.language), f"nt:{delivery.token}:{answer}")
        for answer in ANSWERS
    ]


class TelegramChannel:
    name = "telegram"
    # its transport (bot/telegram/_transport.py) calls the journal's marker as a request leaves
    marks_the_wire = True

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def aclose(self) -> None:
        # the Bot itself was never initialised (no getMe): close its transport directly
        await close_bot(self._bot)

    async def send(self, delivery: Delivery) -> Outcome:
        lang = delivery.language
        if delivery.notice is not None:
            text = notice_chat_text(delivery, delivery.notice)
            answers = notice_buttons(delivery)
            row = [{"text": title, "callback_data": data} for title, data in answers]
        else:
            key = "invitations.chat" if delivery.round == 0 else "invitations.chat_reminder"
            text = t(key, lang, title=delivery.title, minutes=delivery.minutes)
            text += "\n" + t("invitations.stop_hint", lang)
            start = t("invitations.start_button", lang)
            row = [{"text": start, "callback_data": f"sv:i:{delivery.token}"}]
        # plain data: one small keyboard does not need python-telegram-bot's objects
        markup = {"inline_keyboard": [row]}
        try:
            # The raw Bot API call: the Message it returns is not needed, and parsing
            # it into objects would cost more than sending it.
            await self._bot.request.post(
                f"{self._bot.base_url}/sendMessage",
                RequestData(
                    [
                        RequestParameter.from_input("chat_id", delivery.address),
                        RequestParameter.from_input("text", text),
                        RequestParameter.from_input("reply_markup", markup),
                    ]
                ),
            )
        except RetryAfter as err:
            count_refusal(429, "invitation")
            seconds = retry_after_seconds(err)
            return Outcome("retry", seconds, "429 flood control", pause_channel=True)
        except Forbidden as err:
            count_refusal(403, "invitation")
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
        if delivery.notice is not None:
            body: dict[str, object] = {
                "text": notice_chat_text(delivery, delivery.notice),
                "buttons": [
                    {"title": title, "payload": payload}
                    for title, payload in notice_buttons(delivery)
                ],
            }
        else:
            key = "invitations.chat" if delivery.round == 0 else "invitations.chat_reminder"
            text = t(key, lang, title=delivery.title, minutes=delivery.minutes)
            start = t("invitations.start_button", lang)
            body = {
                "text": f"{text}\n{t('invitations.stop_hint', lang)}",
                "buttons": [{"title": start, "payload": f"sv:i:{delivery.token}"}],
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

    def __init__(self, gateway: SmsGateway, *, two_way: bool = False) -> None:
        # two_way: texts to our number reach `/sms/inbound` (bot/sms), so an invitation
        # says that replying 1 starts the survey by text
        self._gateway, self._two_way = gateway, two_way

    async def aclose(self) -> None:
        await self._gateway.aclose()

    async def send(self, delivery: Delivery) -> Outcome:
        if delivery.notice is not None:
            body = t(
                f"notices_citizen.sms_{delivery.notice.stage}",
                delivery.language,
                agency=delivery.notice.agency,
                link=delivery.notice.answer_url,
                unsubscribe_url=delivery.unsubscribe_url,
            )
        else:
            key = "invitations.sms" if delivery.round == 0 else "invitations.sms_reminder"
            key += "_two_way" if self._two_way else ""
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
        return Outcome("sent", segments=sms_segments(body))


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
