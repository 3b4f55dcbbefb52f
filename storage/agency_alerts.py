"""The agencies' outbox: a ticket routed to an agency that registered a webhook queues
one alert, in the same transaction as the routing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage import outbox
from storage.models import AgencyAlert, AgencyChannel, Ticket

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=15)  # longer than a batch: 50 posts of at most 10 s each
RETRIES = outbox.RetryPolicy(
    max_attempts=MAX_ATTEMPTS, first_delay=FIRST_RETRY, max_delay=MAX_RETRY, error_length=500
)


def enqueue_routed_alert(*, session: Session, ticket: Ticket, event_id: int) -> AgencyAlert | None:
    """Queue "ticket.routed" for the ticket's agency when it has a webhook; once per event."""
    if ticket.agency is None:
        return None
    channel = session.get(AgencyChannel, ticket.agency)
    if channel is None or not channel.webhook_url:
        return None
    key = f"routed:{event_id}:{ticket.agency}"
    if outbox.queued(session=session, model=AgencyAlert, keys=[key]):
        return None
    alert = AgencyAlert(
        agency=ticket.agency, ticket_id=ticket.id, event="ticket.routed", idempotency_key=key
    )
    session.add(alert)
    session.flush()
    return alert


def due_alerts(*, session: Session, now: datetime, limit: int = 50) -> list[AgencyAlert]:
    return outbox.take_due(session=session, model=AgencyAlert, now=now, limit=limit)


def claim_alerts(
    *, session: Session, now: datetime, limit: int = 50, lease: timedelta = LEASE
) -> list[AgencyAlert]:
    """The due alerts, leased to this deliverer (storage/outbox.py): commit, then post."""
    return outbox.claim_due(session=session, model=AgencyAlert, now=now, limit=limit, lease=lease)


def reclaim_alert(*, session: Session, alert_id: int, lease: datetime) -> AgencyAlert | None:
    """The alert, if still leased to us: begins the transaction recording its outcome."""
    return outbox.reclaim(session=session, model=AgencyAlert, row_id=alert_id, lease=lease)


def mark_delivered(*, alert: AgencyAlert, now: datetime | None = None) -> None:
    outbox.mark_sent(row=alert, now=now)


def mark_failed_attempt(*, alert: AgencyAlert, error: str, now: datetime | None = None) -> None:
    """Retry later, waiting twice as long each time; give up after MAX_ATTEMPTS."""
    outbox.mark_failed_attempt(row=alert, policy=RETRIES, error=error, now=now)
