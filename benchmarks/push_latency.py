"""How long a status update takes to reach the citizen on an idle system: `--count`
updates (default 200), one at a time, each posted by the agency's system to the Open311
API (`POST /open311/v2/servicerequestupdates.json`, the web app as `civicbot web` runs it)
for its own citizen's ticket; the notifier (`civicbot notifier`, a process of its own)
delivers each to the Bot API stand-in over real HTTP. The next update is posted once the
message has arrived and a random pause (0.05 to 1 s) has passed.

Reported: p50, p95 and max from the API call returning to the message arriving at the
stand-in (negative when the message was there before the answer), and from the call's
start.

    .venv/bin/python benchmarks/push_latency.py --database-url URL [--redis-url URL]
        [--count 200] [--poll-only]

The database is a scratch schema in the PostgreSQL at --database-url (dropped
afterwards), or a fresh SQLite file without it. With --redis-url the web app also
publishes on Redis and the notifier also subscribes there. --poll-only runs the notifier
as it was before it could be woken: never listening, polling every 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.notify_burst import progress, scratch_database  # noqa: E402
from civic.agencies import create_api_key  # noqa: E402
from civic.routing import RoutingDecision  # noqa: E402
from civic.settings import mask_url_password  # noqa: E402
from civic.tickets import create_ticket, transition  # noqa: E402
from storage.db import session_factory  # noqa: E402
from storage.models import ChannelAddress, Citizen  # noqa: E402
from tests.fakes.botapi import BotApiStandIn  # noqa: E402

TOKEN = "123456:BENCH-push-latency"
FIRST_CHAT = 300_000_001
DECISION = RoutingDecision(
    category="street-light", agency="urban-management", district=None, confidence=0.9
)


@dataclass
class Ticketed:
    chat: int
    number: str


def seed(sessions: sessionmaker[Session], standin: BotApiStandIn, count: int) -> list[Ticketed]:
    """A citizen on Telegram per update, each with an accepted ticket."""
    out = []
    with sessions() as session:
        for n in range(count):
            chat = FIRST_CHAT + n
            standin.add_user(chat, language_code="en")
            person = Citizen(public_id=secrets.token_hex(12), language="en")
            person.addresses.append(ChannelAddress(channel="telegram", address=str(chat)))
            session.add(person)
            session.flush()
            ticket = create_ticket(
                session=session,
                citizen_id=person.id,
                description="The street light is out",
                language="en",
                decision=DECISION,
                ticket_prefix="HZ",
                due_at=None,
            )
            transition(
                session=session, ticket=ticket, to_status="accepted", actor="user:li", public=False
            )
            out.append(Ticketed(chat, ticket.number or ""))
        session.commit()
    return out


def api_key(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        return create_api_key(
            session=session, name="um-system", agency="urban-management", can_write=True
        )[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(name: str, argv: list[str], env: dict[str, str], logs: Path) -> Iterator[None]:
    """A child process with its output in `logs/<name>.log`, stopped with SIGTERM."""
    with (logs / f"{name}.log").open("w") as out:
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield
        finally:
            child.terminate()
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()


def wait_for_line(path: Path, needle: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise SystemExit(f"{path.name} never said {needle!r}:\n{path.read_text()[-2000:]}")
        time.sleep(0.1)


def wait_for_web(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the web app did not start")


def notifier_argv(poll_only: bool) -> list[str]:
    if not poll_only:
        return [sys.executable, "-m", "ops.cli", "notifier"]
    code = (
        "from bot.notifier import NotifierOptions, run_notifier;"
        "from civic.settings import get_settings;"
        "import logging; logging.basicConfig(level=logging.INFO);"
        "run_notifier(get_settings(), NotifierOptions(listen=False, poll_seconds=0.5))"
    )
    return [sys.executable, "-c", code]


def measure(
    base: str, key: str, tickets: list[Ticketed], standin: BotApiStandIn
) -> list[tuple[float, float]]:
    """(from the return, from the start) for each update, posted one at a time."""
    out, pause = [], random.Random(15)
    with httpx.Client(base_url=base, timeout=30) as client:
        for n, ticket in enumerate(tickets):
            form = {
                "api_key": key,
                "service_request_id": ticket.number,
                "update_id": f"bench-{n}",
                "status": "IN_PROGRESS",
                "description": "A crew is on the way",
            }
            started = time.time()
            response = client.post("/open311/v2/servicerequestupdates.json", data=form)
            returned = time.time()
            response.raise_for_status()
            message = standin.wait_for_messages(ticket.chat, 1, timeout=60)[0]
            out.append((message.timestamp - returned, message.timestamp - started))
            progress("updates", n + 1, len(tickets))
            # idle for a while, at random so that updates do not fall in step with a poll
            time.sleep(pause.uniform(0.05, 1.0))
    return out


def run(
    base: str, key: str, tickets: list[Ticketed], standin: BotApiStandIn, logs: Path, poll: bool
) -> list[tuple[float, float]]:
    wait_for_line(logs / "notifier.log", "notifier started")
    if not poll:
        wait_for_line(logs / "notifier.log", "listening for outbox rows")
    time.sleep(1.0)  # settled: idle
    return measure(base, key, tickets, standin)


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    median = statistics.median(ordered)
    return (
        f"p50 {median * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  max {ordered[-1] * 1000:6.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--poll-only", action="store_true")
    args = parser.parse_args()
    with (
        scratch_database(args.database_url) as url,
        BotApiStandIn() as standin,
        tempfile.TemporaryDirectory() as tmp,
    ):
        sessions = session_factory(url)
        tickets = seed(sessions, standin, args.count)
        key = api_key(sessions)
        port, logs = free_port(), Path(tmp)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": url,
            "CIVIC_VAR_DIR": str(Path(tmp) / "var"),
            "WEB_PORT": str(port),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": standin.base_url,
            "CIVIC_OPEN311_LIMIT_PER_KEY": "0",
            "CIVIC_OPEN311_LIMIT_PER_IP": "0",
        }
        env.pop("REDIS_URL", None)
        if args.redis_url:
            env["REDIS_URL"] = args.redis_url
        base = f"http://127.0.0.1:{port}"
        web = [sys.executable, "-m", "ops.cli", "web"]
        # one after the other: both sync the profile's surveys as they start
        with process("web", web, env, logs):
            wait_for_web(base)
            with process("notifier", notifier_argv(args.poll_only), env, logs):
                results = run(base, key, tickets, standin, logs, args.poll_only)
        where = mask_url_password(args.database_url) if args.database_url else "sqlite"
        mode = "polling every 0.5 s" if args.poll_only else "woken by committed rows"
        print(f"database:            {where}{' + redis' if args.redis_url else ''}")
        print(f"notifier:            {mode}")
        print(f"updates delivered:   {len(results)} of {args.count}")
        print(f"from the API return: {percentiles([r[0] for r in results])}")
        print(f"from the API call:   {percentiles([r[1] for r in results])}")


if __name__ == "__main__":
    main()
