"""The outbox mechanism, shared by the project's four outboxes: notifications to citizens
(civic/notifications), messages to agencies' people on Telegram (civic/duty), webhook
alerts to agencies' systems (storage/agency_alerts) and campaign invitations
(storage/invitations).

Enqueueing. A row is written in the same transaction as the change it reports, so the
message is neither lost when delivery fails nor missing when the change rolls back. Each
row carries an idempotency key naming what it is for; `queued` tells which keys already
have a row, so a change that is retried enqueues nothing new.

Taking. A deliverer takes the due rows of a batch with `take_due` (pending, and their
`next_attempt_at` has come, oldest first), or with `take` and its own query when the
outbox has its own idea of "due" (the campaign's invitations and reminders). On
PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED until the transaction ends: two
deliverers never get the same row, and neither waits for the other's rows. SQLite has one
writer at a time and needs no lock.

Claiming. A deliverer that sends over the network must not hold its transaction (and
its row locks, or SQLite's write lock) while it waits for the other side: `claim_due`
takes the rows and puts a lease on them (their `next_attempt_at` moves to the lease's
end, a value no other claim has), the caller commits, sends, and records each outcome in
a short transaction of its own that begins with `reclaim`: the row, only if it still
carries the lease. No other deliverer takes a leased row before the lease runs out; one
whose lease ran out and was taken by another is left to that one.

Recording. Every outcome but a postponement counts as an attempt:
- `mark_sent`: delivered.
- `mark_failed_attempt`: tried again after a delay that doubles with each attempt, from
  the outbox's first delay up to its cap; given up as `failed` when the attempts reach the
  maximum, or at once when the error is permanent (the same request cannot do better).
- `postpone`: the other side asked to wait (Telegram's 429 `retry_after`): tried again
  then, without counting an attempt.
- `mark_unreachable`: the recipient cannot be reached (blocked the bot, no address):
  recorded and never tried again.

Waking. A deliverer that would rather not poll often can be woken as rows commit:
storage/wakeups.py announces the outboxes it names (today the notifications).

Each outbox keeps its own `RetryPolicy` (maximum attempts, first delay, cap, length of the
error kept) and its domain: which rows to enqueue, for whom, and what they say.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import CursorResult, Select, inspect, select, update
from sqlalchemy.orm import Session

from storage.models import utcnow

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
UNREACHABLE = "unreachable"


class OutboxRow(Protocol):
    """The columns an outbox table has (notifications, duty_messages, agency_alerts)."""

    id: int
    idempotency_key: str
    status: str  # pending | sent | failed | unreachable
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None


Row = TypeVar("Row", bound=OutboxRow)
Model = TypeVar("Model")


@dataclass(frozen=True)
class RetryPolicy:
    """One outbox's retry rules."""

    max_attempts: int  # given up as failed once this many attempts were made
    first_delay: timedelta  # the wait after the first failed attempt, doubled after each
    max_delay: timedelta  # the longest wait
    error_length: int  # how much of an error message is kept

    def gives_up(self, *, attempts: int) -> bool:
        """True when `attempts` attempts are all a row gets."""
        return attempts >= self.max_attempts

    def delay(self, *, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt (1 for the first)."""
        return min(self.first_delay * 2 ** (attempts - 1), self.max_delay)

    def clip(self, *, error: str | None) -> str | None:
        """The part of an error message that is kept; None for no message."""
        return error[: self.error_length] if error else None


def queued(*, session: Session, model: type[OutboxRow], keys: Collection[str]) -> set[str]:
    """The idempotency keys among `keys` that already have a row: enqueue only the others."""
    if not keys:
        return set()
    column = inspect(model).columns["idempotency_key"]
    return set(session.scalars(select(column).where(column.in_(keys))))


def take(*, session: Session, query: Select[Model], limit: int) -> list[Model]:
    """The first `limit` rows of `query` (due rows, oldest first, of one model). On
    PostgreSQL they are locked until the transaction ends and rows another transaction
    holds are skipped (FOR UPDATE OF the model SKIP LOCKED), so no two deliverers get
    the same row; tables the query joins are not locked."""
    query = query.limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        model = query.column_descriptions[0]["entity"]
        query = query.with_for_update(skip_locked=True, of=model)
    return list(session.scalars(query))


def take_due(*, session: Session, model: type[Row], now: datetime, limit: int) -> list[Row]:
    """Pending rows whose `next_attempt_at` has come, oldest first, taken as `take` does."""
    columns = inspect(model).columns
    query = (
        select(model)
        .where(columns["status"] == PENDING, columns["next_attempt_at"] <= now)
        .order_by(columns["next_attempt_at"], columns["id"])
    )
    return take(session=session, query=query, limit=limit)


def claim_due(
    *, session: Session, model: type[Row], now: datetime, limit: int, lease: timedelta
) -> list[Row]:
    """`take_due`, with a lease on the rows until about `now + lease` (their
    `next_attempt_at`, made unique to this claim): the caller commits, then sends."""
    lease_end = now + lease + timedelta(microseconds=secrets.randbelow(1_000_000))
    rows = take_due(session=session, model=model, now=now, limit=limit)
    for row in rows:
        row.next_attempt_at = lease_end
    session.flush()
    return rows


def reclaim(*, session: Session, model: type[Row], row_id: int, lease: datetime) -> Row | None:
    """At the start of the transaction that records an outcome: the row if it is still
    pending under our lease, else None (another deliverer took it after the lease ran out).
    It writes first, so SQLite takes its write lock now and PostgreSQL locks the row."""
    columns = inspect(model).columns
    result = session.execute(
        update(model)
        .where(columns["id"] == row_id, columns["status"] == PENDING)
        .where(columns["next_attempt_at"] == lease)
        .values(next_attempt_at=lease)
        .execution_options(synchronize_session=False)
    )
    if not (isinstance(result, CursorResult) and result.rowcount == 1):
        return None
    return session.get(model, row_id, populate_existing=True)


def mark_sent(*, row: OutboxRow, now: datetime | None = None) -> None:
    """Delivered: never taken again."""
    row.status = SENT
    row.attempts += 1
    row.sent_at = now or utcnow()
    row.last_error = None


def mark_failed_attempt(
    *,
    row: OutboxRow,
    policy: RetryPolicy,
    error: str,
    now: datetime | None = None,
    permanent: bool = False,
) -> None:
    """Not delivered: try again after the policy's delay, or give up as failed when the
    attempts are used up or the error is `permanent`."""
    row.attempts += 1
    row.last_error = policy.clip(error=error)
    if permanent or policy.gives_up(attempts=row.attempts):
        row.status = FAILED
        return
    row.next_attempt_at = (now or utcnow()) + policy.delay(attempts=row.attempts)


def postpone(*, row: OutboxRow, seconds: float, now: datetime | None = None) -> None:
    """The other side asked to wait `seconds` (a 429): try again then, without counting
    an attempt."""
    row.next_attempt_at = (now or utcnow()) + timedelta(seconds=seconds)


def mark_unreachable(*, row: OutboxRow, policy: RetryPolicy, error: str | None) -> None:
    """The recipient cannot be reached: recorded, counted, never tried again."""
    row.status = UNREACHABLE
    row.attempts += 1
    row.last_error = policy.clip(error=error)
