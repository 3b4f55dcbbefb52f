"""Two reads the desk needs that `civic.tickets._service` does not offer yet: the evaluation
office's triage queue and who may see a stored photo. They follow `civic.tickets._service`'s rules
(`ticket_scope`, `can_access`) and belong there; they live here only until that module
is free to change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from civic.agencies import ticket_scope
from civic.tickets import Status
from storage.models import AgencyUser, EventPhoto, Ticket, TicketEvent

# Tickets no agency holds: filed without one (category 'other') or sent back to triage.
WAITING = (Status.SUBMITTED.value, Status.REROUTED.value)


def triage_queue(
    *,
    session: Session,
    viewer: AgencyUser,
    status: str | None,
    category: str | None,
    district: str | None,
    overdue: bool | None,
    limit: int,
    offset: int,
    now: datetime,
) -> list[Ticket]:
    """Tickets waiting for the evaluation office to route them, the most urgent first."""
    if viewer.agency is not None:
        return []
    query = select(Ticket).where(
        *ticket_scope(viewer), Ticket.agency.is_(None), Ticket.status.in_(WAITING)
    )
    if status is not None:
        query = query.where(Ticket.status == status)
    if category is not None:
        query = query.where(Ticket.category == category)
    if district is not None:
        query = query.where(Ticket.district == district)
    if overdue is not None:
        late = Ticket.due_at.is_not(None) & (Ticket.due_at < now)
        query = query.where(late if overdue else ~late)
    query = query.order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def may_see_photo(*, session: Session, viewer: AgencyUser, name: str) -> bool:
    """True when the photo belongs to a ticket the viewer may see, as the citizen's photo
    or as one attached to an event (a rectification)."""
    scope = ticket_scope(viewer)
    direct = select(Ticket.id).where(Ticket.photo == name, *scope)
    via_event = (
        select(Ticket.id)
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .join(EventPhoto, EventPhoto.event_id == TicketEvent.id)
        .where(EventPhoto.photo == name, *scope)
    )
    return session.execute(union(direct, via_event).limit(1)).first() is not None


def event_photos(*, session: Session, ticket: Ticket) -> dict[int, str]:
    """event id -> photo, for the ticket's events that have one."""
    rows = session.execute(
        select(EventPhoto.event_id, EventPhoto.photo)
        .join(TicketEvent, TicketEvent.id == EventPhoto.event_id)
        .where(TicketEvent.ticket_id == ticket.id)
    )
    return {event_id: photo for event_id, photo in rows}
