"""Delivering the duty outbox: new tickets to the agencies' duty groups (with Accept /
Reroute buttons) and overdue escalations (of tickets and of improvement notices) to the
groups and to supervisors' private chats.

Run by the scheduler's `duty-messages` job. The due rows are claimed with a lease and
committed before anything is sent (storage/outbox.py), so no transaction is open while
Telegram answers and two senders never send the same row; each row is recorded in its own
short transaction as soon as Telegram has answered. A 429 postpones the row by
Telegram's `retry_after` (not counted as an attempt) and ends the batch, handing the rest
back, so nothing else is sent meanwhile; a 403 (the bot was
removed from the group, or a supervisor blocked it or never started it) is recorded as
unreachable and not retried; a group upgraded to a supergroup is followed to its new id;
other errors are retried with backoff until `MAX_ATTEMPTS`. Logs carry row ids and
outcomes only, never texts or chat ids.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
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
    claim_duty_messages,
    due_duty_messages,
    mark_failed_attempt,
    mark_posted,
    mark_unreachable,
    postpone,
    reclaim_duty_message,
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
    lost: int = 0  # another sender took the row over after our lease ran out

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


@dataclass(frozen=True)
class _Post:
    """A claimed row, rendered while the claim's transaction was open."""

    id: int
    lease: datetime
    chat: int | str
    text: str = ""
    markup: InlineKeyboardMarkup | None = None
    gone: str | None = None  # what it was about no longer exists


@dataclass(frozen=True)
class _Answer:
    outcome: str  # sent, postponed, migrated, unreachable, failed, retried
    message_id: int = 0
    seconds: float = 0.0
    new_chat_id: int = 0
    error: str = ""


def _prepare(session: Session, row: DutyMessage, profile: Profile, now: datetime) -> _Post:
    chat: int | str = int(row.chat_id) if row.chat_id.lstrip("-").isdigit() else row.chat_id
    post = _Post(row.id, row.next_attempt_at, chat)
    if row.notice_id is not None:
        notice = session.get(Notice, row.notice_id)
        if notice is None:
            return replace(post, gone="the notice is gone")
        return replace(post, text=notice_late_text(notice, profile, now))
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    if ticket is None:
        return replace(post, gone="the ticket is gone")
    text, markup = render(row, ticket, profile)
    return replace(post, text=text, markup=markup)


async def _send(bot: Bot, post: _Post, token: str) -> _Answer:
    """Send one post, with no database transaction open; what Telegram answered."""
    try:
        sent = await bot.send_message(
            chat_id=post.chat, text=post.text, parse_mode=ParseMode.HTML, reply_markup=post.markup
        )
    except RetryAfter as err:
        count_refusal(429, "duty")
        return _Answer("postponed", seconds=retry_after_seconds(err))
    except ChatMigrated as err:
        return _Answer("migrated", new_chat_id=err.new_chat_id)
    except Forbidden as err:
        count_refusal(403, "duty")
        return _Answer("unreachable", error=_describe(err, token))
    except BadRequest as err:  # the same request will not do better later
        return _Answer("failed", error=_describe(err, token))
    except TelegramError as err:  # network errors, time-outs, 5xx
        return _Answer("retried", error=_describe(err, token))
    count_sends("telegram", "duty")
    return _Answer("sent", message_id=sent.message_id)


def _record(session: Session, post: _Post, answer: _Answer, now: datetime) -> str:
    """Record one outcome in its own transaction; returns the outcome's name ("lost"
    when our lease ran out and another sender has the row)."""
    row = reclaim_duty_message(session=session, message_id=post.id, lease=post.lease)
    outcome = answer.outcome
    if row is None:
        outcome = "lost"
    elif outcome == "sent":
        mark_posted(message=row, telegram_message_id=answer.message_id, now=now)
    elif outcome == "postponed":
        postpone(message=row, seconds=answer.seconds, now=now)
    elif outcome == "migrated":
        _follow_migration(session, row, answer.new_chat_id)
        row.next_attempt_at, outcome = now, "retried"
    elif outcome == "unreachable":
        mark_unreachable(message=row, error=answer.error)
    else:
        permanent = outcome == "failed"
        mark_failed_attempt(message=row, error=answer.error, now=now, permanent=permanent)
        outcome = "failed" if row.status == "failed" else "retried"
    session.commit()
    return outcome


def _release(session: Session, posts: list[_Post], now: datetime) -> None:
    """Hand rows back unsent: due again at once (for the next run)."""
    for post in posts:
        row = reclaim_duty_message(session=session, message_id=post.id, lease=post.lease)
        if row is not None:
            row.next_attempt_at = now
    session.commit()


def _follow_migration(session: Session, row: DutyMessage, new_chat_id: int) -> None:
    """The group became a supergroup with a new id: move the agency's channel there too."""
    old = row.chat_id
    row.chat_id = str(new_chat_id)
    channels = session.scalars(select(AgencyChannel).where(AgencyChannel.telegram_chat_id == old))
    for channel in channels:
        channel.telegram_chat_id = row.chat_id


def _describe(err: TelegramError, token: str) -> str:
    text = f"{type(err).__name__}: {err}"
    return text.replace(token, "***") if token else text


async def deliver_duty_messages(
    session: Session, bot: Bot, profile: Profile, *, limit: int = 20, token: str = ""
) -> DutyReport:
    """Claim the due rows (committed before anything is sent), then send them one by one,
    recording each outcome in its own short transaction as soon as it is known."""
    report = DutyReport()
    now = utcnow()
    claimed = claim_duty_messages(session=session, now=now, limit=limit)
    posts = [_prepare(session, row, profile, now) for row in claimed]
    session.commit()  # nothing is held while Telegram answers
    for index, post in enumerate(posts):
        if post.gone is not None:
            answer = _Answer("failed", error=post.gone)
        else:
            answer = await _send(bot, post, token)
        outcome = _record(session, post, answer, utcnow())
        report.add(outcome)
        log.info("duty message %d %s", post.id, outcome)
        if outcome == "postponed":
            # Telegram asked us to slow down: the rest waits for the next run
            _release(session, posts[index + 1 :], utcnow())
            break
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
