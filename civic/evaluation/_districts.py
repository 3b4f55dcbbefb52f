"""District and county scorecards, as the scheme's `district_scorecard` defines them: the
satisfaction of the district's residents (the survey's city-wide question, from those
living there, weighted by the survey's other post-strata) and the indicators of the
tickets filed in the district, each against the scheme's target where it has one (the
city-wide target: per-agency targets are for agencies).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from civic.city import Profile
from civic.evaluation._indicators import builtin_indicator
from civic.evaluation._public import SurveyContext, survey_indices
from civic.evaluation._result import DistrictScorecard
from civic.evaluation._scheme import HIGHER, Scheme
from civic.evaluation._ticket_figures import TicketFigures


def indicator_row(
    code: str, figures: Mapping[str, Any] | None, target: float | None
) -> dict[str, Any]:
    """An indicator as a scorecard shows it: what it is, its value and n, its target and
    whether it was met (None without a target or a value)."""
    info = builtin_indicator(code)
    figure = figures.get(code) if figures else None
    value = figure.value if figure else None
    met = None
    if target is not None and value is not None:
        met = value >= target if info.direction == HIGHER else value <= target
    return {
        **info.as_json(),
        "value": value,
        "n": figure.n if figure else 0,
        "target": target,
        "met": met,
    }


def district_scorecards(
    session: Session,
    scheme: Scheme,
    profile: Profile,
    context: SurveyContext,
    figures: list[TicketFigures],
    step: Callable[[int, int], None],
) -> list[DistrictScorecard]:
    """One scorecard per district of the profile, in the profile's order; `figures` are
    the year's ticket indicators by district; `step(done, total)` reports progress."""
    spec = scheme.districts
    by_district = {row.key["district"]: row.figures for row in figures}
    targets = {t.code: t.target for t in scheme.targets.indicators}
    cards = []
    for done, district in enumerate(profile.districts.values()):
        step(done, len(profile.districts))
        indices = survey_indices(
            session, context, spec.survey_question, respondents={"district": district.code}
        )
        satisfaction = indices.get(None)
        if satisfaction is None:
            shown: dict[str, Any] = {"value": None, "n": 0, "question": spec.survey_question}
        else:
            shown = satisfaction.as_json()
        shown["enough"] = shown["n"] >= spec.min_n
        shown["min_n"] = spec.min_n
        rows = [
            indicator_row(code, by_district.get(district.code), targets.get(code))
            for code in spec.indicators
        ]
        cards.append(DistrictScorecard(district.code, dict(district.name), shown, rows))
    step(len(profile.districts), len(profile.districts))
    return cards
