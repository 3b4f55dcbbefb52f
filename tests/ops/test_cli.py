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


def test_a_broken_env_file_stops_the_command_naming_its_lines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WEB_PORT=8001\nTELEGRAM_BOT_TOKEN 123:SECRET\nWEB_HOST='x\n")
    monkeypatch.setattr("civic.environment.ENV_FILE", env_file)
    assert main(["migrate"]) == 2
    assert capsys.readouterr().out == (
        "configuration error: 2 problems in the settings:\n"
        f"  - {env_file} line 2: expected NAME=value, found no '='\n"
        f"  - {env_file} line 3: WEB_HOST: the quote ' that opens the value is not closed "
        "at its end\n"
    )


def test_the_key_goes_to_the_var_directory_env_file_names(
    no_key: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CIVIC_VAR_DIR")
    env_file = tmp_path / ".env"
    env_file.write_text(f"CIVIC_VAR_DIR={tmp_path / 'from-env-file'}\n")
    monkeypatch.setattr("civic.environment.ENV_FILE", env_file)
    assert main(["migrate"]) == 0
    assert (tmp_path / "from-env-file" / "secret_key").exists()
    assert not no_key.exists()
    assert get_settings().var_dir == (tmp_path / "from-env-file").resolve()
