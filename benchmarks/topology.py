"""The production topology on one machine, driven by Telegram citizens through webhooks.

Starts, on a scratch schema of the PostgreSQL at --database-url and the Redis at
--redis-url: two Rasa servers (Redis tracker and lock stores), two action servers, two
Telegram gateways in webhook mode and two notifiers, with nginx (a configuration written
here, as deploy/nginx/civic.conf balances them) in front of the Rasa servers, the action
servers and the gateways. The Bot API stand-in (tests/fakes/botapi.py) plays Telegram:
it POSTs each citizen's messages to nginx as Telegram does (one chat's in order, the next
after an answer; chats at once; again when unanswered) and enforces Telegram's flood
limits.

Then --citizens citizens talk at once, each sending --turns ordinary messages (a
greeting, thanks, "are you a bot", …), each after the answer to the last and a pause of
one to three seconds, as people type. With --kill, halfway through one Rasa server and
one gateway are killed with SIGKILL. Checked, and printed:

  lost          a message with no answer within 3 minutes
  duplicated    a chat with more answers than messages asked for
  out of order  an answer that is not the one its message asks for
  over the rate seconds in which the stand-in saw more than 30 sends, and its 429s
  sent again    updates whose delivery failed (a killed worker, a turn Rasa could not
                answer) and that the stand-in sent again, as Telegram does

    .venv/bin/python benchmarks/topology.py \\
        --database-url postgresql+psycopg2://postgres@127.0.0.1:5432/test \\
        --redis-url redis://127.0.0.1:6379/13 [--citizens 200] [--turns 6] [--kill]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.attackers import free_port, progress  # noqa: E402
from benchmarks.notify_burst import scratch_database  # noqa: E402
from civic.settings import get_settings, mask_url_password  # noqa: E402
from ops.supervisor import write_rasa_endpoints  # noqa: E402
from ops.training import (  # noqa: E402
    RASA_TOKEN_VARIABLE,
    model_path,
    rasa_command,
    rasa_environment,
)
from tests.fakes.botapi import BotApiStandIn  # noqa: E402

TOKEN = "424242:topology-benchmark"
ACTIONS_TOKEN_VARIABLE = "ACTION_SERVER_TOKEN"
STARTUP_SECONDS = 300
ANSWER_SECONDS = 180
# Messages that leave a conversation where it was, one answer each (checked at warm-up).
TURNS = ("谢谢", "你是机器人吗", "thanks", "are you a bot", "再见", "bye")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Ports:
    rasa: list[int] = field(default_factory=lambda: [free_port(), free_port()])
    actions: list[int] = field(default_factory=lambda: [free_port(), free_port()])
    gateways: list[int] = field(default_factory=lambda: [free_port(), free_port()])
    nginx_rasa: int = field(default_factory=free_port)
    nginx_actions: int = field(default_factory=free_port)
    nginx_telegram: int = field(default_factory=free_port)


def nginx_conf(ports: Ports, prefix: Path) -> str:
    def upstream(name: str, servers: list[int], balance: str) -> str:
        lines = "\n".join(
            f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in servers
        )
        return f"    upstream {name} {{\n        {balance}\n{lines}\n        keepalive 32;\n    }}"

    def server(port: int, name: str) -> str:
        return (
            f"    server {{\n        listen 127.0.0.1:{port};\n"
            f"        location / {{\n            proxy_pass http://{name};\n"
            "            proxy_http_version 1.1;\n"
            '            proxy_set_header Connection "";\n'
            "            proxy_read_timeout 120s;\n"
            "            proxy_next_upstream error timeout;\n"
            "        }\n    }"
        )

    return "\n".join(
        [
            f"pid {prefix / 'nginx.pid'};",
            "daemon off;",
            "worker_processes 1;",
            f"error_log {prefix / 'nginx-error.log'} warn;",
            "events { worker_connections 2048; }",
            "http {",
            "    access_log off;",
            f"    client_body_temp_path {prefix / 'body'};",
            f"    proxy_temp_path {prefix / 'proxy'};",
            upstream("rasa", ports.rasa, "least_conn;"),
            upstream("actions", ports.actions, "least_conn;"),
            upstream("telegram", ports.gateways, "least_conn;"),
            server(ports.nginx_rasa, "rasa"),
            server(ports.nginx_actions, "actions"),
            server(ports.nginx_telegram, "telegram"),
            "}",
        ]
    )


@contextlib.contextmanager
def topology(
    database_url: str, redis_url: str, standin: BotApiStandIn, var_dir: Path
) -> Iterator[dict[str, list[Process]]]:
    ports = Ports()
    rasa_token, actions_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    secret = secrets.token_urlsafe(32)
    common = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "RASA_"))},
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CIVIC_VAR_DIR": str(var_dir),
        "CIVIC_SECRET_KEY": os.environ.get("CIVIC_SECRET_KEY") or secrets.token_urlsafe(48),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": standin.base_url,
        "RASA_URL": f"http://127.0.0.1:{ports.nginx_rasa}",
        "ACTION_SERVER_PORT": str(ports.nginx_actions),
        "LOG_LEVEL": "WARNING",
        "CIVIC_TELEGRAM_LIMIT_PER_CHAT": "0",
    }
    os.environ.update({k: common[k] for k in ("DATABASE_URL", "REDIS_URL", "CIVIC_VAR_DIR")})
    os.environ.update({"ACTION_SERVER_PORT": common["ACTION_SERVER_PORT"]})
    os.environ["CIVIC_SECRET_KEY"] = common["CIVIC_SECRET_KEY"]
    get_settings.cache_clear()
    settings = get_settings()
    endpoints, credentials = write_rasa_endpoints(settings)
    model = model_path(settings.models_dir, settings.profile_dir)
    if not model.exists():
        raise SystemExit("no trained model: run `make train` first")
    python, logs = sys.executable, var_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (var_dir / "nginx").mkdir()
    conf = var_dir / "nginx" / "nginx.conf"
    conf.write_text(nginx_conf(ports, var_dir / "nginx"), encoding="utf-8")
    started: dict[str, list[Process]] = {
        "actions": [
            Process(
                f"actions-{n}",
                [python, "-m", "ops.action_server"],
                {**common, "ACTION_SERVER_PORT": str(port), ACTIONS_TOKEN_VARIABLE: actions_token},
                logs / f"actions-{n}.log",
            )
            for n, port in enumerate(ports.actions)
        ],
        "rasa": [
            Process(
                f"rasa-{n}",
                rasa_command(
                    "run",
                    "--model",
                    str(model),
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--enable-api",
                    "--endpoints",
                    str(endpoints),
                    "--credentials",
                    str(credentials),
                ),
                {
                    **common,
                    **rasa_environment(),
                    RASA_TOKEN_VARIABLE: rasa_token,
                    ACTIONS_TOKEN_VARIABLE: actions_token,
                },
                logs / f"rasa-{n}.log",
            )
            for n, port in enumerate(ports.rasa)
        ],
        "nginx": [
            Process(
                "nginx",
                [NGINX, "-p", str(var_dir / "nginx"), "-c", str(conf), "-e", "stderr"],
                dict(os.environ),
                logs / "nginx.log",
            )
        ],
        "gateway": [
            Process(
                f"gateway-{n}",
                [python, "-m", "ops.cli", "gateway"],
                {
                    **common,
                    RASA_TOKEN_VARIABLE: rasa_token,
                    "TELEGRAM_MODE": "webhook",
                    "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{ports.nginx_telegram}/telegram",
                    "TELEGRAM_WEBHOOK_PORT": str(port),
                    "TELEGRAM_WEBHOOK_SECRET": secret,
                },
                logs / f"gateway-{n}.log",
            )
            for n, port in enumerate(ports.gateways)
        ],
        "notifier": [
            Process(
                f"notifier-{n}",
                [python, "-m", "ops.cli", "notifier"],
                {**common, RASA_TOKEN_VARIABLE: rasa_token},
                logs / f"notifier-{n}.log",
            )
            for n in range(2)
        ],
    }
    try:
        for group in ("nginx", "actions", "rasa"):
            for process in started[group]:
                process.start()
        wait_until(
            [f"http://127.0.0.1:{p}/health" for p in ports.actions]
            + [f"http://127.0.0.1:{p}/" for p in ports.rasa],
            started,
            logs,
        )
        for group in ("gateway", "notifier"):
            for process in started[group]:
                process.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not standin_has_webhook(standin) or not all(port_open(p) for p in ports.gateways):
            check_alive(started, logs)
            if time.monotonic() > deadline:
                raise SystemExit("the gateways did not start")
            time.sleep(0.5)
        yield started
    finally:
        for group in ("gateway", "notifier", "rasa", "actions", "nginx"):
            for process in started[group]:
                process.stop()


def standin_has_webhook(standin: BotApiStandIn) -> bool:
    return any(call.method == "setWebhook" and call.status == 200 for call in standin.calls())


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def check_alive(started: dict[str, list[Process]], logs: Path) -> None:
    for group in started.values():
        for process in group:
            if process.popen is not None and process.popen.poll() is not None:
                tail = process.log.read_text(errors="replace")[-3000:]
                raise SystemExit(f"{process.name} stopped at start:\n{tail}")


def wait_until(urls: list[str], started: dict[str, list[Process]], logs: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    pending = list(urls)
    while pending:
        check_alive(started, logs)
        if time.monotonic() > deadline:
            raise SystemExit(f"not answering: {pending}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(pending[0], timeout=2).status_code < 500:
                pending.pop(0)
                continue
        time.sleep(0.5)


# -- the citizens -----------------------------------------------------------------------


@dataclass
class Outcome:
    asked: Counter[int] = field(default_factory=Counter)  # answers expected, by chat
    lost: int = 0
    wrong: int = 0
    wrong_texts: Counter[str] = field(default_factory=Counter)  # what came instead
    killed: list[str] = field(default_factory=list)  # processes killed mid-run
    seconds: list[float] = field(default_factory=list)


async def answers_for(standin: BotApiStandIn) -> dict[str, str]:
    """The one answer each of TURNS gets, from a warm-up chat (and that it is one)."""
    chat, expected = 9_000_000, {}
    for text in TURNS:
        before = len(standin.messages(chat))
        standin.send_text(chat, text)
        found = await standin.wait_for_messages_async(chat, before + 1, timeout=ANSWER_SECONDS)
        await asyncio.sleep(2.0)  # a second answer would have come by now
        found = standin.messages(chat)
        if len(found) != before + 1:
            raise SystemExit(f"{text!r} got {len(found) - before} answers, not one")
        expected[text] = found[-1].plain_text or ""
    return expected


async def citizen(
    standin: BotApiStandIn,
    chat: int,
    turns: int,
    expected: dict[str, str],
    outcome: Outcome,
    rng: random.Random,
    total: int,
) -> None:
    await asyncio.sleep(rng.uniform(0, 3))
    for n in range(turns):
        text = TURNS[(chat + n) % len(TURNS)]
        started = time.monotonic()
        standin.send_text(chat, text)
        outcome.asked[chat] += 1
        try:
            found = await standin.wait_for_messages_async(
                chat, outcome.asked[chat], timeout=ANSWER_SECONDS
            )
        except AssertionError:
            outcome.lost += 1
            return
        outcome.seconds.append(time.monotonic() - started)
        got = found[outcome.asked[chat] - 1].plain_text or ""
        if got != expected[text]:
            outcome.wrong += 1
            outcome.wrong_texts[got[:80]] += 1
        progress("turns", len(outcome.seconds), total)
        await asyncio.sleep(rng.uniform(1.0, 3.0))


async def drive(
    standin: BotApiStandIn,
    started: dict[str, list[Process]],
    citizens: int,
    turns: int,
    kill: bool,
) -> tuple[Outcome, dict[str, str]]:
    expected = await answers_for(standin)
    outcome, rng = Outcome(), random.Random(7)
    chats = [100_000 + n for n in range(citizens)]
    total = citizens * turns
    killer = asyncio.create_task(kill_halfway(started, outcome, total)) if kill else None
    await asyncio.gather(
        *(citizen(standin, c, turns, expected, outcome, rng, total) for c in chats)
    )
    if killer is not None:
        killer.cancel()
    await asyncio.sleep(5)  # a duplicate would arrive by now
    return outcome, expected


async def kill_halfway(started: dict[str, list[Process]], outcome: Outcome, total: int) -> None:
    while len(outcome.seconds) < total // 2:
        await asyncio.sleep(0.2)
    for process in (started["rasa"][0], started["gateway"][0]):
        process.kill()
        outcome.killed.append(process.name)
        print(f"\nkilled {process.name} (SIGKILL) after {len(outcome.seconds)} turns", flush=True)


def report(standin: BotApiStandIn, outcome: Outcome, citizens: int, turns: int) -> str:
    duplicated = sum(
        1 for chat, asked in outcome.asked.items() if len(standin.messages(chat)) > asked
    )
    sends = sorted(m.timestamp for m in standin.messages())
    per_second = Counter(int(t) for t in sends)
    over = sum(1 for n in per_second.values() if n > 30)
    ordered = sorted(outcome.seconds)
    attempts = standin.webhook_attempts
    failed = Counter(a.error.split(":")[0] for a in attempts if a.error)
    resent = len({a.update_id for a in attempts if a.error})

    def p(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0

    return "\n".join(
        [
            "| citizens | turns asked | answered | lost | duplicated chats | wrong answer "
            "| p50 | p95 | most sends in a second | seconds over 30 | 429s | sent again |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            f"| {citizens} | {sum(outcome.asked.values())} | {len(outcome.seconds)} "
            f"| {outcome.lost} | {duplicated} | {outcome.wrong} | {p(0.5):.2f} s "
            f"| {p(0.95):.2f} s | {max(per_second.values(), default=0)} | {over} "
            f"| {standin.rate_limited_count} | {resent} |",
            "",
            f"webhook deliveries that failed and were sent again: {dict(failed) or 'none'}",
        ]
    )


@dataclass
class Run:
    outcome: Outcome
    duplicated: int
    most_in_a_second: int
    rate_limited: int
    table: str


def run(database_url: str, redis_url: str, *, citizens: int, turns: int, kill: bool) -> Run:
    """Start the topology on a scratch schema of `database_url` and an emptied Redis
    database at `redis_url`, drive it, stop it; what happened. Leaves os.environ as it
    found it."""
    import redis

    saved = dict(os.environ)
    try:
        with (
            BotApiStandIn(token=TOKEN, webhook_retry_delay=1.0) as standin,
            scratch_database(database_url) as scratch,
            tempfile.TemporaryDirectory() as var,
        ):
            redis.Redis.from_url(redis_url).flushdb()
            with topology(scratch, redis_url, standin, Path(var)) as started:
                outcome, _ = asyncio.run(drive(standin, started, citizens, turns, kill))
            duplicated = sum(
                1 for chat, asked in outcome.asked.items() if len(standin.messages(chat)) > asked
            )
            per_second = Counter(int(m.timestamp) for m in standin.messages())
            return Run(
                outcome,
                duplicated,
                max(per_second.values(), default=0),
                standin.rate_limited_count,
                report(standin, outcome, citizens, turns),
            )
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--kill", action="store_true")
    args = parser.parse_args()
    result = run(
        args.database_url,
        args.redis_url,
        citizens=args.citizens,
        turns=args.turns,
        kill=args.kill,
    )
    print()
    print(f"on {mask_url_password(args.database_url)} + Redis, kill: {args.kill}")
    print(result.table)
    for answer, count in result.outcome.wrong_texts.most_common():
        print(f"  instead of the expected answer, {count} x: {answer}")
    fine = result.outcome.lost == result.outcome.wrong == result.duplicated == 0
    return 0 if fine else 1


if __name__ == "__main__":
    raise SystemExit(main())
