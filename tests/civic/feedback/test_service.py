"""Recording praise and suggestions against the agency they name: which agency a message
names, what is stored, listing and counting. Storage on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.feedback import (
    agency_by_topic,
    agency_named,
    list_feedback,
    praise_counts,
    record_feedback,
)
from storage.citizens import get_or_create_citizen
from storage.models import Citizen, Feedback

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("城管的同志辛苦了", "urban-management"),
        ("西湖区城管局的同志辛苦了", "urban-management"),
        # "公安" (public security) is inside "公安交警支队": the longest mention wins
        ("感谢公安交警支队的民警", "traffic-police"),
        ("感谢派出所的民警", "public-security"),
        ("Thanks to the City Management Bureau!", "urban-management"),
        ("the traffic police were quick", "traffic-police"),
        ("the police were quick", "public-security"),
        ("Thanks, COPS.", "public-security"),
        # plurals and the usual abbreviation: not the police's "cops" but "traffic cop(s)"
        ("the traffic cops at the school gate are legends", "traffic-police"),
        ("thx water dept, all fixed", "water"),
        # a Chinese name counts where a word begins: "质监" (quality inspection) is not
        # in "水质监测点" (water-quality monitoring points)
        ("建议河边多装几个水质监测点", None),
        ("质监部门来查过了，谢谢", "market-regulation"),
        # an ASCII name matches whole words only: no "cop" in "copper", no "epa" in
        # "separately"
        ("the copper wire was fixed separately", None),
        ("天气真好", None),
        ("", None),
    ],
)
def test_agency_named(profile: Profile, text: str, expected: str | None) -> None:
    assert agency_named(profile, text) == expected


def _citizen(session: Session, address: str, assurance: str) -> Citizen:
    citizen = get_or_create_citizen(session=session, channel="telegram", address=address)
    citizen.assurance = assurance
    session.flush()
    return citizen


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an agency's topics (profiles/hangzhou/agencies.yml)
        ("why not run the metro later on fridays", "transport"),
        ("建议地铁末班车延长到十二点", "transport"),
        ("a countdown at every zebra crossing would help", "traffic-police"),
        ("希望幼儿园多开几个托班", "education"),
        # a complaint kind's keywords
        ("more bins along the canal pls", "urban-management"),
        # whole words only: "bin" is not in "binjiang", "park" not in "parking"
        ("it'd be nice to have more free events in binjiang", None),
        ("free community events would be nice", None),
        # the longest mention wins: a school bus is the schools' business
        ("please add school bus routes for the new estates", "education"),
    ],
)
def test_agency_by_topic(profile: Profile, text: str, expected: str | None) -> None:
    assert agency_by_topic(profile, text) == expected


def test_record_feedback_keeps_the_authors_assurance_and_the_text(session: Session) -> None:
    citizen = _citizen(session, "1001", "verified_phone")
    praise = record_feedback(
        session=session,
        kind="praise",
        citizen=citizen,
        text="  城管队员清理得很干净  ",
        language="zh",
        agency="urban-management",
        district="xihu",
        now=START,
    )
    session.commit()
    stored = session.get(Feedback, praise.id)
    assert stored is not None
    assert (stored.kind, stored.text, stored.agency, stored.district, stored.assurance) == (
        "praise",
        "城管队员清理得很干净",
        "urban-management",
        "xihu",
        "verified_phone",
    )
    assert stored.citizen_id == citizen.id
    assert stored.read_at is None


def test_record_feedback_without_a_citizen_is_anonymous_and_long_text_is_cut(
    session: Session,
) -> None:
    suggestion = record_feedback(
        session=session,
        kind="suggestion",
        citizen=None,
        text="多设几个公交站" * 1000,
        language="zh",
        agency=None,
    )
    assert suggestion.assurance == "anonymous" and suggestion.citizen_id is None
    assert len(suggestion.text) == 4000


def test_record_feedback_refuses_other_kinds(session: Session) -> None:
    with pytest.raises(ValueError, match="complaint"):
        record_feedback(
            session=session, kind="complaint", citizen=None, text="x", language="zh", agency=None
        )


def _add(session: Session, kind: str, agency: str | None, text: str, minutes: int) -> None:
    record_feedback(
        session=session,
        kind=kind,
        citizen=None,
        text=text,
        language="zh",
        agency=agency,
        now=START + timedelta(minutes=minutes),
    )


def test_list_feedback_filters_by_kind_and_agency_newest_first(session: Session) -> None:
    _add(session, "suggestion", "urban-management", "older", 0)
    _add(session, "suggestion", "water", "water's", 1)
    _add(session, "praise", "urban-management", "praise", 2)
    _add(session, "suggestion", None, "unrouted", 3)
    _add(session, "suggestion", "urban-management", "newer", 4)
    session.commit()

    def texts(kind: str, agency: str | None, limit: int = 100) -> list[str]:
        found = list_feedback(session=session, kind=kind, agency=agency, limit=limit)
        return [f.text for f in found]

    assert texts("suggestion", "urban-management") == ["newer", "older"]
    assert texts("suggestion", None) == ["newer", "unrouted", "water's", "older"]
    assert texts("suggestion", None, limit=2) == ["newer", "unrouted"]
    assert texts("praise", "urban-management") == ["praise"]
    assert texts("praise", "water") == []


def test_praise_counts_split_counted_levels_from_all(session: Session) -> None:
    levels = ["verified_phone", "invited", "account", "anonymous", "anonymous"]
    for i, level in enumerate(levels):
        citizen = _citizen(session, f"20{i}", level)
        record_feedback(
            session=session,
            kind="praise",
            citizen=citizen,
            text="谢谢",
            language="zh",
            agency="urban-management",
        )
    _add(session, "praise", "water", "谢谢", 0)  # anonymous
    _add(session, "praise", None, "谢谢大家", 0)  # names no agency: counted nowhere
    _add(session, "suggestion", "water", "建议", 0)  # not praise
    session.commit()
    counts = praise_counts(session=session, counted={"verified_phone", "invited"})
    assert counts == {
        "urban-management": {"counted": 2, "all": 5},
        "water": {"counted": 0, "all": 1},
    }
