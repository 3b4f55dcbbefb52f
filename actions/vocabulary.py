"""Is a message made of words at all?

The intent model always ranks some intent first, even for a row of random letters, and
keysmash such as "qwrtz zzkp" can rank `out_of_scope` high. A citizen who typed that
should be asked to say it another way, not told the assistant cannot help. A message is
*unreadable* when it is written in Latin letters and none of its longer words is one the
assistant was trained on (the NLU examples and the profile's FAQ questions). Chinese text
is always taken as readable: its characters are words to the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import yaml

from civic.city import load_site
from civic.settings import get_settings

NLU_DIR = Path(__file__).resolve().parent.parent / "nlu"

_LATIN_WORD = re.compile(r"[a-z]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_ANNOTATION = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}")
# Words this short are kept out of the decision: "ok", "no" and "hi" are words, and
# random pairs of letters too often collide with one.
MIN_LENGTH = 3


def latin_words(text: str) -> list[str]:
    return _LATIN_WORD.findall(text.lower())


def _examples(path: Path) -> Iterable[str]:
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return
    for block in data.get("nlu") or []:
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield _ANNOTATION.sub(lambda m: m.group(1) or m.group(2) or "", line[2:])


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """Every Latin word of the NLU examples and the FAQ questions."""
    words: set[str] = set()
    for path in sorted(NLU_DIR.rglob("*.yml")):
        for example in _examples(path):
            words.update(latin_words(example))
    directory = get_settings().profile_dir
    if (directory / "faq.yml").exists():
        for entry in load_site(directory).faq.values():
            for question in (q for qs in entry.questions.values() for q in qs):
                words.update(latin_words(question))
    return frozenset(words)


def unreadable(text: str, vocabulary: frozenset[str] | None = None) -> bool:
    """True for Latin-letter text with no known word of MIN_LENGTH letters or more and at
    least one unknown one ("qwrtz zzkp vvlm"); False for anything with Chinese in it."""
    if _CJK.search(text):
        return False
    vocabulary = known_words() if vocabulary is None else vocabulary
    long_words = [w for w in latin_words(text) if len(w) >= MIN_LENGTH]
    return bool(long_words) and not any(w in vocabulary for w in long_words)
