"""The shared outbox mechanism (storage/outbox.py), on SQLite and PostgreSQL, through the
notifications table (any outbox table would do)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from storage import outbox
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.models import Citizen, Notification, utcnow

NOW = utcnow()
POLICY = outbox.RetryPolicy(
    max_attempts=5,
    first_delay=timedelta(minutes=1),
    max_delay=timedelta(minutes=5),
    error_length=10,
)


def _rows(session: Session, count: int, *, citizen: Citizen | None = None) -> list[Notification]:
    """`count` pending rows, due a minute apart, the last one now."""
    rows = [
        Notification(
            citizen_id=citizen.id if citizen else None,
            kind="direct",
            body_key="notify.status_changed",
            idempotency_key=f"test:{i}",
            next_attempt_at=NOW - timedelta(minutes=count - 1 - i),
        )
        for i in range(count)
    ]
    session.add_all(rows)
    session.commit()
    return rows


def _keys(rows: list[Notification]) -> list[str]:
    return [row.idempotency_key for row in rows]


def _due(session: Session, when: timedelta = timedelta(0)) -> list[str]:
    return _keys(outbox.take_due(session=session, model=Notification, now=NOW + when, limit=10))


def test_due_rows_come_oldest_first_and_future_ones_wait(session: Session) -> None:
    rows = _rows(session, 3)
    rows[0].next_attempt_at = NOW + timedelta(minutes=1)
    session.commit()
    assert _due(session) == ["test:1", "test:2"]
    taken = outbox.take_due(session=session, model=Notification, now=NOW, limit=1)
    assert _keys(taken) == ["test:1"]
    assert _due(session, timedelta(minutes=1)) == ["test:1", "test:2", "test:0"]


def test_take_runs_the_callers_query_up_to_the_limit(session: Session) -> None:
    _rows(session, 4)
    newest_first = select(Notification).order_by(Notification.id.desc())
    taken = outbox.take(session=session, query=newest_first, limit=3)
    assert _keys(taken) == ["test:3", "test:2", "test:1"]


def test_queued_names_the_keys_that_already_have_a_row(session: Session) -> None:
    _rows(session, 2)
    assert outbox.queued(
        session=session, model=Notification, keys=["test:1", "test:9", "test:0"]
    ) == {"test:0", "test:1"}
    assert outbox.queued(session=session, model=Notification, keys=["test:9"]) == set()
    assert outbox.queued(session=session, model=Notification, keys=[]) == set()


def test_sent_rows_are_never_due_again(session: Session) -> None:
    (row,) = _rows(session, 1)
    row.last_error = "earlier"
    outbox.mark_sent(row=row, now=NOW)
    session.commit()
    assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 1, NOW, None)
    assert _due(session, timedelta(days=365)) == []


def test_backoff_doubles_from_the_first_delay_up_to_the_cap(session: Session) -> None:
    (row,) = _rows(session, 1)
    waits = []
    for _ in range(4):
        outbox.mark_failed_attempt(row=row, policy=POLICY, error="timeout", now=NOW)
        waits.append(row.next_attempt_at - NOW)
    session.commit()
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 5)]
    assert (row.status, row.attempts, row.last_error) == ("pending", 4, "timeout")
    assert _due(session, timedelta(minutes=4, seconds=59)) == []
    assert _due(session, timedelta(minutes=5)) == ["test:0"]


def test_a_row_is_given_up_after_max_attempts(session: Session) -> None:
    (row,) = _rows(session, 1)
    for _ in range(POLICY.max_attempts - 1):
        outbox.mark_failed_attempt(row=row, policy=POLICY, error="timeout", now=NOW)
    assert row.status == "pending"
    outbox.mark_failed_attempt(row=row, policy=POLICY, error="HTTP 503 Service Unavailable")
    session.commit()
    assert (row.status, row.attempts) == ("failed", POLICY.max_attempts)
    assert row.last_error == "HTTP 503 S"  # cut to the policy's error length
    assert _due(session, timedelta(days=365)) == []


def test_a_permanent_error_gives_up_at_once(session: Session) -> None:
    (row,) = _rows(session, 1)
    outbox.mark_failed_attempt(row=row, policy=POLICY, error="400", now=NOW, permanent=True)
    session.commit()
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "400")
    assert _due(session, timedelta(days=365)) == []


def test_postponing_waits_without_counting_an_attempt(session: Session) -> None:
    (row,) = _rows(session, 1)
    outbox.mark_failed_attempt(row=row, policy=POLICY, error="timeout", now=NOW)
    outbox.postpone(row=row, seconds=90.5, now=NOW)
    session.commit()
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "timeout")
    assert row.next_attempt_at - NOW == timedelta(seconds=90.5)
    assert _due(session, timedelta(seconds=90)) == []
    assert _due(session, timedelta(seconds=91)) == ["test:0"]
    # the next failure backs off from where the attempts stood
    outbox.mark_failed_attempt(row=row, policy=POLICY, error="timeout", now=NOW)
    assert (row.attempts, row.next_attempt_at - NOW) == (2, timedelta(minutes=2))


def test_unreachable_rows_are_never_due_again(session: Session) -> None:
    blocked, nowhere = _rows(session, 2)
    outbox.mark_unreachable(row=blocked, policy=POLICY, error="Forbidden: bot was blocked")
    outbox.mark_unreachable(row=nowhere, policy=POLICY, error=None)
    session.commit()
    assert (blocked.status, blocked.attempts, blocked.last_error) == (
        "unreachable",
        1,
        "Forbidden:",
    )
    assert (nowhere.status, nowhere.last_error) == ("unreachable", None)
    assert _due(session, timedelta(days=365)) == []


def test_two_sessions_never_take_the_same_row(postgres_url: str) -> None:
    """SKIP LOCKED is PostgreSQL's; SQLite has a single writer anyway."""
    sessions = session_factory(postgres_url)
    with sessions() as setup:
        _rows(setup, 5)
    with sessions() as first, sessions() as second:
        taken = outbox.take_due(session=first, model=Notification, now=NOW, limit=2)
        # Without SKIP LOCKED the second would wait on the first's locks: fail instead.
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        other = outbox.take_due(session=second, model=Notification, now=NOW, limit=10)
        assert (_keys(taken), _keys(other)) == (
            ["test:0", "test:1"],
            ["test:2", "test:3", "test:4"],
        )
        first.rollback()  # the first deliverer gives its rows back (or dies)
        with sessions() as third:
            again = outbox.take_due(session=third, model=Notification, now=NOW, limit=10)
            assert _keys(again) == ["test:0", "test:1"]


def test_take_locks_only_the_rows_of_its_model(postgres_url: str) -> None:
    """A query joining another table (as the campaign's claims do) takes its own rows,
    skips those another session holds, and leaves the joined rows free to change."""
    sessions = session_factory(postgres_url)
    with sessions() as setup:
        citizen = get_or_create_citizen(session=setup, channel="telegram", address="1001")
        setup.commit()
        citizen_id = citizen.id
        _rows(setup, 3, citizen=citizen)
    query = (
        select(Notification)
        .join(Citizen, Citizen.id == Notification.citizen_id)
        .where(Citizen.erased_at.is_(None))
        .order_by(Notification.id)
    )
    with sessions() as first, sessions() as second:
        taken = outbox.take(session=first, query=query, limit=2)
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        other = outbox.take(session=second, query=query, limit=10)
        assert (_keys(taken), _keys(other)) == (["test:0", "test:1"], ["test:2"])
        with sessions() as third:
            third.execute(text("SET LOCAL lock_timeout = '2s'"))
            locked = select(Citizen).where(Citizen.id == citizen_id).with_for_update(nowait=True)
            assert third.scalars(locked).one().id == citizen_id
            with pytest.raises(OperationalError):  # the rows themselves are held
                third.scalars(select(Notification).with_for_update(nowait=True)).all()


def _claim(session: Session, lease: timedelta, now: timedelta = timedelta(0)) -> list[str]:
    rows = outbox.claim_due(
        session=session, model=Notification, now=NOW + now, limit=10, lease=lease
    )
    session.commit()
    return _keys(rows)


def test_a_claimed_row_is_not_due_again_until_its_lease_ends(session: Session) -> None:
    _rows(session, 2)
    assert _claim(session, timedelta(minutes=5)) == ["test:0", "test:1"]
    assert _due(session) == []
    assert _due(session, timedelta(minutes=4)) == []
    assert _due(session, timedelta(minutes=6)) == ["test:0", "test:1"]


def test_an_outcome_is_recorded_only_under_the_lease(session: Session) -> None:
    [row] = _rows(session, 1)
    _claim(session, timedelta(minutes=5))
    ours = row.next_attempt_at
    # our lease ran out (a slow send) and another deliverer claimed the row
    assert _claim(session, timedelta(minutes=5), now=timedelta(minutes=6)) == ["test:0"]
    assert outbox.reclaim(session=session, model=Notification, row_id=row.id, lease=ours) is None
    theirs = session.get(Notification, row.id, populate_existing=True)
    assert theirs is not None and theirs.next_attempt_at != ours
    found = outbox.reclaim(
        session=session, model=Notification, row_id=row.id, lease=theirs.next_attempt_at
    )
    assert found is not None and found.id == row.id
    outbox.mark_sent(row=found)
    session.commit()
    assert (
        outbox.reclaim(
            session=session, model=Notification, row_id=row.id, lease=found.next_attempt_at
        )
        is None
    )  # sent rows are nobody's
