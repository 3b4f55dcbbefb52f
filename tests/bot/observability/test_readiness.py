"""bot.observability._readiness: each check's result, a failure or a hang reported as
such (never raised), and the Redis check against the real Redis."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bot.observability import Readiness, redis_check
from tests.conftest import REDIS_URL


async def answers() -> None:
    return None


async def refuses() -> None:
    raise ConnectionRefusedError("connection refused by postgres://user:secret@db:5432")


async def hangs() -> None:
    await asyncio.sleep(60)


async def test_every_check_is_reported_and_what_failed_is_named() -> None:
    readiness = Readiness({"database": answers, "rasa": refuses, "redis": hangs}, timeout=0.2)
    ready, body = await readiness.run()
    assert not ready
    assert body["status"] == "not ready"
    assert body["failed"] == ["rasa", "redis"]
    assert body["checks"]["database"] == "ok"
    # no password from a URL in what is shown
    assert body["checks"]["rasa"] == "ConnectionRefusedError: db:5432"
    assert body["checks"]["redis"] == "no answer within 0.2 s"


async def test_all_answering_is_ready() -> None:
    assert await Readiness({"database": answers}).run() == (
        True,
        {"status": "ready", "checks": {"database": "ok"}},
    )


async def test_the_redis_check_asks_the_real_redis(redis_client: object) -> None:
    await redis_check(REDIS_URL, 1.0)()


async def test_the_redis_check_fails_where_nothing_listens() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Exception, match="onnect"):
        await redis_check(f"redis://127.0.0.1:{port}/0", 1.0)()
