"""What the chat channels keep: handled update keys, long button payloads, queued messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class ProcessedUpdate(Base):
    """Keys of channel updates already handled, so a repeated delivery is handled once."""

    __tablename__ = "processed_updates"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ButtonPayload(Base):
    """Button payloads too long for Telegram's 64-byte callback_data, keyed by a digest."""

    __tablename__ = "button_payloads"

    digest: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboundMessage(Base):
    """Messages waiting for a channel that cannot be pushed to directly (the web chat
    polls for them)."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128), index=True, info={"personal": "erase"})
    body: Mapped[str] = mapped_column(Text, info={"personal": "erase"})
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
