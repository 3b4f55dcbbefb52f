"""Survey questions as chat messages: the text with its progress, one button per answer,
and a row of navigation buttons. Button payloads name the response and, through a short
digest, the step they answer, so a tap on an old question's button is recognised."""

from __future__ import annotations

import hashlib

from civic.i18n import t
from civic.replies import BotMessage, Button
from civic.surveys._model import Step, Survey
from storage.models import SurveyResponse


def step_tag(step_id: str) -> str:
    return hashlib.sha256(step_id.encode()).hexdigest()[:6]


def question_message(
    *,
    survey: Survey,
    response: SurveyResponse,
    step: Step,
    position: int,
    total: int,
    chosen: frozenset[str] = frozenset(),
) -> BotMessage:
    lang = response.language
    rid, tag = response.id, step_tag(step.id)
    lines = [f"{position}/{total} · {survey.prompt(step, lang)}"]
    buttons: list[Button] = []
    kind = step.question.type
    if kind == "text":
        lines.append(t("survey.type_answer", lang))
    elif kind == "multiple":
        lines.append(t("survey.choose_several", lang))
        for option in survey.choices(step):
            mark = "☑" if option.code in chosen else "☐"
            buttons.append(Button(f"{mark} {option.text(lang)}", f"sv:m:{rid}:{tag}:{option.code}"))
        buttons.append(
            Button(t("survey.done", lang), f"sv:a:{rid}:{tag}:" + ",".join(sorted(chosen)))
        )
    else:
        for option in survey.choices(step):
            buttons.append(Button(option.text(lang), f"sv:a:{rid}:{tag}:{option.code}"))
    if step.question.skip:
        buttons.append(Button(t("survey.skip", lang), f"sv:s:{rid}:{tag}"))
    if position > 1:
        buttons.append(Button(t("survey.back", lang), f"sv:b:{rid}"))
    other = "en" if lang == "zh" else "zh"
    buttons.append(Button(t("survey.switch_language", lang), f"sv:l:{rid}:{other}"))
    buttons.append(Button(t("survey.later", lang), f"sv:p:{rid}"))
    return BotMessage(text="\n".join(lines), buttons=buttons)


def intro_message(survey: Survey, lang: str) -> BotMessage:
    title = survey.text("title", lang)
    intro = survey.text("intro", lang)
    return BotMessage(
        text=t("survey.intro", lang, title=title, intro=intro, minutes=survey.minutes)
    )


def thanks_message(survey: Survey, lang: str) -> BotMessage:
    return BotMessage(
        text=t(
            "survey.thanks",
            lang,
            thanks=survey.text("thanks", lang),
            results_url=survey.results_url,
        )
    )
