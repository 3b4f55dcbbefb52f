"""`Wakeups` listening: it wakes on a PostgreSQL commit, on a Redis announcement over
SQLite, and after its PostgreSQL connection is dropped it comes back and wakes again.

Not collected on its own (the name does not start with `test_`): the whole suite runs it
in a process of its own, with a hard time limit and every thread's stack dumped if a step
hangs (`test_wakeups.py::test_the_listeners_in_a_process_of_their_own`). These tests once
waited without end late in a whole suite, and failed now and then alone: cancelling the
listener was lost when it came as its wait for the socket ended (Python 3.11's
`asyncio.wait_for` then returns instead of raising), so the listener never stopped. It now
waits with `asyncio.timeout`. Every blocking step here runs in a daemon thread of its own,
bounded, and each engine is disposed, so a step that hangs fails its test instead.

    .venv/bin/python -m pytest tests/storage/wakeup_listeners.py
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import text

from storage.db import make_engine, session_factory
from storage.wakeups import Wakeups
from tests.conftest import REDIS_URL
from tests.storage.test_wakeups import announcing_on_redis, write  # noqa: F401 (a fixture)

STEP_SECONDS = 30


async def in_thread(work: Callable[[], Any]) -> Any:
    """`work()` in a daemon thread, failed after STEP_SECONDS. Unlike `asyncio.to_thread`,
    a thread that never returns is left behind instead of holding up the loop's close."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not done.done():
            outcome()

    def run() -> None:
        try:
            result = work()
        except BaseException as exc:  # handed to the waiting test
            error = exc
            loop.call_soon_threadsafe(settle, lambda: done.set_exception(error))
        else:
            loop.call_soon_threadsafe(settle, lambda: done.set_result(result))

    threading.Thread(target=run, daemon=True, name="wakeup-test-step").start()
    return await asyncio.wait_for(done, STEP_SECONDS)


def commit_row(url: str, key: str, *, commit: bool) -> None:
    """Write one outbox row (committed or rolled back) and let go of the connection."""
    sessions = session_factory(url)
    try:
        write(sessions, key, commit=commit)
    finally:
        bind = sessions.kw.get("bind")
        if bind is not None:
            bind.dispose()


async def connected(wakeups: Wakeups, source: str) -> None:
    """Wait until `wakeups` listens on `source`; fail with its last complaint after 30 s."""
    deadline = time.monotonic() + STEP_SECONDS
    with _warnings_of("storage.wakeups") as complaints:
        while source not in wakeups.listening:
            assert time.monotonic() < deadline, f"never listened on {source}: {complaints}"
            await asyncio.sleep(0.01)


async def woken(wakeups: Wakeups, what: str) -> None:
    try:
        await asyncio.wait_for(wakeups.wake.wait(), STEP_SECONDS)
    except TimeoutError:
        raise AssertionError(f"not woken by {what} within {STEP_SECONDS} s") from None


@contextlib.contextmanager
def _warnings_of(logger: str) -> Iterator[list[str]]:
    """The messages `logger` warns with meanwhile, whatever capture pytest has set up."""
    heard: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            heard.append(record.getMessage())

    handler = Keep(logging.WARNING)
    logging.getLogger(logger).addHandler(handler)
    try:
        yield heard
    finally:
        logging.getLogger(logger).removeHandler(handler)


@contextlib.asynccontextmanager
async def listening(wakeups: Wakeups) -> Any:
    task = asyncio.create_task(wakeups.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), STEP_SECONDS)


async def heard_after_commit(wakeups: Wakeups, source: str, url: str) -> None:
    async with listening(wakeups):
        await connected(wakeups, source)
        assert wakeups.wake.is_set()  # rows may have come while nobody listened
        wakeups.wake.clear()
        await in_thread(lambda: commit_row(url, "rolled-back", commit=False))
        await asyncio.sleep(0.2)
        assert not wakeups.wake.is_set(), "woken by a rollback"
        await in_thread(lambda: commit_row(url, "committed", commit=True))
        await woken(wakeups, "a commit")


async def test_wakeups_wake_on_a_postgresql_commit(postgres_url: str) -> None:
    wakeups = Wakeups(database_url=postgres_url, redis_url=None)
    assert wakeups.sources == ["postgresql"]
    await heard_after_commit(wakeups, "postgresql", postgres_url)


async def test_a_dropped_listening_connection_comes_back_and_wakes(postgres_url: str) -> None:
    wakeups = Wakeups(database_url=postgres_url, redis_url=None)
    async with listening(wakeups):
        await connected(wakeups, "postgresql")
        first = wakeups.backend_pid
        wakeups.wake.clear()

        def terminate() -> None:
            engine = make_engine(postgres_url)
            try:
                with engine.begin() as conn:
                    conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            finally:
                engine.dispose()

        await in_thread(terminate)
        # it notices, reconnects after its pause and wakes: rows may have come meanwhile
        await woken(wakeups, "coming back")
        assert "postgresql" in wakeups.listening
        assert wakeups.backend_pid != first
        wakeups.wake.clear()
        await in_thread(lambda: commit_row(postgres_url, "after", commit=True))
        await woken(wakeups, "a commit after coming back")


async def test_wakeups_wake_on_redis_over_sqlite(
    tmp_path: Any,
    redis_client: Any,
    announcing_on_redis: Any,  # noqa: F811
) -> None:
    from storage.db import migrate

    url = f"sqlite:///{tmp_path / 'wake.db'}"
    migrate(url)
    wakeups = Wakeups(database_url=url, redis_url=REDIS_URL)
    assert wakeups.sources == ["redis"]
    await heard_after_commit(wakeups, "redis", url)
