"""Tickets and their events."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.routing import RoutingDecision
from civic.tickets import Status, check_transition, ticket_number
from storage.models import Ticket, TicketEvent, utcnow


def create_ticket(
    *,
    session: Session,
    citizen_id: int | None,
    description: str,
    language: str,
    decision: RoutingDecision,
    ticket_prefix: str,
    due_at: datetime | None,
    timezone: str = "UTC",
    address_text: str | None = None,
    lat: float | None = None,
    long: float | None = None,
) -> Ticket:
    """Store a new complaint and route it: submitted, then routed (or left for triage)."""
    now = utcnow()
    ticket = Ticket(
        citizen_id=citizen_id,
        description=description,
        language=language,
        category=decision.category,
        agency=decision.agency,
        district=decision.district,
        status=Status.SUBMITTED,
        confidence=decision.confidence,
        routed_by=decision.decided_by,
        address_text=address_text,
        lat=lat,
        long=long,
        created_at=now,
        updated_at=now,
        due_at=due_at,
    )
    session.add(ticket)
    session.flush()
    # The year in the number is the city's year, not UTC's.
    ticket.number = ticket_number(ticket_prefix, now.astimezone(ZoneInfo(timezone)).year, ticket.id)
    ticket.events.append(
        TicketEvent(actor="citizen", from_status=None, to_status=Status.SUBMITTED, at=now)
    )
    if decision.agency is not None:
        transition(session=session, ticket=ticket, to_status=Status.ROUTED, actor="router")
    return ticket


def transition(
    *,
    session: Session,
    ticket: Ticket,
    to_status: str,
    actor: str,
    note: str | None = None,
    public: bool = True,
) -> TicketEvent:
    """Move a ticket along its lifecycle, recording the event; illegal moves raise."""
    target = check_transition(ticket.status, to_status)
    event = TicketEvent(
        actor=actor, from_status=ticket.status, to_status=target, note=note, public=public
    )
    ticket.events.append(event)
    ticket.status = target
    ticket.updated_at = event.at = utcnow()
    session.flush()
    return event


def tickets_of_citizen(*, session: Session, citizen_id: int, limit: int = 10) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.citizen_id == citizen_id)
            .order_by(Ticket.id.desc())
            .limit(limit)
        )
    )


def get_ticket_by_number(*, session: Session, number: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.number == number)).first()
