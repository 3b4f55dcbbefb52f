"""Computing a year: gather the inputs (the survey's indices, window and ticket ratings,
the ticket indicators with their five-year trend, the entered figures), score every
agency, rank them, band them, and make each district's scorecard.

Reading is grouped in the database; what comes back is one row per agency, district or
year, so the scoring below works on small data whatever the number of tickets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from civic.city import Profile
from civic.evaluation._adjustments import adjustment_score, approved_adjustments, leaders_score
from civic.evaluation._districts import district_scorecards
from civic.evaluation._indicators import BUILTIN, indicator
from civic.evaluation._provenance import inputs_of, warnings_of
from civic.evaluation._public import (
    SourceFigure,
    SurveyContext,
    blend,
    survey_context,
    survey_indices,
    window_figures,
)
from civic.evaluation._ranking import assign_bands, rank
from civic.evaluation._result import AgencyScore, ComponentScore, EvaluationResult
from civic.evaluation._scheme import Scheme
from civic.evaluation._targets import entered_values, target_score
from civic.evaluation._ticket_figures import (
    Figure,
    Period,
    TicketFigures,
    ticket_figures,
    years,
)
from storage.models import EvaluationAdjustment, utcnow

# The steps a computation reports, in order; each reports (step, done, total).
STEPS = ("survey", "windows", "tickets", "entries", "districts", "scoring")
TREND_YEARS = 5
PUBLIC_METHOD = "max_points × blended index / 100"

Progress = Callable[[str, int, int], None]


def _quiet(step: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class _Gathered:
    """Everything read from the database, grouped there: small whatever the city."""

    context: SurveyContext
    surveys: dict[str | None, SourceFigure]
    windows: dict[str, SourceFigure]
    by_agency: list[TicketFigures]
    by_district: list[TicketFigures]
    entered: dict[tuple[str, str, str], Figure]
    adjustments: dict[str, list[EvaluationAdjustment]]


def _gather(
    session: Session, scheme: Scheme, profile: Profile, as_of: datetime, report: Progress
) -> _Gathered:
    year = scheme.year
    report("survey", 0, 1)
    context = survey_context(session, scheme, profile)
    surveys = survey_indices(session, context, scheme.public.survey.question)
    report("windows", 0, 1)
    windows = window_figures(session, scheme)
    report("tickets", 0, 1)
    first = year - TREND_YEARS + 1

    def figures(periods: list[Period], by: str) -> list[TicketFigures]:
        return ticket_figures(
            session=session,
            periods=periods,
            by=[by],
            as_of=as_of,
            counted_levels=scheme.counted_levels,
            scores=scheme.public.scores["hangzhou"],
        )

    by_agency = figures(years(first, year, profile.timezone), "agency")
    by_district = figures(years(year, year, profile.timezone), "district")
    report("entries", 0, 1)
    return _Gathered(
        context=context,
        surveys=surveys,
        windows=windows,
        by_agency=by_agency,
        by_district=by_district,
        entered=entered_values(session, scheme, first, year),
        adjustments=approved_adjustments(session, year),
    )


def compute(
    *,
    session: Session,
    scheme: Scheme,
    profile: Profile,
    as_of: datetime | None = None,
    progress: Progress | None = None,
) -> EvaluationResult:
    """The year's evaluation as the scheme defines it. `as_of` (default now) decides
    which open tickets are already late. Raises EvaluationError when the scheme's survey
    cannot be used."""
    report = progress or _quiet
    as_of = as_of or utcnow()
    found = _gather(session, scheme, profile, as_of, report)
    districts = district_scorecards(
        session,
        scheme,
        profile,
        found.context,
        found.by_district,
        lambda done, total: report("districts", done, total),
    )
    report("scoring", 0, 1)
    ranked = rank(_score_agencies(scheme, profile, found))
    bands = assign_bands(scheme.bands, ranked)
    report("scoring", 1, 1)
    return EvaluationResult(
        year=scheme.year,
        scheme={
            "file": scheme.path.name,
            "revision": scheme.revision,
            "digest": scheme.digest,
            "name": scheme.name,
            "bands": {band.code: band.name for band in scheme.bands},
        },
        computed_at=utcnow().isoformat(),
        as_of=as_of.astimezone(UTC).isoformat(),
        counted_levels=tuple(sorted(scheme.counted_levels)),
        agencies=ranked,
        districts=districts,
        bands=bands,
        inputs=inputs_of(scheme, ranked, districts),
        warnings=warnings_of(found.context.campaign_id, ranked),
    )


def _score_agencies(scheme: Scheme, profile: Profile, found: _Gathered) -> list[AgencyScore]:
    trends = _trends(scheme, found.by_agency, found.entered)
    this_year = str(scheme.year)
    uncounted = {
        row.key["agency"]: row.ratings_uncounted
        for row in found.by_agency
        if row.key["period"] == this_year
    }
    scores = []
    for code in scheme.agencies:
        rated = trends[code].get("ticket_satisfaction", {}).get(this_year)
        tickets = SourceFigure(
            code="tickets",
            value=rated.value if rated else None,
            n=rated.n if rated else 0,
            levels=tuple(sorted(scheme.counted_levels)),
            method="mean",
            n_uncounted=uncounted.get(code, 0),
        )
        public = _public_score(scheme, found.surveys.get(code), found.windows.get(code), tickets)
        adjustments = found.adjustments.get(code, [])
        scores.append(_agency_score(scheme, profile, code, public, trends, adjustments))
    return scores


# agency -> indicator code -> year -> figure
Trends = dict[str, dict[str, dict[str, Figure]]]


def _trends(
    scheme: Scheme,
    by_agency: Sequence[TicketFigures],
    entered: Mapping[tuple[str, str, str], Figure],
) -> Trends:
    trends: Trends = {code: {} for code in scheme.agencies}
    for row in by_agency:
        agency, period = row.key["agency"], str(row.key["period"])
        if agency in trends:
            for code, figure in row.figures.items():
                trends[agency].setdefault(code, {})[period] = figure
    for (agency, code, period), figure in entered.items():
        if agency in trends:
            trends[agency].setdefault(code, {})[period] = figure
    return trends


def _public_score(
    scheme: Scheme,
    survey: SourceFigure | None,
    windows: SourceFigure | None,
    tickets: SourceFigure,
) -> ComponentScore:
    figures = {"survey": survey, "windows": windows, "tickets": tickets}
    result = blend(scheme.public, figures)
    return ComponentScore(
        code="public",
        points=result.points,
        max_points=scheme.public.max_points,
        method=PUBLIC_METHOD,
        details={
            "index": result.index,
            "weights": result.weights,
            "left_out": result.left_out,
            "sources": {code: f.as_json() if f else None for code, f in figures.items()},
        },
    )


def _agency_score(
    scheme: Scheme,
    profile: Profile,
    agency: str,
    public: ComponentScore,
    trends: Trends,
    adjustments: Sequence[EvaluationAdjustment],
) -> AgencyScore:
    this_year = str(scheme.year)
    values = {
        code: years_[this_year] for code, years_ in trends[agency].items() if this_year in years_
    }
    return AgencyScore(
        agency=agency,
        name=dict(profile.agencies[agency].name),
        components={
            "public": public,
            "targets": target_score(scheme, agency, values),
            "leaders": leaders_score(scheme, adjustments),
            "bonus": adjustment_score(scheme.bonus, adjustments),
            "penalty": adjustment_score(scheme.penalty, adjustments),
        },
        indicators=_indicator_rows(scheme, agency, trends[agency]),
    )


def _indicator_rows(
    scheme: Scheme, agency: str, trend: Mapping[str, Mapping[str, Figure]]
) -> list[dict[str, Any]]:
    """Every indicator of the agency: what it is, its value this year, its target when
    the scheme scores it, and its five-year trend."""
    targets = {spec.code: spec.target_for(agency) for spec in scheme.targets.indicators}
    first = scheme.year - TREND_YEARS + 1
    rows = []
    for code in [*BUILTIN, *scheme.agency_indicators]:
        by_year = trend.get(code, {})
        now = by_year.get(str(scheme.year))
        rows.append(
            {
                **indicator(code, scheme.agency_indicators).as_json(),
                "value": now.value if now else None,
                "n": now.n if now else 0,
                "target": targets.get(code),
                "trend": [
                    {"year": y, "value": f.value if f else None, "n": f.n if f else 0}
                    for y in range(first, scheme.year + 1)
                    for f in [by_year.get(str(y))]
                ],
            }
        )
    return rows
