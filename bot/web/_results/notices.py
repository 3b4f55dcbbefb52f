"""The public pages of the performance improvement notices, without login, in Chinese
and English, with the look, the language switch and the strict CSP of `/evaluation/`:

    /notices/                 every issued notice, newest first; ?agency= and ?status=
                              filter it (a filter that is not one is a 400 page)
    /notices/{number}         one notice's public history: the problem and its evidence,
                              the response, the commitment and its milestones, the
                              public steps, the verification and the citizens' answers

A proposal never issued, or dismissed, is not public: it is neither listed nor found.
The pages read the tables only (`notice_facts`); they change nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bot.web._results.figures import Reader
from bot.web._results.notice_facts import (
    PUBLIC_STATUSES,
    public_agencies,
    public_notice,
    public_notices,
)
from bot.web._results.notice_figures import NoticeWords, notice_reader
from bot.web._results.pages import HEADERS, HTML_LANG, language_of, template_environment
from civic.city import Profile
from civic.i18n import LANGUAGES
from civic.opinion import Codebook, CodebookError, codebook_path, load_codebook

# Longest piece of a bad number or filter echoed back on an error page.
ECHO = 40


def public_notices_router(*, sessions: sessionmaker[Session], profile: Profile) -> APIRouter:
    pages = NoticePages(sessions, profile)
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/notices/", pages.index, methods=["GET"])
    router.add_api_route("/notices/{number}", pages.notice, methods=["GET"])
    return router


class PageError(Exception):
    """A page that cannot be shown: its status, title key and message key."""

    def __init__(self, http_status: int, title: str, key: str, **params: Any) -> None:
        super().__init__(key)
        self.http_status, self.title, self.key, self.params = http_status, title, key, params


class NoticePages:
    def __init__(self, sessions: sessionmaker[Session], profile: Profile) -> None:
        self.sessions, self.profile = sessions, profile
        self.env = template_environment()
        self._codebook: Codebook | None = None

    async def index(self, request: Request) -> Response:
        return await run_in_threadpool(self._index, request)

    async def notice(self, request: Request, number: str) -> Response:
        return await run_in_threadpool(self._notice, request, number)

    def _index(self, request: Request) -> Response:
        reader = notice_reader(language_of(request))
        try:
            agency, status = self._filters(request)
        except PageError as error:
            return self._error(request, reader, error)
        words = self._words(reader)
        with self.sessions() as session:
            notices = public_notices(session=session, agency=agency, status=status)
            agencies = public_agencies(session=session)
        if agency is not None and agency not in agencies:
            agencies = sorted([*agencies, agency])
        chosen = [
            value
            for value in (
                words.agency(agency) if agency else None,
                reader.t(f"status.{status}") if status else None,
            )
            if value
        ]
        return self._page(
            request,
            reader,
            "notices.html",
            rows=[words.row(facts) for facts in notices],
            agency_filter=agency,
            status_filter=status,
            agencies=[(code, words.agency(code)) for code in agencies],
            statuses=[(code, reader.t(f"status.{code}")) for code in PUBLIC_STATUSES],
            filters=reader.t("list_separator").join(chosen),
            link=lambda **change: _list_link(
                reader.lang, {"agency": agency, "status": status}, change
            ),
        )

    def _notice(self, request: Request, number: str) -> Response:
        reader = notice_reader(language_of(request))
        with self.sessions() as session:
            facts = public_notice(session=session, number=number)
        if facts is None:
            missing = PageError(404, "not_found_title", "not_found", number=number[:ECHO])
            return self._error(request, reader, missing)
        detail = self._words(reader).detail(facts)
        return self._page(request, reader, "notice.html", notice=detail)

    def _filters(self, request: Request) -> tuple[str | None, str | None]:
        """The agency and status asked for; empty means all, anything unknown is a 400."""
        agency = request.query_params.get("agency") or None
        status = request.query_params.get("status") or None
        if agency is not None and agency not in self.profile.agencies:
            raise PageError(400, "bad_filter_title", "agency", agency=agency[:ECHO])
        if status is not None and status not in PUBLIC_STATUSES:
            statuses = ", ".join(PUBLIC_STATUSES)
            raise PageError(
                400, "bad_filter_title", "status", status=status[:ECHO], statuses=statuses
            )
        return agency, status

    def _words(self, reader: Reader) -> NoticeWords:
        today = datetime.now(ZoneInfo(self.profile.timezone)).date()
        return NoticeWords(reader, self.profile, self.codebook(), today)

    def codebook(self) -> Codebook | None:
        """The city's codebook, for the subjects' names; a city without one shows codes."""
        if self._codebook is None:
            try:
                self._codebook = load_codebook(codebook_path(self.profile), self.profile)
            except CodebookError:
                return None
        return self._codebook

    def _error(self, request: Request, reader: Reader, error: PageError) -> Response:
        return self._page(
            request,
            reader,
            "notice_error.html",
            status=error.http_status,
            title=reader.t(f"error.{error.title}"),
            message=reader.t(f"error.{error.key}", **error.params),
        )

    def _page(
        self, request: Request, reader: Reader, template: str, *, status: int = 200, **context: Any
    ) -> Response:
        keep = {k: v for k, v in request.query_params.items() if k in ("agency", "status")}
        links = {
            lang: f"{request.url.path}?" + urlencode({**keep, "lang": lang}) for lang in LANGUAGES
        }
        html = self.env.get_template(template).render(
            t=reader.t,
            fmt=reader,
            lang=reader.lang,
            html_lang=HTML_LANG[reader.lang],
            lang_links=links,
            here=request.url.path,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)


def _list_link(lang: str, filters: dict[str, str | None], change: dict[str, str | None]) -> str:
    """The list's address with the filters changed (None drops one)."""
    query = {**filters, **change, "lang": lang}
    return "/notices/?" + urlencode({k: v for k, v in query.items() if v})
