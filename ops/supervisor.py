"""`civicbot run`: start every process, show what runs where, stop them all together.

Processes: the Rasa server (its own Python 3.10 environment), the action server, the web
app (web chat), the Telegram gateway (only with a bot token) and the scheduler.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import yaml

from bot.assistant import REDIS_KEY_PREFIX, sqlite_tracker_path
from civic.settings import PROJECT_ROOT, Settings
from ops.training import RASA_BIN, rasa_environment

STOP_TIMEOUT_SECONDS = 15


class StartupProblem(Exception):
    """Something missing before anything can start; the message says what to do."""


@dataclass
class Service:
    name: str
    command: list[str]
    port: int | None = None
    ready_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
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
    endpoints: dict[str, object] = {"action_endpoint": {"url": settings.action_server_url}}
    if settings.redis_url:
        url = urlparse(settings.redis_url)
        redis_conf = {
            "url": url.hostname or "127.0.0.1",
            "port": url.port or 6379,
            "db": int((url.path or "/0").lstrip("/") or 0),
            **({"password": url.password} if url.password else {}),
        }
        # A conversation idle for the retention period expires (`record_exp`, seconds).
        endpoints["tracker_store"] = {
            "type": "redis",
            "key_prefix": REDIS_KEY_PREFIX,
            "record_exp": settings.retention_days * 24 * 3600,
            **redis_conf,
        }
        endpoints["lock_store"] = {"type": "redis", "key_prefix": REDIS_KEY_PREFIX, **redis_conf}
    else:
        endpoints["tracker_store"] = {
            "type": "SQL",
            "dialect": "sqlite",
            "db": str(sqlite_tracker_path(settings.var_dir)),
        }
    endpoints_path = settings.var_dir / "endpoints.yml"
    credentials_path = settings.var_dir / "credentials.yml"
    endpoints_path.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    credentials_path.write_text(yaml.safe_dump({"rest": None}), encoding="utf-8")
    return endpoints_path, credentials_path


def rasa_service(settings: Settings, model: Path) -> Service:
    endpoints, credentials = write_rasa_endpoints(settings)
    command = [
        str(RASA_BIN), "run",
        "--model", str(model),
        "--interface", "127.0.0.1",
        "--port", str(settings.rasa_port),
        "--enable-api",
        "--endpoints", str(endpoints),
        "--credentials", str(credentials),
    ]  # fmt: skip
    if settings.rasa_auth_token:
        command += ["--auth-token", settings.rasa_auth_token]
    return Service(
        "rasa",
        command,
        settings.rasa_port,
        f"http://127.0.0.1:{settings.rasa_port}/",
        env=rasa_environment(),
    )


def services(settings: Settings, model: Path) -> list[Service]:
    python = sys.executable
    found = [
        Service(
            "actions",
            [
                python,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(settings.action_server_port),
            ],
            settings.action_server_port,
            f"http://127.0.0.1:{settings.action_server_port}/health",
            env={"SANIC_HOST": "127.0.0.1", "ACTION_SERVER_SANIC_WORKERS": "1"},
        ),
        rasa_service(settings, model),
        Service(
            "web",
            [python, "-m", "ops.cli", "web"],
            settings.web_port,
            f"http://{settings.web_host}:{settings.web_port}/healthz",
        ),
        Service("scheduler", [python, "-m", "ops.cli", "scheduler"]),
        # Always: web-chat citizens get their updates through it too.
        Service("notifier", [python, "-m", "ops.cli", "notifier"]),
    ]
    if settings.telegram_bot_token:
        found.append(Service("gateway", [python, "-m", "ops.cli", "gateway"]))
    return found


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


def _pump(service: Service, log_dir: Path) -> None:
    """Copy a child's output to the console (prefixed) and to its log file."""
    assert service.process is not None and service.process.stdout is not None
    with (log_dir / f"{service.name}.log").open("a", encoding="utf-8") as log_file:
        for line in service.process.stdout:
            log_file.write(line)
            log_file.flush()
            sys.stdout.write(f"[{service.name:9}] {line}")


def wait_ready(service: Service, timeout: float = 300.0) -> bool:
    if service.ready_url is None:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process is not None and service.process.poll() is not None:
            return False
        try:
            if httpx.get(service.ready_url, timeout=2).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


class Supervisor:
    def __init__(self, settings: Settings, planned: list[Service]) -> None:
        self.settings = settings
        self.services = planned
        self._stopping = threading.Event()

    def start(self) -> None:
        log_dir = self.settings.var_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            service.process = subprocess.Popen(
                service.command,
                cwd=PROJECT_ROOT,
                env={**os.environ, **service.env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            threading.Thread(target=_pump, args=(service, log_dir), daemon=True).start()
            where = f"port {service.port}" if service.port else "no port"
            print(f"started {service.name:9} pid {service.process.pid:<7} {where}", flush=True)

    def wait_all_ready(self) -> list[str]:
        return [s.name for s in self.services if not wait_ready(s)]

    def watch(self) -> int:
        """Block until Ctrl-C or a child exits; then stop everything."""
        # Set explicitly: a shell starting us in the background ignores SIGINT for us.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self._stopping.set())
        while not self._stopping.wait(0.5):
            for service in self.services:
                code = service.process.poll() if service.process else None
                if code is not None:
                    print(f"{service.name} exited with code {code}; stopping the rest", flush=True)
                    return 1
        print("stopping…", flush=True)
        return 0

    def stop(self) -> None:
        for service in reversed(self.services):
            if service.process and service.process.poll() is None:
                os.killpg(service.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for service in reversed(self.services):
            if service.process is None:
                continue
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait()
            print(f"stopped {service.name}", flush=True)
