"""The shared Telegram send budget: on the real Redis, takers in several processes and
threads at once stay under the limit in every one-second window, bulk takes leave the
reserve to replies, and a Redis that does not answer falls back to the host's meter."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.delivery import SendBudget, SendMeter, make_budget
from bot.delivery._budget import KEY_PREFIX, ceilings
from bot.observability._metrics import BUDGET_FALLBACKS, BUDGET_WAITS
from tests.conftest import REDIS_URL

LIMIT = 8


def _budget(tmp_path: Path, role: str, *, rate: float = LIMIT, reserve: float = 2) -> SendBudget:
    return make_budget(
        var_dir=tmp_path, role=role, redis_url=REDIS_URL, token="42:x", rate=rate, reserve=reserve
    )


def _take(var_dir: str, role: str, count: int, out: list[float] | None = None) -> list[float]:
    """`count` reply tokens, each taken as soon as the budget allows; when each was taken."""
    budget = _budget(Path(var_dir), role)
    stamps = out if out is not None else []

    async def run() -> None:
        for _ in range(count):
            at = await budget.acquire("reply")
            assert at is not None
            stamps.append(at)

    asyncio.run(run())
    budget.close()
    return stamps


def _most_in_one_second(stamps: list[float]) -> int:
    micros = sorted(round(s * 1e6) for s in stamps)
    return max(sum(1 for t in micros if s <= t < s + 1_000_000) for s in micros)


def test_the_priorities_ceilings() -> None:
    assert ceilings(25, 5) == {"reply": 25, "notification": 20, "bulk": 15}
    assert ceilings(4, 5) == {"reply": 4, "notification": 1, "bulk": 1}


def test_processes_and_threads_together_stay_under_the_limit(
    redis_client: object, tmp_path: Path
) -> None:
    per_taker = 7
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        others = pool.starmap_async(_take, [(str(tmp_path), f"p{i}", per_taker) for i in range(2)])
        mine: list[list[float]] = [[], []]
        threads = [
            threading.Thread(target=_take, args=(str(tmp_path), f"t{i}", per_taker, mine[i]))
            for i in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stamps = [s for taker in [*others.get(timeout=60), *mine] for s in taker]
    assert len(stamps) == 4 * per_taker  # every taker got all its tokens
    assert _most_in_one_second(stamps) == LIMIT  # full use of the budget, never more


def test_a_bulk_flood_leaves_the_reserve_to_replies(redis_client: object, tmp_path: Path) -> None:
    bulk, replies = _budget(tmp_path, "bulk"), _budget(tmp_path, "gateway")
    flood = [bulk.attempt("bulk") for _ in range(20)]
    assert [a.granted for a in flood] == [True] * 4 + [False] * 16  # 8 less two reserves
    assert 0 < flood[-1].wait <= 1.0  # told to come back when the oldest take leaves
    notifications = [bulk.attempt("notification") for _ in range(5)]
    assert [a.granted for a in notifications] == [True, True, False, False, False]
    answers = [replies.attempt("reply") for _ in range(3)]
    assert [a.granted for a in answers] == [True, True, False]  # the whole limit, no more
    assert redis_client.zcard(KEY_PREFIX + "42") == LIMIT  # type: ignore[attr-defined]


def test_a_send_over_its_share_waits_and_is_counted(redis_client: object, tmp_path: Path) -> None:
    budget = _budget(tmp_path, "campaigns")
    waits = BUDGET_WAITS.labels(priority="bulk")._value.get()
    stamps = [asyncio.run(budget.acquire("bulk")) for _ in range(5)]  # the share is 4
    assert BUDGET_WAITS.labels(priority="bulk")._value.get() == waits + 1
    assert round((stamps[4] or 0) * 1e6) - round((stamps[0] or 0) * 1e6) >= 1_000_000
    budget.close()


def test_a_reply_waits_no_longer_than_one_window_during_a_flood(
    redis_client: object, tmp_path: Path
) -> None:
    """Four bulk takers keep the bulk share full; every reply is granted on its first try,
    in the second it asked."""
    stop = threading.Event()
    refused = [0]

    def flood(role: str) -> None:
        budget = _budget(tmp_path, role)
        while not stop.is_set():
            if not budget.attempt("bulk").granted:
                refused[0] += 1
        budget.close()

    threads = [threading.Thread(target=flood, args=(f"b{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    replies = _budget(tmp_path, "gateway")
    try:
        answers = []
        for _ in range(6):
            time.sleep(0.3)
            answers.append(replies.attempt("reply"))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert refused[0] > 0  # the flood did reach its ceiling
    assert [a.granted for a in answers] == [True] * 6


class SilentServer:
    """Accepts connections and never answers: a Redis that hangs."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_a_redis_that_does_not_answer_falls_back_to_the_meter(
    silent: SilentServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    budget = make_budget(
        var_dir=tmp_path,
        role="notifier",
        redis_url=f"redis://127.0.0.1:{silent.port}/0",
        token="42:x",
        rate=LIMIT,
        reserve=2,
    )
    caplog.set_level(logging.WARNING, logger="bot.delivery._budget")
    fallbacks = BUDGET_FALLBACKS._value.get()
    taken = [asyncio.run(budget.acquire("notification")) for _ in range(3)]
    assert all(at is not None for at in taken)
    assert BUDGET_FALLBACKS._value.get() == fallbacks + 3
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        "Telegram send budget: Redis did not answer (TimeoutError); metering this host only"
    ]
    assert len(silent.accepted) == 1  # asked once, then left alone for a while
    # the sends were counted on this host, where a bulk sender sees them
    campaigns = SendMeter(tmp_path / "send-meter", "campaigns")
    assert campaigns.others() == 3
    budget.close()


def test_a_refused_connection_falls_back_too(tmp_path: Path) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    budget = make_budget(
        var_dir=tmp_path,
        role="gateway",
        redis_url=f"redis://127.0.0.1:{port}/0",
        token="42:x",
        rate=LIMIT,
        reserve=2,
    )
    assert budget.attempt("reply").granted
    budget.close()


def test_without_redis_bulk_uses_what_the_others_leave(tmp_path: Path) -> None:
    """The meter counts by the clock's second: the takes are made again should a second
    end among them (a loaded machine)."""
    for _ in range(5):
        time.sleep(1.02 - time.time() % 1.0)
        second = int(time.time())
        budget = make_budget(
            var_dir=tmp_path, role="campaigns", redis_url=None, token="42:x", rate=25, reserve=0
        )
        replies = SendMeter(tmp_path / "send-meter", "gateway")
        replies.record(20)  # the gateway answered 20 citizens this second
        granted = [budget.attempt("bulk").granted for _ in range(8)]
        if int(time.time()) == second:
            break
        budget.close()
        replies.close()
    assert granted == [True] * 5 + [False] * 3
    assert budget.attempt("reply").granted  # replies are only counted, never held back
    budget.close()
    replies.close()
