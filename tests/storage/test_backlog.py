"""storage.backlog: what waits in each outbox and each running campaign's progress, on
SQLite and the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from storage.backlog import Backlog, CampaignProgress, campaign_progress, outbox_backlogs
from storage.models import Campaign, Invitation, Notification, OutboundMessage

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def campaign(session: Session, status: str, states: list[str]) -> Campaign:
    made = Campaign(
        name=f"survey {status}",
        survey_key="satisfaction",
        design="{}",
        starts_at=START,
        ends_at=START + timedelta(days=14),
        status=status,
    )
    session.add(made)
    session.flush()
    session.add_all(
        Invitation(
            campaign_id=made.id,
            stratum="all",
            channel="telegram",
            nonce=f"{status}-{i}",
            state=state,
        )
        for i, state in enumerate(states)
    )
    return made


def test_undelivered_rows_are_counted_from_the_oldest(session: Session) -> None:
    for i, status in enumerate(["pending", "pending", "sent", "failed"]):
        session.add(
            Notification(
                kind="direct",
                body_key="notify.status_changed",
                idempotency_key=f"backlog:{i}",
                status=status,
                created_at=START + timedelta(minutes=10 - i),
            )
        )
    session.add(OutboundMessage(channel="web", address="a", body="{}", created_at=START))
    session.add(
        OutboundMessage(channel="web", address="b", body="{}", created_at=START, delivered_at=START)
    )
    campaign(session, "running", ["pending", "sending", "sent", "unreachable"])
    campaign(session, "draft", ["pending", "pending"])
    session.commit()

    assert outbox_backlogs(session=session) == [
        Backlog("notifications", 2, START + timedelta(minutes=9)),
        Backlog("duty_messages", 0, None),
        Backlog("agency_alerts", 0, None),
        Backlog("web_chat", 1, START),
        Backlog("invitations", 2, START),
    ]


def test_progress_is_per_running_campaign(session: Session) -> None:
    running = campaign(session, "running", ["sent", "sent", "pending", "failed"])
    campaign(session, "closed", ["sent"])
    empty = campaign(session, "running", [])
    session.commit()
    assert campaign_progress(session=session) == [
        CampaignProgress(running.id, sent=2, total=4),
        CampaignProgress(empty.id, sent=0, total=0),
    ]
