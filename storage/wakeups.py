"""Waking an outbox's deliverer the moment a row commits, so that it need not poll often.

Announcing. Any session whose flush adds a row to an outbox named in `OUTBOXES` announces
that outbox, whoever wrote it (the web app, the action server, the gateway, a job):
- on PostgreSQL, `pg_notify('civic_outbox', '<outbox>')` in the same transaction. The
  server delivers it at commit, after the row is visible, drops it on rollback and folds
  repeats within a transaction into one;
- when the process announces on Redis (`announce_on_redis`, called by every process's
  start with REDIS_URL), a PUBLISH of the outbox's name on `civic:outbox` right after the
  commit. A Redis that does not answer costs the writer at most a second and the
  deliverer a wake: the commit stands.

Listening. `Wakeups` sets an asyncio event when an announcement for one of its outboxes
arrives: through LISTEN on a connection of its own on PostgreSQL, and through a Redis
subscription when given a Redis URL (for a deliverer that cannot LISTEN, on SQLite with
Redis, say); with both, either wakes it. It also wakes on every (re)connection, since rows
may have committed while nobody listened. A wake can still be lost (a connection that
drops silently, a writer that did not announce), so deliverers keep polling, only less
often. SQLite alone has no channel: one host, and its deliverers poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from storage.models import Notification

log = logging.getLogger(__name__)

PG_CHANNEL = "civic_outbox"
REDIS_CHANNEL = "civic:outbox"
# Outboxes whose deliverer listens. The duty messages, agency webhooks and invitations are
# sent by scheduler jobs on their own timers, and web-chat messages are fetched by the page.
OUTBOXES: dict[type, str] = {Notification: "notifications"}
_PENDING = "civic_outbox_announce"  # session.info: outboxes to publish after the commit

_redis_publisher: Any = None


def announce_on_redis(url: str | None) -> None:
    """Publish on Redis at `url` after each commit that wrote an outbox row (None: stop)."""
    global _redis_publisher
    if url is None:
        _redis_publisher = None
        return
    import redis

    _redis_publisher = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def _written_outboxes(session: Session) -> set[str]:
    return {OUTBOXES[type(row)] for row in session.new if type(row) in OUTBOXES}


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    # `session.new` still lists the rows this flush inserted.
    written = _written_outboxes(session)
    if not written:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        for outbox in sorted(written):
            connection.execute(
                text("SELECT pg_notify(:channel, :outbox)"),
                {"channel": PG_CHANNEL, "outbox": outbox},
            )
    if _redis_publisher is not None:
        session.info.setdefault(_PENDING, set()).update(written)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    written = session.info.pop(_PENDING, None)
    publisher = _redis_publisher
    if not written or publisher is None:
        return
    try:
        for outbox in sorted(written):
            publisher.publish(REDIS_CHANNEL, outbox)
    except Exception as exc:  # the deliverer's poll finds the row
        log.warning("could not announce %s on Redis: %s", ", ".join(written), type(exc).__name__)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # a rollback publishes nothing
        session.info.pop(_PENDING, None)


class Wakeups:
    """Sets `wake` when a row of one of `outboxes` commits; `sources` names the channels
    it listens on (none: nothing can wake it), `listening` those connected now."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str | None,
        outboxes: frozenset[str] = frozenset({"notifications"}),
        ping_seconds: int = 30,
        channels: bool = True,  # False: listen to nothing
    ) -> None:
        self._database_url, self._redis_url = database_url, redis_url
        self._outboxes, self._ping = outboxes, ping_seconds
        self.wake = asyncio.Event()
        self.sources: list[str] = []
        if channels and make_url(database_url).get_backend_name() == "postgresql":
            self.sources.append("postgresql")
        if channels and redis_url:
            self.sources.append("redis")
        self.listening: set[str] = set()  # sources connected now
        self.backend_pid: int | None = None  # the PostgreSQL session that LISTENs

    async def run(self) -> None:
        """Listen on every source until cancelled, reconnecting after a failure."""
        listeners = {"postgresql": self._listen_postgres, "redis": self._listen_redis}
        await asyncio.gather(*(self._keep(s, listeners[s]) for s in self.sources))

    async def _keep(self, source: str, listen: Callable[[], Any]) -> None:
        pause = 1.0
        while True:
            try:
                await listen()
            except Exception as exc:
                if source in self.listening:  # it had worked: a fresh outage
                    pause = 1.0
                # the first line of the error names the cause ("too many clients",
                # "connection refused"); connection errors carry no personal data
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                log.warning(
                    "outbox wake-ups on %s lost (%s: %s); polling until it is back in %.0f s",
                    source,
                    type(exc).__name__,
                    reason[:200],
                    pause,
                )
            finally:
                self.listening.discard(source)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)

    def _connected(self, source: str) -> None:
        self.listening.add(source)
        pid = f" (backend {self.backend_pid})" if source == "postgresql" else ""
        log.info("listening for outbox rows on %s%s", source, pid)
        self.wake.set()  # rows may have committed while nobody listened

    def _heard(self, outbox: str) -> None:
        if outbox in self._outboxes:
            self.wake.set()

    # -- PostgreSQL -----------------------------------------------------------------

    def _connect_postgres(self) -> Any:
        from sqlalchemy import create_engine

        engine = create_engine(self._database_url)  # for its dialect: it never connects
        args, params = engine.dialect.create_connect_args(engine.url)
        engine.dispose()
        # keepalives: a connection that dies silently is noticed within a minute; and a
        # server that does not answer is given up on, so no thread waits on it for ever
        params.update(keepalives=1, keepalives_idle=20, keepalives_interval=5, keepalives_count=4)
        params.setdefault("connect_timeout", 10)
        connection = engine.dialect.loaded_dbapi.connect(*args, **params)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {PG_CHANNEL}")
        self.backend_pid = connection.info.backend_pid
        return connection

    async def _listen_postgres(self) -> None:
        loop = asyncio.get_running_loop()
        connection = await asyncio.to_thread(self._connect_postgres)
        readable = asyncio.Event()
        fileno = connection.fileno()
        loop.add_reader(fileno, readable.set)
        try:
            self._connected("postgresql")
            while True:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel
                # that comes as the wait ends, and the listener would never stop
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._ping):
                        await readable.wait()
                if not readable.is_set():  # quiet for a while: is the server still there?
                    await asyncio.to_thread(_ping_postgres, connection)
                readable.clear()
                connection.poll()
                while connection.notifies:
                    self._heard(connection.notifies.pop(0).payload)
        finally:
            loop.remove_reader(fileno)
            connection.close()

    # -- Redis ----------------------------------------------------------------------

    async def _listen_redis(self) -> None:
        import redis.asyncio

        assert self._redis_url is not None
        client = redis.asyncio.Redis.from_url(self._redis_url, health_check_interval=self._ping)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(REDIS_CHANNEL)
            self._connected("redis")
            while True:  # never a read without a timeout: cancelling must not wait on it
                message = await pubsub.get_message(timeout=float(self._ping))
                if message is not None and message.get("type") == "message":
                    data = message.get("data", b"")
                    self._heard(data.decode() if isinstance(data, bytes) else str(data))
        finally:
            # closing waits on the connection: bounded, so a stop is never held up by it
            for closing in (pubsub.aclose(), client.aclose()):  # type: ignore[attr-defined]
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(5):
                        await closing


def _ping_postgres(connection: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
