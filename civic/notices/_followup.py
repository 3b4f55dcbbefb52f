"""Citizens in the loop: the citizens who raised a notice's problem are told when the
agency publishes its commitment and when the office verifies the rectification, and
asked with one tap whether it is better now.

Who is linked: the authors of the comments behind the notice (civic.opinion's comment
store) of the notice's agency, period and district, under the notice's code when it is
about a code, else every complaint and reopen reason of the agency in the period. Each
comment leads to its citizen through its source row (a ticket, a reopening, a survey
answer, a window rating); an erased citizen is no longer reachable that way.

How they are told: each stage is a campaign of its own (`survey_key` FOLLOWUP_SURVEY, the
notice and stage in its design), with one invitation per linked citizen who may be
contacted, so the campaign sender sends it: inside the campaign's daily send window, at
each channel's pace, never to someone who opted out (/stop, or the opt-out link), on
Telegram, the web chat or SMS. A linked citizen who is not in the sample frame gets a
frame member of kind `contact`, which is never sampled for surveys.

The answer ("better", "same", "worse") is recorded on the citizen's `NoticeLink`: the
answer at the commitment is the baseline, the answer after verification the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from civic.campaigns import CONTACT, Design, new_nonce
from storage.models import (
    Campaign,
    ChannelAddress,
    Citizen,
    Comment,
    CommentCode,
    FrameMember,
    Invitation,
    Notice,
    NoticeLink,
    SurveyAnswer,
    SurveyResponse,
    Ticket,
    TicketEvent,
    WindowRating,
)

FOLLOWUP_SURVEY = "notice-followup"  # the survey key that marks a notice's follow-up
STAGES = ("committed", "verified")
ANSWERS = ("better", "same", "worse")
CHANNELS = ("telegram", "web", "sms")
FOLLOWUP_DAYS = 30  # how long a stage's answers are taken


class FollowupError(ValueError):
    """An answer that cannot be recorded; `key` names the catalogue text that says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Followup:
    notice_id: int
    stage: str


def followup_of(campaign: Campaign) -> Followup | None:
    """The notice and stage a campaign follows up, or None for a survey campaign."""
    if campaign.survey_key != FOLLOWUP_SURVEY:
        return None
    about = json.loads(campaign.design or "{}").get("notice") or {}
    if not isinstance(about, dict) or about.get("stage") not in STAGES:
        return None
    return Followup(int(about["id"]), str(about["stage"]))


def _authors(session: Session, notice: Notice, codes: tuple[str, ...]) -> dict[int, int]:
    """citizen id → the id of one of their comments behind the notice."""
    where = [Comment.agency == notice.agency, Comment.month.like(f"{notice.period}-%")]
    if notice.district:
        where.append(Comment.district == notice.district)
    if codes:
        where.append(
            exists().where(CommentCode.comment_id == Comment.id, CommentCode.code.in_(codes))
        )
    else:
        where.append(Comment.source.in_(("complaint", "reopen")))
    author = {
        "complaint": select(Ticket.citizen_id).where(Ticket.id == Comment.source_id),
        "reopen": select(Ticket.citizen_id)
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .where(TicketEvent.id == Comment.source_id),
        "survey": select(SurveyResponse.citizen_id)
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(SurveyAnswer.id == Comment.source_id),
        "window": select(WindowRating.citizen_id).where(WindowRating.id == Comment.source_id),
    }
    found: dict[int, int] = {}
    for source, citizen in author.items():
        rows = session.execute(
            select(citizen.scalar_subquery(), Comment.id).where(Comment.source == source, *where)
        )
        for citizen_id, comment_id in rows:
            if citizen_id is not None:
                found.setdefault(citizen_id, comment_id)
    return found


def link_citizens(
    *, session: Session, notice: Notice, codes: tuple[str, ...], now: datetime
) -> int:
    """Link the authors of the notice's comments to it; `codes` are the notice's code and
    its children (empty when the notice is not about a code). Returns how many are new."""
    authors = _authors(session, notice, codes)
    linked = set(
        session.scalars(select(NoticeLink.citizen_id).where(NoticeLink.notice_id == notice.id))
    )
    new = [
        NoticeLink(notice_id=notice.id, citizen_id=citizen_id, comment_id=comment_id, linked_at=now)
        for citizen_id, comment_id in sorted(authors.items())
        if citizen_id not in linked
    ]
    session.add_all(new)
    session.flush()
    return len(new)


def _reachable(session: Session, citizen_ids: list[int]) -> dict[int, str]:
    """citizen id → the channel to tell them on: Telegram, else the web chat, else SMS
    to a verified number."""
    found: dict[int, str] = {}
    addresses = session.execute(
        select(ChannelAddress.citizen_id, ChannelAddress.channel).where(
            ChannelAddress.citizen_id.in_(citizen_ids),
            ChannelAddress.unreachable_at.is_(None),
            ChannelAddress.channel.in_(("telegram", "web")),
        )
    )
    for citizen_id, channel in addresses:
        if channel == "telegram" or citizen_id not in found:
            found[citizen_id] = channel
    phones = session.execute(
        select(Citizen.id).where(Citizen.id.in_(citizen_ids), Citizen.phone.is_not(None))
    )
    for (citizen_id,) in phones:
        found.setdefault(citizen_id, "sms")
    return found


def _member(session: Session, citizen: Citizen) -> FrameMember:
    member = session.scalars(
        select(FrameMember).where(FrameMember.citizen_id == citizen.id)
    ).first()
    if member is None:
        member = FrameMember(
            kind=CONTACT,
            citizen_id=citizen.id,
            strata=json.dumps({"language": citizen.language or "zh"}),
        )
        session.add(member)
    if member.kind == CONTACT:
        member.mobile = citizen.phone  # kept only while the number is the citizen's
    return member


def start_followup(
    *,
    session: Session,
    notice: Notice,
    stage: str,
    now: datetime,
    window: tuple[str, str] = ("09:00", "20:00"),
    timezone: str = "Asia/Shanghai",
) -> Campaign:
    """The stage's campaign, with an invitation for each linked citizen who may be
    contacted; made once per notice and stage (called again, it returns the same one)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    for campaign in session.scalars(select(Campaign).where(Campaign.survey_key == FOLLOWUP_SURVEY)):
        if followup_of(campaign) == Followup(notice.id, stage):
            return campaign
    citizen_ids = list(
        session.scalars(
            select(NoticeLink.citizen_id).where(
                NoticeLink.notice_id == notice.id, NoticeLink.citizen_id.is_not(None)
            )
        )
    )
    channels = _reachable(session, [c for c in citizen_ids if c is not None])
    design = json.loads(Design(strata=(), n=len(channels), channels=CHANNELS).as_json())
    design["notice"] = {"id": notice.id, "number": notice.number, "stage": stage}
    campaign = Campaign(
        name=f"{notice.number} {stage}",
        survey_key=FOLLOWUP_SURVEY,
        design=json.dumps(design, ensure_ascii=False),
        starts_at=now,
        ends_at=now + timedelta(days=FOLLOWUP_DAYS),
        window_start=window[0],
        window_end=window[1],
        timezone=timezone,
        reminder_days="[]",
        status="running",
    )
    session.add(campaign)
    session.flush()
    for citizen in session.scalars(select(Citizen).where(Citizen.id.in_(list(channels)))):
        member = _member(session, citizen)
        session.flush()
        opted_out = member.opted_out_at is not None
        session.add(
            Invitation(
                campaign_id=campaign.id,
                member_id=member.id,
                stratum="notice",
                channel=channels[citizen.id],
                nonce=new_nonce(),
                state="opted_out" if opted_out else "pending",
                next_attempt_at=now,
            )
        )
    session.flush()
    return campaign


def record_answer(
    *, session: Session, invitation: Invitation, answer: str, now: datetime
) -> tuple[Notice, str, bool]:
    """Record a one-tap answer to a follow-up; returns the notice, the stage and whether
    an earlier answer was replaced. Refused: an unknown answer, a closed stage, an
    invitation that is not a follow-up, a citizen no longer linked (erased)."""
    if answer not in ANSWERS:
        raise FollowupError("notices_citizen.bad_answer")
    campaign = session.get(Campaign, invitation.campaign_id)
    followup = followup_of(campaign) if campaign is not None else None
    if campaign is None or followup is None:
        raise FollowupError("notices_citizen.not_found")
    if campaign.status == "closed" or _aware(campaign.ends_at) <= now:
        raise FollowupError("notices_citizen.closed")
    member = session.get(FrameMember, invitation.member_id) if invitation.member_id else None
    link = (
        session.scalars(
            select(NoticeLink).where(
                NoticeLink.notice_id == followup.notice_id,
                NoticeLink.citizen_id == member.citizen_id,
            )
        ).first()
        if member is not None and member.citizen_id is not None
        else None
    )
    notice = session.get(Notice, followup.notice_id)
    if link is None or notice is None:
        raise FollowupError("notices_citizen.not_found")
    replaced = getattr(link, f"{followup.stage}_answer") is not None
    setattr(link, f"{followup.stage}_answer", answer)
    setattr(link, f"{followup.stage}_answered_at", now)
    invitation.started_at = invitation.started_at or now
    invitation.completed_at = now
    session.flush()
    return notice, followup.stage, replaced


def answer_counts(*, session: Session, notice_id: int) -> dict[str, dict[str, int]]:
    """stage → answer → how many linked citizens gave it (every answer present, 0 too)."""
    counts = {stage: dict.fromkeys(ANSWERS, 0) for stage in STAGES}
    for stage in STAGES:
        column = getattr(NoticeLink, f"{stage}_answer")
        for (answer,) in session.execute(
            select(column).where(NoticeLink.notice_id == notice_id, column.is_not(None))
        ):
            if answer in counts[stage]:
                counts[stage][answer] += 1
    return counts


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class FollowupMessage:
    """What a follow-up says, in one language: the problem the citizen raised, the
    agency, and what it committed to (shortened for a chat message)."""

    number: str
    stage: str
    topic: str
    agency: str
    commitment: str


COMMITMENT_LIMIT = 300


def followup_message(
    *, session: Session, campaign: Campaign, lang: str, agency_name: str, code_label: str | None
) -> FollowupMessage | None:
    """The follow-up campaign's message in `lang`; `code_label` is the notice's code in
    that language when it is about a code (else the problem's first line is the topic)."""
    followup = followup_of(campaign)
    notice = session.get(Notice, followup.notice_id) if followup else None
    if followup is None or notice is None:
        return None
    english = lang == "en"
    problem = (notice.problem_en if english else notice.problem_zh) or notice.problem_zh
    commitment = (notice.commitment_en if english else notice.commitment_zh) or ""
    if len(commitment) > COMMITMENT_LIMIT:
        commitment = commitment[: COMMITMENT_LIMIT - 1].rstrip() + "…"
    first_line = problem.strip().splitlines()[0][:60] if problem.strip() else notice.number
    topic = code_label or first_line
    return FollowupMessage(notice.number, followup.stage, topic, agency_name, commitment)
