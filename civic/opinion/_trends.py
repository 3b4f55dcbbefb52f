"""Trends of the comment store: counts and shares by code (and agency, district, source or
category) per month or year, grouped in the database; each code's change on the year
before, with a two-proportion z-test; and the year's top problems.

Every figure may be limited to an agency, a district, and comments written at given
assurance levels (civic.identity; "staff" for reasons staff gave), so that a flood of
anonymous texts can be looked at apart. A comment counts under its accepted codes, or
under its suggested codes when none was accepted; every figure says how many of its
comments were counted on accepted codes. A share is of all comments in the same period
and cell (the same agency, district, ...), coded or not, so one comment under two codes
adds to both shares.

The figures are read from the comment counts (`_counts.py`), refreshed first where
comments or codes changed since they were counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from civic.opinion._codebook import Codebook
from civic.opinion._collect import ACCEPTED
from civic.opinion._counts import TOTAL, refresh_counts
from storage.models import CommentCount

DIMENSIONS = ("code", "agency", "district", "source", "category")
GRAINS = ("month", "year")
LEVELS = ("code", "theme")  # a code as coded, or rolled up to its theme


@dataclass(frozen=True)
class TrendRow:
    period: str  # "2026-05" or "2026"
    cell: dict[str, str | None]  # the value of each `by` dimension
    count: int  # comments under the code
    accepted: int  # of those, counted on accepted codes (the rest on suggested ones)
    total: int  # comments in the period and cell, with or without the code

    @property
    def suggested(self) -> int:
        return self.count - self.accepted

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0


@dataclass(frozen=True)
class YearOverYear:
    code: str
    label: dict[str, str]
    count: int
    total: int
    last_count: int
    last_total: int
    accepted: int  # of this year's count, on accepted codes
    p_value: float | None  # two-proportion z-test of the shares; None when undefined

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0

    @property
    def last_share(self) -> float:
        return self.last_count / self.last_total if self.last_total else 0.0

    @property
    def change(self) -> int:
        return self.count - self.last_count

    @property
    def share_change(self) -> float:
        """In proportion points: 0.05 is five percentage points more."""
        return self.share - self.last_share


def _filters(
    years: tuple[int, int],
    agency: str | None,
    district: str | None,
    assurance: Sequence[str] | None,
) -> list[ColumnElement[bool]]:
    """The counts of the years `years` (first, last), of the agency, district and
    assurance levels when given."""
    first, last = years
    where: list[ColumnElement[bool]] = [
        CommentCount.month.between(f"{first:04d}-01", f"{last:04d}-12")
    ]
    if assurance is not None:
        where.append(CommentCount.assurance.in_(list(assurance)))
    if agency is not None:
        where.append(CommentCount.agency == agency)
    if district is not None:
        where.append(CommentCount.district == district)
    return where


def _check(by: Sequence[str], grain: str, level: str) -> None:
    if "code" not in by or any(dim not in DIMENSIONS for dim in by) or len(set(by)) != len(by):
        raise ValueError(f"'by' must hold 'code' and only {', '.join(DIMENSIONS)}: {by}")
    if grain not in GRAINS:
        raise ValueError(f"'grain' must be one of {', '.join(GRAINS)}: {grain}")
    if level not in LEVELS:
        raise ValueError(f"'level' must be one of {', '.join(LEVELS)}: {level}")


def _totals(
    session: Session, where: list[ColumnElement[bool]], grain: str, others: Sequence[str]
) -> dict[tuple[Any, ...], int]:
    """How many comments `where` picks, coded or not, per period and cell of `others`."""
    period = _period(grain)
    cells = [getattr(CommentCount, dim) for dim in others]
    query = (
        select(period, *cells, func.sum(CommentCount.n))
        .where(*where, CommentCount.level == TOTAL)
        .group_by(period, *cells)
    )
    return {tuple(row[:-1]): int(row[-1]) for row in session.execute(query)}


def _table(
    session: Session,
    rows: _Rows,
    where: list[ColumnElement[bool]],
    by: Sequence[str],
    grain: str,
    totals: dict[tuple[Any, ...], int],
) -> list[TrendRow]:
    """Counts per period and cell of `by` of the comments `where` picks, each with its
    total from `totals` (per period and the cell's other dimensions); unordered."""
    period = _period(grain)
    others = [dim for dim in by if dim != "code"]
    columns = {dim: getattr(CommentCount, dim) for dim in by}
    query = select(
        period.label("period"),
        *(column.label(dim) for dim, column in columns.items()),
        func.sum(CommentCount.n).label("n"),
        func.sum(case((CommentCount.counted == ACCEPTED, CommentCount.n), else_=0)).label(
            "accepted"
        ),
    ).where(*where, CommentCount.level == rows.level)
    if rows.code is not None:
        query = query.where(CommentCount.code == rows.code)
    counts = session.execute(query.group_by(period, *columns.values())).all()
    return [
        TrendRow(
            period=str(row.period),
            cell={dim: _cell(dim, getattr(row, dim), rows) for dim in by},
            count=int(row.n),
            accepted=int(row.accepted or 0),
            total=totals[(row.period, *(getattr(row, dim) for dim in others))],
        )
        for row in counts
    ]


@dataclass(frozen=True)
class _Rows:
    """Which count rows a figure reads: a level's, of one code when given, shown as
    `shown` (a code's rows read at the theme level are shown as its theme)."""

    level: str
    code: str | None = None
    shown: str | None = None


def _rows_of(codebook: Codebook, level: str, code: str | None) -> _Rows:
    """At the theme level a theme's rows, or for one of its codes that code's rows shown
    as the theme: each of its comments is under the theme once either way."""
    parent = codebook.codes[code].parent if code in codebook.codes else None
    if level == "theme" and code is not None and parent is not None:
        return _Rows(level="code", code=code, shown=parent)
    return _Rows(level=level, code=code)


def _cell(dim: str, value: str, rows: _Rows) -> str | None:
    if dim == "code" and rows.shown is not None:
        return rows.shown
    return value or None  # '' is how the counts store an absent agency, district, ...


def trend_table(
    *,
    session: Session,
    codebook: Codebook,
    year: int,
    by: Sequence[str] = ("code", "agency", "district"),
    grain: str = "month",
    agency: str | None = None,
    district: str | None = None,
    assurance: Sequence[str] | None = None,
    level: str = "code",
    code: str | None = None,
) -> list[TrendRow]:
    """The year's counts and shares per period and cell of `by` (which holds "code"),
    ordered by period, then cell; only `code`'s rows when given. At `level` "theme" a
    code counts as its theme, and a comment with two codes of one theme once."""
    _check(by, grain, level)
    refresh_counts(session=session, codebook=codebook)
    where = _filters((year, year), agency, district, assurance)
    totals = _totals(session, where, grain, [dim for dim in by if dim != "code"])
    rows = _table(session, _rows_of(codebook, level, code), where, by, grain, totals)
    return sorted(rows, key=lambda r: (r.period, [str(r.cell[d] or "") for d in by]))


def comment_totals(
    *,
    session: Session,
    year: int,
    grain: str = "month",
    agency: str | None = None,
    district: str | None = None,
    assurance: Sequence[str] | None = None,
) -> dict[str, int]:
    """How many comments each period of the year has, coded or not: the n of a share,
    also in periods where a code has none."""
    if grain not in GRAINS:
        raise ValueError(f"'grain' must be one of {', '.join(GRAINS)}: {grain}")
    refresh_counts(session=session)
    totals = _totals(session, _filters((year, year), agency, district, assurance), grain, ())
    return {str(period): count for (period,), count in totals.items()}


def _period(grain: str) -> Any:
    return CommentCount.month if grain == "month" else func.substr(CommentCount.month, 1, 4)


def normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """The two-sided p-value of the z-test that x1/n1 and x2/n2 are the same proportion
    (pooled standard error); None when a year has no comments or the pool is all or none."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    error = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if error == 0.0:
        return None
    z = (x1 / n1 - x2 / n2) / error
    return 2.0 * (1.0 - normal_cdf(abs(z)))


def year_over_year(
    *,
    session: Session,
    codebook: Codebook,
    year: int,
    agency: str | None = None,
    district: str | None = None,
    assurance: Sequence[str] | None = None,
    level: str = "code",
) -> list[YearOverYear]:
    """Each code (or theme) with comments in `year` or the year before: its count and
    share in both, and the p-value of the change in share. Ordered by code."""
    if level not in LEVELS:
        raise ValueError(f"'level' must be one of {', '.join(LEVELS)}: {level}")
    refresh_counts(session=session, codebook=codebook)
    where = _filters((year - 1, year), agency, district, assurance)
    totals = _totals(session, where, "year", ())
    rows = _table(session, _Rows(level=level), where, ("code",), "year", totals)
    found = {(int(row.period), str(row.cell["code"])): row for row in rows}
    total, last_total = totals.get((f"{year:04d}",), 0), totals.get((f"{year - 1:04d}",), 0)
    changes = []
    for code in sorted({code for _, code in found}):
        now, before = found.get((year, code)), found.get((year - 1, code))
        count = now.count if now else 0
        last = before.count if before else 0
        known = codebook.codes.get(code)
        changes.append(
            YearOverYear(
                code=code,
                label=known.label if known else {"zh": code, "en": code},
                count=count,
                total=total,
                last_count=last,
                last_total=last_total,
                accepted=now.accepted if now else 0,
                p_value=two_proportion_p_value(count, total, last, last_total),
            )
        )
    return changes


def top_problems(
    *,
    session: Session,
    codebook: Codebook,
    year: int,
    limit: int = 10,
    agency: str | None = None,
    district: str | None = None,
    assurance: Sequence[str] | None = None,
    level: str = "code",
) -> list[YearOverYear]:
    """The codes (or themes) with the most comments in `year`, most first, with their
    change."""
    changes = year_over_year(
        session=session,
        codebook=codebook,
        year=year,
        agency=agency,
        district=district,
        assurance=assurance,
        level=level,
    )
    ranked = sorted((c for c in changes if c.count), key=lambda c: (-c.count, c.code))
    return ranked[:limit]
