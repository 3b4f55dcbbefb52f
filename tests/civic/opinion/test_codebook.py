"""The codebook loader: the Hangzhou codebook loads and suggests the codes its rules say;
each kind of mistake is refused with the file and the entry named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from civic.city import Profile
from civic.errors import ProfileError
from civic.opinion import Codebook, CodebookError, codebook_path, load_codebook


@pytest.fixture
def codebook(profile: Profile) -> Codebook:
    return load_codebook(codebook_path(profile), profile)


def test_the_hangzhou_codebook_loads(codebook: Codebook) -> None:
    themes = [code.code for code in codebook.themes()]
    assert 8 <= len(themes) <= 12
    assert "health" in themes
    assert [code.code for code in codebook.children("health")] == [
        "hospital-registration",
        "scan-appointments",
        "medical-cost",
    ]
    assert codebook.codes["hospital-registration"].label == {
        "zh": "挂号排队时间长",
        "en": "Long waits for registration",
    }
    assert codebook.codes["health"].categories == ("hospital-service",)


def test_every_code_has_a_rule_or_is_a_theme(codebook: Codebook) -> None:
    ruled = {rule.code for rule in codebook.rules}
    leaves = {code.code for code in codebook.codes.values() if code.parent is not None}
    assert leaves - ruled == set()


@pytest.mark.parametrize(
    ("text", "category", "expected"),
    [
        (
            "医院挂号排了两个小时，做核磁还要等一个月",
            None,
            ("hospital-registration", "scan-appointments"),
        ),
        ("The registration queue at the hospital took hours", None, ("hospital-registration",)),
        ("Scans booked weeks out; MRI waits are absurd", None, ("scan-appointments",)),
        ("看病太贵了，医保报销比例低", None, ("medical-cost",)),
        ("办事流程太复杂，希望简化。", None, ("red-tape",)),
        ("希望老旧小区改造能加快进度。", None, ("old-compound-renovation",)),
        ("排队时间太长，窗口开得太少。", None, ("hall-waiting",)),
        ("The procedures are too complicated; please simplify them.", None, ("red-tape",)),
        # the category's theme, dropped when one of its own codes is suggested
        ("医生很好", "hospital-service", ("health",)),
        ("挂号难", "hospital-service", ("hospital-registration",)),
        # an English keyword matches at the start of a word only
        ("an Airbus flight", None, ()),
        ("Buses never come", None, ("bus-frequency",)),
        ("", None, ()),
    ],
)
def test_suggestions(
    codebook: Codebook, text: str, category: str | None, expected: tuple[str, ...]
) -> None:
    assert codebook.suggest(text, category) == expected


def _spoiled(
    tmp_path: Path, profile: Profile, spoil: Callable[[dict[str, Any]], None]
) -> tuple[Path, str]:
    data = yaml.safe_load(codebook_path(profile).read_text(encoding="utf-8"))
    spoil(data)
    path = tmp_path / "codebook.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CodebookError) as caught:
        load_codebook(path, profile)
    return path, str(caught.value)


def _code(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(item for item in data["codes"] if item["code"] == code)


def _duplicate(data: dict[str, Any]) -> None:
    data["codes"].append({"code": "medical-cost", "label": {"zh": "费用", "en": "Cost"}})


def _no_english(data: dict[str, Any]) -> None:
    del _code(data, "scan-appointments")["label"]["en"]


def _unknown_parent(data: dict[str, Any]) -> None:
    _code(data, "medical-cost")["parent"] = "healthcare"


def _grandchild(data: dict[str, Any]) -> None:
    _code(data, "medical-cost")["parent"] = "scan-appointments"


def _unknown_rule_code(data: dict[str, Any]) -> None:
    data["rules"].append({"code": "parking-fees", "zh": ["停车费"], "en": ["parking fee"]})


def _rule_without_chinese(data: dict[str, Any]) -> None:
    data["rules"][0]["zh"] = []


def _unknown_category(data: dict[str, Any]) -> None:
    _code(data, "health")["categories"] = ["hospital-service", "hospitals"]


@pytest.mark.parametrize(
    ("spoil", "entry", "problem"),
    [
        (_duplicate, "codes[38] (medical-cost)", "duplicate code"),
        (_no_english, "codes[2] (scan-appointments)", "'label' needs a non-empty 'en' text"),
        (_unknown_parent, "codes[3] (medical-cost)", "unknown parent 'healthcare'"),
        (
            _grandchild,
            "codes[3] (medical-cost)",
            "parent 'scan-appointments' is not a theme (two levels only)",
        ),
        (_unknown_rule_code, "rules[27]", "unknown code 'parking-fees'"),
        (_rule_without_chinese, "rules[0] (hospital-registration)", "needs keywords in 'zh'"),
        (_unknown_category, "codes[0] (health)", "unknown category 'hospitals'"),
    ],
)
def test_a_bad_codebook_is_refused_naming_file_and_entry(
    tmp_path: Path,
    profile: Profile,
    spoil: Callable[[dict[str, Any]], None],
    entry: str,
    problem: str,
) -> None:
    path, message = _spoiled(tmp_path, profile, spoil)
    assert message == f"{path}: {entry}: {problem}"


def test_a_missing_codebook_is_a_profile_error(tmp_path: Path, profile: Profile) -> None:
    with pytest.raises(ProfileError) as caught:
        load_codebook(tmp_path / "codebook.yml", profile)
    assert str(caught.value) == f"{tmp_path / 'codebook.yml'}: file is missing"
