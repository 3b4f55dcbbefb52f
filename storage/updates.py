"""Remembering which channel updates were handled, so a repeated delivery runs once.

With Redis (REDIS_URL set) the keys live there with a day's expiry, which is as long as
Telegram keeps an unconfirmed update; otherwise in the database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import ProcessedUpdate, utcnow

KEEP_FOR = timedelta(hours=24)


class UpdateLedger(Protocol):
    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen, False on every repeat."""
        ...


class DatabaseLedger:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def first_time(self, key: str) -> bool:
        with self._sessions() as session:
            session.add(ProcessedUpdate(key=key))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True


class RedisLedger:
    def __init__(self, client: object, prefix: str = "civic:update:") -> None:
        self._redis = client
        self._prefix = prefix

    def first_time(self, key: str) -> bool:
        added = self._redis.set(  # type: ignore[attr-defined]
            self._prefix + key, 1, nx=True, ex=int(KEEP_FOR.total_seconds())
        )
        return bool(added)


def purge_processed_updates(*, session: Session) -> int:
    """Drop keys older than Telegram would ever redeliver; returns how many."""
    result = session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.at < utcnow() - KEEP_FOR)
    )
    return int(getattr(result, "rowcount", 0) or 0)
