"""The Rasa endpoints `civicbot run` writes: where conversations are kept, and for how
long in Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from civic.settings import get_settings
from ops.supervisor import write_rasa_endpoints


def _endpoints(path: Path) -> dict[str, object]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_in_redis_mode_conversations_expire_after_the_retention_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:s3cret@127.0.0.1:6380/4")
    monkeypatch.setenv("CIVIC_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    endpoints_path, _ = write_rasa_endpoints(get_settings())
    endpoints = _endpoints(endpoints_path)
    assert endpoints["tracker_store"] == {
        "type": "redis",
        "key_prefix": "civic",
        "record_exp": 30 * 24 * 3600,
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


def test_without_redis_conversations_are_in_a_sqlite_file() -> None:
    settings = get_settings()
    endpoints_path, credentials_path = write_rasa_endpoints(settings)
    assert _endpoints(endpoints_path)["tracker_store"] == {
        "type": "SQL",
        "dialect": "sqlite",
        "db": str(settings.var_dir / "rasa-tracker.db"),
    }
    assert yaml.safe_load(credentials_path.read_text(encoding="utf-8")) == {"rest": None}
