"""Delivering agency alerts to the agencies' own systems as signed webhooks.

Each POST carries a JSON body (the event and the ticket as an Open311 service request,
without any citizen data) and two headers: `X-Civic-Timestamp` (Unix seconds) and
`X-Civic-Signature: sha256=<hex>`, the HMAC-SHA256 of "<timestamp>.<body>" under the
agency's webhook secret. A receiver recomputes it (`verify_signature`), compares in constant
time and rejects timestamps older than five minutes, so unsigned, altered or replayed
deliveries are recognisable. Anything but a 2xx is retried with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime

import httpx
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.open311 import FULL, request_record
from storage.agency_alerts import due_alerts, mark_delivered, mark_failed_attempt
from storage.models import AgencyAlert, AgencyChannel, Ticket, utcnow

log = logging.getLogger(__name__)

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: datetime | None = None
) -> bool:
    """What a receiver checks: a fresh timestamp and the right signature."""
    if not timestamp.isdigit():
        return False
    age = (now or utcnow()).timestamp() - int(timestamp)
    if abs(age) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def _payload(alert: AgencyAlert, ticket: Ticket, profile: Profile) -> bytes:
    body = {
        "event": alert.event,
        "alert_id": alert.id,
        # The agency's own system: what a read with its api_key shows.
        "service_request": request_record(ticket, profile, profile.timezone, view=FULL),
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


def _post(client: httpx.Client, channel: AgencyChannel, body: bytes, now: datetime) -> str | None:
    """None when the agency's system accepted it, else why not."""
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Civic-Timestamp": str(timestamp),
        "X-Civic-Signature": sign(channel.webhook_secret or "", timestamp, body),
    }
    try:
        response = client.post(str(channel.webhook_url), content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}"
    return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


def deliver_alerts(
    session: Session, profile: Profile, client: httpx.Client, limit: int = 50
) -> tuple[int, int]:
    """Send the due alerts; returns (delivered, failed attempts). The caller commits."""
    delivered = failed = 0
    now = utcnow()
    for alert in due_alerts(session=session, now=now, limit=limit):
        channel = session.get(AgencyChannel, alert.agency)
        ticket = session.get(Ticket, alert.ticket_id)
        if channel is None or not channel.webhook_url or ticket is None:
            mark_failed_attempt(alert=alert, error="no webhook registered", now=now)
            failed += 1
            continue
        error = _post(client, channel, _payload(alert, ticket, profile), now)
        if error is None:
            mark_delivered(alert=alert, now=now)
            delivered += 1
        else:
            log.warning("agency alert %d to %s: %s", alert.id, alert.agency, error)
            mark_failed_attempt(alert=alert, error=error, now=now)
            failed += 1
    return delivered, failed
