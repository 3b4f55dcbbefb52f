"""Deleting conversations from Rasa's stores: one on erasure, the idle ones after the
retention period (Rasa's SQLite store; Redis expires its keys by itself)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.assistant._trackers import (
    delete_redis_conversation,
    delete_sqlite_conversation,
    purge_idle_sqlite_conversations,
    redis_tracker_key,
    sqlite_tracker_path,
)

NOW = 1_800_000_000.0
DAY = 24 * 3600.0


def _store(path: Path, rows: list[tuple[str, float]]) -> Path:
    """Rasa's SQL tracker store's table, with (sender, timestamp) events."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL,"
            " type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255),"
            " action_name VARCHAR(255), data TEXT)"
        )
        db.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, data)"
            " VALUES (?, 'user', ?, '{}')",
            rows,
        )
    return path


def _senders(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT sender_id FROM events ORDER BY id")]


def test_where_rasa_keeps_conversations(tmp_path: Path) -> None:
    assert sqlite_tracker_path(tmp_path) == tmp_path / "rasa-tracker.db"
    assert redis_tracker_key("abc123") == "civic:tracker:abc123"


def test_one_conversation_is_deleted_from_sqlite(tmp_path: Path) -> None:
    path = _store(tmp_path / "t.db", [("a", NOW), ("b", NOW), ("a", NOW)])
    assert delete_sqlite_conversation(path, "a") == 2
    assert _senders(path) == ["b"]
    assert delete_sqlite_conversation(tmp_path / "missing.db", "a") == 0
    sqlite3.connect(tmp_path / "empty.db").close()
    assert delete_sqlite_conversation(tmp_path / "empty.db", "a") == 0


def test_one_conversation_is_deleted_from_redis(redis_client: Any) -> None:
    redis_client.set(redis_tracker_key("a"), "{}")
    redis_client.set(redis_tracker_key("b"), "{}")
    assert (
        delete_redis_conversation(redis_client, "a"),
        delete_redis_conversation(redis_client, "a"),
    ) == (1, 0)
    assert redis_client.exists(redis_tracker_key("b")) == 1


def test_conversations_idle_past_the_period_are_purged_whole(tmp_path: Path) -> None:
    path = _store(
        tmp_path / "t.db",
        [
            ("idle", NOW - 200 * DAY),
            ("idle", NOW - 181 * DAY),
            ("active", NOW - 300 * DAY),  # an old start, but it spoke lately: kept whole
            ("active", NOW - 2 * DAY),
            ("recent", NOW - 179 * DAY),
        ],
    )
    assert purge_idle_sqlite_conversations(path, timedelta(days=180), now=NOW) == 2
    assert _senders(path) == ["active", "active", "recent"]
    assert purge_idle_sqlite_conversations(tmp_path / "missing.db", timedelta(days=1)) == 0
