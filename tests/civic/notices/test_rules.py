"""The notice rules of the profile load as written, and a wrong file is refused with the
file and the entry: an unknown kind, an unknown code, an unknown agency, a bad number."""

from __future__ import annotations

from pathlib import Path

import pytest

from civic.city import Profile
from civic.notices import NoticeRulesError, load_notice_rules, notice_rules_path
from civic.opinion import Codebook, codebook_path, load_codebook


@pytest.fixture
def codebook(profile: Profile) -> Codebook:
    return load_codebook(codebook_path(profile), profile)


def test_the_profile_rules_load(profile: Profile, codebook: Codebook) -> None:
    rules = load_notice_rules(notice_rules_path(profile), profile, codebook)
    assert [(r.rule, r.kind) for r in rules.rules] == [
        ("code-growth", "code_growth"),
        ("satisfaction-below-target", "satisfaction_below_target"),
        ("reopen-rate", "reopen_rate"),
        ("overdue-rate", "overdue_rate"),
    ]
    growth = rules.rules[0]
    assert growth.numbers == {"min_growth": 0.5, "min_count": 30.0, "significance": 0.05}
    assert rules.rules[2].numbers == {"over": 0.15, "min_n": 20.0}
    assert rules.rules[3].number("over") == 0.10
    assert (rules.number_prefix, rules.response_days, rules.escalation_grace_days) == (
        "GZ",
        15,
        3,
    )


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (
            "{rule: growth, kind: code_growth, min_growth: 0.5, min_count: 30, "
            "codes: [parking-fees]}",
            "rules[0] (growth): unknown code 'parking-fees'",
        ),
        (
            "{rule: growth, kind: code_growing, min_growth: 0.5}",
            "rules[0] (growth): unknown kind 'code_growing'; expected one of code_growth, "
            "satisfaction_below_target, reopen_rate, overdue_rate",
        ),
        (
            "{rule: reopen, kind: reopen_rate, over: fifteen}",
            "rules[0] (reopen): 'over' must be a number from 0 to 1",
        ),
        (
            "{rule: reopen, kind: reopen_rate, over: 1.5}",
            "rules[0] (reopen): 'over' must be a number from 0 to 1",
        ),
        (
            "{rule: growth, kind: code_growth, min_count: 30}",
            "rules[0] (growth): 'min_growth' is required",
        ),
        (
            "{rule: sat, kind: satisfaction_below_target, target: 80, targets: {waterworks: 85}}",
            "rules[0] (sat): unknown agency 'waterworks'",
        ),
        (
            "{rule: late, kind: overdue_rate, over: 0.1, min_growth: 0.5}",
            "rules[0] (late): 'min_growth' is not a setting of overdue_rate",
        ),
    ],
)
def test_a_wrong_rule_is_refused_naming_the_file_and_entry(
    tmp_path: Path, profile: Profile, codebook: Codebook, rule: str, problem: str
) -> None:
    path = tmp_path / "notices.yml"
    path.write_text(f"rules:\n  - {rule}\n", encoding="utf-8")
    with pytest.raises(NoticeRulesError) as refused:
        load_notice_rules(path, profile, codebook)
    assert str(refused.value) == f"{path}: {problem}"


def test_a_missing_file_is_refused(tmp_path: Path, profile: Profile, codebook: Codebook) -> None:
    path = tmp_path / "notices.yml"
    with pytest.raises(NoticeRulesError, match="file is missing"):
        load_notice_rules(path, profile, codebook)
