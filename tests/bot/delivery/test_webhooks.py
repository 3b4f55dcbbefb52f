"""Agency webhooks: a routed ticket reaches the agency's own system as a signed POST, over
real HTTP to a local receiver; failures are retried with backoff; receivers can tell
forged, altered and stale deliveries apart; two deliverers on PostgreSQL post each alert
once, and the job holds no write transaction while an agency answers."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery import deliver_alerts, sign, verify_signature
from bot.delivery._scheduled import agency_webhooks
from civic.city import Profile
from civic.routing import RoutingDecision
from civic.tickets import create_ticket
from storage.db import engine_for, migrate, session_factory, session_scope
from storage.models import AgencyAlert, AgencyChannel, utcnow

SECRET = "s3cret-for-tests"


class Receiver:
    """A local HTTP server standing for an agency's system; answers with `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[dict[str, Any]] = []
        self.on_post: Callable[[], None] = lambda: None  # runs before the answer
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.on_post()
                receiver.received.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()


def route_a_ticket(session: Session, profile: Profile, agency: str = "water") -> str:
    ticket = create_ticket(
        session=session,
        citizen_id=None,
        description="停水一天了",
        language="zh",
        decision=RoutingDecision("water-outage", agency, "xihu", 0.9),
        ticket_prefix="HZ",
        due_at=None,
    )
    session.commit()
    return str(ticket.number)


def test_a_routed_ticket_is_posted_signed_to_the_agency(
    session: Session, profile: Profile, receiver: Receiver
) -> None:
    session.add(AgencyChannel(agency="water", webhook_url=receiver.url, webhook_secret=SECRET))
    session.commit()
    number = route_a_ticket(session, profile)
    with httpx.Client() as client:
        assert deliver_alerts(session, profile, client) == (1, 0)
    session.commit()
    [delivery] = receiver.received
    body, headers = delivery["body"], delivery["headers"]
    assert verify_signature(
        SECRET, headers["X-Civic-Timestamp"], body, headers["X-Civic-Signature"]
    )
    payload = json.loads(body)
    assert payload["event"] == "ticket.routed"
    assert payload["service_request"]["service_request_id"] == number
    assert payload["service_request"]["agency_responsible"] == "Water Affairs Bureau"
    # Nothing is sent twice.
    with httpx.Client() as client:
        assert deliver_alerts(session, profile, client) == (0, 0)
    assert len(receiver.received) == 1


def test_an_agency_without_a_webhook_gets_no_alert(session: Session, profile: Profile) -> None:
    route_a_ticket(session, profile, agency="health")
    assert session.scalars(select(AgencyAlert)).all() == []


def test_a_failing_receiver_is_retried_with_backoff(
    session: Session, profile: Profile, receiver: Receiver
) -> None:
    session.add(AgencyChannel(agency="water", webhook_url=receiver.url, webhook_secret=SECRET))
    session.commit()
    route_a_ticket(session, profile)
    receiver.status = 503
    with httpx.Client() as client:
        assert deliver_alerts(session, profile, client) == (0, 1)
    session.commit()
    alert = session.scalars(select(AgencyAlert)).one()
    assert (alert.status, alert.attempts, alert.last_error) == ("pending", 1, "HTTP 503")
    due = alert.next_attempt_at
    due = due if due.tzinfo else due.replace(tzinfo=UTC)  # SQLite returns naive UTC
    assert due > utcnow() + timedelta(seconds=25)
    # Not due yet: nothing is tried; once due, it goes through.
    with httpx.Client() as client:
        assert deliver_alerts(session, profile, client) == (0, 0)
    alert.next_attempt_at = utcnow() - timedelta(seconds=1)
    session.commit()
    receiver.status = 204
    with httpx.Client() as client:
        assert deliver_alerts(session, profile, client) == (1, 0)
    assert len(receiver.received) == 2


def test_receivers_can_reject_forged_altered_and_stale_deliveries() -> None:
    now = utcnow()
    stamp = int(now.timestamp())
    body = b'{"event":"ticket.routed"}'
    good = sign(SECRET, stamp, body)
    assert verify_signature(SECRET, str(stamp), body, good, now=now) is True
    assert verify_signature("another secret", str(stamp), body, good, now=now) is False
    assert verify_signature(SECRET, str(stamp), body + b" ", good, now=now) is False
    stale = now + timedelta(minutes=6)
    assert verify_signature(SECRET, str(stamp), body, good, now=stale) is False
    assert verify_signature(SECRET, "yesterday", body, good, now=now) is False


def _route_tickets(url: str, profile: Profile, receiver: Receiver, count: int) -> None:
    with session_factory(url)() as session:
        session.add(AgencyChannel(agency="water", webhook_url=receiver.url, webhook_secret=SECRET))
        session.commit()
        for _ in range(count):
            route_a_ticket(session, profile)


def test_two_deliverers_on_postgresql_post_each_alert_once(
    postgres_url: str, profile: Profile, receiver: Receiver
) -> None:
    _route_tickets(postgres_url, profile, receiver, 12)
    receiver.on_post = lambda: time.sleep(0.02)  # posts overlap the other's claims
    totals: list[tuple[int, int]] = []

    def deliverer() -> None:
        with session_factory(postgres_url, writes=True)() as session, httpx.Client() as client:
            while (done := deliver_alerts(session, profile, client, limit=3)) != (0, 0):
                totals.append(done)

    threads = [threading.Thread(target=deliverer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = Counter(json.loads(r["body"])["alert_id"] for r in receiver.received)
    with session_factory(postgres_url)() as session:
        alerts = session.scalars(select(AgencyAlert)).all()
    assert ids == {alert.id: 1 for alert in alerts} and len(alerts) == 12
    assert {alert.status for alert in alerts} == {"sent"}
    assert sum(delivered for delivered, _ in totals) == 12


def test_the_job_holds_no_write_lock_while_an_agency_answers(
    tmp_path: Path, profile: Profile, receiver: Receiver
) -> None:
    """While each POST waits for its answer, another connection writes to the database
    (as APScheduler's job store does); it gets its turn without waiting for the POST."""
    url = f"sqlite:///{tmp_path / 'civic.db'}"
    migrate(url)
    _route_tickets(url, profile, receiver, 2)
    others: list[str] = []

    def another_writer() -> None:
        db = sqlite3.connect(tmp_path / "civic.db", timeout=2, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO agency_channels (agency) VALUES (?)", (f"a{len(others)}",))
            db.execute("COMMIT")
            others.append("written")
        except sqlite3.OperationalError as exc:
            others.append(str(exc))
        finally:
            db.close()

    receiver.on_post = another_writer
    with session_scope(url) as session:  # as the scheduler runs a job
        assert agency_webhooks(session) == (2, 0)
    assert others == ["written", "written"]
    assert len(receiver.received) == 2
    engine_for(url).dispose()
