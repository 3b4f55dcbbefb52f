"""The agency side: desk users and sessions, API keys, agency channels and webhook alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models._base import Base, utcnow


class AgencyUser(Base):
    """Someone working the agency desk. `agency` NULL is the evaluation office's staff,
    who see every ticket and work the triage queue."""

    __tablename__ = "agency_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(128))
    agency: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    # officer | supervisor | staff
    role: Mapped[str] = mapped_column(String(16))
    # Comma-separated district codes an officer is limited to; NULL = the whole agency.
    districts: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The Telegram account that acts for this user in the agency's duty group, and the
    # digest of a one-time code that links one (sent to the bot as "/link CODE").
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, default=None)
    telegram_link_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    telegram_link_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )

    @property
    def district_codes(self) -> frozenset[str]:
        """The districts this user is limited to; empty means no district limit."""
        return frozenset(d for d in (self.districts or "").split(",") if d)


class StaffSession(Base):
    """A desk login. Only the SHA-256 of the token is stored, so a leaked table logs no
    one in."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("agency_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    user: Mapped[AgencyUser] = relationship()


class ApiKey(Base):
    """A key for an agency's own system (Open311). `agency` NULL is an evaluation-office
    integration that may read every ticket."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agency: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class AgencyChannel(Base):
    """Where an agency hears about new tickets: a Telegram group and/or a webhook."""

    __tablename__ = "agency_channels"

    agency: Mapped[str] = mapped_column(String(64), primary_key=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(64), default=None)
    webhook_url: Mapped[str | None] = mapped_column(String(512), default=None)
    webhook_secret: Mapped[str | None] = mapped_column(String(255), default=None)


class AgencyAlert(Base):
    """An outbox row telling an agency's own system (its webhook) that a ticket reached
    it; delivered by the scheduler's agency-webhooks job, retried with backoff."""

    __tablename__ = "agency_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
