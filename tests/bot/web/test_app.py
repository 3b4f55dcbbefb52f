"""The web app's operator endpoints, through the real app, the real `Conversation` and a
stand-in Rasa: /metrics (its families, a web-chat turn counted, outbox depths read from
the database), /healthz, /readyz (200 with each check, 503 naming what failed) and the
request id on every response and log line."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from bot.assistant import Conversation, RasaClient
from bot.observability import JsonFormatter
from bot.web import create_app
from civic.settings import get_settings
from storage.db import migrate, session_factory
from storage.models import Notification, OutboundMessage, utcnow
from storage.updates import DatabaseLedger
from tests.conftest import REDIS_URL
from tests.fakes.rasa import FakeRasa
from tests.web_chat import new_session, say

FAMILIES = {
    "civic_turn_seconds",
    "civic_rasa_errors",
    "civic_sends",
    "civic_telegram_refusals",
    "civic_job_runs",
    "civic_job_failures",
    "civic_outbox_depth",
    "civic_outbox_oldest_age_seconds",
    "civic_campaign_invitations_sent",
    "civic_campaign_invitations",
}


@dataclass
class App:
    http: TestClient
    sessions: sessionmaker[Session]


def closed_port() -> int:
    """A port nothing listens on (bound for a moment, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def start(
    sessions: sessionmaker[Session],
    rasa_url: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    raise_server_exceptions: bool = True,
) -> TestClient:
    """The app, its readiness checks pointed at `rasa_url` (RASA_URL)."""
    monkeypatch.setenv("CIVIC_SECRET_KEY", "app-test-secret-0123456789abcdefghij")
    monkeypatch.setenv("RASA_URL", rasa_url)
    get_settings.cache_clear()
    conversation = Conversation(
        rasa=RasaClient(rasa_url), sessions=sessions, ledger=DatabaseLedger(sessions)
    )
    app = create_app(conversation, sessions=sessions)
    return TestClient(app, raise_server_exceptions=raise_server_exceptions)


@pytest.fixture
def app(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    sessions = session_factory(database_url)
    with FakeRasa.running() as rasa, start(sessions, rasa.url, monkeypatch) as http:
        yield App(http, sessions)


def scrape(http: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def families(http: TestClient) -> set[str]:
    return {f.name for f in text_string_to_metric_families(http.get("/metrics").text)}


def test_metrics_has_every_family_and_counts_a_web_chat_turn(app: App) -> None:
    assert families(app.http) >= FAMILIES
    turns = ("civic_turn_seconds_count", (("channel", "web"),))
    sends = ("civic_sends_total", (("channel", "web"), ("kind", "reply")))
    before = scrape(app.http)

    assert [m["text"] for m in say(app.http, new_session(app.http), "路灯坏了")] == [
        "echo:路灯坏了"
    ]

    after = scrape(app.http)
    assert after[turns] == before.get(turns, 0.0) + 1
    assert after[sends] == before.get(sends, 0.0) + 1


def test_outbox_depth_and_age_come_from_the_database(app: App) -> None:
    now = utcnow()
    with app.sessions.begin() as db:
        for i, status in enumerate(["pending", "pending", "pending", "sent"]):
            db.add(
                Notification(
                    kind="direct",
                    body_key="notify.status_changed",
                    idempotency_key=f"metrics:{i}",
                    status=status,
                    created_at=now - timedelta(hours=i + 1),
                )
            )
        db.add(OutboundMessage(channel="web", address="s1", body="{}", created_at=now))

    samples = scrape(app.http)

    def depth(outbox: str) -> float:
        return samples[("civic_outbox_depth", (("outbox", outbox),))]

    assert (depth("notifications"), depth("web_chat"), depth("duty_messages")) == (3, 1, 0)
    # the oldest pending notification was written three hours ago; the sent one is older
    age = samples[("civic_outbox_oldest_age_seconds", (("outbox", "notifications"),))]
    assert 3 * 3600 <= age < 4 * 3600
    assert samples[("civic_outbox_oldest_age_seconds", (("outbox", "duty_messages"),))] == 0


def test_healthz_asks_nothing_and_readyz_reports_each_check(app: App) -> None:
    assert app.http.get("/healthz").json() == {"status": "ok"}
    ready = app.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "rasa": "ok"}}


def test_readyz_checks_redis_when_it_is_configured(
    database_url: str, monkeypatch: pytest.MonkeyPatch, redis_client: object
) -> None:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    sessions = session_factory(database_url)
    with FakeRasa.running() as rasa, start(sessions, rasa.url, monkeypatch) as http:
        ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "rasa": "ok", "redis": "ok"}


@pytest.mark.parametrize("down", ["rasa", "redis"])
def test_readyz_is_503_naming_the_dependency_that_does_not_answer(
    down: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'ready.db'}"
    sessions = session_factory(url)
    nowhere = f"127.0.0.1:{closed_port()}"
    if down == "redis":
        monkeypatch.setenv("REDIS_URL", f"redis://{nowhere}/0")
    with FakeRasa.running() as rasa:
        rasa_url = f"http://{nowhere}" if down == "rasa" else rasa.url
        with start(sessions, rasa_url, monkeypatch) as http:
            answer = http.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert (body["status"], body["failed"]) == ("not ready", [down])
    assert body["checks"]["database"] == "ok"
    assert body["checks"][down] != "ok"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the process would print with LOG_FORMAT=json."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


def test_json_log_lines_carry_the_request_id_and_not_what_the_citizen_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, json_lines: io.StringIO
) -> None:
    url = f"sqlite:///{tmp_path / 'logs.db'}"
    migrate(url)
    sessions = session_factory(url)
    secret_text = "我家在文三路 13812345678 路灯坏了"
    # Rasa is down: the turn logs a warning while the request is handled
    with start(sessions, f"http://127.0.0.1:{closed_port()}", monkeypatch) as http:
        token = new_session(http)
        answer = http.post("/api/chat", json={"token": token, "text": secret_text})
    assert answer.status_code == 200
    request_id = answer.headers["x-request-id"]
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    during = [line for line in lines if line.get("request_id") == request_id]
    assert [line["logger"] for line in during] == ["bot.assistant._conversation"]
    assert during[0]["level"] == "WARNING"
    assert "Rasa unavailable" in during[0]["message"]
    everything = json_lines.getvalue()
    assert "文三路" not in everything and "13812345678" not in everything


def test_an_incident_is_logged_with_its_id_and_the_request_id_the_proxy_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, json_lines: io.StringIO
) -> None:
    sessions = session_factory(f"sqlite:///{tmp_path / 'none.db'}")  # never migrated
    with (
        FakeRasa.running() as rasa,
        start(sessions, rasa.url, monkeypatch, raise_server_exceptions=False) as http,
    ):
        token = new_session(http)
        answer = http.post(
            "/api/chat", json={"token": token, "text": "hi"}, headers={"X-Request-ID": "lb-42"}
        )
    address = token.split(".")[1]  # the web session id, the statement's parameter
    assert answer.status_code == 500
    incident = answer.json()["incident"]
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    logged = [line for line in lines if line.get("incident") == incident]
    assert [(line["request_id"], line["level"]) for line in logged] == [("lb-42", "ERROR")]
    assert "no such table: citizens" in logged[0]["error"]
    assert "[parameters hidden]" in logged[0]["error"]
    assert address not in json_lines.getvalue()
