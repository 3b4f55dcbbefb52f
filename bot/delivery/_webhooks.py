"""Delivering agency alerts to the agencies' own systems as signed webhooks.

Each POST carries a JSON body (the event and the ticket as an Open311 service request,
without any citizen data) and two headers: `X-Civic-Timestamp` (Unix seconds) and
`X-Civic-Signature: sha256=<hex>`, the HMAC-SHA256 of "<timestamp>.<body>" under the
agency's webhook secret. A receiver recomputes it (`verify_signature`), compares in constant
time and rejects timestamps older than five minutes, so unsigned, altered or replayed
deliveries are recognisable. Anything but a 2xx is retried with backoff.

The due alerts are claimed with a lease and committed before the first POST, and each
outcome is recorded in a short transaction of its own (storage/outbox.py): no database
lock is held while an agency's system answers, and two deliverers never post the same
alert.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.open311 import FULL, request_record
from storage.agency_alerts import claim_alerts, mark_delivered, mark_failed_attempt, reclaim_alert
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


def _post(client: httpx.Client, url: str, secret: str, body: bytes, now: datetime) -> str | None:
    """None when the agency's system accepted it, else why not."""
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Civic-Timestamp": str(timestamp),
        "X-Civic-Signature": sign(secret, timestamp, body),
    }
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}"
    return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


@dataclass(frozen=True)
class _Post:
    alert_id: int
    agency: str
    lease: datetime
    url: str = ""
    secret: str = ""
    body: bytes = b""


def _claim(session: Session, profile: Profile, now: datetime, limit: int) -> list[_Post]:
    posts = []
    for alert in claim_alerts(session=session, now=now, limit=limit):
        channel = session.get(AgencyChannel, alert.agency)
        ticket = session.get(Ticket, alert.ticket_id)
        post = _Post(alert.id, alert.agency, alert.next_attempt_at)
        if channel is not None and channel.webhook_url and ticket is not None:
            body = _payload(alert, ticket, profile)
            url, secret = str(channel.webhook_url), channel.webhook_secret or ""
            post = _Post(alert.id, alert.agency, alert.next_attempt_at, url, secret, body)
        posts.append(post)
    return posts


def _record(session: Session, post: _Post, error: str | None) -> str:
    """Record one outcome in its own transaction: "delivered", "failed" or "lost"."""
    alert = reclaim_alert(session=session, alert_id=post.alert_id, lease=post.lease)
    if alert is None:
        outcome = "lost"  # our lease ran out and another deliverer has it
    elif error is None:
        mark_delivered(alert=alert, now=utcnow())
        outcome = "delivered"
    else:
        mark_failed_attempt(alert=alert, error=error, now=utcnow())
        outcome = "failed"
    session.commit()
    return outcome


def deliver_alerts(
    session: Session, profile: Profile, client: httpx.Client, limit: int = 50
) -> tuple[int, int]:
    """Send the due alerts; returns (delivered, failed attempts). Commits the claim
    before the first POST and each outcome right after its POST."""
    posts = _claim(session, profile, utcnow(), limit)
    session.commit()
    counts = {"delivered": 0, "failed": 0, "lost": 0}
    for post in posts:
        error: str | None = "no webhook registered"
        if post.url:
            error = _post(client, post.url, post.secret, post.body, utcnow())
        if error is not None:
            log.warning("agency alert %d to %s: %s", post.alert_id, post.agency, error)
        counts[_record(session, post, error)] += 1
    return counts["delivered"], counts["failed"]
