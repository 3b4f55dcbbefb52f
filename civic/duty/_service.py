"""The agency's people on Telegram: desk users linked to Telegram accounts, the duty
outbox (new tickets posted to the agency's duty group, overdue tickets and late
improvement notices escalated to the group and to its supervisors), and the questions
asking a duty officer why a ticket should go back to triage.

Linking. `issue_link_code` gives a desk user a one-time code (only its digest is kept);
the officer sends "/link CODE" to the bot in a private chat, which both links the account
and means the bot may write to them there. An administrator may also link a known
Telegram user id directly (`link_telegram`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.agencies import digest
from civic.errors import InvalidInput
from storage import outbox
from storage.models import (
    AgencyChannel,
    AgencyUser,
    DutyMessage,
    DutyPrompt,
    Ticket,
    utcnow,
)

LINK_CODE_TTL = timedelta(hours=24)
LINK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
# Longer than a batch of 20 sends (each at most Telegram's time-out plus a budget wait).
LEASE = timedelta(minutes=10)
RETRIES = outbox.RetryPolicy(
    max_attempts=MAX_ATTEMPTS, first_delay=FIRST_RETRY, max_delay=MAX_RETRY, error_length=500
)
NEW_TICKET = "new_ticket"
ESCALATION = "escalation"
NOTICE_LATE = "notice_late"


# --- Linking desk users to Telegram accounts ---


def link_telegram(*, session: Session, user: AgencyUser, telegram_user_id: int) -> AgencyUser:
    """Let `telegram_user_id` act for `user`; an account already linked to someone else
    must be unlinked first."""
    if telegram_user_id <= 0:
        raise InvalidInput("a Telegram user id is a positive number")
    holder = session.scalars(
        select(AgencyUser).where(AgencyUser.telegram_user_id == telegram_user_id)
    ).first()
    if holder is not None and holder.id != user.id:
        raise InvalidInput(f"that Telegram account is already linked to '{holder.username}'")
    user.telegram_user_id = telegram_user_id
    user.telegram_link_hash = user.telegram_link_expires_at = None
    session.flush()
    return user


def unlink_telegram(*, session: Session, user: AgencyUser) -> None:
    user.telegram_user_id = None
    user.telegram_link_hash = user.telegram_link_expires_at = None
    session.flush()


def issue_link_code(*, session: Session, user: AgencyUser, now: datetime | None = None) -> str:
    """A new one-time code for `user` (replacing any earlier one), valid LINK_CODE_TTL."""
    if user.agency is None:
        raise InvalidInput("only an agency's officers and supervisors join its duty group")
    code = "".join(secrets.choice(LINK_ALPHABET) for _ in range(10))
    user.telegram_link_hash = digest(code)
    user.telegram_link_expires_at = (now or utcnow()) + LINK_CODE_TTL
    session.flush()
    return f"{code[:5]}-{code[5:]}"


def redeem_link_code(
    *, session: Session, code: str, telegram_user_id: int, now: datetime | None = None
) -> AgencyUser | None:
    """The user whose live code this is, now linked to `telegram_user_id`; None when the
    code is unknown, used or expired."""
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    if not cleaned:
        return None
    user = session.scalars(
        select(AgencyUser).where(
            AgencyUser.telegram_link_hash == digest(cleaned),
            AgencyUser.telegram_link_expires_at > (now or utcnow()),
            AgencyUser.disabled_at.is_(None),
        )
    ).first()
    if user is None:
        return None
    holder = officer_for_telegram(session=session, telegram_user_id=telegram_user_id)
    if holder is not None and holder.id != user.id:
        unlink_telegram(session=session, user=holder)  # the account moves to its new owner
    return link_telegram(session=session, user=user, telegram_user_id=telegram_user_id)


def officer_for_telegram(*, session: Session, telegram_user_id: int) -> AgencyUser | None:
    """The enabled desk user this Telegram account acts for."""
    return session.scalars(
        select(AgencyUser).where(
            AgencyUser.telegram_user_id == telegram_user_id, AgencyUser.disabled_at.is_(None)
        )
    ).first()


def agency_of_chat(*, session: Session, chat_id: str) -> str | None:
    """The agency whose duty group this chat is."""
    return session.scalars(
        select(AgencyChannel.agency).where(AgencyChannel.telegram_chat_id == chat_id)
    ).first()


# --- The duty outbox ---


def _enqueue(
    session: Session,
    agency: str,
    *,
    kind: str,
    chat_id: str,
    key: str,
    recipient: int | None,
    ticket_id: int | None = None,
    notice_id: int | None = None,
) -> DutyMessage | None:
    if outbox.queued(session=session, model=DutyMessage, keys=[key]):
        return None
    message = DutyMessage(
        agency=agency,
        ticket_id=ticket_id,
        notice_id=notice_id,
        kind=kind,
        chat_id=chat_id,
        recipient_id=recipient,
        idempotency_key=key,
    )
    session.add(message)
    session.flush()
    return message


def enqueue_new_ticket_post(
    *, session: Session, ticket: Ticket, event_id: int
) -> DutyMessage | None:
    """Post a ticket just routed to an agency to its duty group, if it has one; once per
    routing event."""
    channel = session.get(AgencyChannel, ticket.agency) if ticket.agency else None
    if channel is None or not channel.telegram_chat_id:
        return None
    return _enqueue(
        session,
        channel.agency,
        kind=NEW_TICKET,
        chat_id=channel.telegram_chat_id,
        key=f"duty:routed:{event_id}",
        recipient=None,
        ticket_id=ticket.id,
    )


def supervisors_on_telegram(*, session: Session, agency: str) -> list[AgencyUser]:
    return list(
        session.scalars(
            select(AgencyUser)
            .where(
                AgencyUser.agency == agency,
                AgencyUser.role == "supervisor",
                AgencyUser.telegram_user_id.is_not(None),
                AgencyUser.disabled_at.is_(None),
            )
            .order_by(AgencyUser.id)
        )
    )


def _escalation_targets(session: Session, agency: str) -> list[tuple[str, str, int | None]]:
    """(chat id, who, supervisor's user id) of the agency's linked supervisors and its
    duty group."""
    targets: list[tuple[str, str, int | None]] = [
        (str(user.telegram_user_id), f"user:{user.id}", user.id)
        for user in supervisors_on_telegram(session=session, agency=agency)
    ]
    channel = session.get(AgencyChannel, agency)
    if channel is not None and channel.telegram_chat_id:
        targets.append((channel.telegram_chat_id, "group", None))
    return targets


def enqueue_escalation(*, session: Session, ticket: Ticket) -> list[DutyMessage]:
    """Tell the agency's linked supervisors (privately) and its duty group that the ticket
    is overdue; once per ticket and recipient."""
    if ticket.agency is None:
        return []
    queued = []
    for chat_id, who, recipient in _escalation_targets(session, ticket.agency):
        message = _enqueue(
            session,
            ticket.agency,
            kind=ESCALATION,
            chat_id=chat_id,
            key=f"duty:overdue:{ticket.id}:{who}",
            recipient=recipient,
            ticket_id=ticket.id,
        )
        if message is not None:
            queued.append(message)
    return queued


def enqueue_notice_escalation(
    *, session: Session, notice_id: int, agency: str, lateness: str
) -> list[DutyMessage]:
    """Tell the agency's linked supervisors and its duty group that an improvement notice
    is late (`lateness`: "response", or "milestone:<id>"); once per notice, lateness and
    recipient."""
    queued = []
    for chat_id, who, recipient in _escalation_targets(session, agency):
        message = _enqueue(
            session,
            agency,
            kind=NOTICE_LATE,
            chat_id=chat_id,
            key=f"duty:notice:{notice_id}:{lateness}:{who}",
            recipient=recipient,
            notice_id=notice_id,
        )
        if message is not None:
            queued.append(message)
    return queued


def due_duty_messages(*, session: Session, now: datetime, limit: int = 20) -> list[DutyMessage]:
    return outbox.take_due(session=session, model=DutyMessage, now=now, limit=limit)


def claim_duty_messages(
    *, session: Session, now: datetime, limit: int = 20, lease: timedelta = LEASE
) -> list[DutyMessage]:
    """The due rows, leased to this sender (storage/outbox.py): commit, then send."""
    return outbox.claim_due(session=session, model=DutyMessage, now=now, limit=limit, lease=lease)


def reclaim_duty_message(
    *, session: Session, message_id: int, lease: datetime
) -> DutyMessage | None:
    """The row, if still leased to us: begins the transaction recording its outcome."""
    return outbox.reclaim(session=session, model=DutyMessage, row_id=message_id, lease=lease)


def mark_posted(*, message: DutyMessage, telegram_message_id: int, now: datetime) -> None:
    message.message_id = telegram_message_id
    outbox.mark_sent(row=message, now=now)


def postpone(*, message: DutyMessage, seconds: float, now: datetime) -> None:
    """Telegram asked to wait (429): try again then, without counting an attempt."""
    outbox.postpone(row=message, seconds=seconds, now=now)


def mark_failed_attempt(
    *, message: DutyMessage, error: str, now: datetime, permanent: bool = False
) -> None:
    """Retry later, waiting twice as long each time; give up after MAX_ATTEMPTS, or at
    once when the error will not go away by itself."""
    outbox.mark_failed_attempt(
        row=message, policy=RETRIES, error=error, now=now, permanent=permanent
    )


def mark_unreachable(*, message: DutyMessage, error: str) -> None:
    """Telegram refused the chat (403): the bot was removed from the group, or the
    supervisor blocked it or never started it. Recorded, not retried."""
    outbox.mark_unreachable(row=message, policy=RETRIES, error=error)


# --- Asking a duty officer for the reason of a reroute ---


def open_prompt(
    *,
    session: Session,
    chat_id: str,
    message_id: int,
    ticket: Ticket,
    user: AgencyUser,
    post_message_id: int | None,
) -> DutyPrompt:
    prompt = DutyPrompt(
        chat_id=chat_id,
        message_id=message_id,
        ticket_id=ticket.id,
        user_id=user.id,
        post_message_id=post_message_id,
    )
    session.add(prompt)
    session.flush()
    return prompt


def open_prompt_for(*, session: Session, chat_id: str, message_id: int) -> DutyPrompt | None:
    """The unanswered question the message (chat_id, message_id) asked."""
    return session.scalars(
        select(DutyPrompt).where(
            DutyPrompt.chat_id == chat_id,
            DutyPrompt.message_id == message_id,
            DutyPrompt.answered_at.is_(None),
        )
    ).first()
