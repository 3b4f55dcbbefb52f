"""Locks that keep one thing running once: the scheduler across processes, a job across
overlapping runs. Redis when configured, else a PostgreSQL advisory lock, else a file lock
(enough for the single-machine SQLite default)."""

from __future__ import annotations

import fcntl
import os
import secrets
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import text

from storage.db import advisory_key, engine_for


class Lock(Protocol):
    def acquire(self) -> bool: ...
    def release(self) -> None: ...


class FileLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class RedisLock:
    """SET NX with an expiry, renewed by `acquire` while held; released only by its owner."""

    _IF_OWNER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call({}) end return 0"
    _RELEASE = _IF_OWNER.format("'del', KEYS[1]")
    _RENEW = _IF_OWNER.format("'pexpire', KEYS[1], ARGV[2]")

    def __init__(self, client: Any, name: str, ttl_ms: int = 30_000) -> None:
        self._redis = client
        self._key = f"civic:lock:{name}"
        self._ttl = ttl_ms
        self._token = secrets.token_hex(8)
        self._held = False

    def acquire(self) -> bool:
        if self._held and self._redis.eval(self._RENEW, 1, self._key, self._token, self._ttl):
            return True
        self._held = bool(self._redis.set(self._key, self._token, nx=True, px=self._ttl))
        return self._held

    def release(self) -> None:
        if self._held:
            self._redis.eval(self._RELEASE, 1, self._key, self._token)
            self._held = False


class PostgresAdvisoryLock:
    """A session-level advisory lock held on a dedicated connection."""

    def __init__(self, url: str, name: str) -> None:
        self._engine = engine_for(url)
        self._name = name
        self._key = 0
        self._connection: Any = None

    def acquire(self) -> bool:
        if self._connection is not None:
            return True
        connection = self._engine.connect()
        self._key = advisory_key(connection, self._name)
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar()
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._connection.close()
            self._connection = None


def make_lock(
    name: str, *, database_url: str, redis_url: str | None, var_dir: Path, ttl_ms: int = 30_000
) -> Lock:
    if redis_url:
        import redis

        return RedisLock(redis.Redis.from_url(redis_url), name, ttl_ms)
    if database_url.startswith("postgresql"):
        return PostgresAdvisoryLock(database_url, name)
    return FileLock(var_dir / f"{name}.lock")
