"""The whole assistant, for real: `civicbot run` starts the Rasa server (trained on the
project's data), the action server, the web app, the scheduler and the Telegram gateway,
which talks over HTTP to the Bot API stand-in. Tests act as Telegram users or web users."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from civic.settings import PROJECT_ROOT
from ops.training import train
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
    var_dir: Path

    def rasa_tracker_dump(self) -> str:
        """Everything Rasa's tracker store holds, as text (to check what Rasa saw)."""
        import sqlite3

        with sqlite3.connect(self.var_dir / "rasa-tracker.db") as conn:
            rows = conn.execute("SELECT sender_id, data FROM events").fetchall()
        return "\n".join(f"{r[0]} {r[1]}" for r in rows)

    def db(self) -> Session:
        return session_factory(self.database_url)()

    def writer(self) -> Session:
        """A session that takes SQLite's write lock at its first statement, for a test that
        reads and then writes: a deferred one could fail with SQLITE_BUSY_SNAPSHOT when a
        stack process commits in between. Never nest another session inside it."""
        return session_factory(self.database_url, writes=True)()

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


@contextmanager
def running_stack(
    telegram: BotApiStandIn,
    var_dir: Path,
    database_url: str,
    redis_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """`civicbot run` on free ports with the given database (and Redis, if any), and
    `extra_env` on top (an SMS gateway, say)."""
    train(PROJECT_ROOT / "models", profile_dir=PROJECT_ROOT / "profiles" / "hangzhou")
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
    if redis_url:
        env["REDIS_URL"] = redis_url
    env |= extra_env or {}
    log_path = var_dir / "civicbot-run.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(process, log_path)
        yield Stack(
            process, log_path, f"http://127.0.0.1:{web_port}", database_url, telegram, var_dir
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise


@pytest.fixture(scope="session")
def stack(telegram: BotApiStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The default deployment: SQLite, no Redis."""
    var_dir = tmp_path_factory.mktemp("e2e-var")
    with running_stack(telegram, var_dir, f"sqlite:///{var_dir / 'civic.db'}") as running:
        yield running


@pytest.fixture
def web(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.web_url, timeout=60) as client:
        yield client


class TelegramUser:
    """One Telegram user talking to the assistant through the Bot API stand-in."""

    def __init__(self, stack: Stack, user_id: int | None = None, language_code: str = "zh") -> None:
        self.stack = stack
        self.api = stack.telegram
        self.id = user_id or new_user()
        self.api.add_user(self.id, language_code=language_code)

    def _after(self, send: Callable[[], object], expect: int) -> list[Any]:
        before = len(self.api.messages(self.id))
        send()
        return self.api.wait_for_messages(self.id, before + expect, timeout=60)[before:]

    def say(self, text: str, expect: int = 1) -> list[Any]:
        return self._after(lambda: self.api.send_text(self.id, text), expect)

    def tap(self, title: str, expect: int = 1) -> list[Any]:
        """Press the inline button titled `title` on the newest message that has it."""
        for message in reversed(self.api.messages(self.id)):
            data = dict(buttons_of(message)).get(title)
            if data is not None:
                press = partial(self.api.send_callback, self.id, data, message.message_id)
                return self._after(press, expect)
        raise AssertionError(
            f"no button {title!r} in {[m.text for m in self.api.messages(self.id)]}"
        )

    def share_location(self, lat: float, long: float, expect: int = 1) -> list[Any]:
        return self._after(lambda: self.api.send_location(self.id, lat, long), expect)

    def send_photo(self, expect: int = 1, **kwargs: Any) -> list[Any]:
        return self._after(lambda: self.api.send_photo(self.id, **kwargs), expect)

    def share_phone(self, phone: str, expect: int = 1) -> list[Any]:
        return self._after(lambda: self.api.send_contact(self.id, phone), expect)


def buttons_of(message: Any) -> list[tuple[str, str]]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def titles(message: Any) -> list[str]:
    return [title for title, _ in buttons_of(message)]


TICKET_NUMBER = re.compile(r"HZ-\d{4}-\d{6}")
SKIP = {"zh": "跳过", "en": "Skip"}
CONTACT_CHAT = {"zh": "在本对话中联系我", "en": "Contact me in this chat"}
CONFIRM = {"zh": "确认提交", "en": "Confirm"}


def file_complaint(
    user: TelegramUser, text: str, *, place: str | None = None, lang: str = "zh"
) -> str:
    """Walk the complaint form with plain answers; returns the new ticket's number."""
    replies = user.say(text)
    if place is not None:
        replies = user.say(place)
    assert titles(replies[-1]) == [SKIP[lang]], [r.text for r in replies]
    user.tap(SKIP[lang])
    user.tap(CONTACT_CHAT[lang])
    [filed] = user.tap(CONFIRM[lang])
    number = TICKET_NUMBER.search(filed.text)
    assert number, filed.text
    return number.group()
