"""Results of a survey: per agency and question, the answer distribution and the
satisfaction index, as data, as CSV and as a chart.

The index counts invited answers only (a stratified random sample, weighted to the
population); self-selected answers from the open link are counted apart and never weighted.
Each index row says how it was made (method, the post-strata weighted by, the interval's
degrees of freedom, the design effect, merged groups), so a published figure can be traced.

What this module needs to know of the survey definition is passed in, so it does not
depend on how surveys are defined:

- `questions`: the scale questions to report, in order, each with its option codes in
  display order (e.g. {"overall": ["satisfied", "basically_satisfied", "dissatisfied",
  "dont_know"]}, `Question.option_codes()`); answers to other questions (free text, the
  choice of agencies) are left out;
- `scores(question_id, value)`: the score of an answer on the 0-100 scale, None for "don't
  know" (counted apart, not in the index). With `civic.surveys` this is
  `lambda question, value: survey.score(step_of[question], value)`, any step of the
  question serving, since a score depends on the question and not on the agency.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from civic.campaigns import attributes, attributes_of_key
from civic.surveys._statistics import (
    IndexResult,
    Observation,
    distribution,
    mean,
    satisfaction_index,
)
from storage.models import Campaign, FrameMember, Invitation, SurveyAnswer, SurveyResponse

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Scores = Callable[[str, str], float | None]

CSV_COLUMNS = (
    "agency",
    "question",
    "row",
    "option",
    "count",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "n_dont_know",
    "weighted",
    "self_selected",
    "method",
    "weighted_by",
    "n_unplaced",
    "df",
    "design_effect",
    "collapsed",
    "note",
)
# The font families that can draw Chinese, in order of preference.
CJK_FONTS = ("Noto Sans CJK SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Source Han Sans SC")
AXIS_LABEL = {"zh": "满意度指数（95% 置信区间）", "en": "Satisfaction index (95% CI)"}
NO_ANSWERS = {"zh": "无有效回答", "en": "no scored answers"}


@dataclass(frozen=True)
class QuestionResult:
    """One question for one agency (None for a question outside the agency blocks).
    `distribution` and `index` count invited answers; `self_selected` the open-link ones."""

    agency: str | None
    question: str
    distribution: dict[str, int]
    index: IndexResult
    mean: float | None
    self_selected: int


@dataclass(frozen=True)
class _Answer:
    agency: str | None
    question: str
    value: str
    self_selected: bool
    attrs: Mapping[str, str | None]


def survey_results(
    *,
    session: Session,
    survey_key: str,
    questions: Mapping[str, Sequence[str]],
    scores: Scores,
    margins: Mapping[str, Mapping[str, float]],
    post_strata: Sequence[str],
    campaign_id: int | None = None,
    respondents: Mapping[str, str] | None = None,
) -> list[QuestionResult]:
    """Results by agency (city-wide questions first), then question in `questions` order.

    The index is weighted to the population `margins` (attribute -> value -> share, the
    profile's `Population.shares`) of the `post_strata`, most important first. With
    `campaign_id`, invited answers are the campaign's, and self-selected ones those begun
    while it ran. With `respondents`, only the answers of invited respondents with these
    attributes count (e.g. {"district": "xihu"}: the residents of one district).
    """
    groups: dict[tuple[str | None, str], list[_Answer]] = defaultdict(list)
    for answer in _answers(session, survey_key, list(questions), campaign_id):
        if respondents and any(answer.attrs.get(k) != v for k, v in respondents.items()):
            continue
        groups[(answer.agency, answer.question)].append(answer)
    order = {question: position for position, question in enumerate(questions)}
    results = []
    for agency, question in sorted(
        groups, key=lambda k: (k[0] is not None, k[0] or "", order[k[1]])
    ):
        answers = groups[(agency, question)]
        invited = [a for a in answers if not a.self_selected]
        observations = [Observation(a.attrs, scores(question, a.value)) for a in invited]
        results.append(
            QuestionResult(
                agency=agency,
                question=question,
                distribution=distribution((a.value for a in invited), questions[question]),
                index=satisfaction_index(observations, margins=margins, post_strata=post_strata),
                mean=mean(o.score for o in observations),
                self_selected=len(answers) - len(invited),
            )
        )
    return results


def _answers(
    session: Session, survey_key: str, questions: list[str], campaign_id: int | None
) -> list[_Answer]:
    """The answers given (skipped ones left out), with the respondent's stratum attributes:
    those of the frame member, or, once the member is erased, those of the invitation's
    stratum."""
    query = (
        select(SurveyAnswer, SurveyResponse.self_selected, Invitation.stratum, FrameMember)
        .join(SurveyResponse, SurveyAnswer.response_id == SurveyResponse.id)
        .outerjoin(Invitation, SurveyResponse.invitation_id == Invitation.id)
        .outerjoin(FrameMember, Invitation.member_id == FrameMember.id)
        .where(
            SurveyResponse.survey_key == survey_key,
            SurveyAnswer.question.in_(questions),
            SurveyAnswer.value.is_not(None),
        )
        .order_by(SurveyAnswer.id)
    )
    if campaign_id is not None:
        query = query.where(_in_campaign(session, campaign_id))
    found = []
    for answer, self_selected, stratum, member in session.execute(query):
        attrs = attributes_of_key(stratum or "")
        if member is not None:
            attrs.update(attributes(member))
        found.append(
            _Answer(answer.agency, answer.question, str(answer.value), bool(self_selected), attrs)
        )
    return found


def _in_campaign(session: Session, campaign_id: int) -> ColumnElement[bool]:
    """The campaign's invited responses, and the self-selected ones begun while it ran."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"no campaign {campaign_id}")
    return or_(
        Invitation.campaign_id == campaign_id,
        and_(
            SurveyResponse.self_selected.is_(True),
            SurveyResponse.started_at >= campaign.starts_at,
            SurveyResponse.started_at < campaign.ends_at,
        ),
    )


def results_csv(results: Sequence[QuestionResult]) -> str:
    """One row per agency, question and option with its count, then per agency and
    question an `index` row (weighted, with its 95% CI and how it was made) and a `mean`
    row (plain)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    blank = [""] * (len(CSV_COLUMNS) - 5)
    for result in results:
        head = [result.agency or "", result.question]
        for option, count in result.distribution.items():
            writer.writerow([*head, "option", option, count, *blank])
        writer.writerow([*head, "index", "", "", *_index_cells(result)])
        mean_row = [*head, "mean", "", "", _number(result.mean), "", "", result.index.n, "", "no"]
        writer.writerow(mean_row + [""] * (len(CSV_COLUMNS) - len(mean_row)))
    return out.getvalue()


def _index_cells(result: QuestionResult) -> list[str | int]:
    """The index row from `value` on."""
    index = result.index
    return [
        _number(index.value),
        _number(index.ci_low),
        _number(index.ci_high),
        index.n,
        index.n_dont_know,
        "yes" if index.weighted else "no",
        result.self_selected,
        index.method,
        "+".join(index.weighted_by),
        index.n_unplaced,
        _number(index.df, 1),
        _number(index.design_effect),
        "; ".join(index.collapsed),
        index.note,
    ]


def _number(value: float | None, decimals: int = 2) -> str:
    return "" if value is None else f"{value:.{decimals}f}"


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """An installed font family that can draw Chinese, or None."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None:
        # matplotlib's font cache predates fonts installed later: look on disk once more
        for path in font_manager.findSystemFonts():
            if any(mark in path.lower() for mark in ("wqy", "notosanscjk", "sourcehansans")):
                font_manager.fontManager.addfont(path)
        installed = {font.name for font in font_manager.fontManager.ttflist}
        found = next((name for name in CJK_FONTS if name in installed), None)
    return found


def agency_chart_png(
    results: Sequence[QuestionResult],
    *,
    agency: str,
    labels: Mapping[str, Mapping[str, str]],
    title: Mapping[str, str],
    language: str = "zh",
) -> bytes:
    """A bar chart (PNG) of the agency's index per question, with its 95% CI.

    `labels` are the question texts by language and `title` the agency's name by
    language. Chinese is drawn only when a CJK font is installed; otherwise English.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = cjk_font()
    lang = language if language == "en" or font else "en"
    fonts: dict[str, Any] = {"fontfamily": font} if font else {}
    rows = [r for r in results if r.agency == agency]
    figure = Figure(figsize=(8, 1.2 + 0.6 * max(len(rows), 1)), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    _draw_bars(axes, rows, [_label(labels, r.question, lang) for r in rows], lang, fonts)
    axes.set_xlabel(AXIS_LABEL[lang], **fonts)
    axes.set_title(title.get(lang) or agency, **fonts)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _draw_bars(
    axes: Axes, rows: Sequence[QuestionResult], names: list[str], lang: str, fonts: dict[str, Any]
) -> None:
    """One horizontal bar per question with its CI, the value and n written at its foot."""
    positions = list(range(len(rows)))
    errors = [_error_bar(r.index) for r in rows]
    axes.barh(
        positions,
        [r.index.value or 0.0 for r in rows],
        xerr=[[low for low, _ in errors], [high for _, high in errors]],
        capsize=4,
        color="#4c78a8",
    )
    axes.set_yticks(positions, names, **fonts)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    for position, result in zip(positions, rows, strict=True):
        value = result.index.value
        text = NO_ANSWERS[lang] if value is None else f"{value:.1f}"
        axes.text(1, position, f"{text}  (n={result.index.n})", va="center", **fonts)


def _error_bar(index: IndexResult) -> tuple[float, float]:
    if index.value is None or index.ci_low is None or index.ci_high is None:
        return (0.0, 0.0)
    return (index.value - index.ci_low, index.ci_high - index.value)


def _label(labels: Mapping[str, Mapping[str, str]], question: str, lang: str) -> str:
    return labels.get(question, {}).get(lang) or question
