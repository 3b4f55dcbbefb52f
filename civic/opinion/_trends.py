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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from civic.opinion._codebook import Codebook
from civic.opinion._collect import ACCEPTED, SUGGESTED
from storage.models import Comment, CommentCode

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


def _counted(codebook: Codebook, level: str, code: str | None) -> Any:
    """(comment_id, code, kind), one row per comment and code it counts under: its
    accepted codes, or its suggested ones when it has none; at level "theme" each code as
    its theme, once per comment. Only the codes counting as `code` when given."""
    accepted = select(CommentCode.comment_id).where(CommentCode.kind == ACCEPTED).subquery()
    coded = _theme_of(CommentCode.code, codebook) if level == "theme" else CommentCode.code
    # A suggested code is dropped when its comment has an accepted one; accepted codes
    # never match the join, so they stay. Written as an anti-join: the database does it
    # in one pass, where a correlated NOT EXISTS probes once per row (seconds at millions).
    found = (
        select(CommentCode.comment_id, coded.label("code"), CommentCode.kind)
        .outerjoin(
            accepted,
            and_(accepted.c.comment_id == CommentCode.comment_id, CommentCode.kind == SUGGESTED),
        )
        .where(accepted.c.comment_id.is_(None))
    )
    if code is not None:
        found = found.where(CommentCode.code.in_(_codes_under(code, level, codebook)))
    return (found.distinct() if level == "theme" else found).subquery()


def _filters(
    years: tuple[int, int],
    agency: str | None,
    district: str | None,
    assurance: Sequence[str] | None,
) -> list[ColumnElement[bool]]:
    """The comments of the years `years` (first, last), of the agency, district and
    assurance levels when given."""
    first, last = years
    where: list[ColumnElement[bool]] = [Comment.month.between(f"{first:04d}-01", f"{last:04d}-12")]
    if assurance is not None:
        where.append(Comment.assurance.in_(list(assurance)))
    if agency is not None:
        where.append(Comment.agency == agency)
    if district is not None:
        where.append(Comment.district == district)
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
    cells = [getattr(Comment, dim) for dim in others]
    query = select(period, *cells, func.count()).where(*where).group_by(period, *cells)
    return {tuple(row[:-1]): int(row[-1]) for row in session.execute(query)}


def _table(
    session: Session,
    counted: Any,
    where: list[ColumnElement[bool]],
    by: Sequence[str],
    grain: str,
    totals: dict[tuple[Any, ...], int],
) -> list[TrendRow]:
    """Counts per period and cell of `by` of the comments `where` picks, each with its
    total from `totals` (per period and the cell's other dimensions); unordered."""
    period = _period(grain)
    others = [dim for dim in by if dim != "code"]
    columns = {dim: counted.c.code if dim == "code" else getattr(Comment, dim) for dim in by}
    counts = session.execute(
        select(
            period.label("period"),
            *(column.label(dim) for dim, column in columns.items()),
            func.count().label("n"),
            # a comment's counted codes are all accepted or all suggested
            func.sum(case((counted.c.kind == ACCEPTED, 1), else_=0)).label("accepted"),
        )
        .join(counted, counted.c.comment_id == Comment.id)
        .where(*where)
        .group_by(period, *columns.values())
    ).all()
    return [
        TrendRow(
            period=str(row.period),
            cell={dim: getattr(row, dim) for dim in by},
            count=int(row.n),
            accepted=int(row.accepted or 0),
            total=totals[(row.period, *(getattr(row, dim) for dim in others))],
        )
        for row in counts
    ]


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
    where = _filters((year, year), agency, district, assurance)
    totals = _totals(session, where, grain, [dim for dim in by if dim != "code"])
    rows = _table(session, _counted(codebook, level, code), where, by, grain, totals)
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
    totals = _totals(session, _filters((year, year), agency, district, assurance), grain, ())
    return {str(period): count for (period,), count in totals.items()}


def _period(grain: str) -> Any:
    return Comment.month if grain == "month" else func.substr(Comment.month, 1, 4)


def _codes_under(code: str, level: str, codebook: Codebook) -> list[str]:
    """The stored codes that count as `code`: itself, and at level "theme" its children."""
    if level != "theme":
        return [code]
    return [code, *(child.code for child in codebook.children(code))]


def _theme_of(code: Any, codebook: Codebook) -> Any:
    parents = {c.code: c.parent for c in codebook.codes.values() if c.parent is not None}
    return case(parents, value=code, else_=code) if parents else code


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
    where = _filters((year - 1, year), agency, district, assurance)
    totals = _totals(session, where, "year", ())
    rows = _table(session, _counted(codebook, level, None), where, ("code",), "year", totals)
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
