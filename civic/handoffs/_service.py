"""Handoffs to a person: the queue the evaluation office's staff answer from the desk."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.notifications import enqueue_direct
from storage.models import Handoff, HandoffMessage, utcnow

OPEN = ("waiting", "answered")
STAFF_REPLY = "handoff.staff_reply"


def open_handoff_of(*, session: Session, citizen_id: int) -> Handoff | None:
    return session.scalars(
        select(Handoff).where(Handoff.citizen_id == citizen_id, Handoff.status.in_(OPEN))
    ).first()


def request_handoff(
    *, session: Session, citizen_id: int, language: str, transcript: list[tuple[str, str]]
) -> Handoff:
    """Queue the citizen for a person (once: an open request is reused), with the
    conversation so far as (sender, text) lines."""
    handoff = open_handoff_of(session=session, citizen_id=citizen_id)
    if handoff is not None:
        return handoff
    handoff = Handoff(citizen_id=citizen_id, language=language)
    handoff.messages.extend(HandoffMessage(sender=s, text=t) for s, t in transcript)
    session.add(handoff)
    session.flush()
    return handoff


def add_citizen_message(*, session: Session, handoff: Handoff, text: str) -> HandoffMessage:
    message = HandoffMessage(sender="citizen", text=text)
    handoff.messages.append(message)
    session.flush()
    return message


def staff_reply(*, session: Session, handoff: Handoff, username: str, text: str) -> HandoffMessage:
    """Record a staff member's answer and queue it for the citizen's channel."""
    if handoff.status not in OPEN:
        raise ValueError("this conversation is closed")
    if not text.strip():
        raise ValueError("the reply is empty")
    message = HandoffMessage(sender="staff", staff_username=username, text=text.strip())
    handoff.messages.append(message)
    handoff.status = "answered"
    session.flush()
    enqueue_direct(
        session=session,
        citizen_id=handoff.citizen_id,
        body_key=STAFF_REPLY,
        params={"text": message.text},
        key=f"handoff-message:{message.id}",
    )
    return message


def close_handoff(*, session: Session, handoff: Handoff) -> None:
    handoff.status = "closed"
    handoff.closed_at = utcnow()


def handoff_queue(*, session: Session, limit: int = 100) -> list[Handoff]:
    """Open requests, waiting ones first, oldest first."""
    return list(
        session.scalars(
            select(Handoff)
            .where(Handoff.status.in_(OPEN))
            .order_by(Handoff.status.desc(), Handoff.created_at)
            .limit(limit)
        )
    )
