"""Message catalogues (zh and en) and language detection.

Text for citizens, duty officers and the agency desk never lives in Python: it is in
`civic/i18n/locales/<lang>.yml` and, per feature, `civic/i18n/locales/<feature>.<lang>.yml`
(`duty`, `invitations`, `surveys`, `verify`, `desk`, `sessions`, `evaluation`, `demo`,
`opendata`), looked up by key. A test checks that both catalogues hold the same keys and
placeholders.
"""

from __future__ import annotations

import re
import string
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_ENGLISH_WORD = re.compile(r"[A-Za-z]+")


@cache
def catalogue(lang: str) -> dict[str, str]:
    flat: dict[str, str] = {}
    for path in [LOCALES_DIR / f"{lang}.yml", *sorted(LOCALES_DIR.glob(f"*.{lang}.yml"))]:
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        for key, text in _flatten(data).items():
            if key in flat:
                raise ValueError(f"{path.name}: message key {key} is already defined")
            flat[key] = text
    return flat


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{full}."))
        else:
            flat[full] = str(value)
    return flat


def normalise_language(lang: str | None) -> str:
    """Map anything (None, 'en-US', 'zh-hans') onto one of LANGUAGES."""
    if not lang:
        return DEFAULT_LANGUAGE
    lang = lang.lower()
    return "en" if lang.startswith("en") else "zh" if lang.startswith("zh") else DEFAULT_LANGUAGE


def t(key: str, lang: str | None, **params: Any) -> str:
    """The text for `key` in `lang`, with `{placeholders}` filled in."""
    text = catalogue(normalise_language(lang))[key]
    return text.format(**params) if params else text


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def detect_language(text: str | None) -> str | None:
    """The language most of the text is in: 'zh' or 'en', None when it has neither
    Chinese characters nor Latin letters (emoji, digits, a button payload).

    A Chinese word is about two characters: "建议 more bilingual signs at the metro" is
    English with a Chinese word in it, "我想查一下我的 report" Chinese with an English one."""
    if not text or text.startswith("/"):
        return None
    chinese_words = len(_CJK.findall(text)) / 2
    english_words = len(_ENGLISH_WORD.findall(text))
    if chinese_words and chinese_words >= english_words:
        return "zh"
    if english_words and (chinese_words or len(_LATIN.findall(text)) >= 2):
        return "en"
    return None


def localised(value: dict[str, str], lang: str | None) -> str:
    """Pick the text for `lang` from a {'zh': ..., 'en': ...} mapping of the profile."""
    return value.get(normalise_language(lang)) or value.get(DEFAULT_LANGUAGE) or ""
