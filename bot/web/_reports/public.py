"""The public list and map of reports, without login:

    /reports/    ?district= &category= &status= filter, ?page= pages, ?lang= the language

Each report shows its number, problem, department, district, status and dates, never
what the citizen wrote, where exactly, or who they are; the map puts the reports on a
grid of about 1 km (`storage.reports`). A filter that is not one is a 400 page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bot.web._reports.city_map import city_map
from bot.web._reports.render import Words, environment, language_of, page
from civic.city import Profile
from civic.tickets import Status
from storage.reports import PublicReport, ReportFilter, public_reports, report_points

PAGE_SIZE = 25
ECHO = 40  # longest piece of a bad filter echoed back
FILTERS = ("district", "category", "status")


class BadFilter(Exception):
    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key, self.params = key, params


@dataclass(frozen=True)
class Row:
    number: str
    category: str
    agency: str
    district: str
    status: str
    status_code: str
    filed: str
    updated: str


def public_reports_router(*, sessions: sessionmaker[Session], profile: Profile) -> APIRouter:
    pages = PublicReports(sessions, profile)
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/reports/", pages.index, methods=["GET"])
    return router


class PublicReports:
    def __init__(self, sessions: sessionmaker[Session], profile: Profile) -> None:
        self.sessions, self.profile = sessions, profile
        self.env = environment()

    async def index(self, request: Request) -> Response:
        return await run_in_threadpool(self._index, request)

    def _choices(self, words: Words) -> dict[str, list[tuple[str, str]]]:
        lang = words.lang
        return {
            "district": [(c, d.label(lang)) for c, d in self.profile.districts.items()],
            "category": [(c, k.label(lang)) for c, k in self.profile.categories.items()],
            "status": [(s.value, words.status(s.value)) for s in Status],
        }

    def _filters(self, request: Request, words: Words) -> tuple[ReportFilter, int]:
        choices = self._choices(words)
        chosen: dict[str, str | None] = {}
        for name in FILTERS:
            value = request.query_params.get(name) or None
            if value is not None and value not in dict(choices[name]):
                what = words.t(f"list.filter_{name}")
                raise BadFilter("list.bad_filter", what=what, value=value[:ECHO])
            chosen[name] = value
        raw_page = request.query_params.get("page") or "1"
        if not raw_page.isdigit() or not 1 <= int(raw_page) <= 100000:
            raise BadFilter("list.bad_page", value=raw_page[:ECHO])
        return ReportFilter(**chosen), int(raw_page)

    def _index(self, request: Request) -> Response:
        words = Words(language_of(request), self.profile.timezone)
        keep = {k: v for k, v in request.query_params.items() if k in (*FILTERS, "page") and v}
        try:
            where, number = self._filters(request, words)
        except BadFilter as bad:
            message = words.t(bad.key, **bad.params)
            return page(self.env, request, words, "bad_filter.html", status=400, message=message)
        with self.sessions() as session:
            reports, total = public_reports(
                session=session, where=where, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
            )
            points = report_points(session=session, where=where)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        return page(
            self.env,
            request,
            words,
            "reports.html",
            keep=keep,
            rows=[self._row(words, r) for r in reports],
            total=total,
            page_number=number,
            pages=pages,
            choices=self._choices(words),
            where=where,
            caption=self._caption(words, where),
            map=city_map(self.profile, points),
            places=len(points),
            mapped=sum(n for _, _, n in points),
            link=lambda **change: _link(words.lang, where, change),
        )

    def _caption(self, words: Words, where: ReportFilter) -> str:
        choices = self._choices(words)
        named = [
            dict(choices[name])[value]
            for name in FILTERS
            if (value := getattr(where, name)) is not None
        ]
        if not named:
            return words.t("list.caption")
        return words.t("list.caption_filtered", filters=", ".join(named))

    def _row(self, words: Words, report: PublicReport) -> Row:
        category = self.profile.categories.get(report.category)
        agency = self.profile.agencies.get(report.agency or "")
        district = self.profile.districts.get(report.district or "")
        return Row(
            number=report.number,
            category=category.label(words.lang) if category else report.category,
            agency=agency.label(words.lang) if agency else words.t("none"),
            district=district.label(words.lang) if district else words.t("none"),
            status=words.status(report.status),
            status_code=report.status,
            filed=words.date(report.created_at),
            updated=words.date(report.updated_at),
        )


def _link(lang: str, where: ReportFilter, change: dict[str, Any]) -> str:
    query: dict[str, Any] = {name: getattr(where, name) for name in FILTERS}
    query.update(change)
    query["lang"] = lang
    return "/reports/?" + urlencode({k: v for k, v in query.items() if v})
