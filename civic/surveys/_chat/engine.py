"""A survey in chat: start from an invitation or an open link, answer, skip, go back,
switch language, stop and resume. The state is the response's rows in the database, so a
respondent can come back hours later, after a restart, on another process."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from civic.campaigns import find_by_nonce, verify
from civic.i18n import t
from civic.identity import INVITED, raise_level
from civic.replies import BotMessage
from civic.surveys import _service as store
from civic.surveys._chat.render import intro_message, question_message, step_tag, thanks_message
from civic.surveys._model import Step, Survey
from storage.models import Campaign, Citizen, Invitation, SurveyResponse

log = logging.getLogger(__name__)


@dataclass
class SurveyContext:
    """What one turn knows: the session, the citizen, their language, the time."""

    session: Session
    citizen: Citizen
    language: str
    now: datetime


class SurveyEngine:
    def __init__(self, *, secret: str, agencies: object) -> None:
        self._secret = secret
        self._agencies = agencies
        # Multiple-choice ticks not yet confirmed with "Done": (response, step) → codes.
        self._ticks: dict[tuple[int, str], set[str]] = {}

    def survey(self, session: Session, key: str) -> Survey | None:
        return store.get_survey(session=session, key=key, agencies=self._agencies)

    # -- starting ---------------------------------------------------------------

    def start_invited(self, ctx: SurveyContext, token: str) -> list[BotMessage]:
        lang = ctx.language
        nonce = verify(secret=self._secret, token=token)
        invitation = find_by_nonce(session=ctx.session, nonce=nonce) if nonce else None
        if invitation is None:
            log.info("invitation token rejected")
            return [BotMessage(text=t("survey.invalid_link", lang))]
        campaign = ctx.session.get(Campaign, invitation.campaign_id)
        response = store.response_for_invitation(session=ctx.session, invitation_id=invitation.id)
        if response is not None and response.citizen_id != ctx.citizen.id:
            return [BotMessage(text=t("survey.link_used", lang))]
        if response is not None and response.status == "completed":
            return [BotMessage(text=t("survey.already_done", lang))]
        if response is None and (campaign is None or campaign.status == "closed"):
            return [BotMessage(text=t("survey.closed", lang))]
        survey = self.survey(ctx.session, campaign.survey_key) if campaign else None
        if survey is None:
            return [BotMessage(text=t("survey.closed", lang))]
        if response is None:
            response = self._begin(ctx, survey, invitation)
            return [intro_message(survey, lang), *self.show_current(ctx, response)]
        response.language = lang
        return [BotMessage(text=t("survey.resumed", lang)), *self.show_current(ctx, response)]

    def start_open(self, ctx: SurveyContext, key: str) -> list[BotMessage]:
        """An open link: anyone may answer; the response counts as self-selected."""
        survey = self.survey(ctx.session, key)
        if survey is None:
            return [BotMessage(text=t("survey.invalid_link", ctx.language))]
        current = store.current_response(session=ctx.session, citizen_id=ctx.citizen.id)
        if current is not None and current.survey_key == key:
            return self.show_current(ctx, current)
        response = self._begin(ctx, survey, None)
        return [intro_message(survey, ctx.language), *self.show_current(ctx, response)]

    def _begin(
        self, ctx: SurveyContext, survey: Survey, invitation: Invitation | None
    ) -> SurveyResponse:
        if invitation is not None:
            # a personal invitation token: a sampled household, the surest level
            raise_level(ctx.citizen, INVITED)
        definition = store.list_definitions(session=ctx.session)
        version = next((d.version for d in definition if d.key == survey.key), 1)
        response = store.start_response(
            session=ctx.session,
            survey_key=survey.key,
            version=version,
            citizen_id=ctx.citizen.id,
            language=ctx.language,
            invitation_id=invitation.id if invitation else None,
            stratum=invitation.stratum if invitation else None,
            assurance=INVITED if invitation else ctx.citizen.assurance,
        )
        if invitation is not None and invitation.started_at is None:
            invitation.started_at = ctx.now
        return response

    # -- answering --------------------------------------------------------------

    def show_current(self, ctx: SurveyContext, response: SurveyResponse) -> list[BotMessage]:
        survey = self.survey(ctx.session, response.survey_key)
        if survey is None:
            return [BotMessage(text=t("survey.closed", ctx.language))]
        answers = store.answers_of(session=ctx.session, response=response)
        step = survey.next_step(answers)
        if step is None:
            return self._finish(ctx, survey, response)
        steps = survey.steps(answers)
        position = next(i for i, s in enumerate(steps, start=1) if s.id == step.id)
        chosen = frozenset(self._ticks.get((response.id, step.id), set()))
        return [
            question_message(
                survey=survey,
                response=response,
                step=step,
                position=position,
                total=len(steps),
                chosen=chosen,
            )
        ]

    def _finish(
        self, ctx: SurveyContext, survey: Survey, response: SurveyResponse
    ) -> list[BotMessage]:
        store.complete(session=ctx.session, response=response, now=ctx.now)
        if response.invitation_id is not None:
            invitation = ctx.session.get(Invitation, response.invitation_id)
            if invitation is not None:
                invitation.completed_at = ctx.now
        return [thanks_message(survey, response.language)]

    def current(self, ctx: SurveyContext) -> tuple[SurveyResponse, Survey, Step] | None:
        response = store.current_response(session=ctx.session, citizen_id=ctx.citizen.id)
        survey = self.survey(ctx.session, response.survey_key) if response else None
        if response is None or survey is None:
            return None
        step = survey.next_step(store.answers_of(session=ctx.session, response=response))
        return (response, survey, step) if step else None

    def on_button(self, ctx: SurveyContext, payload: str) -> list[BotMessage]:
        """A tap on a survey button: `sv:<verb>:<response>[:<step tag>[:<value>]]`."""
        parts = payload.split(":", 4)
        verb = parts[1] if len(parts) > 1 else ""
        if verb == "i" and len(parts) == 3:
            return self.start_invited(ctx, parts[2])
        response = self._own_response(ctx, parts[2] if len(parts) > 2 else "")
        if response is None:
            return [BotMessage(text=t("survey.not_active", ctx.language))]
        if verb == "l" and len(parts) == 4 and parts[3] in {"zh", "en"}:
            response.language = ctx.citizen.language = parts[3]
            return self.show_current(ctx, response)
        if verb == "p":
            return [BotMessage(text=t("survey.paused", response.language))]
        if verb == "b":
            store.undo_last(session=ctx.session, response=response)
            return self.show_current(ctx, response)
        return self._answer_button(ctx, response, verb, parts[3:])

    def _answer_button(
        self, ctx: SurveyContext, response: SurveyResponse, verb: str, rest: list[str]
    ) -> list[BotMessage]:
        survey = self.survey(ctx.session, response.survey_key)
        answers = store.answers_of(session=ctx.session, response=response)
        step = survey.next_step(answers) if survey else None
        if survey is None or step is None or not rest or rest[0] != step_tag(step.id):
            # an answer to a question already passed: show where they are instead
            return [
                BotMessage(text=t("survey.stale_button", response.language)),
                *self.show_current(ctx, response),
            ]
        value = rest[1] if len(rest) > 1 else ""
        if verb == "m":
            ticks = self._ticks.setdefault((response.id, step.id), set())
            ticks.symmetric_difference_update({value})
            return self.show_current(ctx, response)
        if verb == "s":
            return self._record(ctx, survey, response, step, None)
        if verb != "a":  # not a button we make: show where they are
            return self.show_current(ctx, response)
        return self._record(ctx, survey, response, step, value or None)

    def on_text(self, ctx: SurveyContext, text: str) -> list[BotMessage] | None:
        """Typed text during a survey: the answer to a free-text question, or a number or
        label choosing an answer. None when it is not an answer (it goes to the assistant)."""
        found = self.current(ctx)
        if found is None:
            return None
        response, survey, step = found
        if step.question.type == "text":
            return self._record(ctx, survey, response, step, text.strip()[:2000])
        code = _typed_choice(survey, step, text, response.language)
        if code is None:
            return None
        return self._record(ctx, survey, response, step, code)

    def _record(
        self,
        ctx: SurveyContext,
        survey: Survey,
        response: SurveyResponse,
        step: Step,
        value: str | None,
    ) -> list[BotMessage]:
        if not step.question.accepts(value):
            key = "survey.choose_one" if value else "survey.cannot_skip"
            return [BotMessage(text=t(key, response.language)), *self.show_current(ctx, response)]
        store.record_answer(
            session=ctx.session,
            response=response,
            step=step.id,
            question=step.question.id,
            agency=step.agency,
            value=value,
            now=ctx.now,
        )
        self._ticks.pop((response.id, step.id), None)
        answers = store.answers_of(session=ctx.session, response=response)
        applicable = {s.id for s in survey.steps(answers)}
        store.prune_answers(
            session=ctx.session,
            response=response,
            keep={k: v for k, v in answers.items() if k in applicable},
        )
        return self.show_current(ctx, response)

    def resume(self, ctx: SurveyContext) -> list[BotMessage]:
        response = store.current_response(session=ctx.session, citizen_id=ctx.citizen.id)
        if response is None:
            return [BotMessage(text=t("survey.nothing_to_resume", ctx.language))]
        response.language = ctx.language
        return [
            BotMessage(text=t("survey.resumed", ctx.language)),
            *self.show_current(ctx, response),
        ]

    def switch_language(
        self, ctx: SurveyContext, wanted: str | None = None
    ) -> list[BotMessage] | None:
        """/language during a survey: the survey goes on in the other (or the wanted)
        language. None without a survey in progress: the assistant switches as usual."""
        response = store.current_response(session=ctx.session, citizen_id=ctx.citizen.id)
        if response is None:
            return None
        other = "en" if response.language == "zh" else "zh"
        response.language = ctx.citizen.language = wanted or other
        return self.show_current(ctx, response)

    def _own_response(self, ctx: SurveyContext, rid: str) -> SurveyResponse | None:
        response = ctx.session.get(SurveyResponse, int(rid)) if rid.isdigit() else None
        if response is None or response.citizen_id != ctx.citizen.id:
            return None
        return response if response.status == "in_progress" else None


def _typed_choice(survey: Survey, step: Step, text: str, lang: str) -> str | None:
    """'3', '３', '满意' or 'satisfied' as an answer to a choice question."""
    typed = unicodedata.normalize("NFKC", text).strip().strip(".。").lower()
    options = survey.choices(step)
    if step.question.type in {"rating", "nps"}:
        return typed if typed in step.question.option_codes() else None
    if step.question.type == "multiple":
        return None
    if typed.isdigit() and 1 <= int(typed) <= len(options):
        return options[int(typed) - 1].code
    for option in options:
        if typed in {option.text("zh").lower(), option.text("en").lower(), option.code}:
            return option.code
    return None


def utc_now() -> datetime:
    return datetime.now(UTC)
