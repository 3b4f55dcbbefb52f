"""The bot's Telegram send budget, shared by every process that sends.

Telegram allows a bot about 30 messages a second. Every send takes a token first, by
priority: `reply` (the gateway answering a citizen) may use the whole limit,
`notification` (the notifier) all but one reserve, `bulk` (duty posts, invitations) all
but two reserves, so a flood of bulk sends never leaves a citizen's answer waiting.

With Redis the budget is one sliding window per bot: a sorted set of the last second's
sends, checked and added to by one Lua script on Redis's own clock, so every process on
every host counts against the same second. Without Redis, or while Redis does not answer
(a warning is logged, and the send goes on), each host meters itself with the files of
`SendMeter`: replies and notifications are counted, bulk sends wait for what the others
left of its share this second.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.delivery._meter import SendMeter
from bot.observability import count_budget_fallback, count_budget_wait

log = logging.getLogger(__name__)

Priority = Literal["reply", "notification", "bulk"]
PRIORITIES: tuple[Priority, ...] = ("reply", "notification", "bulk")
KEY_PREFIX = "civic:tg-budget:"
WARN_EVERY = 60.0  # seconds between two warnings that Redis is not answering
RETRY_REDIS = 5.0  # after a failure, the local meter alone for this long (no timeouts per send)

# KEYS[1] the bot's window; ARGV: ceiling for this priority, window (us), member.
# Returns {1, now_us} when taken, {0, wait_us} when the ceiling is reached.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local ceiling = tonumber(ARGV[1])
if used < ceiling then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return {1, now}
end
local oldest = redis.call('ZRANGE', KEYS[1], used - ceiling, used - ceiling, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now + 1}
"""


@dataclass(frozen=True)
class Attempt:
    granted: bool
    at: float  # when taken (seconds since the epoch, on the budget's clock)
    wait: float  # when not granted: seconds until a token may be there


def ceilings(rate: float, reserve: float) -> dict[Priority, int]:
    """How many sends in one second each priority may bring the count up to."""
    limit = max(1, int(rate))
    return {
        "reply": limit,
        "notification": max(1, int(rate - reserve)),
        "bulk": max(1, int(rate - 2 * reserve)),
    }


def bot_key(token: str | None) -> str:
    """The bot's id (the token's part before ':', which Telegram shows publicly)."""
    return (token or "").split(":", 1)[0] or "none"


class LocalBudget:
    """One host's budget, from the per-process meter files (no Redis)."""

    def __init__(self, meter: SendMeter, limits: dict[Priority, int]) -> None:
        self._meter, self._limits = meter, limits

    def attempt(self, priority: Priority) -> Attempt:
        now = time.time()
        if priority == "bulk":
            left = self._limits["bulk"] - self._meter.others() - self._meter.mine()
            if left <= 0:
                return Attempt(False, now, 1.0 - now % 1.0 + 0.001)
        self.record()
        return Attempt(True, now, 0.0)

    def record(self) -> None:
        self._meter.record()

    def close(self) -> None:
        self._meter.close()


class SendBudget:
    """Takes a token before each Telegram send; see the module's docstring."""

    def __init__(
        self,
        *,
        meter: SendMeter,
        rate: float,
        reserve: float,
        client: Any = None,
        bot: str = "none",
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.limits = ceilings(rate, reserve)
        self.local = LocalBudget(meter, self.limits)
        self._client, self._key, self._sleep = client, KEY_PREFIX + bot, sleep
        self._script = client.register_script(_TAKE) if client is not None else None
        self._warned = 0.0
        self._redis_back_at = 0.0  # while Redis failed: when to ask it again

    def attempt(self, priority: Priority) -> Attempt:
        """One try at a token: granted, or how long to wait before the next try."""
        if self._script is None:
            return self.local.attempt(priority)
        if time.monotonic() < self._redis_back_at:
            count_budget_fallback()
            return self.local.attempt(priority)
        import redis

        try:
            granted, value = self._script(
                keys=[self._key], args=[self.limits[priority], 1_000_000, secrets.token_hex(8)]
            )
        except redis.RedisError as exc:
            self._redis_failed(exc)
            return self.local.attempt(priority)
        if int(granted):
            self.local.record()  # counted on this host too, for when Redis goes away
            return Attempt(True, int(value) / 1e6, 0.0)
        return Attempt(False, time.time(), int(value) / 1e6)

    def _redis_failed(self, exc: Exception) -> None:
        count_budget_fallback()
        now = time.monotonic()
        self._redis_back_at = now + RETRY_REDIS
        if not self._warned or now - self._warned > WARN_EVERY:
            self._warned = now
            log.warning(
                "Telegram send budget: Redis did not answer (%s); metering this host only",
                type(exc).__name__,
            )

    async def acquire(
        self, priority: Priority, stopping: Callable[[], bool] | None = None
    ) -> float | None:
        """Wait for a token and take it; returns when it was taken, or None if `stopping`
        said to stop meanwhile."""
        waited = False
        while True:
            # inline, not in a thread: a take is a pwrite or one Redis round trip of well
            # under a millisecond (at worst a 0.5 s time-out, then 5 s without Redis), and
            # the executor's threads are often all busy with database work
            result = self.attempt(priority)
            if result.granted:
                return result.at
            if stopping is not None and stopping():
                return None
            if not waited:
                count_budget_wait(priority)
                waited = True
            await self._sleep(min(max(result.wait, 0.001), 1.0))

    def close(self) -> None:
        self.local.close()
        if self._client is not None:
            self._client.close()


def make_budget(
    *,
    var_dir: Path,
    role: str,
    redis_url: str | None,
    token: str | None,
    rate: float,
    reserve: float,
) -> SendBudget:
    """The budget of one sending process: in Redis when REDIS_URL is set (short timeouts:
    a take precedes every send), else on this host's meter files."""
    client = None
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    meter = SendMeter(var_dir / "send-meter", role)
    return SendBudget(meter=meter, rate=rate, reserve=reserve, client=client, bot=bot_key(token))
