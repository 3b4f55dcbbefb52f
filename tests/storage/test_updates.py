"""The ledger of handled channel updates, in the database and in Redis."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import session_factory
from storage.models import ProcessedUpdate, utcnow
from storage.updates import KEEP_FOR, DatabaseLedger, RedisLedger, purge_processed_updates


def test_database_ledger(database_url: str) -> None:
    ledger = DatabaseLedger(session_factory(database_url))
    seen = [ledger.first_time("tg:1"), ledger.first_time("tg:1"), ledger.first_time("tg:2")]
    assert seen == [True, False, True]


def test_database_ledger_remembers_across_instances(database_url: str) -> None:
    assert DatabaseLedger(session_factory(database_url)).first_time("tg:7") is True
    assert DatabaseLedger(session_factory(database_url)).first_time("tg:7") is False


def test_redis_ledger(redis_client: object) -> None:
    ledger = RedisLedger(redis_client)
    seen = [ledger.first_time("tg:1"), ledger.first_time("tg:1"), ledger.first_time("tg:2")]
    assert seen == [True, False, True]


def test_redis_ledger_keys_expire_after_a_day(redis_client: object) -> None:
    RedisLedger(redis_client, prefix="test:").first_time("tg:1")
    ttl = redis_client.ttl("test:tg:1")  # type: ignore[attr-defined]
    assert 0 < ttl <= int(KEEP_FOR.total_seconds())


def test_purge_removes_only_old_keys(session: Session) -> None:
    now = utcnow()
    session.add_all(
        [
            ProcessedUpdate(key="old", at=now - KEEP_FOR - KEEP_FOR / 24),
            ProcessedUpdate(key="recent", at=now - KEEP_FOR + KEEP_FOR / 24),
            ProcessedUpdate(key="new", at=now),
        ]
    )
    session.commit()
    assert purge_processed_updates(session=session) == 1
    session.commit()
    assert sorted(session.scalars(select(ProcessedUpdate.key))) == ["new", "recent"]
