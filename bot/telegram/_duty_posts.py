"""Delivering the duty outbox: new tickets to the agencies' duty groups (with Accept /
Reroute buttons) and overdue escalations (of tickets and of improvement notices) to the
groups and to supervisors' private chats.

Run by the scheduler's `duty-messages` job. Each row is recorded in its own commit as soon
as Telegram has answered. A 429 postpones the row by Telegram's `retry_after` (not counted
as an attempt) and ends the batch, so nothing else is sent meanwhile; a 403 (the bot was
removed from the group, or a supervisor blocked it or never started it) is recorded as
unreachable and not retried; a group upgraded to a supergroup is followed to its new id;
other errors are retried with backoff until `MAX_ATTEMPTS`. Logs carry row ids and
outcomes only, never texts or chat ids.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.observability import count_refusal, count_sends
from bot.telegram._duty_texts import (
    buttons,
    escalation_text,
    notice_late_text,
    post_text,
    stale_post,
)
from bot.telegram._transport import AiohttpRequest, close_bot, make_bot, retry_after_seconds
from civic.city import Profile, get_profile
from civic.duty import (
    NEW_TICKET,
    due_duty_messages,
    mark_failed_attempt,
    mark_posted,
    mark_unreachable,
    postpone,
)
from civic.settings import Settings
from civic.tickets import Status
from storage.models import AgencyChannel, DutyMessage, Notice, Ticket, utcnow

log = logging.getLogger(__name__)


@dataclass
class DutyReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unreachable: int = 0
    postponed: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def render(
    row: DutyMessage, ticket: Ticket, profile: Profile
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and buttons of a row. A new ticket dealt with before its post went out
    (accepted on the desk, say) is posted as it now stands, without buttons."""
    if row.kind != NEW_TICKET:
        return escalation_text(ticket, profile), None
    if ticket.status == Status.ROUTED and ticket.agency == row.agency:
        return post_text(ticket, profile), buttons(ticket.number or "")
    return stale_post(ticket, profile), None


def _follow_migration(session: Session, row: DutyMessage, new_chat_id: int) -> None:
    """The group became a supergroup with a new id: move the agency's channel there too."""
    old = row.chat_id
    row.chat_id = str(new_chat_id)
    channels = session.scalars(select(AgencyChannel).where(AgencyChannel.telegram_chat_id == old))
    for channel in channels:
        channel.telegram_chat_id = row.chat_id


async def _send_one(
    session: Session, bot: Bot, row: DutyMessage, profile: Profile, now: datetime, token: str
) -> str:
    """Send one row and record what happened; returns the outcome's name."""
    if row.notice_id is not None:
        notice = session.get(Notice, row.notice_id)
        if notice is None:
            mark_failed_attempt(message=row, error="the notice is gone", now=now, permanent=True)
            return "failed"
        text, markup = notice_late_text(notice, profile, now), None
    else:
        ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
        if ticket is None:
            mark_failed_attempt(message=row, error="the ticket is gone", now=now, permanent=True)
            return "failed"
        text, markup = render(row, ticket, profile)
    chat: int | str = int(row.chat_id) if row.chat_id.lstrip("-").isdigit() else row.chat_id
    try:
        sent = await bot.send_message(
            chat_id=chat, text=text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    except RetryAfter as err:
        count_refusal(429, "duty")
        postpone(message=row, seconds=retry_after_seconds(err), now=now)
        return "postponed"
    except ChatMigrated as err:
        _follow_migration(session, row, err.new_chat_id)
        return "retried"
    except Forbidden as err:
        count_refusal(403, "duty")
        mark_unreachable(message=row, error=_describe(err, token))
        return "unreachable"
    except BadRequest as err:  # the same request will not do better later
        mark_failed_attempt(message=row, error=_describe(err, token), now=now, permanent=True)
        return "failed"
    except TelegramError as err:  # network errors, time-outs, 5xx
        mark_failed_attempt(message=row, error=_describe(err, token), now=now)
        return "failed" if row.status == "failed" else "retried"
    mark_posted(message=row, telegram_message_id=sent.message_id, now=now)
    count_sends("telegram", "duty")
    return "sent"


def _describe(err: TelegramError, token: str) -> str:
    text = f"{type(err).__name__}: {err}"
    return text.replace(token, "***") if token else text


async def deliver_duty_messages(
    session: Session, bot: Bot, profile: Profile, *, limit: int = 20, token: str = ""
) -> DutyReport:
    """Send the due rows one by one, committing each outcome as soon as it is known."""
    report = DutyReport()
    for row in due_duty_messages(session=session, now=utcnow(), limit=limit):
        outcome = await _send_one(session, bot, row, profile, utcnow(), token)
        session.commit()
        report.add(outcome)
        log.info("duty message %d %s", row.id, outcome)
        if outcome == "postponed":
            break  # Telegram asked us to slow down: the rest waits for the next run
    return report


def deliver_due(session: Session, settings: Settings) -> DutyReport:
    """One run of the scheduler's job (a Bot is made only when there is work)."""
    if not due_duty_messages(session=session, now=utcnow(), limit=1):
        return DutyReport()
    if not settings.telegram_bot_token:
        log.warning("no TELEGRAM_BOT_TOKEN: duty messages wait until one is configured")
        return DutyReport()
    request = AiohttpRequest(connections=2)
    bot = make_bot(settings=settings, request=request, priority="bulk", role="duty")
    profile = get_profile(settings.profiles_dir, settings.profile)

    async def run() -> DutyReport:
        try:
            return await deliver_duty_messages(
                session, bot, profile, token=settings.telegram_bot_token or ""
            )
        finally:
            await close_bot(bot)

    return asyncio.run(run())
