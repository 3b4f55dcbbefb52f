"""The demo's citizens: who files each complaint (many once, some again and again, as
in any complaints system), in which language, and how sure the system is of them.

No personal data: a citizen is a random pseudonym with no phone number and no channel
address, so nothing the demo leaves in an outbox can ever reach anyone."""

from __future__ import annotations

import random
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from civic.demo._calendar import moment
from civic.identity import ACCOUNT, ANONYMOUS, VERIFIED_PHONE

COLUMNS = ("id", "public_id", "language", "phone", "assurance", "created_at", "erased_at")
ENGLISH = 0.12
# Reporters: a web-chat session, a Telegram account, a verified phone number.
REPORTER_LEVELS = ((ANONYMOUS, 0.3), (ACCOUNT, 0.45), (VERIFIED_PHONE, 0.25))
# Each complaint comes from someone new with this probability; otherwise from an earlier
# reporter chosen in proportion to how often they have reported (at most MOST times).
NEW_REPORTER = 0.55
MOST = 30


def language(rng: random.Random) -> str:
    return "en" if rng.random() < ENGLISH else "zh"


def level(rng: random.Random, levels: Sequence[tuple[str, float]] = REPORTER_LEVELS) -> str:
    names, weights = zip(*levels, strict=True)
    return rng.choices(names, weights=weights)[0]


def citizen_row(
    rng: random.Random, citizen_id: int, lang: str, assurance: str, created: float
) -> tuple[object, ...]:
    return (citizen_id, f"{rng.getrandbits(96):024x}", lang, None, assurance, moment(created), None)


@dataclass
class Reporters:
    """Everyone who filed a complaint so far; `new` are those not written yet."""

    ids: list[int] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    created: array = field(default_factory=lambda: array("d"))
    filed: array = field(default_factory=lambda: array("l"))
    # the reporter of every complaint so far, so a frequent one is chosen more often
    history: array = field(default_factory=lambda: array("l"))
    new: list[tuple[int, float]] = field(default_factory=list)

    def reporter(self, rng: random.Random, at: float) -> int:
        """The reporter (an index into this pool) of a complaint filed at `at`."""
        if self.history and rng.random() >= NEW_REPORTER:
            chosen = self.history[rng.randrange(len(self.history))]
            if self.filed[chosen] < MOST:
                return self._files(chosen)
        index = len(self.languages)
        self.languages.append(language(rng))
        self.levels.append(level(rng))
        self.ids.append(0)
        self.filed.append(0)
        # they talked to the assistant a little before the complaint was filed
        self.created.append(at - rng.uniform(60, 1200))
        self.new.append((index, self.created[index]))
        return self._files(index)

    def _files(self, index: int) -> int:
        self.filed[index] += 1
        self.history.append(index)
        return index

    def rows_of_new(self, rng: random.Random, ids: Sequence[int]) -> list[tuple[object, ...]]:
        """The rows of the reporters new since the last call, with their reserved ids."""
        rows = []
        for (index, created), citizen_id in zip(self.new, ids, strict=True):
            self.ids[index] = citizen_id
            rows.append(
                citizen_row(rng, citizen_id, self.languages[index], self.levels[index], created)
            )
        self.new = []
        return rows
