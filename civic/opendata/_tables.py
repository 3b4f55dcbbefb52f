"""The rows of each published table, streamed: tickets and their updates as the public
Open311 view shows them to a reader without a key (`civic.open311`, coarse view), the
ticket indicators of every year with an evaluation scheme, and the aggregates of closed
survey campaigns.

What never goes out: citizens (ids, chat ids, phone numbers), the citizens' and the
agencies' free texts (descriptions and notes may name people, and a copy downloaded
cannot be reached by a later erasure), the typed address (only road and district, as
Open311's coarse view), photos, and positions finer than Open311's coarse view.
Figures resting on fewer than `MIN_CELL` citizens' answers are suppressed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.evaluation import BUILTIN, indicator_table, load_scheme, scheme_path
from civic.open311 import coarse_address, extended_status, iso, open_or_closed
from civic.opendata._files import Value
from civic.privacy import coarse_position
from civic.surveys import MIN_CELL, QuestionResult, get_survey, survey_report
from storage.models import Campaign
from storage.tickets import stream_public_changes, stream_public_tickets

Row = tuple[Value, ...]
# Indicators that are citizens' answers: shown only when at least MIN_CELL answered.
ANSWER_INDICATORS = frozenset({"ticket_satisfaction", "confirmed_fixed_rate"})
DECIMALS = 4
CLOSED = "closed"


class _Names:
    """The profile's bilingual names of codes, and the coarse address per road and
    district (worked out once each, not once per ticket)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.address = lru_cache(maxsize=4096)(self._address)

    def of(self, table: Mapping[str, Any], code: str | None) -> tuple[str | None, str | None]:
        item = table.get(code or "")
        return (item.label("zh"), item.label("en")) if item is not None else (None, None)

    def _address(self, road: str | None, district: str | None) -> str | None:
        # Open311's own function, so the files and the API cannot drift apart.
        place: Any = SimpleNamespace(road=road, district=district)
        return coarse_address(place, self.profile)


def ticket_rows(*, session: Session, profile: Profile) -> Iterator[Row]:
    names, zone = _Names(profile), profile.timezone
    for row in stream_public_tickets(session=session):
        number, status, category, agency, district, road, lat, long, filed, updated, due = row
        yield (
            number,
            open_or_closed(status),
            extended_status(status),
            status,
            category,
            *names.of(profile.categories, category),
            agency,
            *names.of(profile.agencies, agency),
            district,
            *names.of(profile.districts, district),
            names.address(road, district),
            coarse_position(lat),
            coarse_position(long),
            iso(filed, zone),
            iso(updated, zone),
            iso(due, zone),
        )


def update_rows(*, session: Session, profile: Profile) -> Iterator[Row]:
    for event_id, number, to_status, at in stream_public_changes(session=session):
        yield (
            str(event_id),
            number,
            extended_status(to_status),
            to_status,
            iso(at, profile.timezone),
        )


def scheme_years(profile: Profile, until: int) -> list[int]:
    """The years up to `until` that have an evaluation scheme (which says how to count)."""
    folder = scheme_path(profile, until).parent
    found = (int(p.stem) for p in folder.glob("*.yml") if p.stem.isdigit())
    return sorted(year for year in found if year <= until)


def indicator_rows(*, session: Session, profile: Profile, as_of: datetime) -> Iterator[Row]:
    for year in scheme_years(profile, as_of.year):
        scheme = load_scheme(scheme_path(profile, year), profile)
        table = indicator_table(
            session=session, scheme=scheme, timezone=profile.timezone, as_of=as_of
        )
        for cell in table:
            key = cell.key
            for code, figure in cell.figures.items():
                unit = BUILTIN[code][0]
                hidden = code in ANSWER_INDICATORS and 0 < figure.n < MIN_CELL
                value = None if hidden or figure.value is None else _number(figure.value, unit)
                yield (
                    key["period"],
                    key["agency"],
                    key["category"],
                    key["district"],
                    code,
                    unit,
                    value,
                    figure.n,
                    hidden,
                )


def _number(value: float, unit: str) -> float | int:
    return int(value) if unit == "count" else round(value, DECIMALS)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def survey_rows(*, session: Session, profile: Profile) -> Iterator[Row]:
    """Per closed campaign (its results are published once it closes), agency and
    scale question: the count of each answer option and the satisfaction index."""
    campaigns = session.scalars(
        select(Campaign).where(Campaign.status == CLOSED).order_by(Campaign.id)
    ).all()
    for campaign in campaigns:
        survey = get_survey(session=session, key=campaign.survey_key, agencies=profile.agencies)
        if survey is None:
            continue
        head = (
            campaign.id,
            campaign.name,
            campaign.survey_key,
            iso(campaign.closed_at, profile.timezone),
        )
        for result in survey_report(session, profile, survey, campaign.id):
            yield from _result_rows(head, result)


def _result_rows(head: tuple[Value, ...], result: QuestionResult) -> Iterator[Row]:
    """A question's rows. With fewer than MIN_CELL answers in all, nothing but the
    count is shown; otherwise an option chosen by fewer than MIN_CELL people shows no
    count, and an index on fewer than MIN_CELL scored answers no value."""
    answered = sum(result.distribution.values())
    too_few = answered < MIN_CELL
    for option, count in result.distribution.items():
        hidden = too_few or 0 < count < MIN_CELL
        cells = (None if hidden else count, None, None, None, None, None, hidden)
        yield (*head, result.agency, result.question, "option", option, *cells)
    index = result.index
    hidden = index.n < MIN_CELL
    figures = (None, None, None) if hidden else (index.value, index.ci_low, index.ci_high)
    yield (
        *head,
        result.agency,
        result.question,
        "index",
        None,
        None,
        *(_round(v) for v in figures),
        index.n,
        index.method,
        hidden,
    )
