"""The sample frame: mobile numbers, subscriptions, opt-out and eligibility, on SQLite and
PostgreSQL (the registry import: test_registry.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.campaigns import (
    eligible_members,
    import_households,
    member_for_citizen,
    normalise_mobile,
    opt_out,
    subscribe,
)
from storage.citizens import get_or_create_citizen
from storage.models import FrameMember

DISTRICTS = {"xihu", "binjiang", "chunan"}
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GOOD = (
    "id,district,age_band,gender,mobile,email,postal_address\n"
    "H1,xihu,30-44,f,13800138000,,\n"
    "H2,binjiang,60+,m,,li@example.cn,\n"
    'H3,chunan,18-29,,+86 139-0013-9000,,"千岛湖镇 1 号"\n'
)


def members(session: Session) -> dict[str, FrameMember]:
    return {m.external_id or "": m for m in session.scalars(select(FrameMember))}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13800138000", "+8613800138000"),
        ("+8613800138000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("12800138000", None),
        ("1380013800", None),
        ("+4479460000000", None),
        ("+86", None),
        ("0571-87001234", None),
    ],
)
def test_mobile_numbers_are_normalised_to_e164(text: str, expected: str | None) -> None:
    assert normalise_mobile(text) == expected


def test_subscribe_and_opt_out(session: Session) -> None:
    citizen = get_or_create_citizen(session=session, channel="telegram", address="1001")
    member = subscribe(
        session=session, citizen_id=citizen.id, district="xihu", strata={"age_band": "60+"}, now=NOW
    )
    session.commit()
    assert member_for_citizen(session=session, citizen_id=citizen.id) == member
    assert (member.kind, member.district, json.loads(member.strata)) == (
        "subscriber",
        "xihu",
        {"age_band": "60+"},
    )
    assert member.consent_at == NOW
    opt_out(session=session, member=member, now=NOW + timedelta(days=1))
    session.commit()
    assert eligible_members(session=session, population={}, quiet_since=NOW) == []
    again = subscribe(
        session=session, citizen_id=citizen.id, district="binjiang", strata={}, now=NOW
    )
    session.commit()
    assert (again.id, again.opted_out_at, again.district) == (member.id, None, "binjiang")
    assert member_for_citizen(session=session, citizen_id=citizen.id + 1) is None


def test_eligible_members_excludes_opted_out_and_recently_sampled(session: Session) -> None:
    import_households(session=session, csv_text=GOOD, profile_districts=DISTRICTS)
    session.commit()
    stored = members(session)
    opt_out(session=session, member=stored["H2"], now=NOW)
    stored["H3"].last_sampled_at = NOW - timedelta(days=30)
    session.commit()
    quiet_since = NOW - timedelta(days=90)
    eligible = eligible_members(session=session, population={}, quiet_since=quiet_since)
    assert eligible == [
        (stored["H1"].id, {"age_band": "30-44", "gender": "f", "district": "xihu"}),
    ]
    # Sampled before the quiet period began: eligible again.
    later = eligible_members(session=session, population={}, quiet_since=NOW - timedelta(days=7))
    assert [member_id for member_id, _ in later] == [stored["H1"].id, stored["H3"].id]


def test_eligible_members_filters_on_district_and_strata(session: Session) -> None:
    import_households(session=session, csv_text=GOOD, profile_districts=DISTRICTS)
    session.commit()
    stored = members(session)
    since = NOW

    def ids(population: dict[str, list[str]]) -> list[int]:
        found = eligible_members(session=session, population=population, quiet_since=since)
        return [member_id for member_id, _ in found]

    assert ids({"district": ["xihu", "chunan"]}) == [stored["H1"].id, stored["H3"].id]
    assert ids({"age_band": ["60+", "18-29"]}) == [stored["H2"].id, stored["H3"].id]
    assert ids({"district": ["chunan"], "gender": ["f"]}) == []
    assert ids({}) == [stored["H1"].id, stored["H2"].id, stored["H3"].id]
