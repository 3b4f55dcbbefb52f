"""The notification outbox, on SQLite and PostgreSQL.

Events are appended by hand rather than through `transition`, so these tests hold
whether or not `transition` enqueues notifications itself.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from civic.notifications import (
    due_notifications,
    enqueue_for_event,
    mark_retry,
    mark_sent,
    mark_unreachable,
    params_of,
)
from civic.privacy import erase_citizen
from civic.routing import RoutingDecision
from civic.tickets import create_ticket
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.models import Citizen, Notification, Ticket, TicketEvent, TicketFollower, utcnow

NOW = utcnow()


def _citizen(session: Session, address: str) -> Citizen:
    return get_or_create_citizen(session=session, channel="telegram", address=address)


def _ticket(session: Session, citizen: Citizen | None) -> Ticket:
    ticket = create_ticket(
        session=session,
        citizen_id=citizen.id if citizen else None,
        description="路灯坏了",
        language="zh",
        decision=RoutingDecision(
            category="street-light", agency="urban-management", district=None, confidence=0.9
        ),
        ticket_prefix="HZ",
        due_at=None,
    )
    session.flush()
    return ticket


def _event(
    session: Session, ticket: Ticket, note: str | None = "crew on the way", public: bool = True
) -> TicketEvent:
    event = TicketEvent(
        actor="user:li", from_status="routed", to_status="accepted", note=note, public=public
    )
    ticket.events.append(event)
    session.flush()
    return event


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Notification)) or 0


def test_a_public_event_is_queued_for_the_citizen_and_followers(session: Session) -> None:
    alice, bob, carol = (_citizen(session, a) for a in ("1", "2", "3"))
    ticket = _ticket(session, alice)
    session.add_all(
        TicketFollower(ticket_id=ticket.id, citizen_id=c.id) for c in (bob, carol, alice)
    )
    erase_citizen(session=session, citizen=carol)
    event = _event(session, ticket)
    rows = enqueue_for_event(session=session, ticket=ticket, event=event)
    session.commit()
    assert [(r.citizen_id, r.idempotency_key) for r in rows] == [
        (alice.id, f"event:{event.id}:citizen:{alice.id}"),
        (bob.id, f"event:{event.id}:citizen:{bob.id}"),
    ]
    first = rows[0]
    assert (first.ticket_id, first.kind, first.body_key, first.status, first.attempts) == (
        ticket.id,
        "ticket_status",
        "notify.status_changed",
        "pending",
        0,
    )
    assert json.loads(first.params) == {
        "number": ticket.number,
        "status": "accepted",
        "note": "crew on the way",
    }
    assert params_of(first) == json.loads(first.params)


def test_only_the_reporter_is_asked_whether_a_rectification_holds(session: Session) -> None:
    alice, bob = (_citizen(session, a) for a in ("1", "2"))
    ticket = _ticket(session, alice)
    session.add(TicketFollower(ticket_id=ticket.id, citizen_id=bob.id))
    event = TicketEvent(
        actor="user:li", from_status="in_progress", to_status="rectified", note="fixed"
    )
    ticket.events.append(event)
    session.flush()
    rows = enqueue_for_event(session=session, ticket=ticket, event=event)
    asked, told = rows
    assert (asked.citizen_id, asked.body_key) == (alice.id, "notify.rectified")
    assert [b["payload"] for b in params_of(asked)["buttons"]] == [  # type: ignore[union-attr]
        f'/confirm_fixed{{"ticket":"{ticket.number}","fixed":"yes"}}',
        f'/confirm_fixed{{"ticket":"{ticket.number}","fixed":"no"}}',
    ]
    assert (told.citizen_id, told.body_key) == (bob.id, "notify.status_changed")
    assert params_of(told) == {"number": ticket.number, "status": "rectified", "note": "fixed"}
    assert enqueue_for_event(session=session, ticket=ticket, event=event) == []


def test_enqueueing_twice_adds_nothing(session: Session) -> None:
    ticket = _ticket(session, _citizen(session, "1"))
    event = _event(session, ticket)
    assert len(enqueue_for_event(session=session, ticket=ticket, event=event)) == 1
    assert enqueue_for_event(session=session, ticket=ticket, event=event) == []
    assert _count(session) == 1


def test_internal_events_and_citizenless_tickets_enqueue_nothing(session: Session) -> None:
    ticket = _ticket(session, _citizen(session, "1"))
    internal = _event(session, ticket, public=False)
    filing = ticket.events[0]
    anonymous = _ticket(session, None)
    assert enqueue_for_event(session=session, ticket=ticket, event=internal) == []
    assert enqueue_for_event(session=session, ticket=ticket, event=filing) == []
    assert (
        enqueue_for_event(session=session, ticket=anonymous, event=_event(session, anonymous)) == []
    )
    assert _count(session) == 0


def _pending(session: Session, count: int) -> list[Notification]:
    ticket = _ticket(session, None)
    rows = [
        Notification(
            ticket_id=ticket.id,
            kind="ticket_status",
            body_key="notify.status_changed",
            params="{}",
            idempotency_key=f"test:{i}",
            next_attempt_at=NOW - timedelta(minutes=count - i),
        )
        for i in range(count)
    ]
    session.add_all(rows)
    session.commit()
    return rows


def test_due_notifications_are_pending_ones_whose_time_came_oldest_first(
    session: Session,
) -> None:
    rows = _pending(session, 5)
    mark_sent(session=session, notification=rows[0])
    mark_unreachable(session=session, notification=rows[1], error="blocked")
    rows[4].next_attempt_at = NOW + timedelta(minutes=5)
    session.commit()
    assert due_notifications(session=session, now=NOW, limit=10) == [rows[2], rows[3]]
    assert due_notifications(session=session, now=NOW, limit=1) == [rows[2]]
    later = NOW + timedelta(minutes=6)
    assert due_notifications(session=session, now=later, limit=10) == [rows[2], rows[3], rows[4]]


def test_retries_back_off_exponentially_then_give_up(session: Session) -> None:
    (row,) = _pending(session, 1)
    waits = []
    for _ in range(5):
        mark_retry(
            session=session, notification=row, error="timeout", delay=timedelta(minutes=1), now=NOW
        )
        waits.append(row.next_attempt_at - NOW)
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    assert (row.status, row.attempts, row.last_error) == ("pending", 5, "timeout")
    mark_retry(session=session, notification=row, error="x" * 5000, delay=timedelta(minutes=1))
    session.commit()
    assert (row.status, row.attempts, len(row.last_error or "")) == ("failed", 6, 1000)


def test_backoff_is_capped(session: Session) -> None:
    (row,) = _pending(session, 1)
    row.attempts = 3
    mark_retry(session=session, notification=row, error="e", delay=timedelta(hours=1), now=NOW)
    assert row.next_attempt_at - NOW == timedelta(hours=6)


def test_sent_and_unreachable_are_final(session: Session) -> None:
    sent, gone = _pending(session, 2)
    mark_sent(session=session, notification=sent, now=NOW)
    mark_unreachable(session=session, notification=gone, error="bot was blocked by the user")
    session.commit()
    assert (sent.status, sent.attempts, sent.sent_at is not None) == ("sent", 1, True)
    assert (gone.status, gone.last_error) == ("unreachable", "bot was blocked by the user")


def test_two_deliverers_never_take_the_same_row(postgres_url: str) -> None:
    """Row locks with SKIP LOCKED are PostgreSQL's; SQLite has a single writer anyway."""
    database_url = postgres_url
    sessions = session_factory(database_url)
    with sessions() as setup:
        rows = _pending(setup, 4)
    with sessions() as first, sessions() as second:
        taken = due_notifications(session=first, now=NOW, limit=2)
        # Without SKIP LOCKED the second would wait on the first's locks: fail instead.
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        other = due_notifications(session=second, now=NOW, limit=10)
        assert [r.idempotency_key for r in taken] == [
            rows[0].idempotency_key,
            rows[1].idempotency_key,
        ]
        assert [r.idempotency_key for r in other] == [
            rows[2].idempotency_key,
            rows[3].idempotency_key,
        ]
