"""Stratified sampling: stratum keys, allocation and the reproducible draw."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from civic.campaigns import allocate, attributes_of_key, draw_sample, stratum_key

SIZES = {"district=xihu": 500, "district=binjiang": 300, "district=chunan": 200}


def frame() -> list[tuple[int, dict[str, str | None]]]:
    """1,000 units: 500 in Xihu, 300 in Binjiang, 200 in Chun'an, two age bands each."""
    units: list[tuple[int, dict[str, str | None]]] = []
    for district, size in (("xihu", 500), ("binjiang", 300), ("chunan", 200)):
        for i in range(size):
            band = "18-29" if i % 2 else "60+"
            units.append((len(units) + 1, {"district": district, "age_band": band}))
    return units


def test_stratum_key_names_each_attribute_in_order() -> None:
    attrs = {"age_band": "30-44", "district": "xihu", "gender": "f"}
    assert stratum_key(attrs, ["district", "age_band"]) == "district=xihu|age_band=30-44"


def test_stratum_key_marks_missing_attributes() -> None:
    key = stratum_key({"district": None, "gender": ""}, ["district", "age_band", "gender"])
    assert key == "district=?|age_band=?|gender=?"


def test_unstratified_key_is_the_whole_population() -> None:
    assert stratum_key({"district": "xihu"}, []) == "all"


def test_key_reads_back_into_attributes() -> None:
    key = "district=xihu|age_band=?"
    assert attributes_of_key(key) == {"district": "xihu", "age_band": None}
    assert attributes_of_key("all") == {}


def test_proportional_allocation_follows_the_sizes() -> None:
    assert allocate(SIZES, 100, "proportional") == {
        "district=xihu": 50,
        "district=binjiang": 30,
        "district=chunan": 20,
    }


def test_proportional_rounding_keeps_the_total_exact() -> None:
    sizes = {"a": 1, "b": 1, "c": 1}
    assert allocate(sizes, 2, "proportional") == {"a": 1, "b": 1, "c": 0}
    sizes = {"a": 333, "b": 333, "c": 334}
    result = allocate(sizes, 10, "proportional")
    assert sum(result.values()) == 10
    assert result == {"a": 3, "b": 3, "c": 4}


@pytest.mark.parametrize("n", [0, 1, 7, 99, 100, 101, 517, 999])
@pytest.mark.parametrize("method", ["proportional", "equal"])
def test_allocation_totals_n_and_respects_sizes(n: int, method: str) -> None:
    sizes = {"a": 3, "b": 40, "c": 57, "d": 900, "e": 0}
    result = allocate(sizes, n, method)
    assert sum(result.values()) == n
    assert all(0 <= result[key] <= sizes[key] for key in sizes)


def test_equal_allocation_gives_each_stratum_the_same() -> None:
    assert allocate(SIZES, 90, "equal") == {
        "district=xihu": 30,
        "district=binjiang": 30,
        "district=chunan": 30,
    }


def test_equal_allocation_redistributes_what_a_small_stratum_cannot_take() -> None:
    sizes = {"big": 100, "mid": 100, "small": 5}
    assert allocate(sizes, 60, "equal") == {"big": 28, "mid": 27, "small": 5}


def test_sample_larger_than_population_takes_everyone() -> None:
    assert allocate(SIZES, 5000, "proportional") == SIZES
    assert allocate(SIZES, 5000, "equal") == SIZES


@pytest.mark.parametrize(("n", "method"), [(10, "quota"), (-1, "equal")])
def test_allocation_rejects_bad_input(n: int, method: str) -> None:
    with pytest.raises(ValueError):
        allocate(SIZES, n, method)


def test_proportional_sample_matches_population_proportions() -> None:
    units = frame()
    population = Counter(stratum_key(attrs, ["district", "age_band"]) for _, attrs in units)
    sample = draw_sample(
        units, strata=["district", "age_band"], n=137, allocation="proportional", seed=7
    )
    assert len(sample) == 137
    drawn = Counter(key for _, key in sample)
    for key, size in population.items():
        assert abs(drawn[key] - 137 * size / len(units)) <= 1


def test_sampled_units_carry_their_own_stratum() -> None:
    units = frame()
    by_id = dict(units)
    sample = draw_sample(units, strata=["district"], n=50, allocation="equal", seed=1)
    assert all(key == f"district={by_id[unit_id]['district']}" for unit_id, key in sample)
    assert Counter(key for _, key in sample) == {
        "district=binjiang": 17,
        "district=xihu": 17,
        "district=chunan": 16,
    }


def test_same_seed_gives_the_same_sample_whatever_the_input_order() -> None:
    units = frame()
    shuffled = list(units)
    random.Random(3).shuffle(shuffled)
    first = draw_sample(units, strata=["district"], n=100, allocation="proportional", seed=42)
    again = draw_sample(shuffled, strata=["district"], n=100, allocation="proportional", seed=42)
    assert first == again


def test_another_seed_gives_another_sample() -> None:
    units = frame()
    first = draw_sample(units, strata=["district"], n=100, allocation="proportional", seed=42)
    other = draw_sample(units, strata=["district"], n=100, allocation="proportional", seed=43)
    assert {unit_id for unit_id, _ in first} != {unit_id for unit_id, _ in other}


def test_sample_has_no_repeats_and_only_frame_units() -> None:
    units = frame()
    sample = draw_sample(units, strata=["district"], n=300, allocation="equal", seed=5)
    ids = [unit_id for unit_id, _ in sample]
    assert len(ids) == len(set(ids)) == 300
    assert set(ids) <= {unit_id for unit_id, _ in units}


def test_duplicate_unit_ids_are_refused() -> None:
    with pytest.raises(ValueError):
        draw_sample([(1, {}), (1, {})], strata=[], n=1, allocation="equal", seed=0)
