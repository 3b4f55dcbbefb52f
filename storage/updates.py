"""Remembering which channel updates were handled, so a repeated delivery runs once.

With Redis (REDIS_URL set) the keys live there with a day's expiry, which is as long as
Telegram keeps an unconfirmed update; otherwise in the database. Several Telegram webhook
workers also claim each update before handling it (`UpdateClaims`), so that an update
whose worker died mid-turn is handled by another, and one that was handled is not again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
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


MINE, DONE, BUSY = "mine", "done", "busy"
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


@dataclass(frozen=True)
class Claim:
    state: str  # MINE: handle it now; DONE: handled already; BUSY: another worker has it
    token: str = ""


class UpdateClaims:
    """Which of several webhook workers handles an update, in Redis.

    A worker claims an update before handling it and keeps the claim alive while it
    works (`renew`); a worker that dies stops renewing, so its claim expires within
    `seconds` and another worker may take the update over. A finished update is marked
    done for a day (as long as Telegram keeps one), so a late redelivery is only answered.
    """

    def __init__(self, client: object, *, seconds: float = 15.0, prefix: str = "civic:claim:"):
        self._redis, self.seconds, self._prefix = client, seconds, prefix
        self._renew = client.register_script(_RENEW)  # type: ignore[attr-defined]
        self._release = client.register_script(_RELEASE)  # type: ignore[attr-defined]

    def claim(self, key: str) -> Claim:
        token = secrets.token_hex(8)
        name = self._prefix + key
        if self._redis.set(name, token, nx=True, px=int(self.seconds * 1000)):  # type: ignore[attr-defined]
            return Claim(MINE, token)
        held = self._redis.get(name)  # type: ignore[attr-defined]
        if held is None:  # expired between the two calls: try once more
            return self.claim(key)
        return Claim(DONE) if held in (b"done", "done") else Claim(BUSY)

    def renew(self, key: str, claim: Claim) -> bool:
        """Keep `claim` for another `seconds`; False when it was lost (expired, taken)."""
        return bool(
            self._renew(keys=[self._prefix + key], args=[claim.token, int(self.seconds * 1000)])
        )

    def release(self, key: str, claim: Claim) -> None:
        """Give the update up undone, so that its next delivery is handled at once."""
        self._release(keys=[self._prefix + key], args=[claim.token])

    def finish(self, key: str) -> None:
        self._redis.set(self._prefix + key, "done", ex=int(KEEP_FOR.total_seconds()))  # type: ignore[attr-defined]
