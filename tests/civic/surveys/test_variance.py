"""The linearised variance of a weighted mean and its degrees of freedom."""

from __future__ import annotations

import statistics

import pytest

from civic.surveys._variance import linearised_variance


def test_the_plain_mean_has_s2_over_n_and_n_minus_1_degrees_of_freedom() -> None:
    scores = [100.0, 80.0, 80.0, 0.0, 100.0]
    result = linearised_variance(scores, [0.2] * 5, [()] * 5, ())
    assert result == (
        pytest.approx(statistics.variance(scores) / 5),
        pytest.approx(4),
    )


def test_post_stratification_gives_the_textbook_variance() -> None:
    groups = [[100.0, 80.0, 80.0], [0.0, 80.0, 100.0, 100.0, 80.0], [60.0, 100.0]]
    shares = [0.5, 0.3, 0.2]
    scores = [score for group in groups for score in group]
    weights = [share / len(g) for share, g in zip(shares, groups, strict=True) for _ in g]
    cells = [(h,) for h, group in enumerate(groups) for _ in group]
    variance, df = linearised_variance(scores, weights, cells, [3]) or (0, 0)
    a = [share**2 / len(g) for share, g in zip(shares, groups, strict=True)]
    spreads = [statistics.variance(group) for group in groups]
    assert variance == pytest.approx(sum(x * s for x, s in zip(a, spreads, strict=True)))
    assert df == pytest.approx(
        sum(a) ** 2 / sum(x**2 / (len(g) - 1) for x, g in zip(a, groups, strict=True))
    )


# Two margins: district (three groups) and age band (two), with unequal weights.
CELLS = [(0, 0), (0, 0), (0, 1), (1, 0), (1, 1), (1, 1), (2, 0), (2, 1), (2, 1), (0, 1)]
WEIGHTS = [0.05, 0.05, 0.1, 0.08, 0.12, 0.12, 0.15, 0.1, 0.13, 0.1]


def test_scores_the_margins_explain_have_no_variance() -> None:
    district, band = [70.0, 50.0, 90.0], [0.0, 10.0]
    scores = [district[d] + band[a] for d, a in CELLS]
    variance, _ = linearised_variance(scores, WEIGHTS, CELLS, [3, 2]) or (1, 0)
    assert variance == pytest.approx(0, abs=1e-9)


def test_the_variance_does_not_depend_on_the_order_of_the_margins() -> None:
    scores = [100.0, 80.0, 0.0, 80.0, 100.0, 80.0, 0.0, 100.0, 80.0, 60.0]
    swapped = [(a, d) for d, a in CELLS]
    relabelled = [(2 - d, 1 - a) for d, a in CELLS]
    first = linearised_variance(scores, WEIGHTS, CELLS, [3, 2])
    assert first is not None and first[0] > 0
    assert linearised_variance(scores, WEIGHTS, swapped, [2, 3]) == pytest.approx(first)
    assert linearised_variance(scores, WEIGHTS, relabelled, [3, 2]) == pytest.approx(first)


def test_a_margin_that_repeats_another_adds_nothing() -> None:
    scores = [100.0, 80.0, 0.0, 80.0, 100.0, 80.0, 0.0, 100.0, 80.0, 60.0]
    repeated = [(d, a, d) for d, a in CELLS]
    assert linearised_variance(scores, WEIGHTS, repeated, [3, 2, 3]) == pytest.approx(
        linearised_variance(scores, WEIGHTS, CELLS, [3, 2])
    )


def test_no_spread_from_one_answer_or_an_answer_alone_in_its_group() -> None:
    assert linearised_variance([80.0], [1.0], [()], ()) is None
    alone = linearised_variance([80.0, 0.0, 100.0], [0.5, 0.25, 0.25], [(0,), (1,), (1,)], [2])
    assert alone is None
