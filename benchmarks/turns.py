"""How fast a conversation turn goes through the whole stack, against bare Rasa NLU.

Starts `civicbot run` (the real Rasa server, action server, web app, scheduler and
notifier; no Telegram) on a scratch schema of the PostgreSQL at --database-url (dropped
afterwards) with the web chat's limits off, warms up, then measures in one run:

  parse c8     Rasa's `/model/parse` (NLU alone, no conversation), 8 requests at a time
  turns c8     web-chat turns (`POST /api/chat`), 8 conversations at a time
  turns c20    the same with 20 conversations at a time: p50 and p95 of a turn
  typing c20   20 citizens who each read the answer and type for about --pause seconds
               (default 2; each pause drawn between half and one and a half times it,
               each citizen starting at a random moment) before their next message
  long         one conversation of --long turns (default 300), one turn at a time:
               p50 of each block of 100 turns

Every turn is an ordinary one that leaves the conversation where it was: a greeting,
small talk, help, an FAQ question, the citizen's ticket list (each conversation in one
language, zh or en, in turn). A turn that does not answer 200 with a reply counts as an
error. Prints a table and each figure against its target:

  turns c8 / parse c8          at least 0.25
  p95 of a turn at c20         under 300 ms
  p50 last block / first       at most 1.3 (flat within 30%)

    .venv/bin/python benchmarks/turns.py --database-url postgresql+psycopg2://postgres@127.0.0.1:5432/test
        [--redis-url redis://127.0.0.1:6379/14] [--turns 400] [--long 300]

With --redis-url the stack runs as in production with Redis (Rasa's tracker and lock
stores, the rate-limit counters); without it Rasa keeps conversations in a SQLite file
in the scratch var directory. The machine's other load shows in every figure alike, so
compare the ratios of one run, not absolute rates across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.attackers import LIMITS_OFF, free_port, progress, running_stack  # noqa: E402
from benchmarks.notify_burst import scratch_database  # noqa: E402
from civic.settings import mask_url_password  # noqa: E402

# One round of ordinary turns per language: none starts a form or files anything.
ROUNDS = {
    "zh": [
        "你好",
        "你好吗",
        "你能干嘛",
        "综合考评是怎么打分的",
        "我的工单",
        "谢谢",
        "你是机器人吗",
    ],
    "en": [
        "hello",
        "how are you",
        "what can you do",
        "how is the comprehensive evaluation scored",
        "my tickets",
        "thanks",
        "are you a bot",
    ],
}
LANGUAGES = tuple(ROUNDS)
BLOCK = 100
TARGET_RATIO = 0.25
TARGET_P95 = 0.300
TARGET_FLAT = 1.3


@dataclass
class Timed:
    """Seconds per turn (or parse) and how many failed, over `elapsed` seconds."""

    seconds: list[float]
    errors: int
    elapsed: float

    @property
    def rate(self) -> float:
        return len(self.seconds) / self.elapsed if self.elapsed else 0.0


def p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


class Chat:
    """One citizen in the web chat, going round their language's ordinary turns."""

    def __init__(self, client: httpx.AsyncClient, language: str) -> None:
        self._client, self.language, self._next, self.token = client, language, 0, ""

    async def open(self) -> None:
        response = await self._client.post("/api/chat/session", json={})
        response.raise_for_status()
        self.token = str(response.json()["token"])

    async def turn(self) -> tuple[float, bool]:
        """(seconds, answered) for the next message of the round."""
        round_ = ROUNDS[self.language]
        text = round_[self._next % len(round_)]
        self._next += 1
        started = time.perf_counter()
        response = await self._client.post(
            "/api/chat", json={"token": self.token, "text": text, "language": self.language}
        )
        took = time.perf_counter() - started
        answered = response.status_code == 200 and bool(response.json().get("messages"))
        return took, answered


async def chats(client: httpx.AsyncClient, count: int) -> list[Chat]:
    opened = [Chat(client, LANGUAGES[n % len(LANGUAGES)]) for n in range(count)]
    await asyncio.gather(*(chat.open() for chat in opened))
    return opened


async def turns(
    client: httpx.AsyncClient, concurrency: int, total: int, label: str, pause: float = 0.0
) -> Timed:
    """`total` turns from `concurrency` conversations, each sending its next message
    `pause` seconds after its last one was answered (at once without a pause)."""
    people = await chats(client, concurrency)
    seconds: list[float] = []
    errors = 0

    # people do not write in step: each starts at a random moment of the first pause and
    # takes between half and one and a half times the pause to reply (seeded, repeatable)
    rng = random.Random(len(people))

    async def talk(chat: Chat, count: int) -> None:
        nonlocal errors
        if pause:
            await asyncio.sleep(rng.uniform(0, pause))
        for _ in range(count):
            took, answered = await chat.turn()
            seconds.append(took)
            errors += not answered
            progress(label, len(seconds), total)
            if pause:
                await asyncio.sleep(rng.uniform(0.5 * pause, 1.5 * pause))

    started = time.perf_counter()
    share, extra = divmod(total, concurrency)
    await asyncio.gather(*(talk(c, share + (n < extra)) for n, c in enumerate(people)))
    return Timed(seconds, errors, time.perf_counter() - started)


async def parses(rasa: httpx.AsyncClient, concurrency: int, total: int) -> Timed:
    texts = [text for language in LANGUAGES for text in ROUNDS[language]]
    seconds: list[float] = []
    errors = 0

    async def worker(offset: int, count: int) -> None:
        nonlocal errors
        for n in range(count):
            started = time.perf_counter()
            response = await rasa.post(
                "/model/parse", json={"text": texts[(offset + n) % len(texts)]}
            )
            seconds.append(time.perf_counter() - started)
            errors += response.status_code != 200 or "intent" not in response.json()
            progress("parse c8", len(seconds), total)

    started = time.perf_counter()
    share, extra = divmod(total, concurrency)
    await asyncio.gather(*(worker(n, share + (n < extra)) for n in range(concurrency)))
    return Timed(seconds, errors, time.perf_counter() - started)


async def long_conversation(client: httpx.AsyncClient, length: int) -> tuple[list[float], int]:
    (chat,) = await chats(client, 1)
    seconds, errors = [], 0
    for n in range(length):
        took, answered = await chat.turn()
        seconds.append(took)
        errors += not answered
        progress("long", n + 1, length)
    return seconds, errors


@dataclass
class Results:
    parse: Timed
    c8: Timed
    c20: Timed
    typing: Timed
    long: list[float]
    long_errors: int
    pause: float


async def measure(
    web_url: str, rasa_url: str, token: str, total: int, length: int, pause: float
) -> Results:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(base_url=web_url, timeout=120, limits=limits) as web,
        httpx.AsyncClient(
            base_url=rasa_url, timeout=120, limits=limits, params={"token": token}
        ) as rasa,
    ):
        # warm up: the model's first predictions, the processes' connection pools
        await parses(rasa, 8, 40)
        await turns(web, 8, 56, "warm-up")
        parse = await parses(rasa, 8, total)
        c8 = await turns(web, 8, total, "turns c8")
        c20 = await turns(web, 20, total, "turns c20")
        typing = await turns(web, 20, total, "typing c20", pause=pause)
        long, long_errors = await long_conversation(web, length)
    return Results(parse, c8, c20, typing, long, long_errors, pause)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def report(results: Results, where: str) -> str:
    parse, c8, c20, long = results.parse, results.c8, results.c20, results.long
    typing = results.typing
    blocks = [long[start : start + BLOCK] for start in range(0, len(long), BLOCK)]
    medians = [statistics.median(block) for block in blocks if block]
    ratio = c8.rate / parse.rate if parse.rate else 0.0
    flat = medians[-1] / medians[0] if medians else 0.0
    lines = [
        f"stack: civicbot run on {where}",
        "",
        "| measure | figure | p50 | p95 | errors |",
        "|---|---|---|---|---|",
        f"| /model/parse, c8 | {parse.rate:.0f}/s | {ms(p(parse.seconds, 0.5))} "
        f"| {ms(p(parse.seconds, 0.95))} | {parse.errors} |",
        f"| web-chat turns, c8 | {c8.rate:.1f}/s | {ms(p(c8.seconds, 0.5))} "
        f"| {ms(p(c8.seconds, 0.95))} | {c8.errors} |",
        f"| web-chat turns, c20 | {c20.rate:.1f}/s | {ms(p(c20.seconds, 0.5))} "
        f"| {ms(p(c20.seconds, 0.95))} | {c20.errors} |",
        f"| web-chat turns, 20 citizens typing {results.pause:g} s | {typing.rate:.1f}/s "
        f"| {ms(p(typing.seconds, 0.5))} | {ms(p(typing.seconds, 0.95))} | {typing.errors} |",
    ]
    for n, (block, median) in enumerate(zip(blocks, medians, strict=True)):
        lines.append(
            f"| long conversation, turns {n * BLOCK + 1}–{n * BLOCK + len(block)} | "
            f"c1 | {ms(median)} | {ms(p(block, 0.95))} | "
            f"{results.long_errors if n == 0 else ''} |"
        )
    lines += [
        "",
        "| target | measured | goal | met |",
        "|---|---|---|---|",
        f"| turns c8 / parse c8 | {ratio:.2f} | ≥ {TARGET_RATIO} | {_met(ratio >= TARGET_RATIO)} |",
        f"| p95 of a turn at c20, back to back | {ms(p(c20.seconds, 0.95))} "
        f"| < {ms(TARGET_P95)} | {_met(p(c20.seconds, 0.95) < TARGET_P95)} |",
        f"| p95 of a turn, 20 citizens typing | {ms(p(typing.seconds, 0.95))} "
        f"| < {ms(TARGET_P95)} | {_met(p(typing.seconds, 0.95) < TARGET_P95)} |",
        f"| p50 last block / first block | {flat:.2f} | ≤ {TARGET_FLAT} "
        f"| {_met(0 < flat <= TARGET_FLAT)} |",
    ]
    return "\n".join(lines)


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL to make a schema in")
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--turns", type=int, default=400, help="turns (and parses) per measure")
    parser.add_argument("--long", type=int, default=300, help="turns of the long conversation")
    parser.add_argument(
        "--pause", type=float, default=2.0, help="seconds each typing citizen takes to reply"
    )
    args = parser.parse_args()
    token = secrets.token_urlsafe(24)
    rasa_url = f"http://127.0.0.1:{free_port()}"
    with (
        scratch_database(args.database_url) as database_url,
        tempfile.TemporaryDirectory() as var_dir,
    ):
        env = {
            **LIMITS_OFF,
            "DATABASE_URL": database_url,
            "RASA_URL": rasa_url,
            "RASA_AUTH_TOKEN": token,
        }
        if args.redis_url:
            env["REDIS_URL"] = args.redis_url
        with running_stack(Path(var_dir), env) as stack:
            results = asyncio.run(
                measure(stack.url, rasa_url, token, args.turns, args.long, args.pause)
            )
    where = mask_url_password(args.database_url) + (" + Redis" if args.redis_url else "")
    print()
    print(report(results, where))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
