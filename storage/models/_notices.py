"""Performance improvement notices: the evaluation office tells an agency about a problem
citizens raise (with its evidence), the agency commits publicly to milestones, reports
progress and rectification, and the office verifies it; the citizens who raised the
problem are told and asked whether it is better."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models._base import Base, utcnow


class Notice(Base):
    """One notice, from the rule's proposal to its verification. `status` moves
    proposed → issued → committed → rectified → verified, or proposed → dismissed;
    `escalated_at` is set when a step is late. The texts staff write are kept in both
    languages; `evidence` is the figures that proposed it, as JSON, frozen when proposed."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("rule", "agency", "subject", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # "GZ-2027-001"
    agency: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(64))  # the profile rule that proposed it
    # What the rule is about: a codebook code, or an indicator ("satisfaction", ...).
    subject: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))  # the year of the evidence, "2026"
    district: Mapped[str | None] = mapped_column(String(64), default=None)
    # proposed | dismissed | issued | committed | rectified | verified
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    evidence: Mapped[str] = mapped_column(Text, default="{}")
    problem_zh: Mapped[str] = mapped_column(Text, default="")
    problem_en: Mapped[str] = mapped_column(Text, default="")
    commitment_zh: Mapped[str] = mapped_column(Text, default="")
    commitment_en: Mapped[str] = mapped_column(Text, default="")
    response_due: Mapped[date | None] = mapped_column(Date, default=None)
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    rectified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    milestones: Mapped[list[NoticeMilestone]] = relationship(
        order_by="NoticeMilestone.position", cascade="all, delete-orphan", passive_deletes=True
    )
    events: Mapped[list[NoticeEvent]] = relationship(
        order_by="NoticeEvent.id", cascade="all, delete-orphan", passive_deletes=True
    )


class NoticeMilestone(Base):
    """A step of the agency's public commitment, with its date, when it was done, and
    when it was escalated for being late (once)."""

    __tablename__ = "notice_milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    due: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class NoticeEvent(Base):
    """The notice's history and audit trail: who did what, when, with the note they wrote
    in each language. `public` events are shown on the notice's public page (never who
    did them); the rest (a proposal dismissed, an escalation) only on the desk."""

    __tablename__ = "notice_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency_users.id", ondelete="SET NULL"), default=None
    )
    # proposed | dismissed | issued | committed | progress | rectified | returned |
    # verified | escalated
    action: Mapped[str] = mapped_column(String(16))
    note_zh: Mapped[str] = mapped_column(Text, default="")
    note_en: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=True)


class NoticeLink(Base):
    """A citizen whose ticket or comment is linked to a notice (by code, category,
    district and period), the messages they were sent about it, and their one-tap answer
    to each ("better", "same", "worse")."""

    __tablename__ = "notice_links"
    __table_args__ = (UniqueConstraint("notice_id", "citizen_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    # NULL once the citizen asked to be forgotten: the answers stay, unlinked.
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"), index=True, info={"personal": "unlink"}
    )
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), default=None
    )
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    committed_answer: Mapped[str | None] = mapped_column(String(16), default=None)
    committed_answered_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
    verified_answer: Mapped[str | None] = mapped_column(String(16), default=None)
    verified_answered_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
