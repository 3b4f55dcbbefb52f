"""Engines, sessions and migrations. Sessions are opened at the edge and passed in."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

import storage.wakeups  # noqa: F401  (every session announces the outbox rows it commits)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql+psycopg2"):
        # UPDATEs of many rows (a campaign batch) go in pages, not a round trip per row.
        kwargs.setdefault("executemany_mode", "values_plus_batch")
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks savepoints (a released first savepoint
    # commits); SQLAlchemy's documented recipe: turn it off and emit BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Sessions that write start IMMEDIATE: they take the write lock up front and wait
    # their turn (busy_timeout). A deferred transaction that reads and then writes fails
    # at once ("database is locked") when another process wrote since its snapshot.
    # Readers stay deferred, so they never wait and never block.
    immediate = connection.get_execution_options().get("sqlite_immediate")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per database URL per process."""
    return make_engine(url)


def session_factory(url: str, *, writes: bool = False) -> sessionmaker[Session]:
    """Sessions for `url`; `writes=True` for the ones that change data (see _sqlite_begin)."""
    engine = engine_for(url)
    bind = engine.execution_options(sqlite_immediate=True) if writes else engine
    return sessionmaker(bind, expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = session_factory(url, writes=True)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def advisory_key(connection: Connection, name: str) -> int:
    """The PostgreSQL advisory lock key for `name` in the connection's schema. Advisory
    locks are per database: the schema is part of the key, so that deployments sharing a
    database in separate schemas do not lock each other out."""
    schema = connection.execute(text("SELECT current_schema()")).scalar()
    digest = hashlib.sha256(f"{schema}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


MIGRATION_LOCK = "migrations"


def migrate(url: str) -> None:
    """Bring the database at `url` up to the newest schema.

    Every process migrates as it starts, so on PostgreSQL several may arrive together: the
    upgrade runs under a transaction-level advisory lock, and whoever comes second waits,
    then finds the schema current and does nothing. SQLite is left as it was: it is the
    one-machine default, where `civicbot run` migrates once before it starts the others;
    processes started separately on one SQLite file need a `civicbot migrate` first."""
    engine = engine_for(url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            key = advisory_key(connection, MIGRATION_LOCK)
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
