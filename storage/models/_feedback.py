"""Praise and suggestions: feedback that is not a complaint."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class Feedback(Base):
    """A citizen's praise or suggestion, recorded against the agency (and district,
    ticket or service window) it names. Praise counts for the agency; a suggestion is
    routed to it and has no deadline. Neither is a ticket."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # praise | suggestion
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"),
        index=True,
        default=None,
        info={"personal": "unlink"},
    )
    text: Mapped[str] = mapped_column(Text, info={"personal": "redact"})
    language: Mapped[str] = mapped_column(String(5), default="zh")
    agency: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    district: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), default=None
    )
    # The author's assurance level when they wrote it (civic.identity).
    assurance: Mapped[str] = mapped_column(String(16), default="anonymous")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # When someone at the agency read it (the desk's suggestions inbox).
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
