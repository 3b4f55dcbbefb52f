"""The whole assistant, for real: `civicbot run` starts the Rasa server (trained on the
project's data), the action server, the web app, the scheduler and the Telegram gateway,
which talks over HTTP to the Bot API stand-in. Tests act as Telegram users or web users."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from civic.settings import PROJECT_ROOT
from civic.training import train
from storage.db import session_factory
from tests.fakes.botapi import BotApiStandIn

STARTUP_TIMEOUT_SECONDS = 300
BOT_TOKEN = "123456:TEST-token_for-e2e"
_user_ids = count(10_001)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    log_path: Path
    web_url: str
    database_url: str
    telegram: BotApiStandIn

    def db(self) -> Session:
        return session_factory(self.database_url)()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def new_user() -> int:
    """A fresh Telegram user id, so tests do not see each other's conversations."""
    return next(_user_ids)


def _wait_until_ready(process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        if "\nready." in text:
            return
        if process.poll() is not None:
            raise AssertionError(f"civicbot run exited with {process.returncode}:\n{text[-4000:]}")
        time.sleep(0.5)
    raise AssertionError(
        f"civicbot run not ready after {STARTUP_TIMEOUT_SECONDS}s:\n{text[-4000:]}"
    )


@pytest.fixture(scope="session")
def telegram() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(token=BOT_TOKEN) as api:
        yield api


@pytest.fixture(scope="session")
def stack(telegram: BotApiStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    train(PROJECT_ROOT / "models")
    var_dir = tmp_path_factory.mktemp("e2e-var")
    database_url = f"sqlite:///{var_dir / 'civic.db'}"
    web_port = free_port()
    env = {
        **os.environ,
        "CIVIC_VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url,
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "ACTION_SERVER_PORT": str(free_port()),
        "WEB_PORT": str(web_port),
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_BASE_URL": telegram.base_url,
    }
    env.pop("REDIS_URL", None)
    log_path = var_dir / "civicbot-run.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "civic.cli", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(process, log_path)
        yield Stack(process, log_path, f"http://127.0.0.1:{web_port}", database_url, telegram)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise


@pytest.fixture
def web(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.web_url, timeout=60) as client:
        yield client
