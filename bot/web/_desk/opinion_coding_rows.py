"""What the coding pages show and read: the comment filter from the query string (an
unknown value is the user's mistake, a 400 page that says which), the codebook as form
choices grouped by theme, a comment with its codes, the codes a form sent, and the
agreement's figures, all in the reader's language.

Only names and numbers are built here; who may code is decided by the pages
(`opinion_coding.py`) and by `civic.opinion`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData

from bot.web._desk.render import Page
from civic.city import Profile
from civic.i18n import LANGUAGES
from civic.opinion import (
    SOURCES,
    SUGGESTED,
    Agreement,
    Codebook,
    CommentFilter,
    Kappa,
    split_codes,
)
from storage.models import Comment, CommentCoding

MAX_PAGE = 1000
_YEAR = re.compile(r"20\d\d")
_MONTH = re.compile(r"20\d\d-(0[1-9]|1[0-2])")
_CODED = {"yes": True, "no": False}
FIELDS = ("source", "agency", "district", "language")  # the filter's drop-down lists


class BadCodingFilter(Exception):
    """A filter or form value we do not know; `field` names which."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(field)
        self.field, self.value = field, value[:60]


@dataclass(frozen=True)
class Listing:
    """The comments page's filter and page number, as the query string has them."""

    chosen: CommentFilter
    page: int = 1

    def query(self, **changes: Any) -> str:
        listing = replace(self, **changes)
        values = listing.chosen.values()
        if "coded" in values:
            values["coded"] = "yes" if values["coded"] else "no"
        if listing.page > 1:
            values["page"] = listing.page
        return urlencode(values)


def _choice(params: Mapping[str, str], name: str, known: Any) -> str | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if value not in known:
        raise BadCodingFilter(name, value)
    return value


def _pattern(params: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str | None:
    value = params.get(name, "").strip()
    if value and not pattern.fullmatch(value):
        raise BadCodingFilter(name, value)
    return value or None


def parse_filter(params: Mapping[str, str], profile: Profile, codebook: Codebook) -> CommentFilter:
    """The comment filter asked for; BadCodingFilter for a value that is not a choice."""
    year = _pattern(params, "year", _YEAR)
    coded = _choice(params, "coded", _CODED)
    return CommentFilter(
        year=int(year) if year else None,
        month=_pattern(params, "month", _MONTH),
        source=_choice(params, "source", SOURCES),
        agency=_choice(params, "agency", profile.agencies),
        district=_choice(params, "district", profile.districts),
        language=_choice(params, "language", LANGUAGES),
        coded=_CODED[coded] if coded else None,
        code=_choice(params, "code", codebook.codes),
    )


def parse_listing(params: Mapping[str, str], profile: Profile, codebook: Codebook) -> Listing:
    raw = params.get("page", "").strip()
    if raw and (not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE):
        raise BadCodingFilter("page", raw)
    return Listing(parse_filter(params, profile, codebook), int(raw) if raw else 1)


def whole_number(form: FormData, name: str, default: int | None = None) -> int:
    """A whole number the form sent; BadCodingFilter for anything else."""
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if not text and default is not None:
        return default
    if not re.fullmatch(r"-?\d{1,10}", text):
        raise BadCodingFilter(name, text)
    return int(text)


def sent_codes(form: FormData) -> list[str]:
    """The codes a coding form sent: the primary code first, then the ticked ones."""
    primary = form.get("primary")
    ticked = [value for value in form.getlist("code") if isinstance(value, str)]
    return [primary, *ticked] if isinstance(primary, str) and primary.strip() else ticked


# --- Names ---


def code_groups(page: Page, codebook: Codebook) -> list[dict[str, Any]]:
    """The codebook as form choices: each theme with its own codes, in the codebook's order."""
    return [
        {
            "code": theme.code,
            "label": theme.name(page.lang),
            "codes": [(c.code, c.name(page.lang)) for c in codebook.children(theme.code)],
        }
        for theme in codebook.themes()
    ]


def choices(page: Page, profile: Profile, codebook: Codebook) -> dict[str, Any]:
    labels = page.labels
    return {
        "sources": [(s, page.t(f"coding.source.{s}")) for s in SOURCES],
        "agencies": [(code, labels.agency(code)) for code in profile.agencies],
        "districts": [(code, labels.district(code)) for code in profile.districts],
        "languages": [(lang, page.t(f"coding.language.{lang}")) for lang in LANGUAGES],
        "groups": code_groups(page, codebook),
        "fields": {name: page.t(f"coding.field.{name}") for name in FIELDS},
    }


def code_names(page: Page, codebook: Codebook, codes: list[str]) -> list[str]:
    return [codebook.label(code, page.lang) for code in codes]


def comment_row(
    page: Page,
    codebook: Codebook,
    comment: Comment,
    *,
    mine: CommentCoding | None,
    seen: list[tuple[str, CommentCoding]],
) -> dict[str, Any]:
    """A comment as the pages show it, with the codes its form starts with: the reader's
    own, else the accepted ones, else the suggested ones. `seen` is the other coders'
    codings the reader may see, with the coders' names."""
    labels = page.labels
    suggested = sorted(c.code for c in comment.codes if c.kind == SUGGESTED)
    accepted = sorted(c.code for c in comment.codes if c.kind != SUGGESTED)
    start = split_codes(mine.codes) if mine else (accepted or suggested)
    return {
        "id": comment.id,
        "text": comment.text,
        "source": page.t(f"coding.source.{comment.source}"),
        "agency": labels.agency(comment.agency) if comment.agency else "—",
        "category": labels.category(comment.category) if comment.category else "—",
        "district": labels.district(comment.district),
        "language": page.t(f"coding.language.{comment.language}")
        if comment.language in LANGUAGES
        else "—",
        "assurance": page.t(f"coding.assurance.{comment.assurance}"),
        "month": comment.month,
        "suggested": code_names(page, codebook, suggested),
        "accepted": code_names(page, codebook, accepted),
        "mine": code_names(page, codebook, split_codes(mine.codes)) if mine else [],
        "others": [(name, code_names(page, codebook, split_codes(c.codes))) for name, c in seen],
        "primary": start[0] if start else "",
        "ticked": set(start),
    }


def figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def kappa_row(page: Page, name: str, kappa: Kappa) -> dict[str, Any]:
    interval = (
        page.t("coding.interval", low=figure(kappa.low), high=figure(kappa.high))
        if kappa.kappa is not None
        else page.t("coding.undefined")
    )
    return {
        "name": name,
        "n": kappa.n,
        "observed": figure(kappa.observed),
        "expected": figure(kappa.expected),
        "kappa": figure(kappa.kappa),
        "interval": interval,
    }


def confusion(page: Page, codebook: Codebook, kappa: Kappa) -> dict[str, Any]:
    """The confusion table: coder A's primary codes down, coder B's across, in the
    codebook's order."""
    order = list(codebook.codes)
    codes = sorted(
        kappa.categories, key=lambda c: (order.index(c) if c in order else len(order), c)
    )
    return {
        "columns": [codebook.label(code, page.lang) for code in codes],
        "rows": [(codebook.label(a, page.lang), [kappa.count(a, b) for b in codes]) for a in codes],
    }


def agreement_view(
    page: Page,
    codebook: Codebook,
    found: Agreement,
    coders: list[str],
    disagreements: list[dict[str, Any]],
) -> dict[str, Any]:
    """The agreement as the sample's page shows it; `disagreements` are comment rows."""
    if found.primary is None:
        return {"status": found.status, "coders": coders}
    return {
        "status": found.status,
        "coders": coders,
        "primary": kappa_row(page, page.t("coding.primary_code"), found.primary),
        "themes": [
            kappa_row(page, codebook.label(theme, page.lang), kappa)
            for theme, kappa in found.themes.items()
        ],
        "confusion": confusion(page, codebook, found.primary),
        "disagreements": disagreements,
    }
