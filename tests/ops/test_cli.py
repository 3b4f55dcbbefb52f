"""`civicbot` on a fresh machine: the first command makes the secret key, later ones
keep it, and a known key stops every command with a clear message."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from civic.settings import get_settings
from ops.cli import main


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("CIVIC_SECRET_KEY")
    return (tmp_path / "var" / "secret_key").resolve()


def test_the_first_command_writes_a_key_and_later_ones_reuse_it(
    no_key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    first = capsys.readouterr().out
    assert first.splitlines()[0] == (
        f"wrote a new secret key to {no_key} (keep it: invitation links depend on it)"
    )
    assert stat.S_IMODE(no_key.stat().st_mode) == 0o600
    key = no_key.read_text()
    assert key.strip() not in first
    get_settings.cache_clear()
    assert main(["migrate"]) == 0
    assert "secret key" not in capsys.readouterr().out
    assert no_key.read_text() == key
    assert get_settings().secret_key == key.strip()


@pytest.mark.parametrize("key", ["change-me", "too-short"])
def test_a_known_or_short_key_stops_the_command(
    no_key: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    monkeypatch.setenv("CIVIC_SECRET_KEY", key)
    assert main(["migrate"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("configuration error: CIVIC_SECRET_KEY ")
    assert "secrets.token_urlsafe(48)" in out
    assert not no_key.exists()
