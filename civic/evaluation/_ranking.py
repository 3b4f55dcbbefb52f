"""The ranking and the bands.

Agencies with a total are ranked by it, highest first; equal totals share a rank (1, 2,
2, 4) and are listed by public-evaluation points, then code. Agencies without a total
(no survey index, say) are listed after them, unranked.

Bands go in the scheme's order. A `top` band takes the agencies whose value (total, or
public-evaluation index with `by: public`) is at least that of the N-th best, so ties at
the edge are all in, and of those only the ones at or above `min`; a `bottom` band
likewise from the worst end, at or below `max`. An agency already in an earlier band
stays there (the next one is not moved up in its place).
"""

from __future__ import annotations

from collections.abc import Sequence

from civic.evaluation._result import AgencyScore
from civic.evaluation._scheme import Band


def rank(scores: Sequence[AgencyScore]) -> list[AgencyScore]:
    """The scores in ranking order, with `rank` set (None for those without a total)."""
    ranked = sorted(
        (s for s in scores if s.total is not None),
        key=lambda s: (-(s.total or 0.0), -(s.points("public") or 0.0), s.agency),
    )
    for score in ranked:
        score.rank = 1 + sum(1 for other in ranked if (other.total or 0.0) > (score.total or 0.0))
    unranked = sorted((s for s in scores if s.total is None), key=lambda s: s.agency)
    for score in unranked:
        score.rank = None
    return [*ranked, *unranked]


def _value(score: AgencyScore, by: str) -> float | None:
    if by == "public":
        index = score.components["public"].details.get("index")
        return None if index is None else round(float(index), 2)
    return score.total


def assign_bands(bands: Sequence[Band], scores: Sequence[AgencyScore]) -> dict[str, list[str]]:
    """Set each score's `band` and return band code -> agencies (in ranking order)."""
    members: dict[str, list[str]] = {}
    for band in bands:
        valued = [(v, s) for s in scores if (v := _value(s, band.by)) is not None]
        if band.top is not None:
            order = sorted((v for v, _ in valued), reverse=True)
            edge = order[band.top - 1] if len(order) >= band.top else min(order, default=0.0)
            chosen = [s for v, s in valued if v >= edge and (band.min is None or v >= band.min)]
        else:
            count = band.bottom or 0
            order = sorted(v for v, _ in valued)
            edge = order[count - 1] if len(order) >= count else max(order, default=0.0)
            chosen = [s for v, s in valued if v <= edge and (band.max is None or v <= band.max)]
        members[band.code] = []
        for score in chosen:
            if score.band is None:
                score.band = band.code
                members[band.code].append(score.agency)
    return members
