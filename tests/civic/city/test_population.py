"""The population shares that weight survey results (`profiles/<city>/population.yml`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from civic.city import Profile, load_population
from civic.errors import ProfileError
from civic.surveys import load_surveys


def test_hangzhou_population_covers_every_district(profile: Profile) -> None:
    population = load_population(profile.path)
    assert set(population.shares["district"]) == set(profile.districts)
    assert sum(population.shares["district"].values()) == pytest.approx(1, abs=0.01)


def test_margins_keep_the_file_order_which_decides_neighbours(profile: Profile) -> None:
    population = load_population(profile.path)
    assert list(population.shares["age_band"]) == ["18-29", "30-44", "45-59", "60+"]
    assert list(population.shares["district"])[:2] == ["shangcheng", "gongshu"]


def test_every_post_stratum_of_the_profile_surveys_has_shares(profile: Profile) -> None:
    population = load_population(profile.path)
    surveys = load_surveys(profile.path / "surveys", agencies=profile.agencies)
    assert surveys["annual_satisfaction"].post_strata == ("district", "age_band")
    for survey in surveys.values():
        assert set(survey.post_strata) <= set(population.shares), survey.key


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
