"""Survey definitions, responses and answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class SurveyDefinition(Base):
    """A survey as YAML, loaded from the profile or uploaded through the admin API, and
    checked on the way in. `version` grows with each change; responses keep theirs."""

    __tablename__ = "survey_definitions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16), default="profile")  # profile | admin
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SurveyResponse(Base):
    """One person's answers to one survey, kept server-side so they can stop and come
    back. Invited responses have `invitation_id`; open-link ones are self-selected and
    kept out of weighted scores."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_key: Mapped[str] = mapped_column(String(64), index=True)
    survey_version: Mapped[int] = mapped_column(Integer, default=1)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="SET NULL"), unique=True, default=None
    )
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"),
        index=True,
        default=None,
        info={"personal": "unlink"},
    )
    self_selected: Mapped[bool] = mapped_column(Boolean, default=False)
    # The respondent's assurance level: invited when they came with an invitation token.
    assurance: Mapped[str] = mapped_column(
        String(16), default="anonymous", server_default="anonymous"
    )
    stratum: Mapped[str | None] = mapped_column(String(255), default=None)
    language: Mapped[str] = mapped_column(String(5), default="zh")
    # The path of answered steps as a JSON list of step ids, for "back".
    path: Mapped[str] = mapped_column(Text, default="[]")
    # in_progress | completed
    status: Mapped[str] = mapped_column(String(16), default="in_progress", index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class SurveyAnswer(Base):
    """One answer: to a question, for one agency when the question is in an agency block.
    `value` is the option code, the number, or the typed text; NULL means skipped."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("response_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True
    )
    # The step id: the question id, or "<question>@<agency>" inside an agency block.
    step: Mapped[str] = mapped_column(String(160))
    question: Mapped[str] = mapped_column(String(64), index=True)
    agency: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    value: Mapped[str | None] = mapped_column(Text, default=None, info={"personal": "redact"})
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
