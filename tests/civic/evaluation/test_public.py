"""The public-evaluation blend: the survey is the base, other sources join only at their
minimum count, and the weights of those that join are scaled to 1."""

from __future__ import annotations

from civic.evaluation import SourceFigure
from civic.evaluation._public import blend
from tests.civic.evaluation.fixture_year import fixture_profile, fixture_scheme


def figure(code: str, value: float | None, n: int) -> SourceFigure:
    return SourceFigure(code=code, value=value, n=n, levels=("invited",), method="-")


def test_all_sources_at_their_minimum() -> None:
    public = fixture_scheme(fixture_profile()).public
    result = blend(
        public,
        {
            "survey": figure("survey", 90.0, 10),
            "windows": figure("windows", 70.0, 3),
            "tickets": figure("tickets", 50.0, 2),
        },
    )
    # 0.8 × 90 + 0.1 × 70 + 0.1 × 50 = 84 → 42 points
    assert (result.index, result.points, result.left_out) == (84.0, 42.0, {})


def test_a_source_below_its_minimum_leaves_its_weight_to_the_others() -> None:
    public = fixture_scheme(fixture_profile()).public
    result = blend(
        public,
        {
            "survey": figure("survey", 90.0, 10),
            "windows": figure("windows", 40.0, 2),
            "tickets": None,
        },
    )
    assert (result.index, result.points) == (90.0, 45.0)
    assert result.left_out == {"windows": "below_minimum", "tickets": "no_data"}
    assert result.weights == {"survey": 1.0}


def test_without_a_survey_index_there_is_no_public_evaluation() -> None:
    public = fixture_scheme(fixture_profile()).public
    result = blend(
        public,
        {
            "survey": figure("survey", 90.0, 9),
            "windows": figure("windows", 70.0, 30),
            "tickets": figure("tickets", 50.0, 20),
        },
    )
    assert (result.index, result.points, result.left_out) == (
        None,
        None,
        {"survey": "below_minimum"},
    )
