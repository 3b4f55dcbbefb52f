"""The targets component's rule: achievement against the target, capped at 1, weights of
indicators with too few tickets given to the others, an entered indicator not reported
counting 0."""

from __future__ import annotations

import dataclasses

import pytest

from civic.evaluation import Figure
from civic.evaluation._targets import achievement, target_score
from tests.civic.evaluation.fixture_year import fixture_profile, fixture_scheme


@pytest.mark.parametrize(
    ("value", "target", "direction", "expected"),
    [
        (0.72, 0.9, "higher", 0.8),
        (0.95, 0.9, "higher", 1.0),
        (0.2, 0.1, "lower", 0.5),
        (0.05, 0.1, "lower", 1.0),
        (0.0, 0.1, "lower", 1.0),
    ],
)
def test_achievement(value: float, target: float, direction: str, expected: float) -> None:
    assert achievement(value, target, direction) == pytest.approx(expected)


def test_an_indicator_with_too_few_tickets_gives_its_weight_to_the_others() -> None:
    scheme = fixture_scheme(fixture_profile())
    strict = dataclasses.replace(
        scheme.targets,
        indicators=tuple(dataclasses.replace(i, min_n=5) for i in scheme.targets.indicators),
    )
    scheme = dataclasses.replace(scheme, targets=strict)
    values = {
        "on_time_rate": Figure(0.5, 4),  # 4 tickets < 5: does not apply
        "reopen_rate": Figure(0.05, 10),  # achievement 1
        "key_tasks_completion": Figure(50.0, 1),  # achievement 0.5
    }
    score = target_score(scheme, "transport", values)
    # 45 × (0.2 × 1 + 0.3 × 0.5) / (0.2 + 0.3) = 45 × 0.7 = 31.5
    assert score.points == 31.5
    rows = {row["code"]: row for row in score.details["indicators"]}
    assert (rows["on_time_rate"]["applies"], rows["on_time_rate"]["why"]) == (
        False,
        "too_few_tickets",
    )


def test_an_entered_indicator_not_reported_counts_zero() -> None:
    scheme = fixture_scheme(fixture_profile())
    values = {"on_time_rate": Figure(0.8, 10), "reopen_rate": Figure(0.1, 10)}
    score = target_score(scheme, "transport", values)
    # 45 × (0.5 × 1 + 0.2 × 1 + 0.3 × 0) = 31.5
    assert score.points == 31.5
    assert score.details["indicators"][2]["why"] == "not_reported"
