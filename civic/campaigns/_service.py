"""Campaigns: a survey sent to a stratified random sample on a schedule. Creating one,
drawing its sample (each member's stratum stored), opting people out, and its progress.
Sending the invitations is storage/invitations.py's part."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from civic.campaigns._frame import eligible_members
from civic.campaigns._sampling import draw_sample
from civic.campaigns._tokens import new_nonce
from storage.models import Campaign, FrameMember, Invitation, utcnow

CHANNELS = ("telegram", "web", "sms", "email", "letter")
STATES = ("pending", "sending", "sent", "failed", "unreachable", "opted_out")


@dataclass(frozen=True)
class Design:
    """How a campaign samples: whom (population filter), over which strata, how many."""

    strata: tuple[str, ...]
    n: int
    allocation: str = "proportional"
    seed: int = 1
    population: dict[str, list[str]] = field(default_factory=dict)
    quiet_days: int = 90
    channels: tuple[str, ...] = ("telegram", "web", "sms", "email", "letter")

    def as_json(self) -> str:
        data = {
            "strata": list(self.strata),
            "n": self.n,
            "allocation": self.allocation,
            "seed": self.seed,
            "population": self.population,
            "quiet_days": self.quiet_days,
            "channels": list(self.channels),
        }
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Design:
        data: dict[str, Any] = json.loads(text)
        return cls(
            strata=tuple(data["strata"]),
            n=int(data["n"]),
            allocation=data.get("allocation", "proportional"),
            seed=int(data.get("seed", 1)),
            population=dict(data.get("population") or {}),
            quiet_days=int(data.get("quiet_days", 90)),
            channels=tuple(data.get("channels") or cls.channels),
        )


def _channel_for(member: FrameMember, allowed: tuple[str, ...], has_chat: str | None) -> str | None:
    """The first allowed channel this person can be reached on."""
    reachable = {
        "telegram": has_chat == "telegram",
        "web": has_chat == "web",
        "sms": bool(member.mobile),
        "email": bool(member.email),
        "letter": bool(member.postal_address),
    }
    return next((c for c in allowed if reachable.get(c)), None)


def create_campaign(
    *,
    session: Session,
    name: str,
    survey_key: str,
    design: Design,
    starts_at: datetime,
    ends_at: datetime,
    window: tuple[str, str] = ("09:00", "20:00"),
    timezone: str = "Asia/Shanghai",
    reminder_days: tuple[int, ...] = (2, 5),
) -> Campaign:
    if ends_at <= starts_at:
        raise ValueError("a campaign must end after it starts")
    if len(reminder_days) > 2:
        raise ValueError("at most 2 reminders")
    campaign = Campaign(
        name=name,
        survey_key=survey_key,
        design=design.as_json(),
        starts_at=starts_at,
        ends_at=ends_at,
        window_start=window[0],
        window_end=window[1],
        timezone=timezone,
        reminder_days=json.dumps(list(reminder_days)),
        status="draft",
    )
    session.add(campaign)
    session.flush()
    return campaign


def draw(*, session: Session, campaign: Campaign, now: datetime | None = None) -> int:
    """Draw the campaign's stratified sample and store each member's invitation and
    stratum; members are then quiet for `quiet_days`. Returns the sample size."""
    if campaign.status != "draft":
        raise ValueError(f"campaign {campaign.id} is {campaign.status}: it was drawn already")
    now = now or utcnow()
    design = Design.from_json(campaign.design)
    units = eligible_members(
        session=session,
        population=design.population,
        quiet_since=now - timedelta(days=design.quiet_days),
    )
    drawn = draw_sample(
        units, strata=design.strata, n=design.n, allocation=design.allocation, seed=design.seed
    )
    members = (
        {
            m.id: m
            for m in session.scalars(
                select(FrameMember).where(FrameMember.id.in_([unit_id for unit_id, _ in drawn]))
            )
        }
        if drawn
        else {}
    )
    chats = _chat_channels(session, [m.citizen_id for m in members.values() if m.citizen_id])
    count = 0
    for member_id, stratum in drawn:
        member = members[member_id]
        channel = _channel_for(member, design.channels, chats.get(member.citizen_id or 0))
        state = "pending" if channel else "unreachable"
        session.add(
            Invitation(
                campaign_id=campaign.id,
                member_id=member_id,
                stratum=stratum,
                channel=channel or "none",
                nonce=new_nonce(),
                state=state,
                next_attempt_at=campaign.starts_at,
            )
        )
        member.last_sampled_at = now
        count += 1
    campaign.status = "running"
    session.flush()
    return count


def _chat_channels(session: Session, citizen_ids: list[int]) -> dict[int, str]:
    """The chat channel each citizen can be pushed to (Telegram before the web chat)."""
    from storage.models import ChannelAddress

    found: dict[int, str] = {}
    rows = session.execute(
        select(ChannelAddress.citizen_id, ChannelAddress.channel).where(
            ChannelAddress.citizen_id.in_(citizen_ids), ChannelAddress.unreachable_at.is_(None)
        )
    )
    for citizen_id, channel in rows:
        if channel == "telegram" or citizen_id not in found:
            found[citizen_id] = channel
    return found


def opt_out_member(*, session: Session, member: FrameMember, now: datetime) -> int:
    """Opt a person out of every campaign at once: nothing more is sent to them, not
    even reminders of invitations already delivered. Returns the invitations stopped."""
    member.opted_out_at = now
    result = session.execute(
        update(Invitation)
        .where(Invitation.member_id == member.id, Invitation.state.in_(["pending", "failed"]))
        .values(state="opted_out")
    )
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def find_by_nonce(*, session: Session, nonce: str) -> Invitation | None:
    return session.scalars(select(Invitation).where(Invitation.nonce == nonce)).first()


def running_campaigns(*, session: Session, now: datetime) -> list[Campaign]:
    """Running campaigns; those past their end date are closed on the way."""
    campaigns = list(
        session.scalars(select(Campaign).where(Campaign.status == "running").order_by(Campaign.id))
    )
    open_ones = []
    for campaign in campaigns:
        if _aware(campaign.ends_at) <= now:
            campaign.status, campaign.closed_at = "closed", now
        elif _aware(campaign.starts_at) <= now:
            open_ones.append(campaign)
    return open_ones


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Progress:
    """Counts for one campaign, overall and per stratum."""

    total: int = 0
    states: Counter[str] = field(default_factory=Counter)
    started: int = 0
    completed: int = 0
    opted_out: int = 0
    strata: dict[str, Counter[str]] = field(default_factory=dict)
    # texts sent for the campaign and the SMS segments they were billed as
    sms_messages: int = 0
    sms_segments: int = 0

    def sms_cost(self, per_segment: float) -> float:
        return sms_cost(self.sms_segments, per_segment)

    @property
    def delivered(self) -> int:
        return self.states["sent"]

    @property
    def response_rate(self) -> float:
        return self.completed / self.total if self.total else 0.0


def sms_cost(segments: int, per_segment: float) -> float:
    """What `segments` SMS segments cost at `per_segment` each, to the cent."""
    return round(segments * per_segment, 2)


def progress(*, session: Session, campaign_id: int) -> Progress:
    report = Progress()
    campaign = session.get(Campaign, campaign_id)
    if campaign is not None:
        report.sms_messages, report.sms_segments = campaign.sms_messages, campaign.sms_segments
    rows = session.execute(
        select(
            Invitation.stratum,
            Invitation.state,
            func.count(),
            func.count(Invitation.started_at),
            func.count(Invitation.completed_at),
            func.count(FrameMember.opted_out_at),
        )
        .outerjoin(FrameMember, FrameMember.id == Invitation.member_id)
        .where(Invitation.campaign_id == campaign_id)
        .group_by(Invitation.stratum, Invitation.state)
    )
    for stratum, state, count, started, completed, opted in rows:
        report.total += count
        report.states[state] += count
        report.started += started
        report.completed += completed
        report.opted_out += opted
        per = report.strata.setdefault(stratum, Counter())
        per["invited"] += count
        per[state] += count
        per["started"] += started
        per["completed"] += completed
        per["opted_out"] += opted
    return report
