"""The ticket lifecycle's use cases, the functions every edge calls: file a complaint
(`create_ticket`), move it (`transition`, the one place the lifecycle's rules and the
history are applied, and where the outboxes are written in the same transaction), follow
one, find a duplicate, and the agency's work on it (accept, progress, rectify, reroute,
close, reopen, the inbox), each checking that the viewer may act on the ticket."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from civic.agencies import Viewer, actor_of, can_access, can_act, ticket_scope
from civic.duty import enqueue_new_ticket_post
from civic.errors import AccessDenied, IllegalTransition, InvalidInput, NotFound
from civic.notifications import enqueue_for_event
from civic.routing import RoutingDecision
from civic.tickets._states import OPEN_STATUSES, WAITING, Status, check_transition, ticket_number
from storage.agency_alerts import enqueue_routed_alert
from storage.models import AgencyUser, EventPhoto, Ticket, TicketEvent, TicketFollower, utcnow
from storage.tickets import (
    find_follower,
    get_ticket_by_number,
    list_tickets,
    photo_in_scope,
    recent_tickets,
)


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
    filed_by: AgencyUser | None = None,
) -> Ticket:
    """Store a new complaint and route it: submitted, then routed (or left for triage).
    `filed_by` is the desk user who filed it for a caller; the filing is theirs."""
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
        filed_by_user_id=filed_by.id if filed_by is not None else None,
    )
    session.add(ticket)
    session.flush()
    # The year in the number is the city's year, not UTC's.
    ticket.number = ticket_number(ticket_prefix, now.astimezone(ZoneInfo(timezone)).year, ticket.id)
    filer = actor_of(filed_by) if filed_by is not None else "citizen"
    ticket.events.append(
        TicketEvent(actor=filer, from_status=None, to_status=Status.SUBMITTED, at=now)
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
    candidates = recent_tickets(
        session=session,
        category=category,
        statuses=[s.value for s in OPEN_STATUSES],
        since=(now or utcnow()) - DUPLICATE_WINDOW,
        limit=500,
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
    found = find_follower(session=session, ticket_id=ticket.id, citizen_id=citizen_id)
    if found is not None:
        return found
    follower = TicketFollower(ticket_id=ticket.id, citizen_id=citizen_id)
    session.add(follower)
    session.flush()
    return follower


# --- The agency's work on a ticket (the desk, duty groups, Open311) ---

MAX_NOTE = 4000
MAX_INBOX = 200
# A ticket is overdue when its due time passed before the agency reported it fixed.
_UNFINISHED = [s.value for s in OPEN_STATUSES if s != Status.RECTIFIED]


def _text(value: str | None, *, required: bool, what: str) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{what} is required")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"{what} may be at most {MAX_NOTE} characters")
    return text or None


def _check_can_act(viewer: Viewer, ticket: Ticket) -> None:
    if not can_act(viewer, ticket):
        raise AccessDenied(f"not allowed to act on ticket {ticket.number}")


def attach_photo(*, session: Session, event: TicketEvent, photo: str | None) -> None:
    """Keep a photo with the event (what an agency showed of its work)."""
    if not photo:
        return
    if len(photo) > 255:
        raise InvalidInput("a photo reference may be at most 255 characters")
    session.add(EventPhoto(event_id=event.id, photo=photo))
    session.flush()


def get_ticket(*, session: Session, viewer: Viewer, number: str) -> Ticket:
    """The ticket with this number, if the viewer may see it."""
    ticket = get_ticket_by_number(session=session, number=number)
    if ticket is None:
        raise NotFound(f"no ticket numbered {number}")
    if not can_access(viewer, ticket):
        raise AccessDenied(f"not allowed to see ticket {number}")
    return ticket


def accept(
    *,
    session: Session,
    viewer: Viewer,
    ticket: Ticket,
    note: str | None = None,
    public: bool = True,
) -> TicketEvent:
    """The agency takes the ticket on."""
    _check_can_act(viewer, ticket)
    if ticket.agency is None:
        raise IllegalTransition("a ticket waiting for triage must be routed to an agency first")
    text = _text(note, required=False, what="a note")
    return transition(
        session=session,
        ticket=ticket,
        to_status=Status.ACCEPTED,
        actor=actor_of(viewer),
        note=text,
        public=public,
    )


def add_progress(
    *, session: Session, viewer: Viewer, ticket: Ticket, note: str | None, public: bool = True
) -> TicketEvent:
    """Work has started, or more has been done; a note is required once under way."""
    _check_can_act(viewer, ticket)
    required = ticket.status == Status.IN_PROGRESS
    text = _text(note, required=required, what="a progress note")
    return transition(
        session=session,
        ticket=ticket,
        to_status=Status.IN_PROGRESS,
        actor=actor_of(viewer),
        note=text,
        public=public,
    )


def rectify(
    *, session: Session, viewer: Viewer, ticket: Ticket, note: str, photo: str | None = None
) -> TicketEvent:
    """The agency reports the problem fixed, saying what it did (and showing it)."""
    _check_can_act(viewer, ticket)
    text = _text(note, required=True, what="a note on what was done")
    event = transition(
        session=session,
        ticket=ticket,
        to_status=Status.RECTIFIED,
        actor=actor_of(viewer),
        note=text,
    )
    attach_photo(session=session, event=event, photo=photo)
    return event


def reroute(
    *,
    session: Session,
    viewer: Viewer,
    ticket: Ticket,
    to_agency: str | None,
    reason: str,
    known_agencies: set[str],
    public: bool = True,
) -> TicketEvent:
    """Hand the ticket to another agency, or (`to_agency` None) back to the evaluation
    office's triage queue; returns the last event. From the triage queue a ticket goes
    straight to 'routed'; from an agency through 'rerouted', which carries the reason."""
    _check_can_act(viewer, ticket)
    text = _text(reason, required=True, what="a reason")
    if to_agency is not None and to_agency not in known_agencies:
        raise InvalidInput(f"unknown agency '{to_agency}'")
    if to_agency is not None and to_agency == ticket.agency:
        raise InvalidInput(f"the ticket is already with '{to_agency}'")
    waiting = ticket.agency is None and ticket.status in (Status.SUBMITTED, Status.REROUTED)
    if waiting and to_agency is None:
        raise IllegalTransition("the ticket is already waiting for triage")
    move = partial(transition, session=session, ticket=ticket, actor=actor_of(viewer))
    if waiting:
        ticket.agency = to_agency
        return move(to_status=Status.ROUTED, note=text, public=public)
    event = move(to_status=Status.REROUTED, note=text, public=public)
    ticket.agency = to_agency
    if to_agency is None:
        return event
    # The citizen heard the reason from the 'rerouted' event; this one is bookkeeping.
    return move(to_status=Status.ROUTED, public=False)


def close(
    *, session: Session, viewer: Viewer, ticket: Ticket, note: str | None = None
) -> TicketEvent:
    _check_can_act(viewer, ticket)
    text = _text(note, required=False, what="a note")
    return transition(
        session=session, ticket=ticket, to_status=Status.CLOSED, actor=actor_of(viewer), note=text
    )


def reopen(*, session: Session, viewer: Viewer, ticket: Ticket, reason: str) -> TicketEvent:
    """Back to work on a ticket reported fixed or closed (the fix did not hold)."""
    _check_can_act(viewer, ticket)
    text = _text(reason, required=True, what="a reason")
    return transition(
        session=session, ticket=ticket, to_status=Status.REOPENED, actor=actor_of(viewer), note=text
    )


def list_inbox(
    *,
    session: Session,
    viewer: Viewer,
    status: str | None = None,
    category: str | None = None,
    district: str | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> list[Ticket]:
    """The tickets the viewer may see, the most urgent first (earliest due time, tickets
    without one last). Without `status`, every ticket still open."""
    if status is not None and status not in Status.__members__.values():
        raise InvalidInput(f"unknown status '{status}'")
    if not 1 <= limit <= MAX_INBOX or offset < 0:
        raise InvalidInput(f"limit must be 1 to {MAX_INBOX} and offset not negative")
    return list_tickets(
        session=session,
        scope=ticket_scope(viewer),
        statuses=[status] if status else [s.value for s in OPEN_STATUSES],
        category=category,
        district=district,
        late=(now or utcnow(), _UNFINISHED),
        overdue=overdue,
        limit=limit,
        offset=offset,
    )


def triage_queue(
    *,
    session: Session,
    viewer: Viewer,
    status: str | None = None,
    category: str | None = None,
    district: str | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> list[Ticket]:
    """Tickets waiting for the evaluation office to route them (no agency holds them),
    the most urgent first; only the office's staff (a viewer of no agency) see any."""
    if viewer.agency is not None:
        return []
    return list_tickets(
        session=session,
        scope=[*ticket_scope(viewer), Ticket.agency.is_(None)],
        statuses=[s for s in WAITING if status in (None, s)],
        category=category,
        district=district,
        late=(now or utcnow(), list(WAITING)),
        overdue=overdue,
        limit=limit,
        offset=offset,
    )


def may_see_photo(*, session: Session, viewer: Viewer, name: str) -> bool:
    """True when the stored photo belongs to a ticket the viewer may see."""
    return photo_in_scope(session=session, scope=ticket_scope(viewer), name=name)
