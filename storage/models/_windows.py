"""Public service hall windows and citizens' on-the-spot ratings of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class ServiceWindow(Base):
    """A counter at a public service hall where citizens rate the service on the spot."""

    __tablename__ = "service_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    hall: Mapped[str] = mapped_column(String(128))
    number: Mapped[str] = mapped_column(String(16))
    # Signed QR tokens carry this serial; revoking the window's codes raises it.
    token_serial: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WindowRating(Base):
    """One citizen's rating of one window on one day (Asia/Shanghai calendar day)."""

    __tablename__ = "window_ratings"
    __table_args__ = (UniqueConstraint("window_id", "citizen_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_id: Mapped[int] = mapped_column(
        ForeignKey("service_windows.id", ondelete="CASCADE"), index=True
    )
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"), index=True, info={"personal": "unlink"}
    )
    day: Mapped[str] = mapped_column(String(10))
    scale: Mapped[str] = mapped_column(String(16))  # stars | hangzhou
    # "basically_satisfied" is 19 characters.
    score: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str | None] = mapped_column(Text, default=None, info={"personal": "redact"})
    # The rater's assurance level when they rated (civic.identity).
    assurance: Mapped[str] = mapped_column(
        String(16), default="anonymous", server_default="anonymous"
    )
    # Held for review (the window got ratings faster than it serves people): kept out
    # of every figure until the evaluation office releases it.
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
