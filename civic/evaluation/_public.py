"""The public evaluation: each agency's index from the sampled survey, blended with the
ratings at service windows and after closed tickets by the scheme's weights.

    index  = Σ weight × value / Σ weight, over the sources that reach their minimum count
    points = max_points × index / 100

The survey is the base: without an index from at least `min_n` scored answers there is
no public evaluation for the agency (it is listed, not ranked). Window and ticket ratings
count only at the scheme's assurance levels; held window ratings never count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civic.city import Profile, load_population
from civic.evaluation._errors import EvaluationError
from civic.evaluation._scheme import PublicComponent, Scheme
from civic.surveys import IndexResult, Step, Survey, get_survey, survey_results
from storage.models import Campaign, ServiceWindow, WindowRating

SCORE_DECIMALS = 2


@dataclass(frozen=True)
class SourceFigure:
    """One source's figure for one agency on the 0-100 scale, with where it came from:
    the counted ratings or answers `n`, those at other levels `n_uncounted` (shown
    apart), the levels counted, the method, and for the survey its 95% interval."""

    code: str
    value: float | None
    n: int
    levels: tuple[str, ...]
    method: str
    ci_low: float | None = None
    ci_high: float | None = None
    n_uncounted: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "n_uncounted": self.n_uncounted,
            "levels": list(self.levels),
            "method": self.method,
            **self.details,
        }


@dataclass(frozen=True)
class SurveyContext:
    """The survey, the campaign and the population shares an index is made from."""

    survey: Survey
    campaign_id: int | None
    campaign_name: str | None
    margins: Mapping[str, Mapping[str, float]]


def survey_context(session: Session, scheme: Scheme, profile: Profile) -> SurveyContext:
    """The scheme's survey and the campaign of the year; EvaluationError when the survey
    or its question is missing, or several campaigns could be meant."""
    spec = scheme.public.survey
    survey = get_survey(session=session, key=spec.key, agencies=profile.agencies)
    if survey is None:
        raise EvaluationError(f"{scheme.path}: the survey '{spec.key}' is not loaded")
    for question in (spec.question, scheme.districts.survey_question):
        if not any(q.id == question and q.type == "scale" for q in survey.questions()):
            raise EvaluationError(
                f"{scheme.path}: survey '{spec.key}' has no scale question '{question}'"
            )
    campaigns = [
        c
        for c in session.scalars(
            select(Campaign).where(Campaign.survey_key == spec.key).order_by(Campaign.id)
        )
        if _local_year(c.starts_at, profile.timezone) == scheme.year
        and (spec.campaign is None or c.name == spec.campaign)
    ]
    if len(campaigns) > 1:
        names = ", ".join(f"'{c.name}'" for c in campaigns)
        raise EvaluationError(
            f"{scheme.path}: several campaigns of '{spec.key}' started in {scheme.year} "
            f"({names}): name one as components.public.survey.campaign"
        )
    found = campaigns[0] if campaigns else None
    population = load_population(profile.path, set(profile.districts))
    return SurveyContext(
        survey=survey,
        campaign_id=found.id if found else None,
        campaign_name=found.name if found else None,
        margins=population.shares,
    )


def _local_year(moment: datetime, timezone: str) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))
    return aware.astimezone(ZoneInfo(timezone)).year


def survey_indices(
    session: Session,
    context: SurveyContext,
    question: str,
    *,
    respondents: Mapping[str, str] | None = None,
) -> dict[str | None, SourceFigure]:
    """The index of `question` per agency (None for a city-wide question) from the
    year's campaign; with `respondents`, of those respondents only, and weighted by the
    post-strata other than the attributes they share."""
    survey = context.survey
    if context.campaign_id is None:
        return {}
    asked = next(q for q in survey.questions() if q.id == question)

    def score(_question: str, value: str) -> float | None:
        return survey.score(Step(asked.id, asked, None), value)

    post_strata = [s for s in survey.post_strata if s not in (respondents or {})]
    results = survey_results(
        session=session,
        survey_key=survey.key,
        questions={asked.id: list(asked.option_codes())},
        scores=score,
        margins=context.margins,
        post_strata=post_strata,
        campaign_id=context.campaign_id,
        respondents=respondents,
    )
    return {r.agency: _survey_figure(r.index, context, question) for r in results}


def _survey_figure(index: IndexResult, context: SurveyContext, question: str) -> SourceFigure:
    return SourceFigure(
        code="survey",
        value=index.value,
        n=index.n,
        levels=("invited",),
        method=index.method,
        ci_low=index.ci_low,
        ci_high=index.ci_high,
        details={
            "survey": context.survey.key,
            "question": question,
            "campaign": context.campaign_name,
            "weighted_by": list(index.weighted_by),
            "df": index.df,
            "design_effect": index.design_effect,
            "n_dont_know": index.n_dont_know,
            "collapsed": list(index.collapsed),
            "note": index.note,
        },
    )


def window_figures(session: Session, scheme: Scheme) -> dict[str, SourceFigure]:
    """Per agency, the mean window rating of the year (city-time days) on 0-100, from
    the counted levels, held ratings left out."""
    query = (
        select(
            ServiceWindow.agency,
            WindowRating.assurance,
            WindowRating.scale,
            WindowRating.score,
            func.count(),
        )
        .join(WindowRating, WindowRating.window_id == ServiceWindow.id)
        .where(
            WindowRating.held.is_(False),
            WindowRating.day >= f"{scheme.year}-01-01",
            WindowRating.day <= f"{scheme.year}-12-31",
        )
        .group_by(
            ServiceWindow.agency, WindowRating.assurance, WindowRating.scale, WindowRating.score
        )
    )
    sums: dict[str, float] = defaultdict(float)
    counted: dict[str, int] = defaultdict(int)
    uncounted: dict[str, int] = defaultdict(int)
    scores = scheme.public.scores
    for agency, level, scale, answer, count in session.execute(query):
        value = scores.get(scale, {}).get(answer)
        if level in scheme.counted_levels and value is not None:
            sums[agency] += value * count
            counted[agency] += count
        else:
            uncounted[agency] += count
    levels = tuple(sorted(scheme.counted_levels))
    return {
        agency: SourceFigure(
            code="windows",
            value=sums[agency] / counted[agency] if counted[agency] else None,
            n=counted[agency],
            levels=levels,
            method="mean",
            n_uncounted=uncounted[agency],
        )
        for agency in set(counted) | set(uncounted)
    }


@dataclass(frozen=True)
class Blend:
    index: float | None
    points: float | None
    # The weight each source had in the index (scaled to sum to 1), and why a source
    # was left out.
    weights: dict[str, float]
    left_out: dict[str, str]


def blend(public: PublicComponent, figures: Mapping[str, SourceFigure | None]) -> Blend:
    """The agency's index and points from its sources' figures."""
    used: dict[str, tuple[float, float]] = {}  # code -> (weight, value)
    left_out: dict[str, str] = {}
    for code, source in public.sources.items():
        figure = figures.get(code)
        least = public.survey.min_n if code == "survey" else source.min_count
        if figure is None or figure.value is None or figure.n == 0:
            left_out[code] = "no_data"
        elif figure.n < least:
            left_out[code] = "below_minimum"
        else:
            used[code] = (source.weight, figure.value)
    total = sum(weight for weight, _ in used.values())
    if "survey" not in used or total == 0:
        return Blend(None, None, {}, left_out)
    index = sum(weight * value for weight, value in used.values()) / total
    points = round(public.max_points * index / 100, SCORE_DECIMALS)
    return Blend(index, points, {c: w / total for c, (w, _) in used.items()}, left_out)
