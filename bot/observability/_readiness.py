"""Whether this process can do its work: the database, Rasa and Redis (when configured)
answer. Each check has a short time limit and runs beside the others; a failure is a
result to report, never an error of the endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

Check = Callable[[], Awaitable[None]]  # returns when the dependency answers, raises if not


def database_check(sessions: sessionmaker[Session]) -> Check:
    def probe() -> None:
        with sessions() as session:
            session.execute(text("SELECT 1"))

    async def check() -> None:
        await asyncio.to_thread(probe)

    return check


def rasa_check(base_url: str, token: str | None, timeout: float) -> Check:
    async def check() -> None:
        params = {"token": token} if token else {}
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(base_url.rstrip("/") + "/status", params=params)
        if response.status_code != 200:
            raise RuntimeError(f"answered {response.status_code}")

    return check


def redis_check(url: str, timeout: float) -> Check:
    def probe() -> None:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()

    async def check() -> None:
        await asyncio.to_thread(probe)

    return check


@dataclass
class Readiness:
    checks: dict[str, Check] = field(default_factory=dict)
    timeout: float = 2.0

    async def run(self) -> tuple[bool, dict[str, Any]]:
        """(all answered, {"status": ..., "checks": {name: "ok" or why not}, "failed": [...]})"""
        names = list(self.checks)
        results = await asyncio.gather(*(self._one(self.checks[n]) for n in names))
        checks = dict(zip(names, results, strict=True))
        failed = [name for name, result in checks.items() if result != "ok"]
        body: dict[str, Any] = {"status": "not ready" if failed else "ready", "checks": checks}
        if failed:
            body["failed"] = failed
        return not failed, body

    async def _one(self, check: Check) -> str:
        try:
            await asyncio.wait_for(check(), self.timeout)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception as exc:  # any failure is the answer, not an error of /readyz
            return f"{type(exc).__name__}: {_short(exc)}"
        return "ok"


def _short(exc: Exception) -> str:
    # The first line only, and never a password from a URL in the message.
    first = (str(exc).splitlines() or [""])[0][:200]
    return first.split("@")[-1] if "://" in first else first
