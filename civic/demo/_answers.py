"""One respondent's way through a survey: the steps the survey itself asks, in its order
and with its skip logic (`Survey.next_step`), each answered as the respondent's true
satisfaction makes likely, and each answer checked with `Question.accepts`.

A scale answer is drawn so that its expected score is the respondent's true mean: the
probabilities of the scored options are tilted (p ∝ exp(θ·score)) until their mean is
that figure. "Don't know" is left out of the index, so it does not move the mean.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from civic.demo._texts import Texts
from civic.surveys import DONT_KNOW, AgencyBlock, Step, Survey

DONT_KNOW_SHARE = 0.04
AGENCY_DONT_KNOW_SHARE = 0.06
CHOSEN = 0.3  # an agency of a choice list is chosen with this probability, unless planned
WRITES = 0.2  # a question that may be skipped gets a written answer this often
SECONDS_PER_STEP = (4.0, 40.0)


@dataclass(frozen=True)
class Respondent:
    language: str
    mean: float  # the true satisfaction (0-100) with the city's services
    agency_means: Mapping[str, float] = field(default_factory=dict)
    # how likely each agency of a choice list is to be chosen (dealt with)
    chosen: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    step: str
    question: str
    agency: str | None
    value: str | None
    at: float


@lru_cache(maxsize=4096)
def tilted(scores: tuple[float, ...], mean: float) -> tuple[float, ...]:
    """Probabilities over `scores` whose expected score is `mean` (held inside the range)."""
    low, high = min(scores), max(scores)
    if high == low:
        return tuple(1.0 / len(scores) for _ in scores)
    mean = min(max(mean, low + 0.01 * (high - low)), high - 0.01 * (high - low))

    def shares(theta: float) -> list[float]:
        weights = [math.exp(theta * (s - low) / (high - low)) for s in scores]
        total = sum(weights)
        return [w / total for w in weights]

    lo, hi = -60.0, 60.0
    for _ in range(80):  # the mean grows with theta: bisect
        mid = (lo + hi) / 2
        if sum(p * s for p, s in zip(shares(mid), scores, strict=True)) < mean:
            lo = mid
        else:
            hi = mid
    return tuple(shares((lo + hi) / 2))


class Answering:
    def __init__(self, survey: Survey, texts: Texts) -> None:
        self.survey, self.texts = survey, texts

    def walk(
        self, rng: random.Random, respondent: Respondent, start: float, stop_after: int | None
    ) -> list[Answer]:
        """The answers, step by step from `start`; `stop_after` steps for someone who
        gives up half-way."""
        given: dict[str, str | None] = {}
        answers: list[Answer] = []
        at = start
        while stop_after is None or len(answers) < stop_after:
            step = self.survey.next_step(given)
            if step is None:
                break
            value = self.value(rng, step, respondent)
            if not step.question.accepts(value):
                raise AssertionError(f"{value!r} is no answer to {step.id}")
            given[step.id] = value
            at += rng.uniform(*SECONDS_PER_STEP)
            answers.append(Answer(step.id, step.question.id, step.agency, value, at))
        return answers

    def value(self, rng: random.Random, step: Step, respondent: Respondent) -> str | None:
        question = step.question
        mean = respondent.agency_means.get(step.agency or "", respondent.mean)
        if question.type == "scale":
            return self._scale(rng, step, mean)
        if question.type == "multiple":
            return self._multiple(rng, step, respondent)
        if question.type in ("rating", "nps"):
            top = 5 if question.type == "rating" else 10
            base = 1 if question.type == "rating" else 0
            if question.dont_know and rng.random() < DONT_KNOW_SHARE:
                return DONT_KNOW
            guess = round(rng.gauss(base + (top - base) * mean / 100, 0.12 * top))
            return str(min(top, max(base, guess)))
        if question.type == "text":
            if question.skip and rng.random() >= WRITES:
                return None
            group = "demo.survey.improve" if step.agency else "demo.survey.comment"
            return self.texts.pick(rng, group, respondent.language)
        return rng.choice(question.option_codes())

    def _scale(self, rng: random.Random, step: Step, mean: float) -> str:
        codes = step.question.option_codes()
        unknown = AGENCY_DONT_KNOW_SHARE if step.agency else DONT_KNOW_SHARE
        scored = [(c, self.survey.score(step, c)) for c in codes]
        scored_codes = [c for c, s in scored if s is not None]
        if len(scored_codes) < len(codes) and rng.random() < unknown:
            return rng.choice([c for c, s in scored if s is None])
        scores = tuple(float(s) for _, s in scored if s is not None)
        return rng.choices(scored_codes, weights=tilted(scores, round(mean, 1)))[0]

    def _multiple(self, rng: random.Random, step: Step, respondent: Respondent) -> str | None:
        codes = [c for c in step.question.option_codes() if c != DONT_KNOW]
        chosen = [c for c in codes if rng.random() < respondent.chosen.get(c, CHOSEN)]
        if not chosen and not step.question.skip:
            chosen = [rng.choice(codes)]
        return ",".join(chosen) or None


def scale_questions(survey: Survey) -> tuple[list[str], list[str]]:
    """The ids of the survey's scale questions: asked once, and asked per agency."""
    in_blocks = {
        question.id
        for item in survey.items
        if isinstance(item, AgencyBlock)
        for question in item.questions
    }
    scales = [question.id for question in survey.questions() if question.type == "scale"]
    return [q for q in scales if q not in in_blocks], [q for q in scales if q in in_blocks]


def block_agencies(survey: Survey) -> Sequence[str]:
    """The agencies the survey asks about one by one (its agency blocks' lists)."""
    found: list[str] = []
    for item in survey.items:
        if isinstance(item, AgencyBlock):
            found.extend(code for code in item.agencies if code not in found)
    return found
