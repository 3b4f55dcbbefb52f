"""The agencies' outbox: a ticket routed to an agency that registered a webhook queues
one alert, in the same transaction as the routing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AgencyAlert, AgencyChannel, Ticket, utcnow

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)


def enqueue_routed_alert(*, session: Session, ticket: Ticket, event_id: int) -> AgencyAlert | None:
    """Queue "ticket.routed" for the ticket's agency when it has a webhook; once per event."""
    if ticket.agency is None:
        return None
    channel = session.get(AgencyChannel, ticket.agency)
    if channel is None or not channel.webhook_url:
        return None
    key = f"routed:{event_id}:{ticket.agency}"
    if session.scalars(select(AgencyAlert.id).where(AgencyAlert.idempotency_key == key)).first():
        return None
    alert = AgencyAlert(
        agency=ticket.agency, ticket_id=ticket.id, event="ticket.routed", idempotency_key=key
    )
    session.add(alert)
    session.flush()
    return alert


def due_alerts(*, session: Session, now: datetime, limit: int = 50) -> list[AgencyAlert]:
    query = (
        select(AgencyAlert)
        .where(AgencyAlert.status == "pending", AgencyAlert.next_attempt_at <= now)
        .order_by(AgencyAlert.next_attempt_at, AgencyAlert.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def mark_delivered(*, alert: AgencyAlert, now: datetime | None = None) -> None:
    alert.status = "sent"
    alert.attempts += 1
    alert.sent_at = now or utcnow()
    alert.last_error = None


def mark_failed_attempt(*, alert: AgencyAlert, error: str, now: datetime | None = None) -> None:
    """Retry later, waiting twice as long each time; give up after MAX_ATTEMPTS."""
    alert.attempts += 1
    alert.last_error = error[:500]
    if alert.attempts >= MAX_ATTEMPTS:
        alert.status = "failed"
        return
    delay = min(FIRST_RETRY * 2 ** (alert.attempts - 1), MAX_RETRY)
    alert.next_attempt_at = (now or utcnow()) + delay
