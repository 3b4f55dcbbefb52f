"""Sending a survey campaign to the Bot API stand-in, three ways:

  throughput   --count invitations (default 200,000) with the stand-in's limits lifted and
               the sender's own Telegram rate lifted: the sustained send rate (target
               ≥ 1,000 messages/s, so the sender is never the bottleneck).
  paced        the stand-in enforcing Telegram's 30 messages/s, the sender at its
               configured rate (--rate, default 25/s): the achieved rate as a share of the
               configured one (target ≥ 97%) and the number of 429 answers.
  crash        --count invitations (default 20,000); the sending process is killed with
               SIGKILL --kills times (default 3) at random moments and restarted: how many
               people got the invitation twice (duplicates) or never (omissions).

Each run makes --count subscribers (citizens with a Telegram chat, in the sample frame),
one campaign sampling all of them (stratified by district), and runs the real sender as
`civicbot campaign send` in its own process, as in production, against the stand-in
served over real HTTP from this process. Counts are taken at the stand-in.

    .venv/bin/python benchmarks/campaign_send.py throughput [--count 200000]
    .venv/bin/python benchmarks/campaign_send.py paced [--count 3000] [--rate 25]
    .venv/bin/python benchmarks/campaign_send.py crash [--count 20000] [--kills 3] [--paced]

The database is a scratch schema in the PostgreSQL at --database-url (default the local
test server), dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.db import engine_for, make_engine, migrate, session_factory  # noqa: E402
from storage.models import ChannelAddress, Citizen, FrameMember, Invitation  # noqa: E402
from tests.fakes.botapi import BotApiStandIn  # noqa: E402

TOKEN = "123456:BENCH-campaign"
FIRST_CHAT = 300_000_001
DISTRICTS = ("shangcheng", "gongshu", "xihu", "binjiang", "xiaoshan", "yuhang", "linping")
CHUNK = 5_000
# Set CAMPAIGN_BENCH_PROFILE=<file> to profile the sender process with cProfile.
PROFILE = os.environ.get("CAMPAIGN_BENCH_PROFILE", "")


def progress(label: str, done: int, total: int) -> None:
    width = 40
    filled = int(width * done / total) if total else width
    end = "\n" if done >= total else ""
    print(
        f"\r{label:<12} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
        end=end,
        file=sys.stderr,
        flush=True,
    )


def scratch_schema(admin_url: str) -> tuple[str, str]:
    schema = f"bench_{secrets.token_hex(4)}"
    with make_engine(admin_url).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return schema, f"{admin_url}?options=-csearch_path%3D{schema}"


def drop_schema(admin_url: str, schema: str, url: str) -> None:
    engine_for(url).dispose()
    with make_engine(admin_url).begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def make_subscribers(url: str, count: int, api: BotApiStandIn) -> None:
    """`count` citizens who started the bot and subscribed, spread over districts."""
    sessions = session_factory(url)
    now = datetime.now(UTC)
    for start in range(0, count, CHUNK):
        ids = range(start, min(start + CHUNK, count))
        with sessions.begin() as session:
            session.execute(
                insert(Citizen),
                [
                    {"id": i + 1, "public_id": f"b{i:011d}", "language": "zh", "created_at": now}
                    for i in ids
                ],
            )
            session.execute(
                insert(ChannelAddress),
                [
                    {
                        "citizen_id": i + 1,
                        "channel": "telegram",
                        "address": str(FIRST_CHAT + i),
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            session.execute(
                insert(FrameMember),
                [
                    {
                        "kind": "subscriber",
                        "citizen_id": i + 1,
                        "district": DISTRICTS[i % len(DISTRICTS)],
                        "strata": json.dumps({"age_band": "30-44"}),
                        "consent_at": now,
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
        for i in ids:
            api.add_user(FIRST_CHAT + i, f"R{i}", language_code="zh")
        progress("subscribers", ids.stop, count)


def civicbot(
    url: str, var_dir: Path, api: BotApiStandIn, rate: float | None, *args: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CIVIC_VAR_DIR": str(var_dir),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "CAMPAIGN_TELEGRAM_RATE": str(rate if rate else 1_000_000),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    profile = ["-m", "cProfile", "-o", PROFILE] if PROFILE and args[1] == "send" else []
    return subprocess.Popen(
        [sys.executable, *profile, "-m", "ops.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def create_campaign(url: str, var_dir: Path, api: BotApiStandIn, count: int) -> None:
    start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    end = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    process = civicbot(
        url,
        var_dir,
        api,
        None,
        "campaign",
        "create",
        "--name",
        "bench",
        "--survey",
        "annual_satisfaction",
        "--n",
        str(count),
        "--start",
        start,
        "--end",
        end,
        "--window",
        "00:00-24:00",
        "--channels",
        "telegram",
    )
    out, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(out.decode())
    print(out.decode().strip(), file=sys.stderr)


def received(api: BotApiStandIn) -> Counter[int]:
    return Counter(int(m.chat_id) for m in api.messages(method="sendMessage"))


def watch(
    process: subprocess.Popen[bytes],
    api: BotApiStandIn,
    count: int,
    stop_after: float | None = None,
) -> float:
    """Follow the sender until it exits (or `stop_after` seconds): the time it ran."""
    started = time.monotonic()
    while process.poll() is None:
        progress("sent", min(api.message_count(), count), count)
        if stop_after is not None and time.monotonic() - started >= stop_after:
            break
        time.sleep(0.25)
    return time.monotonic() - started


def send_rate(api: BotApiStandIn) -> tuple[float, int]:
    """Messages per second between the first and the last one received."""
    times = sorted(m.timestamp for m in api.messages(method="sendMessage"))
    if len(times) < 2:
        return 0.0, len(times)
    return (len(times) - 1) / (times[-1] - times[0]), len(times)


def run(mode: str, args: argparse.Namespace) -> dict[str, object]:
    schema, url = scratch_schema(args.database_url)
    var_dir = Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    try:
        migrate(url)
        with BotApiStandIn(token=TOKEN) as api:
            limited = mode == "paced" or args.paced
            api.set_limits(global_per_s=30 if limited else None, per_chat_per_s=None)
            make_subscribers(url, args.count, api)
            create_campaign(url, var_dir, api, args.count)
            rate = args.rate if limited else None
            if mode == "crash":
                return crash(url, var_dir, api, args, rate)
            process = civicbot(
                url, var_dir, api, rate, "campaign", "send", "--concurrency", str(args.concurrency)
            )
            elapsed = watch(process, api, args.count)
            progress("sent", api.message_count(), args.count)
            achieved, total = send_rate(api)
            counts = received(api)
            result: dict[str, object] = {
                "mode": mode,
                "count": args.count,
                "received": total,
                "duplicates": sum(1 for c in counts.values() if c > 1),
                "omissions": args.count - len(counts),
                "wall_seconds": round(elapsed, 1),
                "rate_per_second": round(achieved, 1),
                "responses_429": api_429s(api),
            }
            if limited:
                result["share_of_configured_rate"] = round(achieved / args.rate, 4)
            return result
    finally:
        drop_schema(args.database_url, schema, url)


def api_429s(api: BotApiStandIn) -> int:
    return sum(1 for call in api.calls("sendMessage") if call.status == 429)


def crash(
    url: str, var_dir: Path, api: BotApiStandIn, args: argparse.Namespace, rate: float | None
) -> dict[str, object]:
    rng = random.Random(args.seed)
    recoveries = []
    for kill in range(args.kills + 1):
        process = civicbot(
            url, var_dir, api, rate, "campaign", "send", "--concurrency", str(args.concurrency)
        )
        if kill < args.kills:
            watch(process, api, args.count, stop_after=rng.uniform(*args.kill_window))
            process.send_signal(signal.SIGKILL)
            process.wait()
            print(f"\nkilled the sender (kill {kill + 1})", file=sys.stderr)
        else:
            watch(process, api, args.count)
        out = process.stdout.read().decode() if process.stdout else ""
        recoveries += [line for line in out.splitlines() if "recovered" in line]
    counts = received(api)
    with session_factory(url)() as session:
        assumed = session.scalars(
            select(Invitation.id).where(Invitation.last_error.like("on the wire%"))
        ).all()
    return {
        "mode": "crash",
        "count": args.count,
        "kills": args.kills,
        "received": sum(counts.values()),
        "duplicates": sum(c - 1 for c in counts.values() if c > 1),
        "omissions": args.count - len(counts),
        "in_flight_at_kills_counted_as_sent": len(assumed),
        "recoveries": recoveries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["throughput", "paced", "crash"])
    parser.add_argument("--count", type=int)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument(
        "--kill-window",
        type=float,
        nargs=2,
        default=(3.0, 8.0),
        metavar=("FROM", "TO"),
        help="crash: seconds into each run to kill",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--paced",
        action="store_true",
        help="crash: with the stand-in at 30/s and the sender at --rate",
    )
    parser.add_argument(
        "--database-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()
    args.count = args.count or {"throughput": 200_000, "paced": 3_000, "crash": 20_000}[args.mode]
    print(json.dumps(run(args.mode, args), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
