"""The leaders' evaluation and the bonus and penalty points, from the approved entries.

leaders = the approved leaders' points (0 when none was approved)
bonus   = min(Σ over items of min(Σ approved entries of the item, the item's cap),
              the bonus cap); the penalty likewise
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.evaluation._result import ComponentScore
from civic.evaluation._scheme import Adjustments, Scheme
from storage.models import EvaluationAdjustment

POINTS_DECIMALS = 2


def approved_adjustments(session: Session, year: int) -> dict[str, list[EvaluationAdjustment]]:
    """Each agency's approved, not withdrawn entries of the year, in order."""
    query = (
        select(EvaluationAdjustment)
        .where(
            EvaluationAdjustment.year == year,
            EvaluationAdjustment.approved_at.is_not(None),
            EvaluationAdjustment.withdrawn_at.is_(None),
        )
        .order_by(EvaluationAdjustment.id)
    )
    found: dict[str, list[EvaluationAdjustment]] = defaultdict(list)
    for row in session.scalars(query):
        found[row.agency].append(row)
    return found


def _entry(row: EvaluationAdjustment) -> dict[str, object]:
    return {
        "id": row.id,
        "item": row.item,
        "points": row.points,
        "evidence": row.evidence,
        "entered_by": row.entered_by,
        "approved_by": row.approved_by,
    }


def leaders_score(scheme: Scheme, rows: Sequence[EvaluationAdjustment]) -> ComponentScore:
    approved = [row for row in rows if row.kind == "leaders"]
    points = approved[-1].points if approved else 0.0
    return ComponentScore(
        code="leaders",
        points=round(points, POINTS_DECIMALS),
        max_points=scheme.leaders.max_points,
        method="approved entry",
        details={"entries": [_entry(row) for row in approved], "entered": bool(approved)},
    )


def adjustment_score(spec: Adjustments, rows: Sequence[EvaluationAdjustment]) -> ComponentScore:
    """Bonus or penalty points (both positive; the penalty is subtracted from the total)."""
    items: list[dict[str, Any]] = []
    for code, item in spec.items.items():
        entries = [row for row in rows if row.kind == spec.kind and row.item == code]
        raw = sum(row.points for row in entries)
        items.append(
            {
                "code": code,
                "raw": round(raw, POINTS_DECIMALS),
                "cap": item.cap,
                "points": round(min(raw, item.cap), POINTS_DECIMALS),
                "entries": [_entry(row) for row in entries],
            }
        )
    raw_total = sum(float(item["points"]) for item in items)
    return ComponentScore(
        code=spec.kind,
        points=round(min(raw_total, spec.cap), POINTS_DECIMALS),
        max_points=spec.cap,
        method="approved entries, each item within its cap, the sum within the cap",
        details={"raw": round(raw_total, POINTS_DECIMALS), "items": items},
    )
