"""Settings from the environment, and hiding secrets when they are shown."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from civic.settings import (
    PROJECT_ROOT,
    SettingsError,
    ensure_secret_key,
    get_settings,
    load_settings,
    mask_url_password,
)

VARIABLES = [
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_BASE_URL",
    "TELEGRAM_MODE",
    "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_WEBHOOK_SECRET",
    "TELEGRAM_WEBHOOK_PORT",
    "RASA_URL",
    "RASA_AUTH_TOKEN",
    "ACTION_SERVER_PORT",
    "ACTION_SERVER_TOKEN",
    "WEB_HOST",
    "WEB_PORT",
    "CIVIC_SECRET_KEY",
    "CIVIC_SECRET_KEY_FILE",
    "CIVIC_ENV",
    "CIVIC_PROFILE",
    "CIVIC_PROFILES_DIR",
    "CIVIC_MODELS_DIR",
    "LOG_LEVEL",
    "CIVIC_WEB_SESSION_IDLE_DAYS",
    "CIVIC_WEB_SESSION_MAX_DAYS",
    "CIVIC_WEB_SESSION_ROTATE_HOURS",
    "OPEN311_PUBLIC_VIEW",
    "CIVIC_RETENTION_DAYS",
    "WECHAT_APP_ID",
    "WECHAT_APP_SECRET",
    "WECHAT_TOKEN",
    "WECHAT_AES_KEY",
]


GOOD_KEY = "k" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIVIC_SECRET_KEY", GOOD_KEY)


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings()
    var_dir = (tmp_path / "var").resolve()
    assert settings.var_dir == var_dir
    assert settings.database_url == f"sqlite:///{var_dir / 'civic.db'}"
    assert (settings.redis_url, settings.profile) == (None, "hangzhou")
    assert settings.profiles_dir == PROJECT_ROOT / "profiles"
    assert (settings.telegram_bot_token, settings.telegram_mode) == (None, "polling")
    assert (settings.rasa_url, settings.rasa_port) == ("http://127.0.0.1:5005", 5005)
    assert settings.action_server_url == "http://127.0.0.1:5055/webhook"
    assert (settings.web_host, settings.web_port, settings.log_level) == ("127.0.0.1", 8000, "INFO")
    assert (settings.open311_public_view, settings.retention_days) == ("coarse", 180)
    assert (settings.rasa_auth_token, settings.action_server_token) == (None, None)
    assert (settings.secret_key, settings.development) == (GOOD_KEY, False)


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_PORT", " 9000 ")
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:5999/")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("TELEGRAM_MODE", "webhook")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "a" * 32)
    settings = load_settings()
    assert (settings.web_port, settings.rasa_url, settings.rasa_port) == (
        9000,
        "http://127.0.0.1:5999",
        5999,
    )
    assert (settings.log_level, settings.telegram_mode) == ("DEBUG", "webhook")


def test_blank_variables_mean_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_PORT", "  ")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", " ")
    settings = load_settings()
    assert (settings.web_port, settings.telegram_bot_token) == (8000, None)


def test_repr_hides_token_and_database_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC-secret-token")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://civic:s3cr3t@127.0.0.1:5432/civic")
    monkeypatch.setenv("RASA_AUTH_TOKEN", "rasa-api-token")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "action-server-token")
    settings = load_settings()
    assert (settings.rasa_auth_token, settings.action_server_token) == (
        "rasa-api-token",
        "action-server-token",
    )
    text = repr(settings)
    for secret in ("ABC-secret-token", "s3cr3t", GOOD_KEY, "rasa-api-token", "action-server"):
        assert secret not in text
    assert "telegram_bot_token='***'" in text
    assert "database_url='postgresql+psycopg2://civic:***@127.0.0.1:5432/civic'" in text


def test_repr_hides_redis_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:6379/0")
    assert "redis_url='redis://:***@127.0.0.1:6379/0'" in repr(load_settings())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://user:secret@host/db", "postgresql://user:***@host/db"),
        ("postgresql://user:p@ss@host/db", "postgresql://user:***@host/db"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        ("sqlite:///var/civic.db", "sqlite:///var/civic.db"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url_password(url: str, expected: str) -> None:
    assert mask_url_password(url) == expected


def test_non_numeric_port_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_PORT", "eighty")
    with pytest.raises(ValueError) as info:
        load_settings()
    assert str(info.value) == "WEB_PORT must be a whole number, got 'eighty'"


def test_bad_telegram_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", "carrier-pigeon")
    with pytest.raises(ValueError) as info:
        load_settings()
    assert str(info.value) == "TELEGRAM_MODE must be 'polling' or 'webhook', got 'carrier-pigeon'"


def test_open311_public_view_and_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPEN311_PUBLIC_VIEW", " Off ")
    monkeypatch.setenv("CIVIC_RETENTION_DAYS", "30")
    settings = load_settings()
    assert (settings.open311_public_view, settings.retention_days) == ("off", 30)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "OPEN311_PUBLIC_VIEW",
            "partial",
            "OPEN311_PUBLIC_VIEW must be off, coarse or full, got 'partial'",
        ),
        ("CIVIC_RETENTION_DAYS", "0", "CIVIC_RETENTION_DAYS must be at least 1, got 0"),
        (
            "CIVIC_RETENTION_DAYS",
            "half a year",
            "CIVIC_RETENTION_DAYS must be a whole number, got 'half a year'",
        ),
    ],
)
def test_bad_privacy_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as info:
        load_settings()
    assert str(info.value) == message


def test_get_settings_is_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    monkeypatch.setenv("WEB_PORT", "9100")
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().web_port == 9100


@pytest.mark.parametrize(
    "secret", [None, "", "short-secret", "x" * 31, "has spaces " * 4, "é" * 40]
)
def test_webhook_mode_refuses_to_start_without_a_strong_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", "webhook")
    if secret is not None:
        monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", secret)
    with pytest.raises(ValueError) as info:
        load_settings()
    assert str(info.value).startswith(
        "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET: 32 to 256 characters"
    )


def test_a_strong_webhook_secret_is_kept_and_polling_needs_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", "webhook")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", " " + "K3y_-" * 8 + " ")
    assert load_settings().telegram_webhook_secret == "K3y_-" * 8
    monkeypatch.setenv("TELEGRAM_MODE", "polling")
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")
    assert load_settings().telegram_webhook_secret is None


def test_web_chat_sessions_last_30_days_idle_90_in_all_and_rotate_daily() -> None:
    settings = load_settings()
    assert (
        settings.web_session_idle_days,
        settings.web_session_max_days,
        settings.web_session_rotate_hours,
    ) == (30, 90, 24)


def test_web_chat_session_lifetimes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVIC_WEB_SESSION_IDLE_DAYS", "7")
    monkeypatch.setenv("CIVIC_WEB_SESSION_MAX_DAYS", "7")
    monkeypatch.setenv("CIVIC_WEB_SESSION_ROTATE_HOURS", "1")
    settings = load_settings()
    assert (settings.web_session_idle_days, settings.web_session_max_days) == (7, 7)
    assert settings.web_session_rotate_hours == 1


@pytest.mark.parametrize(
    ("idle", "most", "rotate"), [("0", "90", "24"), ("30", "7", "24"), ("1", "90", "24")]
)
def test_web_chat_session_lifetimes_that_cannot_work_are_refused(
    monkeypatch: pytest.MonkeyPatch, idle: str, most: str, rotate: str
) -> None:
    monkeypatch.setenv("CIVIC_WEB_SESSION_IDLE_DAYS", idle)
    monkeypatch.setenv("CIVIC_WEB_SESSION_MAX_DAYS", most)
    monkeypatch.setenv("CIVIC_WEB_SESSION_ROTATE_HOURS", rotate)
    with pytest.raises(ValueError) as info:
        load_settings()
    assert str(info.value) == (
        "web chat sessions need 0 < CIVIC_WEB_SESSION_ROTATE_HOURS < "
        "CIVIC_WEB_SESSION_IDLE_DAYS * 24 and CIVIC_WEB_SESSION_IDLE_DAYS <= "
        f"CIVIC_WEB_SESSION_MAX_DAYS; got {rotate} hours, {idle} and {most} days"
    )


# The secret key: refused when known or short, outside development.


def _refusal(monkeypatch: pytest.MonkeyPatch, key: str | None) -> str:
    if key is None:
        monkeypatch.delenv("CIVIC_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("CIVIC_SECRET_KEY", key)
    with pytest.raises(ValueError) as info:
        load_settings()
    return str(info.value)


def test_a_missing_or_example_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = _refusal(monkeypatch, None)
    assert missing.startswith("CIVIC_SECRET_KEY is not set: it signs survey invitation links")
    example = _refusal(monkeypatch, " change-me ")
    assert example.startswith("CIVIC_SECRET_KEY is the example value 'change-me':")
    for message in (missing, example):
        assert "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'" in message
        assert "CIVIC_SECRET_KEY_FILE" in message
        assert "CIVIC_ENV=development" in message


def test_a_short_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _refusal(monkeypatch, "x" * 31)
    assert message.startswith(
        "CIVIC_SECRET_KEY (from CIVIC_SECRET_KEY) has 31 characters, fewer than the 32 needed"
    )
    monkeypatch.setenv("CIVIC_SECRET_KEY", "x" * 32)
    assert load_settings().secret_key == "x" * 32


@pytest.mark.parametrize(("key", "expected"), [(None, "change-me"), ("dev", "dev")])
def test_development_accepts_the_example_and_short_keys(
    monkeypatch: pytest.MonkeyPatch, key: str | None, expected: str
) -> None:
    monkeypatch.setenv("CIVIC_ENV", "Development")
    if key is None:
        monkeypatch.delenv("CIVIC_SECRET_KEY")
    else:
        monkeypatch.setenv("CIVIC_SECRET_KEY", key)
    settings = load_settings()
    assert (settings.secret_key, settings.development) == (expected, True)


def test_an_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVIC_ENV", "staging")
    with pytest.raises(ValueError) as info:
        load_settings()
    assert str(info.value) == "CIVIC_ENV must be 'production' or 'development', got 'staging'"


def test_the_generated_key_file_is_private_used_and_not_regenerated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CIVIC_SECRET_KEY")
    key_file = (tmp_path / "var" / "secret_key").resolve()
    assert ensure_secret_key() == key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 64
    assert load_settings().secret_key == key
    assert ensure_secret_key() is None
    assert key_file.read_text().strip() == key
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["secret_key"]
    get_settings.cache_clear()
    assert get_settings().secret_key == key


def test_no_key_file_is_written_when_a_key_is_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert ensure_secret_key() is None
    monkeypatch.delenv("CIVIC_SECRET_KEY")
    monkeypatch.setenv("CIVIC_SECRET_KEY_FILE", str(tmp_path / "elsewhere"))
    assert ensure_secret_key() is None
    assert not (tmp_path / "var").exists()


def test_the_key_file_named_by_the_variable_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CIVIC_SECRET_KEY")
    key_file = tmp_path / "mounted-secret"
    monkeypatch.setenv("CIVIC_SECRET_KEY_FILE", str(key_file))
    with pytest.raises(ValueError) as info:
        load_settings()
    assert str(info.value) == (
        f"CIVIC_SECRET_KEY_FILE names {key_file}, which cannot be read (No such file or directory)"
    )
    key_file.write_text("short\n")
    assert _refusal(monkeypatch, None).startswith(
        f"CIVIC_SECRET_KEY (from the key file {key_file}) has 5 characters"
    )
    key_file.write_text("F" * 40 + "\n")
    assert load_settings().secret_key == "F" * 40
    monkeypatch.setenv("CIVIC_SECRET_KEY", "E" * 40)
    assert load_settings().secret_key == "E" * 40


def test_the_limits_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings()
    assert (
        defaults.chat_limit_per_session,
        defaults.chat_limit_per_ip,
        defaults.telegram_limit_per_chat,
        defaults.tickets_per_day,
        defaults.subscribe_per_day,
        defaults.open311_limit_per_key,
        defaults.open311_limit_per_ip,
    ) == (30, 120, 30, 10, 5, 120, 120)
    assert (
        defaults.login_free_failures,
        defaults.login_free_failures_per_ip,
        defaults.login_max_backoff,
        defaults.login_hash_concurrency,
    ) == (5, 20, 900, 2)
    assert (defaults.max_body_bytes, defaults.max_upload_bytes) == (65_536, 12_582_912)
    monkeypatch.setenv("CIVIC_TICKETS_PER_DAY", "3")
    monkeypatch.setenv("CIVIC_CHAT_LIMIT_PER_IP", "0")
    changed = load_settings()
    assert (changed.tickets_per_day, changed.chat_limit_per_ip) == (3, 0)


@pytest.mark.parametrize("value", ["-1", "ten"])
def test_a_limit_must_be_a_whole_number_not_below_zero(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CIVIC_LOGIN_FREE_FAILURES", value)
    with pytest.raises(ValueError, match="CIVIC_LOGIN_FREE_FAILURES"):
        load_settings()


# The .env file, and every problem reported at once.


def _write_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    env_file = tmp_path / ".env"
    env_file.write_text(text, encoding="utf-8")
    monkeypatch.setattr("civic.environment.ENV_FILE", env_file)
    return env_file


def test_settings_are_read_from_env_file_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_env(tmp_path, monkeypatch, "WEB_PORT=9001\nWEB_HOST=10.0.0.1\nSMTP_STARTTLS=yes\n")
    monkeypatch.setenv("WEB_HOST", "127.0.0.2")
    settings = load_settings()
    assert (settings.web_port, settings.web_host, settings.smtp_starttls) == (
        9001,
        "127.0.0.2",
        True,
    )


def test_every_invalid_variable_is_reported_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = _write_env(
        tmp_path, monkeypatch, "WEB_PORT=eighty\nnot a setting\nRASA_URL=http://127.0.0.1\n"
    )
    monkeypatch.setenv("TELEGRAM_MODE", "carrier-pigeon")
    monkeypatch.setenv("SMTP_PORT", "70000")
    monkeypatch.setenv("CIVIC_RETENTION_DAYS", "0")
    monkeypatch.setenv("CIVIC_TICKETS_PER_DAY", "-1")
    monkeypatch.setenv("NOTIFIER_RATE_PER_SECOND", "fast")
    monkeypatch.setenv("NOTIFIER_CONCURRENCY", "0")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value) == (
        "9 problems in the settings:\n"
        f"  - {env_file} line 2: expected NAME=value, found no '='\n"
        "  - TELEGRAM_MODE must be 'polling' or 'webhook', got 'carrier-pigeon'\n"
        "  - RASA_URL must be http://host:port, got 'http://127.0.0.1'\n"
        "  - WEB_PORT must be a whole number, got 'eighty'\n"
        "  - SMTP_PORT must be a port number from 1 to 65535, got 70000\n"
        "  - NOTIFIER_RATE_PER_SECOND must be a number, got 'fast'\n"
        "  - NOTIFIER_CONCURRENCY must be at least 1, got 0\n"
        "  - CIVIC_RETENTION_DAYS must be at least 1, got 0\n"
        "  - CIVIC_TICKETS_PER_DAY must not be negative, got -1"
    )


def test_the_example_file_copied_to_env_gives_the_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = load_settings()
    monkeypatch.setattr("civic.environment.ENV_FILE", PROJECT_ROOT / ".env.example")
    monkeypatch.chdir(PROJECT_ROOT)
    copied = load_settings()
    assert copied == defaults


def test_wechat_is_off_until_id_secret_and_token_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not load_settings().wechat_enabled
    monkeypatch.setenv("WECHAT_APP_ID", "wx0123456789abcdef")
    monkeypatch.setenv("WECHAT_APP_SECRET", "wechat-secret-value")
    assert not load_settings().wechat_enabled
    monkeypatch.setenv("WECHAT_TOKEN", "wechat-token-value")
    monkeypatch.setenv("WECHAT_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
    settings = load_settings()
    assert settings.wechat_enabled
    assert settings.wechat_api_base_url == "https://api.weixin.qq.com"
    for secret in ("wechat-secret-value", "wechat-token-value", "abcdefghijklmnop"):
        assert secret not in repr(settings)


def test_a_bad_wechat_aes_key_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECHAT_AES_KEY", "too-short")
    with pytest.raises(SettingsError, match="WECHAT_AES_KEY"):
        load_settings()


def test_the_notifiers_pace_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.notifier import NotifierOptions

    monkeypatch.setenv("NOTIFIER_RATE_PER_SECOND", "12.5")
    monkeypatch.setenv("NOTIFIER_CONCURRENCY", "3")
    options = NotifierOptions.from_settings(load_settings())
    assert (options.rate_per_second, options.concurrency) == (12.5, 3)
    monkeypatch.setenv("NOTIFIER_RATE_PER_SECOND", "0")  # no pace of its own
    assert NotifierOptions.from_settings(load_settings()).rate_per_second is None
