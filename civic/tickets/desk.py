"""Agency-side work on tickets: the desk's actions (accept, progress, rectify, reroute,
close, reopen), its inbox, and what agencies' systems do through Open311.

Every action checks that the viewer may act on the ticket and goes through
`civic.tickets.service.transition`, so the lifecycle's rules and the history stay in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import and_, not_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from civic.agencies.service import Viewer, actor_of, can_access, can_act, ticket_scope
from civic.city.profiles import Profile
from civic.errors import AccessDenied, IllegalTransition, InvalidInput, NotFound
from civic.i18n.catalogue import detect_language
from civic.open311.protocol import NewRequest, RequestQuery, UpdateIn
from civic.routing.router import RoutingDecision
from civic.tickets.service import create_ticket, get_ticket_by_number, transition
from civic.tickets.states import OPEN_STATUSES, Status, due_at
from storage.models import AgencyUpdate, ApiKey, EventPhoto, Ticket, TicketEvent, utcnow

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


def _attach_photo(session: Session, event: TicketEvent, photo: str | None) -> None:
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
    *, session: Session, viewer: Viewer, ticket: Ticket, note: str | None = None
) -> TicketEvent:
    """The agency takes the ticket on."""
    _check_can_act(viewer, ticket)
    if ticket.agency is None:
        raise IllegalTransition("a ticket waiting for triage must be routed to an agency first")
    text = _text(note, required=False, what="a note")
    return transition(
        session=session, ticket=ticket, to_status=Status.ACCEPTED, actor=actor_of(viewer), note=text
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
    _attach_photo(session, event, photo)
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
    statuses = [status] if status else [s.value for s in OPEN_STATUSES]
    query = select(Ticket).where(*ticket_scope(viewer), Ticket.status.in_(statuses))
    if category is not None:
        query = query.where(Ticket.category == category)
    if district is not None:
        query = query.where(Ticket.district == district)
    if overdue is not None:
        late = and_(
            Ticket.due_at.is_not(None),
            Ticket.due_at < (now or utcnow()),
            Ticket.status.in_(_UNFINISHED),
        )
        query = query.where(late if overdue else not_(late))
    query = query.order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


# --- Open311: agencies' and partners' systems ---


def submit_request(
    *, session: Session, key: ApiKey, request: NewRequest, profile: Profile, timezone: str
) -> Ticket:
    """File a service request posted through Open311. It has no citizen account, and the
    contact details that came with it are not kept, so it is anonymous."""
    category = profile.categories[request.service_code]
    district = None
    if request.lat is not None and request.long is not None:
        district = profile.district_at(request.lat, request.long)
    decision = RoutingDecision(
        category=category.code,
        agency=category.agency,
        district=district.code if district else None,
        confidence=1.0,
        decided_by="open311",
    )
    ticket = create_ticket(
        session=session,
        citizen_id=None,
        description=request.description,
        language=detect_language(request.description) or "zh",
        decision=decision,
        ticket_prefix=profile.ticket_prefix,
        due_at=due_at(utcnow(), category.target_hours),
        timezone=timezone,
        address_text=request.address,
        lat=request.lat,
        long=request.long,
    )
    ticket.contact = "anonymous"
    ticket.photo = request.media_url
    ticket.events[0].actor = actor_of(key)
    session.flush()
    return ticket


def find_requests(*, session: Session, query: RequestQuery, viewer: ApiKey | None) -> list[Ticket]:
    """GET requests: newest first, limited to the viewer's agency for an agency's key."""
    stmt = select(Ticket).where(*ticket_scope(viewer)).options(selectinload(Ticket.events))
    if query.numbers:
        stmt = stmt.where(Ticket.number.in_(query.numbers))
    else:
        stmt = stmt.where(Ticket.created_at >= query.start, Ticket.created_at <= query.end)
        if query.service_codes:
            stmt = stmt.where(Ticket.category.in_(query.service_codes))
        if query.statuses is not None:
            stmt = stmt.where(Ticket.status.in_([s.value for s in query.statuses]))
    stmt = stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    return list(session.scalars(stmt.limit(query.limit).offset(query.offset)))


def find_public_updates(
    *, session: Session, start: datetime, end: datetime, viewer: ApiKey | None, limit: int
) -> list[tuple[TicketEvent, str | None, str | None]]:
    """GET servicerequestupdates: (event, ticket number, photo) of public changes, oldest
    first; the filing itself is not an update."""
    stmt = (
        select(TicketEvent, Ticket.number, EventPhoto.photo)
        .join(Ticket, TicketEvent.ticket_id == Ticket.id)
        .outerjoin(EventPhoto, EventPhoto.event_id == TicketEvent.id)
        .where(
            *ticket_scope(viewer),
            TicketEvent.public.is_(True),
            TicketEvent.from_status.is_not(None),
            TicketEvent.at >= start,
            TicketEvent.at <= end,
        )
        .order_by(TicketEvent.id)
        .limit(limit)
    )
    return [(event, number, photo) for event, number, photo in session.execute(stmt)]


@dataclass(frozen=True)
class AppliedUpdate:
    update_id: str
    ticket_number: str | None
    status: str
    at: datetime


def _recorded_update(session: Session, key: ApiKey, update_id: str) -> AppliedUpdate | None:
    row = session.execute(
        select(Ticket.number, Ticket.status, AgencyUpdate.created_at, TicketEvent)
        .select_from(AgencyUpdate)
        .join(Ticket, AgencyUpdate.ticket_id == Ticket.id)
        .outerjoin(TicketEvent, AgencyUpdate.event_id == TicketEvent.id)
        .where(AgencyUpdate.api_key_id == key.id, AgencyUpdate.update_id == update_id)
    ).first()
    if row is None:
        return None
    number, status, created_at, event = row
    if event is None:
        return AppliedUpdate(update_id, number, status, created_at)
    return AppliedUpdate(update_id, number, event.to_status, event.at)


def _apply(session: Session, key: ApiKey, ticket: Ticket, update: UpdateIn) -> TicketEvent:
    note, status = update.description, update.status
    if status == Status.RECTIFIED:
        return rectify(
            session=session, viewer=key, ticket=ticket, note=note or "", photo=update.media_url
        )
    if status == Status.ACCEPTED:
        event = accept(session=session, viewer=key, ticket=ticket, note=note)
    elif status == Status.IN_PROGRESS:
        event = add_progress(session=session, viewer=key, ticket=ticket, note=note)
    elif status == Status.CLOSED:
        event = close(session=session, viewer=key, ticket=ticket, note=note)
    elif status == Status.REROUTED:
        # "Not ours" from an agency's system goes back to the triage queue.
        event = reroute(
            session=session,
            viewer=key,
            ticket=ticket,
            to_agency=None,
            reason=note or "",
            known_agencies=set(),
        )
    else:
        raise IllegalTransition(f"an agency cannot set the status '{status}'")
    _attach_photo(session, event, update.media_url)
    return event


def apply_agency_update(*, session: Session, key: ApiKey, update: UpdateIn) -> AppliedUpdate:
    """POST servicerequestupdates: apply an agency system's update once. The same
    update_id again (a retry) changes nothing and gets the first answer."""
    if not key.can_write:
        raise AccessDenied("this api_key may only read")
    done = _recorded_update(session, key, update.update_id)
    if done is not None:
        return done
    ticket = get_ticket(session=session, viewer=key, number=update.service_request_id)
    try:
        with session.begin_nested():
            event = _apply(session, key, ticket, update)
            session.add(
                AgencyUpdate(
                    api_key_id=key.id,
                    update_id=update.update_id,
                    ticket_id=ticket.id,
                    event_id=event.id,
                )
            )
            session.flush()
    except IntegrityError:
        # The same update arrived twice at once and the other request recorded it first.
        done = _recorded_update(session, key, update.update_id)
        if done is None:
            raise
        return done
    return AppliedUpdate(update.update_id, ticket.number, event.to_status, event.at)
