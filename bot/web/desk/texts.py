"""The desk's message catalogue (`bot/web/templates/desk/messages.yml`, zh and en side by
side) and the choice of language: `?lang=` first, then the remembered cookie, then the
browser's Accept-Language."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request

from civic.i18n.catalogue import LANGUAGES, normalise_language

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "desk"
LANG_COOKIE = "desk_lang"

Translate = Callable[..., str]


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """key -> {lang: text}."""
    with (TEMPLATES_DIR / "messages.yml").open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    return {str(key): {str(k): str(v) for k, v in texts.items()} for key, texts in data.items()}


def translator(lang: str) -> Translate:
    """`t(key, **params)` in `lang`."""
    texts = catalogue()

    def t(key: str, **params: Any) -> str:
        text = texts[key][lang]
        return text.format(**params) if params else text

    return t


def requested_language(request: Request) -> str | None:
    """The language asked for with `?lang=`, when it is one we have."""
    lang = request.query_params.get("lang")
    return lang if lang in LANGUAGES else None


def language_of(request: Request) -> str:
    for lang in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if lang in LANGUAGES:
            return lang
    return normalise_language(request.headers.get("accept-language"))
