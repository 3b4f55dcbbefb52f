"""Rasa's tracker store seen from our side: where `civicbot run` has Rasa keep the
conversations (a SQLite file in the var directory, or Redis under our key prefix), and
deleting them: one conversation on erasure, and in the SQLite file every conversation
idle for longer than the retention period (Redis keys expire by themselves: Rasa sets
them with `record_exp`).

Rasa's own API cannot do either. Replacing a conversation's events with none
(`PUT /conversations/<id>/tracker/events`) leaves the SQL store's rows (it only appends)
and the Redis store's tracker (it merges what it stored with what it is given).
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

# Rasa's RedisTrackerStore keeps a conversation at "<key_prefix>:tracker:<sender id>"; it
# ignores a prefix that is not alphanumeric.
REDIS_KEY_PREFIX = "civic"


def sqlite_tracker_path(var_dir: Path) -> Path:
    """Where Rasa keeps conversations when there is no Redis."""
    return var_dir / "rasa-tracker.db"


def redis_tracker_key(sender: str) -> str:
    return f"{REDIS_KEY_PREFIX}:tracker:{sender}"


def delete_sqlite_conversation(path: Path, sender: str) -> int:
    """Delete one conversation's rows from Rasa's SQLite store; returns how many."""
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path, timeout=30)) as db, db:
        if not _has_events(db):
            return 0
        return db.execute("DELETE FROM events WHERE sender_id = ?", (sender,)).rowcount


def delete_redis_conversation(client: Any, sender: str) -> int:
    """Delete one conversation from Rasa's Redis store; returns 1 if it was there."""
    return int(client.delete(redis_tracker_key(sender)))


def purge_idle_sqlite_conversations(
    path: Path, idle_for: timedelta, now: float | None = None
) -> int:
    """Delete every conversation whose last event is older than `idle_for` from Rasa's
    SQLite store, as Redis's expiry does; returns how many rows went."""
    if not path.exists():
        return 0
    cutoff = (time.time() if now is None else now) - idle_for.total_seconds()
    with closing(sqlite3.connect(path, timeout=30)) as db, db:
        if not _has_events(db):
            return 0
        idle = "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < ?"
        return db.execute(f"DELETE FROM events WHERE sender_id IN ({idle})", (cutoff,)).rowcount


def _has_events(db: sqlite3.Connection) -> bool:
    """Rasa creates its table when it first starts."""
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'")
    return found.fetchone() is not None
