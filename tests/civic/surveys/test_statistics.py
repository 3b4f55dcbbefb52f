"""The satisfaction index (post-stratified or raked, with its t interval) and answer
distributions."""

from __future__ import annotations

import math

import pytest

from civic.surveys import IndexResult, Observation, distribution, mean, satisfaction_index
from civic.surveys._student_t import t_quantile

MARGINS = {"district": {"xihu": 0.3, "binjiang": 0.3, "chunan": 0.4}}
DISTRICT = ["district"]


def answers(district: str | None, *scores: float | None, **more: str) -> list[Observation]:
    return [Observation({"district": district, **more}, score) for score in scores]


# Xihu answered far more than its share, Chun'an far less; one Binjiang respondent did
# not know.
XIHU = answers("xihu", 100, 100, 100, 100, 80, 80, 80, 80, 60, 60)
BINJIANG = answers("binjiang", 40, 60, None, 60, 80, 60)
CHUNAN = answers("chunan", 40, 20, 60, 40, 40)
UNBALANCED = [*XIHU, *BINJIANG, *CHUNAN]


def index(observations: list[Observation], margins: dict = MARGINS) -> IndexResult:
    return satisfaction_index(observations, margins=margins, post_strata=DISTRICT)


def test_post_stratified_index_is_the_population_weighted_mean() -> None:
    result = index(UNBALANCED)
    # District means 84, 60 and 40, weighted 0.3, 0.3 and 0.4.
    assert result.value == pytest.approx(59.2)
    assert (result.n, result.n_dont_know, result.weighted) == (20, 1, True)
    assert (result.method, result.weighted_by, result.collapsed) == (
        "post-stratified",
        ("district",),
        (),
    )
    assert mean(o.score for o in UNBALANCED) == pytest.approx(67.0)


def test_interval_is_student_t_on_the_stratified_variance() -> None:
    result = index(UNBALANCED)
    # s_h^2: Xihu 2240/9, Binjiang 200, Chun'an 200, over n_h = 10, 5, 5.
    variance = 0.3**2 * (2240 / 9) / 10 + 0.3**2 * 200 / 5 + 0.4**2 * 200 / 5
    # Satterthwaite's degrees of freedom for groups of one spread.
    a = [0.3**2 / 10, 0.3**2 / 5, 0.4**2 / 5]
    df = sum(a) ** 2 / (a[0] ** 2 / 9 + a[1] ** 2 / 4 + a[2] ** 2 / 4)
    half = t_quantile(0.975, df) * math.sqrt(variance)
    assert result.df == pytest.approx(df)
    assert (result.ci_low, result.ci_high) == (
        pytest.approx(59.2 - half),
        pytest.approx(59.2 + half),
    )
    assert (round(result.ci_low or 0, 2), round(result.ci_high or 0, 2)) == (51.41, 66.99)
    # Kish's design effect: n * sum(w^2) with the weights summing to 1.
    assert result.design_effect == pytest.approx(20 * (10 * 0.03**2 + 5 * 0.06**2 + 5 * 0.08**2))


def test_a_district_with_few_answers_is_merged_with_its_neighbour() -> None:
    # Two Chun'an answers cannot carry 40% of the city: they join Binjiang, the district
    # before them in the population's order, and the pair counts 70%.
    observations = [*XIHU, *BINJIANG, *answers("chunan", 40, 20)]
    result = index(observations)
    merged = [60.0, 60.0, 80.0, 60.0, 40.0, 40.0, 20.0]
    assert result.collapsed == ("district: binjiang+chunan",)
    assert result.value == pytest.approx(0.3 * 84 + 0.7 * sum(merged) / len(merged))
    assert result.weighted


def test_a_district_without_answers_counts_with_its_smaller_neighbour() -> None:
    margins = {"district": {"xihu": 0.3, "fuyang": 0.2, "binjiang": 0.2, "chunan": 0.3}}
    # Fuyang (no answers) sits between Xihu (10) and Binjiang (5): it goes to Binjiang.
    result = index(UNBALANCED, margins)
    assert result.collapsed == ("district: fuyang+binjiang",)
    assert result.value == pytest.approx(0.3 * 84 + 0.4 * 60 + 0.3 * 40)


def test_too_few_answers_for_two_groups_give_the_plain_mean_and_say_why() -> None:
    observations = answers("xihu", 100, 80) + answers("chunan", 0, 80, 80)
    result = index(observations)
    assert (result.value, result.weighted, result.method) == (
        pytest.approx(68.0),
        False,
        "unweighted",
    )
    assert result.note == "too few answers to weight by district (it takes two groups of 5)"


def test_dont_know_is_counted_apart_and_not_scored() -> None:
    observations = answers("xihu", 100, None, None, 0)
    result = index(observations)
    assert (result.value, result.n, result.n_dont_know) == (pytest.approx(50.0), 2, 2)


def test_interval_is_clipped_to_the_score_range() -> None:
    observations = answers("xihu", 100, 100, 100, 60)
    result = index(observations)
    assert result.value == pytest.approx(90.0)
    assert result.ci_high == 100.0
    # Three degrees of freedom: the t factor is 3.18, not 1.96.
    assert result.ci_low == pytest.approx(90.0 - 3.182446 * math.sqrt(400 / 4))


def test_without_shares_the_index_is_the_plain_mean() -> None:
    result = index(UNBALANCED, margins={})
    # The plain mean 67 with s^2 = 10620 / 19 over 20 answers and 19 degrees of freedom.
    half = 2.093024 * math.sqrt((10620 / 19) / 20)
    assert result.value == pytest.approx(67.0)
    assert (result.ci_low, result.ci_high) == (pytest.approx(67 - half), pytest.approx(67 + half))
    assert (result.n, result.n_dont_know, result.weighted) == (20, 1, False)
    assert result.df == pytest.approx(19)
    assert result.note == "no population shares for district"


def test_answers_outside_every_post_stratum_are_left_out_and_counted() -> None:
    observations = [*UNBALANCED, *answers("?", 0), *answers(None, 0), *answers("west-lake", 0)]
    result = index(observations)
    assert result.value == pytest.approx(59.2)
    assert (result.n, result.n_unplaced) == (23, 3)


def test_several_post_strata_are_raked_to_each_margin() -> None:
    margins = {**MARGINS, "age_band": {"18-44": 0.5, "45+": 0.5}}
    young = [Observation({**o.attrs, "age_band": "18-44"}, o.score) for o in UNBALANCED[::2]]
    old = [Observation({**o.attrs, "age_band": "45+"}, o.score) for o in UNBALANCED[1::2]]
    result = satisfaction_index(
        [*young, *old], margins=margins, post_strata=["district", "age_band"]
    )
    assert (result.method, result.weighted_by, result.note) == (
        "raked",
        ("district", "age_band"),
        "",
    )
    assert result.value is not None and result.ci_low is not None and result.ci_high is not None
    assert result.ci_low < result.value < result.ci_high


def test_a_post_stratum_nobody_has_is_dropped_and_the_note_says_so() -> None:
    margins = {**MARGINS, "age_band": {"18-44": 0.5, "45+": 0.5}}
    result = satisfaction_index(UNBALANCED, margins=margins, post_strata=["district", "age_band"])
    assert (result.value, result.method) == (pytest.approx(59.2), "post-stratified")
    assert result.note == "no answer has a district and age_band with a population share"


def test_raking_that_cannot_converge_falls_back_and_says_so() -> None:
    # Nobody in Xihu is 45 or over, yet Xihu is 80% of the city and the young only 20%:
    # no weights can match both margins.
    margins = {
        "district": {"xihu": 0.8, "binjiang": 0.2},
        "age_band": {"18-44": 0.2, "45+": 0.8},
    }
    observations = [
        *answers("xihu", 100, 80, 80, 100, 80, age_band="18-44"),
        *answers("binjiang", 0, 80, 0, 80, 0, age_band="18-44"),
        *answers("binjiang", 80, 80, 0, 100, 80, age_band="45+"),
    ]
    result = satisfaction_index(observations, margins=margins, post_strata=["district", "age_band"])
    assert (result.method, result.weighted_by) == ("post-stratified", ("district",))
    assert result.note.startswith("raking on district, age_band did not converge in 200 rounds")
    assert result.value == pytest.approx(0.8 * 88 + 0.2 * 50)


def test_one_answer_gives_no_interval_and_none_gives_no_index() -> None:
    one = index(answers("xihu", 80))
    assert (one.value, one.ci_low, one.ci_high, one.n) == (80.0, None, None, 1)
    none = index(answers("xihu", None))
    assert none == IndexResult(None, None, None, 0, 1, False)


def test_distribution_lists_every_option_in_order_then_others() -> None:
    values = ["4", "5", None, "dk", "5", "x"]
    assert distribution(values, ["5", "4", "3", "dk"]) == {"5": 2, "4": 1, "3": 0, "dk": 1, "x": 1}
    assert list(distribution(values, ["5", "4", "3", "dk"])) == ["5", "4", "3", "dk", "x"]


def test_mean_leaves_out_dont_know() -> None:
    assert mean([100, None, 50]) == 75.0
    assert mean([None]) is None
