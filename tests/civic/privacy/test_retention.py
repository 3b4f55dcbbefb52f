"""Retention, on SQLite and PostgreSQL: web-chat messages, handoff transcripts, settled
notifications and photos no ticket holds go after the retention period; recent ones and
anything still in use stay."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.privacy import purge_expired, purge_unheld_photos
from civic.routing import RoutingDecision
from civic.tickets import create_ticket
from storage.citizens import get_or_create_citizen
from storage.media import MediaStore
from storage.models import (
    EventPhoto,
    Handoff,
    HandoffMessage,
    Notification,
    OutboundMessage,
    TicketEvent,
    utcnow,
)

KEEP = timedelta(days=180)
NOW = utcnow()
OLD = NOW - timedelta(days=181)
RECENT = NOW - timedelta(days=179)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)


def _notification(citizen_id: int, key: str, status: str, created: object) -> Notification:
    return Notification(
        citizen_id=citizen_id,
        kind="direct",
        body_key="handoff.staff_reply",
        params='{"text": "we will call you"}',
        idempotency_key=key,
        status=status,
        created_at=created,
    )


def test_old_messages_transcripts_and_notifications_go_and_recent_ones_stay(
    session: Session,
) -> None:
    citizen = get_or_create_citizen(session=session, channel="web", address="s-1")
    session.add_all(
        [
            OutboundMessage(channel="web", address="s-1", body="old", created_at=OLD),
            OutboundMessage(channel="web", address="s-1", body="recent", created_at=RECENT),
            _notification(citizen.id, "old-sent", "sent", OLD),
            _notification(citizen.id, "old-pending", "pending", OLD),
            _notification(citizen.id, "recent-sent", "sent", RECENT),
        ]
    )
    closed_long_ago = Handoff(citizen_id=citizen.id, status="closed", created_at=OLD, closed_at=OLD)
    closed_long_ago.messages.append(HandoffMessage(sender="citizen", text="old", created_at=OLD))
    ongoing = Handoff(citizen_id=citizen.id, status="answered", created_at=OLD)
    ongoing.messages.extend(
        [
            HandoffMessage(sender="citizen", text="said long ago", created_at=OLD),
            HandoffMessage(sender="citizen", text="said lately", created_at=RECENT),
        ]
    )
    recently_closed = Handoff(
        citizen_id=citizen.id, status="closed", created_at=OLD, closed_at=RECENT
    )
    recently_closed.messages.append(
        HandoffMessage(sender="staff", text="closing words", created_at=RECENT)
    )
    session.add_all([closed_long_ago, ongoing, recently_closed])
    session.commit()

    counts = purge_expired(session=session, keep_for=KEEP, now=NOW)
    session.commit()

    assert counts == {
        "outbound_messages": 1,
        "handoff_messages": 2,
        "handoffs": 1,
        "notifications": 1,
    }
    assert session.scalars(select(OutboundMessage.body)).all() == ["recent"]
    assert sorted(session.scalars(select(HandoffMessage.text))) == ["closing words", "said lately"]
    assert sorted(session.scalars(select(Handoff.status))) == ["answered", "closed"]
    assert sorted(session.scalars(select(Notification.idempotency_key))) == [
        "old-pending",
        "recent-sent",
    ]
    assert purge_expired(session=session, keep_for=KEEP, now=NOW) == dict.fromkeys(counts, 0)


def _aged(media: MediaStore, age: timedelta) -> str:
    name = media.save(PNG)
    assert name is not None
    moment = (NOW - age).timestamp()
    os.utime(media.directory / name, (moment, moment))
    return name


def test_old_photos_no_ticket_holds_go(session: Session, tmp_path: Path) -> None:
    media = MediaStore(tmp_path / "media")
    abandoned = _aged(media, timedelta(days=181))
    on_a_ticket, on_an_event = _aged(media, timedelta(days=400)), _aged(media, timedelta(days=400))
    just_sent = _aged(media, timedelta(days=1))
    ticket = create_ticket(
        session=session,
        citizen_id=None,
        description="路灯不亮",
        language="zh",
        decision=RoutingDecision(
            category="street-light", agency="urban-management", district="xihu", confidence=1.0
        ),
        ticket_prefix="HZ",
        due_at=None,
        photo=on_a_ticket,
    )
    event = TicketEvent(actor="user:li", from_status="routed", to_status="rectified")
    ticket.events.append(event)
    session.flush()
    session.add(EventPhoto(event_id=event.id, photo=on_an_event))
    session.commit()

    assert purge_unheld_photos(session=session, media=media, keep_for=KEEP, now=NOW) == 1

    left = {p.name for p in media.directory.iterdir()}
    assert left == {on_a_ticket, on_an_event, just_sent}
    assert abandoned not in left
    assert (
        purge_unheld_photos(session=session, media=MediaStore(tmp_path / "none"), keep_for=KEEP)
        == 0
    )
