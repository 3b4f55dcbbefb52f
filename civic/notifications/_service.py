"""The notification outbox. A ticket's public change enqueues one row per recipient in
the same transaction as the change, so a message is neither lost when delivery fails
nor sent twice when the change is retried (each row has an idempotency key). A
deliverer takes due rows, sends them, and marks each sent, retried or unreachable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import outbox
from storage.models import Citizen, Notification, Ticket, TicketEvent, TicketFollower, utcnow

STATUS_CHANGED = "notify.status_changed"
RECTIFIED = "notify.rectified"


def fixed_question_buttons(number: str) -> list[dict[str, str]]:
    """[Solved] [Not yet] under a rectification notice; titles are catalogue keys."""
    return [
        {
            "title_key": "notify.solved",
            "payload": f'/confirm_fixed{{"ticket":"{number}","fixed":"yes"}}',
        },
        {
            "title_key": "notify.not_yet",
            "payload": f'/confirm_fixed{{"ticket":"{number}","fixed":"no"}}',
        },
    ]


MAX_ATTEMPTS = 6
FIRST_DELAY = timedelta(seconds=30)  # the notifier passes its own (NotifierOptions.retry_delay)
MAX_DELAY = timedelta(hours=6)
RETRIES = outbox.RetryPolicy(
    max_attempts=MAX_ATTEMPTS, first_delay=FIRST_DELAY, max_delay=MAX_DELAY, error_length=1000
)


def _recipients(session: Session, ticket: Ticket, *, reporter: bool, followers: bool) -> list[int]:
    """The ticket's citizen first, then its followers, as asked; erased citizens are
    left out."""
    following = session.scalars(
        select(TicketFollower.citizen_id)
        .where(TicketFollower.ticket_id == ticket.id)
        .order_by(TicketFollower.id)
    )
    wanted = [ticket.citizen_id] if reporter else []
    if followers:
        wanted += [c for c in following if reporter or c != ticket.citizen_id]
    candidates = list(dict.fromkeys(wanted))
    reachable = set(
        session.scalars(
            select(Citizen.id).where(
                Citizen.id.in_([c for c in candidates if c is not None]),
                Citizen.erased_at.is_(None),
            )
        )
    )
    return [c for c in candidates if c in reachable]


def enqueue_for_event(
    *, session: Session, ticket: Ticket, event: TicketEvent
) -> list[Notification]:
    """Queue the news of a public event for the citizen and the followers. Internal
    events and the filing itself (the citizen was answered then) enqueue nothing; a
    repeated call enqueues nothing new."""
    if not event.public or event.from_status is None:
        return []
    if event.id is None:
        session.flush()
    content: dict[str, object] = {
        "number": ticket.number,
        "status": event.to_status,
        "note": event.note,
    }
    key = f"event:{event.id}"
    if event.to_status != "rectified":
        return enqueue_notice(
            session=session, ticket=ticket, body_key=STATUS_CHANGED, params=content, key=key
        )
    # The citizen who filed is asked whether it is really fixed (FixMyStreet's question);
    # followers hear the news, but the answer and the rating are the reporter's alone.
    asked = {**content, "buttons": fixed_question_buttons(ticket.number or "")}
    return [
        *enqueue_notice(
            session=session,
            ticket=ticket,
            body_key=RECTIFIED,
            params=asked,
            key=key,
            followers=False,
        ),
        *enqueue_notice(
            session=session,
            ticket=ticket,
            body_key=STATUS_CHANGED,
            params=content,
            key=key,
            reporter=False,
        ),
    ]


def enqueue_notice(
    *,
    session: Session,
    ticket: Ticket,
    body_key: str,
    params: Mapping[str, object],
    key: str,
    reporter: bool = True,
    followers: bool = True,
) -> list[Notification]:
    """Queue one message about a ticket for its citizen and (or only) its followers,
    once per `key` and citizen."""
    encoded = json.dumps(params, ensure_ascii=False)
    recipients = _recipients(session, ticket, reporter=reporter, followers=followers)
    wanted = {f"{key}:citizen:{c}": c for c in recipients}
    if not wanted:
        return []
    existing = outbox.queued(session=session, model=Notification, keys=list(wanted))
    now = utcnow()
    rows = [
        Notification(
            ticket_id=ticket.id,
            citizen_id=citizen_id,
            kind="ticket_status",
            body_key=body_key,
            params=encoded,
            idempotency_key=key,
            next_attempt_at=now,
            created_at=now,
        )
        for key, citizen_id in wanted.items()
        if key not in existing
    ]
    session.add_all(rows)
    session.flush()
    return rows


def due_notifications(*, session: Session, now: datetime, limit: int) -> list[Notification]:
    """Pending rows whose time has come, oldest first. On PostgreSQL the rows are locked
    and rows locked by another deliverer skipped, so two deliverers never send one row."""
    return outbox.take_due(session=session, model=Notification, now=now, limit=limit)


def mark_sent(*, session: Session, notification: Notification, now: datetime | None = None) -> None:
    outbox.mark_sent(row=notification, now=now)


def mark_retry(
    *,
    session: Session,
    notification: Notification,
    error: str,
    delay: timedelta,
    now: datetime | None = None,
    permanent: bool = False,
) -> None:
    """Try again later: after `delay`, doubled on every further failure (capped at
    MAX_DELAY); after MAX_ATTEMPTS failures, or at once when the error is `permanent`,
    the row is given up as 'failed'."""
    policy = replace(RETRIES, first_delay=delay)
    outbox.mark_failed_attempt(
        row=notification, policy=policy, error=error, now=now, permanent=permanent
    )


def mark_unreachable(
    *, session: Session, notification: Notification, error: str | None = None
) -> None:
    """The citizen cannot be reached (blocked the bot, no address): never retried."""
    outbox.mark_unreachable(row=notification, policy=RETRIES, error=error)


def params_of(notification: Notification) -> dict[str, object]:
    """The catalogue parameters of a row, for the deliverer."""
    loaded = json.loads(notification.params or "{}")
    return loaded if isinstance(loaded, dict) else {}


def enqueue_direct(
    *, session: Session, citizen_id: int, body_key: str, params: Mapping[str, object], key: str
) -> Notification | None:
    """Queue one message for one citizen that is not about a ticket (a staff reply);
    once per `key`."""
    if outbox.queued(session=session, model=Notification, keys=[key]):
        return None
    now = utcnow()
    row = Notification(
        ticket_id=None,
        citizen_id=citizen_id,
        kind="direct",
        body_key=body_key,
        params=json.dumps(params, ensure_ascii=False),
        idempotency_key=key,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row
