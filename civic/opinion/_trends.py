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

from sqlalchemy import ColumnElement, and_, case, distinct, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

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


def _counted() -> Any:
    """(comment_id, code, kind): accepted codes, and suggested ones of comments with none."""
    other = aliased(CommentCode)
    has_accepted = exists().where(
        other.comment_id == CommentCode.comment_id, other.kind == ACCEPTED
    )
    return (
        select(CommentCode.comment_id, CommentCode.code, CommentCode.kind)
        .where(
            or_(CommentCode.kind == ACCEPTED, and_(CommentCode.kind == SUGGESTED, ~has_accepted))
        )
        .subquery()
    )


def _filters(
    year: int, agency: str | None, district: str | None, assurance: Sequence[str] | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Comment.month.like(f"{year:04d}-%")]
    if assurance is not None:
        where.append(Comment.assurance.in_(list(assurance)))
    if agency is not None:
        where.append(Comment.agency == agency)
    if district is not None:
        where.append(Comment.district == district)
    return where


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
    if "code" not in by or any(dim not in DIMENSIONS for dim in by) or len(set(by)) != len(by):
        raise ValueError(f"'by' must hold 'code' and only {', '.join(DIMENSIONS)}: {by}")
    if grain not in GRAINS:
        raise ValueError(f"'grain' must be one of {', '.join(GRAINS)}: {grain}")
    if level not in LEVELS:
        raise ValueError(f"'level' must be one of {', '.join(LEVELS)}: {level}")
    counted = _counted()
    coded = _theme_of(counted.c.code, codebook) if level == "theme" else counted.c.code
    period = _period(grain)
    others = [dim for dim in by if dim != "code"]
    columns = {dim: coded if dim == "code" else getattr(Comment, dim) for dim in by}
    where = _filters(year, agency, district, assurance)
    only = [] if code is None else [counted.c.code.in_(_codes_under(code, level, codebook))]
    counts = session.execute(
        select(
            period.label("period"),
            *(column.label(dim) for dim, column in columns.items()),
            func.count(distinct(counted.c.comment_id)).label("n"),
            # a comment's counted codes are all accepted or all suggested
            func.count(distinct(case((counted.c.kind == ACCEPTED, counted.c.comment_id)))).label(
                "accepted"
            ),
        )
        .join(counted, counted.c.comment_id == Comment.id)
        .where(*where, *only)
        .group_by(period, *columns.values())
    ).all()
    totals = {
        (row[0], *row[1:-1]): row[-1]
        for row in session.execute(
            select(period, *(getattr(Comment, dim) for dim in others), func.count())
            .where(*where)
            .group_by(period, *(getattr(Comment, dim) for dim in others))
        )
    }
    rows = [
        TrendRow(
            period=str(row.period),
            cell={dim: getattr(row, dim) for dim in by},
            count=int(row.n),
            accepted=int(row.accepted or 0),
            total=int(totals[(row.period, *(getattr(row, dim) for dim in others))]),
        )
        for row in counts
    ]
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
    period = _period(grain)
    where = _filters(year, agency, district, assurance)
    rows = session.execute(select(period, func.count()).where(*where).group_by(period))
    return {str(name): int(count) for name, count in rows}


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
    years = {}
    for which in (year, year - 1):
        rows = trend_table(
            session=session,
            codebook=codebook,
            year=which,
            by=("code",),
            grain="year",
            agency=agency,
            district=district,
            assurance=assurance,
            level=level,
        )
        years[which] = {str(row.cell["code"]): row for row in rows}
    totals = {
        which: _comments_in(session, which, agency, district, assurance)
        for which in (year, year - 1)
    }
    now, before = years[year], years[year - 1]
    changes = []
    for code in sorted(set(now) | set(before)):
        count = now[code].count if code in now else 0
        last = before[code].count if code in before else 0
        known = codebook.codes.get(code)
        changes.append(
            YearOverYear(
                code=code,
                label=known.label if known else {"zh": code, "en": code},
                count=count,
                total=totals[year],
                last_count=last,
                last_total=totals[year - 1],
                accepted=now[code].accepted if code in now else 0,
                p_value=two_proportion_p_value(count, totals[year], last, totals[year - 1]),
            )
        )
    return changes


def _comments_in(
    session: Session,
    year: int,
    agency: str | None,
    district: str | None,
    assurance: Sequence[str] | None,
) -> int:
    where = _filters(year, agency, district, assurance)
    return int(session.scalar(select(func.count(Comment.id)).where(*where)) or 0)


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
