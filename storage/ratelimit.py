"""Rate limits and failure backoff, counted in Redis when REDIS_URL is set (so every
process and every worker counts together) and in this process's memory otherwise.

Two mechanisms over one store:

- `RateLimiter.hit(rule, who)`: a fixed-window counter. At most `rule.limit` hits per
  `rule.window` seconds for each `who` (an IP address, a session, a citizen, an API key);
  windows start at multiples of the window on the clock, so a refusal says exactly when
  the next window opens (`retry_after`). A refused hit is counted too: a client that keeps
  hammering gains nothing.
- `Backoff`: failed attempts (sign-ins) with an increasing wait. The first `free`
  failures cost nothing; then each attempt waits `base`, 2 x `base`, 4 x `base` ... up to
  `cap` seconds after the previous one. Every attempt is counted when it is let through,
  before its outcome is known, so a burst of parallel guesses cannot all slip through in
  the same instant; a success clears the count (or, for a shared key such as an IP
  address, takes this attempt back).

Identities are hashed before they become keys. The clock is injectable (`clock=`, or
`now=` per call) so tests never depend on timing. When Redis cannot be reached the
limits let requests through and log it: an outage of the limiter must not become an
outage of the service.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

Clock = Callable[[], float]
PREFIX = "civic:rl:"


@dataclass(frozen=True)
class Rule:
    """At most `limit` hits per `window` seconds; a limit of 0 or less is no limit."""

    name: str
    limit: int
    window: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # whole seconds until the next window; 0 when allowed

    @property
    def first_refusal(self) -> bool:
        """True for the first hit over the limit in its window: the one worth answering."""
        return self.count == self.limit + 1


@dataclass(frozen=True)
class BackoffPolicy:
    """`free` failures without a wait, then `base` seconds doubling up to `cap`; the count
    is forgotten `forget_after` seconds after the last attempt."""

    name: str
    free: int
    base: float = 1.0
    cap: float = 900.0
    forget_after: int = 24 * 3600

    def delay(self, failures: int) -> float:
        if self.free <= 0 or failures < self.free:
            return 0.0
        return float(min(self.base * 2 ** min(failures - self.free, 64), self.cap))


class Store(Protocol):
    def incr(self, key: str, ttl: int) -> int:
        """Add one to the counter `key` (created with a lifetime of `ttl` seconds)."""
        ...

    def reserve(self, key: str, policy: BackoffPolicy, now: float) -> float:
        """Seconds still to wait; when 0, the attempt is counted and may go ahead."""
        ...

    def peek(self, key: str, policy: BackoffPolicy, now: float) -> float:
        """Seconds still to wait, without counting anything."""
        ...

    def take_back(self, key: str) -> None:
        """One attempt fewer (it succeeded)."""
        ...

    def clear(self, key: str) -> None: ...


def identity_key(prefix: str, name: str, who: str) -> str:
    digest = hashlib.blake2b(who.encode("utf-8"), digest_size=12).hexdigest()
    return f"{prefix}{name}:{digest}"


def _wait(policy: BackoffPolicy, count: int, last: float, now: float) -> float:
    return max(0.0, last + policy.delay(count) - now)


class MemoryStore:
    """One process's counters; expired entries are swept once a minute."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[str, tuple[int, float]] = {}  # key: (count, expires at)
        self._attempts: dict[str, tuple[int, float, float]] = {}  # (count, last, expires)
        self._next_sweep = 0.0

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60
        self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        self._attempts = {k: v for k, v in self._attempts.items() if v[2] > now}

    def incr(self, key: str, ttl: int) -> int:
        now = self._clock()
        with self._lock:
            self._sweep(now)
            count, expires = self._counters.get(key, (0, now + ttl))
            if expires <= now:
                count, expires = 0, now + ttl
            self._counters[key] = (count + 1, expires)
            return count + 1

    def _attempt(self, key: str, now: float) -> tuple[int, float]:
        count, last, expires = self._attempts.get(key, (0, 0.0, 0.0))
        return (count, last) if expires > now else (0, 0.0)

    def reserve(self, key: str, policy: BackoffPolicy, now: float) -> float:
        with self._lock:
            self._sweep(now)
            count, last = self._attempt(key, now)
            wait = _wait(policy, count, last, now)
            if wait <= 0:
                self._attempts[key] = (count + 1, now, now + policy.forget_after)
            return wait

    def peek(self, key: str, policy: BackoffPolicy, now: float) -> float:
        with self._lock:
            count, last = self._attempt(key, now)
            return _wait(policy, count, last, now)

    def take_back(self, key: str) -> None:
        with self._lock:
            if key in self._attempts:
                count, last, expires = self._attempts[key]
                self._attempts[key] = (max(count - 1, 0), last, expires)

    def clear(self, key: str) -> None:
        with self._lock:
            self._attempts.pop(key, None)


# The same rules as MemoryStore, run atomically inside Redis.
_INCR = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
_WAIT = """
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local last = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local free, base, cap, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local wait = 0
if free > 0 and n >= free then
  wait = math.max(0, last + math.min(base * 2 ^ math.min(n - free, 64), cap) - now)
end
"""
_RESERVE = (
    _WAIT
    + """
if wait <= 0 then
  redis.call('HSET', KEYS[1], 'n', n + 1, 't', ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
end
return tostring(wait)
"""
)
_PEEK = _WAIT + "return tostring(wait)"
_TAKE_BACK = """
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if n > 0 then redis.call('HSET', KEYS[1], 'n', n - 1) end
return 0
"""


class RedisStore:
    """Counters in Redis, shared by every process. Any Redis failure lets the request
    through (and is logged): the limits protect the service, they must not stop it."""

    def __init__(self, client: Any) -> None:
        self._redis = client
        self._incr = client.register_script(_INCR)
        self._reserve = client.register_script(_RESERVE)
        self._peek = client.register_script(_PEEK)
        self._take_back = client.register_script(_TAKE_BACK)

    def _call(self, action: Callable[[], Any], fallback: Any) -> Any:
        import redis

        try:
            return action()
        except redis.RedisError as exc:
            log.warning("rate limits not applied: Redis failed (%s)", type(exc).__name__)
            return fallback

    def _policy_args(self, policy: BackoffPolicy, now: float) -> list[Any]:
        return [policy.free, repr(policy.base), repr(policy.cap), repr(now), policy.forget_after]

    def incr(self, key: str, ttl: int) -> int:
        return int(self._call(lambda: self._incr(keys=[key], args=[ttl]), 0))

    def reserve(self, key: str, policy: BackoffPolicy, now: float) -> float:
        args = self._policy_args(policy, now)
        return float(self._call(lambda: self._reserve(keys=[key], args=args), 0))

    def peek(self, key: str, policy: BackoffPolicy, now: float) -> float:
        args = self._policy_args(policy, now)
        return float(self._call(lambda: self._peek(keys=[key], args=args), 0))

    def take_back(self, key: str) -> None:
        self._call(lambda: self._take_back(keys=[key]), None)

    def clear(self, key: str) -> None:
        self._call(lambda: self._redis.delete(key), None)


def make_store(redis_url: str | None, clock: Clock = time.time) -> Store:
    """Redis when configured (short timeouts: a hit is on every request), else memory."""
    if redis_url:
        import redis

        client = redis.Redis.from_url(
            redis_url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30
        )
        return RedisStore(client)
    return MemoryStore(clock)


class RateLimiter:
    def __init__(self, store: Store, clock: Clock = time.time, prefix: str = PREFIX) -> None:
        self._store, self._clock, self._prefix = store, clock, prefix

    def hit(self, rule: Rule, who: str, *, now: float | None = None) -> Verdict:
        """Count one hit by `who` against `rule`, and say whether it is within the limit."""
        if rule.limit <= 0:
            return Verdict(True, 0, rule.limit, 0)
        now = self._clock() if now is None else now
        window = int(now // rule.window)
        ends = (window + 1) * rule.window
        key = identity_key(self._prefix, f"{rule.name}:{window}", who)
        count = self._store.incr(key, max(1, math.ceil(ends - now)) + 1)
        if count <= rule.limit:
            return Verdict(True, count, rule.limit, 0)
        return Verdict(False, count, rule.limit, max(1, math.ceil(ends - now)))


class Backoff:
    """Attempts that may fail (sign-ins), with the wait growing after each failure."""

    def __init__(self, store: Store, clock: Clock = time.time, prefix: str = PREFIX) -> None:
        self._store, self._clock, self._prefix = store, clock, prefix

    def _key(self, policy: BackoffPolicy, who: str) -> str:
        return identity_key(self._prefix, f"backoff:{policy.name}", who)

    def attempt(self, checks: list[tuple[BackoffPolicy, str]], *, now: float | None = None) -> int:
        """0 and every check counted when the attempt may go ahead; otherwise the whole
        seconds to wait, and nothing counted (as far as can be told before counting)."""
        now = self._clock() if now is None else now
        waits = [self._store.peek(self._key(p, who), p, now) for p, who in checks]
        if max(waits, default=0.0) > 0:
            return math.ceil(max(waits))
        for policy, who in checks:
            wait = self._store.reserve(self._key(policy, who), policy, now)
            if wait > 0:  # another attempt got in first
                return math.ceil(wait)
        return 0

    def succeeded(self, policy: BackoffPolicy, who: str) -> None:
        """The attempt succeeded: the count of `who` starts again."""
        self._store.clear(self._key(policy, who))

    def not_a_failure(self, policy: BackoffPolicy, who: str) -> None:
        """The attempt succeeded, but `who` is shared (an IP address): take it back only."""
        self._store.take_back(self._key(policy, who))
