"""Handoffs to the evaluation office's staff and their transcripts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models._base import Base, utcnow


class Handoff(Base):
    """A citizen's request to talk to a person: queued for the evaluation office's staff
    until closed. While it is open the citizen's messages go to the staff, not to Rasa."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True, info={"personal": "unlink"}
    )
    # waiting (nobody answered yet) | answered | closed
    status: Mapped[str] = mapped_column(String(16), index=True, default="waiting")
    language: Mapped[str] = mapped_column(String(5), default="zh")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    messages: Mapped[list[HandoffMessage]] = relationship(
        order_by="HandoffMessage.id", cascade="all, delete-orphan"
    )


class HandoffMessage(Base):
    """One line of a handoff's transcript: the conversation before it, then both sides."""

    __tablename__ = "handoff_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE"), index=True
    )
    sender: Mapped[str] = mapped_column(String(16))  # citizen | assistant | staff
    staff_username: Mapped[str | None] = mapped_column(String(64), default=None)
    text: Mapped[str] = mapped_column(Text, info={"personal": "erase"})
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
