"""Desk users, sessions, API keys and who sees which ticket, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.agencies import (
    api_key_for,
    authenticate,
    can_access,
    can_act,
    create_api_key,
    create_user,
    disable_user,
    end_session,
    is_hotline,
    is_office,
    revoke_api_key,
    set_channel,
    start_session,
    user_for_session,
)
from civic.errors import InvalidInput
from storage.models import AgencyUser, ApiKey, StaffSession, Ticket, utcnow

AGENCIES = {"urban-management", "water"}
DISTRICTS = {"binjiang", "xihu", "shangcheng"}
PASSWORD = "correct horse battery"


def _user(
    session: Session,
    username: str = "li.wei",
    agency: str | None = "urban-management",
    role: str = "officer",
    districts: list[str] | None = None,
) -> AgencyUser:
    return create_user(
        session=session,
        username=username,
        password=PASSWORD,
        agency=agency,
        role=role,
        display_name="Li Wei",
        known_agencies=AGENCIES,
        districts=districts,
        known_districts=DISTRICTS,
    )


def test_a_user_logs_in_with_the_right_password_only(session: Session) -> None:
    user = _user(session, districts=["xihu", "binjiang", ""])
    session.commit()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert (user.agency, user.role, user.districts) == (
        "urban-management",
        "officer",
        "binjiang,xihu",
    )
    assert authenticate(session=session, username="li.wei", password=PASSWORD) == user
    assert authenticate(session=session, username=" li.wei ", password=PASSWORD) == user
    assert authenticate(session=session, username="li.wei", password="wrong password") is None
    assert authenticate(session=session, username="nobody", password=PASSWORD) is None


NEEDS_AGENCY = (
    "staff and hotline operators have no agency; officers, supervisors and coordinators need one"
)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"role": "boss"}, "role must be one of officer, supervisor, staff, coordinator, hotline"),
        ({"role": "staff"}, NEEDS_AGENCY),
        ({"role": "hotline"}, NEEDS_AGENCY),
        ({"agency": None}, NEEDS_AGENCY),
        ({"role": "coordinator", "agency": None}, NEEDS_AGENCY),
        ({"agency": "fire"}, "unknown agency 'fire'"),
        ({"password": "short"}, "a password needs at least 10 characters"),
        ({"username": "has space"}, "a username is 1-48 letters, digits, '.', '_' or '-'"),
        ({"districts": ["atlantis"]}, "unknown district 'atlantis'"),
    ],
)
def test_create_user_rejects_bad_values(
    session: Session, changes: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {
        "username": "li.wei",
        "password": PASSWORD,
        "agency": "urban-management",
        "role": "officer",
        "display_name": "",
        "known_agencies": AGENCIES,
        "known_districts": DISTRICTS,
    }
    with pytest.raises(InvalidInput) as info:
        create_user(session=session, **{**values, **changes})  # type: ignore[arg-type]
    assert str(info.value) == message
    assert session.scalars(select(AgencyUser)).all() == []


def test_an_agency_has_coordinators_for_its_own_figures(session: Session) -> None:
    user = _user(session, username="wang.coord", agency="water", role="coordinator")
    assert (user.agency, user.role) == ("water", "coordinator")


def test_usernames_are_unique(session: Session) -> None:
    _user(session)
    with pytest.raises(InvalidInput) as info:
        _user(session, agency="water")
    assert str(info.value) == "the username 'li.wei' is taken"


def test_staff_belong_to_no_agency(session: Session) -> None:
    staff = _user(session, username="wang", agency=None, role="staff")
    assert (staff.agency, staff.role, staff.display_name) == (None, "staff", "Li Wei")


def test_an_outdated_hash_is_upgraded_on_login(session: Session) -> None:
    user = _user(session)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    user.password_hash = weak
    session.commit()
    assert authenticate(session=session, username="li.wei", password=PASSWORD) == user
    assert user.password_hash != weak
    assert PasswordHasher().check_needs_rehash(user.password_hash) is False
    assert authenticate(session=session, username="li.wei", password=PASSWORD) == user


def test_a_session_token_logs_in_until_it_expires_or_ends(session: Session) -> None:
    user = _user(session)
    token = start_session(session=session, user=user)
    session.commit()
    stored = session.scalars(select(StaffSession.token_hash)).one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert user_for_session(session=session, token=token) == user
    assert user_for_session(session=session, token=token + "x") is None
    assert user_for_session(session=session, token="") is None
    later = utcnow() + timedelta(hours=8, minutes=1)
    assert user_for_session(session=session, token=token, now=later) is None
    end_session(session=session, token=token)
    session.commit()
    assert user_for_session(session=session, token=token) is None


def test_an_expired_session_is_refused(session: Session) -> None:
    user = _user(session)
    token = start_session(session=session, user=user, ttl=timedelta(seconds=-1))
    session.commit()
    assert user_for_session(session=session, token=token) is None


def test_a_disabled_user_can_neither_log_in_nor_keep_a_session(session: Session) -> None:
    user = _user(session)
    token = start_session(session=session, user=user)
    disable_user(session=session, user=user)
    session.commit()
    assert authenticate(session=session, username="li.wei", password=PASSWORD) is None
    assert user_for_session(session=session, token=token) is None


def test_an_api_key_is_found_by_its_hash_until_revoked(session: Session) -> None:
    key, raw = create_api_key(
        session=session, name="um-system", agency="urban-management", can_write=True
    )
    session.commit()
    assert len(raw) >= 40
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {key.key_hash, key.name}
    assert api_key_for(session=session, raw=raw) == key
    assert api_key_for(session=session, raw="not-a-key") is None
    assert api_key_for(session=session, raw="") is None
    revoke_api_key(session=session, key=key)
    session.commit()
    assert api_key_for(session=session, raw=raw) is None


def test_api_key_agency_is_checked(session: Session) -> None:
    with pytest.raises(InvalidInput) as info:
        create_api_key(
            session=session, name="x", agency="fire", can_write=False, known_agencies=AGENCIES
        )
    assert str(info.value) == "unknown agency 'fire'"


def test_a_channel_is_created_then_updated(session: Session) -> None:
    set_channel(session=session, agency="water", known_agencies=AGENCIES, telegram_chat_id="-100")
    channel = set_channel(
        session=session,
        agency="water",
        known_agencies=AGENCIES,
        webhook_url="https://water.example/hook",
        webhook_secret="s3cret",
    )
    session.commit()
    assert (channel.telegram_chat_id, channel.webhook_url, channel.webhook_secret) == (
        "-100",
        "https://water.example/hook",
        "s3cret",
    )
    with pytest.raises(InvalidInput) as info:
        set_channel(
            session=session, agency="urban-management", known_agencies=AGENCIES, webhook_url="x"
        )
    assert str(info.value) == "the webhook URL must start with http:// or https://"


def _ticket(agency: str | None, district: str | None) -> Ticket:
    return Ticket(agency=agency, district=district, status="routed", category="street-light")


def test_who_may_see_which_ticket() -> None:
    staff = AgencyUser(agency=None, role="staff")
    officer = AgencyUser(agency="urban-management", role="officer")
    local = AgencyUser(agency="urban-management", role="officer", districts="binjiang,xihu")
    gone = AgencyUser(agency="urban-management", role="officer", disabled_at=utcnow())
    tickets = {
        "um-binjiang": _ticket("urban-management", "binjiang"),
        "um-shangcheng": _ticket("urban-management", "shangcheng"),
        "water": _ticket("water", "binjiang"),
        "triage": _ticket(None, None),
    }
    seen = {
        name: sorted(t for t, ticket in tickets.items() if can_access(viewer, ticket))
        for name, viewer in {
            "staff": staff,
            "officer": officer,
            "local": local,
            "gone": gone,
        }.items()
    }
    assert seen == {
        "staff": ["triage", "um-binjiang", "um-shangcheng", "water"],
        "officer": ["um-binjiang", "um-shangcheng"],
        "local": ["um-binjiang"],
        "gone": [],
    }


def test_a_hotline_operator_sees_only_what_they_filed_and_works_none_of_it(
    session: Session,
) -> None:
    operator = _user(session, username="zhao", agency=None, role="hotline")
    colleague = _user(session, username="qian", agency=None, role="hotline")
    theirs, other = _ticket("water", "xihu"), _ticket("water", "xihu")
    citizens = _ticket(None, None)
    theirs.filed_by_user_id, other.filed_by_user_id = operator.id, colleague.id
    assert [can_access(operator, t) for t in (theirs, other, citizens)] == [True, False, False]
    assert [can_act(operator, t) for t in (theirs, other, citizens)] == [False, False, False]
    assert (is_hotline(operator), is_office(operator)) == (True, False)
    staff = _user(session, username="office", agency=None, role="staff")
    assert (is_hotline(staff), is_office(staff), can_act(staff, theirs)) == (False, True, True)


def test_keys_see_their_agency_and_write_only_when_allowed() -> None:
    reader = ApiKey(name="r", agency="water", can_write=False)
    writer = ApiKey(name="w", agency="water", can_write=True)
    everything = ApiKey(name="all", agency=None, can_write=False)
    revoked = ApiKey(name="old", agency="water", can_write=True, revoked_at=utcnow())
    water, other = _ticket("water", "xihu"), _ticket("urban-management", "xihu")
    assert [can_access(k, water) for k in (reader, writer, everything, revoked)] == [
        True,
        True,
        True,
        False,
    ]
    assert [can_access(k, other) for k in (reader, writer, everything)] == [False, False, True]
    assert [can_act(k, water) for k in (reader, writer, everything, revoked)] == [
        False,
        True,
        False,
        False,
    ]
