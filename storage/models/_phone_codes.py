"""One-time codes that prove a phone number (civic.identity)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class PhoneCode(Base):
    """A phone verification in progress, then its record. It waits for the number
    (`phone_digest` unset), then for the code sent to it, until it is closed.

    The code itself is never stored, only its HMAC; the number is kept only while its
    code may still be typed (it moves to the citizen when proven). Its HMAC stays, so the
    codes sent to one number in the last hour can be counted."""

    __tablename__ = "phone_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    phone: Mapped[str | None] = mapped_column(String(32), default=None, info={"personal": "erase"})
    phone_digest: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    code_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    wrong_tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # when a code went out (unset while waiting for the number)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # verified | contact | locked | expired | unsent | superseded | erased
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
