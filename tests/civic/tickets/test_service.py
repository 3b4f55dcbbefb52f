"""Storing tickets and moving them along their lifecycle, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from civic.errors import IllegalTransition
from civic.routing import RoutingDecision
from civic.tickets import create_ticket, transition
from storage.citizens import get_or_create_citizen
from storage.models import Citizen, Ticket
from storage.tickets import get_ticket_by_number, tickets_of_citizen

ROUTED = RoutingDecision(
    category="street-light", agency="urban-management", district="binjiang", confidence=0.9
)
TRIAGE = RoutingDecision(
    category="other", agency=None, district=None, confidence=0.2, decided_by="nlu-unsure"
)


def _citizen(session: Session, address: str = "1001") -> Citizen:
    return get_or_create_citizen(session=session, channel="telegram", address=address)


def _ticket(session: Session, citizen: Citizen, decision: RoutingDecision = ROUTED) -> Ticket:
    ticket = create_ticket(
        session=session,
        citizen_id=citizen.id,
        description="滨江区江南大道路灯坏了三盏",
        language="zh",
        decision=decision,
        ticket_prefix="HZ",
        due_at=None,
    )
    session.commit()
    return ticket


def _history(ticket: Ticket) -> list[tuple[str | None, str, str]]:
    return [(e.from_status, e.to_status, e.actor) for e in ticket.events]


def _reloaded(session: Session, ticket: Ticket) -> Ticket:
    session.expire_all()
    stored = session.get(Ticket, ticket.id)
    assert stored is not None
    return stored


def test_ticket_with_an_agency_is_routed(session: Session) -> None:
    ticket = _reloaded(session, _ticket(session, _citizen(session)))
    assert ticket.status == "routed"
    assert ticket.number == f"HZ-{ticket.created_at.year}-{ticket.id:06d}"
    assert (ticket.category, ticket.agency, ticket.district) == (
        "street-light",
        "urban-management",
        "binjiang",
    )
    assert (ticket.confidence, ticket.routed_by) == (0.9, "nlu")
    assert _history(ticket) == [(None, "submitted", "citizen"), ("submitted", "routed", "router")]


def test_ticket_without_an_agency_waits_for_triage(session: Session) -> None:
    ticket = _reloaded(session, _ticket(session, _citizen(session), TRIAGE))
    assert (ticket.status, ticket.agency, ticket.routed_by) == ("submitted", None, "nlu-unsure")
    assert _history(ticket) == [(None, "submitted", "citizen")]


def test_ticket_is_found_by_number(session: Session) -> None:
    ticket = _ticket(session, _citizen(session))
    assert get_ticket_by_number(session=session, number=ticket.number or "") == ticket
    assert get_ticket_by_number(session=session, number="HZ-1999-000001") is None


def test_transition_records_the_event(session: Session) -> None:
    ticket = _ticket(session, _citizen(session))
    transition(session=session, ticket=ticket, to_status="accepted", actor="agency:urban")
    transition(
        session=session,
        ticket=ticket,
        to_status="in_progress",
        actor="agency:urban",
        note="crew sent",
        public=False,
    )
    session.commit()
    stored = _reloaded(session, ticket)
    last = stored.events[-1]
    assert stored.status == "in_progress"
    assert (last.from_status, last.to_status, last.note, last.public) == (
        "accepted",
        "in_progress",
        "crew sent",
        False,
    )
    assert [e.to_status for e in stored.events] == [
        "submitted",
        "routed",
        "accepted",
        "in_progress",
    ]


def test_illegal_transition_changes_nothing(session: Session) -> None:
    ticket = _ticket(session, _citizen(session))
    with pytest.raises(IllegalTransition) as info:
        transition(session=session, ticket=ticket, to_status="rectified", actor="agency:urban")
    assert str(info.value) == "a ticket cannot go from 'routed' to 'rectified'"
    session.commit()
    stored = _reloaded(session, ticket)
    assert (stored.status, len(stored.events)) == ("routed", 2)


def test_tickets_of_citizen_newest_first(session: Session) -> None:
    alice, bob = _citizen(session, "1001"), _citizen(session, "2002")
    first, _bobs, second, third = (
        _ticket(session, alice),
        _ticket(session, bob),
        _ticket(session, alice),
        _ticket(session, alice),
    )
    found = tickets_of_citizen(session=session, citizen_id=alice.id)
    assert [t.number for t in found] == [third.number, second.number, first.number]
    limited = tickets_of_citizen(session=session, citizen_id=alice.id, limit=2)
    assert [t.number for t in limited] == [third.number, second.number]
