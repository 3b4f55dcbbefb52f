"""Retention: personal data that has done its work is not kept for ever. Web-chat
messages, handoff transcripts and the notifications that carried staff replies and notes
go once they are older than the retention period (`CIVIC_RETENTION_DAYS`); so do photos
that no ticket or event holds (a complaint given up after its photo was sent)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from storage.media import MediaStore
from storage.models import (
    EventPhoto,
    Handoff,
    HandoffMessage,
    Notification,
    OutboundMessage,
    Ticket,
    utcnow,
)


def purge_expired(
    *, session: Session, keep_for: timedelta, now: datetime | None = None
) -> dict[str, int]:
    """Delete what is older than `keep_for`; returns how many rows went, per table.
    A notification still waiting to be sent stays: it is not done yet."""
    cutoff = (now or utcnow()) - keep_for
    finished = select(Handoff.id).where(Handoff.status == "closed", Handoff.closed_at < cutoff)
    statements = {
        "outbound_messages": delete(OutboundMessage).where(OutboundMessage.created_at < cutoff),
        "handoff_messages": delete(HandoffMessage).where(
            or_(HandoffMessage.created_at < cutoff, HandoffMessage.handoff_id.in_(finished))
        ),
        "handoffs": delete(Handoff).where(Handoff.id.in_(finished)),
        "notifications": delete(Notification).where(
            Notification.created_at < cutoff, Notification.status != "pending"
        ),
    }
    counts = {}
    for table, statement in statements.items():
        result = session.execute(statement.execution_options(synchronize_session=False))
        counts[table] = int(getattr(result, "rowcount", 0) or 0)
    return counts


def purge_unheld_photos(
    *, session: Session, media: MediaStore, keep_for: timedelta, now: datetime | None = None
) -> int:
    """Delete stored photos older than `keep_for` that no ticket or event holds; returns
    how many. Younger ones may still be on their way into a complaint."""
    old = media.stored_before((now or utcnow()) - keep_for)
    if not old:
        return 0
    held = set(session.scalars(select(Ticket.photo).where(Ticket.photo.in_(old))))
    held |= set(session.scalars(select(EventPhoto.photo).where(EventPhoto.photo.in_(old))))
    return sum(media.delete(name) for name in old if name not in held)
