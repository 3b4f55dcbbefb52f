"""Annual targets: each agency's indicators against the scheme's targets.

    achievement = min(value / target, 1)          when higher is better
                = min(target / value, 1)          when lower is better (1 at value 0)
    points      = max_points × Σ weight × achievement / Σ weight (of the indicators
                  that apply), to 2 decimals

An indicator computed from tickets applies when at least `min_n` tickets are behind its
value (an agency with too few has no meaningful rate; its weight goes to the others). An
indicator the agency enters always applies: no approved value counts as 0 ("not
reported"). An entered indicator's year is its approved months made one by the scheme's
`aggregate` (the last month, their mean or their sum).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.evaluation._indicators import TICKETS, indicator
from civic.evaluation._result import ComponentScore
from civic.evaluation._scheme import HIGHER, Scheme
from civic.evaluation._ticket_figures import Figure
from storage.models import IndicatorEntry

METHOD = "weighted achievement, capped at 1 per indicator"
POINTS_DECIMALS = 2


def achievement(value: float, target: float, direction: str) -> float:
    if direction == HIGHER:
        return max(0.0, min(value / target, 1.0))
    return 1.0 if value <= target else target / value


def entered_values(
    session: Session, scheme: Scheme, first_year: int, last_year: int
) -> dict[tuple[str, str, str], Figure]:
    """(agency, indicator, year) -> the year's value of an entered indicator from its
    approved months, and how many months were approved."""
    query = select(IndicatorEntry).where(
        IndicatorEntry.approved_at.is_not(None),
        IndicatorEntry.indicator.in_(list(scheme.agency_indicators)),
        IndicatorEntry.period >= f"{first_year}-01",
        IndicatorEntry.period <= f"{last_year}-12",
    )
    months: dict[tuple[str, str, str], list[tuple[str, float]]] = defaultdict(list)
    for entry in session.scalars(query):
        months[(entry.agency, entry.indicator, entry.period[:4])].append(
            (entry.period, entry.value)
        )
    values = {}
    for key, found in months.items():
        aggregate = scheme.agency_indicators[key[1]].aggregate
        numbers = [value for _, value in sorted(found)]
        if aggregate == "last":
            value = numbers[-1]
        elif aggregate == "sum":
            value = sum(numbers)
        else:
            value = sum(numbers) / len(numbers)
        values[key] = Figure(value, len(numbers))
    return values


def target_score(scheme: Scheme, agency: str, values: Mapping[str, Figure]) -> ComponentScore:
    """The targets component of one agency from its year's indicator values."""
    rows: list[dict[str, Any]] = []
    earned = weights = 0.0
    for spec in scheme.targets.indicators:
        info = indicator(spec.code, scheme.agency_indicators)
        figure = values.get(spec.code)
        target = spec.target_for(agency)
        row: dict[str, Any] = {
            "code": spec.code,
            "weight": spec.weight,
            "target": target,
            "direction": info.direction,
            "value": figure.value if figure else None,
            "n": figure.n if figure else 0,
            "source": info.source,
        }
        if info.source == TICKETS and (
            figure is None or figure.value is None or figure.n < spec.min_n
        ):
            row.update(applies=False, achievement=None, why="too_few_tickets", min_n=spec.min_n)
        elif figure is None or figure.value is None:
            row.update(applies=True, achievement=0.0, why="not_reported")
        else:
            row.update(applies=True, achievement=achievement(figure.value, target, info.direction))
        if row["applies"]:
            earned += spec.weight * row["achievement"]
            weights += spec.weight
        rows.append(row)
    points = (
        round(scheme.targets.max_points * earned / weights, POINTS_DECIMALS) if weights else None
    )
    return ComponentScore(
        code="targets",
        points=points,
        max_points=scheme.targets.max_points,
        method=METHOD,
        details={"indicators": rows, "weight_applied": weights},
    )
