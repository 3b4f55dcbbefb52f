"""The one-tap answer to a notice's follow-up, from a chat button ("nt:<token>:<answer>")
or the answer page an SMS links to. The signed token names the invitation; in a chat
the button counts only for the citizen it was sent to."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from civic.campaigns import find_by_nonce, verify
from civic.i18n import t
from civic.notices._followup import ANSWERS, FollowupError, record_answer
from civic.replies import BotMessage
from storage.models import Citizen, FrameMember, Invitation

log = logging.getLogger(__name__)
PREFIX = "nt:"


def invitation_for(session: Session, secret: str, token: str) -> Invitation | None:
    nonce = verify(secret=secret, token=token)
    return find_by_nonce(session=session, nonce=nonce) if nonce else None


def answer_by_token(
    *, session: Session, secret: str, token: str, answer: str, now: datetime
) -> tuple[bool, str]:
    """Record an answer to the invitation `token` names; (recorded, the catalogue key of
    what to tell the person)."""
    invitation = invitation_for(session, secret, token)
    if invitation is None:
        log.info("notice answer token rejected")
        return False, "notices_citizen.not_found"
    try:
        _notice, stage, replaced = record_answer(
            session=session, invitation=invitation, answer=answer, now=now
        )
    except FollowupError as refused:
        return False, refused.key
    return True, "notices_citizen.changed" if replaced else f"notices_citizen.thanks_{stage}"


def answer_in_chat(
    *, session: Session, citizen: Citizen, payload: str, secret: str, now: datetime, lang: str
) -> list[BotMessage]:
    """A tapped answer button: recorded when the invitation was this citizen's."""
    token, _, answer = payload[len(PREFIX) :].rpartition(":")
    if answer not in ANSWERS:
        return [BotMessage(text=t("notices_citizen.bad_answer", lang))]
    invitation = invitation_for(session, secret, token)
    member = (
        session.get(FrameMember, invitation.member_id)
        if invitation is not None and invitation.member_id
        else None
    )
    if member is None or member.citizen_id != citizen.id:
        log.info("notice answer button refused: not this citizen's")
        return [BotMessage(text=t("notices_citizen.not_found", lang))]
    _recorded, key = answer_by_token(
        session=session, secret=secret, token=token, answer=answer, now=now
    )
    return [BotMessage(text=t(key, lang))]
