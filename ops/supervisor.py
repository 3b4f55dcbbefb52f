"""`civicbot run`: start every process, show what runs where, stop them all together.

Processes: the Rasa server (its own Python 3.10 environment), the action server, the web
app (web chat), the Telegram gateway (only with a bot token), the scheduler and the
notifier. How they are started, restarted and stopped is in `ops/process_care.py`.

Rasa's HTTP API and the action server each take a token, made afresh for every start
unless RASA_AUTH_TOKEN or ACTION_SERVER_TOKEN sets one: both listen on 127.0.0.1, but any
local process or a request forged through another service could otherwise read any
conversation or run any action. Tokens reach the processes in their environment, never
on a command line (which every local user can read), and each process gets only the
tokens it uses.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import yaml

from bot.assistant import REDIS_KEY_PREFIX, sqlite_tracker_path
from civic.settings import Settings
from ops.training import RASA_BIN, RASA_TOKEN_VARIABLE, rasa_command, rasa_environment

STOP_TIMEOUT_SECONDS = 15
# Events in one Rasa session before it ends at the next rest (ops/rasa_tracker_store.py).
SESSION_MAX_EVENTS = 60  # ops.rasa_tracker_store.DEFAULT_SESSION_MAX_EVENTS (Rasa env only)
ACTIONS_TOKEN_VARIABLE = "ACTION_SERVER_TOKEN"


class StartupProblem(Exception):
    """Something missing before anything can start; the message says what to do."""


@dataclass(frozen=True)
class ServiceTokens:
    """What Rasa's HTTP API and the action server ask of their callers, for one run."""

    rasa: str
    actions: str

    @classmethod
    def for_run(cls, settings: Settings) -> ServiceTokens:
        return cls(
            rasa=settings.rasa_auth_token or secrets.token_urlsafe(32),
            actions=settings.action_server_token or secrets.token_urlsafe(32),
        )


@dataclass
class Service:
    name: str
    command: list[str]
    port: int | None = None
    ready_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    # Services that must answer before this one starts; while one restarts, this one is
    # stopped (a gateway that cannot reach Rasa would answer "try again shortly", while
    # Telegram keeps the updates nobody fetched).
    after: tuple[str, ...] = ()
    process: subprocess.Popen[str] | None = None


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def write_rasa_endpoints(settings: Settings) -> tuple[Path, Path]:
    """endpoints.yml and credentials.yml for this run, in the var directory."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    # Rasa expands ${...} from its environment when it reads the file, so the action
    # server's token is sent with each call (as ?token=) without being written anywhere.
    endpoints: dict[str, object] = {
        "action_endpoint": {
            "url": settings.action_server_url,
            "token": "${" + ACTIONS_TOKEN_VARIABLE + "}",
        }
    }
    if settings.redis_url:
        url = urlparse(settings.redis_url)
        redis_conf = {
            "url": url.hostname or "127.0.0.1",
            "port": url.port or 6379,
            "db": int((url.path or "/0").lstrip("/") or 0),
            **({"password": url.password} if url.password else {}),
        }
        # A conversation idle for the retention period expires (`record_exp`, seconds).
        # Rasa's stores with each session bounded, so that a turn does not cost more the
        # longer a citizen talks (ops/rasa_tracker_store.py).
        endpoints["tracker_store"] = {
            "type": "ops.rasa_tracker_store.BoundedRedisTrackerStore",
            "key_prefix": REDIS_KEY_PREFIX,
            "record_exp": settings.retention_days * 24 * 3600,
            "session_max_events": SESSION_MAX_EVENTS,
            **redis_conf,
        }
        endpoints["lock_store"] = {"type": "redis", "key_prefix": REDIS_KEY_PREFIX, **redis_conf}
    else:
        endpoints["tracker_store"] = {
            "type": "ops.rasa_tracker_store.BoundedSQLTrackerStore",
            "dialect": "sqlite",
            "db": str(sqlite_tracker_path(settings.var_dir)),
            "session_max_events": SESSION_MAX_EVENTS,
        }
    endpoints_path = settings.var_dir / "endpoints.yml"
    credentials_path = settings.var_dir / "credentials.yml"
    _write_private(endpoints_path, yaml.safe_dump(endpoints))  # may hold Redis's password
    # The REST channel with the same token check as Rasa's API (ops/rasa_channel.py).
    channels = {"ops.rasa_channel.TokenRestInput": None}
    credentials_path.write_text(yaml.safe_dump(channels), encoding="utf-8")
    return endpoints_path, credentials_path


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, whatever was there before."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def rasa_service(settings: Settings, model: Path, tokens: ServiceTokens) -> Service:
    endpoints, credentials = write_rasa_endpoints(settings)
    command = rasa_command(
        "run",
        "--model", str(model),
        "--interface", "127.0.0.1",
        "--port", str(settings.rasa_port),
        "--enable-api",
        "--endpoints", str(endpoints),
        "--credentials", str(credentials),
    )  # fmt: skip
    env = {
        **rasa_environment(),
        RASA_TOKEN_VARIABLE: tokens.rasa,
        ACTIONS_TOKEN_VARIABLE: tokens.actions,
    }
    return Service(
        "rasa", command, settings.rasa_port, f"http://127.0.0.1:{settings.rasa_port}/", env=env
    )


def services(settings: Settings, model: Path, tokens: ServiceTokens) -> list[Service]:
    python = sys.executable
    # The application's processes talk to Rasa; none of them calls the action server.
    app_env = {RASA_TOKEN_VARIABLE: tokens.rasa}
    found = [
        Service(
            "actions",
            [python, "-m", "ops.action_server"],
            settings.action_server_port,
            f"http://127.0.0.1:{settings.action_server_port}/health",
            env={ACTIONS_TOKEN_VARIABLE: tokens.actions},
        ),
        rasa_service(settings, model, tokens),
        Service(
            "web",
            [python, "-m", "ops.cli", "web"],
            settings.web_port,
            f"http://{settings.web_host}:{settings.web_port}/healthz",
            env=app_env,
        ),
        Service("scheduler", [python, "-m", "ops.cli", "scheduler"], env=app_env),
        # Always: web-chat citizens get their updates through it too.
        Service("notifier", [python, "-m", "ops.cli", "notifier"], env=app_env),
    ]
    if settings.telegram_bot_token:
        found.append(
            Service("gateway", [python, "-m", "ops.cli", "gateway"], env=app_env, after=("rasa",))
        )
    return found


def child_environment(service: Service) -> dict[str, str]:
    """The supervisor's environment less every service token, plus what this one needs."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in (RASA_TOKEN_VARIABLE, ACTIONS_TOKEN_VARIABLE)
    }
    return {**inherited, **service.env}


def check_can_start(settings: Settings, planned: list[Service]) -> None:
    if not RASA_BIN.exists():
        raise StartupProblem(
            "The Rasa environment is missing (.venv-rasa). Run `make run`, which creates it "
            "with Python 3.10."
        )
    busy = [s for s in planned if s.port is not None and not port_is_free(s.port)]
    if busy:
        listing = ", ".join(f"{s.name} needs port {s.port}" for s in busy)
        raise StartupProblem(
            f"Port in use: {listing}. Stop what uses it or change the port setting."
        )
