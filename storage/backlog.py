"""What waits in each outbox and how far each running campaign has got: read when the
metrics are scraped, so the figures are the database's own, whichever process wrote it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.models import (
    AgencyAlert,
    Campaign,
    DutyMessage,
    Invitation,
    Notification,
    OutboundMessage,
)


@dataclass(frozen=True)
class Backlog:
    outbox: str
    depth: int
    oldest: datetime | None  # when the longest-waiting row was written (UTC)


@dataclass(frozen=True)
class CampaignProgress:
    campaign_id: int
    sent: int
    total: int


def _aware(moment: Any) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def outbox_backlogs(*, session: Session) -> list[Backlog]:
    """Undelivered rows of each outbox and the oldest one's time: notifications,
    duty messages and agency webhooks still pending (retries included), web-chat messages
    not yet fetched, and invitations of running campaigns not yet sent (an invitation is
    waiting from its campaign's start)."""
    queries = {
        "notifications": select(func.count(), func.min(Notification.created_at)).where(
            Notification.status == "pending"
        ),
        "duty_messages": select(func.count(), func.min(DutyMessage.created_at)).where(
            DutyMessage.status == "pending"
        ),
        "agency_alerts": select(func.count(), func.min(AgencyAlert.created_at)).where(
            AgencyAlert.status == "pending"
        ),
        "web_chat": select(func.count(), func.min(OutboundMessage.created_at)).where(
            OutboundMessage.delivered_at.is_(None)
        ),
        "invitations": select(func.count(), func.min(Campaign.starts_at))
        .select_from(Invitation)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(Campaign.status == "running", Invitation.state.in_(("pending", "sending"))),
    }
    found = []
    for outbox, query in queries.items():
        depth, oldest = session.execute(query).one()
        found.append(Backlog(outbox, int(depth or 0), _aware(oldest)))
    return found


def campaign_progress(*, session: Session) -> list[CampaignProgress]:
    """Invitations sent and in all, per running campaign."""
    sent = func.sum(case((Invitation.state == "sent", 1), else_=0))
    rows = session.execute(
        select(Campaign.id, sent, func.count(Invitation.id))
        .join(Invitation, Invitation.campaign_id == Campaign.id, isouter=True)
        .where(Campaign.status == "running")
        .group_by(Campaign.id)
        .order_by(Campaign.id)
    ).all()
    return [CampaignProgress(int(cid), int(done or 0), int(total)) for cid, done, total in rows]
