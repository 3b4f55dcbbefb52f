"""The conversation sets stay apart from what the model learns from: no message of the
development set is a training example or an FAQ question, and no held-out message is
either, except the short everyday phrases anyone would write the same way ("hello",
"你好", "what can you do")."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data"
ANNOTATION = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def _messages(name: str) -> set[str]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return {row[2].strip() for row in rows[1:]}


def _trained() -> set[str]:
    """Every NLU example (annotations removed) and every FAQ question."""
    examples = set()
    for path in sorted((ROOT / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" not in block:
                continue
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    examples.add(ANNOTATION.sub(r"\1", line.strip()[2:]).strip())
    faq = yaml.safe_load((ROOT / "profiles" / "hangzhou" / "faq.yml").read_text("utf-8"))
    for entry in faq["faq"]:
        for questions in entry["questions"].values():
            examples.update(q.strip() for q in questions)
    return examples


def _phrase(message: str) -> bool:
    """Long enough that two people would not write it word for word by chance."""
    return len(message.split()) >= 6 if message.isascii() else len(message) >= 10


def test_no_development_message_is_trained_on() -> None:
    assert sorted(_messages("conversation_dev.tsv") & _trained()) == []


def test_no_held_out_phrase_is_trained_on() -> None:
    shared = sum(1 for m in _messages("conversation_heldout.tsv") & _trained() if _phrase(m))
    # the count only, computed before the assertion so that a failure cannot print the
    # messages: the held-out set is not to be read while working on the model
    assert shared == 0, f"{shared} held-out phrase(s) are in the training data"


def test_a_phrase_is_told_from_an_everyday_word() -> None:
    assert _phrase("the street light outside no 5 is dark")
    assert _phrase("小区门口的路灯坏了一个星期了")
    assert not _phrase("what can you do") and not _phrase("你好")
