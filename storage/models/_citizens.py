"""Citizens and the channel addresses they are reached at."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models._base import Base, utcnow


class Citizen(Base):
    """A person talking to the assistant. `public_id` is the pseudonym Rasa sees, so chat
    ids and phone numbers never reach the NLU server or its tracker store."""

    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    language: Mapped[str] = mapped_column(String(5), default="zh")
    phone: Mapped[str | None] = mapped_column(String(32), default=None, info={"personal": "erase"})
    # How sure we are that this is one real person (civic.identity): anonymous (a web
    # session), account (a messaging account), verified_phone; it only ever rises.
    assurance: Mapped[str] = mapped_column(
        String(16), default="anonymous", server_default="anonymous"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    addresses: Mapped[list[ChannelAddress]] = relationship(
        back_populates="citizen", cascade="all, delete-orphan"
    )


class OfferedButton(Base):
    """A button the assistant showed a citizen. A tapped payload counts only if it was
    offered to that citizen; anything else is read as typed text."""

    __tablename__ = "offered_buttons"

    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(String(32), primary_key=True)
    offered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChannelAddress(Base):
    """Where a citizen can be reached: a Telegram chat id, a web-chat session."""

    __tablename__ = "channel_addresses"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True, info={"personal": "unlink"}
    )
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128), info={"personal": "erase"})
    unreachable_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The citizen's last message from this address: WeChat lets an account write freely
    # only within 48 hours of it.
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    citizen: Mapped[Citizen] = relationship(back_populates="addresses")
