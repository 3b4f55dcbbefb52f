"""Outbox rows are announced when they commit, and never when they roll back: with
pg_notify on the real PostgreSQL, with PUBLISH on the real Redis; `Wakeups` hears both
(its listening tests are in wakeup_listeners.py, run here in a process of their own)."""

from __future__ import annotations

import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from civic.settings import PROJECT_ROOT
from storage.db import make_engine, session_factory
from storage.models import Citizen, Notification
from storage.wakeups import PG_CHANNEL, REDIS_CHANNEL, Wakeups, announce_on_redis
from tests.conftest import REDIS_URL


def write(sessions: sessionmaker[Session], key: str, *, commit: bool, outbox: bool = True) -> None:
    with sessions() as session:
        session.add(Citizen(public_id=f"p-{key}", language="zh"))
        if outbox:
            session.add(Notification(kind="direct", body_key="k", idempotency_key=key))
        session.flush()
        if commit:
            session.commit()
        else:
            session.rollback()


@pytest.fixture
def listener(postgres_url: str) -> Iterator[Any]:
    engine = make_engine(postgres_url)
    args, params = engine.dialect.create_connect_args(engine.url)
    connection = psycopg2.connect(*args, **params)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"LISTEN {PG_CHANNEL}")
    yield connection
    connection.close()
    engine.dispose()


def heard_until_sentinel(connection: Any, postgres_url: str) -> list[str]:
    """Every payload heard, up to a sentinel sent now: what was announced before it."""
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_notify(:c, 'sentinel')"), {"c": PG_CHANNEL})
    engine.dispose()
    heard: list[str] = []
    while "sentinel" not in heard:
        assert select.select([connection], [], [], 30)[0], "nothing heard"
        connection.poll()
        heard += [n.payload for n in connection.notifies]
        connection.notifies.clear()
    return heard


def test_a_committed_outbox_row_is_announced_once_on_postgresql(
    postgres_url: str, listener: Any
) -> None:
    sessions = session_factory(postgres_url)
    write(sessions, "rolled-back", commit=False)
    write(sessions, "no-outbox-row", commit=True, outbox=False)
    with sessions() as session:  # two rows, two flushes: one announcement
        for key in ("a", "b"):
            session.add(Notification(kind="direct", body_key="k", idempotency_key=key))
            session.flush()
        session.commit()
    assert heard_until_sentinel(listener, postgres_url) == ["notifications", "sentinel"]


@pytest.fixture
def announcing_on_redis(redis_client: Any) -> Iterator[Any]:
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(REDIS_CHANNEL)
    announce_on_redis(REDIS_URL)
    yield pubsub
    announce_on_redis(None)
    pubsub.close()


def test_a_committed_outbox_row_is_published_on_redis_after_the_commit(
    database_url: str, redis_client: Any, announcing_on_redis: Any
) -> None:
    sessions = session_factory(database_url)
    write(sessions, "rolled-back", commit=False)
    write(sessions, "no-outbox-row", commit=True, outbox=False)
    write(sessions, "committed", commit=True)
    redis_client.publish(REDIS_CHANNEL, "sentinel")
    heard: list[str] = []
    deadline = time.monotonic() + 30
    while "sentinel" not in heard and time.monotonic() < deadline:
        message = announcing_on_redis.get_message(timeout=1)  # None: the subscription's own
        if message is not None:
            heard.append(message["data"].decode())
    assert heard == ["notifications", "sentinel"]


def test_a_redis_that_does_not_answer_does_not_undo_the_commit(database_url: str) -> None:
    announce_on_redis("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        write(session_factory(database_url), "kept", commit=True)
    finally:
        announce_on_redis(None)
    with session_factory(database_url)() as session:
        assert session.query(Notification.idempotency_key).all() == [("kept",)]


def test_sqlite_alone_has_nothing_to_listen_to(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'poll.db'}"
    assert Wakeups(database_url=url, redis_url=None).sources == []


LISTENERS = Path(__file__).with_name("wakeup_listeners.py")
# Each of its three tests bounds every step at 30 s; a hang past that is a step without a
# bound, and the stacks faulthandler dumps then show where.
LISTENERS_SECONDS = 240


@pytest.mark.postgres
@pytest.mark.redis
def test_the_listeners_in_a_process_of_their_own(postgres_url: str, redis_client: Any) -> None:
    """`Wakeups` wakes on a PostgreSQL commit, on Redis over SQLite, and after a dropped
    connection (tests/storage/wakeup_listeners.py), run in a child pytest: should one of
    them ever hang again, this fails with every thread's stack instead of holding up the
    suite."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "faulthandler_timeout=90",
        str(LISTENERS),
    ]
    try:
        run = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=LISTENERS_SECONDS,
        )
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or "") + (exc.stderr or "")
        output = output if isinstance(output, str) else output.decode(errors="replace")
        pytest.fail(f"the listener tests hung past {LISTENERS_SECONDS} s:\n{output[-6000:]}")
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert "3 passed" in run.stdout, run.stdout[-2000:]
