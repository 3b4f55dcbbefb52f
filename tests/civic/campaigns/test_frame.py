"""The sample frame: registry import, subscriptions, opt-out and eligibility, on SQLite and
PostgreSQL."""

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


def test_import_adds_households_with_their_strata(session: Session) -> None:
    report = import_households(session=session, csv_text=GOOD, profile_districts=DISTRICTS)
    session.commit()
    assert (report.added, report.updated, report.errors) == (3, 0, [])
    stored = members(session)
    assert sorted(stored) == ["H1", "H2", "H3"]
    h1, h3 = stored["H1"], stored["H3"]
    assert (h1.kind, h1.district, h1.mobile, h1.email) == (
        "household",
        "xihu",
        "+8613800138000",
        None,
    )
    assert json.loads(h1.strata) == {"age_band": "30-44", "gender": "f"}
    assert json.loads(h3.strata) == {"age_band": "18-29"}
    assert (h3.mobile, h3.postal_address) == ("+8613900139000", "千岛湖镇 1 号")


def test_reimport_updates_and_is_idempotent(session: Session) -> None:
    import_households(session=session, csv_text=GOOD, profile_districts=DISTRICTS)
    session.commit()
    h1 = members(session)["H1"]
    opt_out(session=session, member=h1, now=NOW)
    session.commit()
    again = import_households(session=session, csv_text=GOOD, profile_districts=DISTRICTS)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    moved = GOOD.replace("H1,xihu,30-44", "H1,binjiang,45-59") + "H4,xihu,,,,h4@example.cn,\n"
    report = import_households(session=session, csv_text=moved, profile_districts=DISTRICTS)
    session.commit()
    assert (report.added, report.updated, report.unchanged) == (1, 1, 2)
    stored = members(session)
    assert len(stored) == 4
    assert (stored["H1"].district, json.loads(stored["H1"].strata)["age_band"]) == (
        "binjiang",
        "45-59",
    )
    # The registry does not undo an opt-out.
    assert stored["H1"].opted_out_at is not None


def test_one_bad_row_writes_nothing_and_every_error_is_listed(session: Session) -> None:
    text = (
        "id,district,age_band,mobile,email,postal_address\n"
        "H1,xihu,30-44,13800138000,,\n"
        "H2,nowhere,60+,12345,,\n"
        ",xihu,60+,,bad@address,\n"
        "H4,binjiang,,,,\n"
        "H1,chunan,18-29,,,Road 1\n"
        "H6,xihu,a|b,,,Road 2\n"
    )
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert (report.added, report.updated) == (0, 0)
    assert [str(error) for error in report.errors] == [
        "line 3: district is not a known district code",
        "line 3: mobile is not a valid mobile number",
        "line 4: id is required",
        "line 4: email is not a valid e-mail address",
        "line 5: needs a mobile, email or postal_address",
        "line 6: id repeats the id on line 2",
        "line 7: age_band must not contain '|' or '='",
    ]
    assert session.scalars(select(FrameMember)).all() == []


def test_errors_never_quote_personal_data(session: Session) -> None:
    text = (
        "id,district,mobile,email,postal_address\n"
        "H1,xihu,1380013800,zhang.san@example,西湖区文三路 90 号\n"
        "H2,13912345678,+8613912345678,,\n"
    )
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    written = " ".join(str(error) for error in report.errors)
    assert written == (
        "line 2: mobile is not a valid mobile number "
        "line 2: email is not a valid e-mail address "
        "line 3: district is not a known district code"
    )
    for personal in ("1380013800", "zhang.san", "文三路", "13912345678"):
        assert personal not in written


def test_line_numbers_count_quoted_line_breaks_and_blank_lines(session: Session) -> None:
    text = 'id,district,postal_address\nH1,xihu,"Line one\nLine two"\n\nH2,somewhere,Road 3\n'
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert [str(error) for error in report.errors] == [
        "line 5: district is not a known district code"
    ]


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("", ["line 1: is empty: a header line is required"]),
        (
            "district,email\nxihu,a@b.cn\n",
            ["line 1: id is required"],
        ),
        (
            "id,district,age_band\nH1,xihu,60+\n",
            ["line 1: needs a mobile, email or postal_address column"],
        ),
        (
            "id,district,email,Age Band,email\n",
            [
                "line 1: column 4 name must be lower-case letters, digits, _",
                "line 1: email appears twice",
            ],
        ),
    ],
)
def test_header_problems_are_reported(session: Session, text: str, errors: list[str]) -> None:
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert [str(error) for error in report.errors] == errors


def test_a_row_with_the_wrong_number_of_cells_is_an_error(session: Session) -> None:
    text = "id,district,email\nH1,xihu\n"
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert [str(error) for error in report.errors] == ["line 2: has 2 cells, the header 3"]


def test_unreadable_csv_is_reported_without_its_content(session: Session) -> None:
    # An unclosed quote swallows the rest of the file into one over-long cell.
    text = 'id,district,email\nH1,xihu,a@example.cn\nH2,xihu,"' + "13800138000 " * 20_000
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert [str(error) for error in report.errors] == ["line 3: is not valid CSV (read no further)"]
    assert session.scalars(select(FrameMember)).all() == []


def test_byte_order_mark_and_header_case_are_tolerated(session: Session) -> None:
    text = "\ufeffID,District,Email\nH1,xihu,a@example.cn\n"
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert (report.added, report.errors) == (1, [])


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
