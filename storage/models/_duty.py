"""Duty-group messages to agencies on Telegram and the Reroute prompts awaiting a reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class DutyMessage(Base):
    """An outbox row for an agency's people on Telegram: a new ticket posted to the duty
    group (with Accept / Reroute buttons), an overdue ticket escalated to the group and
    to each linked supervisor, or a late improvement notice escalated the same way (then
    `notice_id` is set and `ticket_id` is NULL). Written in the same transaction as the
    change it reports; delivered by the scheduler's duty-messages job."""

    __tablename__ = "duty_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True, default=None
    )
    notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("notices.id", ondelete="CASCADE"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(16))  # new_ticket | escalation | notice_late
    chat_id: Mapped[str] = mapped_column(String(64))
    # The supervisor a private escalation is for; NULL for the duty group.
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency_users.id", ondelete="SET NULL"), default=None
    )
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    # pending | sent | failed | unreachable
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # Telegram's id of the posted message, to edit it later.
    message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class DutyPrompt(Base):
    """The bot's question to a duty officer who tapped Reroute: their reply to that message
    (chat_id, message_id) is the reason, and sends the ticket back to triage."""

    __tablename__ = "duty_prompts"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int] = mapped_column(BigInteger)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("agency_users.id", ondelete="CASCADE"))
    # The group post whose buttons were tapped, edited once the ticket has gone.
    post_message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
