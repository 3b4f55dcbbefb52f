"""Reading the operator's form and filing a caller's ticket, on SQLite and PostgreSQL: the
ticket goes through the citizen's use case (number, routing event, duty message, deadline),
carries the operator who filed it and the agency they chose, and the caller is a citizen
reached by SMS at the number given, who hears of the agency's work."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.agencies import _service as agencies
from civic.agencies import create_user, set_channel
from civic.city import Profile
from civic.errors import AccessDenied, NotFound
from civic.hotline import Call, CallProblems, FiledCall, file_for_caller, filed_call, read_call
from civic.tickets import accept
from storage.models import (
    AgencyUser,
    ChannelAddress,
    Citizen,
    DutyMessage,
    Notification,
    Ticket,
    TicketEvent,
)

FORM = {
    "description": "江南大道的路灯一到晚上就不亮",
    "place": "江南大道 88 号",
    "phone": "138 1234 5678",
    "language": "en",
    "category": "street-light",
    "agency": "construction",
    "district": "binjiang",
    "confidence": "0.8100",
}


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


def _user(
    session: Session, profile: Profile, username: str, agency: str | None, role: str
) -> AgencyUser:
    return create_user(
        session=session,
        username=username,
        password="correct horse battery",
        agency=agency,
        role=role,
        display_name=username.title(),
        known_agencies=set(profile.agencies),
    )


def test_a_complete_form_is_read_with_the_number_in_e164(profile: Profile) -> None:
    assert read_call(profile, FORM) == Call(
        description="江南大道的路灯一到晚上就不亮",
        place="江南大道 88 号",
        phone="+8613812345678",
        language="en",
        category="street-light",
        agency="construction",
        district="binjiang",
        confidence=0.81,
    )
    bare = read_call(profile, FORM | {"phone": "", "agency": "", "district": "", "confidence": "x"})
    assert (bare.phone, bare.agency, bare.district, bare.confidence) == (None, None, None, 0.0)


def test_every_wrong_field_is_named(profile: Profile) -> None:
    wrong = {
        "description": "  ",
        "place": "x" * 301,
        "phone": "12345",
        "language": "fr",
        "category": "ufo-sighting",
        "agency": "ministry-of-magic",
        "district": "atlantis",
    }
    with pytest.raises(CallProblems) as info:
        read_call(profile, wrong)
    assert info.value.problems == {
        "description": "hotline.problem.no_description",
        "place": "hotline.problem.too_long",
        "phone": "hotline.problem.bad_phone",
        "language": "hotline.problem.bad_language",
        "category": "hotline.problem.bad_category",
        "agency": "hotline.problem.bad_agency",
        "district": "hotline.problem.bad_district",
    }


def test_the_ticket_is_the_operators_filing_for_a_caller_reached_by_sms(
    session: Session, profile: Profile
) -> None:
    operator = _user(session, profile, "zhao", None, "hotline")
    set_channel(
        session=session,
        agency="construction",
        known_agencies=set(profile.agencies),
        telegram_chat_id="-100200300",
    )
    filed = file_for_caller(
        session=session, profile=profile, operator=operator, call=read_call(profile, FORM)
    )
    session.commit()

    ticket = session.scalars(select(Ticket)).one()
    assert filed == FiledCall(ticket.number or "", "construction", "+86 138****5678")
    assert ticket.number is not None and ticket.number.startswith(f"{profile.ticket_prefix}-")
    assert (ticket.category, ticket.agency, ticket.district, ticket.status) == (
        "street-light",
        "construction",
        "binjiang",
        "routed",
    )
    assert (ticket.filed_by_user_id, ticket.routed_by, ticket.contact) == (
        operator.id,
        "hotline",
        "phone",
    )
    assert (ticket.address_text, ticket.language) == ("江南大道 88 号", "en")
    assert ticket.due_at is not None
    # the category's 72 hours from filing (the two are taken a few microseconds apart)
    assert round((ticket.due_at - ticket.created_at) / timedelta(hours=1), 3) == 72
    events = session.scalars(select(TicketEvent).order_by(TicketEvent.id)).all()
    assert [(e.actor, e.to_status) for e in events] == [
        ("user:zhao", "submitted"),
        ("router", "routed"),
    ]
    caller = session.get(Citizen, ticket.citizen_id)
    assert caller is not None
    assert (caller.phone, caller.language) == ("+8613812345678", "en")
    assert [(a.channel, a.address) for a in caller.addresses] == [("sms", "+8613812345678")]
    # a number typed by an operator proves nothing of who the caller is: their ratings
    # count only once they prove it (docs/security.md, "Who texts and who calls")
    assert caller.assurance == "anonymous"
    # the agency's duty group hears of it as of any ticket, and the caller not yet
    assert session.scalars(select(DutyMessage.ticket_id)).all() == [ticket.id]
    assert session.scalars(select(Notification)).all() == []


def test_the_agencys_work_is_queued_for_the_caller_in_their_language(
    session: Session, profile: Profile
) -> None:
    operator = _user(session, profile, "zhao", None, "hotline")
    officer = _user(session, profile, "li", "construction", "officer")
    file_for_caller(
        session=session, profile=profile, operator=operator, call=read_call(profile, FORM)
    )
    ticket = session.scalars(select(Ticket)).one()
    accept(session=session, viewer=officer, ticket=ticket, note="Crew on the way")
    session.commit()
    [note] = session.scalars(select(Notification)).all()
    assert (note.citizen_id, note.body_key) == (ticket.citizen_id, "notify.status_changed")
    assert json.loads(note.params)["status"] == "accepted"


def test_the_same_number_calling_again_is_the_same_citizen(
    session: Session, profile: Profile
) -> None:
    operator = _user(session, profile, "zhao", None, "hotline")
    for spelling in ("13812345678", "+86 138-1234-5678"):
        call = read_call(profile, FORM | {"phone": spelling, "language": "zh"})
        file_for_caller(session=session, profile=profile, operator=operator, call=call)
    session.commit()
    owners = session.scalars(select(Ticket.citizen_id)).all()
    assert len(owners) == 2 and owners[0] == owners[1]
    assert session.scalars(select(ChannelAddress.address)).all() == ["+8613812345678"]


def test_without_a_number_there_is_no_citizen_and_no_update(
    session: Session, profile: Profile
) -> None:
    staff = _user(session, profile, "office", None, "staff")
    call = read_call(profile, FORM | {"phone": "", "agency": ""})
    filed = file_for_caller(session=session, profile=profile, operator=staff, call=call)
    session.commit()
    ticket = session.scalars(select(Ticket)).one()
    assert filed == FiledCall(ticket.number or "", None, None)
    assert (ticket.citizen_id, ticket.contact, ticket.status) == (None, "anonymous", "submitted")
    assert session.scalars(select(Citizen)).all() == []
    assert filed_call(session=session, operator=staff, number=filed.number) == filed


def test_only_hotline_operators_and_staff_file(session: Session, profile: Profile) -> None:
    call = read_call(profile, FORM)
    for username, agency, role in [
        ("li", "construction", "officer"),
        ("c", "water", "coordinator"),
    ]:
        user = _user(session, profile, username, agency, role)
        with pytest.raises(AccessDenied):
            file_for_caller(session=session, profile=profile, operator=user, call=call)
    assert session.scalars(select(Ticket)).all() == []


def test_only_the_operator_who_filed_is_shown_the_masked_number(
    session: Session, profile: Profile
) -> None:
    operator = _user(session, profile, "zhao", None, "hotline")
    colleague = _user(session, profile, "qian", None, "hotline")
    staff = _user(session, profile, "office", None, "staff")
    number = file_for_caller(
        session=session, profile=profile, operator=operator, call=read_call(profile, FORM)
    ).number
    session.commit()
    assert filed_call(session=session, operator=operator, number=number).phone == "+86 138****5678"
    for other in (colleague, staff):
        with pytest.raises((NotFound, AccessDenied)):
            filed_call(session=session, operator=other, number=number)
