"""The demo's texts, from the `demo.*` keys of the message catalogue: each kind of text
has one or more numbered variants in both languages, and one is picked at random."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from civic.i18n import LANGUAGES, catalogue


class Texts:
    def __init__(self) -> None:
        self._variants: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._texts: dict[tuple[str, str], str] = {}
        for lang in LANGUAGES:
            for key, text in sorted(catalogue(lang).items()):
                if key.startswith("demo."):
                    self._texts[(key, lang)] = text
                    self._variants[(key.rsplit(".", 1)[0], lang)].append(text)

    def has(self, key: str) -> bool:
        """Whether `key` is a text or a group of variants."""
        return (key, LANGUAGES[0]) in self._texts or (key, LANGUAGES[0]) in self._variants

    def one(self, key: str, lang: str, **params: Any) -> str:
        return self._texts[(key, lang)].format(**params)

    def pick(self, rng: random.Random, group: str, lang: str, **params: Any) -> str:
        """A random variant of the group (`demo.praise` → demo.praise.1, .2, ...)."""
        return rng.choice(self._variants[(group, lang)]).format(**params)
