"""A real headless Chromium (Debian's package, driven by Playwright) against the web app
served by uvicorn on a free local port, over a migrated SQLite database.

Without /usr/bin/chromium or Playwright the browser tests skip with the reason, except
when CIVIC_REQUIRE_SERVICES=1 (as `.ci/run` sets): then they fail.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from bot.assistant import Conversation, RasaClient
from bot.web import create_app
from civic.city import Profile
from civic.settings import PROJECT_ROOT
from storage.db import engine_for, migrate, session_factory
from storage.updates import DatabaseLedger

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
STARTUP_SECONDS = 15


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives a real headless Chromium (/usr/bin/chromium) via Playwright"
    )


def unavailable(message: str) -> None:
    if os.environ.get("CIVIC_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " and CIVIC_REQUIRE_SERVICES=1 forbids skipping")
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One Chromium per test module (Playwright's sync API allows one at a time, so it is
    closed before the next module starts its own); each test opens its own page."""
    if not CHROMIUM.is_file():
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    url: str
    sessions: sessionmaker[Session]


@pytest.fixture
def site(tmp_path: Path, profile: Profile) -> Iterator[Site]:
    """The whole web app (as `civicbot web` builds it) in a thread; Rasa is never asked."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    migrate(url)
    sessions = session_factory(url)
    conversation = Conversation(
        rasa=RasaClient("http://127.0.0.1:9"), sessions=sessions, ledger=DatabaseLedger(sessions)
    )
    app = create_app(conversation, sessions=sessions, profile=profile)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="desk-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"the web app did not start on port {port}")
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", sessions)
    server.should_exit = True
    thread.join(timeout=10)
    engine_for(url).dispose()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour with a darker diagonal band (so it is visibly a picture)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    dark = tuple(c // 2 for c in rgb)
    rows = b"".join(
        b"\x00" + b"".join(bytes(dark if abs(x - y) < 6 else rgb) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
