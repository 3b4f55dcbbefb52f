"""The ledger of handled channel updates, in the database and in Redis."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import session_factory
from storage.models import ProcessedUpdate, utcnow
from storage.updates import (
    BUSY,
    DONE,
    KEEP_FOR,
    MINE,
    Claim,
    DatabaseLedger,
    RedisLedger,
    UpdateClaims,
    purge_processed_updates,
)


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


# -- claims: several webhook workers -------------------------------------------------


def test_an_update_is_claimed_by_one_worker_until_it_is_done(redis_client: object) -> None:
    claims = UpdateClaims(redis_client, seconds=5)
    first = claims.claim("tg:7")
    assert first.state == MINE and first.token
    assert claims.claim("tg:7").state == BUSY  # another worker, while the first works
    assert claims.renew("tg:7", first)
    claims.finish("tg:7")
    assert claims.claim("tg:7").state == DONE  # a late redelivery is only answered
    assert not claims.renew("tg:7", first)  # nothing left to renew


def test_a_dead_workers_claim_lapses_and_another_takes_the_update(redis_client: object) -> None:
    claims = UpdateClaims(redis_client, seconds=0.3)
    dead = claims.claim("tg:8")  # its worker is killed and never renews
    assert claims.claim("tg:8").state == BUSY
    time.sleep(0.4)
    taken = claims.claim("tg:8")
    assert taken.state == MINE and taken.token != dead.token
    assert not claims.renew("tg:8", dead)  # the old token is no longer the holder
    assert claims.renew("tg:8", taken)


def test_a_claim_given_up_lets_the_next_delivery_in_at_once(redis_client: object) -> None:
    claims = UpdateClaims(redis_client, seconds=30)
    mine = claims.claim("tg:9")
    claims.release("tg:9", Claim(MINE, "someone-elses"))  # only the holder may
    assert claims.claim("tg:9").state == BUSY
    claims.release("tg:9", mine)
    assert claims.claim("tg:9").state == MINE
