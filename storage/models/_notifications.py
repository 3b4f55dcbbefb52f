"""The citizen notification outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class Notification(Base):
    """The outbox: a message to a citizen, written in the same transaction as the change
    it reports and delivered later, at most once per idempotency key."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True, default=None
    )
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"),
        index=True,
        default=None,
        info={"personal": "unlink"},
    )
    kind: Mapped[str] = mapped_column(String(32))
    body_key: Mapped[str] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text, default="{}", info={"personal": "erase"})
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    # pending | sent | failed | unreachable
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
