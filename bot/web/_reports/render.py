"""What the report pages share: the templates, the reader's language (`?lang=`, else the
given default, else the browser), dates in the city's time, and the strict headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from civic.i18n import LANGUAGES, normalise_language, t

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "reports"
HTML_LANG = {"zh": "zh-CN", "en": "en"}
# Own stylesheet and images only, no script; a form may post only here.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def language_of(request: Request, default: str | None = None) -> str:
    lang = request.query_params.get("lang")
    if lang in LANGUAGES:
        return str(lang)
    if default in LANGUAGES:
        return str(default)
    return normalise_language(request.headers.get("accept-language"))


@dataclass(frozen=True)
class Words:
    """The reader's language, its texts (the `reports.` entries) and the city's clock."""

    lang: str
    timezone: str

    def t(self, key: str, **params: Any) -> str:
        return t(f"reports.{key}", self.lang, **params)

    def _local(self, moment: datetime) -> datetime:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.astimezone(ZoneInfo(self.timezone))

    def date(self, moment: datetime | None) -> str:
        return self._local(moment).strftime(self.t("date_format")) if moment else self.t("none")

    def time(self, moment: datetime | None) -> str:
        return self._local(moment).strftime(self.t("time_format")) if moment else self.t("none")

    def status(self, code: str) -> str:
        return t(f"status.{code}", self.lang)


def page(
    env: Environment,
    request: Request,
    words: Words,
    template: str,
    *,
    status: int = 200,
    keep: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a page; the language links keep the query parameters in `keep`."""
    links = {
        lang: f"{request.url.path}?" + urlencode({**(keep or {}), "lang": lang})
        for lang in LANGUAGES
    }
    html = env.get_template(template).render(
        t=words.t,
        lang=words.lang,
        html_lang=HTML_LANG[words.lang],
        lang_links=links,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)
