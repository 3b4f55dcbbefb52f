"""The survey model: questions, scales, agency blocks, and the steps a respondent is asked.

A respondent's answers are keyed by step id: the question id, or `<question>@<agency>` for a
question of an agency block. A multiple-choice answer is its codes joined by ","; None means
the step was skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from civic.i18n import localised
from civic.settings import get_settings

QUESTION_TYPES = ("single", "multiple", "rating", "nps", "text", "scale")
CHOICE = "choice"
ASSIGNED = "assigned"
DONT_KNOW = "dont_know"
AGENCY_PLACEHOLDER = "{agency}"
# The respondents' attributes the index is weighted by, most important first, when a
# survey does not name its own (`post_strata:`).
DEFAULT_POST_STRATA = ("district",)


@dataclass(frozen=True)
class Option:
    code: str
    label: dict[str, str]
    score: float | None = None

    def text(self, lang: str | None) -> str:
        return localised(self.label, lang)


@dataclass(frozen=True)
class Scale:
    """A named list of answers, each with the score it counts for (None: left out)."""

    name: str
    options: tuple[Option, ...]


# The municipal public-evaluation scale: "don't know" answers are left out of the index.
HANGZHOU_SCALE = Scale(
    "hangzhou",
    (
        Option("satisfied", {"zh": "满意", "en": "Satisfied"}, 100.0),
        Option("basically_satisfied", {"zh": "基本满意", "en": "Basically satisfied"}, 80.0),
        Option("dissatisfied", {"zh": "不满意", "en": "Dissatisfied"}, 0.0),
        Option(DONT_KNOW, {"zh": "不了解", "en": "Don't know"}, None),
    ),
)
BUILT_IN_SCALES = {HANGZHOU_SCALE.name: HANGZHOU_SCALE}


@dataclass(frozen=True)
class Condition:
    """Show a question only if the answer to `question` is one of `any_of`."""

    question: str
    any_of: tuple[str, ...]
    line: int = field(default=0, compare=False)

    def holds(self, value: str | None) -> bool:
        return value is not None and any(code in self.any_of for code in value.split(","))


@dataclass(frozen=True)
class Question:
    id: str
    type: str  # single | multiple | rating | nps | text | scale
    text: dict[str, str]
    options: tuple[Option, ...]
    skip: bool
    dont_know: bool
    show_if: Condition | None
    line: int

    def prompt(self, lang: str | None) -> str:
        """The question text; inside an agency block it still holds `{agency}`."""
        return localised(self.text, lang)

    def option_codes(self) -> tuple[str, ...]:
        codes = tuple(option.code for option in self.options)
        if self.dont_know and DONT_KNOW not in codes:
            return (*codes, DONT_KNOW)
        return codes

    def option(self, code: str) -> Option | None:
        return next((option for option in self.options if option.code == code), None)

    def accepts(self, value: str | None) -> bool:
        """Whether `value` is a possible answer (None: skipped)."""
        if value is None:
            return self.skip
        codes = self.option_codes()
        if self.type == "text":
            return bool(value.strip())
        if self.type != "multiple":
            return value in codes
        chosen = value.split(",")
        if DONT_KNOW in chosen and len(chosen) > 1:
            return False
        return len(set(chosen)) == len(chosen) and all(code in codes for code in chosen)


@dataclass(frozen=True)
class Step:
    id: str
    question: Question
    agency: str | None

    def prompt(self, lang: str | None, agency_name: str | None = None) -> str:
        """The question text with `{agency}` filled in (by the agency code if no name)."""
        text = self.question.prompt(lang)
        if self.agency is None:
            return text
        return text.replace(AGENCY_PLACEHOLDER, agency_name or self.agency)


@dataclass(frozen=True)
class AgencyBlock:
    """The same questions, asked once per agency: the agencies the respondent chooses in
    `choose` (`agencies_from: choice`) or the ones assigned at run time (`assigned`)."""

    agencies_from: str
    agencies: tuple[str, ...]  # choice: the options; assigned: those covered (() = any)
    choose: Question | None
    questions: tuple[Question, ...]
    line: int

    def possible_agencies(self, assigned: Sequence[str]) -> tuple[str, ...]:
        if self.agencies_from == CHOICE:
            return self.agencies
        return tuple(dict.fromkeys(a for a in assigned if not self.agencies or a in self.agencies))

    def agencies_for(self, answers: Mapping[str, str | None], assigned: Sequence[str]) -> list[str]:
        if self.choose is None:
            return list(self.possible_agencies(assigned))
        chosen = set((answers.get(self.choose.id) or "").split(","))
        return [agency for agency in self.agencies if agency in chosen]

    def steps(self, answers: Mapping[str, str | None], assigned: Sequence[str]) -> Iterator[Step]:
        if self.choose is not None:
            if not _applies(self.choose.show_if, answers, None):
                return
            yield Step(self.choose.id, self.choose, None)
        own = {question.id for question in self.questions}
        for agency in self.agencies_for(answers, assigned):
            for question in self.questions:
                condition = question.show_if
                same_agency = condition is not None and condition.question in own
                if _applies(condition, answers, agency if same_agency else None):
                    yield Step(f"{question.id}@{agency}", question, agency)


def _applies(
    condition: Condition | None, answers: Mapping[str, str | None], agency: str | None
) -> bool:
    """False also when the condition cannot be decided yet: its step is not answered."""
    if condition is None:
        return True
    key = condition.question if agency is None else f"{condition.question}@{agency}"
    return key in answers and condition.holds(answers[key])


Item = Question | AgencyBlock


@dataclass(frozen=True)
class Survey:
    key: str
    title: dict[str, str]
    intro: dict[str, str]
    thanks: dict[str, str]
    minutes: int
    results_url: str
    items: tuple[Item, ...] = ()
    # Agency code → {zh, en} name, from the profile; unknown agencies show their code.
    agency_names: Mapping[str, dict[str, str]] = field(default_factory=dict, compare=False)
    dont_know_label: dict[str, str] = field(
        default_factory=lambda: dict(HANGZHOU_SCALE.options[-1].label)
    )
    # Attributes of the sample frame (district, age_band, ...) whose population shares
    # weight the index: post-stratification on one, raking on several.
    post_strata: tuple[str, ...] = DEFAULT_POST_STRATA

    def text(self, part: str, lang: str | None) -> str:
        """The title, intro or thanks, with {minutes} and {results_url} filled in."""
        texts = {"title": self.title, "intro": self.intro, "thanks": self.thanks}[part]
        return (
            localised(texts, lang)
            .replace("{minutes}", str(self.minutes))
            .replace("{results_url}", self.results_address())
        )

    def results_address(self) -> str:
        """Where the results are published: `results_url` as written, or, when it is a
        path ("/evaluation/"), that path on this server's public address."""
        if self.results_url.startswith("/"):
            return get_settings().public_url + self.results_url
        return self.results_url

    def questions(self) -> Iterator[Question]:
        """Every question, in order; an agency block's choose question first."""
        for item in self.items:
            if isinstance(item, Question):
                yield item
                continue
            if item.choose is not None:
                yield item.choose
            yield from item.questions

    def steps(
        self, answers: Mapping[str, str | None], assigned_agencies: Sequence[str] = ()
    ) -> list[Step]:
        """The steps that apply given the answers so far. A step whose `show_if` refers to
        a step not answered yet is left out until that one is answered."""
        steps: list[Step] = []
        for item in self.items:
            if isinstance(item, AgencyBlock):
                steps.extend(item.steps(answers, assigned_agencies))
            elif _applies(item.show_if, answers, None):
                steps.append(Step(item.id, item, None))
        return steps

    def next_step(
        self, answers: Mapping[str, str | None], assigned_agencies: Sequence[str] = ()
    ) -> Step | None:
        """The first step that applies and has no answer; None when the survey is done."""
        steps = self.steps(answers, assigned_agencies)
        return next((step for step in steps if step.id not in answers), None)

    def count(
        self, answers: Mapping[str, str | None], assigned_agencies: Sequence[str] = ()
    ) -> int:
        return len(self.steps(answers, assigned_agencies))

    def step(self, step_id: str, assigned_agencies: Sequence[str] = ()) -> Step | None:
        question_id, _, agency = step_id.partition("@")
        for item in self.items:
            if isinstance(item, Question):
                if not agency and item.id == question_id:
                    return Step(item.id, item, None)
                continue
            if not agency and item.choose is not None and item.choose.id == question_id:
                return Step(item.choose.id, item.choose, None)
            if agency and agency in item.possible_agencies(assigned_agencies):
                for question in item.questions:
                    if question.id == question_id:
                        return Step(step_id, question, agency)
        return None

    def score(self, step: Step, value: str) -> float | None:
        """The score of an answer on a scale; None for other questions and for answers
        (such as "don't know") that count for nothing."""
        if step.question.type != "scale":
            return None
        option = step.question.option(value)
        return option.score if option else None

    def choices(self, step: Step) -> tuple[Option, ...]:
        """The answers to offer, including an added "don't know"."""
        options = step.question.options
        if DONT_KNOW in step.question.option_codes() and step.question.option(DONT_KNOW) is None:
            return (*options, Option(DONT_KNOW, self.dont_know_label))
        return options

    def agency_name(self, agency: str, lang: str | None) -> str:
        name = self.agency_names.get(agency)
        return localised(name, lang) if name else agency

    def prompt(self, step: Step, lang: str | None) -> str:
        """The step's question text, with the agency's name in `lang` for `{agency}`."""
        if step.agency is None:
            return step.prompt(lang)
        return step.prompt(lang, self.agency_name(step.agency, lang))
