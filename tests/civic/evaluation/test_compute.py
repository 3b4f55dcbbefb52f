"""The fixture city's 2026 (`fixture_year.py`), computed on SQLite and PostgreSQL, against
points worked out by hand from the data and the scheme (`fixture_city/evaluation/2026.yml`).

Public evaluation, 50 points: index = 0.8 survey + 0.1 windows + 0.1 tickets, a source
below its minimum (windows 3, tickets 2, survey 10 answers) left out and the rest scaled
to 1; points = 50 × index / 100, to 2 decimals.

    survey (post-stratified, Xihu 0.6 / Binjiang 0.4; 满意 100, 基本满意 80, 不满意 0):
      water      Xihu 5×满意 = 100; Binjiang 2×满意 3×基本满意 = 88   → 60 + 35.2 = 95.2
      transport  Xihu 2×满意 3×基本 = 88; Binjiang 满意 2×基本 2×不满意 = 52
                                                                       → 52.8 + 20.8 = 73.6
      urban      Xihu 5×基本满意 = 80; Binjiang 5×满意 = 100           → 48 + 40 = 88
      (last year's campaign and the open-link answer do not count)
    windows (counted levels, not held, in 2026; ★1..5 = 0, 25, 50, 75, 100):
      water      ★5 ★5 ★4 ★3 = (100 + 100 + 75 + 50) / 4 = 81.25, n 4 (the anonymous,
                 the held and last year's ★1 left out)
      transport  满意, 不满意: n 2 < 3, left out
      urban      满意 基本 基本 = 260 / 3 = 86.667, n 3
    tickets (ratings at counted levels):
      water      满意 (phone) + 基本满意 (invited) = 90, n 2 (an anonymous 满意 left out)
      transport  one 不满意: n 1 < 2, left out
      urban      不满意 + 满意 = 50, n 2

      water      0.8 × 95.2 + 0.1 × 81.25 + 0.1 × 90 = 76.16 + 8.125 + 9 = 93.285
                 → 50 × 0.93285 = 46.6425 → 46.64
      transport  survey alone: 73.6 → 36.80
      urban      0.8 × 88 + 0.1 × 86.667 + 0.1 × 50 = 70.4 + 8.6667 + 5 = 84.0667 → 42.03

Annual targets, 45 points: 45 × Σ weight × min(achievement, 1); on-time rate 0.5 (target
0.8, water 0.9), reopen rate 0.2 (target 0.1, lower is better), key tasks 0.3 (target
100, the last approved month; none approved = 0).

      water      on time 3/4 = 0.75 → 0.75/0.9 = 0.8333 (the second was rectified after
                 8 h of 6; the merged duplicate left out); reopened 1 of 4 = 0.25 → 0.1/0.25
                 = 0.4; key tasks December 96 (November's 99 not approved) → 0.96
                 45 × (0.5 × 0.8333 + 0.2 × 0.4 + 0.3 × 0.96) = 18.75 + 3.6 + 12.96 = 35.31
      transport  on time 2/3 (one open past its due time) → 0.6667/0.8 = 0.8333; reopened
                 0 of 2 → 1; key tasks entered, not approved → 0
                 45 × (0.4167 + 0.2 + 0) = 18.75 + 9 = 27.75
      urban      on time 2/3 (the ticket of 01:00 on 1 January city time is 2026's, the
                 one of 23:00 on 31 December is 2025's) → 0.8333; reopened 0 of 3 → 1;
                 key tasks 105 → capped at 1
                 45 × (0.4167 + 0.2 + 0.3) = 18.75 + 9 + 13.5 = 41.25

Leaders (max 5): water 4.5, transport 3.0 approved; urban's 4.0 not approved → 0.
Bonus (cap 3; innovation: at most 2 an entry, 3 a year; commendation 1): water innovation
2.0 + 1.5 = 3.5 → 3, + commendation 1 = 4 → capped at 3 (a withdrawn 2.0 does not count);
urban innovation 1.0; transport's 2.0 not approved → 0. Penalty: transport 1.0.

Totals: water 46.64 + 35.31 + 4.5 + 3 = 89.45; urban 42.03 + 41.25 + 0 + 1 = 84.28;
transport 36.80 + 27.75 + 3 − 1 = 66.55. Bands: 满意单位 the top 2 at 85 or more → water
only (urban 84.28 is short); 不满意单位 the bottom 1 at 70 or less → transport.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.evaluation import EvaluationResult, Scheme, compute
from tests.civic.evaluation.fixture_year import (
    AS_OF,
    TRANSPORT,
    URBAN,
    WATER,
    build,
    fixture_profile,
    fixture_scheme,
)


@pytest.fixture
def city() -> tuple[Profile, Scheme]:
    profile = fixture_profile()
    return profile, fixture_scheme(profile)


@pytest.fixture
def result(session: Session, city: tuple[Profile, Scheme]) -> EvaluationResult:
    profile, scheme = city
    build(session, profile, scheme)
    return compute(session=session, scheme=scheme, profile=profile, as_of=AS_OF)


def points(result: EvaluationResult, agency: str) -> dict[str, float | None]:
    score = result.agency(agency)
    return {code: score.points(code) for code in score.components} | {"total": score.total}


def test_every_component_of_every_agency(result: EvaluationResult) -> None:
    assert points(result, WATER) == {
        "public": 46.64,
        "targets": 35.31,
        "leaders": 4.5,
        "bonus": 3.0,
        "penalty": 0.0,
        "total": 89.45,
    }
    assert points(result, URBAN) == {
        "public": 42.03,
        "targets": 41.25,
        "leaders": 0.0,
        "bonus": 1.0,
        "penalty": 0.0,
        "total": 84.28,
    }
    assert points(result, TRANSPORT) == {
        "public": 36.8,
        "targets": 27.75,
        "leaders": 3.0,
        "bonus": 0.0,
        "penalty": 1.0,
        "total": 66.55,
    }


def test_ranking_and_bands(result: EvaluationResult) -> None:
    assert [(s.agency, s.rank, s.band) for s in result.agencies] == [
        (WATER, 1, "satisfied"),
        (URBAN, 2, None),
        (TRANSPORT, 3, "unsatisfied"),
    ]
    assert result.bands == {"satisfied": [WATER], "unsatisfied": [TRANSPORT]}


def test_public_evaluation_says_where_each_figure_came_from(result: EvaluationResult) -> None:
    public = result.agency(WATER).components["public"]
    assert public.details["index"] == pytest.approx(93.285)
    assert public.details["weights"] == pytest.approx(
        {"survey": 0.8, "windows": 0.1, "tickets": 0.1}
    )
    sources = public.details["sources"]
    survey = sources["survey"]
    assert (survey["value"], survey["n"], survey["levels"]) == (
        pytest.approx(95.2),
        10,
        ["invited"],
    )
    assert (survey["method"], survey["weighted_by"], survey["campaign"]) == (
        "post-stratified",
        ["district"],
        "2026 annual",
    )
    assert survey["ci_low"] < 95.2 < survey["ci_high"]
    assert {k: sources["windows"][k] for k in ("value", "n", "n_uncounted", "levels")} == {
        "value": 81.25,
        "n": 4,
        "n_uncounted": 1,
        "levels": ["invited", "verified_phone"],
    }
    assert {k: sources["tickets"][k] for k in ("value", "n", "n_uncounted")} == {
        "value": 90.0,
        "n": 2,
        "n_uncounted": 1,
    }
    transport = result.agency(TRANSPORT).components["public"].details
    assert transport["left_out"] == {"windows": "below_minimum", "tickets": "below_minimum"}
    assert transport["weights"] == {"survey": 1.0}


def test_targets_show_each_indicator_against_its_target(result: EvaluationResult) -> None:
    rows = result.agency(WATER).components["targets"].details["indicators"]
    shown = {r["code"]: (r["value"], r["target"], r["achievement"]) for r in rows}
    assert shown == {
        "on_time_rate": (0.75, 0.9, pytest.approx(0.75 / 0.9)),
        "reopen_rate": (0.25, 0.1, pytest.approx(0.4)),
        "key_tasks_completion": (96.0, 100.0, pytest.approx(0.96)),
    }
    transport = result.agency(TRANSPORT).components["targets"].details["indicators"]
    assert transport[2]["why"] == "not_reported"
    assert transport[2]["achievement"] == 0.0


def test_bonus_over_its_caps(result: EvaluationResult) -> None:
    bonus = result.agency(WATER).components["bonus"]
    items = {item["code"]: (item["raw"], item["points"]) for item in bonus.details["items"]}
    assert items == {"innovation": (3.5, 3.0), "commendation": (1.0, 1.0)}
    assert (bonus.details["raw"], bonus.points, bonus.max_points) == (4.0, 3.0, 3.0)


def test_leaders_count_only_when_approved(result: EvaluationResult) -> None:
    assert result.agency(URBAN).components["leaders"].details == {"entries": [], "entered": False}
    assert {"code": "no_leaders_score", "agency": URBAN} in result.warnings


def test_a_district_scorecard(result: EvaluationResult) -> None:
    """Xihu in 2026: six tickets (W1, W3, W4, T3, U1, U3; the merged one left out),
    rectified after 4, 5, 2, 10 and 12 hours, T3 still open past its due time.
    Median of 2, 4, 5, 10, 12 = 5; 90th percentile at position 0.9 × 4 = 3.6:
    10 + 0.6 × (12 − 10) = 11.2. Residents: 3×满意 2×基本满意 = 92, unweighted (the
    survey weights by district only), t interval with 4 degrees of freedom:
    92 ± 2.776 × √(120 / 5) = 92 ± 13.60 → [78.40, 100]."""
    card = result.district("xihu")
    values = {row["code"]: (row["value"], row["n"]) for row in card.indicators}
    assert values == {
        "volume": (6.0, 6),
        "on_time_rate": (pytest.approx(5 / 6), 6),
        "median_hours": (5.0, 5),
        "p90_hours": (11.2, 5),
        "reopen_rate": (0.2, 5),
        "overdue_rate": (pytest.approx(1 / 6), 6),
        "confirmed_fixed_rate": (0.75, 4),
        "ticket_satisfaction": (50.0, 2),
    }
    assert card.indicator("on_time_rate")["met"] is True  # 0.83 against 0.8
    assert card.indicator("reopen_rate")["met"] is False  # 0.2 against 0.1
    assert card.indicator("median_hours")["met"] is None  # no target
    satisfaction = card.satisfaction
    assert (satisfaction["value"], satisfaction["n"], satisfaction["method"]) == (
        92.0,
        5,
        "unweighted",
    )
    assert satisfaction["ci_low"] == pytest.approx(78.40, abs=0.01)
    assert (satisfaction["ci_high"], satisfaction["enough"]) == (100.0, True)


def test_indicators_carry_a_five_year_trend(result: EvaluationResult) -> None:
    rows = {row["code"]: row for row in result.agency(URBAN).indicators}
    volume = [(point["year"], point["value"]) for point in rows["volume"]["trend"]]
    assert volume == [(2022, None), (2023, None), (2024, None), (2025, 1.0), (2026, 3.0)]
    tasks = {row["code"]: row for row in result.agency(WATER).indicators}["key_tasks_completion"]
    assert [(p["year"], p["value"]) for p in tasks["trend"]][-2:] == [(2025, 50.0), (2026, 96.0)]
    assert (tasks["unit"], tasks["direction"], tasks["source"], tasks["target"]) == (
        "percent",
        "higher",
        "entered",
        100.0,
    )


def test_the_result_is_plain_json_with_its_inputs(result: EvaluationResult) -> None:
    data = result.as_json()
    assert data["ranking"] == [WATER, URBAN, TRANSPORT]
    assert data["agencies"][0]["components"]["public"]["points"] == 46.64
    water = data["inputs"]["agencies"][WATER]
    assert water["public"]["windows"] == {"value": 81.25, "n": 4, "n_uncounted": 1}
    assert water["indicators"]["on_time_rate"] == {"value": 0.75, "n": 4}
    assert sorted(entry["points"] for entry in water["entries"].values()) == [1.0, 1.5, 2.0, 4.5]
