"""The rules that propose improvement notices: `profiles/<city>/opinion/notices.yml`
(described in the README beside it), checked on the way in against the codebook and the
profile's agencies; an error names the file and the entry, as the codebook's do."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from civic.city import Profile
from civic.errors import ProfileError
from civic.opinion import Codebook

CODE_GROWTH = "code_growth"
SATISFACTION = "satisfaction_below_target"
REOPEN_RATE = "reopen_rate"
OVERDUE_RATE = "overdue_rate"
KINDS = (CODE_GROWTH, SATISFACTION, REOPEN_RATE, OVERDUE_RATE)
# What a notice of each kind is about, when it is not a code.
SUBJECTS = {SATISFACTION: "satisfaction", REOPEN_RATE: "reopen_rate", OVERDUE_RATE: "overdue_rate"}
# The numbers each kind takes: name -> (required, least, most).
_NUMBERS: dict[str, dict[str, tuple[bool, float, float]]] = {
    CODE_GROWTH: {
        "min_growth": (True, 0.0, 100.0),
        "min_count": (True, 1.0, 1e9),
        "significance": (False, 0.0, 1.0),
    },
    SATISFACTION: {"target": (True, 0.0, 100.0)},
    REOPEN_RATE: {"over": (True, 0.0, 1.0), "min_n": (False, 1.0, 1e9)},
    OVERDUE_RATE: {"over": (True, 0.0, 1.0), "min_n": (False, 1.0, 1e9)},
}
DEFAULT_MIN_N = 20


class NoticeRulesError(ProfileError):
    """The notice rules are missing or wrong; the message names the file and entry."""


@dataclass(frozen=True)
class NoticeRule:
    """One rule: its name (stored on the notices it proposes), its kind, its numbers,
    and for code_growth the codes it watches (empty: every code of the codebook), for
    satisfaction_below_target the targets of named agencies."""

    rule: str
    kind: str
    numbers: dict[str, float]
    codes: tuple[str, ...] = ()
    targets: dict[str, float] = field(default_factory=dict)

    def number(self, name: str, default: float | None = None) -> float | None:
        return self.numbers.get(name, default)

    def as_json(self) -> dict[str, Any]:
        """What the rule said when it proposed a notice, kept with the evidence."""
        found: dict[str, Any] = {"rule": self.rule, "kind": self.kind, **self.numbers}
        if self.codes:
            found["codes"] = list(self.codes)
        if self.targets:
            found["targets"] = dict(self.targets)
        return found


@dataclass(frozen=True)
class NoticeRules:
    rules: tuple[NoticeRule, ...]
    number_prefix: str
    response_days: int
    escalation_grace_days: int
    path: Path


def notice_rules_path(profile: Profile) -> Path:
    return profile.path / "opinion" / "notices.yml"


def load_notice_rules(path: Path, profile: Profile, codebook: Codebook) -> NoticeRules:
    """Load and check the rules in `path`; raise NoticeRulesError naming the file and
    entry when they are wrong."""
    if not path.is_file():
        raise NoticeRulesError(f"{path}: file is missing")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise NoticeRulesError(f"{path}: not valid yml: {exc}") from exc
    return _Reader(path, profile, codebook).rules(data)


class _Reader:
    def __init__(self, path: Path, profile: Profile, codebook: Codebook) -> None:
        self.path, self.profile, self.codebook = path, profile, codebook

    def fail(self, entry: str, problem: str) -> NoticeRulesError:
        return NoticeRulesError(f"{self.path}: {entry}: {problem}")

    def rules(self, data: Any) -> NoticeRules:
        if not isinstance(data, dict):
            raise self.fail("top level", "expected a mapping with 'rules'")
        prefix = data.get("number_prefix", "GZ")
        if not isinstance(prefix, str) or not re.fullmatch(r"[A-Z]{1,8}", prefix):
            raise self.fail("number_prefix", "expected 1 to 8 capital letters")
        items = data.get("rules")
        if not isinstance(items, list) or not items:
            raise self.fail("top level", "expected a non-empty list under 'rules'")
        rules = tuple(self.rule(item, f"rules[{i}]") for i, item in enumerate(items))
        names = [rule.rule for rule in rules]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise self.fail(f"rules[{i}] ({name})", "duplicate rule")
        return NoticeRules(
            rules=rules,
            number_prefix=prefix,
            response_days=self.days(data, "response_days", 15, least=1),
            escalation_grace_days=self.days(data, "escalation_grace_days", 0, least=0),
            path=self.path,
        )

    def days(self, data: dict[str, Any], key: str, default: int, *, least: int) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= 365:
            raise self.fail(key, f"expected a whole number of days from {least} to 365")
        return value

    def rule(self, item: Any, entry: str) -> NoticeRule:
        if not isinstance(item, dict):
            raise self.fail(entry, "expected a mapping")
        name = item.get("rule")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9-]{0,63}", name):
            raise self.fail(entry, "'rule' is required: lower-case letters, digits and dashes")
        entry = f"{entry} ({name})"
        kind = item.get("kind")
        if kind not in KINDS:
            raise self.fail(entry, f"unknown kind '{kind}'; expected one of {', '.join(KINDS)}")
        allowed = {"rule", "kind", *_NUMBERS[kind]}
        allowed |= {"codes"} if kind == CODE_GROWTH else set()
        allowed |= {"targets"} if kind == SATISFACTION else set()
        for key in item:
            if key not in allowed:
                raise self.fail(entry, f"'{key}' is not a setting of {kind}")
        numbers = {}
        for key, (required, least, most) in _NUMBERS[kind].items():
            if key in item:
                numbers[key] = self.number(item[key], entry, key, least, most)
            elif required:
                raise self.fail(entry, f"'{key}' is required")
        return NoticeRule(
            rule=name,
            kind=kind,
            numbers=numbers,
            codes=self.codes(item.get("codes"), entry),
            targets=self.targets(item.get("targets"), entry),
        )

    def number(self, value: Any, entry: str, key: str, least: float, most: float) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not least <= value <= most:
            raise self.fail(entry, f"'{key}' must be a number from {least:g} to {most:g}")
        return float(value)

    def codes(self, value: Any, entry: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
            raise self.fail(entry, "'codes' must be a list of codes")
        for code in value:
            if code not in self.codebook.codes:
                raise self.fail(entry, f"unknown code '{code}'")
        return tuple(dict.fromkeys(value))

    def targets(self, value: Any, entry: str) -> dict[str, float]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(entry, "'targets' must map agencies to numbers")
        for agency in value:
            if agency not in self.profile.agencies:
                raise self.fail(entry, f"unknown agency '{agency}'")
        return {
            str(agency): self.number(target, entry, f"targets.{agency}", 0.0, 100.0)
            for agency, target in value.items()
        }
