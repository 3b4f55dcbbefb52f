"""Freezing the fixture year, on SQLite and PostgreSQL: a version is added only when the
inputs or the figures change, then with the operator's reason and a diff that says which
agencies' points changed, by how much, and which inputs; earlier versions never change."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.evaluation import (
    EvaluationResult,
    ReasonRequired,
    Scheme,
    approve_adjustment,
    compute,
    freeze,
    latest_snapshot,
    pending_changes,
    snapshot_result,
    snapshots,
)
from storage.models import AgencyUser, EvaluationAdjustment
from tests.civic.evaluation.fixture_year import (
    AS_OF,
    URBAN,
    build,
    fixture_profile,
    fixture_scheme,
)


@pytest.fixture
def city(session: Session) -> tuple[Profile, Scheme]:
    profile = fixture_profile()
    scheme = fixture_scheme(profile)
    build(session, profile, scheme)
    return profile, scheme


def run(session: Session, city: tuple[Profile, Scheme]) -> EvaluationResult:
    profile, scheme = city
    return compute(session=session, scheme=scheme, profile=profile, as_of=AS_OF)


def approve_urban_leaders(session: Session) -> EvaluationAdjustment:
    """The leaders' 4.0 for urban management, entered and left unapproved, approved now."""
    li = session.scalars(select(AgencyUser).where(AgencyUser.username == "li")).one()
    row = session.scalars(
        select(EvaluationAdjustment).where(
            EvaluationAdjustment.agency == URBAN, EvaluationAdjustment.kind == "leaders"
        )
    ).one()
    approve_adjustment(session=session, user=li, adjustment=row)
    return row


def test_the_first_freeze_is_version_1(session: Session, city: tuple[Profile, Scheme]) -> None:
    result = run(session, city)
    frozen = freeze(session=session, result=result, created_by="zhang")
    assert (frozen.created, frozen.snapshot.version, frozen.diff) == (True, 1, None)
    snapshot = frozen.snapshot
    assert (snapshot.year, snapshot.created_by, snapshot.reason) == (2026, "zhang", None)
    assert (snapshot.inputs_digest, snapshot.results_digest) == (
        result.inputs_digest,
        result.results_digest,
    )
    assert snapshot.scheme_digest == city[1].digest
    assert snapshot_result(snapshot)["ranking"] == ["water", URBAN, "transport"]


def test_recomputing_the_same_figures_adds_no_version(
    session: Session, city: tuple[Profile, Scheme]
) -> None:
    first = freeze(session=session, result=run(session, city), created_by="zhang")
    again = run(session, city)
    assert again.computed_at != first.snapshot.created_at.isoformat()
    assert pending_changes(session=session, result=again) is None
    second = freeze(session=session, result=again, created_by="li", reason="checking")
    assert (second.created, second.snapshot.id) == (False, first.snapshot.id)
    assert [s.version for s in snapshots(session=session, year=2026)] == [1]


def test_changed_figures_need_a_reason_and_make_version_2_with_a_diff(
    session: Session, city: tuple[Profile, Scheme]
) -> None:
    freeze(session=session, result=run(session, city), created_by="zhang")
    row = approve_urban_leaders(session)
    changed = run(session, city)
    with pytest.raises(ReasonRequired) as info:
        freeze(session=session, result=changed, created_by="zhang")
    assert str(info.value) == "The figures differ from version 1: say why they are recomputed."
    assert [s.version for s in snapshots(session=session, year=2026)] == [1]

    expected_diff = {
        "from_version": 1,
        "to_version": 2,
        "scheme": None,
        "agencies": [
            {
                "agency": URBAN,
                "total": {"from": 84.28, "to": 88.28, "change": 4.0},
                "band": {"from": None, "to": "satisfied"},
                "components": {"leaders": {"from": 0.0, "to": 4.0, "change": 4.0}},
            }
        ],
        "agencies_removed": [],
        # the newly approved entry (its item, None, is no change)
        "inputs": [
            {"path": f"agencies.{URBAN}.entries.{row.id}.kind", "from": None, "to": "leaders"},
            {"path": f"agencies.{URBAN}.entries.{row.id}.points", "from": None, "to": 4.0},
        ],
    }
    assert pending_changes(session=session, result=changed) == expected_diff
    frozen = freeze(
        session=session, result=changed, created_by="li", reason="leaders' score approved late"
    )
    assert (frozen.created, frozen.snapshot.version) == (True, 2)
    assert frozen.diff == expected_diff
    assert frozen.snapshot.reason == "leaders' score approved late"
    versions = snapshots(session=session, year=2026)
    assert [s.version for s in versions] == [1, 2]
    assert latest_snapshot(session=session, year=2026) == versions[1]
    # version 1 still says what was published then
    first = {a["agency"]: a["total"] for a in snapshot_result(versions[0])["agencies"]}
    assert first[URBAN] == 84.28


def test_a_changed_scheme_is_named_in_the_diff(
    session: Session, city: tuple[Profile, Scheme]
) -> None:
    profile, scheme = city
    freeze(session=session, result=run(session, city), created_by="zhang")
    amended = dataclasses.replace(
        scheme,
        revision=2,
        digest="0" * 64,
        bonus=dataclasses.replace(scheme.bonus, cap=2.0),
    )
    result = compute(session=session, scheme=amended, profile=profile, as_of=AS_OF)
    diff = pending_changes(session=session, result=result)
    assert diff is not None
    assert (diff["scheme"]["from"]["revision"], diff["scheme"]["to"]["revision"]) == (1, 2)
    assert diff["agencies"] == [
        {
            "agency": "water",
            "total": {"from": 89.45, "to": 88.45, "change": -1.0},
            "components": {"bonus": {"from": 3.0, "to": 2.0, "change": -1.0}},
        }
    ]
    assert diff["inputs"] == [{"path": "scheme", "from": scheme.digest, "to": "0" * 64}]
