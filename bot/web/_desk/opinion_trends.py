"""The desk's public-opinion trend pages, mounted at `/desk/opinion/trends`: the year's top
problems with their change on the year before and its significance, a chosen code's share
month by month against last year's (an SVG chart and the same figures as a table), and the
counts by code and agency or district.

The evaluation office sees every agency; an agency's users see only their own, chosen here
on the server (`opinion_filters`). Every figure comes with its n. The comments' texts are
never shown: these pages are counts only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bot.web._desk import security
from bot.web._desk.login import to_login
from bot.web._desk.opinion_filters import (
    BY,
    FIRST_YEAR,
    LAST_YEAR,
    WRITERS,
    BadTrendFilter,
    TrendFilters,
    parse_trend_filters,
)
from bot.web._desk.render import Page, Renderer
from bot.web._results import Line, lines
from civic.agencies import user_for_session
from civic.city import Profile
from civic.i18n import t
from civic.opinion import (
    GRAINS,
    LEVELS,
    Codebook,
    CodebookError,
    YearOverYear,
    codebook_path,
    comment_totals,
    load_codebook,
    top_problems,
    trend_table,
)
from storage.models import utcnow

log = logging.getLogger(__name__)
PATH = "/desk/opinion/trends"
TOP = 10
MAX_ROWS = 300  # of the table by code and agency or district
SIGNIFICANT = 0.05


@dataclass(frozen=True)
class Reader:
    """The page being made: who reads it, in which language, with which filters."""

    page: Page
    filters: TrendFilters
    codebook: Codebook

    def tt(self, key: str, **params: Any) -> str:
        """One of these pages' texts (opinion_trends.*) in the reader's language."""
        return t(f"opinion_trends.{key}", self.page.lang, **params)

    def label(self, code: str | None) -> str:
        return self.codebook.label(code, self.page.lang) if code else self.tt("table.unknown")

    @property
    def last(self) -> int:
        return self.filters.year - 1


def percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def p_text(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


class OpinionTrends:
    def __init__(self, sessions: sessionmaker[Session], profile: Profile) -> None:
        self.sessions, self.profile = sessions, profile
        self.renderer = Renderer(profile)
        self._codebook: Codebook | None = None

    def codebook(self) -> Codebook | None:
        """The city's codebook, loaded on first use; None (logged) when it has none."""
        if self._codebook is None:
            try:
                self._codebook = load_codebook(codebook_path(self.profile), self.profile)
            except CodebookError:
                log.exception("the codebook of the public-opinion analysis cannot be loaded")
        return self._codebook

    def this_year(self) -> int:
        return utcnow().astimezone(ZoneInfo(self.profile.timezone)).year

    async def trends(self, request: Request) -> Response:
        return await run_in_threadpool(self._trends, request)

    def _trends(self, request: Request) -> Response:
        with self.sessions() as session:
            user = user_for_session(session=session, token=security.session_token(request))
            if user is None:
                return to_login(request)
            page = self.renderer.page(
                request, user, security.csrf_token(security.session_token(request))
            )
            codebook = self.codebook()
            if codebook is None:
                message = t("opinion_trends.error.no_codebook", page.lang)
                return self.renderer.error(page, 404, message)
            try:
                filters = parse_trend_filters(
                    request.query_params, self.profile, codebook, user, self.this_year()
                )
            except BadTrendFilter as exc:
                reason = t(
                    f"opinion_trends.error.{exc.key}",
                    page.lang,
                    value=exc.value,
                    low=FIRST_YEAR,
                    high=LAST_YEAR,
                )
                message = t("opinion_trends.error.bad_filter", page.lang, detail=reason)
                return self.renderer.error(page, 400, message)
            reader = Reader(page, filters, codebook)
            response = self._render(session, reader)
            session.commit()  # keeps the comment counts the figures refreshed, if any
            return response

    def _render(self, session: Session, reader: Reader) -> Response:
        f = reader.filters
        scope = _scope(f)
        top = top_problems(
            session=session, codebook=reader.codebook, year=f.year, limit=TOP, **scope
        )
        totals = (
            {f.year: top[0].total, reader.last: top[0].last_total}
            if top
            else {
                year: sum(comment_totals(session=session, year=year, **_where(f)).values())
                for year in (f.year, reader.last)
            }
        )
        chosen = f.code or (top[0].code if top else None)
        table, count = _breakdown(session, reader)
        return self.renderer.render(
            reader.page,
            "opinion_trends.html",
            here=f"{PATH}?{f.query()}",
            tt=reader.tt,
            f=f,
            last=reader.last,
            totals=totals,
            top=[_top_row(reader, rank, c) for rank, c in enumerate(top, start=1)],
            chart=_chart(session, reader, chosen) if chosen else None,
            table=table,
            table_count=count,
            max_rows=MAX_ROWS,
            choices=_choices(reader),
        )


def _where(f: TrendFilters) -> dict[str, Any]:
    """The filters every query takes: agency, district, assurance levels."""
    return {"agency": f.agency, "district": f.district, "assurance": f.assurance or None}


def _scope(f: TrendFilters) -> dict[str, Any]:
    return {**_where(f), "level": f.level}


def _top_row(reader: Reader, rank: int, change: YearOverYear) -> dict[str, Any]:
    points = f"{100 * change.share_change:+.1f}"
    return {
        "rank": rank,
        "code": change.code,
        "label": reader.label(change.code),
        "query": reader.filters.query(code=change.code),
        "count": change.count,
        "share": percent(change.share),
        "last_count": change.last_count,
        "last_share": percent(change.last_share),
        "change": f"{change.change:+d}",
        "points": reader.tt("top.points", points=points),
        "p": p_text(change.p_value),
        "significant": change.p_value is not None and change.p_value < SIGNIFICANT,
        "accepted": change.accepted,
        "suggested": change.count - change.accepted,
    }


def _monthly(session: Session, reader: Reader, code: str, year: int) -> list[dict[str, Any]]:
    """Twelve months of `code` in `year`: count, n and share (None in a month without
    comments)."""
    f = reader.filters
    rows = trend_table(
        session=session,
        codebook=reader.codebook,
        year=year,
        by=("code",),
        grain="month",
        code=code,
        **_scope(f),
    )
    counts = {row.period: row.count for row in rows}
    totals = comment_totals(session=session, year=year, grain="month", **_where(f))
    months = []
    for number in range(1, 13):
        period = f"{year:04d}-{number:02d}"
        count, total = counts.get(period, 0), totals.get(period, 0)
        months.append({"count": count, "total": total, "share": count / total if total else None})
    return months


def _chart(session: Session, reader: Reader, code: str) -> dict[str, Any]:
    """The chosen code's monthly share, this year against last: the SVG, its text
    alternative, and the rows of the table beside it."""
    f, tt, label = reader.filters, reader.tt, reader.label(code)
    years = {year: _monthly(session, reader, code, year) for year in (f.year, reader.last)}
    names = _month_names(reader.page.lang)

    def spoken(year: int) -> str:
        values = [
            tt("chart.point", month=names[i], share=percent(m["share"]), **_n(m))
            if m["share"] is not None
            else tt("chart.no_value", month=names[i])
            for i, m in enumerate(years[year])
        ]
        return tt("chart.series", year=year, values=", ".join(values))

    description = tt("chart.description", series=" ".join(spoken(y) for y in (f.year, reader.last)))
    svg = lines(
        [
            Line(tt("chart.legend_this", year=f.year), _shares(years[f.year])),
            Line(tt("chart.legend_last", year=reader.last), _shares(years[reader.last]), True),
        ],
        names,
        axis=tt("chart.axis"),
        title=tt("chart.title", label=label, year=f.year, last=reader.last),
        description=description,
        ident="trend",
    )
    rows = [
        {
            "month": names[i],
            "now": _cell(years[f.year][i]),
            "before": _cell(years[reader.last][i]),
        }
        for i in range(12)
    ]
    return {"svg": svg, "code": code, "label": label, "description": description, "rows": rows}


def _n(month: dict[str, Any]) -> dict[str, int]:
    return {"count": month["count"], "total": month["total"]}


def _shares(months: list[dict[str, Any]]) -> tuple[float | None, ...]:
    return tuple(m["share"] for m in months)


def _cell(month: dict[str, Any]) -> dict[str, Any]:
    share = month["share"]
    return {**_n(month), "share": percent(share) if share is not None else "—"}


def _month_names(lang: str) -> list[str]:
    if lang == "zh":
        return [f"{m}月" for m in range(1, 13)]
    return [datetime(2000, m, 1).strftime("%b") for m in range(1, 13)]


def _breakdown(session: Session, reader: Reader) -> tuple[list[dict[str, Any]], int]:
    """The table by period, code and agency or district (the chosen code's rows only
    when one is chosen); all its rows are counted, the first MAX_ROWS are shown."""
    f = reader.filters
    found = trend_table(
        session=session,
        codebook=reader.codebook,
        year=f.year,
        by=("code", f.by),
        grain=f.grain,
        code=f.code,
        **_scope(f),
    )
    name: Callable[[str], str] = (
        reader.page.labels.agency if f.by == "agency" else reader.page.labels.district
    )
    rows = [
        {
            "period": row.period,
            "code": row.cell["code"],
            "label": reader.label(row.cell["code"]),
            "query": f.query(code=row.cell["code"]),
            "where": _where_name(name, row.cell[f.by], reader),
            "count": row.count,
            "accepted": row.accepted,
            "suggested": row.suggested,
            "total": row.total,
            "share": percent(row.share),
        }
        for row in found[:MAX_ROWS]
    ]
    return rows, len(found)


def _where_name(name: Callable[[str], str], code: str | None, reader: Reader) -> str:
    return name(code) if code else reader.tt("table.unknown")


def _choices(reader: Reader) -> dict[str, list[tuple[str, str]]]:
    """The filters' options, in the reader's language."""
    labels, tt = reader.page.labels, reader.tt
    codes = reader.codebook.codes.values()
    if reader.filters.level == "theme":
        codes = [c for c in codes if c.parent is None]  # type: ignore[assignment]
    profile = labels.profile
    return {
        "grain": [(g, tt(f"grain.{g}")) for g in GRAINS],
        "level": [(v, tt(f"level.{v}")) for v in LEVELS],
        "agency": [(a, labels.agency(a)) for a in profile.agencies],
        "district": [(d, labels.district(d)) for d in profile.districts],
        "assurance": [(w, tt(f"assurance.{w}")) for w in WRITERS],
        "code": [(c.code, c.name(reader.page.lang)) for c in codes],
        "by": [(b, tt(f"by.{b}")) for b in BY],
    }


def opinion_trends_router(*, sessions: sessionmaker[Session], profile: Profile) -> APIRouter:
    """Mounted with prefix `/desk`, before the desk's own router (it ends in a catch-all)."""
    from bot.web._desk.router import DeskRoute

    pages = OpinionTrends(sessions, profile)
    router = APIRouter(route_class=DeskRoute)
    router.add_api_route("/opinion/trends", pages.trends, methods=["GET"], include_in_schema=False)
    return router
