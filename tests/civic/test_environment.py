"""The `.env` file: what it sets, and each broken line named without its text."""

from __future__ import annotations

from pathlib import Path

import pytest

from civic.environment import environment, read_env_file


def test_names_values_quotes_comments_and_export(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment\n"
        "\n"
        "WEB_PORT=9001\n"
        "export CIVIC_PROFILE = hangzhou\n"
        "SMTP_PASSWORD=' has # and spaces '\n"
        'SMS_FROM="+8613800000000"\n'
        "DATABASE_URL=\n"
        "CIVIC_WIDGET_ORIGINS=https://a.example,https://b.example\n",
        encoding="utf-8",
    )
    assert read_env_file(env_file) == (
        {
            "WEB_PORT": "9001",
            "CIVIC_PROFILE": "hangzhou",
            "SMTP_PASSWORD": " has # and spaces ",
            "SMS_FROM": "+8613800000000",
            "DATABASE_URL": "",
            "CIVIC_WIDGET_ORIGINS": "https://a.example,https://b.example",
        },
        [],
    )


def test_each_broken_line_is_named_and_its_text_is_not_shown(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "WEB_PORT=9001\n"
        "TELEGRAM_BOT_TOKEN 123456:SECRET\n"
        "2FA=on\n"
        "SMTP_PASSWORD='SECRET\n"
        "WEB_HOST=127.0.0.1\n",
        encoding="utf-8",
    )
    values, problems = read_env_file(env_file)
    assert values == {"WEB_PORT": "9001", "WEB_HOST": "127.0.0.1"}
    assert problems == [
        f"{env_file} line 2: expected NAME=value, found no '='",
        f"{env_file} line 3: the name before '=' must be letters, digits and _, "
        "not starting with a digit",
        f"{env_file} line 4: SMTP_PASSWORD: the quote ' that opens the value is not closed "
        "at its end",
    ]
    assert not any("SECRET" in problem for problem in problems)


def test_a_missing_file_sets_nothing_and_an_unreadable_one_says_so(tmp_path: Path) -> None:
    assert read_env_file(tmp_path / ".env") == ({}, [])
    binary = tmp_path / "binary.env"
    binary.write_bytes(b"WEB_PORT=\xff\xfe\n")
    assert read_env_file(binary) == ({}, [f"{binary} cannot be read: it is not UTF-8 text"])


def test_the_environment_wins_over_the_file_even_when_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WEB_PORT=9001\nWEB_HOST=10.0.0.1\nLOG_LEVEL=DEBUG\n", encoding="utf-8")
    monkeypatch.setenv("WEB_HOST", "127.0.0.2")
    monkeypatch.setenv("LOG_LEVEL", "")
    monkeypatch.delenv("WEB_PORT", raising=False)
    variables, problems = environment(env_file)
    assert (variables["WEB_PORT"], variables["WEB_HOST"], variables["LOG_LEVEL"]) == (
        "9001",
        "127.0.0.2",
        "",
    )
    assert problems == []
