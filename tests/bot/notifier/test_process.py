"""The notifier process is woken by a committed row: with its poll an hour apart, a status
update still arrives, through PostgreSQL's NOTIFY or through Redis. A row that announces
nothing (a lost wake) still arrives, by the fallback poll.

Each test proves the wake by order, not by time. The notifier starts with nothing to
send. Once it listens, a first update is committed; whichever round delivers it (the one
run on connecting, or the one its wake starts) began after the connection's wake was
set, so that wake is spent. Only then is the second update committed: the notifier, idle
until a wake or its next poll, gets it only by the way under test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bot.notifier import render_text
from civic.routing import RoutingDecision
from civic.settings import PROJECT_ROOT
from civic.tickets import create_ticket, transition
from storage.citizens import get_or_create_citizen
from storage.db import migrate, session_factory
from storage.models import Notification, Ticket, utcnow
from storage.wakeups import announce_on_redis
from tests.conftest import REDIS_URL
from tests.fakes.botapi import BotApiStandIn
from tests.report_links import without_page_link

TOKEN = "123456:TEST-wake"
STATUS, RECTIFIED = "notify.status_changed", "notify.rectified"
CHAT = 8101
HOUR = "3600"
DECISION = RoutingDecision(
    category="street-light", agency="urban-management", district=None, confidence=0.9
)


@contextmanager
def notifier(
    database_url: str, standin: BotApiStandIn, log: Path, *args: str, redis_url: str = ""
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": standin.base_url,
        "CIVIC_VAR_DIR": str(log.parent / "var"),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bot.notifier.runner", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(condition: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + 60  # a bound on a hung test, not a measure of speed
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"timed out waiting for {what}; notifier log:\n{tail}")
        time.sleep(0.02)


def said(log: Path, text: str) -> Callable[[], bool]:
    return lambda: text in log.read_text(errors="replace")


def received(standin: BotApiStandIn, count: int) -> Callable[[], bool]:
    return lambda: len(standin.messages(CHAT)) >= count


def accepted_ticket(sessions: sessionmaker[Session], standin: BotApiStandIn) -> int:
    standin.add_user(CHAT, language_code="en")
    with sessions.begin() as session:
        person = get_or_create_citizen(session=session, channel="telegram", address=str(CHAT))
        person.language = "en"
        ticket = create_ticket(
            session=session,
            citizen_id=person.id,
            description="The street light is out",
            language="en",
            decision=DECISION,
            ticket_prefix="HZ",
            due_at=None,
        )
        # accepted without news, so that nothing is pending when the notifier starts
        transition(
            session=session, ticket=ticket, to_status="accepted", actor="user:li", public=False
        )
        return ticket.id


def move(sessions: sessionmaker[Session], ticket_id: int, status: str) -> None:
    """A status change, committed with its notification (and its announcement)."""
    with sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        transition(session=session, ticket=ticket, to_status=status, actor="agency:um")


def number(sessions: sessionmaker[Session], ticket_id: int) -> str | None:
    with sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        return ticket.number if ticket else None


def texts_received(standin: BotApiStandIn) -> list[str | None]:
    return [m.plain_text for m in standin.messages(CHAT)]


def news(number: str | None, status: str, key: str = STATUS) -> str:
    return render_text(key, "en", {"number": number, "status": status, "note": None})


def first_update(sessions: sessionmaker[Session], ticket: int, log: Path, source: str) -> None:
    wait_until(said(log, f"listening for outbox rows on {source}"), source, log)
    move(sessions, ticket, "in_progress")


def test_a_notify_wakes_the_notifier_that_polls_once_an_hour(
    postgres_url: str, tmp_path: Path
) -> None:
    sessions, log = session_factory(postgres_url), tmp_path / "notifier.log"
    with BotApiStandIn() as standin:
        ticket = accepted_ticket(sessions, standin)
        with notifier(postgres_url, standin, log, "--poll", HOUR, "--fallback-poll", "0.5"):
            first_update(sessions, ticket, log, "postgresql")
            wait_until(received(standin, 1), "the first update", log)
            move(sessions, ticket, "rectified")
            wait_until(received(standin, 2), "the update that only a NOTIFY announced", log)
        n = number(sessions, ticket)
        expected = [news(n, "in_progress"), news(n, "rectified", RECTIFIED)]
        assert [without_page_link(x, n) for x in texts_received(standin)] == expected


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'wake.db'}"
    migrate(url)
    return url


@pytest.fixture
def announcing_on_redis(redis_client: Any) -> Iterator[None]:
    announce_on_redis(REDIS_URL)
    yield
    announce_on_redis(None)


def test_a_redis_publish_wakes_the_notifier_on_sqlite(
    sqlite_url: str, tmp_path: Path, announcing_on_redis: None
) -> None:
    """SQLite has no NOTIFY: only Redis can have woken it."""
    sessions, log = session_factory(sqlite_url, writes=True), tmp_path / "notifier.log"
    with BotApiStandIn() as standin:
        ticket = accepted_ticket(sessions, standin)
        with notifier(
            sqlite_url, standin, log, "--poll", HOUR, "--fallback-poll", HOUR, redis_url=REDIS_URL
        ):
            first_update(sessions, ticket, log, "redis")
            wait_until(received(standin, 1), "the first update", log)
            move(sessions, ticket, "rectified")
            wait_until(received(standin, 2), "the update that only Redis announced", log)
        n = number(sessions, ticket)
        expected = [news(n, "in_progress"), news(n, "rectified", RECTIFIED)]
        assert [without_page_link(x, n) for x in texts_received(standin)] == expected


def test_a_row_nobody_announced_is_delivered_by_the_fallback_poll(
    postgres_url: str, tmp_path: Path
) -> None:
    """A Core INSERT flushes no ORM object, so it announces nothing: a lost wake."""
    sessions, log = session_factory(postgres_url), tmp_path / "notifier.log"
    with BotApiStandIn() as standin:
        ticket = accepted_ticket(sessions, standin)
        with notifier(postgres_url, standin, log, "--poll", HOUR, "--fallback-poll", "0.5"):
            first_update(sessions, ticket, log, "postgresql")
            wait_until(received(standin, 1), "the first update", log)
            with sessions.begin() as session:
                row = session.get(Ticket, ticket)
                assert row is not None
                params = {"number": row.number, "status": "rectified", "note": ""}
                session.execute(
                    insert(Notification).values(
                        ticket_id=ticket,
                        citizen_id=row.citizen_id,
                        kind="ticket_status",
                        body_key=STATUS,
                        params=json.dumps(params),
                        idempotency_key="unannounced",
                        next_attempt_at=utcnow(),
                        created_at=utcnow(),
                    )
                )
            wait_until(received(standin, 2), "the row found by the poll", log)
        expected = [news(row.number, "in_progress"), news(row.number, "rectified")]
        assert [without_page_link(x, row.number) for x in texts_received(standin)] == expected
