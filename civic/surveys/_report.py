"""A survey's results for the desk and the command line: the survey definition and the
profile's population shares put to civic.surveys._results."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from civic.city import Profile, get_profile, load_population
from civic.settings import Settings
from civic.surveys._model import Step, Survey
from civic.surveys._results import QuestionResult, agency_chart_png, results_csv, survey_results
from civic.surveys._service import get_survey
from storage.db import session_scope


def survey_report(
    session: Session, profile: Profile, survey: Survey, campaign_id: int | None = None
) -> list[QuestionResult]:
    """Per agency and scale question: distribution and the index, weighted by the
    survey's post-strata to the profile's population shares."""
    scale_questions = {q.id: q for q in survey.questions() if q.type == "scale"}

    def score(question: str, value: str) -> float | None:
        return survey.score(Step(question, scale_questions[question], None), value)

    population = load_population(profile.path, set(profile.districts))
    return survey_results(
        session=session,
        survey_key=survey.key,
        questions={qid: list(q.option_codes()) for qid, q in scale_questions.items()},
        scores=score,
        margins=population.shares,
        post_strata=survey.post_strata,
        campaign_id=campaign_id,
    )


def chart(results: list[QuestionResult], survey: Survey, agency: str, lang: str) -> bytes:
    title = {code: survey.agency_name(agency, code) for code in ("zh", "en")}
    labels = {
        q.id: {code: text.replace("{agency}", title[code]) for code, text in q.text.items()}
        for q in survey.questions()
    }
    return agency_chart_png(results, agency=agency, labels=labels, title=title, language=lang)


def export_results(
    settings: Settings,
    survey_key: str,
    campaign_id: int | None,
    csv_path: Path | None,
    charts_dir: Path | None,
) -> int:
    profile = get_profile(settings.profiles_dir, settings.profile)
    with session_scope(settings.database_url) as session:
        survey = get_survey(session=session, key=survey_key, agencies=profile.agencies)
        if survey is None:
            print(f"no survey {survey_key!r}")
            return 1
        results = survey_report(session, profile, survey, campaign_id)
    for row in results:
        index = row.index
        value = "—" if index.value is None else f"{index.value:5.1f}"
        interval = "" if index.ci_low is None else f" [{index.ci_low:.1f}, {index.ci_high:.1f}]"
        weighting = "+".join(index.weighted_by) or "-"
        print(
            f"{row.agency or 'city':<20} {row.question:<24} {value}{interval}  n={index.n}"
            f"  self-selected={row.self_selected}  {index.method} ({weighting})"
            + (f"  note: {index.note}" if index.note else "")
        )
    if csv_path is not None:
        csv_path.write_text(results_csv(results), encoding="utf-8")
        print(f"CSV: {csv_path}")
    if charts_dir is not None:
        charts_dir.mkdir(parents=True, exist_ok=True)
        for agency in sorted({r.agency for r in results if r.agency}):
            path = charts_dir / f"{agency}.png"
            path.write_bytes(chart(results, survey, agency, "zh"))
            print(f"chart: {path}")
    return 0
