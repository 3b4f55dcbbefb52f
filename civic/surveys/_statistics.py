"""Survey results: answer distributions and the satisfaction index.

The index is the post-stratified mean score: each post-stratum (e.g. a district) counts by
its share of the population, not by how many of its people happened to answer, so a
district that answered more does not pull the city's figure towards its own view.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from civic.campaigns import stratum_key

Z_95 = 1.96
SCORE_RANGE = (0.0, 100.0)


@dataclass(frozen=True)
class Observation:
    """One respondent's answer: their stratum attributes and its score (None = "don't
    know", which counts apart and not in the index)."""

    attrs: Mapping[str, str | None]
    score: float | None


@dataclass(frozen=True)
class IndexResult:
    """The index with its 95% confidence interval (None when fewer than two scores, where
    no spread can be estimated). `n` counts the scored answers, unweighted; `n_unplaced`
    those left out of a weighted index because their post-stratum has no population share."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_dont_know: int
    weighted: bool
    n_unplaced: int = 0


def distribution(values: Iterable[str | None], codes: Sequence[str] = ()) -> dict[str, int]:
    """How many answered each option: the known `codes` first and in their order (zero when
    nobody chose them), then any other value seen. Skipped answers (None) are not counted."""
    counts = Counter(value for value in values if value is not None)
    result = {code: counts.pop(code, 0) for code in codes}
    result.update(sorted(counts.items()))
    return result


def mean(scores: Iterable[float | None]) -> float | None:
    """The unweighted mean of the scores, "don't know" (None) left out."""
    present = [score for score in scores if score is not None]
    return statistics.fmean(present) if present else None


def satisfaction_index(
    observations: Iterable[Observation],
    *,
    population_shares: Mapping[str, float],
    post_strata: Sequence[str],
) -> IndexResult:
    """The post-stratified index over `post_strata` (attribute names), with
    `population_shares` keyed by `civic.campaigns._sampling.stratum_key`.

    index = sum of P_h * mean_h, with P_h renormalised over the post-strata that have
    answers; variance = sum of P_h^2 * s_h^2 / n_h, where a post-stratum with one answer
    borrows the variance of the whole sample. Without shares or post-strata, or when no
    answer falls in a post-stratum with a share, the index is the plain mean
    (`weighted=False`).
    """
    answers = list(observations)
    scored = [(o.attrs, o.score) for o in answers if o.score is not None]
    dont_know = len(answers) - len(scored)
    scores = [score for _, score in scored]
    groups: dict[str, list[float]] = defaultdict(list)
    for attrs, score in scored:
        key = stratum_key(attrs, post_strata)
        if post_strata and population_shares.get(key, 0.0) > 0:
            groups[key].append(score)
    if not groups:
        return _unweighted(scores, dont_know)
    unplaced = len(scores) - sum(len(group) for group in groups.values())
    value, variance = _post_stratified(groups, population_shares, scores)
    low, high = _interval(value, variance)
    return IndexResult(value, low, high, len(scores), dont_know, True, unplaced)


def _post_stratified(
    groups: Mapping[str, Sequence[float]], shares: Mapping[str, float], scores: Sequence[float]
) -> tuple[float, float | None]:
    """The weighted mean and its variance (None when no spread can be estimated)."""
    total = sum(shares[key] for key in groups)
    overall = statistics.variance(scores) if len(scores) > 1 else None
    value = 0.0
    variance: float | None = 0.0
    for key, group in groups.items():
        weight = shares[key] / total
        value += weight * statistics.fmean(group)
        spread = statistics.variance(group) if len(group) > 1 else overall
        if spread is None or variance is None:
            variance = None
        else:
            variance += weight**2 * spread / len(group)
    return value, variance


def _unweighted(scores: Sequence[float], dont_know: int) -> IndexResult:
    if not scores:
        return IndexResult(None, None, None, 0, dont_know, False)
    value = statistics.fmean(scores)
    variance = statistics.variance(scores) / len(scores) if len(scores) > 1 else None
    low, high = _interval(value, variance)
    return IndexResult(value, low, high, len(scores), dont_know, False)


def _interval(value: float, variance: float | None) -> tuple[float | None, float | None]:
    """The 95% normal interval, clipped to the score range."""
    if variance is None:
        return None, None
    half = Z_95 * math.sqrt(variance)
    low, high = SCORE_RANGE
    return max(low, value - half), min(high, value + half)
