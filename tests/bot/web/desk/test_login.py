"""Signing in to the desk under attack: each account and each address waits longer after
every failure past the free ones (429 and the login page saying for how long), a
throttled attempt's password is never checked, a success starts again, and only so many
password checks run at once. The clock is the test's own."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.web import desk_router
from bot.web._desk import login as login_module
from bot.web._limits import WebLimits
from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from civic.settings import get_settings
from storage.db import session_factory
from storage.media import MediaStore
from storage.ratelimit import MemoryStore

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]*)"')
ERROR = re.compile(r'<p class="error" role="alert"[^>]*>([^<]*)</p>')


class Clock:
    def __init__(self) -> None:
        self.now = 6_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Desk:
    app: FastAPI
    clock: Clock
    limits: WebLimits

    def client(self, lang: str = "en", address: str = "198.51.100.7") -> TestClient:
        return TestClient(
            self.app,
            headers={"Accept-Language": lang},
            client=(address, 50000),
            raise_server_exceptions=True,
        )


@pytest.fixture
def desk(
    database_url: str, profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    sessions = session_factory(database_url, writes=True)  # as the web app's are
    with sessions.begin() as session:
        for name in ("li", "wang"):
            create_user(
                session=session,
                username=name,
                password=PASSWORD,
                agency="urban-management",
                role="officer",
                display_name=name.title(),
                known_agencies=set(profile.agencies),
            )
    clock = Clock()
    settings = replace(get_settings(), login_free_failures_per_ip=8, login_hash_concurrency=2)
    limits = WebLimits(settings, store=MemoryStore(clock), clock=clock)
    app = FastAPI()
    media = MediaStore(tmp_path / "media")
    router = desk_router(sessions=sessions, profile=profile, media=media, limits=limits)
    app.include_router(router, prefix="/desk")
    yield Desk(app, clock, limits)


def sign_in(client: TestClient, username: str, password: str) -> httpx.Response:
    found = CSRF.search(client.get("/desk/login").text)
    assert found is not None
    fields = {"csrf": found.group(1), "username": username, "password": password}
    return client.post("/desk/login", data=fields, follow_redirects=False)


def outcome(response: httpx.Response) -> tuple[int, str | None, str | None]:
    """The status, Retry-After and the message the page shows."""
    shown = ERROR.search(response.text)
    return (
        response.status_code,
        response.headers.get("retry-after"),
        shown.group(1) if shown else None,
    )


WRONG = (401, None, "The username or password is not correct.")


def throttled(seconds: int, minutes: int) -> tuple[int, str, str]:
    return 429, str(seconds), f"Too many sign-in attempts. Please try again in {minutes} min."


def test_after_five_failures_an_account_waits_and_its_password_is_not_checked(
    desk: Desk,
) -> None:
    client = desk.client()
    assert [outcome(sign_in(client, "li", "guess")) for _ in range(5)] == [WRONG] * 5
    refused = sign_in(client, "li", PASSWORD)  # the right password, but too soon
    assert outcome(refused) == throttled(1, 1)
    assert 'name="password"' in refused.text
    assert "desk_session" not in client.cookies
    desk.clock.now += 1
    assert outcome(sign_in(client, "li", "guess")) == WRONG
    assert outcome(sign_in(client, "li", PASSWORD)) == throttled(2, 1)
    desk.clock.now += 2
    assert sign_in(client, "li", PASSWORD).status_code == 303
    # a success starts the count again
    other = desk.client(address="203.0.113.9")
    assert [outcome(sign_in(other, "li", "guess")) for _ in range(5)] == [WRONG] * 5
    assert outcome(sign_in(other, "li", "guess")) == throttled(1, 1)


def test_the_wait_doubles_up_to_fifteen_minutes(desk: Desk) -> None:
    client = desk.client()
    for _ in range(5):
        sign_in(client, "li", "guess")
    waits = []
    for _ in range(12):
        status, retry_after, _ = outcome(sign_in(client, "li", "guess"))
        assert status == 429 and retry_after is not None
        waits.append(int(retry_after))
        desk.clock.now += int(retry_after)
        assert outcome(sign_in(client, "li", "guess")) == WRONG
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert outcome(sign_in(client, "li", "guess")) == throttled(900, 15)


def test_another_account_is_not_held_up_by_one_under_attack(desk: Desk) -> None:
    attacker, officer = desk.client(), desk.client(address="203.0.113.9")
    for _ in range(6):
        sign_in(attacker, "li", "guess")
    assert sign_in(officer, "wang", PASSWORD).status_code == 303


def test_one_address_guessing_many_accounts_is_throttled(desk: Desk) -> None:
    client = desk.client()
    names = [f"user{i}" for i in range(8)]
    assert [outcome(sign_in(client, name, "guess")) for name in names] == [WRONG] * 8
    assert outcome(sign_in(client, "wang", PASSWORD)) == throttled(1, 1)
    elsewhere = desk.client(address="203.0.113.9")
    assert sign_in(elsewhere, "wang", PASSWORD).status_code == 303


def test_an_office_signing_in_all_day_from_one_address_is_never_throttled(desk: Desk) -> None:
    client = desk.client()
    for _ in range(30):
        assert sign_in(client, "li", PASSWORD).status_code == 303
        client.cookies.clear()
    assert outcome(sign_in(client, "li", "typo")) == WRONG


def test_the_throttle_speaks_the_readers_language(desk: Desk) -> None:
    client = desk.client(lang="zh")
    for _ in range(5):
        sign_in(client, "li", "guess")
    assert outcome(sign_in(client, "li", "guess")) == (
        429,
        "1",
        "登录尝试次数过多，请 1 分钟后再试。",
    )


async def test_only_so_many_password_checks_run_at_once(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood of sign-ins queues for the password check (2 at a time here)."""
    running, most, release = 0, 0, threading.Event()
    lock = threading.Lock()
    real = login_module.authenticate

    def slow_authenticate(**kwargs: Any) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(timeout=30)
        with lock:
            running -= 1
        return real(**kwargs)

    monkeypatch.setattr(login_module, "authenticate", slow_authenticate)
    transport = httpx.ASGITransport(app=desk.app, client=("198.51.100.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://desk") as client:
        page = await client.get("/desk/login")
        found = CSRF.search(page.text)
        assert found is not None
        names = ["li", "wang", "zhang", "zhao", "chen", "liu"]
        attempts = [
            asyncio.create_task(
                client.post(
                    "/desk/login",
                    data={"csrf": found.group(1), "username": name, "password": PASSWORD},
                )
            )
            for name in names
        ]
        checks = desk.limits.password_checks
        try:
            # two checks running, four queued (asyncio.Semaphore's own queue)
            while not (running == 2 and len(getattr(checks, "_waiters", None) or ()) == 4):
                assert most <= 2 and not any(a.done() for a in attempts), (most, attempts)
                await asyncio.sleep(0.01)
        finally:
            release.set()
        statuses = [r.status_code for r in await asyncio.gather(*attempts)]
    assert (statuses, most) == ([303, 303, 401, 401, 401, 401], 2)
