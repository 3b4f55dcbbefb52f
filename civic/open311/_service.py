"""What agencies' and partners' systems do through Open311: file a request, list
requests and their public updates, and report back on a ticket. Reporting back goes
through the same agency actions as the desk (`civic.tickets`), so the lifecycle's rules,
the access checks and the history are the desk's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civic.agencies import actor_of, ticket_scope
from civic.city import Profile
from civic.errors import AccessDenied, IllegalTransition
from civic.i18n import detect_language
from civic.open311._protocol import NewRequest, RequestQuery, UpdateIn
from civic.routing import RoutingDecision
from civic.tickets import (
    Status,
    accept,
    add_progress,
    attach_photo,
    close,
    create_ticket,
    due_at,
    get_ticket,
    rectify,
    reroute,
)
from storage.models import AgencyUpdate, ApiKey, Ticket, TicketEvent, utcnow
from storage.tickets import find_tickets, public_changes, recorded_agency_update


def submit_request(
    *, session: Session, key: ApiKey, request: NewRequest, profile: Profile, timezone: str
) -> Ticket:
    """File a service request posted through Open311. It has no citizen account, and the
    contact details that came with it are not kept, so it is anonymous. Only a key that
    may write files, and an agency's key only in that agency's own services (so one
    agency cannot fill another's queue)."""
    if not key.can_write:
        raise AccessDenied("this api_key may only read")
    category = profile.categories[request.service_code]
    if key.agency is not None and category.agency != key.agency:
        raise AccessDenied(
            f"this api_key may file only its own agency's services, not '{category.code}'"
        )
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
    return find_tickets(
        session=session,
        scope=ticket_scope(viewer),
        numbers=query.numbers,
        start=query.start,
        end=query.end,
        categories=query.service_codes,
        statuses=None if query.statuses is None else [s.value for s in query.statuses],
        limit=query.limit,
        offset=query.offset,
    )


def find_public_updates(
    *, session: Session, start: datetime, end: datetime, viewer: ApiKey | None, limit: int
) -> list[tuple[TicketEvent, str | None, str | None]]:
    """GET servicerequestupdates: (event, ticket number, photo) of public changes, oldest
    first; the filing itself is not an update."""
    return public_changes(
        session=session, scope=ticket_scope(viewer), start=start, end=end, limit=limit
    )


@dataclass(frozen=True)
class AppliedUpdate:
    update_id: str
    ticket_number: str | None
    status: str
    at: datetime


def _recorded_update(session: Session, key: ApiKey, update_id: str) -> AppliedUpdate | None:
    row = recorded_agency_update(session=session, api_key_id=key.id, update_id=update_id)
    if row is None:
        return None
    number, status, created_at, event = row
    if event is None:
        return AppliedUpdate(update_id, number, status, created_at)
    return AppliedUpdate(update_id, number, event.to_status, event.at)


# Where an agency's system may jump ahead: its back-end often knows only "in progress" or
# "fixed" (FixMyStreet's integrations send such jumps), so the acceptance it skipped is
# taken for it, as an internal event the citizen is not told of separately.
_SKIPS_ACCEPTANCE = {Status.IN_PROGRESS, Status.RECTIFIED}
SKIPPED_NOTE = "accepted by the agency's system with its next update"


def _apply(session: Session, key: ApiKey, ticket: Ticket, update: UpdateIn) -> TicketEvent:
    note, status = update.description, update.status
    if status in _SKIPS_ACCEPTANCE and ticket.status in (Status.ROUTED, Status.REROUTED):
        accept(session=session, viewer=key, ticket=ticket, note=SKIPPED_NOTE, public=False)
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
    attach_photo(session=session, event=event, photo=update.media_url)
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
