"""The notifier process SIGKILLed in the middle of a burst and started again, on SQLite
and PostgreSQL: nothing is sent twice, and nothing is lost.

Telegram has no idempotency key, so the notifier keeps a journal (bot/delivery/_journal.py):
a line before each send and one after, written straight to the kernel, which a SIGKILL
does not undo. On restart a message that reached Telegram (or was on its way) but whose
'sent' was never committed is recorded as sent instead of going out again. The test kills
the notifier the moment a message lands, the worst moment for duplicates. A send could be
lost only if the kill fell between its journal line and its first byte on the socket;
such sends are marked ("on the wire"), and the test allows only those to be missing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from civic.routing import RoutingDecision
from civic.settings import PROJECT_ROOT, get_settings
from civic.tickets import create_ticket, report_url, transition
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.models import Notification
from tests.fakes.botapi import BotApiStandIn

TOKEN = "123456:TEST-restart"
CITIZENS = 150  # two notifications each: 300, and the per-chat limit matters
FIRST_CHAT = 7001
KILL_AT = (60, 170)  # messages received at the stand-in when the notifier is killed
DECISION = RoutingDecision(
    category="street-light", agency="urban-management", district=None, confidence=0.9
)


def seed(sessions: sessionmaker[Session], standin: BotApiStandIn) -> set[tuple[int, str]]:
    """Tickets accepted, then in progress: the (chat, text) pairs citizens should get."""
    expected = set()
    with sessions() as session:
        for chat in range(FIRST_CHAT, FIRST_CHAT + CITIZENS):
            standin.add_user(chat, language_code="zh")
            person = get_or_create_citizen(session=session, channel="telegram", address=str(chat))
            ticket = create_ticket(
                session=session,
                citizen_id=person.id,
                description="路灯坏了",
                language="zh",
                decision=DECISION,
                ticket_prefix="HZ",
                due_at=None,
            )
            # the notifier's own settings come from this environment too
            settings = get_settings()
            link = report_url(
                public_url=settings.public_url, secret=settings.secret_key, ticket=ticket
            )
            page = f"\n您的诉件页面(查看进展,并可补充信息或照片): {link}"
            for status, label in (("accepted", "已受理"), ("in_progress", "办理中")):
                transition(session=session, ticket=ticket, to_status=status, actor="user:li")
                expected.add((chat, f"您反映的问题 {ticket.number} 有新进展:{label}。{page}"))
        session.commit()
    return expected


def start_notifier(
    database_url: str, standin: BotApiStandIn, log: Path, concurrency: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": standin.base_url,
        "CIVIC_VAR_DIR": str(log.parent / "var"),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    args = ["--rate", "150", "--per-chat", "1", "--lease", "2"]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bot.notifier.runner",
            *args,
            "--concurrency",
            str(concurrency),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"timed out waiting for {what}; notifier log:\n{tail}")
        time.sleep(0.005)


def kill_when_received(
    process: subprocess.Popen[bytes], standin: BotApiStandIn, count: int, log: Path
) -> None:
    """SIGKILL the moment the stand-in has `count` messages: the worst moment, when the
    last one has just been accepted and its 'sent' is most likely not committed yet."""
    wait_until(lambda: len(standin.messages()) >= count, 60, f"{count} messages", log)
    process.kill()
    process.wait()


def pending(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        query = select(func.count()).where(Notification.status == "pending")
        return session.scalar(query) or 0


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_killed_notifier_sends_nothing_twice_and_loses_nothing(
    database_url: str, tmp_path: Path, concurrency: int, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = session_factory(database_url)
    log = tmp_path / "notifier.log"
    with BotApiStandIn() as standin:
        standin.set_limits(global_per_s=200, per_chat_per_s=1, per_chat_burst=3)
        expected = seed(sessions, standin)
        for threshold in KILL_AT:
            process = start_notifier(database_url, standin, log, concurrency)
            kill_when_received(process, standin, threshold, log)
            assert threshold <= len(standin.messages()) < len(expected)  # killed mid-way
        kills = len(KILL_AT)
        last = start_notifier(database_url, standin, log, concurrency)
        wait_until(lambda: pending(sessions) == 0, 90, "every row handled", log)
        last.send_signal(signal.SIGTERM)
        assert last.wait(timeout=15) == 0  # a clean stop on SIGTERM
        got = Counter((int(m.chat_id), m.plain_text or "") for m in standin.messages())
        limited = standin.rate_limited_count

    lost = len(expected - set(got))
    duplicated = sum(count - 1 for count in got.values())
    with sessions() as session:
        assert set(session.scalars(select(Notification.status))) == {"sent"}
        on_the_wire = session.scalar(
            select(func.count()).where(Notification.last_error.like("on the wire%"))
        )
    with capsys.disabled():
        print(
            f"\n[notifier restart, {database_url.split(':')[0]}, concurrency {concurrency}] "
            f"{len(expected)} notifications, {kills} SIGKILLs: {lost} lost, "
            f"{duplicated} duplicated, {on_the_wire} on the wire at a kill, "
            f"{limited} answered 429"
        )
    assert duplicated == 0
    assert set(got) <= expected and lost <= (on_the_wire or 0)
