"""The hand-coded opinion sets: well formed, coded with leaf codes, apart from each other."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data"
CODEBOOK = ROOT / "profiles" / "hangzhou" / "opinion" / "codebook.yml"
HEADER = ["language", "source", "code", "text"]
LANGUAGES = {"zh", "en"}
SOURCES = {"complaint", "survey", "window", "reopen"}
MINIMUM = {"opinion_heldout.tsv": 300, "opinion_dev.tsv": 150}


def _leaf_codes() -> set[str]:
    book = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    return {entry["code"] for entry in book["codes"] if entry.get("parent")}


def _rows(name: str) -> list[list[str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == HEADER, f"{name}: header"
    rows = [line.split("\t") for line in lines[1:]]
    for number, row in enumerate(rows, start=2):
        assert len(row) == 4, f"{name}:{number}: {len(row)} fields"
        assert row[3].strip(), f"{name}:{number}: empty text"
    return rows


@pytest.mark.parametrize("name", sorted(MINIMUM))
def test_every_row_has_a_language_a_source_and_a_leaf_code(name: str) -> None:
    leaves = _leaf_codes()
    for language, source, code, text in _rows(name):
        assert language in LANGUAGES, f"{name}: language {language!r}: {text}"
        assert source in SOURCES, f"{name}: source {source!r}: {text}"
        assert code in leaves, f"{name}: not a leaf code {code!r}: {text}"


@pytest.mark.parametrize("name", sorted(MINIMUM))
def test_enough_comments_in_each_language(name: str) -> None:
    per_language = Counter(row[0] for row in _rows(name))
    for language in LANGUAGES:
        assert per_language[language] >= MINIMUM[name], (name, language)


def test_no_text_occurs_twice_within_or_across_the_sets() -> None:
    texts = Counter(row[3].strip() for name in MINIMUM for row in _rows(name))
    assert [text for text, count in texts.items() if count > 1] == []


def test_every_leaf_code_is_in_the_heldout_set_in_both_languages() -> None:
    present = {(row[0], row[2]) for row in _rows("opinion_heldout.tsv")}
    missing = [
        (language, code)
        for code in sorted(_leaf_codes())
        for language in sorted(LANGUAGES)
        if (language, code) not in present
    ]
    assert missing == []
