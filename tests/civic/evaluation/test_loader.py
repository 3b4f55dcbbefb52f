"""Loading the yearly scheme: Hangzhou's 2026 scheme as shipped, and each rule a wrong file
breaks, with the error naming the file and the entry."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from civic.city import Profile
from civic.errors import ProfileError
from civic.evaluation import SchemeError, load_scheme, scheme_path
from civic.settings import PROJECT_ROOT

HANGZHOU_2026 = PROJECT_ROOT / "profiles" / "hangzhou" / "evaluation" / "2026.yml"


def test_hangzhous_2026_scheme(profile: Profile) -> None:
    scheme = load_scheme(scheme_path(profile, 2026), profile)
    assert (scheme.year, scheme.revision) == (2026, 1)
    maxima = (scheme.public.max_points, scheme.targets.max_points, scheme.leaders.max_points)
    assert maxima == (50.0, 45.0, 5.0)
    assert scheme.agencies == tuple(profile.agencies)
    assert scheme.counted_levels == {"verified_phone", "invited"}
    assert {code: s.weight for code, s in scheme.public.sources.items()} == {
        "survey": 0.8,
        "windows": 0.1,
        "tickets": 0.1,
    }
    assert [(i.code, i.weight) for i in scheme.targets.indicators] == [
        ("on_time_rate", 0.2),
        ("reopen_rate", 0.1),
        ("confirmed_fixed_rate", 0.1),
        ("key_tasks_completion", 0.4),
        ("commitments_fulfilled", 0.2),
    ]
    on_time = scheme.targets.indicators[0]
    assert (on_time.target_for("water"), on_time.target_for("transport")) == (0.95, 0.9)
    assert (scheme.bonus.cap, scheme.penalty.cap) == (3.0, 5.0)
    assert [(b.code, b.top, b.bottom, b.min, b.max) for b in scheme.bands] == [
        ("satisfied", 3, None, 85.0, None),
        ("unsatisfied", None, 1, None, 75.0),
    ]
    assert scheme.public.scores["hangzhou"]["basically_satisfied"] == 80.0


def test_a_scheme_error_is_a_profile_error() -> None:
    assert issubclass(SchemeError, ProfileError)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets the value at a dotted path (list positions as numbers)."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _drop(path: str, key: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[key]

    return change


WRONG = [
    (
        _set("components.public.max_points", 40),
        "components: the maxima sum to 90, not 100",
    ),
    (
        _set("components.public.sources.windows.weight", 0.2),
        "components.public.sources: the weights sum to 1.1, not 1",
    ),
    (
        _set("components.targets.indicators.0.weight", 0.1),
        "components.targets.indicators: the weights sum to 0.9, not 1",
    ),
    (
        _set("components.public.sources.hotline", {"weight": 0}),
        "components.public.sources.hotline: unknown source (known: survey, windows, tickets)",
    ),
    (_set("bonus.cap", -1), "bonus: 'cap' must not be negative"),
    (
        _set("penalty.items.0.cap", 1),
        "penalty item 'accountability': 'max_points' must be above 0 and at most 'cap'",
    ),
    (
        _set("components.targets.indicators.0.code", "speed"),
        "components.targets.indicators[0]: unknown indicator 'speed'",
    ),
    (
        _set("components.targets.indicators.0.targets", {"fire": 0.9}),
        "components.targets.indicator 'on_time_rate'.targets: unknown agency 'fire'",
    ),
    (
        _set("components.targets.indicators.1.target", 0),
        "components.targets.indicator 'reopen_rate': 'target' must be above 0",
    ),
    (
        _set("district_scorecard.indicators.0", "key_tasks_completion"),
        "district_scorecard.indicators[0]: unknown indicator 'key_tasks_completion' (a "
        "district has the ticket indicators: volume, on_time_rate, median_hours, p90_hours, "
        "reopen_rate, overdue_rate, confirmed_fixed_rate, ticket_satisfaction)",
    ),
    (
        _set("agency_indicators.0.direction", "up"),
        "agency indicator 'key_tasks_completion': 'direction' must be one of higher, lower",
    ),
    (
        _set("bands.0.bottom", 1),
        "band 'satisfied': give either 'top' or 'bottom' (how many agencies)",
    ),
    (_set("bands.0.max", 60), "band 'satisfied': a top band takes 'min', not 'max'"),
    (_set("bands.1.bottom", 0), "band 'unsatisfied': 'bottom' must be a whole number above 0"),
    (_set("bands.1.by", "votes"), "band 'unsatisfied': 'by' must be one of total, public"),
    (
        _set("counted_levels", ["verified_phone", "robot"]),
        "counted_levels: unknown assurance level 'robot' (known: anonymous, account, "
        "verified_phone, invited)",
    ),
    (
        _set("counted_levels", ["verified_phone"]),
        "counted_levels: the sampled survey's answers are 'invited': count that level",
    ),
    (
        _set("components.public.scores.stars", {"1": 0, "5": 100}),
        "components.public.scores.stars: give a score for each of 1, 2, 3, 4, 5",
    ),
    (_set("year", 2025), "top level: 'year' is 2025 but the file is 2026.yml"),
    (_set("agencies", ["water", "fire"]), "agencies[1]: unknown agency 'fire'"),
    (_drop("components", "leaders"), "components: 'leaders' is required"),
    (_set("name", {"zh": "方案"}), "top level: 'name' needs a non-empty 'en' text"),
]


@pytest.mark.parametrize(("change", "problem"), WRONG)
def test_a_wrong_scheme_names_the_file_and_entry(
    profile: Profile, tmp_path: Path, change: Callable[[dict[str, Any]], None], problem: str
) -> None:
    data = copy.deepcopy(yaml.safe_load(HANGZHOU_2026.read_text(encoding="utf-8")))
    change(data)
    path = tmp_path / "2026.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SchemeError) as info:
        load_scheme(path, profile)
    assert str(info.value) == f"{path}: {problem}"


def test_a_missing_scheme(profile: Profile, tmp_path: Path) -> None:
    with pytest.raises(SchemeError) as info:
        load_scheme(tmp_path / "2030.yml", profile)
    assert str(info.value) == f"{tmp_path / '2030.yml'}: file is missing"


def test_a_scheme_that_is_not_yaml(profile: Profile, tmp_path: Path) -> None:
    path = tmp_path / "2026.yml"
    path.write_text("year: [2026\n", encoding="utf-8")
    with pytest.raises(SchemeError) as info:
        load_scheme(path, profile)
    assert str(info.value).startswith(f"{path}: not valid yml: ")
