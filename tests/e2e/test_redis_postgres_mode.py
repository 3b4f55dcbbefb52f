"""The production-like deployment, end to end: PostgreSQL for our data and Redis for
Rasa's tracker and lock stores and for update de-duplication (REDIS_URL set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from storage.models import Citizen, Ticket
from tests.conftest import REDIS_URL, _postgres_schema_url, service_unavailable
from tests.e2e.conftest import BOT_TOKEN, Stack, TelegramUser, file_complaint, running_stack
from tests.fakes.botapi import BotApiStandIn

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def redis_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_unavailable(f"Redis at {REDIS_URL}", exc)
    client.flushdb()
    schemas = _postgres_schema_url()
    database_url = next(schemas)
    var_dir: Path = tmp_path_factory.mktemp("e2e-redis-var")
    with (
        BotApiStandIn(token=BOT_TOKEN) as telegram,
        running_stack(telegram, var_dir, database_url, REDIS_URL) as running,
    ):
        yield running
    for _ in schemas:
        pass
    client.flushdb()


def test_a_complaint_on_postgresql_with_rasa_state_in_redis(redis_stack: Stack) -> None:
    user = TelegramUser(redis_stack)
    number = file_complaint(user, "楼下的烧烤摊天天占道经营到半夜", place="萧山区")
    with redis_stack.db() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert (ticket.category, ticket.district) == ("street-vendor", "xiaoshan")
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).keys("*")]
    # Rasa keeps the conversation in Redis, under the citizen's pseudonym (no chat id).
    assert any(k.startswith("civic") and str(user.id) not in k for k in keys)
    assert not (redis_stack.var_dir / "rasa-tracker.db").exists()


def test_a_repeated_update_is_handled_once_through_redis(redis_stack: Stack) -> None:
    user = TelegramUser(redis_stack)
    update_id = redis_stack.telegram.send_text(user.id, "你好")
    redis_stack.telegram.wait_for_messages(user.id, 1, timeout=60)
    redis_stack.telegram.inject_duplicate(update_id)
    user.say("我的工单")
    assert len(redis_stack.telegram.messages(user.id)) == 2
    assert redis.Redis.from_url(REDIS_URL).exists(f"civic:update:tg:{update_id}") == 1


def test_rasa_keeps_a_conversation_for_the_retention_period_and_erasure_deletes_it(
    redis_stack: Stack,
) -> None:
    user = TelegramUser(redis_stack)
    number = file_complaint(user, "楼下的烧烤摊天天占道经营到半夜", place="萧山区")
    with redis_stack.db() as session:
        citizen_id = session.scalars(select(Ticket.citizen_id).where(Ticket.number == number)).one()
        public_id = session.get(Citizen, citizen_id).public_id
    client = redis.Redis.from_url(REDIS_URL)
    key = f"civic:tracker:{public_id}"
    # Rasa sets the key with the expiry from the generated endpoints (180 days by default).
    assert 179 * 86400 < client.ttl(key) <= 180 * 86400

    user.say("删除我的数据")
    [done] = user.tap("确定删除")
    assert done.text.startswith("已删除您的个人数据。")
    assert client.exists(key) == 0
