"""The codebook: the themes citizens' free texts are coded under, two levels deep (a theme
and its codes), with zh and en labels, keyword rules in both languages and the complaint
categories that map to a theme. Loaded from `profiles/<city>/opinion/codebook.yml` and
checked on the way in; an error names the file and the entry, as the profile's do.

A code is suggested for a text when a rule's keyword is in it (Chinese keywords anywhere,
English ones at the start of a word, both in lower case) or when the complaint's category
maps to it. A theme is dropped when one of its own codes is suggested too: the specific
code says more, and counting both would count the comment twice under one theme.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from civic.city import Profile
from civic.errors import ProfileError
from civic.i18n import LANGUAGES, localised


class CodebookError(ProfileError):
    """The codebook is missing or wrong; the message names the file and entry."""


@dataclass(frozen=True)
class Code:
    code: str
    label: dict[str, str]
    parent: str | None
    categories: tuple[str, ...]

    def name(self, lang: str | None) -> str:
        return localised(self.label, lang)


@dataclass(frozen=True)
class Rule:
    code: str
    zh: tuple[str, ...]
    en: tuple[str, ...]

    @cached_property
    def english(self) -> re.Pattern[str]:
        """Any English keyword at the start of a word."""
        return re.compile(rf"(?<![a-z])(?:{'|'.join(re.escape(word) for word in self.en)})")


@dataclass(frozen=True)
class Codebook:
    codes: dict[str, Code]
    rules: tuple[Rule, ...]
    path: Path

    def themes(self) -> list[Code]:
        return [code for code in self.codes.values() if code.parent is None]

    def children(self, parent: str) -> list[Code]:
        return [code for code in self.codes.values() if code.parent == parent]

    def label(self, code: str, lang: str | None) -> str:
        """The code's label in `lang`; an unknown code (dropped from the codebook since it
        was used) is shown as itself."""
        known = self.codes.get(code)
        return known.name(lang) if known else code

    def suggest(self, text: str | None, category: str | None = None) -> tuple[str, ...]:
        """The codes the keyword rules and the complaint's category suggest, sorted."""
        lowered = (text or "").lower()
        found = {rule.code for rule in self.rules if _matches(rule, lowered)}
        if category:
            found |= {code.code for code in self.codes.values() if category in code.categories}
        parents = {self.codes[code].parent for code in found}
        return tuple(sorted(code for code in found if code not in parents))


def _matches(rule: Rule, lowered: str) -> bool:
    if any(keyword in lowered for keyword in rule.zh):
        return True
    return rule.english.search(lowered) is not None


def codebook_path(profile: Profile) -> Path:
    return profile.path / "opinion" / "codebook.yml"


def load_codebook(path: Path, profile: Profile) -> Codebook:
    """Load and check the codebook in `path` against the profile's categories; raise
    CodebookError naming the file and entry when it is wrong."""
    if not path.is_file():
        raise CodebookError(f"{path}: file is missing")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CodebookError(f"{path}: not valid yml: {exc}") from exc
    return _Reader(path, profile).codebook(data)


class _Reader:
    def __init__(self, path: Path, profile: Profile) -> None:
        self.path = path
        self.profile = profile

    def fail(self, entry: str, problem: str) -> CodebookError:
        return CodebookError(f"{self.path}: {entry}: {problem}")

    def items(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        items = data.get(key)
        if not isinstance(items, list) or not items:
            raise self.fail("top level", f"expected a non-empty list under '{key}'")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}]", "expected a mapping")
        return items

    def codebook(self, data: Any) -> Codebook:
        if not isinstance(data, dict):
            raise self.fail("top level", "expected a mapping with 'codes' and 'rules'")
        codes: dict[str, Code] = {}
        for i, item in enumerate(self.items(data, "codes")):
            code = self.code(item, f"codes[{i}]")
            if code.code in codes:
                raise self.fail(f"codes[{i}] ({code.code})", "duplicate code")
            codes[code.code] = code
        for i, code in enumerate(codes.values()):
            self.check_parent(code, codes, f"codes[{i}] ({code.code})")
        rules = tuple(
            self.rule(item, codes, f"rules[{i}]")
            for i, item in enumerate(self.items(data, "rules"))
        )
        return Codebook(codes=codes, rules=rules, path=self.path)

    def code(self, item: dict[str, Any], entry: str) -> Code:
        code = item.get("code")
        if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9-]*", code):
            raise self.fail(entry, "'code' is required: lower-case letters, digits and dashes")
        entry = f"{entry} ({code})"
        label = item.get("label")
        if not isinstance(label, dict):
            raise self.fail(entry, "'label' is required, with a zh and an en text")
        for lang in LANGUAGES:
            if not isinstance(label.get(lang), str) or not label[lang].strip():
                raise self.fail(entry, f"'label' needs a non-empty '{lang}' text")
        categories = self.strings(item.get("categories", []), entry, "categories")
        for category in categories:
            if category not in self.profile.categories:
                raise self.fail(entry, f"unknown category '{category}'")
        parent = item.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise self.fail(entry, "'parent' must be a code")
        return Code(
            code=code,
            label={lang: label[lang] for lang in LANGUAGES},
            parent=parent,
            categories=categories,
        )

    def check_parent(self, code: Code, codes: dict[str, Code], entry: str) -> None:
        if code.parent is None:
            return
        parent = codes.get(code.parent)
        if parent is None:
            raise self.fail(entry, f"unknown parent '{code.parent}'")
        if parent.parent is not None:
            raise self.fail(entry, f"parent '{code.parent}' is not a theme (two levels only)")

    def rule(self, item: dict[str, Any], codes: dict[str, Code], entry: str) -> Rule:
        code = item.get("code")
        if code not in codes:
            raise self.fail(entry, f"unknown code '{code}'")
        entry = f"{entry} ({code})"
        keywords = {lang: self.strings(item.get(lang), entry, lang) for lang in LANGUAGES}
        for lang in LANGUAGES:
            if not keywords[lang]:
                raise self.fail(entry, f"needs keywords in '{lang}'")
        return Rule(
            code=str(code),
            zh=tuple(word.lower() for word in keywords["zh"]),
            en=tuple(word.lower() for word in keywords["en"]),
        )

    def strings(self, value: Any, entry: str, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(
            isinstance(word, str) and word.strip() for word in value
        ):
            raise self.fail(entry, f"'{key}' must be a list of non-empty texts")
        return tuple(word.strip() for word in _unique(value))


def _unique(words: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(words))
