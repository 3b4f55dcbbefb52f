"""The satisfaction index (post-stratified, with its confidence interval), answer
distributions, and the population shares that weight them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from civic.city import Profile, load_population
from civic.errors import ProfileError
from civic.surveys import IndexResult, Observation, distribution, mean, satisfaction_index

SHARES = {"district=xihu": 0.5, "district=binjiang": 0.3, "district=chunan": 0.2}


def answers(district: str, *scores: float | None) -> list[Observation]:
    return [Observation({"district": district}, score) for score in scores]


# Xihu answered far more than its share and Chun'an hardly at all; one Binjiang
# respondent did not know.
UNBALANCED = [
    *answers("xihu", 100, 80, 80, 60),
    *answers("binjiang", 40, 60, None),
    *answers("chunan", 100),
]


def test_post_stratified_index_is_the_population_weighted_mean() -> None:
    result = satisfaction_index(UNBALANCED, population_shares=SHARES, post_strata=["district"])
    # Stratum means 80, 50, 100 weighted 0.5, 0.3, 0.2.
    assert result.value == pytest.approx(75.0)
    assert (result.n, result.n_dont_know, result.weighted) == (7, 1, True)


def test_post_stratified_index_differs_from_the_plain_mean_of_an_unbalanced_sample() -> None:
    result = satisfaction_index(UNBALANCED, population_shares=SHARES, post_strata=["district"])
    plain = mean(o.score for o in UNBALANCED)
    assert plain == pytest.approx(520 / 7)
    assert result.value != pytest.approx(plain)


def test_confidence_interval_is_from_the_stratified_variance() -> None:
    result = satisfaction_index(UNBALANCED, population_shares=SHARES, post_strata=["district"])
    # s_h^2: Xihu 800/3, Binjiang 200; Chun'an has one answer and borrows the variance of
    # the whole sample, 10400/21.
    variance = 0.5**2 * (800 / 3) / 4 + 0.3**2 * 200 / 2 + 0.2**2 * (10400 / 21) / 1
    half = 1.96 * math.sqrt(variance)
    assert result.ci_low == pytest.approx(75.0 - half)
    assert result.ci_high == pytest.approx(75.0 + half)
    assert (round(result.ci_low or 0, 2), round(result.ci_high or 0, 2)) == (61.78, 88.22)


def test_shares_are_renormalised_over_strata_that_answered() -> None:
    shares = {
        "district=xihu": 0.25,
        "district=binjiang": 0.15,
        "district=chunan": 0.1,
        "district=fuyang": 0.5,
    }
    result = satisfaction_index(UNBALANCED, population_shares=shares, post_strata=["district"])
    expected = satisfaction_index(UNBALANCED, population_shares=SHARES, post_strata=["district"])
    assert result.value == pytest.approx(expected.value)
    assert result.ci_low == pytest.approx(expected.ci_low)


def test_dont_know_is_counted_apart_and_not_scored() -> None:
    observations = answers("xihu", 100, None, None, 0)
    result = satisfaction_index(observations, population_shares=SHARES, post_strata=["district"])
    assert (result.value, result.n, result.n_dont_know) == (50.0, 2, 2)


def test_interval_is_clipped_to_the_score_range() -> None:
    observations = answers("xihu", 100, 100, 100, 60)
    result = satisfaction_index(observations, population_shares=SHARES, post_strata=["district"])
    assert result.value == pytest.approx(90.0)
    assert result.ci_high == 100.0
    assert result.ci_low == pytest.approx(90.0 - 1.96 * math.sqrt(400 / 4))


def test_without_shares_the_index_is_the_plain_mean() -> None:
    result = satisfaction_index(UNBALANCED, population_shares={}, post_strata=["district"])
    half = 1.96 * math.sqrt((10400 / 21) / 7)
    assert result.value == pytest.approx(520 / 7)
    assert (result.ci_low, result.ci_high) == (
        pytest.approx(520 / 7 - half),
        pytest.approx(520 / 7 + half),
    )
    assert (result.n, result.n_dont_know, result.weighted) == (7, 1, False)


def test_answers_outside_every_post_stratum_are_left_out_of_the_weighted_index() -> None:
    observations = [*UNBALANCED, *answers("?", 0)]
    result = satisfaction_index(observations, population_shares=SHARES, post_strata=["district"])
    assert result.value == pytest.approx(75.0)
    assert (result.n, result.n_unplaced) == (8, 1)


def test_one_answer_gives_no_interval_and_none_gives_no_index() -> None:
    one = satisfaction_index(
        answers("xihu", 80), population_shares=SHARES, post_strata=["district"]
    )
    assert (one.value, one.ci_low, one.ci_high, one.n) == (80.0, None, None, 1)
    none = satisfaction_index(
        answers("xihu", None), population_shares=SHARES, post_strata=["district"]
    )
    assert none == IndexResult(None, None, None, 0, 1, False)


def test_distribution_lists_every_option_in_order_then_others() -> None:
    values = ["4", "5", None, "dk", "5", "x"]
    assert distribution(values, ["5", "4", "3", "dk"]) == {"5": 2, "4": 1, "3": 0, "dk": 1, "x": 1}
    assert list(distribution(values, ["5", "4", "3", "dk"])) == ["5", "4", "3", "dk", "x"]


def test_mean_leaves_out_dont_know() -> None:
    assert mean([100, None, 50]) == 75.0
    assert mean([None]) is None


def test_hangzhou_population_covers_every_district(profile: Profile) -> None:
    population = load_population(profile.path)
    assert set(population.shares["district"]) == set(profile.districts)
    assert sum(population.shares["district"].values()) == pytest.approx(1, abs=0.01)
    shares = population.post_stratum_shares(["district"])
    assert shares["district=xihu"] == population.shares["district"]["xihu"]


def test_crossed_post_strata_multiply_the_margins(profile: Profile) -> None:
    population = load_population(profile.path)
    shares = population.post_stratum_shares(["district", "age_band"])
    district, band = population.shares["district"]["xihu"], population.shares["age_band"]["60+"]
    assert shares["district=xihu|age_band=60+"] == pytest.approx(district * band)
    assert sum(shares.values()) == pytest.approx(1, abs=0.02)
    with pytest.raises(ValueError, match="income"):
        population.post_stratum_shares(["income"])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("shares: {district: {xihu: 1.5, binjiang: -0.5}}", "shares.district.xihu: the share"),
        ("shares: {district: {xihu: 0.5, binjiang: 0.4}}", "shares.district: the shares sum"),
        ("shares: {district: {xihu: 0.5, binjiang: 0.4, qiantang: 0.1}}", "unknown district"),
        ("shares: {district: {xihu: 1.0}}", "district 'binjiang' has no share"),
        ("shares: {age_band: {60+: 1.0}}", "'district' is required"),
        ("shares: {district: {xihu: 0.5, binjiang: yes}}", "shares.district.binjiang"),
        ("[1, 2]", "top level"),
    ],
)
def test_population_errors_name_the_file_and_entry(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "population.yml").write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as raised:
        load_population(tmp_path, districts={"xihu", "binjiang"})
    assert str(tmp_path / "population.yml") in str(raised.value)
    assert problem in str(raised.value)


def test_missing_population_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="file is missing"):
        load_population(tmp_path, districts={"xihu"})
