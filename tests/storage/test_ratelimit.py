"""Rate limits and sign-in backoff, in memory and in the real Redis, on a clock the tests
move by hand."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from storage.ratelimit import (
    Backoff,
    BackoffPolicy,
    MemoryStore,
    RateLimiter,
    RedisStore,
    Rule,
    Store,
    make_store,
)
from tests.conftest import REDIS_URL, service_unavailable


class Clock:
    def __init__(self, now: float = 1_000_020.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of the test's own, so tests sharing the Redis never see each other."""
    yield f"test:rl:{secrets.token_hex(6)}:"


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, clock: Clock, prefix: str) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore(clock)
        return
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:
        service_unavailable(f"Redis at {REDIS_URL}", exc)
    yield RedisStore(client)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


MINUTE = Rule("chat", limit=3, window=60)


def test_a_window_allows_its_limit_then_says_when_the_next_one_opens(
    store: Store, clock: Clock, prefix: str
) -> None:
    limiter = RateLimiter(store, clock, prefix)
    clock.now = 6_000_000 + 45.0  # 15 s before the minute ends
    verdicts = [limiter.hit(MINUTE, "10.0.0.1") for _ in range(5)]
    assert [(v.allowed, v.count, v.retry_after) for v in verdicts] == [
        (True, 1, 0),
        (True, 2, 0),
        (True, 3, 0),
        (False, 4, 15),
        (False, 5, 15),
    ]
    assert [v.first_refusal for v in verdicts] == [False, False, False, True, False]
    clock.now += 14.5
    assert limiter.hit(MINUTE, "10.0.0.1").retry_after == 1
    clock.now += 0.5  # the next minute
    assert limiter.hit(MINUTE, "10.0.0.1").allowed is True


def test_each_identity_and_rule_counts_apart(store: Store, clock: Clock, prefix: str) -> None:
    limiter = RateLimiter(store, clock, prefix)
    other_rule = Rule("open311", limit=3, window=60)
    for _ in range(3):
        limiter.hit(MINUTE, "session-a")
    assert limiter.hit(MINUTE, "session-a").allowed is False
    assert limiter.hit(MINUTE, "session-b").allowed is True
    assert limiter.hit(other_rule, "session-a").allowed is True


def test_a_limit_of_zero_is_no_limit(store: Store, clock: Clock, prefix: str) -> None:
    limiter = RateLimiter(store, clock, prefix)
    off = Rule("chat", limit=0, window=60)
    assert all(limiter.hit(off, "x").allowed for _ in range(100))


def test_a_day_long_window_and_an_explicit_time(store: Store, prefix: str) -> None:
    limiter = RateLimiter(store, Clock(0.0), prefix)
    day = Rule("subscribe", limit=2, window=86_400)
    noon = 20_000 * 86_400 + 43_200.0
    assert [limiter.hit(day, "7", now=noon).allowed for _ in range(3)] == [True, True, False]
    assert limiter.hit(day, "7", now=noon).retry_after == 43_200
    assert limiter.hit(day, "7", now=noon + 43_200).allowed is True


def test_identities_are_not_kept_in_the_clear(clock: Clock, prefix: str) -> None:
    store = MemoryStore(clock)
    RateLimiter(store, clock, prefix).hit(MINUTE, "203.0.113.9")
    Backoff(store, clock, prefix).attempt([(BackoffPolicy("login", 5), "zhao.officer")])
    keys = " ".join([*store._counters, *store._attempts])
    assert "203.0.113.9" not in keys and "zhao.officer" not in keys
    assert keys.startswith(prefix)


POLICY = BackoffPolicy("login-account", free=3, base=1.0, cap=10.0)


def test_failures_past_the_free_ones_wait_doubling_up_to_the_cap(
    store: Store, clock: Clock, prefix: str
) -> None:
    backoff = Backoff(store, clock, prefix)
    checks = [(POLICY, "zhao")]
    assert [backoff.attempt(checks) for _ in range(3)] == [0, 0, 0]
    waits = []
    for _ in range(6):
        wait = backoff.attempt(checks)  # refused: nothing counted
        assert wait > 0 and backoff.attempt(checks) == wait
        waits.append(wait)
        clock.now += wait
        assert backoff.attempt(checks) == 0  # the attempt, failed
    assert waits == [1, 2, 4, 8, 10, 10]


def test_a_success_starts_the_count_again(store: Store, clock: Clock, prefix: str) -> None:
    backoff = Backoff(store, clock, prefix)
    checks = [(POLICY, "zhao")]
    for _ in range(3):
        backoff.attempt(checks)
    assert backoff.attempt(checks) == 1
    clock.now += 1
    assert backoff.attempt(checks) == 0
    backoff.succeeded(POLICY, "zhao")
    assert [backoff.attempt(checks) for _ in range(4)] == [0, 0, 0, 1]


def test_a_shared_identity_only_takes_a_success_back(
    store: Store, clock: Clock, prefix: str
) -> None:
    backoff = Backoff(store, clock, prefix)
    ip = [(POLICY, "198.51.100.7")]
    for _ in range(2):
        backoff.attempt(ip)  # two failures
    for _ in range(5):
        assert backoff.attempt(ip) == 0
        backoff.not_a_failure(POLICY, "198.51.100.7")  # five successes
    assert backoff.attempt(ip) == 0  # the third failure
    assert backoff.attempt(ip) == 1


def test_one_check_in_backoff_refuses_the_attempt_and_counts_nothing(
    store: Store, clock: Clock, prefix: str
) -> None:
    backoff = Backoff(store, clock, prefix)
    account, ip = (POLICY, "zhao"), (BackoffPolicy("login-ip", free=10), "198.51.100.7")
    for _ in range(3):
        backoff.attempt([account])
    for _ in range(20):
        assert backoff.attempt([account, ip]) == 1
    # the address was never counted while the account refused
    assert all(backoff.attempt([ip]) == 0 for _ in range(10))
    assert backoff.attempt([ip]) == 1


def test_an_attempt_let_through_holds_back_the_next_until_it_is_settled(
    store: Store, clock: Clock, prefix: str
) -> None:
    """Parallel guesses: once in backoff, the one let through makes the others wait."""
    backoff = Backoff(store, clock, prefix)
    checks = [(POLICY, "zhao")]
    for _ in range(3):
        backoff.attempt(checks)
    clock.now += 1
    assert [backoff.attempt(checks) for _ in range(3)] == [0, 2, 2]


def test_failures_are_forgotten_after_a_quiet_day(clock: Clock, prefix: str) -> None:
    store = MemoryStore(clock)
    backoff = Backoff(store, clock, prefix)
    for _ in range(3):
        backoff.attempt([(POLICY, "zhao")])
    clock.now += POLICY.forget_after
    assert [backoff.attempt([(POLICY, "zhao")]) for _ in range(4)] == [0, 0, 0, 1]


def test_redis_keys_expire_with_their_window_and_backoff(clock: Clock, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:
        service_unavailable(f"Redis at {REDIS_URL}", exc)
    store = RedisStore(client)
    clock.now = 6_000_000 + 50.0
    RateLimiter(store, clock, prefix).hit(MINUTE, "x")
    Backoff(store, clock, prefix).attempt([(POLICY, "zhao")])
    ttls = sorted(client.ttl(key) for key in client.scan_iter(match=f"{prefix}*"))
    assert ttls[0] <= 11 and 86_000 < ttls[1] <= POLICY.forget_after
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def test_an_unreachable_redis_lets_requests_through(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store("redis://127.0.0.1:1/0")
    assert isinstance(store, RedisStore)
    assert RateLimiter(store, clock).hit(Rule("chat", 1, 60), "x").allowed is True
    assert RateLimiter(store, clock).hit(Rule("chat", 1, 60), "x").allowed is True
    assert Backoff(store, clock).attempt([(POLICY, "zhao")]) == 0
    assert "rate limits not applied: Redis failed (ConnectionError)" in caplog.text


def test_make_store_picks_memory_without_redis() -> None:
    assert isinstance(make_store(None), MemoryStore)
