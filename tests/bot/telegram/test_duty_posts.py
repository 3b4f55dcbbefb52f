"""Delivering the duty outbox: two senders at once on the real PostgreSQL send every row
exactly once, and the scheduler's job holds no write transaction while Telegram answers
(SQLite, where a held write lock stops every other writer)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.telegram import DutyReport, deliver_duty_messages
from bot.telegram._duty_posts import deliver_due
from civic.city import Profile
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import create_ticket
from storage.db import engine_for, migrate, session_factory, session_scope
from storage.models import AgencyChannel, DutyMessage, Ticket, utcnow
from tests.fakes.botapi import BotApiStandIn

GROUPS = [-1001000000100 - i for i in range(16)]


@pytest.fixture(scope="module")
def telegram() -> Iterator[BotApiStandIn]:
    with BotApiStandIn() as api:
        yield api


@pytest.fixture
def api(telegram: BotApiStandIn) -> BotApiStandIn:
    telegram.reset()
    for number, group in enumerate(GROUPS):
        telegram.add_group(group, f"值班群 {number}")
    return telegram


def queue_posts(session: Session, groups: list[int]) -> Ticket:
    """A routed ticket, and a post of it queued for each group."""
    ticket = create_ticket(
        session=session,
        citizen_id=None,
        description="停水一天了",
        language="zh",
        decision=RoutingDecision("water-outage", "water", "xihu", 0.9),
        ticket_prefix="HZ",
        due_at=utcnow() + timedelta(hours=6),
        timezone="Asia/Shanghai",
    )
    for group in groups:
        session.add(
            DutyMessage(
                agency="water",
                ticket_id=ticket.id,
                kind="new_ticket",
                chat_id=str(group),
                idempotency_key=f"test:{ticket.id}:{group}",
                next_attempt_at=utcnow() - timedelta(seconds=1),
            )
        )
    session.commit()
    return ticket


def sender(url: str, api: BotApiStandIn, profile: Profile, reports: list[DutyReport]) -> None:
    """One sender: batches of three until nothing is due."""

    async def run() -> None:
        request = HTTPXRequest()
        bot = Bot("123:ABC", base_url=api.base_url, request=request)
        try:
            with session_factory(url, writes=True)() as session:
                while (report := await deliver_duty_messages(session, bot, profile, limit=3)) != (
                    DutyReport()
                ):
                    reports.append(report)
        finally:
            await request.shutdown()

    asyncio.run(run())


def test_two_senders_on_postgresql_send_each_row_once(
    postgres_url: str, api: BotApiStandIn, profile: Profile
) -> None:
    with session_factory(postgres_url)() as session:
        queue_posts(session, GROUPS)
    api.before_answering("sendMessage", lambda: time.sleep(0.02))  # sends overlap claims
    reports: list[DutyReport] = []
    threads = [
        threading.Thread(target=sender, args=(postgres_url, api, profile, reports))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(m.chat_id for m in api.messages()) == dict.fromkeys(GROUPS, 1)
    assert sum(r.sent for r in reports) == len(GROUPS)
    with session_factory(postgres_url)() as session:
        assert set(session.scalars(select(DutyMessage.status))) == {"sent"}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'civic.db'}"
    migrate(url)
    yield url
    engine_for(url).dispose()


def test_the_job_holds_no_write_lock_while_telegram_answers(
    sqlite_url: str, api: BotApiStandIn, tmp_path: Path
) -> None:
    """While each post waits for its answer, another connection writes to the database
    (as APScheduler's job store does); it gets its turn without waiting for the send."""
    with session_factory(sqlite_url)() as session:
        queue_posts(session, GROUPS[:2])
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

    api.before_answering("sendMessage", another_writer)
    settings = replace(
        get_settings(),
        database_url=sqlite_url,
        telegram_bot_token="123:ABC",
        telegram_base_url=api.base_url,
    )
    with session_scope(sqlite_url) as session:  # as the scheduler runs a job
        assert deliver_due(session, settings) == DutyReport(sent=2)
    assert others == ["written", "written"]
    assert len(api.messages()) == 2
    with session_factory(sqlite_url)() as session:
        assert len(session.scalars(select(AgencyChannel)).all()) == 2
        assert set(session.scalars(select(DutyMessage.status))) == {"sent"}
