"""How far two coders of a double-coding sample agree: Cohen's kappa over the comments
both coded, on the primary code (the first code each chose) and, per theme, on whether
each coder put the comment under that theme at all; with the observed and the expected
agreement, a 95% interval, the confusion counts, and the comments they disagree on.

Worked example (the unit tests hold it): 50 comments, coder A says "noise" for 25 and
"parking" for 25, coder B "noise" for 30; they agree on 20 "noise" and 15 "parking".
Observed agreement p_o = 35/50 = 0.70; expected p_e = 0.5 × 0.6 + 0.5 × 0.4 = 0.50;
kappa = (0.70 − 0.50) / (1 − 0.50) = 0.40.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.opinion._codebook import Codebook
from civic.opinion._coding import sample_items, split_codes
from civic.opinion._collect import ACCEPTED
from storage.models import CommentCode, CommentCoding

Z95 = 1.959964
YES, NO = "yes", "no"


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa of n paired judgements; `table[(a, b)]` counts the comments coder A
    put under `a` and coder B under `b`. `kappa` is None when the expected agreement is
    1 (both coders always chose the same single category: kappa is undefined)."""

    n: int
    observed: float
    expected: float
    kappa: float | None
    se: float | None
    low: float | None
    high: float | None
    categories: tuple[str, ...]
    table: dict[tuple[str, str], int]

    def count(self, a: str, b: str) -> int:
        return self.table.get((a, b), 0)


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> Kappa:
    """Kappa of the (coder A, coder B) pairs, which must not be empty.

    kappa = (p_o − p_e) / (1 − p_e), p_o the share of pairs that agree, p_e the sum over
    categories of the product of the two coders' shares. The 95% interval is kappa ±
    1.96 SE with Cohen's (1960) standard large-sample formula
    SE = sqrt(p_o (1 − p_o) / (n (1 − p_e)²)), cut to [−1, 1]; it is a rough interval for
    small n."""
    n = len(pairs)
    table = Counter(pairs)
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    categories = tuple(sorted(set(first) | set(second)))
    observed = sum(table[(c, c)] for c in categories) / n
    expected = sum(first[c] * second[c] for c in categories) / (n * n)
    if expected >= 1:
        return Kappa(n, observed, expected, None, None, None, None, categories, dict(table))
    kappa = (observed - expected) / (1 - expected)
    se = math.sqrt(observed * (1 - observed) / (n * (1 - expected) ** 2))
    low, high = max(-1.0, kappa - Z95 * se), min(1.0, kappa + Z95 * se)
    return Kappa(n, observed, expected, kappa, se, low, high, categories, dict(table))


@dataclass(frozen=True)
class Disagreement:
    comment_id: int
    first: list[str]  # coder A's codes, primary first
    second: list[str]
    accepted: list[str]  # the office's decision, if made since


@dataclass(frozen=True)
class Agreement:
    """`status` is "ok", "too_few_coders" (fewer than two have coded the sample) or
    "no_overlap" (no comment coded by both); only "ok" has kappas."""

    sample_id: int
    items: int
    coders: tuple[int, ...]  # the two compared (agency_users ids), the busier first
    status: str
    primary: Kappa | None = None
    themes: dict[str, Kappa] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)


def agreement(*, session: Session, sample_id: int, codebook: Codebook) -> Agreement:
    """The agreement of the sample's two coders (the two who coded most of it)."""
    items = sample_items(session, sample_id)
    codings = session.scalars(select(CommentCoding).where(CommentCoding.comment_id.in_(items)))
    by_coder: dict[int, dict[int, list[str]]] = {}
    for coding in codings:
        by_coder.setdefault(coding.coder_id, {})[coding.comment_id] = split_codes(coding.codes)
    ranked = sorted(by_coder, key=lambda coder: (-len(by_coder[coder]), coder))[:2]
    if len(ranked) < 2:
        return Agreement(sample_id, len(items), tuple(ranked), "too_few_coders")
    a, b = by_coder[ranked[0]], by_coder[ranked[1]]
    both = [comment for comment in items if comment in a and comment in b]
    if not both:
        return Agreement(sample_id, len(items), tuple(ranked), "no_overlap")
    primary = cohen_kappa([(a[c][0], b[c][0]) for c in both])
    return Agreement(
        sample_id,
        len(items),
        tuple(ranked),
        "ok",
        primary=primary,
        themes=_per_theme(codebook, [(a[c], b[c]) for c in both]),
        disagreements=_disagreements(session, both, a, b),
    )


def _theme(codebook: Codebook, code: str) -> str:
    known = codebook.codes.get(code)
    return known.parent or code if known else code


def _per_theme(codebook: Codebook, pairs: list[tuple[list[str], list[str]]]) -> dict[str, Kappa]:
    """For each theme either coder used, kappa of "under this theme or not"."""
    themed = [
        ({_theme(codebook, c) for c in a}, {_theme(codebook, c) for c in b}) for a, b in pairs
    ]
    used = set().union(*(a | b for a, b in themed))
    order = [theme.code for theme in codebook.themes()]
    ranked = sorted(used, key=lambda t: (order.index(t) if t in order else len(order), t))
    return {
        theme: cohen_kappa([(_yes(theme in a), _yes(theme in b)) for a, b in themed])
        for theme in ranked
    }


def _yes(flag: bool) -> str:
    return YES if flag else NO


def _disagreements(
    session: Session, both: list[int], a: dict[int, list[str]], b: dict[int, list[str]]
) -> list[Disagreement]:
    differing = [c for c in both if set(a[c]) != set(b[c])]
    accepted: dict[int, list[str]] = {}
    query = select(CommentCode).where(
        CommentCode.comment_id.in_(differing), CommentCode.kind == ACCEPTED
    )
    for row in session.scalars(query.order_by(CommentCode.code)):
        accepted.setdefault(row.comment_id, []).append(row.code)
    return [Disagreement(c, a[c], b[c], accepted.get(c, [])) for c in differing]
