"""Locks that keep one thing running once: file, Redis and PostgreSQL advisory locks."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import text

from storage.db import make_engine
from storage.locks import FileLock, PostgresAdvisoryLock, RedisLock, make_lock
from tests.conftest import POSTGRES_URL, service_unavailable


def test_file_lock_is_exclusive(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "scheduler.lock"
    holder, other = FileLock(path), FileLock(path)
    assert holder.acquire() is True
    assert other.acquire() is False
    assert holder.acquire() is True
    holder.release()
    assert other.acquire() is True
    assert holder.acquire() is False
    other.release()


def test_file_locks_on_different_paths_are_independent(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "a.lock"), FileLock(tmp_path / "b.lock")
    assert (first.acquire(), second.acquire()) == (True, True)
    first.release()
    second.release()


def test_redis_lock_is_exclusive(redis_client: object) -> None:
    holder, other = RedisLock(redis_client, "job"), RedisLock(redis_client, "job")
    assert holder.acquire() is True
    assert other.acquire() is False
    holder.release()
    assert other.acquire() is True
    other.release()


def test_redis_lock_is_renewed_by_its_holder(redis_client: object) -> None:
    holder = RedisLock(redis_client, "job", ttl_ms=60_000)
    assert holder.acquire() is True
    redis_client.pexpire("civic:lock:job", 1_000)  # type: ignore[attr-defined]
    assert holder.acquire() is True
    assert redis_client.pttl("civic:lock:job") > 1_000  # type: ignore[attr-defined]
    holder.release()


def test_redis_lock_is_released_only_by_its_owner(redis_client: object) -> None:
    holder, other = RedisLock(redis_client, "job"), RedisLock(redis_client, "job")
    assert holder.acquire() is True
    other.release()
    assert RedisLock(redis_client, "job").acquire() is False
    holder.release()
    assert RedisLock(redis_client, "job").acquire() is True


def test_postgres_advisory_lock() -> None:
    engine = make_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        service_unavailable(f"PostgreSQL at {POSTGRES_URL}", exc)
    finally:
        engine.dispose()
    name = f"test-{secrets.token_hex(6)}"
    holder, other = (
        PostgresAdvisoryLock(POSTGRES_URL, name),
        PostgresAdvisoryLock(POSTGRES_URL, name),
    )
    unrelated = PostgresAdvisoryLock(POSTGRES_URL, name + "-other")
    try:
        assert holder.acquire() is True
        assert other.acquire() is False
        assert holder.acquire() is True
        assert unrelated.acquire() is True
        holder.release()
        assert other.acquire() is True
        assert holder.acquire() is False
    finally:
        for lock in (holder, other, unrelated):
            lock.release()


def test_make_lock_picks_the_backend(tmp_path: Path) -> None:
    sqlite = make_lock("job", database_url="sqlite:///x.db", redis_url=None, var_dir=tmp_path)
    postgres = make_lock("job", database_url=POSTGRES_URL, redis_url=None, var_dir=tmp_path)
    assert (type(sqlite), type(postgres)) == (FileLock, PostgresAdvisoryLock)
