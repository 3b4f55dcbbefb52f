"""civic.tickets' follow-through: only the citizen who filed a ticket confirms the fix
and rates it; a follower's answer changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from civic.errors import AccessDenied
from civic.routing import RoutingDecision
from civic.tickets import Status, answer_fixed, create_ticket, follow_ticket, rate, transition
from storage.citizens import get_or_create_citizen
from storage.models import Ticket


def _rectified(session: Session) -> tuple[Ticket, int, int]:
    reporter = get_or_create_citizen(session=session, channel="telegram", address="1")
    follower = get_or_create_citizen(session=session, channel="web", address="w" * 20)
    ticket = create_ticket(
        session=session,
        citizen_id=reporter.id,
        description="路灯坏了",
        language="zh",
        decision=RoutingDecision(
            category="street-light", agency="urban-management", district=None, confidence=0.9
        ),
        ticket_prefix="HZ",
        due_at=None,
    )
    follow_ticket(session=session, ticket=ticket, citizen_id=follower.id)
    for status in (Status.ACCEPTED, Status.IN_PROGRESS, Status.RECTIFIED):
        transition(session=session, ticket=ticket, to_status=status, actor="user:li", note="ok")
    return ticket, reporter.id, follower.id


def test_a_follower_can_neither_confirm_nor_rate(session: Session) -> None:
    ticket, reporter, follower = _rectified(session)
    with pytest.raises(AccessDenied, match=f"only the citizen who filed {ticket.number}"):
        answer_fixed(session=session, ticket=ticket, citizen_id=follower, fixed=False)
    assert (ticket.status, ticket.fixed_confirmed) == (Status.RECTIFIED, None)
    answer_fixed(session=session, ticket=ticket, citizen_id=reporter, fixed=True)
    with pytest.raises(AccessDenied):
        rate(session=session, ticket=ticket, citizen_id=follower, satisfaction="dissatisfied")
    assert (ticket.status, ticket.satisfaction) == (Status.RECTIFIED, None)
    rate(session=session, ticket=ticket, citizen_id=reporter, satisfaction="satisfied")
    assert (ticket.status, ticket.satisfaction) == (Status.CLOSED, "satisfied")


def test_an_anonymous_ticket_has_nobody_to_answer_for_it(session: Session) -> None:
    ticket, _reporter, follower = _rectified(session)
    ticket.citizen_id = None  # filed through Open311, or the reporter erased their data
    with pytest.raises(AccessDenied):
        answer_fixed(session=session, ticket=ticket, citizen_id=follower, fixed=True)
