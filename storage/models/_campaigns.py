"""The sample frame, survey campaigns and their invitations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class FrameMember(Base):
    """Someone who may be sampled: a bot subscriber (opted in, `citizen_id` set) or a
    household from the evaluation office's registry (`external_id` set). Mobile, e-mail
    and postal address are personal data: never shown to agencies, erased on request."""

    __tablename__ = "frame_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # subscriber | household
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"),
        unique=True,
        default=None,
        info={"personal": "unlink"},
    )
    district: Mapped[str | None] = mapped_column(
        String(64), index=True, default=None, info={"personal": "erase"}
    )
    # Other strata attributes (age_band, gender, income, ...) as a JSON object.
    strata: Mapped[str] = mapped_column(Text, default="{}", info={"personal": "erase"})
    mobile: Mapped[str | None] = mapped_column(String(32), default=None, info={"personal": "erase"})
    email: Mapped[str | None] = mapped_column(String(255), default=None, info={"personal": "erase"})
    postal_address: Mapped[str | None] = mapped_column(
        Text, default=None, info={"personal": "erase"}
    )
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_sampled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Campaign(Base):
    """A survey sent to a stratified random sample on a schedule."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    survey_key: Mapped[str] = mapped_column(String(64))
    # The design as JSON: population filter, strata, allocation, n, seed, channels.
    design: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_start: Mapped[str] = mapped_column(String(5), default="09:00")
    window_end: Mapped[str] = mapped_column(String(5), default="20:00")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    reminder_days: Mapped[str] = mapped_column(String(64), default="[2, 5]")
    # draft | running | closed
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # Texts sent for the campaign (invitations, reminders, follow-ups) and the SMS
    # segments they were billed as (bot.delivery.sms_segments).
    sms_messages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sms_segments: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Invitation(Base):
    """One sampled person in one campaign, with their stratum and the state of the
    invitation and its reminders. A send is claimed (`sending`) in its own committed
    transaction before the request goes out, so a restart knows what was in flight."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id"),
        # the sender's claim: a campaign's invitations in one state, in id order
        Index("ix_invitations_claim", "campaign_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("frame_members.id", ondelete="SET NULL"), index=True
    )
    stratum: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16))  # telegram | web | sms | email | letter
    # A random nonce; the signed token in the link names the invitation by it.
    nonce: Mapped[str] = mapped_column(String(24), unique=True)
    # pending | sending | sent | failed | unreachable | opted_out
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None, index=True
    )
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    # Which message the current claim is for: 0 the invitation, 1.. the reminders.
    sending_round: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
