"""Survey definitions: loading, checking with file and line, and walking the steps."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from civic.city import Profile
from civic.settings import PROJECT_ROOT
from civic.surveys import (
    HANGZHOU_SCALE,
    Survey,
    SurveyError,
    load_survey,
    load_surveys,
    parse_survey,
)

SURVEYS = PROJECT_ROOT / "profiles" / "hangzhou" / "surveys"
AGENCIES = {"transport", "housing", "water"}

# Ten lines, so the first question's `- id:` is line 11.
HEADER = """\
key: test
minutes: 3
results_url: https://example.org/results
title: {zh: 测试, en: Test}
intro: {zh: "约 {minutes} 分钟", en: "About {minutes} minutes"}
thanks: {zh: "结果见 {results_url}", en: "Results at {results_url}"}
dont_know: {zh: 不知道, en: Not known}
# (comment)
# (comment)
questions:
"""

ASSIGNED = HEADER + dedent("""\
    - id: overall
      type: scale
      scale: hangzhou
      text: {zh: "总体满意吗？", en: "Satisfied overall?"}
    - agency_block:
        agencies_from: assigned
        questions:
          - id: handled
            type: scale
            scale: hangzhou
            text: {zh: "您对{agency}的处理满意吗？", en: "Happy with how the {agency} handled it?"}
          - id: why
            type: text
            skip: true
            show_if: {question: handled, any_of: [dissatisfied]}
            text: {zh: "为什么？", en: "Why?"}
""")


@pytest.fixture
def surveys(profile: Profile) -> dict[str, Survey]:
    return load_surveys(SURVEYS, agencies=profile.agencies)


@pytest.fixture
def annual(surveys: dict[str, Survey]) -> Survey:
    return surveys["annual_satisfaction"]


def ids(
    survey: Survey, answers: dict[str, str | None], assigned: tuple[str, ...] = ()
) -> list[str]:
    return [step.id for step in survey.steps(answers, assigned)]


# --- the samples ---


def test_the_samples_load(surveys: dict[str, Survey]) -> None:
    assert sorted(surveys) == ["annual_satisfaction", "service_window_followup"]
    followup = surveys["service_window_followup"]
    assert [q.id for q in followup.questions()] == ["resolved", "manner", "improve"]
    resolved = followup.step("resolved")
    assert resolved is not None
    # YAML 1.1 would read yes/no as booleans; here they stay option codes.
    assert resolved.question.option_codes() == ("yes", "partly", "no")


def test_the_annual_survey_is_bilingual_and_names_agencies(annual: Survey) -> None:
    assert annual.minutes == 5
    # results_url is a path: the public results pages of this server
    assert annual.text("thanks", "en") == (
        "Thank you for taking part! The results will be published at"
        " http://127.0.0.1:8000/evaluation/."
    )
    choose = annual.step("agencies")
    assert choose is not None
    assert [option.text("zh") for option in choose.question.options] == [
        "城市管理局",
        "交通运输局",
        "住房保障和房产管理局",
        "人力资源和社会保障局",
        "市场监督管理局",
        "城乡建设委员会",
        "公安局",
        "公安交警支队",
        "水务局",
        "卫生健康委员会",
        "生态环境局",
        "教育局",
    ]
    improve = annual.step("agency_improve@transport")
    assert improve is not None
    assert improve.question.prompt("zh") == "您认为{agency}最需要改进的是什么？"
    assert annual.prompt(improve, "zh") == "您认为交通运输局最需要改进的是什么？"
    assert annual.prompt(improve, "en") == "What should the Transport Bureau improve most?"
    assert improve.prompt("en", "Bus Office") == "What should the Bus Office improve most?"


def test_a_respondent_with_one_agency_answers_eight_steps(annual: Survey) -> None:
    replies = {
        "overall": "basically_satisfied",
        "agencies": "transport",
        "agency_satisfaction@transport": "dissatisfied",
        "agency_improve@transport": "更多公交线路",
        "recommend": "7",
        "contact_channel": "hotline",
        "contact_ease": "4",
        "comment": None,
    }
    answers: dict[str, str | None] = {}
    progress = []
    while (step := annual.next_step(answers)) is not None:
        assert step.question.accepts(replies[step.id])
        answers[step.id] = replies[step.id]
        progress.append(f"{len(answers)}/{annual.count(answers)}")
    assert answers == replies
    assert progress == ["1/5", "2/6", "3/7", "4/7", "5/7", "6/8", "7/8", "8/8"]


# --- skip logic and agency blocks ---


def test_the_follow_up_is_asked_only_for_the_agency_rated_dissatisfied(annual: Survey) -> None:
    answers: dict[str, str | None] = {
        "overall": "satisfied",
        "agencies": "housing,transport",
        "agency_satisfaction@transport": "dissatisfied",
        "agency_satisfaction@housing": "satisfied",
    }
    assert ids(annual, answers)[:6] == [
        "overall",
        "agencies",
        "agency_satisfaction@transport",
        "agency_improve@transport",
        "agency_satisfaction@housing",
        "recommend",
    ]


def test_a_follow_up_waits_for_the_answer_it_depends_on(annual: Survey) -> None:
    answers: dict[str, str | None] = {"overall": "satisfied", "agencies": "tourism,transport"}
    # tourism is not in the block: only transport is asked about.
    assert ids(annual, answers) == [
        "overall",
        "agencies",
        "agency_satisfaction@transport",
        "recommend",
        "contact_channel",
        "comment",
    ]
    next_step = annual.next_step(answers)
    assert next_step is not None and next_step.id == "agency_satisfaction@transport"


def test_skipping_the_agency_choice_skips_the_block(annual: Survey) -> None:
    assert ids(annual, {"overall": "satisfied", "agencies": None}) == [
        "overall",
        "agencies",
        "recommend",
        "contact_channel",
        "comment",
    ]


def test_a_top_level_question_follows_an_earlier_one(annual: Survey) -> None:
    base: dict[str, str | None] = {"overall": "satisfied", "agencies": None}
    assert "contact_ease" in ids(annual, {**base, "contact_channel": "online"})
    assert "contact_ease" not in ids(annual, {**base, "contact_channel": "never"})


def test_the_block_expands_for_assigned_agencies() -> None:
    survey = parse_survey(ASSIGNED, source="upload.yml", agencies=AGENCIES)
    answers: dict[str, str | None] = {"overall": "satisfied", "handled@water": "dissatisfied"}
    assert ids(survey, answers, ("water", "housing")) == [
        "overall",
        "handled@water",
        "why@water",
        "handled@housing",
    ]
    assert ids(survey, answers) == ["overall"]
    assert survey.count(answers, ("water", "housing")) == 4
    step = survey.step("why@water", ("water",))
    assert step is not None and (step.question.id, step.agency) == ("why", "water")
    assert survey.step("why@water") is None
    # Without the profile's names, the agency code stands in for the name.
    handled = survey.step("handled@water", ["water"])
    assert handled is not None
    assert survey.prompt(handled, "en") == "Happy with how the water handled it?"


def test_step_looks_up_chosen_agency_steps(annual: Survey) -> None:
    step = annual.step("agency_satisfaction@housing")
    assert step is not None and step.agency == "housing"
    assert annual.step("agency_satisfaction@tourism") is None
    assert annual.step("nonsense") is None


# --- scales and answers ---


def test_the_hangzhou_scale() -> None:
    assert [(o.code, o.label["zh"], o.score) for o in HANGZHOU_SCALE.options] == [
        ("satisfied", "满意", 100),
        ("basically_satisfied", "基本满意", 80),
        ("dissatisfied", "不满意", 0),
        ("dont_know", "不了解", None),
    ]


def test_scores_come_from_the_scale(annual: Survey) -> None:
    overall = annual.step("overall")
    recommend = annual.step("recommend")
    assert overall is not None and recommend is not None
    scores = [annual.score(overall, code) for code in overall.question.option_codes()]
    assert scores == [100, 80, 0, None]
    assert annual.score(recommend, "10") is None


def test_a_survey_can_change_the_scores_and_define_a_scale() -> None:
    text = HEADER.replace("questions:\n", "") + dedent("""\
        scales:
          hangzhou:
            scores: {basically_satisfied: 60, dont_know: null}
          agree:
            options:
              - {code: agree, label: {zh: 同意, en: Agree}, score: 1}
              - {code: disagree, label: {zh: 不同意, en: Disagree}, score: -1}
        questions:
          - id: overall
            type: scale
            scale: hangzhou
            text: {zh: "满意吗？", en: "Satisfied?"}
          - id: fair
            type: scale
            scale: agree
            dont_know: true
            text: {zh: "公平吗？", en: "Fair?"}
    """)
    survey = parse_survey(text, source="upload.yml", agencies=AGENCIES)
    overall, fair = survey.step("overall"), survey.step("fair")
    assert overall is not None and fair is not None
    assert survey.score(overall, "basically_satisfied") == 60
    assert survey.score(overall, "satisfied") == 100
    assert [survey.score(fair, code) for code in fair.question.option_codes()] == [1, -1, None]
    assert [(o.code, o.text("en")) for o in survey.choices(fair)] == [
        ("agree", "Agree"),
        ("disagree", "Disagree"),
        ("dont_know", "Not known"),
    ]


def test_answers_are_checked_against_the_question(surveys: dict[str, Survey]) -> None:
    annual = surveys["annual_satisfaction"]
    choose, ease = annual.step("agencies"), annual.step("contact_ease")
    assert choose is not None and ease is not None
    accepted = [
        choose.question.accepts(value)
        for value in ("transport,housing", "transport,transport", "tourism", None)
    ]
    assert accepted == [True, False, False, True]
    assert ease.question.option_codes() == ("1", "2", "3", "4", "5", "dont_know")
    assert [ease.question.accepts(value) for value in ("5", "dont_know", "6", None)] == [
        True,
        True,
        False,
        False,
    ]


def test_parse_survey_reads_text_with_a_set_of_agencies() -> None:
    survey = parse_survey(
        SURVEYS.joinpath("annual_satisfaction.yml").read_text(encoding="utf-8"),
        source="upload",
        agencies={
            "urban-management",
            "transport",
            "housing",
            "human-resources",
            "market-regulation",
            "construction",
            "public-security",
            "traffic-police",
            "water",
            "health",
            "environment",
            "education",
        },
    )
    choose = survey.step("agencies")
    assert choose is not None
    assert choose.question.options[1].label == {"zh": "transport", "en": "transport"}


def test_the_index_is_weighted_by_district_unless_the_survey_names_its_post_strata(
    surveys: dict[str, Survey],
) -> None:
    assert surveys["service_window_followup"].post_strata == ("district",)
    assert surveys["annual_satisfaction"].post_strata == ("district", "age_band")


# --- rejections name the file and the line ---

BLOCK = """\
- agency_block:
    agencies_from: choice
    agencies: [transport, housing]
    choose:
      id: agencies
      text: {zh: "哪些部门？", en: "Which departments?"}
    questions:
      - id: rating
        type: scale
        scale: hangzhou
        text: {zh: "{agency}满意吗？", en: "Satisfied with the {agency}?"}
"""

QUESTION = """\
- id: first
  type: single
  text: {zh: 第一题, en: First}
  options:
    - {code: a, label: {zh: 甲, en: A}}
    - {code: b, label: {zh: 乙, en: B}}
"""

REJECTED = {
    "unknown agency": (
        BLOCK.replace("[transport, housing]", "[transport,\n      police]"),
        14,
        "unknown agency 'police' (not in the profile's agencies)",
    ),
    "unknown question": (
        QUESTION + "- id: second\n  type: text\n  show_if: {question: frist, any_of: [a]}\n"
        "  text: {zh: 第二题, en: Second}\n",
        19,
        'question "second" depends on "frist", but there is no such question',
    ),
    "later question": (
        "- id: second\n  type: text\n  show_if: {question: first, any_of: [a]}\n"
        "  text: {zh: 第二题, en: Second}\n" + QUESTION,
        13,
        'question "second" depends on "first", which comes after it; it could never be shown',
    ),
    "option the question lacks": (
        QUESTION + "- id: second\n  type: text\n  show_if: {question: first, any_of: [c]}\n"
        "  text: {zh: 第二题, en: Second}\n",
        19,
        'question "second" shows only if "first" is one of [c], which it can never be',
    ),
    "question of a block from outside": (
        BLOCK + "- id: after\n  type: text\n  show_if: {question: rating, any_of: [satisfied]}\n"
        "  text: {zh: 后面, en: After}\n",
        24,
        'question "after" depends on "rating", which is asked per agency in an agency block',
    ),
    "unknown built-in scale": (
        "- id: first\n  type: scale\n  scale: hangzou\n  text: {zh: 甲, en: A}\n",
        13,
        "question \"first\": unknown scale 'hangzou' (built in or defined under 'scales':"
        " hangzhou)",
    ),
    "scale name that is not built in": (
        "- id: first\n  type: text\n  text: {zh: 甲, en: A}\nscales:\n  hangzou:\n"
        "    scores: {satisfied: 90}\n",
        15,
        "scale \"hangzou\" is not a built-in scale (hangzhou): define its 'options'",
    ),
    "custom scale without en label": (
        "- id: first\n  type: text\n  text: {zh: 甲, en: A}\nscales:\n  agree:\n    options:\n"
        "      - {code: yes, label: {zh: 是, en: Yes}, score: 1}\n"
        "      - code: no\n        score: 0\n        label:\n          zh: 否\n",
        20,
        "scale \"agree\": option 'no': 'label' needs a non-empty en text",
    ),
    "missing zh text": (
        "- id: first\n  type: text\n  text:\n    en: First\n",
        13,
        "question \"first\": 'text' needs a non-empty zh text",
    ),
    "duplicate id": (
        QUESTION + QUESTION,
        17,
        'question id "first" is already used on line 11',
    ),
    "unknown type": (
        "- id: first\n  type: yesno\n  text: {zh: 甲, en: A}\n",
        12,
        "question \"first\" has unknown type 'yesno'"
        " (one of: single, multiple, rating, nps, text, scale)",
    ),
    "agency outside a block": (
        '- id: first\n  type: text\n  text: {zh: "{agency}怎么样？", en: "How is the {agency}?"}\n',
        13,
        "question \"first\": 'text' (zh) uses {agency}, which has no meaning here"
        " (placeholders allowed here: none)",
    ),
    "bad YAML": (
        QUESTION + "- id: second\n  text: {zh: 乙, en: B\n",
        19,
        "not valid YAML: expected ',' or '}', but got '<stream end>'"
        " (while parsing a flow mapping on line 18)",
    ),
    "duplicate key": (
        "- id: first\n  type: text\n  type: single\n  text: {zh: 甲, en: A}\n",
        13,
        "not valid YAML: duplicate key 'type'",
    ),
    "post-stratum listed twice": (
        QUESTION + "post_strata:\n  - district\n  - district\n",
        19,
        "post-stratum 'district' is listed twice",
    ),
    "post-stratum that is not a frame column": (
        QUESTION + "post_strata: [Age Band]\n",
        17,
        "a post-stratum 'Age Band' must match [a-z][a-z0-9_]{0,31}",
    ),
    "no post-strata": (
        QUESTION + "post_strata: []\n",
        17,
        "the survey: 'post_strata' must be a non-empty list",
    ),
}


@pytest.mark.parametrize("case", REJECTED, ids=list(REJECTED))
def test_a_wrong_survey_is_rejected_with_file_and_line(case: str, tmp_path: Path) -> None:
    questions, line, message = REJECTED[case]
    path = tmp_path / "annual_satisfaction.yml"
    path.write_text(HEADER + questions, encoding="utf-8")
    with pytest.raises(SurveyError) as caught:
        load_survey(path, agencies=AGENCIES)
    assert str(caught.value) == f"{path}:{line}: {message}"
    assert (caught.value.source, caught.value.line) == (str(path), line)


def test_thanks_must_say_where_the_results_go() -> None:
    text = HEADER.replace("Results at {results_url}", "Thanks").replace(
        "结果见 {results_url}", "谢谢"
    )
    with pytest.raises(SurveyError) as caught:
        parse_survey(text + QUESTION, source="upload.yml", agencies=AGENCIES)
    assert str(caught.value) == (
        "upload.yml:6: 'thanks' must say where the results are published: put {results_url} in it"
    )


def test_survey_keys_are_unique(tmp_path: Path) -> None:
    for name in ("a.yml", "b.yml"):
        (tmp_path / name).write_text(HEADER + QUESTION, encoding="utf-8")
    with pytest.raises(SurveyError) as caught:
        load_surveys(tmp_path, agencies=AGENCIES)
    assert (
        str(caught.value)
        == f"{tmp_path / 'b.yml'}:1: key 'test' is already used by {tmp_path / 'a.yml'}"
    )


def test_no_survey_folder_means_no_surveys(tmp_path: Path) -> None:
    assert load_surveys(tmp_path / "surveys", agencies=AGENCIES) == {}
