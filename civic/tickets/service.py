"""Tickets and their events."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.duty.service import enqueue_new_ticket_post
from civic.notifications.service import enqueue_for_event
from civic.routing.router import RoutingDecision
from civic.tickets.states import OPEN_STATUSES, Status, check_transition, ticket_number
from storage.agency_alerts import enqueue_routed_alert
from storage.models import Ticket, TicketEvent, TicketFollower, utcnow


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
    road: str | None = None,
    photo: str | None = None,
    contact: str = "chat",
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
        road=road,
        photo=photo,
        contact=contact,
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
    # The citizen hears of public moves (the outbox row commits with the move). Routing at
    # filing time is not news (the citizen was told the agency in the same breath), nor is
    # what the citizen did themselves (they were answered in the chat).
    if actor not in {"router", "citizen"}:
        enqueue_for_event(session=session, ticket=ticket, event=event)
    if target == Status.ROUTED:
        enqueue_routed_alert(session=session, ticket=ticket, event_id=event.id)
        enqueue_new_ticket_post(session=session, ticket=ticket, event_id=event.id)
    return event


def tickets_of_citizen(*, session: Session, citizen_id: int, limit: int = 10) -> list[Ticket]:
    """The citizen's own tickets and the ones they follow, newest first."""
    followed = select(TicketFollower.ticket_id).where(TicketFollower.citizen_id == citizen_id)
    return list(
        session.scalars(
            select(Ticket)
            .where((Ticket.citizen_id == citizen_id) | Ticket.id.in_(followed))
            .order_by(Ticket.id.desc())
            .limit(limit)
        )
    )


def get_ticket_by_number(*, session: Session, number: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.number == number)).first()


DUPLICATE_RADIUS_METRES = 200.0
DUPLICATE_WINDOW = timedelta(days=7)


def distance_metres(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Great-circle distance (haversine), precise enough at city scale."""
    earth = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(long2 - long1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * earth * math.asin(math.sqrt(a))


def find_duplicate(
    *,
    session: Session,
    category: str,
    lat: float | None,
    long: float | None,
    road: str | None,
    now: datetime | None = None,
) -> Ticket | None:
    """An open ticket of the same category filed in the last 7 days within 200 m of the
    point, or on the same named road; the nearest / newest first."""
    if lat is None and road is None:
        return None
    since = (now or utcnow()) - DUPLICATE_WINDOW
    candidates = session.scalars(
        select(Ticket)
        .where(
            Ticket.category == category,
            Ticket.status.in_([s.value for s in OPEN_STATUSES]),
            Ticket.created_at >= since,
        )
        .order_by(Ticket.id.desc())
        .limit(500)
    )
    best: tuple[float, Ticket] | None = None
    for ticket in candidates:
        if road and ticket.road == road:
            return ticket
        if None in (lat, long, ticket.lat, ticket.long):
            continue
        metres = distance_metres(lat, long, ticket.lat, ticket.long)  # type: ignore[arg-type]
        if metres <= DUPLICATE_RADIUS_METRES and (best is None or metres < best[0]):
            best = (metres, ticket)
    return best[1] if best else None


def follow_ticket(*, session: Session, ticket: Ticket, citizen_id: int) -> TicketFollower:
    """Add the citizen to a ticket's followers (idempotent)."""
    found = session.scalars(
        select(TicketFollower).where(
            TicketFollower.ticket_id == ticket.id, TicketFollower.citizen_id == citizen_id
        )
    ).first()
    if found is not None:
        return found
    follower = TicketFollower(ticket_id=ticket.id, citizen_id=citizen_id)
    session.add(follower)
    session.flush()
    return follower
