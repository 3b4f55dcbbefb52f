"""Tickets, their followers, events and event photos, and agency-posted updates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models._base import Base, utcnow


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"), index=True, info={"personal": "unlink"}
    )
    description: Mapped[str] = mapped_column(Text, info={"personal": "redact"})
    language: Mapped[str] = mapped_column(String(5), default="zh")
    category: Mapped[str] = mapped_column(String(64), index=True)
    agency: Mapped[str | None] = mapped_column(String(64), index=True)
    district: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    routed_by: Mapped[str] = mapped_column(String(32), default="nlu")
    address_text: Mapped[str | None] = mapped_column(
        Text, default=None, info={"personal": "coarsen"}
    )
    road: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    photo: Mapped[str | None] = mapped_column(String(255), default=None, info={"personal": "erase"})
    # anonymous | chat | phone: how the agency may contact the citizen.
    contact: Mapped[str] = mapped_column(
        String(16), default="chat", server_default="chat", info={"personal": "erase"}
    )
    lat: Mapped[float | None] = mapped_column(Float, default=None, info={"personal": "coarsen"})
    long: Mapped[float | None] = mapped_column(Float, default=None, info={"personal": "coarsen"})
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # When the due time passed with the ticket still open, and everyone was told.
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The citizen's answer after rectification: fixed or not, and their satisfaction
    # (satisfied | basically_satisfied | dissatisfied), which feeds the agency's score.
    fixed_confirmed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    satisfaction: Mapped[str | None] = mapped_column(String(24), default=None)
    # The reporter's assurance level when they rated (civic.identity).
    satisfaction_assurance: Mapped[str | None] = mapped_column(String(16), default=None)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The desk user who filed it for a caller (the 12345 hotline, a service window);
    # NULL when the citizen filed it themselves.
    filed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency_users.id", ondelete="SET NULL"), index=True, default=None
    )

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketFollower(Base):
    """A citizen who chose to follow an existing ticket instead of filing a duplicate;
    followers receive the ticket's public updates too."""

    __tablename__ = "ticket_followers"
    __table_args__ = (UniqueConstraint("ticket_id", "citizen_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True, info={"personal": "unlink"}
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TicketEvent(Base):
    """One transition or note; a ticket's history is its list of events."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(16), default=None)
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, default=None, info={"personal": "redact"})
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    # A photo the citizen added on their report page (the agency's are in event_photos).
    photo: Mapped[str | None] = mapped_column(String(255), default=None, info={"personal": "erase"})

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class EventPhoto(Base):
    """A photo attached to one ticket event, such as the agency's proof of rectification
    (a stored file reference or an http(s) URL)."""

    __tablename__ = "event_photos"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("ticket_events.id", ondelete="CASCADE"), primary_key=True
    )
    photo: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AgencyUpdate(Base):
    """An update an agency's system posted (Open311 servicerequestupdates), kept so the
    same `update_id` repeated is applied once and answered with the same result."""

    __tablename__ = "agency_updates"
    __table_args__ = (UniqueConstraint("api_key_id", "update_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    update_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_events.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
