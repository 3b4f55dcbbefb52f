"""Weights: raking to several margins, post-stratification on one, merging small groups."""

from __future__ import annotations

from collections import defaultdict

import pytest

from civic.surveys._weighting import (
    Margin,
    NotWeighted,
    RakingError,
    Weighting,
    collapse,
    rake,
    weigh,
)

SHARES = {
    "district": {"xihu": 0.5, "binjiang": 0.3, "chunan": 0.2},
    "age_band": {"18-29": 0.25, "30-59": 0.45, "60+": 0.3},
}


def units(*cells: tuple[str | None, str | None, int]) -> list[dict[str, str | None]]:
    """`count` respondents for each (district, age band, count)."""
    return [
        {"district": district, "age_band": band}
        for district, band, count in cells
        for _ in range(count)
    ]


# Young Xihu over-answered, old Chun'an hardly at all; every district and band has at
# least five answers, so nothing is merged.
SAMPLE = units(
    ("xihu", "18-29", 12),
    ("xihu", "30-59", 6),
    ("xihu", "60+", 2),
    ("binjiang", "18-29", 3),
    ("binjiang", "30-59", 5),
    ("binjiang", "60+", 4),
    ("chunan", "18-29", 1),
    ("chunan", "30-59", 3),
    ("chunan", "60+", 2),
)


def weighted_shares(units: list[dict[str, str | None]], weighting: Weighting, name: str) -> dict:
    shares: dict[str, float] = defaultdict(float)
    for position, weight in zip(weighting.placed, weighting.weights, strict=True):
        shares[str(units[position][name])] += weight
    return dict(shares)


def test_raked_weights_match_every_margin() -> None:
    weighting = weigh(SAMPLE, shares=SHARES, attributes=["district", "age_band"])
    assert sum(weighting.weights) == pytest.approx(1)
    for name in ("district", "age_band"):
        assert weighted_shares(SAMPLE, weighting, name) == pytest.approx(SHARES[name], abs=1e-6)
    assert 1 < weighting.iterations < 50
    # The joint shares are not the product of the margins: old Chun'an, with two answers,
    # is not given 0.2 * 0.3 of the city.
    old_chunan = sum(
        w
        for p, w in zip(weighting.placed, weighting.weights, strict=True)
        if SAMPLE[p] == {"district": "chunan", "age_band": "60+"}
    )
    assert old_chunan != pytest.approx(0.2 * 0.3, abs=0.005)


def test_one_attribute_is_post_stratification() -> None:
    weighting = weigh(SAMPLE, shares=SHARES, attributes=["district"])
    sizes = {"xihu": 20, "binjiang": 12, "chunan": 6}
    expected = [
        SHARES["district"][str(SAMPLE[p]["district"])] / sizes[str(SAMPLE[p]["district"])]
        for p in weighting.placed
    ]
    assert list(weighting.weights) == pytest.approx(expected)
    assert weighting.iterations == 1


def test_units_without_a_population_share_are_left_out() -> None:
    shares = {**SHARES, "district": {**SHARES["district"], "fuyang": 0.0}}
    sample = [*SAMPLE, *units(("fuyang", "18-29", 1), (None, "60+", 1), ("xihu", "?", 1))]
    weighting = weigh(sample, shares=shares, attributes=["district", "age_band"])
    assert weighting.placed == tuple(range(len(SAMPLE)))
    assert weighted_shares(sample, weighting, "district") == pytest.approx(
        SHARES["district"], abs=1e-6
    )


def test_raking_that_cannot_match_the_margins_is_an_error_not_a_result() -> None:
    # Every Xihu answer is young, yet Xihu is half the city and the young a quarter.
    sample = units(("xihu", "18-29", 5), ("binjiang", "30-59", 5), ("chunan", "60+", 5))
    sample += units(("binjiang", "18-29", 5), ("chunan", "30-59", 5), ("chunan", "18-29", 5))
    with pytest.raises(RakingError) as raised:
        weigh(sample, shares=SHARES, attributes=["district", "age_band"], max_iterations=50)
    assert str(raised.value).startswith(
        "raking on district, age_band did not converge in 50 rounds: the weighted shares of"
    )


@pytest.mark.parametrize(
    ("shares", "attributes", "message"),
    [
        (SHARES, ["district", "income"], "no population shares for income"),
        ({"district": {"fuyang": 1.0}}, ["district"], "no answer has a district with a"),
        (
            {"district": {"xihu": 0.5, "chunan": 0.5}},
            ["district"],
            "too few answers to weight by district (it takes two groups of 5)",
        ),
    ],
)
def test_answers_that_cannot_be_weighted_say_why(
    shares: dict, attributes: list[str], message: str
) -> None:
    sample = units(("xihu", "18-29", 3), ("chunan", "60+", 3))
    with pytest.raises(NotWeighted, match=message.replace("(", r"\(").replace(")", r"\)")):
        weigh(sample, shares=shares, attributes=attributes)


def test_the_smallest_group_is_merged_into_its_smaller_neighbour_first() -> None:
    shares = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.15, "e": 0.25}
    margin = collapse("x", shares, {"a": 6, "b": 2, "c": 9, "d": 3, "e": 4}, 5)
    # b (2) joins a (6) rather than c (9); then d (3) joins e (4), the smaller neighbour.
    assert margin.groups == (("a", "b"), ("c",), ("d", "e"))
    assert margin.shares == pytest.approx((0.3, 0.3, 0.4))
    assert margin.merged() == ["x: a+b", "x: d+e"]


def test_ties_go_to_the_earlier_group_and_the_result_is_in_file_order() -> None:
    margin = collapse("x", {"a": 0.4, "b": 0.2, "c": 0.4}, {"a": 7, "b": 1, "c": 7}, 5)
    assert margin.groups == (("a", "b"), ("c",))


def test_values_without_a_share_are_not_groups_and_shares_are_renormalised() -> None:
    margin = collapse("x", {"a": 0.5, "b": 0.0, "c": 0.49}, {"a": 9, "b": 9, "c": 9}, 5)
    assert margin.groups == (("a",), ("c",))
    assert margin.shares == pytest.approx((0.5 / 0.99, 0.49 / 0.99))


def test_groups_all_merge_when_there_are_too_few_answers() -> None:
    margin = collapse("x", {"a": 0.5, "b": 0.5}, {"a": 4, "b": 5}, 5)
    assert margin.groups == (("a", "b"),)


def test_rake_needs_no_more_rounds_than_it_takes() -> None:
    margin = Margin("x", (("a",), ("b",)), (0.25, 0.75))
    weights, rounds = rake([(0,), (1,), (1,)], [margin])
    assert (weights, rounds) == (pytest.approx([0.25, 0.375, 0.375]), 1)


def test_min_cell_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_cell"):
        weigh(SAMPLE, shares=SHARES, attributes=["district"], min_cell=0)
