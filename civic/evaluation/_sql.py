"""SQL that reads the same on SQLite (the tests, a small deployment) and PostgreSQL
(production): hours between two timestamps, counting rows that meet a condition, and
percentiles computed in the database.

PostgreSQL has `percentile_cont`; SQLite has none, so there each row is numbered within
its group by a window function and the two rows around the percentile's position are
interpolated, as `percentile_cont` does: position (n - 1) × p, counted from 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, case, cast, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.selectable import Subquery


class hours_between(FunctionElement[float]):
    """hours_between(later, earlier): the hours from `earlier` to `later`."""

    type = Float()
    name = "hours_between"
    inherit_cache = True


@compiles(hours_between)
def _hours_postgresql(element: hours_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0)"


@compiles(hours_between, "sqlite")
def _hours_sqlite(element: hours_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 24.0)"


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def percentiles(
    session: Session,
    source: Subquery,
    dimensions: Sequence[str],
    value: str,
    fractions: Sequence[tuple[int, int]],
) -> Select[Any]:
    """Per group of `dimensions` of `source`, the percentiles of column `value` at each
    fraction (numerator, denominator), e.g. (1, 2) for the median; rows with a NULL
    value are left out."""
    groups = [source.c[d] for d in dimensions]
    present = source.c[value].is_not(None)
    if session.get_bind().dialect.name == "postgresql":
        cont = [
            func.percentile_cont(num / den).within_group(source.c[value]) for num, den in fractions
        ]
        return select(*groups, *cont).where(present).group_by(*groups)
    ranked = select(
        *groups,
        source.c[value].label("value"),
        (func.row_number().over(partition_by=groups, order_by=source.c[value]) - 1).label("rank"),
        func.count().over(partition_by=groups).label("n"),
    ).where(present)
    rows = ranked.subquery()
    return select(
        *(rows.c[d] for d in dimensions),
        *(_interpolated(rows, num, den) for num, den in fractions),
    ).group_by(*(rows.c[d] for d in dimensions))


def _interpolated(rows: Subquery, numerator: int, denominator: int) -> ColumnElement[float]:
    """The value at position (n - 1) × numerator / denominator, in whole-number SQL: the
    row below it weighs 1 - fraction, the row above it the fraction."""
    position = (rows.c.n - 1) * numerator
    below = position // denominator
    fraction = cast(position % denominator, Float) / denominator
    return func.sum(
        case(
            (rows.c.rank == below, rows.c.value * (1 - fraction)),
            (rows.c.rank == below + 1, rows.c.value * fraction),
            else_=0.0,
        )
    )
