"""Figures entered on the desk, on SQLite and PostgreSQL: the second-person approval rule,
who may enter what, the checks on each figure, corrections, withdrawals and the audit
log."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from civic.evaluation import (
    EntryRefused,
    NotPermitted,
    Scheme,
    SecondPersonRequired,
    adjustments,
    approve_adjustment,
    approve_indicator_value,
    audit_trail,
    enter_adjustment,
    enter_indicator_value,
    indicator_entries,
    withdraw_adjustment,
)
from storage.models import AgencyUser, EvaluationAdjustment, IndicatorEntry
from tests.civic.evaluation.fixture_year import fixture_profile, fixture_scheme, user

TASKS = "key_tasks_completion"


@pytest.fixture
def scheme() -> Scheme:
    return fixture_scheme(fixture_profile())


@pytest.fixture
def staff(session: Session) -> tuple[AgencyUser, AgencyUser]:
    return user(session, "zhang", "staff"), user(session, "li", "staff")


@pytest.fixture
def coordinator(session: Session) -> AgencyUser:
    return user(session, "water.coord", "coordinator", "water")


def bonus(
    session: Session, scheme: Scheme, by: AgencyUser, points: float = 1.5
) -> EvaluationAdjustment:
    return enter_adjustment(
        session=session,
        scheme=scheme,
        user=by,
        agency="water",
        kind="bonus",
        item="innovation",
        points=points,
        evidence="smart water meters in 40,000 homes (provincial award)",
    )


def tasks(
    session: Session, scheme: Scheme, by: AgencyUser, value: float, period: str = "2026-03"
) -> IndicatorEntry:
    return enter_indicator_value(
        session=session,
        scheme=scheme,
        user=by,
        agency="water",
        indicator=TASKS,
        period=period,
        value=value,
    )


def test_whoever_entered_points_may_not_approve_them(
    session: Session, scheme: Scheme, staff: tuple[AgencyUser, AgencyUser]
) -> None:
    zhang, li = staff
    row = bonus(session, scheme, zhang)
    with pytest.raises(SecondPersonRequired) as info:
        approve_adjustment(session=session, user=zhang, adjustment=row)
    assert str(info.value) == "Whoever entered a figure may not approve it: a second person must."
    assert info.value.text("zh") == "录入人不能审核自己录入的数据，须由另一人审核。"
    assert (row.approved_by, row.approved_at) == (None, None)
    approve_adjustment(session=session, user=li, adjustment=row)
    assert row.approved_by == "li"
    assert row.approved_at is not None
    with pytest.raises(EntryRefused) as again:
        approve_adjustment(session=session, user=li, adjustment=row)
    assert again.value.key == "already_approved"


def test_an_agencys_value_is_approved_by_the_office_not_by_its_coordinator(
    session: Session,
    scheme: Scheme,
    staff: tuple[AgencyUser, AgencyUser],
    coordinator: AgencyUser,
) -> None:
    zhang, li = staff
    entry = tasks(session, scheme, coordinator, 80)
    with pytest.raises(NotPermitted) as info:
        approve_indicator_value(session=session, user=coordinator, entry=entry)
    assert info.value.key == "office_only"
    # The office's Zhang corrects it: now Zhang entered it, and may not approve it.
    tasks(session, scheme, zhang, 82)
    with pytest.raises(SecondPersonRequired):
        approve_indicator_value(session=session, user=zhang, entry=entry)
    approve_indicator_value(session=session, user=li, entry=entry)
    assert (entry.value, entry.entered_by, entry.approved_by) == (82.0, "zhang", "li")


def test_a_correction_needs_approving_again_and_the_log_keeps_the_old_value(
    session: Session,
    scheme: Scheme,
    staff: tuple[AgencyUser, AgencyUser],
    coordinator: AgencyUser,
) -> None:
    _, li = staff
    entry = tasks(session, scheme, coordinator, 80)
    approve_indicator_value(session=session, user=li, entry=entry)
    corrected = tasks(session, scheme, coordinator, 85)
    assert corrected.id == entry.id
    assert (entry.value, entry.approved_by, entry.approved_at) == (85.0, None, None)
    log = [(row.actor, row.action, json.loads(row.details)) for row in audit_trail(session=session)]
    assert [(actor, action) for actor, action, _ in log] == [
        ("water.coord", "enter"),
        ("li", "approve"),
        ("water.coord", "correct"),
    ]
    assert (log[2][2]["previous"], log[2][2]["value"]) == (80.0, 85.0)
    assert [e.period for e in indicator_entries(session=session, year=2026)] == ["2026-03"]


def test_a_coordinator_enters_only_their_own_agencys_figures(
    session: Session, scheme: Scheme
) -> None:
    other = user(session, "bus.coord", "coordinator", "transport")
    officer = user(session, "water.officer", "officer", "water")
    for who in (other, officer):
        with pytest.raises(NotPermitted) as info:
            tasks(session, scheme, who, 80)
        assert info.value.key == "not_coordinator"
    with pytest.raises(NotPermitted) as points:
        bonus(session, scheme, user(session, "w.coord", "coordinator", "water"))
    assert points.value.key == "office_only"


def test_a_disabled_account_enters_nothing(
    session: Session, scheme: Scheme, staff: tuple[AgencyUser, AgencyUser]
) -> None:
    zhang, _ = staff
    zhang.disabled_at = datetime(2026, 6, 1, tzinfo=UTC)
    with pytest.raises(NotPermitted):
        bonus(session, scheme, zhang)
    with pytest.raises(NotPermitted):
        tasks(session, scheme, zhang, 80)


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"indicator": "speed"}, "unknown_indicator"),
        ({"agency": "fire"}, "unknown_agency"),
        ({"period": "2025-12"}, "bad_period"),
        ({"period": "2026-13"}, "bad_period"),
        ({"value": -1}, "negative"),
        ({"value": float("nan")}, "not_a_number"),
    ],
)
def test_an_indicator_value_is_checked(
    session: Session, scheme: Scheme, staff: tuple[AgencyUser, AgencyUser], values: dict, key: str
) -> None:
    given = {"agency": "water", "indicator": TASKS, "period": "2026-03", "value": 80.0}
    with pytest.raises(EntryRefused) as info:
        enter_indicator_value(session=session, scheme=scheme, user=staff[0], **{**given, **values})
    assert info.value.key == key


@pytest.mark.parametrize(
    ("values", "key", "english"),
    [
        ({"kind": "leaders", "points": 5.5}, "points_range", "The points must be from 0 to 5."),
        (
            {"kind": "bonus", "item": "innovation", "points": 2.5},
            "points_above",
            "The points must be above 0 and at most 2 for this item.",
        ),
        (
            {"kind": "bonus", "item": "accountability", "points": 1},
            "unknown_item",
            "'accountability' is not a bonus item of this year's scheme.",
        ),
        (
            {"kind": "bonus", "item": "innovation", "points": 1, "evidence": "  "},
            "evidence_required",
            "Give the evidence (at most 4000 characters).",
        ),
        (
            {"kind": "prize", "points": 1},
            "unknown_kind",
            "'prize' is not a kind of entry (leaders, bonus or penalty).",
        ),
    ],
)
def test_points_are_checked(
    session: Session,
    scheme: Scheme,
    staff: tuple[AgencyUser, AgencyUser],
    values: dict,
    key: str,
    english: str,
) -> None:
    given = {"agency": "water", "evidence": "the minutes of the leaders' meeting"}
    with pytest.raises(EntryRefused) as info:
        enter_adjustment(session=session, scheme=scheme, user=staff[0], **{**given, **values})
    assert (info.value.key, str(info.value)) == (key, english)
    assert adjustments(session=session, year=2026) == []


def test_one_leaders_score_a_year_until_it_is_withdrawn(
    session: Session, scheme: Scheme, staff: tuple[AgencyUser, AgencyUser]
) -> None:
    zhang, li = staff

    def leaders(points: float) -> EvaluationAdjustment:
        return enter_adjustment(
            session=session,
            scheme=scheme,
            user=zhang,
            agency="water",
            kind="leaders",
            points=points,
            evidence="leaders' evaluation of 20 December",
        )

    first = leaders(4.0)
    with pytest.raises(EntryRefused) as info:
        leaders(4.5)
    assert str(info.value) == "water already has a leaders' evaluation for 2026: withdraw it first."
    with pytest.raises(EntryRefused) as no_reason:
        withdraw_adjustment(session=session, user=li, adjustment=first, reason="")
    assert no_reason.value.key == "withdraw_reason"
    withdraw_adjustment(session=session, user=li, adjustment=first, reason="typed 4.0 for 4.5")
    with pytest.raises(EntryRefused) as withdrawn:
        approve_adjustment(session=session, user=li, adjustment=first)
    assert withdrawn.value.key == "withdrawn"
    second = leaders(4.5)
    assert [(row.points, row.withdrawn_by) for row in adjustments(session=session, year=2026)] == [
        (4.0, "li"),
        (4.5, None),
    ]
    actions = [(row.action, row.subject_id) for row in audit_trail(session=session, agency="water")]
    assert actions == [("enter", first.id), ("withdraw", first.id), ("enter", second.id)]
