"""Reading tickets and their events: the queries behind the citizen's "my tickets", the
duplicate check, the desk's inbox, Open311's lists and the open-data files. Who may see
what is decided above (`civic.agencies.ticket_scope`) and comes in as `scope`, a list of
SQL conditions."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Row, and_, func, not_, select, union
from sqlalchemy.orm import Session, selectinload

from storage.models import AgencyUpdate, EventPhoto, Ticket, TicketEvent, TicketFollower

Scope = Sequence[ColumnElement[bool]]


def get_ticket_by_number(*, session: Session, number: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.number == number)).first()


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


def count_filed_since(*, session: Session, citizen_id: int, since: datetime) -> int:
    """How many tickets the citizen has filed since `since`."""
    query = select(func.count(Ticket.id)).where(
        Ticket.citizen_id == citizen_id, Ticket.created_at >= since
    )
    return int(session.scalar(query) or 0)


def recent_tickets(
    *, session: Session, category: str, statuses: Sequence[str], since: datetime, limit: int
) -> list[Ticket]:
    """Tickets of a category in the given statuses filed since `since`, newest first."""
    return list(
        session.scalars(
            select(Ticket)
            .where(
                Ticket.category == category,
                Ticket.status.in_(statuses),
                Ticket.created_at >= since,
            )
            .order_by(Ticket.id.desc())
            .limit(limit)
        )
    )


def find_follower(*, session: Session, ticket_id: int, citizen_id: int) -> TicketFollower | None:
    return session.scalars(
        select(TicketFollower).where(
            TicketFollower.ticket_id == ticket_id, TicketFollower.citizen_id == citizen_id
        )
    ).first()


def list_tickets(
    *,
    session: Session,
    scope: Scope,
    statuses: Sequence[str],
    category: str | None = None,
    district: str | None = None,
    late: tuple[datetime, Sequence[str]] | None = None,
    overdue: bool | None = None,
    limit: int,
    offset: int,
) -> list[Ticket]:
    """Tickets in scope, earliest due time first (tickets without one last). `overdue`
    keeps only the tickets past their due time at `late[0]` while in one of `late[1]`, or
    (False) only the others."""
    query = select(Ticket).where(*scope, Ticket.status.in_(statuses))
    if category is not None:
        query = query.where(Ticket.category == category)
    if district is not None:
        query = query.where(Ticket.district == district)
    if overdue is not None and late is not None:
        now, unfinished = late
        is_late = and_(
            Ticket.due_at.is_not(None), Ticket.due_at < now, Ticket.status.in_(unfinished)
        )
        query = query.where(is_late if overdue else not_(is_late))
    query = query.order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def find_tickets(
    *,
    session: Session,
    scope: Scope,
    numbers: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    categories: Sequence[str] = (),
    statuses: Sequence[str] | None = None,
    limit: int,
    offset: int,
) -> list[Ticket]:
    """Tickets by number, or filed between `start` and `end`; newest first, events loaded."""
    stmt = select(Ticket).where(*scope).options(selectinload(Ticket.events))
    if numbers:
        stmt = stmt.where(Ticket.number.in_(numbers))
    else:
        if start is not None:
            stmt = stmt.where(Ticket.created_at >= start)
        if end is not None:
            stmt = stmt.where(Ticket.created_at <= end)
        if categories:
            stmt = stmt.where(Ticket.category.in_(categories))
        if statuses is not None:
            stmt = stmt.where(Ticket.status.in_(statuses))
    stmt = stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def public_changes(
    *, session: Session, scope: Scope, start: datetime, end: datetime, limit: int
) -> list[tuple[TicketEvent, str | None, str | None]]:
    """(event, ticket number, photo) of the public status changes in scope between
    `start` and `end`, oldest first; the filing itself is not a change."""
    stmt = (
        select(TicketEvent, Ticket.number, EventPhoto.photo)
        .join(Ticket, TicketEvent.ticket_id == Ticket.id)
        .outerjoin(EventPhoto, EventPhoto.event_id == TicketEvent.id)
        .where(
            *scope,
            TicketEvent.public.is_(True),
            TicketEvent.from_status.is_not(None),
            TicketEvent.at >= start,
            TicketEvent.at <= end,
        )
        .order_by(TicketEvent.id)
        .limit(limit)
    )
    return [(event, number, photo) for event, number, photo in session.execute(stmt)]


# Rows fetched from the server at a time when streaming a whole table: on PostgreSQL
# through a server-side cursor, so millions of tickets never sit in memory at once.
STREAM_BATCH = 2000


# number, status, category, agency, district, road, lat, long, created_at, updated_at, due_at
PublicTicket = tuple[
    str | None,
    str,
    str,
    str | None,
    str | None,
    str | None,
    float | None,
    float | None,
    datetime,
    datetime,
    datetime | None,
]


def stream_public_tickets(*, session: Session, batch: int = STREAM_BATCH) -> Iterator[PublicTicket]:
    """Every numbered ticket, oldest first, as rows of the columns a public reader may
    see (`PublicTicket`): never the citizen, the texts, the address or the photo."""
    stmt = (
        select(
            Ticket.number,
            Ticket.status,
            Ticket.category,
            Ticket.agency,
            Ticket.district,
            Ticket.road,
            Ticket.lat,
            Ticket.long,
            Ticket.created_at,
            Ticket.updated_at,
            Ticket.due_at,
        )
        .where(Ticket.number.is_not(None))
        .order_by(Ticket.id)
        .execution_options(yield_per=batch)
    )
    for row in session.execute(stmt):
        yield tuple(row)


def stream_public_changes(
    *, session: Session, batch: int = STREAM_BATCH
) -> Iterator[Row[int, str | None, str, datetime]]:
    """Every public status change of a numbered ticket (the filing is not one), oldest
    first, as rows (event id, ticket number, to_status, at): never the note or actor."""
    stmt = (
        select(TicketEvent.id, Ticket.number, TicketEvent.to_status, TicketEvent.at)
        .join(Ticket, TicketEvent.ticket_id == Ticket.id)
        .where(
            Ticket.number.is_not(None),
            TicketEvent.public.is_(True),
            TicketEvent.from_status.is_not(None),
        )
        .order_by(TicketEvent.id)
        .execution_options(yield_per=batch)
    )
    yield from session.execute(stmt)


def recorded_agency_update(
    *, session: Session, api_key_id: int, update_id: str
) -> tuple[str | None, str, datetime, TicketEvent | None] | None:
    """(ticket number, ticket status, when recorded, the event it made) of an update an
    agency's system already sent under this update_id, if any."""
    row = session.execute(
        select(Ticket.number, Ticket.status, AgencyUpdate.created_at, TicketEvent)
        .select_from(AgencyUpdate)
        .join(Ticket, AgencyUpdate.ticket_id == Ticket.id)
        .outerjoin(TicketEvent, AgencyUpdate.event_id == TicketEvent.id)
        .where(AgencyUpdate.api_key_id == api_key_id, AgencyUpdate.update_id == update_id)
    ).first()
    if row is None:
        return None
    number, status, created_at, event = row
    return number, status, created_at, event


def photo_in_scope(*, session: Session, scope: Scope, name: str) -> bool:
    """True when the photo belongs to a ticket in scope, as the citizen's photo, as one
    attached to an event (a rectification) or as one the citizen added later."""
    direct = select(Ticket.id).where(Ticket.photo == name, *scope)
    via_event = (
        select(Ticket.id)
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .join(EventPhoto, EventPhoto.event_id == TicketEvent.id)
        .where(EventPhoto.photo == name, *scope)
    )
    added = (
        select(Ticket.id)
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .where(TicketEvent.photo == name, *scope)
    )
    return session.execute(union(direct, via_event, added).limit(1)).first() is not None


def event_photos(*, session: Session, ticket_id: int) -> dict[int, str]:
    """event id -> photo, for the ticket's events that have one (the agency's, or the
    one a citizen added)."""
    rows = session.execute(
        select(EventPhoto.event_id, EventPhoto.photo)
        .join(TicketEvent, TicketEvent.id == EventPhoto.event_id)
        .where(TicketEvent.ticket_id == ticket_id)
    )
    added = session.execute(
        select(TicketEvent.id, TicketEvent.photo).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.photo.is_not(None)
        )
    )
    return {event_id: str(photo) for event_id, photo in [*rows, *added]}


def ticket_satisfaction(
    *, session: Session, agency: str | None, counted: Collection[str]
) -> list[dict[str, object]]:
    """Per agency: reporters' satisfaction ratings at the `counted` assurance levels
    (number and Hangzhou-scale counts) and the number of ratings at every level."""
    query = (
        select(Ticket.agency, Ticket.satisfaction_assurance, Ticket.satisfaction, func.count())
        .where(Ticket.satisfaction.is_not(None), Ticket.agency.is_not(None))
        .group_by(Ticket.agency, Ticket.satisfaction_assurance, Ticket.satisfaction)
        .order_by(Ticket.agency)
    )
    if agency is not None:
        query = query.where(Ticket.agency == agency)
    summary: dict[str, dict[str, object]] = {}
    for code, level, satisfaction, count in session.execute(query):
        level = level or "anonymous"
        entry = summary.setdefault(
            str(code), {"agency": code, "rated": 0, "hangzhou": {}, "levels": {}}
        )
        levels = entry["levels"]
        levels[level] = levels.get(level, 0) + count  # type: ignore[union-attr,index,attr-defined]
        if level in counted:
            entry["rated"] = int(entry["rated"]) + count  # type: ignore[call-overload]
            scale = entry["hangzhou"]
            scale[satisfaction] = scale.get(satisfaction, 0) + count  # type: ignore[union-attr,index,attr-defined]
    return list(summary.values())
