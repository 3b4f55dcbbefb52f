"""Survey results: answer distributions and the satisfaction index.

The index is the population-weighted mean score: each group of a post-stratum (a
district, an age band) counts by its share of the population, not by how many of its
people happened to answer, so a district that answered more does not pull the city's
figure towards its own view. One post-stratum is post-stratification; several are raked
to their margins, and small groups are merged first (`civic.surveys._weighting`). The 95%
interval is Student's t on the linearised variance (`civic.surveys._variance`), so it
keeps its coverage when the weights rest on few answers.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from civic.surveys._student_t import t_quantile
from civic.surveys._variance import linearised_variance
from civic.surveys._weighting import MIN_CELL, NotWeighted, Weighting, weigh

CONFIDENCE = 0.95
SCORE_RANGE = (0.0, 100.0)
RAKED, POST_STRATIFIED, UNWEIGHTED = "raked", "post-stratified", "unweighted"

Attributes = Mapping[str, str | None]


@dataclass(frozen=True)
class Observation:
    """One respondent's answer: their stratum attributes and its score (None = "don't
    know", which counts apart and not in the index)."""

    attrs: Attributes
    score: float | None


@dataclass(frozen=True)
class IndexResult:
    """The index with its 95% confidence interval (None when no spread can be estimated,
    as with a single score), and what a published figure must say about where it came
    from. `n` counts the scored answers, unweighted; `n_unplaced` those left out of a
    weighted index because a post-stratum of theirs has no population share.

    `method` is "raked", "post-stratified" or "unweighted"; `weighted_by` the post-strata
    the weights match; `df` the degrees of freedom of the t interval; `design_effect`
    Kish's 1 + CV^2 of the weights (how much weighting costs in sample size); `collapsed`
    the groups merged for having too few answers (e.g. "district: tonglu+chunan"); `note`
    why post-strata the survey names were not used (e.g. no answer had an age band)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_dont_know: int
    weighted: bool
    n_unplaced: int = 0
    method: str = UNWEIGHTED
    weighted_by: tuple[str, ...] = ()
    df: float | None = None
    design_effect: float | None = None
    collapsed: tuple[str, ...] = ()
    note: str = ""


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
    margins: Mapping[str, Mapping[str, float]],
    post_strata: Sequence[str],
    min_cell: int = MIN_CELL,
) -> IndexResult:
    """The index weighted to the population `margins` (attribute -> value -> share, as in
    `population.yml`) of the `post_strata`, most important first.

    When the answers cannot be weighted by all of them (no shares for one, no answer with
    a known value, too few answers to keep two groups of one, or raking that does not
    converge), the last is dropped and the rest tried, and `note` says why; with none left
    the index is the plain mean (`weighted=False`).
    """
    answers = list(observations)
    scored = [(o.attrs, o.score) for o in answers if o.score is not None]
    dont_know = len(answers) - len(scored)
    if not scored:
        return IndexResult(None, None, None, 0, dont_know, False)
    reasons: list[str] = []
    for count in range(len(post_strata), 0, -1):
        try:
            weighting = weigh(
                [attrs for attrs, _ in scored],
                shares=margins,
                attributes=post_strata[:count],
                min_cell=min_cell,
            )
        except NotWeighted as exc:
            reasons.append(str(exc))
            continue
        return _weighted(scored, weighting, dont_know, "; ".join(reasons))
    return _unweighted(scored, dont_know, "; ".join(reasons))


def _weighted(
    scored: Sequence[tuple[Attributes, float]], weighting: Weighting, dont_know: int, note: str
) -> IndexResult:
    scores = [scored[position][1] for position in weighting.placed]
    sizes = [len(margin.groups) for margin in weighting.margins]
    value, low, high, df = _estimate(scores, weighting.weights, weighting.cells, sizes)
    weights = weighting.weights
    return IndexResult(
        value=value,
        ci_low=low,
        ci_high=high,
        n=len(scored),
        n_dont_know=dont_know,
        weighted=True,
        n_unplaced=len(scored) - len(scores),
        method=RAKED if len(weighting.margins) > 1 else POST_STRATIFIED,
        weighted_by=weighting.attributes,
        df=df,
        design_effect=len(weights) * sum(w * w for w in weights) / sum(weights) ** 2,
        collapsed=tuple(text for margin in weighting.margins for text in margin.merged()),
        note=note,
    )


def _unweighted(
    scored: Sequence[tuple[Attributes, float]], dont_know: int, note: str
) -> IndexResult:
    scores = [score for _, score in scored]
    n = len(scores)
    value, low, high, df = _estimate(scores, [1 / n] * n, [()] * n, ())
    return IndexResult(value, low, high, n, dont_know, False, df=df, design_effect=1.0, note=note)


def _estimate(
    scores: Sequence[float],
    weights: Sequence[float],
    cells: Sequence[Sequence[int]],
    sizes: Sequence[int],
) -> tuple[float, float | None, float | None, float | None]:
    """The weighted mean, its t interval clipped to the score range, and the interval's
    degrees of freedom (no interval when no spread can be estimated)."""
    value = sum(w * s for w, s in zip(weights, scores, strict=True)) / sum(weights)
    spread = linearised_variance(scores, weights, cells, sizes)
    if spread is None:
        return value, None, None, None
    variance, df = spread
    half = t_quantile((1 + CONFIDENCE) / 2, df) * math.sqrt(variance)
    low, high = SCORE_RANGE
    return value, max(low, value - half), min(high, value + half), df
