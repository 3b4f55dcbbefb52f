"""The desk's texts and the choice of language: `?lang=` first, then the remembered cookie,
then the browser's Accept-Language.

The texts are the `desk.*` entries of the one message catalogue
(`civic/i18n/locales/desk.<lang>.yml`); the desk's pages and templates name them without
the `desk.` prefix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request

from civic.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue, normalise_language, t

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "desk"
LANG_COOKIE = "desk_lang"
NAMESPACE = "desk."

Translate = Callable[..., str]


def translator(lang: str) -> Translate:
    """`t(key, **params)` in `lang`, for one of the desk's texts."""

    def translate(key: str, **params: Any) -> str:
        return t(NAMESPACE + key, lang, **params)

    return translate


def has_text(key: str) -> bool:
    """Whether `key` names one of the desk's texts."""
    return NAMESPACE + key in catalogue(DEFAULT_LANGUAGE)


def requested_language(request: Request) -> str | None:
    """The language asked for with `?lang=`, when it is one we have."""
    lang = request.query_params.get("lang")
    return lang if lang in LANGUAGES else None


def language_of(request: Request) -> str:
    for lang in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if lang in LANGUAGES:
            return lang
    return normalise_language(request.headers.get("accept-language"))
