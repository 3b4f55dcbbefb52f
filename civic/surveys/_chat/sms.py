"""A survey answered by text message: a reply of digits answers the current question of
the sender's survey, or starts the survey their SMS invitation asked them to.

SMS has no buttons, so the answers are numbered: a rating or NPS question by its own
codes (1-5, 0-10), any other choice question by position (`numbered_answers`). A number
outside the question's range is told the range; a reply to a survey that is finished or
has closed is told so. The answers go through the same `SurveyEngine` calls as a typed
answer or a tapped button in chat.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.campaigns import sign
from civic.i18n import t
from civic.replies import BotMessage, Button
from civic.surveys import _service as store
from civic.surveys._chat.engine import SurveyContext, SurveyEngine
from civic.surveys._chat.render import step_tag
from civic.surveys._model import Step, Survey
from storage.models import Campaign, Citizen, FrameMember, Invitation, SurveyResponse

__all__ = ["SmsSurveys", "numbered_answers"]

_DIGITS = re.compile(r"^\d+(?:[\s,，、]+\d+)*$")
_SEPARATORS = re.compile(r"[\s,，、]+")


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().strip(".。")


def numbered_answers(buttons: list[Button]) -> list[tuple[str, Button]]:
    """A survey question's answer buttons with the number a reply gives each: their own
    codes when all are numbers (a rating), else 1, 2, 3 … in order. Navigation buttons
    (skip, back, language, later) have no number: they are not for SMS."""
    answers = [b for b in buttons if b.payload.startswith(("sv:a:", "sv:m:"))]
    answers = [b for b in answers if b.payload.count(":") == 4 and b.payload.split(":")[4]]
    codes = [b.payload.split(":")[4] for b in answers]
    if codes and all(code.isdigit() for code in codes):
        return list(zip(codes, answers, strict=True))
    return [(str(i), b) for i, b in enumerate(answers, start=1)]


def _digit_codes(survey: Survey, step: Step) -> dict[str, str]:
    """What each number means for this question: number → answer code."""
    options = survey.choices(step)
    codes = [option.code for option in options]
    if step.question.type in {"rating", "nps"} and all(c.isdigit() for c in codes):
        return {code: code for code in codes}
    return {str(i): code for i, code in enumerate(codes, start=1)}


class SmsSurveys:
    """Digits texted back by someone with a survey in progress or an SMS invitation."""

    def __init__(self, *, engine: SurveyEngine, secret: str) -> None:
        self._engine = engine
        self._secret = secret

    def handle(
        self, *, session: Session, citizen: Citizen, language: str, phone: str, text: str
    ) -> list[BotMessage] | None:
        """The replies to `text`, or None when it is not an answer to a survey (not digits,
        or nothing to answer): then it goes to the assistant."""
        typed = _folded(text)
        if not _DIGITS.match(typed):
            return None
        now = datetime.now(UTC)
        ctx = SurveyContext(session=session, citizen=citizen, language=language, now=now)
        found = self._engine.current(ctx)
        if found is not None:
            response, survey, step = found
            invitation = ctx.session.get(Invitation, response.invitation_id or 0)
            if invitation is not None and _over(ctx.session, invitation, ctx.now):
                return [BotMessage(text=t("survey.closed", response.language))]
            return self._answer(ctx, response, survey, step, typed)
        invitation = _sms_invitation(ctx.session, phone)
        if invitation is None:
            return None
        done = store.response_for_invitation(session=ctx.session, invitation_id=invitation.id)
        if _over(ctx.session, invitation, ctx.now) and (done is None or done.status != "completed"):
            return [BotMessage(text=t("survey.closed", ctx.language))]
        # the same path as the invitation's link: begin (intro and first question),
        # resume, or say it was already answered
        token = sign(secret=self._secret, nonce=invitation.nonce)
        return self._engine.start_invited(ctx, token)

    def _answer(
        self, ctx: SurveyContext, response: SurveyResponse, survey: Survey, step: Step, typed: str
    ) -> list[BotMessage]:
        if step.question.type == "text":
            answered = self._engine.on_text(ctx, typed)
            return answered if answered is not None else self._engine.show_current(ctx, response)
        numbers = _digit_codes(survey, step)
        given = _SEPARATORS.split(typed)
        wanted = [numbers[n] for n in given if n in numbers]
        several = step.question.type == "multiple"
        if len(wanted) < len(given) or (len(given) > 1 and not several):
            values = sorted(int(n) for n in numbers)
            low, high = (values[0], values[-1]) if values else (0, 0)
            told = BotMessage(text=t("sms.out_of_range", response.language, low=low, high=high))
            return [told, *self._engine.show_current(ctx, response)]
        if several:
            codes = ",".join(sorted(set(wanted)))
            return self._engine.on_button(ctx, f"sv:a:{response.id}:{step_tag(step.id)}:{codes}")
        answered = self._engine.on_text(ctx, wanted[0])
        return answered if answered is not None else self._engine.show_current(ctx, response)


def _over(session: Session, invitation: Invitation, now: datetime) -> bool:
    """True when the invitation's campaign has closed or passed its end."""
    campaign = session.get(Campaign, invitation.campaign_id)
    if campaign is None:
        return True
    ends = campaign.ends_at if campaign.ends_at.tzinfo else campaign.ends_at.replace(tzinfo=UTC)
    return campaign.status == "closed" or ends <= now


def _sms_invitation(session: Session, phone: str) -> Invitation | None:
    """The latest SMS invitation sent to this number."""
    return session.scalars(
        select(Invitation)
        .join(FrameMember, FrameMember.id == Invitation.member_id)
        .where(FrameMember.mobile == phone, Invitation.channel == "sms")
        .where(Invitation.sent_at.is_not(None))
        .order_by(Invitation.id.desc())
    ).first()
