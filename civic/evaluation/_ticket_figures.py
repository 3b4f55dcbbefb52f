"""The ticket indicators (`civic.evaluation._indicators`) per agency, category, district
and period (city-time months or years), grouped in the database.

A ticket counts in the period it was filed in, with the agency that holds it now;
merged tickets (duplicates) are left out. Each figure carries the count it rests on.
One pass over the period's tickets (with their rectification and reopening events) gives
the counts; a second gives the percentiles of the time to rectify.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from civic.evaluation._scheme import Scheme
from civic.evaluation._sql import count_if, hours_between, percentiles
from civic.tickets import Status
from storage.models import Ticket, TicketEvent

DIMENSIONS = ("agency", "category", "district")
# Hours are kept to about four seconds: SQLite's julianday is no finer.
HOURS_DECIMALS = 3


@dataclass(frozen=True)
class Period:
    """A city-time month ("2026-03") or year ("2026"), as UTC bounds [start, end)."""

    label: str
    start: datetime
    end: datetime


def months(year: int, timezone: str) -> list[Period]:
    zone = ZoneInfo(timezone)
    bounds = [datetime(year, m, 1, tzinfo=zone) for m in range(1, 13)]
    bounds.append(datetime(year + 1, 1, 1, tzinfo=zone))
    return [
        Period(f"{year}-{m:02d}", bounds[m - 1].astimezone(UTC), bounds[m].astimezone(UTC))
        for m in range(1, 13)
    ]


def years(first: int, last: int, timezone: str) -> list[Period]:
    zone = ZoneInfo(timezone)
    return [
        Period(
            str(y),
            datetime(y, 1, 1, tzinfo=zone).astimezone(UTC),
            datetime(y + 1, 1, 1, tzinfo=zone).astimezone(UTC),
        )
        for y in range(first, last + 1)
    ]


@dataclass(frozen=True)
class Figure:
    """An indicator's value (None when nothing to count) and the count it rests on."""

    value: float | None
    n: int

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "n": self.n}


@dataclass(frozen=True)
class TicketFigures:
    """The indicators of one cell: its key (the dimensions asked for and `period`), each
    indicator's figure, and the ratings given at levels that do not count (shown apart)."""

    key: dict[str, str | None]
    figures: dict[str, Figure]
    ratings_uncounted: int = 0


def ticket_figures(
    *,
    session: Session,
    periods: Sequence[Period],
    by: Sequence[str],
    as_of: datetime,
    counted_levels: Collection[str],
    scores: Mapping[str, float],
) -> list[TicketFigures]:
    """The indicators per period and per value of each dimension in `by` (a subset of
    agency, category, district), in key order. `as_of` decides which open tickets are
    already late; `scores` scores the ratings (满意 … on 0-100)."""
    unknown = set(by) - set(DIMENSIONS)
    if unknown or not periods:
        raise ValueError(f"group by {', '.join(DIMENSIONS)}, over at least one period")
    _check_contiguous(periods)
    rows = _per_ticket(periods).subquery("per_ticket")
    dims = [*by, "period"]
    counts = session.execute(_counts(rows, dims, as_of, counted_levels, scores)).all()
    spread = {
        tuple(row[: len(dims)]): row[len(dims) :]
        for row in session.execute(percentiles(session, rows, dims, "hours", [(1, 2), (9, 10)]))
    }
    found = []
    for row in counts:
        key = tuple(row[: len(dims)])
        values = row._mapping
        median, p90 = spread.get(key, (None, None))
        found.append(
            TicketFigures(
                key=dict(zip(dims, key, strict=True)),
                figures=_figures(values, median, p90),
                ratings_uncounted=int(values["rated_all"] or 0) - int(values["rated"] or 0),
            )
        )
    return sorted(found, key=lambda f: tuple(str(v or "") for v in f.key.values()))


def _check_contiguous(periods: Sequence[Period]) -> None:
    for before, after in itertools.pairwise(periods):
        if before.end != after.start:
            raise ValueError("the periods must follow each other without gaps")


def _per_ticket(periods: Sequence[Period]) -> Any:
    """One row per ticket filed in the periods: its dimensions, period, due and overdue
    times, the citizen's answers, the first rectification and how often it reopened."""
    filed = and_(Ticket.created_at >= periods[0].start, Ticket.created_at < periods[-1].end)
    events = (
        select(
            TicketEvent.ticket_id,
            func.min(case((TicketEvent.to_status == Status.RECTIFIED.value, TicketEvent.at))).label(
                "rectified_at"
            ),
            count_if(TicketEvent.to_status == Status.REOPENED.value).label("reopens"),
        )
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(filed, TicketEvent.to_status.in_([Status.RECTIFIED.value, Status.REOPENED.value]))
        .group_by(TicketEvent.ticket_id)
        .subquery("ticket_events_of_period")
    )
    period = case(*((Ticket.created_at < p.end, p.label) for p in periods))
    return (
        select(
            Ticket.agency,
            Ticket.category,
            Ticket.district,
            period.label("period"),
            Ticket.due_at,
            Ticket.overdue_at,
            Ticket.fixed_confirmed,
            Ticket.satisfaction,
            Ticket.satisfaction_assurance,
            events.c.rectified_at,
            events.c.reopens,
            hours_between(events.c.rectified_at, Ticket.created_at).label("hours"),
        )
        .outerjoin(events, events.c.ticket_id == Ticket.id)
        .where(filed, Ticket.status != Status.MERGED.value)
    )


def _counts(
    rows: Any,
    dims: Sequence[str],
    as_of: datetime,
    counted_levels: Collection[str],
    scores: Mapping[str, float],
) -> Any:
    c = rows.c
    rectified = c.rectified_at.is_not(None)
    has_due = c.due_at.is_not(None)
    counted: ColumnElement[bool] = and_(
        c.satisfaction.in_(list(scores)), c.satisfaction_assurance.in_(sorted(counted_levels))
    )
    score = case(*((c.satisfaction == answer, value) for answer, value in scores.items()))
    groups = [c[d] for d in dims]
    return select(
        *groups,
        func.count().label("volume"),
        count_if(and_(rectified, has_due, c.rectified_at <= c.due_at)).label("on_time"),
        count_if(and_(has_due, or_(rectified, c.due_at < as_of))).label("decided"),
        count_if(rectified).label("rectified"),
        count_if(and_(rectified, c.reopens > 0)).label("reopened"),
        count_if(c.overdue_at.is_not(None)).label("overdue"),
        count_if(has_due).label("with_due"),
        count_if(c.fixed_confirmed.is_(True)).label("confirmed"),
        count_if(c.fixed_confirmed.is_not(None)).label("answered"),
        func.sum(case((counted, score))).label("score_sum"),
        count_if(counted).label("rated"),
        count_if(c.satisfaction.is_not(None)).label("rated_all"),
    ).group_by(*groups)


def _share(part: Any, whole: Any) -> Figure:
    n = int(whole or 0)
    return Figure(int(part or 0) / n if n else None, n)


def _figures(values: Mapping[Any, Any], median: Any, p90: Any) -> dict[str, Figure]:
    rectified = int(values["rectified"] or 0)
    rated = int(values["rated"] or 0)
    return {
        "volume": Figure(float(values["volume"]), int(values["volume"])),
        "on_time_rate": _share(values["on_time"], values["decided"]),
        "median_hours": Figure(_hours(median), rectified),
        "p90_hours": Figure(_hours(p90), rectified),
        "reopen_rate": _share(values["reopened"], rectified),
        "overdue_rate": _share(values["overdue"], values["with_due"]),
        "confirmed_fixed_rate": _share(values["confirmed"], values["answered"]),
        "ticket_satisfaction": Figure(float(values["score_sum"]) / rated if rated else None, rated),
    }


def _hours(value: Any) -> float | None:
    return None if value is None else round(float(value), HOURS_DECIMALS)


def indicator_table(
    *,
    session: Session,
    scheme: Scheme,
    timezone: str,
    by: Sequence[str] = DIMENSIONS,
    grain: str = "month",
    as_of: datetime | None = None,
) -> list[TicketFigures]:
    """The scheme year's ticket indicators per `by` (agency, category, district) and per
    month (`grain` "month") or for the year ("year"), counted as the scheme counts them."""
    if grain not in ("month", "year"):
        raise ValueError("grain is 'month' or 'year'")
    periods = (
        months(scheme.year, timezone)
        if grain == "month"
        else years(scheme.year, scheme.year, timezone)
    )
    return ticket_figures(
        session=session,
        periods=periods,
        by=by,
        as_of=as_of or datetime.now(UTC),
        counted_levels=scheme.counted_levels,
        scores=scheme.public.scores["hangzhou"],
    )
