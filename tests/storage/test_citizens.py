"""Citizens and their channel addresses, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.citizens import (
    addresses_of,
    get_citizen,
    get_or_create_citizen,
    last_message_at,
    mark_unreachable,
    note_message,
)
from storage.models import Citizen


def test_same_address_gives_the_same_citizen(session: Session) -> None:
    first = get_or_create_citizen(session=session, channel="telegram", address="1001")
    session.commit()
    again = get_or_create_citizen(session=session, channel="telegram", address="1001")
    assert again.id == first.id
    assert session.scalars(select(Citizen)).all() == [first]


def test_another_address_gives_another_citizen(session: Session) -> None:
    first = get_or_create_citizen(session=session, channel="telegram", address="1001")
    other = get_or_create_citizen(session=session, channel="telegram", address="1002")
    web = get_or_create_citizen(session=session, channel="web", address="1001")
    assert len({first.id, other.id, web.id}) == 3


def test_public_id_is_a_pseudonym(session: Session) -> None:
    citizen = get_or_create_citizen(session=session, channel="telegram", address="555000111")
    assert re.fullmatch(r"[0-9a-f]{24}", citizen.public_id) is not None
    assert "555000111" not in citizen.public_id
    assert get_citizen(session=session, public_id=citizen.public_id) == citizen


def test_rolled_back_citizen_is_not_stored(session: Session) -> None:
    get_or_create_citizen(session=session, channel="telegram", address="1001")
    session.rollback()
    assert session.scalars(select(Citizen)).all() == []


def test_language_is_set_on_first_contact_only(session: Session) -> None:
    citizen = get_or_create_citizen(session=session, channel="web", address="s1", language="en")
    again = get_or_create_citizen(session=session, channel="web", address="s1", language="zh")
    default = get_or_create_citizen(session=session, channel="web", address="s2")
    assert (citizen.language, again.language, default.language) == ("en", "en", "zh")


def test_mark_unreachable(session: Session) -> None:
    citizen = get_or_create_citizen(session=session, channel="telegram", address="1001")
    mark_unreachable(session=session, channel="telegram", address="1001")
    session.commit()
    [address] = addresses_of(session=session, citizen_id=citizen.id)
    assert address.unreachable_at is not None


def test_a_message_is_noted_and_makes_the_address_reachable_again(session: Session) -> None:
    first = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    citizen = note_message(session=session, channel="wechat", address="oA1", at=first)
    session.commit()
    assert last_message_at(session=session, channel="wechat", address="oA1") == first
    mark_unreachable(session=session, channel="wechat", address="oA1")
    later = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    again = note_message(session=session, channel="wechat", address="oA1", at=later)
    session.commit()
    assert again.id == citizen.id
    [address] = addresses_of(session=session, citizen_id=citizen.id)
    assert address.unreachable_at is None
    assert last_message_at(session=session, channel="wechat", address="oA1") == later
    assert last_message_at(session=session, channel="wechat", address="oB2") is None
