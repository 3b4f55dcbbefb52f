"""The filters of the public-opinion trend pages, read from the query string and checked
against the city profile and the codebook: an unknown value is the reader's mistake (a 400
page that says which), never a 500. An agency's users always get their own agency, whatever
the address asks for."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from civic.city import Profile
from civic.identity import LEVELS as ASSURANCE_LEVELS
from civic.opinion import GRAINS, LEVELS, STAFF, Codebook
from storage.models import AgencyUser

FIRST_YEAR, LAST_YEAR = 2000, 2100
WRITERS = (*ASSURANCE_LEVELS, STAFF)  # the assurance levels a comment can have
BY = ("agency", "district")


class BadTrendFilter(ValueError):
    """A filter value we do not know; `key` names the message (opinion_trends.error.*)."""

    def __init__(self, key: str, value: str) -> None:
        super().__init__(f"{key}: {value!r}")
        self.key = key
        self.value = value[:60]


@dataclass(frozen=True)
class TrendFilters:
    year: int
    grain: str = "month"
    level: str = "code"
    agency: str | None = None
    district: str | None = None
    assurance: tuple[str, ...] = ()  # empty: every level
    code: str | None = None
    by: str = "agency"

    def query(self, **changes: object) -> str:
        """The query string of these filters (with `changes`), as the form sends it."""
        values = {**self.__dict__, **changes}
        pairs: list[tuple[str, str]] = [("year", str(values["year"]))]
        for name in ("grain", "level", "agency", "district", "code", "by"):
            if values[name]:
                pairs.append((name, str(values[name])))
        pairs += [("assurance", level) for level in values["assurance"]]  # type: ignore[attr-defined]
        return urlencode(pairs)


def _choice(params: QueryParams, name: str, known: Container[str], default: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        return default
    if value not in known:
        raise BadTrendFilter(name, value)
    return value


def _year(raw: str, default: int) -> int:
    if not raw:
        return default
    if not (raw.isdigit() and len(raw) == 4 and FIRST_YEAR <= int(raw) <= LAST_YEAR):
        raise BadTrendFilter("year", raw)
    return int(raw)


def parse_trend_filters(
    params: QueryParams,
    profile: Profile,
    codebook: Codebook,
    viewer: AgencyUser,
    this_year: int,
) -> TrendFilters:
    """The filters asked for; BadTrendFilter for a value that is not one of the choices."""
    level = _choice(params, "level", LEVELS, "code")
    code = _choice(params, "code", codebook.codes, "") or None
    if code is not None and level == "theme" and codebook.codes[code].parent is not None:
        raise BadTrendFilter("theme", code)
    assurance = tuple(value.strip() for value in params.getlist("assurance") if value.strip())
    for value in assurance:
        if value not in WRITERS:
            raise BadTrendFilter("assurance", value)
    agency = _choice(params, "agency", profile.agencies, "") or None
    return TrendFilters(
        year=_year(params.get("year", "").strip(), this_year),
        grain=_choice(params, "grain", GRAINS, "month"),
        level=level,
        # an agency's users see their own agency only, whatever was asked for
        agency=viewer.agency if viewer.agency is not None else agency,
        district=_choice(params, "district", profile.districts, "") or None,
        assurance=tuple(level for level in WRITERS if level in assurance),
        code=code,
        by=_choice(params, "by", BY, "agency"),
    )
