"""Answers drawn for a respondent: on a scale, the expected score is the respondent's
true satisfaction; through the real annual survey, every answer is one the question
accepts and the survey's skip logic is followed."""

from __future__ import annotations

import random
import statistics

import pytest

from civic.city import load_profile
from civic.demo._answers import Answering, Respondent, scale_questions, tilted
from civic.demo._texts import Texts
from civic.settings import PROJECT_ROOT
from civic.surveys import Survey, load_survey

HANGZHOU = (100.0, 80.0, 0.0)


@pytest.fixture(scope="module")
def annual() -> Survey:
    profile = load_profile(PROJECT_ROOT / "profiles" / "hangzhou")
    return load_survey(
        profile.path / "surveys" / "annual_satisfaction.yml", agencies=profile.agencies
    )


@pytest.mark.parametrize("mean", [55.0, 78.5, 92.0])
def test_a_tilted_scale_has_the_mean_asked_for(mean: float) -> None:
    shares = tilted(HANGZHOU, mean)
    assert sum(shares) == pytest.approx(1.0)
    assert sum(p * s for p, s in zip(shares, HANGZHOU, strict=True)) == pytest.approx(
        mean, abs=1e-6
    )


def test_a_mean_outside_the_scale_is_held_inside_it() -> None:
    assert sum(p * s for p, s in zip(tilted((1.0, 5.0), 9.0), (1.0, 5.0), strict=True)) < 5.0


def test_walks_follow_the_survey_and_its_skip_logic(annual: Survey) -> None:
    answering, rng = Answering(annual, Texts()), random.Random(5)
    respondent = Respondent(language="en", mean=70.0, agency_means={"transport": 40.0})
    overall: list[float] = []
    for _ in range(400):
        walk = answering.walk(rng, respondent, 0.0, None)
        given = {a.step: a.value for a in walk}
        assert annual.next_step(given) is None  # the survey is complete
        assert [a.at for a in walk] == sorted(a.at for a in walk)
        for step in given:
            if step.startswith("agency_improve@"):
                assert (
                    given[step.replace("agency_improve", "agency_satisfaction")] == "dissatisfied"
                )
        if given["contact_channel"] == "never":
            assert "contact_ease" not in given
        score = annual.score(annual.step("overall"), given["overall"] or "")  # type: ignore[arg-type]
        if score is not None:
            overall.append(score)
    assert statistics.fmean(overall) == pytest.approx(70.0, abs=3.0)


def test_scale_questions_are_told_apart_by_where_they_are_asked(annual: Survey) -> None:
    assert scale_questions(annual) == (["overall"], ["agency_satisfaction"])
