"""Shared fixtures: databases (SQLite and the real PostgreSQL), the real Redis, and a
guard that fails any test trying to reach beyond this machine.

PostgreSQL and Redis tests skip with a reason when the servers are unreachable, except
when CIVIC_REQUIRE_SERVICES is set (as `.ci/run` does): then they fail.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from civic.city import Profile, load_profile
from civic.settings import PROJECT_ROOT, get_settings
from storage.db import engine_for, make_engine, migrate, session_factory

POSTGRES_URL = os.environ.get(
    "CIVIC_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CIVIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("CIVIC_REQUIRE_SERVICES") == "1"

# A valid secret key for the tests and for every process they start (`civicbot run` in
# the end-to-end tests inherits the environment); never a deployment's own key or file.
TEST_SECRET_KEY = "test-secret-key-" + "0123456789abcdef" * 2
os.environ["CIVIC_SECRET_KEY"] = TEST_SECRET_KEY
for _name in ("CIVIC_SECRET_KEY_FILE", "CIVIC_ENV", "RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN"):
    os.environ.pop(_name, None)

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost"
        if not local:
            raise AssertionError(f"test tried to reach {host}: only this machine is allowed")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def no_internet() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


def service_unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error})"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and CIVIC_REQUIRE_SERVICES=1 forbids skipping")
    pytest.skip(message)


@pytest.fixture
def profile() -> Profile:
    return load_profile(PROJECT_ROOT / "profiles" / "hangzhou")


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own var directory and SQLite database unless it sets others,
    and no `.env` file but one it writes itself."""
    monkeypatch.setattr("civic.environment.ENV_FILE", tmp_path / ".env")
    monkeypatch.setenv("CIVIC_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _postgres_schema_url() -> Iterator[str]:
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        service_unavailable(f"PostgreSQL at {POSTGRES_URL}", exc)
    schema = f"t_{secrets.token_hex(6)}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        engine_for(url).dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, and a fresh schema in the real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        migrate(url)
        yield url
        engine_for(url).dispose()
        return
    gen = _postgres_schema_url()
    url = next(gen)
    migrate(url)
    yield url
    for _ in gen:
        pass


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    with session_factory(database_url)() as s:
        yield s


@pytest.fixture
def redis_client() -> Iterator[object]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:
        service_unavailable(f"Redis at {REDIS_URL}", exc)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A migrated, empty schema in the real PostgreSQL, for behaviour only it has."""
    gen = _postgres_schema_url()
    url = next(gen)
    migrate(url)
    yield url
    for _ in gen:
        pass


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A fresh schema in the real PostgreSQL with nothing in it, not even migrated."""
    gen = _postgres_schema_url()
    yield next(gen)
    for _ in gen:
        pass
