"""`/open-data/`: the open-data files, read-only and with no login, at stable addresses
(`/open-data/tickets.csv`, ... and the dictionary `/open-data/datapackage.json`), and an
index page in Chinese or English (`?lang=zh|en`) listing them with their size, row count
and time of publication, the licence and the columns of each table.

Only the names `civic.opendata.FILES` lists are ever served, so no other file of the
folder (a temporary one being written) and nothing outside it can be reached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from civic import opendata
from civic.i18n import LANGUAGES, normalise_language, t

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Cache-Control": "public, max-age=3600",
    "X-Content-Type-Options": "nosniff",
}
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
    "Cache-Control": "public, max-age=600",
}


def _language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    return normalise_language(request.headers.get("accept-language"))


def _size(size: int) -> str:
    amount = float(size)
    for unit in ("B", "KB", "MB"):
        if amount < 1024:
            return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GB"


def _page(package: dict[str, Any] | None, lang: str) -> dict[str, Any]:
    """What the index page shows: the files, the licence and each table's columns."""
    files = [
        {
            "path": r["path"],
            "title": r.get("titles", {}).get(lang, r["title"]),
            "format": r["format"].upper(),
            "size": _size(int(r["bytes"])),
            "rows": r["rows"],
        }
        for r in (package or {}).get("resources", [])
    ]
    tables = [
        {
            "title": table.title(lang),
            "description": table.description(lang),
            "columns": [(c, c.description(table.name, lang)) for c in table.columns],
        }
        for table in opendata.TABLES
    ]
    other = "en" if lang == "zh" else "zh"
    return {
        "lang": lang,
        "other": other,
        "text": lambda key, **params: t(f"opendata.page.{key}", lang, **params),
        "created": (package or {}).get("created"),
        "files": files,
        "tables": tables,
        "licence": opendata.LICENCE,
        "dictionary": opendata.DICTIONARY_FILE,
    }


def _package(folder: Path) -> dict[str, Any] | None:
    """The last dictionary; None before the first publication, or if it cannot be read
    (the files are then listed as not published rather than the page failing)."""
    try:
        return opendata.read_package(folder)
    except (ValueError, OSError):
        return None


def _missing(key: str, name: str, lang: str) -> PlainTextResponse:
    return PlainTextResponse(t(f"opendata.page.{key}", lang, name=name), 404)


def open_data_router(*, folder: Path, templates_dir: Path) -> APIRouter:
    """The files published into `folder` (`civicbot opendata publish`, the daily job)."""
    templates = Jinja2Templates(directory=str(templates_dir))
    router = APIRouter()

    @router.get("/open-data/", response_class=HTMLResponse, include_in_schema=False)
    async def index(request: Request) -> Response:
        lang = _language(request)
        package = await run_in_threadpool(_package, folder)
        context = _page(package, lang)
        response = templates.TemplateResponse(request, "open_data.html", context)
        response.headers.update(PAGE_HEADERS)
        return response

    @router.get("/open-data/{name}", include_in_schema=False)
    async def download(request: Request, name: str) -> Response:
        lang = _language(request)
        if name not in opendata.FILES:
            return _missing("not_found", name, lang)
        path = folder / name
        if not path.is_file():
            return _missing("not_yet", name, lang)
        media_type = MEDIA_TYPES[name.rsplit(".", 1)[1]]
        return FileResponse(path, media_type=media_type, headers=HEADERS)

    return router
