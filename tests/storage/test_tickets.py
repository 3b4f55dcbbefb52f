"""storage.tickets' streams for the open-data files, on SQLite and PostgreSQL (where they
read through a server-side cursor): every numbered ticket and public change, oldest
first, across fetch batches, and nothing a public reader may not see."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from storage.models import Ticket, TicketEvent
from storage.tickets import stream_public_changes, stream_public_tickets

FILED = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def _ticket(session: Session, number: str | None, status: str = "routed") -> Ticket:
    ticket = Ticket(
        number=number,
        description="张伟 13812345678",
        category="street-light",
        agency="urban-management",
        district="xihu",
        status=status,
        road="延安路",
        lat=30.2581234,
        long=120.1689876,
        created_at=FILED,
        updated_at=FILED,
    )
    session.add(ticket)
    session.flush()
    return ticket


def _event(session: Session, ticket: Ticket, to: str, before: str | None, public: bool) -> int:
    event = TicketEvent(
        ticket_id=ticket.id,
        actor="officer:1",
        from_status=before,
        to_status=to,
        note="called 张伟",
        public=public,
        at=FILED,
    )
    session.add(event)
    session.flush()
    return event.id


def test_tickets_stream_in_order_across_batches_without_unnumbered_ones(
    session: Session,
) -> None:
    for number in ("HZ-1", None, "HZ-2", "HZ-3"):
        _ticket(session, number)
    rows = list(stream_public_tickets(session=session, batch=2))
    assert [row[0] for row in rows] == ["HZ-1", "HZ-2", "HZ-3"]
    number, status, category, agency, district, road, lat, long, filed, _, due = rows[0]
    assert (number, status, category, agency, district, road) == (
        "HZ-1",
        "routed",
        "street-light",
        "urban-management",
        "xihu",
        "延安路",
    )
    assert (lat, long, due) == (30.2581234, 120.1689876, None)
    assert filed.replace(tzinfo=UTC) == FILED
    assert "张伟" not in repr(rows)


def test_changes_are_the_public_transitions_without_notes(session: Session) -> None:
    first, unnumbered = _ticket(session, "HZ-1"), _ticket(session, None)
    _event(session, first, "submitted", None, True)  # the filing
    routed = _event(session, first, "routed", "submitted", True)
    _event(session, first, "accepted", "routed", False)  # internal
    progress = _event(session, first, "in_progress", "accepted", True)
    _event(session, unnumbered, "routed", "submitted", True)
    rows = list(stream_public_changes(session=session, batch=1))
    assert [(event_id, number, status) for event_id, number, status, _ in rows] == [
        (routed, "HZ-1", "routed"),
        (progress, "HZ-1", "in_progress"),
    ]
    assert "张伟" not in repr(rows)
