"""The agency desk's actions and inbox, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.errors import AccessDenied, IllegalTransition, InvalidInput, NotFound
from civic.routing import RoutingDecision
from civic.tickets import (
    accept,
    add_progress,
    close,
    create_ticket,
    get_ticket,
    list_inbox,
    rectify,
    reopen,
    reroute,
)
from storage.models import AgencyUser, ApiKey, EventPhoto, Ticket, utcnow

AGENCIES = {"urban-management", "water", "construction"}
NOW = utcnow()


def _viewer(
    session: Session, name: str, agency: str | None, districts: str | None = None
) -> AgencyUser:
    # The password hash plays no part here; the desk only looks at agency and districts.
    user = AgencyUser(
        username=name,
        password_hash="-",
        display_name=name,
        agency=agency,
        role="staff" if agency is None else "officer",
        districts=districts,
    )
    session.add(user)
    session.flush()
    return user


def _ticket(
    session: Session,
    agency: str | None = "urban-management",
    district: str | None = "binjiang",
    category: str = "street-light",
    due_in: timedelta | None = timedelta(hours=72),
) -> Ticket:
    ticket = create_ticket(
        session=session,
        citizen_id=None,
        description="路灯坏了",
        language="zh",
        decision=RoutingDecision(
            category=category, agency=agency, district=district, confidence=0.9
        ),
        ticket_prefix="HZ",
        due_at=NOW + due_in if due_in is not None else None,
    )
    session.commit()
    return ticket


def _history(ticket: Ticket) -> list[tuple[str | None, str, str, str | None, bool]]:
    return [(e.from_status, e.to_status, e.actor, e.note, e.public) for e in ticket.events[2:]]


def test_an_officer_works_a_ticket_to_the_end(session: Session) -> None:
    officer = _viewer(session, "li", "urban-management")
    ticket = _ticket(session)
    accept(session=session, viewer=officer, ticket=ticket)
    add_progress(session=session, viewer=officer, ticket=ticket, note=None)
    add_progress(session=session, viewer=officer, ticket=ticket, note="crew booked", public=False)
    event = rectify(
        session=session, viewer=officer, ticket=ticket, note=" lamps replaced ", photo="file-7"
    )
    close(session=session, viewer=officer, ticket=ticket)
    session.commit()
    assert ticket.status == "closed"
    assert _history(ticket) == [
        ("routed", "accepted", "user:li", None, True),
        ("accepted", "in_progress", "user:li", None, True),
        ("in_progress", "in_progress", "user:li", "crew booked", False),
        ("in_progress", "rectified", "user:li", "lamps replaced", True),
        ("rectified", "closed", "user:li", None, True),
    ]
    photo = session.scalars(select(EventPhoto.photo).where(EventPhoto.event_id == event.id))
    assert photo.all() == ["file-7"]


def test_other_agencies_and_districts_may_not_act(session: Session) -> None:
    ticket = _ticket(session)
    water = _viewer(session, "water-officer", "water")
    elsewhere = _viewer(session, "xihu-officer", "urban-management", districts="xihu")
    for viewer in (water, elsewhere):
        with pytest.raises(AccessDenied) as info:
            accept(session=session, viewer=viewer, ticket=ticket)
        assert str(info.value) == f"not allowed to act on ticket {ticket.number}"
    assert (ticket.status, len(ticket.events)) == ("routed", 2)


def test_an_api_key_acts_only_with_write_permission(session: Session) -> None:
    ticket = _ticket(session)
    reader = ApiKey(name="reader", key_hash="a" * 64, agency="urban-management", can_write=False)
    writer = ApiKey(name="writer", key_hash="b" * 64, agency="urban-management", can_write=True)
    session.add_all([reader, writer])
    with pytest.raises(AccessDenied):
        accept(session=session, viewer=reader, ticket=ticket)
    event = accept(session=session, viewer=writer, ticket=ticket)
    assert (event.to_status, event.actor) == ("accepted", "apikey:writer")


def test_notes_are_required_where_they_carry_the_news(session: Session) -> None:
    officer = _viewer(session, "li", "urban-management")
    ticket = _ticket(session)
    accept(session=session, viewer=officer, ticket=ticket)
    add_progress(session=session, viewer=officer, ticket=ticket, note="started")
    with pytest.raises(InvalidInput) as progress:
        add_progress(session=session, viewer=officer, ticket=ticket, note="  ")
    with pytest.raises(InvalidInput) as fixed:
        rectify(session=session, viewer=officer, ticket=ticket, note="")
    with pytest.raises(InvalidInput) as long_note:
        rectify(session=session, viewer=officer, ticket=ticket, note="x" * 4001)
    assert [str(progress.value), str(fixed.value), str(long_note.value)] == [
        "a progress note is required",
        "a note on what was done is required",
        "a note on what was done may be at most 4000 characters",
    ]
    assert ticket.status == "in_progress"


def test_illegal_moves_raise_and_change_nothing(session: Session) -> None:
    officer = _viewer(session, "li", "urban-management")
    ticket = _ticket(session)
    with pytest.raises(IllegalTransition) as info:
        close(session=session, viewer=officer, ticket=ticket)
    assert str(info.value) == "a ticket cannot go from 'routed' to 'closed'"
    assert (ticket.status, len(ticket.events)) == ("routed", 2)


def test_back_to_triage_then_routed_by_staff(session: Session) -> None:
    officer = _viewer(session, "li", "urban-management")
    staff = _viewer(session, "wang", None)
    ticket = _ticket(session)
    reroute(
        session=session,
        viewer=officer,
        ticket=ticket,
        to_agency=None,
        reason="a water main, not a lamp",
        known_agencies=AGENCIES,
    )
    assert (ticket.status, ticket.agency) == ("rerouted", None)
    with pytest.raises(AccessDenied):
        accept(session=session, viewer=officer, ticket=ticket)
    with pytest.raises(IllegalTransition) as info:
        accept(session=session, viewer=staff, ticket=ticket)
    assert str(info.value) == "a ticket waiting for triage must be routed to an agency first"
    reroute(
        session=session,
        viewer=staff,
        ticket=ticket,
        to_agency="water",
        reason="burst pipe",
        known_agencies=AGENCIES,
    )
    session.commit()
    assert (ticket.status, ticket.agency) == ("routed", "water")
    assert _history(ticket) == [
        ("routed", "rerouted", "user:li", "a water main, not a lamp", True),
        ("rerouted", "routed", "user:wang", "burst pipe", True),
    ]


def test_reroute_straight_to_another_agency(session: Session) -> None:
    officer = _viewer(session, "li", "urban-management")
    ticket = _ticket(session)
    accept(session=session, viewer=officer, ticket=ticket)
    last = reroute(
        session=session,
        viewer=officer,
        ticket=ticket,
        to_agency="construction",
        reason="road works",
        known_agencies=AGENCIES,
        public=False,
    )
    assert (ticket.status, ticket.agency, last.to_status) == ("routed", "construction", "routed")
    assert _history(ticket)[1:] == [
        ("accepted", "rerouted", "user:li", "road works", False),
        ("rerouted", "routed", "user:li", None, False),
    ]


def test_reroute_checks_its_arguments(session: Session) -> None:
    staff = _viewer(session, "wang", None)
    triage = _ticket(session, agency=None)
    routed = _ticket(session)
    cases = [
        (triage, "fire", "because", InvalidInput, "unknown agency 'fire'"),
        (triage, None, "because", IllegalTransition, "the ticket is already waiting for triage"),
        (
            routed,
            "urban-management",
            "x",
            InvalidInput,
            "the ticket is already with 'urban-management'",
        ),
        (routed, "water", " ", InvalidInput, "a reason is required"),
    ]
    for ticket, to_agency, reason, error, message in cases:
        with pytest.raises(error) as info:
            reroute(
                session=session,
                viewer=staff,
                ticket=ticket,
                to_agency=to_agency,
                reason=reason,
                known_agencies=AGENCIES,
            )
        assert str(info.value) == message


def test_reopen_needs_a_reason(session: Session) -> None:
    officer = _viewer(session, "li", "urban-management")
    ticket = _ticket(session)
    accept(session=session, viewer=officer, ticket=ticket)
    rectify(session=session, viewer=officer, ticket=ticket, note="fixed")
    with pytest.raises(InvalidInput):
        reopen(session=session, viewer=officer, ticket=ticket, reason="")
    reopen(session=session, viewer=officer, ticket=ticket, reason="still dark")
    assert (ticket.status, ticket.events[-1].note) == ("reopened", "still dark")


def test_get_ticket_tells_missing_from_forbidden(session: Session) -> None:
    ticket = _ticket(session)
    water = _viewer(session, "w", "water")
    staff = _viewer(session, "s", None)
    assert get_ticket(session=session, viewer=staff, number=ticket.number or "") == ticket
    with pytest.raises(AccessDenied):
        get_ticket(session=session, viewer=water, number=ticket.number or "")
    with pytest.raises(NotFound) as info:
        get_ticket(session=session, viewer=staff, number="HZ-1999-000001")
    assert str(info.value) == "no ticket numbered HZ-1999-000001"


def _numbers(tickets: list[Ticket]) -> list[str | None]:
    return [t.number for t in tickets]


def test_the_inbox_shows_what_the_viewer_may_see_most_urgent_first(session: Session) -> None:
    staff = _viewer(session, "s", None)
    officer = _viewer(session, "li", "urban-management")
    local = _viewer(session, "xi", "urban-management", districts="xihu")
    later = _ticket(session, due_in=timedelta(hours=72))
    sooner = _ticket(session, district="xihu", due_in=timedelta(hours=2))
    undated = _ticket(session, due_in=None)
    water = _ticket(session, agency="water", category="water-outage")
    triage = _ticket(session, agency=None, category="other", due_in=timedelta(hours=1))
    done = _ticket(session)
    accept(session=session, viewer=officer, ticket=done)
    rectify(session=session, viewer=officer, ticket=done, note="fixed")
    close(session=session, viewer=officer, ticket=done)
    session.commit()
    assert _numbers(list_inbox(session=session, viewer=officer)) == _numbers(
        [sooner, later, undated]
    )
    assert _numbers(list_inbox(session=session, viewer=local)) == _numbers([sooner])
    assert _numbers(list_inbox(session=session, viewer=staff)) == _numbers(
        [triage, sooner, later, water, undated]
    )
    assert _numbers(list_inbox(session=session, viewer=officer, status="closed")) == _numbers(
        [done]
    )
    assert _numbers(list_inbox(session=session, viewer=staff, category="other")) == _numbers(
        [triage]
    )
    assert _numbers(list_inbox(session=session, viewer=staff, district="xihu")) == _numbers(
        [sooner]
    )
    assert _numbers(list_inbox(session=session, viewer=officer, limit=1, offset=1)) == _numbers(
        [later]
    )


def test_the_inbox_finds_overdue_tickets(session: Session) -> None:
    officer = _viewer(session, "li", "urban-management")
    late = _ticket(session, due_in=timedelta(hours=1))
    fixed_late = _ticket(session, due_in=timedelta(hours=1))
    on_time = _ticket(session, due_in=timedelta(hours=72))
    undated = _ticket(session, due_in=None)
    accept(session=session, viewer=officer, ticket=fixed_late)
    rectify(session=session, viewer=officer, ticket=fixed_late, note="done")
    session.commit()
    in_two_hours: datetime = NOW + timedelta(hours=2)
    overdue = list_inbox(session=session, viewer=officer, overdue=True, now=in_two_hours)
    in_time = list_inbox(session=session, viewer=officer, overdue=False, now=in_two_hours)
    assert _numbers(overdue) == _numbers([late])
    assert _numbers(in_time) == _numbers([fixed_late, on_time, undated])


def test_the_inbox_rejects_bad_filters(session: Session) -> None:
    officer = _viewer(session, "li", "urban-management")
    with pytest.raises(InvalidInput) as status:
        list_inbox(session=session, viewer=officer, status="lost")
    with pytest.raises(InvalidInput) as limit:
        list_inbox(session=session, viewer=officer, limit=0)
    assert [str(status.value), str(limit.value)] == [
        "unknown status 'lost'",
        "limit must be 1 to 200 and offset not negative",
    ]
