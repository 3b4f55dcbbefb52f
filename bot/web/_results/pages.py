"""The public results of the annual evaluation, without login, in Chinese and English:

    /evaluation/                            the latest year with frozen results
    /evaluation/{year}/                     overview: ranking, bands, districts, versions
    /evaluation/{year}/agencies/{code}      a department: points, sources, targets, trends
    /evaluation/{year}/districts/{code}     a district's or county's scorecard
    /evaluation/{year}/method               sample design, weighting, what counts
    /evaluation/{year}/scorecard.json       the frozen version's figures, as frozen

Every page shows one frozen version (the latest, or `?version=N`), so published figures
never change between visits unless a new version was frozen; the overview lists the
versions and why each was made. The language comes from `?lang=`, then the browser.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bot.web._results import figures
from bot.web._results.figures import Reader
from civic.city import Profile
from civic.evaluation import (
    Scheme,
    SchemeError,
    Version,
    frozen_result,
    load_scheme,
    scheme_path,
    versions,
)
from civic.i18n import LANGUAGES, normalise_language, t

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "results"
HTML_LANG = {"zh": "zh-CN", "en": "en"}
# Public pages load nothing but their own stylesheet; no script, no form, no frame.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# Frozen versions never change: their parsed figures are kept for the next reader.
CACHED_VERSIONS = 16


def template_environment() -> Environment:
    """Jinja2 over templates/results, autoescaping on, a missing name an error."""
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def results_router(*, sessions: sessionmaker[Session], profile: Profile) -> APIRouter:
    pages = ResultPages(sessions, profile)
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/evaluation/", pages.index, methods=["GET"])
    router.add_api_route("/evaluation/{year}/", pages.overview, methods=["GET"])
    router.add_api_route("/evaluation/{year}/agencies/{code}", pages.agency, methods=["GET"])
    router.add_api_route("/evaluation/{year}/districts/{code}", pages.district, methods=["GET"])
    router.add_api_route("/evaluation/{year}/method", pages.method, methods=["GET"])
    router.add_api_route("/evaluation/{year}/scorecard.json", pages.scorecard, methods=["GET"])
    return router


def language_of(request: Request) -> str:
    lang = request.query_params.get("lang")
    if lang in LANGUAGES:
        return str(lang)
    return normalise_language(request.headers.get("accept-language"))


class NotFound(Exception):
    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params


class ResultPages:
    def __init__(self, sessions: sessionmaker[Session], profile: Profile) -> None:
        self.sessions, self.profile = sessions, profile
        self.env = template_environment()
        self._figures = lru_cache(maxsize=CACHED_VERSIONS)(self._load_figures)
        self._schemes = lru_cache(maxsize=8)(self._load_scheme)

    # -- the pages ---------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        return await run_in_threadpool(self._index, request)

    async def overview(self, request: Request, year: str) -> Response:
        return await run_in_threadpool(self._render_year, request, year, "overview", None)

    async def agency(self, request: Request, year: str, code: str) -> Response:
        return await run_in_threadpool(self._render_year, request, year, "agency", code)

    async def district(self, request: Request, year: str, code: str) -> Response:
        return await run_in_threadpool(self._render_year, request, year, "district", code)

    async def method(self, request: Request, year: str) -> Response:
        return await run_in_threadpool(self._render_year, request, year, "method", None)

    async def scorecard(self, request: Request, year: str) -> Response:
        return await run_in_threadpool(self._scorecard, request, year)

    # -- loading -----------------------------------------------------------------------

    def _index(self, request: Request) -> Response:
        reader = self._reader(request)
        with self.sessions() as session:
            frozen = versions(session=session)
        if not frozen:
            return self._page(request, reader, "none.html", status=200, here="/evaluation/")
        lang = request.query_params.get("lang")
        suffix = f"?lang={lang}" if lang in LANGUAGES else ""
        return RedirectResponse(f"/evaluation/{frozen[0].year}/{suffix}", status_code=302)

    def _version(self, request: Request, year: str) -> tuple[int, Version, list[Version]]:
        if not (year.isdigit() and len(year) == 4):
            raise NotFound("not_found.year", year=year[:8])
        number = int(year)
        with self.sessions() as session:
            frozen = versions(session=session, year=number)
        if not frozen:
            raise NotFound("not_found.year", year=number)
        asked = request.query_params.get("version")
        if asked is None:
            return number, frozen[-1], frozen
        chosen = next((v for v in frozen if str(v.version) == asked), None)
        if chosen is None:
            raise NotFound("not_found.version", year=number, version=asked[:8])
        return number, chosen, frozen

    def _load_figures(self, snapshot_id: int) -> dict[str, Any]:
        with self.sessions() as session:
            result = frozen_result(session=session, snapshot_id=snapshot_id)
        if result is None:
            raise NotFound("not_found.year", year="")
        return result

    def _load_scheme(self, year: int) -> Scheme:
        return load_scheme(scheme_path(self.profile, year), self.profile)

    # -- rendering ---------------------------------------------------------------------

    def _reader(self, request: Request) -> Reader:
        lang = language_of(request)
        return Reader(lang, lambda key, **params: t(f"results.{key}", lang, **params))

    def _render_year(self, request: Request, year: str, view: str, code: str | None) -> Response:
        reader = self._reader(request)
        try:
            number, version, frozen = self._version(request, year)
            result = self._figures(version.id)
            try:
                scheme = self._schemes(number)
            except SchemeError:
                raise NotFound("not_found.scheme", year=number) from None
            context: dict[str, Any] = {
                "year": number,
                "version": version,
                "versions": frozen,
                "latest": version.version == frozen[-1].version,
                "result": result,
                "scheme_name": reader.name(result["scheme"]["name"]),
                "scheme_changed": scheme.digest != result["scheme"]["digest"],
                "components": figures.component_names(scheme, reader),
                "order": figures.COMPONENTS,
                "query": self._query(request, version, frozen),
                "view": view,
                "request_path": request.url.path,
                "lang_query": f"?lang={reader.lang}",
            }
            context.update(getattr(self, f"_{view}_context")(result, scheme, reader, code))
        except NotFound as missing:
            return self._error(request, reader, missing)
        here = request.url.path
        return self._page(request, reader, f"{view}.html", status=200, here=here, **context)

    def _overview_context(
        self, result: dict[str, Any], scheme: Scheme, reader: Reader, code: str | None
    ) -> dict[str, Any]:
        rows = figures.ranking(result, scheme, reader)
        chart = figures.ranking_chart(result, scheme, reader)
        districts = [
            {
                "code": card["district"],
                "name": reader.name(card["name"]),
                "index": reader.number(card["satisfaction"].get("value"))
                if card["satisfaction"].get("enough")
                else reader.t("too_few", min_n=card["satisfaction"].get("min_n", "")),
                "interval": reader.interval(
                    card["satisfaction"].get("ci_low"), card["satisfaction"].get("ci_high")
                )
                if card["satisfaction"].get("enough")
                else figures.NO_VALUE,
                "n": reader.count(card["satisfaction"].get("n")),
                "volume": figures.indicator_value(card, "volume", reader),
                "on_time": figures.indicator_value(card, "on_time_rate", reader),
            }
            for card in result["districts"]
        ]
        bands = figures.band_names(result, reader)
        return {
            "ranked": [row for row in rows if row.rank != figures.NO_VALUE],
            "unranked": [row for row in rows if row.rank == figures.NO_VALUE],
            "chart": chart[0] if chart else None,
            "districts": districts,
            "bands": [(bands[band.code], figures.band_rule(band, reader)) for band in scheme.bands],
        }

    def _agency_context(
        self, result: dict[str, Any], scheme: Scheme, reader: Reader, code: str | None
    ) -> dict[str, Any]:
        agency = next((a for a in result["agencies"] if a["agency"] == code), None)
        if agency is None:
            raise NotFound("not_found.agency", code=(code or "")[:40])
        public = agency["components"].get("public", {})
        return {
            "agency": agency,
            "name": reader.name(agency["name"]),
            "row": next(r for r in figures.ranking(result, scheme, reader) if r.code == code),
            "component_rows": figures.components(agency, scheme, reader),
            "public_index": reader.number(public.get("index")),
            "sources": figures.sources(agency, reader),
            "survey": figures.survey_figure(agency),
            "targets": figures.targets(agency, scheme, reader),
            "indicators": figures.indicators(agency, reader, prefix=code or "", with_trend=True),
            "adjustments": figures.adjustments(agency, scheme, reader),
            "windows": (public.get("sources") or {}).get("windows"),
        }

    def _district_context(
        self, result: dict[str, Any], scheme: Scheme, reader: Reader, code: str | None
    ) -> dict[str, Any]:
        card = next((d for d in result["districts"] if d["district"] == code), None)
        if card is None:
            raise NotFound("not_found.district", code=(code or "")[:40])
        return {
            "card": card,
            "name": reader.name(card["name"]),
            "satisfaction": card["satisfaction"],
            "indicators": figures.indicators(card, reader, prefix=code or "", with_trend=False),
        }

    def _method_context(
        self, result: dict[str, Any], scheme: Scheme, reader: Reader, code: str | None
    ) -> dict[str, Any]:
        return {"method": figures.method(result, scheme, reader)}

    def _query(self, request: Request, version: Version, frozen: list[Version]) -> str:
        """What every link on the page carries: the language asked for and, for an
        earlier version, that version."""
        parts = []
        lang = request.query_params.get("lang")
        if lang in LANGUAGES:
            parts.append(f"lang={lang}")
        if version.version != frozen[-1].version:
            parts.append(f"version={version.version}")
        return "?" + "&".join(parts) if parts else ""

    def _scorecard(self, request: Request, year: str) -> Response:
        reader = self._reader(request)
        try:
            _, version, _ = self._version(request, year)
            result = self._figures(version.id)
        except NotFound as missing:
            return JSONResponse({"detail": reader.t(missing.key, **missing.params)}, 404)
        published = {key: value for key, value in result.items() if key != "inputs"}
        return JSONResponse({"version": version.version, **published})

    def _error(self, request: Request, reader: Reader, missing: NotFound) -> Response:
        return self._page(
            request,
            reader,
            "error.html",
            status=404,
            here=request.url.path,
            message=reader.t(missing.key, **missing.params),
        )

    def _page(
        self,
        request: Request,
        reader: Reader,
        template: str,
        *,
        status: int,
        here: str,
        **context: Any,
    ) -> Response:
        keep = [f"{k}={v}" for k, v in request.query_params.items() if k == "version"]
        links = {lang: f"{here}?" + "&".join([*keep, f"lang={lang}"]) for lang in LANGUAGES}
        html = self.env.get_template(template).render(
            t=reader.t,
            fmt=reader,
            lang=reader.lang,
            html_lang=HTML_LANG[reader.lang],
            lang_links=links,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)
