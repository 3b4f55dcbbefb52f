"""Survey results read from the database, on SQLite and PostgreSQL: distributions, the
index over invited answers, self-selected answers apart, CSV and the chart."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

import civic.surveys._results as survey_results_module
from civic.surveys import CSV_COLUMNS, QuestionResult, agency_chart_png, results_csv, survey_results
from storage.models import Campaign, FrameMember, Invitation, SurveyAnswer, SurveyResponse

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SURVEY = "evaluation-2026"
# The municipal evaluation scale, as civic.surveys defines it.
SCALE: dict[str, float | None] = {
    "satisfied": 100.0,
    "basically_satisfied": 80.0,
    "dissatisfied": 0.0,
    "dont_know": None,
}
QUESTIONS = {"satisfaction": list(SCALE), "overall": list(SCALE)}
MARGINS = {"district": {"xihu": 0.5, "binjiang": 0.5}}
UM = "urban-management"
# Each invited answer below is given by this many households, so that each district has
# enough answers to be weighted on its own (civic.surveys._weighting.MIN_CELL).
HOUSEHOLDS = 5


def scores(question: str, value: str) -> float | None:
    return SCALE.get(value)


def campaign(session: Session, name: str) -> Campaign:
    row = Campaign(
        name=name,
        survey_key=SURVEY,
        design="{}",
        starts_at=NOW - timedelta(days=10),
        ends_at=NOW + timedelta(days=10),
    )
    session.add(row)
    session.flush()
    return row


def invited(
    session: Session, run: Campaign, district: str | None, *, erased: bool = False
) -> SurveyResponse:
    """A response to an invitation sent to a household of `district`; `erased` when the
    household has since been erased from the frame."""
    member = FrameMember(kind="household", district=district, strata=json.dumps({"gender": "f"}))
    session.add(member)
    session.flush()
    invitation = Invitation(
        campaign_id=run.id,
        member_id=None if erased else member.id,
        stratum=f"district={district}",
        channel="sms",
        nonce=secrets.token_hex(8),
    )
    session.add(invitation)
    session.flush()
    return respond(session, invitation_id=invitation.id, started_at=NOW)


def respond(
    session: Session,
    *,
    invitation_id: int | None = None,
    started_at: datetime = NOW,
) -> SurveyResponse:
    response = SurveyResponse(
        survey_key=SURVEY,
        invitation_id=invitation_id,
        self_selected=invitation_id is None,
        started_at=started_at,
    )
    session.add(response)
    session.flush()
    return response


def answer(
    session: Session, response: SurveyResponse, question: str, value: str | None, agency: str = UM
) -> None:
    step = f"{question}@{agency}"
    session.add(
        SurveyAnswer(
            response_id=response.id, step=step, question=question, agency=agency, value=value
        )
    )


@pytest.fixture
def runs(session: Session) -> tuple[Campaign, Campaign]:
    """Campaign one: three Xihu answers, one Binjiang (its household since erased), one
    "don't know" from Binjiang and one skipped, each from five households; campaign two:
    one Xihu answer from five. Open link: one answer during campaign one and one before."""
    first, second = campaign(session, "Q4"), campaign(session, "Q4 boost")
    for _ in range(HOUSEHOLDS):
        for district, value in [
            ("xihu", "satisfied"),
            ("xihu", "satisfied"),
            ("xihu", "basically_satisfied"),
            ("binjiang", "dont_know"),
            ("chunan", None),
        ]:
            answer(session, invited(session, first, district), "satisfaction", value)
        erased = invited(session, first, "binjiang", erased=True)
        answer(session, erased, "satisfaction", "dissatisfied")
        response = invited(session, second, "xihu")
        answer(session, response, "satisfaction", "dissatisfied")
        answer(session, response, "overall", "basically_satisfied", agency="transport")
        answer(session, response, "comment", "more buses", agency="transport")
    answer(session, respond(session), "satisfaction", "satisfied")
    answer(
        session,
        respond(session, started_at=NOW - timedelta(days=30)),
        "satisfaction",
        "basically_satisfied",
    )
    session.commit()
    return first, second


def results(
    session: Session,
    campaign_id: int | None = None,
    margins: dict = MARGINS,
    respondents: dict[str, str] | None = None,
) -> list[QuestionResult]:
    return survey_results(
        session=session,
        survey_key=SURVEY,
        questions=QUESTIONS,
        scores=scores,
        margins=margins,
        post_strata=[] if respondents else ["district"],
        campaign_id=campaign_id,
        respondents=respondents,
    )


def test_campaign_results_weight_invited_answers_only(
    session: Session, runs: tuple[Campaign, Campaign]
) -> None:
    [result] = results(session, runs[0].id)
    assert (result.agency, result.question) == (UM, "satisfaction")
    assert result.distribution == {
        "satisfied": 10,
        "basically_satisfied": 5,
        "dissatisfied": 5,
        "dont_know": 5,
    }
    # Xihu's mean 93.33 and Binjiang's 0 count half each; the plain mean is 1400 / 20.
    assert result.index.value == pytest.approx((100 + 100 + 80) / 3 / 2)
    assert (result.index.n, result.index.n_dont_know, result.index.weighted) == (20, 5, True)
    assert result.mean == pytest.approx(70.0)
    # The open-link answer given while the campaign ran, counted apart.
    assert result.self_selected == 1


def test_survey_results_across_campaigns_by_agency(
    session: Session, runs: tuple[Campaign, Campaign]
) -> None:
    city = results(session)
    assert [(r.agency, r.question) for r in city] == [
        ("transport", "overall"),
        (UM, "satisfaction"),
    ]
    transport, urban = city
    assert urban.distribution["dissatisfied"] == 10
    # Xihu now 100, 100, 80 and 0 (campaign two): mean 70, against Binjiang's 0.
    assert (urban.index.value, urban.index.n) == (pytest.approx(35.0), 25)
    assert urban.self_selected == 2
    assert transport.distribution == {
        "satisfied": 0,
        "basically_satisfied": 5,
        "dissatisfied": 0,
        "dont_know": 0,
    }


def test_the_residents_of_one_district(session: Session, runs: tuple[Campaign, Campaign]) -> None:
    [result] = results(session, runs[0].id, respondents={"district": "xihu"})
    # Xihu's three answers of campaign one, from five households each: 100, 100 and 80;
    # Binjiang's, the skipped ones and the open link's left out.
    assert result.distribution == {
        "satisfied": 10,
        "basically_satisfied": 5,
        "dissatisfied": 0,
        "dont_know": 0,
    }
    assert (result.index.value, result.index.n) == (pytest.approx(280 / 3), 15)
    assert result.self_selected == 0


def test_without_population_shares_the_index_is_unweighted(
    session: Session, runs: tuple[Campaign, Campaign]
) -> None:
    [result] = results(session, runs[0].id, margins={})
    assert (result.index.value, result.index.weighted) == (pytest.approx(70.0), False)
    assert result.index.note == "no population shares for district"


def test_unknown_campaign_is_an_error(session: Session) -> None:
    with pytest.raises(LookupError):
        results(session, 999)


def test_csv_has_option_counts_and_index_rows(
    session: Session, runs: tuple[Campaign, Campaign]
) -> None:
    rows = list(csv.DictReader(io.StringIO(results_csv(results(session, runs[0].id)))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["row"], r["option"], r["count"]) for r in rows] == [
        ("option", "satisfied", "10"),
        ("option", "basically_satisfied", "5"),
        ("option", "dissatisfied", "5"),
        ("option", "dont_know", "5"),
        ("index", "", ""),
        ("mean", "", ""),
    ]
    index = rows[4]
    assert (index["agency"], index["question"], index["value"]) == (UM, "satisfaction", "46.67")
    assert (index["n"], index["n_dont_know"], index["weighted"], index["self_selected"]) == (
        "20",
        "5",
        "yes",
        "1",
    )
    assert float(index["ci_low"]) < 46.67 < float(index["ci_high"])
    # Where the figure came from: Xihu's 15 answers and Binjiang's 5, post-stratified.
    assert (index["method"], index["weighted_by"], index["n_unplaced"], index["note"]) == (
        "post-stratified",
        "district",
        "0",
        "",
    )
    # Satterthwaite: (0.25/15 + 0.25/5)^2 / ((0.25/15)^2/14 + (0.25/5)^2/4)
    assert (index["df"], index["design_effect"], index["collapsed"]) == ("6.9", "1.33", "")
    assert (rows[5]["value"], rows[5]["weighted"], rows[5]["method"]) == ("70.00", "no", "")


def test_agency_chart_is_a_png(session: Session, runs: tuple[Campaign, Campaign]) -> None:
    png = agency_chart_png(
        results(session),
        agency=UM,
        labels={"satisfaction": {"zh": "总体满意度", "en": "Overall satisfaction"}},
        title={"zh": "城市管理局", "en": "City Management Bureau"},
    )
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    empty = agency_chart_png([], agency="water", labels={}, title={}, language="en")
    assert empty.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
def test_chart_uses_the_cjk_font_when_one_is_installed(
    session: Session, runs: tuple[Campaign, Campaign], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The font named stands in for a CJK one, which this machine may not have.
    monkeypatch.setattr(survey_results_module, "cjk_font", lambda: "DejaVu Sans")
    png = agency_chart_png(
        results(session),
        agency=UM,
        labels={"satisfaction": {"zh": "Overall (zh)", "en": "Overall"}},
        title={"zh": "Bureau (zh)", "en": "Bureau"},
    )
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
