"""What `civicbot run` gives each process: its own tokens for Rasa's API and the action
server, never on a command line; and the endpoints it writes for Rasa: its token, where
conversations are kept, and for how long in Redis."""

from __future__ import annotations

import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from civic.settings import PROJECT_ROOT, Settings, load_settings
from ops.process_care import _pump
from ops.supervisor import (
    Service,
    ServiceTokens,
    child_environment,
    services,
    write_rasa_endpoints,
)
from ops.training import RASA_PYTHON, rasa_environment

MODEL = Path("models/civic-0000000000000000.tar.gz")
TOKENS = ServiceTokens(rasa="rasa-token-for-this-run", actions="actions-token-for-this-run")


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST")
    return load_settings()


def by_name(planned: list[Service]) -> dict[str, Service]:
    return {service.name: service for service in planned}


def test_each_start_makes_new_tokens_unless_they_are_set(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = ServiceTokens.for_run(settings), ServiceTokens.for_run(settings)
    assert first.rasa != second.rasa and first.actions != second.actions
    assert first.rasa != first.actions
    assert min(len(first.rasa), len(first.actions)) >= 43  # 32 random bytes
    monkeypatch.setenv("RASA_AUTH_TOKEN", "set-by-the-deployer")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "also-set")
    assert ServiceTokens.for_run(load_settings()) == ServiceTokens(
        "set-by-the-deployer", "also-set"
    )


def test_each_process_gets_only_the_tokens_it_uses(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASA_AUTH_TOKEN", "stale-from-the-shell")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "stale-too")
    planned = by_name(services(settings, MODEL, TOKENS))
    assert set(planned) == {"actions", "rasa", "web", "scheduler", "notifier", "gateway"}

    def tokens_of(name: str) -> tuple[str | None, str | None]:
        env = child_environment(planned[name])
        return env.get("RASA_AUTH_TOKEN"), env.get("ACTION_SERVER_TOKEN")

    assert tokens_of("rasa") == (TOKENS.rasa, TOKENS.actions)
    assert tokens_of("actions") == (None, TOKENS.actions)
    for name in ("web", "gateway", "scheduler", "notifier"):
        assert tokens_of(name) == (TOKENS.rasa, None)


def test_no_token_appears_on_a_command_line(settings: Settings) -> None:
    for service in services(settings, MODEL, TOKENS):
        line = " ".join(service.command)
        assert TOKENS.rasa not in line and TOKENS.actions not in line, service.name
        assert "--auth-token" not in line
    planned = by_name(services(settings, MODEL, TOKENS))
    assert planned["actions"].command[1:] == ["-m", "ops.action_server"]
    assert planned["rasa"].command[:4] == [str(RASA_PYTHON), "-m", "ops.rasa_main", "run"]
    rasa = planned["rasa"].command
    assert rasa[rasa.index("--interface") + 1] == "127.0.0.1"


def test_the_endpoints_send_the_action_token_and_the_channel_checks_rasas(
    settings: Settings,
) -> None:
    endpoints, credentials = write_rasa_endpoints(settings)
    assert yaml.safe_load(credentials.read_text()) == {"ops.rasa_channel.TokenRestInput": None}
    assert stat.S_IMODE(endpoints.stat().st_mode) == 0o600
    action_endpoint = yaml.safe_load(endpoints.read_text())["action_endpoint"]
    assert action_endpoint == {
        "url": f"http://127.0.0.1:{settings.action_server_port}/webhook",
        "token": "${ACTION_SERVER_TOKEN}",
    }
    assert TOKENS.actions not in endpoints.read_text()


def test_rasa_reads_the_action_token_from_its_environment(settings: Settings) -> None:
    """Rasa's own reader, in the Rasa environment, turns the entry into the real token."""
    if not RASA_PYTHON.exists():
        pytest.skip("the Rasa environment (.venv-rasa) is not installed")
    endpoints, _credentials = write_rasa_endpoints(settings)
    read = (
        "import sys; from rasa.utils.endpoints import read_endpoint_config as r; "
        "c = r(sys.argv[1], 'action_endpoint'); print(c.url, c.token_name, c.token)"
    )
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", read, str(endpoints)],
        env={**rasa_environment(), "ACTION_SERVER_TOKEN": TOKENS.actions},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    url = f"http://127.0.0.1:{settings.action_server_port}/webhook"
    assert result.stdout.strip().splitlines()[-1] == f"{url} token {TOKENS.actions}"


def _endpoints(path: Path) -> dict[str, object]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_in_redis_mode_conversations_expire_after_the_retention_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:s3cret@127.0.0.1:6380/4")
    monkeypatch.setenv("CIVIC_RETENTION_DAYS", "30")
    endpoints_path, _ = write_rasa_endpoints(load_settings())
    endpoints = _endpoints(endpoints_path)
    assert endpoints["tracker_store"] == {
        "type": "ops.rasa_tracker_store.BoundedRedisTrackerStore",
        "key_prefix": "civic",
        "record_exp": 30 * 24 * 3600,
        "session_max_events": 60,
        "url": "127.0.0.1",
        "port": 6380,
        "db": 4,
        "password": "s3cret",
    }
    assert endpoints["lock_store"] == {
        "type": "redis",
        "key_prefix": "civic",
        "url": "127.0.0.1",
        "port": 6380,
        "db": 4,
        "password": "s3cret",
    }


def test_without_redis_conversations_are_in_a_sqlite_file(settings: Settings) -> None:
    endpoints_path, _ = write_rasa_endpoints(settings)
    assert _endpoints(endpoints_path)["tracker_store"] == {
        "type": "ops.rasa_tracker_store.BoundedSQLTrackerStore",
        "dialect": "sqlite",
        "db": str(settings.var_dir / "rasa-tracker.db"),
        "session_max_events": 60,
    }


def test_only_the_gateway_waits_for_rasa(settings: Settings) -> None:
    """It would answer "try again shortly" while Rasa loads; the web app serves the desk."""
    waiting = {s.name: s.after for s in services(settings, MODEL, TOKENS) if s.after}
    assert waiting == {"gateway": ("rasa",)}


def test_a_process_log_is_rotated_keeping_the_configured_number(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = replace(settings, log_max_bytes=200, log_backups=3)
    lines = "for i in range(100): print(f'line {i:03d} of the child')"
    child = subprocess.Popen(
        [sys.executable, "-c", lines], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    _pump(child, "web", tmp_path / "web.log", small)
    child.wait()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["web.log", "web.log.1", "web.log.2", "web.log.3"]
    assert (tmp_path / "web.log").read_text().splitlines()[-1] == "line 099 of the child"
    assert "[web      ] line 099 of the child" in capsys.readouterr().out
