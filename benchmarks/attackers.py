"""Attackers against the running web app: how many forged ratings, survey answers and
panel sign-ups reach the published figures, and what the limits cost an honest turn.

Starts `civicbot run` (the real Rasa server, action server and web app; no Telegram) on
a scratch SQLite database, then plays, each from `--sessions` throwaway web-chat
sessions (default 1,000), the way a script would:

  forged-window    taps `wr:<window>:<today>:stars:1` without scanning anything
  shared-code      scans a real, valid window code (say, photographed at the counter)
                   and taps one star on the buttons it is offered
  forged-answers   taps a made-up invitation (`sv:i:…`) and answers (`sv:a:…`) to
                   responses it does not own
  panel-signup     types /subscribe and taps through the offered district, age and
                   gender buttons; then taps a forged `sub:g:…` payload

For each it reports what was stored and what reaches the published figures (the desk's
window figures at the counted assurance levels, the weighted survey index, the sample
frame). The limits are off for these runs (the worst case: nothing is refused at the
door); the figures must still hold.

Then `--turns` honest turns ("路灯坏了" from a fresh session each time, through Rasa) are
timed on two stacks side by side, one with the limits on (set high enough that nothing
is refused, so only their cost is measured) and one with them off, in alternating
rounds; turns per second and the overhead are reported.

    .venv/bin/python benchmarks/attackers.py [--sessions 1000] [--turns 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic.campaigns import sign_window_code  # noqa: E402
from civic.city import get_profile  # noqa: E402
from storage.db import session_factory  # noqa: E402
from storage.models import FrameMember, SurveyAnswer  # noqa: E402
from storage.windows import add_window, window_summary  # noqa: E402

SECRET = "bench-attackers-" + "k" * 32
STARTUP_SECONDS = 600
CONCURRENCY = 16
# Limits set so high that an honest benchmark is never refused: only their cost shows.
LIMITS_HIGH = {
    "CIVIC_CHAT_LIMIT_PER_SESSION": "1000000",
    "CIVIC_CHAT_LIMIT_PER_IP": "1000000",
}
# 0 turns a limit off.
LIMITS_OFF = {"CIVIC_CHAT_LIMIT_PER_SESSION": "0", "CIVIC_CHAT_LIMIT_PER_IP": "0"}


def progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    print(
        f"\r{label:<16} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
        end=end,
        file=sys.stderr,
        flush=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    url: str
    database_url: str
    profile_dir: Path


@contextmanager
def running_stack(var_dir: Path, extra_env: dict[str, str]) -> Iterator[Stack]:
    web_port = free_port()
    database_url = f"sqlite:///{var_dir / 'civic.db'}"
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in ("TELEGRAM_BOT_TOKEN", "REDIS_URL")
    }
    env = {
        **inherited,
        "CIVIC_VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url,
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "ACTION_SERVER_PORT": str(free_port()),
        "WEB_PORT": str(web_port),
        "CIVIC_SECRET_KEY": SECRET,
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    log_path = var_dir / "civicbot-run.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while "\nready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"civicbot run did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield Stack(f"http://127.0.0.1:{web_port}", database_url, ROOT / "profiles" / "hangzhou")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


async def new_session(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/chat/session", json={})
    response.raise_for_status()
    return str(response.json()["token"])


async def send(client: httpx.AsyncClient, token: str, **fields: str) -> list[dict[str, Any]]:
    response = await client.post("/api/chat", json={"token": token, **fields})
    if response.status_code != 200:
        return []
    return list(response.json().get("messages") or [])


def offered(messages: list[dict[str, Any]], title_part: str) -> str | None:
    for message in messages:
        for button in message.get("buttons") or []:
            if title_part in str(button.get("title")):
                return str(button.get("payload"))
    return None


async def swarm(
    label: str, url: str, count: int, attack: Callable[[httpx.AsyncClient], Awaitable[None]]
) -> float:
    """Run `attack` once per throwaway session, CONCURRENCY at a time; seconds taken."""
    done = 0
    started = time.perf_counter()
    semaphore = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:

        async def one() -> None:
            nonlocal done
            async with semaphore:
                await attack(client)
                done += 1
                progress(label, done, count)

        await asyncio.gather(*(one() for _ in range(count)))
    return time.perf_counter() - started


def count(stack: Stack, model: type) -> int:
    with session_factory(stack.database_url)() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def published_window(stack: Stack, window_id: int) -> tuple[int, int, int]:
    """(ratings in the published figure, ratings stored at any level, held)."""
    profile = get_profile(stack.profile_dir.parent, stack.profile_dir.name)
    with session_factory(stack.database_url)() as session:
        rows = window_summary(
            session=session, agency=None, counted=profile.integrity.counted_levels
        )
    row = next((r for r in rows if r["window"].id == window_id), None)  # type: ignore[attr-defined]
    if row is None:
        return 0, 0, 0
    stored = sum(row["levels"].values()) + int(row["held"])  # type: ignore[attr-defined]
    return int(row["ratings"]), stored, int(row["held"])  # type: ignore[call-overload]


async def attacks(stack: Stack, sessions: int) -> list[tuple[str, str, str, str]]:
    results = []
    with session_factory(stack.database_url).begin() as session:
        window = add_window(session=session, agency="market-regulation", hall="Bench", number="1")
        window_id, serial = window.id, window.token_serial
    today = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")

    async def forged_window(client: httpx.AsyncClient) -> None:
        token = await new_session(client)
        await send(client, token, payload=f"wr:{window_id}:{today}:stars:1")

    seconds = await swarm("forged-window", stack.url, sessions, forged_window)
    published, stored, _ = published_window(stack, window_id)
    results.append(
        ("forged window ratings", f"{sessions:,}", f"{stored} stored", f"**{published}**")
    )

    code = sign_window_code(secret=SECRET, window_id=window_id, serial=serial, until=None)

    async def shared_code(client: httpx.AsyncClient) -> None:
        token = await new_session(client)
        asked = await send(client, token, payload=f"/start {code}")
        star = offered(asked, "★")
        if star:
            await send(client, token, payload=star)

    await swarm("shared-code", stack.url, sessions, shared_code)
    published, stored, held = published_window(stack, window_id)
    results.append(
        (
            "ratings with a real, shared window code",
            f"{sessions:,}",
            f"{stored} stored (anonymous), {held} held for review",
            f"**{published}**",
        )
    )

    answers_before = count(stack, SurveyAnswer)

    async def forged_answers(client: httpx.AsyncClient) -> None:
        token = await new_session(client)
        await send(client, token, payload="sv:i:" + "A" * 38)
        await send(client, token, payload="sv:a:1:overall:dissatisfied")

    await swarm("forged-answers", stack.url, sessions, forged_answers)
    answers = count(stack, SurveyAnswer) - answers_before
    results.append(
        ("forged survey answers", f"{sessions:,}", f"{answers} stored", f"**{answers}**")
    )

    members_before = count(stack, FrameMember)

    async def panel_signup(client: httpx.AsyncClient) -> None:
        token = await new_session(client)
        replies = await send(client, token, text="/subscribe")
        for choice in ("西湖", "30-44", "男"):
            payload = offered(replies, choice)
            if payload is None:
                break
            replies = await send(client, token, payload=payload)
        await send(client, token, payload="sub:g:xihu:18-29:male")

    await swarm("panel-signup", stack.url, sessions, panel_signup)
    members = count(stack, FrameMember) - members_before
    results.append(
        ("forged panel sign-ups", f"{sessions:,}", f"{members} members", f"**{members}**")
    )
    print(f"(the first swarm ran at {sessions / seconds:.1f} sessions/s)", file=sys.stderr)
    return results


async def turns_per_second(url: str, turns: int, label: str) -> float:
    async def honest(client: httpx.AsyncClient) -> None:
        token = await new_session(client)
        replies = await send(client, token, text="路灯坏了")
        if not replies:
            raise SystemExit(f"{label}: an honest turn was refused")

    seconds = await swarm(label, url, turns, honest)
    return turns / seconds


async def overhead(on: Stack, off: Stack, turns: int, rounds: int) -> tuple[float, float]:
    rates: dict[str, list[float]] = {"on": [], "off": []}
    for round_number in range(rounds):
        order = [("on", on), ("off", off)] if round_number % 2 == 0 else [("off", off), ("on", on)]
        for name, stack in order:
            rates[name].append(
                await turns_per_second(stack.url, turns, f"limits {name} #{round_number + 1}")
            )
    return statistics.median(rates["on"]), statistics.median(rates["off"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as off_dir,
        tempfile.TemporaryDirectory() as on_dir,
        running_stack(Path(off_dir), LIMITS_OFF) as off,
    ):
        results = asyncio.run(attacks(off, args.sessions))
        print("\n| attack | throwaway sessions | stored | in published figures |")
        print("|---|---|---|---|")
        for row in results:
            print("| " + " | ".join(row) + " |")
        with running_stack(Path(on_dir), LIMITS_HIGH) as on:
            rate_on, rate_off = asyncio.run(overhead(on, off, args.turns, args.rounds))
    cost = (rate_off - rate_on) / rate_off * 100
    print(
        f"\nhonest turns/s, median of {args.rounds} rounds of {args.turns}: "
        f"limits on {rate_on:.1f}, off {rate_off:.1f}; overhead {cost:+.1f}% (target < 5%)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
