"""Settings, read once from the environment and the `.env` file into one typed object.

A variable set in the environment wins over `.env` (`civic/environment.py`). Every
variable is checked before any is used, and all problems are reported together.
Every variable is listed with its default in `.env.example` and the README.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import TypedDict, cast
from urllib.parse import urlparse

from civic.environment import SettingsError, VariableReader, environment

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The shipped CIVIC_SECRET_KEY: fine for a demo, forgeable by anyone in a deployment.
SECRET_FIELDS = frozenset(
    {
        "telegram_bot_token",
        "telegram_webhook_secret",
        "rasa_auth_token",
        "action_server_token",
        "secret_key",
        "sms_auth_token",
        "smtp_password",
        "wechat_app_secret",
        "wechat_token",
        "wechat_aes_key",
    }
)


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    redis_url: str | None
    profile: str
    profiles_dir: Path
    telegram_bot_token: str | None = field(default=None)
    telegram_base_url: str | None = None
    telegram_mode: str = "polling"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_webhook_port: int = 8443
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_auth_token: str | None = None
    action_server_port: int = 5055
    action_server_token: str | None = None
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    secret_key: str = ""
    development: bool = False
    log_level: str = "INFO"
    category_threshold: float = 0.55
    widget_origins: tuple[str, ...] = ()
    # The web chat's map of districts draws these tiles under them ({z}/{x}/{y}); empty: none.
    chat_map_tile_url: str = ""
    models_dir: Path = PROJECT_ROOT / "models"
    sms_gateway_url: str | None = None
    sms_account_sid: str | None = None
    sms_auth_token: str | None = None
    sms_from: str | None = None
    sms_rate_per_second: float = 10.0
    sms_webhook_url: str | None = None
    sms_cost_per_segment: float = 0.0
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str | None = None
    # Invitation links: https://t.me/<bot username>?start=<token> and <public url>/?start=...
    telegram_bot_username: str = "CivicFeedbackBot"
    public_url: str = "http://127.0.0.1:8000"
    campaign_telegram_rate: float = 25.0
    # The bot's Telegram sends a second, every process together (bot/delivery/_budget.py),
    # and how much of it each higher priority keeps from the lower ones.
    telegram_rate_per_second: float = 25.0
    telegram_reserve_per_second: float = 5.0
    # The notifier's own pace: messages a second overall (0: none of its own, the shared
    # budget alone) and sends in flight at once.
    notifier_rate_per_second: float = 25.0
    notifier_concurrency: int = 8
    # Web chat sessions: idle and absolute lifetimes, and how often a token is replaced.
    web_session_idle_days: int = 30
    web_session_max_days: int = 90
    web_session_rotate_hours: int = 24
    # What Open311 reads without an api_key show: nothing (off), tickets with their place
    # rounded to about 100 m and identifiers masked (coarse), or everything (full).
    open311_public_view: str = "coarse"
    # Days conversations, web-chat messages and handoff transcripts are kept.
    retention_days: int = 180
    # Limits against flooding and guessing (docs/security.md); 0 turns one off.
    chat_limit_per_session: int = 30  # web chat messages a minute, per chat session
    chat_limit_per_ip: int = 120  # web chat messages a minute, per client address
    telegram_limit_per_chat: int = 30  # Telegram messages a minute, per private chat
    wechat_limit_per_user: int = 30  # WeChat messages a minute, per follower
    sms_limit_per_number: int = 10  # texts a minute, per phone number (each reply is paid)
    tickets_per_day: int = 10  # complaints one citizen may file per city day
    subscribe_per_day: int = 5  # /subscribe attempts per citizen per day
    open311_limit_per_key: int = 120  # Open311 POSTs a minute, per api_key
    open311_limit_per_ip: int = 120  # Open311 POSTs a minute, per client address
    login_free_failures: int = 5  # desk sign-in failures per account before any wait
    login_free_failures_per_ip: int = 20  # ... per client address
    login_max_backoff: int = 900  # the longest wait between sign-in attempts, seconds
    login_hash_concurrency: int = 2  # password checks running at once, per web process
    max_body_bytes: int = 64 * 1024  # any request body, except where a photo is allowed
    max_upload_bytes: int = 12 * 1024 * 1024  # a request that may carry a photo
    # -- the WeChat official account (read by _wechat below); off unless all three set --
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_token: str | None = None
    wechat_aes_key: str | None = None  # the EncodingAESKey: safe mode when set
    wechat_template_id_status: str | None = None  # status updates outside the 48 hours
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    # -- observability (read by _observability below) ---------------------------------
    log_format: str = "text"  # text | json
    log_max_bytes: int = 10 * 1024 * 1024  # a var/logs/<process>.log file, before rotating
    log_backups: int = 5  # rotated files kept per process
    # Metrics ports of the processes without a web server of their own; 0: not served.
    metrics_port_gateway: int = 0
    metrics_port_scheduler: int = 0
    metrics_port_notifier: int = 0
    readiness_timeout: float = 2.0  # seconds each /readyz check may take
    # -- end of observability ---------------------------------------------------------

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                value = "***"
            elif f.name in {"database_url", "redis_url"} and value:
                value = mask_url_password(str(value))
            parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_app_id and self.wechat_app_secret and self.wechat_token)

    @property
    def profile_dir(self) -> Path:
        return self.profiles_dir / self.profile

    @property
    def rasa_port(self) -> int:
        return int(self.rasa_url.rsplit(":", 1)[1].split("/")[0])

    @property
    def action_server_url(self) -> str:
        return f"http://127.0.0.1:{self.action_server_port}/webhook"


def mask_url_password(url: str) -> str:
    """Hide the password in a URL such as postgresql://user:secret@host/db."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


# What Telegram allows in a webhook's secret_token, and the least we accept: anyone who
# can reach the webhook port could otherwise post updates in any citizen's name.
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,256}$")


def _webhook_secret(r: VariableReader, mode: str) -> str | None:
    secret = r.optional("TELEGRAM_WEBHOOK_SECRET")
    if mode == "webhook" and (secret is None or not WEBHOOK_SECRET.match(secret)):
        r.problems.append(
            "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET: 32 to 256 characters of "
            "A-Z, a-z, 0-9, _ and - (for example the output of 'openssl rand -hex 32'); "
            "without it anyone could post forged updates to the webhook"
        )
    return secret


def _telegram_mode(r: VariableReader) -> str:
    mode = r.text("TELEGRAM_MODE", "polling")
    if mode not in {"polling", "webhook"}:
        r.problems.append(f"TELEGRAM_MODE must be 'polling' or 'webhook', got {mode!r}")
        return "polling"
    return mode


def _rasa_url(r: VariableReader) -> str:
    url = r.text("RASA_URL", "http://127.0.0.1:5005").rstrip("/")
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError:
        port = None
    if parsed.scheme not in {"http", "https"} or not parsed.hostname or port is None:
        r.problems.append(f"RASA_URL must be http://host:port, got {url!r}")
        return "http://127.0.0.1:5005"
    return url


def _web_session_lifetimes(r: VariableReader) -> tuple[int, int, int]:
    idle = r.integer("CIVIC_WEB_SESSION_IDLE_DAYS", 30)
    most = r.integer("CIVIC_WEB_SESSION_MAX_DAYS", 90)
    rotate = r.integer("CIVIC_WEB_SESSION_ROTATE_HOURS", 24)
    if min(idle, most, rotate) <= 0 or idle > most or rotate >= idle * 24:
        r.problems.append(
            "web chat sessions need 0 < CIVIC_WEB_SESSION_ROTATE_HOURS < "
            "CIVIC_WEB_SESSION_IDLE_DAYS * 24 and CIVIC_WEB_SESSION_IDLE_DAYS <= "
            f"CIVIC_WEB_SESSION_MAX_DAYS; got {rotate} hours, {idle} and {most} days"
        )
        return 30, 90, 24
    return idle, most, rotate


OPEN311_PUBLIC_VIEWS = ("off", "coarse", "full")


def _open311_public_view(r: VariableReader) -> str:
    view = r.text("OPEN311_PUBLIC_VIEW", "coarse").lower()
    if view not in OPEN311_PUBLIC_VIEWS:
        r.problems.append(f"OPEN311_PUBLIC_VIEW must be off, coarse or full, got {view!r}")
        return "coarse"
    return view


def _retention_days(r: VariableReader) -> int:
    days = r.integer("CIVIC_RETENTION_DAYS", 180)
    if days < 1:
        r.problems.append(f"CIVIC_RETENTION_DAYS must be at least 1, got {days}")
        return 180
    return days


# CIVIC_SECRET_KEY signs survey invitation links: anyone who knows it can make a valid link
# for any invitation. The example value and short keys are refused outside development.
EXAMPLE_SECRET_KEY = "change-me"
MIN_SECRET_KEY_LENGTH = 32
SECRET_KEY_FILE = "secret_key"
ENVIRONMENTS = ("production", "development")
_HOW_TO_MAKE_A_KEY = (
    "make one with `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'` and set "
    "CIVIC_SECRET_KEY to it, or put it in a file named by CIVIC_SECRET_KEY_FILE (every "
    "civicbot command writes a random one to <CIVIC_VAR_DIR>/secret_key when neither is set); "
    "CIVIC_ENV=development accepts any key, for a machine of your own only"
)


def _directory(r: VariableReader, name: str, default: str) -> Path:
    """A directory setting; a relative one is taken from the project root, like `.env`."""
    return (PROJECT_ROOT / r.text(name, default)).resolve()


def _var_dir(environ: Mapping[str, str]) -> Path:
    return _directory(VariableReader(environ), "CIVIC_VAR_DIR", "var")


def _development(r: VariableReader) -> bool:
    name = r.text("CIVIC_ENV", "production").lower()
    if name not in ENVIRONMENTS:
        r.problems.append(f"CIVIC_ENV must be 'production' or 'development', got {name!r}")
    return name == "development"


def _secret_key(r: VariableReader, var_dir: Path, development: bool) -> str:
    """CIVIC_SECRET_KEY, else the file CIVIC_SECRET_KEY_FILE names, else var/secret_key."""
    key = r.text("CIVIC_SECRET_KEY")
    source = "CIVIC_SECRET_KEY"
    named = r.text("CIVIC_SECRET_KEY_FILE")
    path = Path(named) if named else var_dir / SECRET_KEY_FILE
    if not key and (named or path.exists()):
        source = f"the key file {path}"
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            r.problems.append(
                f"CIVIC_SECRET_KEY_FILE names {path}, which cannot be read ({exc.strerror})"
            )
            return ""
    if development:
        return key or EXAMPLE_SECRET_KEY
    if not key or key == EXAMPLE_SECRET_KEY:
        r.problems.append(
            f"CIVIC_SECRET_KEY is {'not set' if not key else 'the example value ' + repr(key)}: "
            f"it signs survey invitation links, and a known key lets anyone forge them; "
            f"{_HOW_TO_MAKE_A_KEY}"
        )
    elif len(key) < MIN_SECRET_KEY_LENGTH:
        r.problems.append(
            f"CIVIC_SECRET_KEY (from {source}) has {len(key)} characters, fewer than the "
            f"{MIN_SECRET_KEY_LENGTH} needed to sign invitation links safely; {_HOW_TO_MAKE_A_KEY}"
        )
    return key


def ensure_secret_key() -> Path | None:
    """Write a random secret key to var/secret_key (mode 0600) when no key is configured.

    Nothing happens when CIVIC_SECRET_KEY or CIVIC_SECRET_KEY_FILE is set or the file is
    there already: a key that changed would break every invitation link already sent.
    Returns the file written, if any. Safe when several processes start at once: the key
    is written to a private file first and linked into place only if none is there.
    """
    environ, _problems = environment()  # reported by load_settings
    reader = VariableReader(environ)
    if reader.text("CIVIC_SECRET_KEY") or reader.text("CIVIC_SECRET_KEY_FILE"):
        return None
    path = _var_dir(environ) / SECRET_KEY_FILE
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, (secrets.token_urlsafe(48) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(draft, path)
    except FileExistsError:
        return None
    finally:
        draft.unlink()
    return path


def _notifier_rate(r: VariableReader) -> float:
    rate = r.number("NOTIFIER_RATE_PER_SECOND", 25.0)
    if rate < 0:
        r.problems.append(f"NOTIFIER_RATE_PER_SECOND must not be negative, got {rate:g}")
        return 25.0
    return rate


def _notifier_concurrency(r: VariableReader) -> int:
    concurrency = r.integer("NOTIFIER_CONCURRENCY", 8)
    if concurrency < 1:
        r.problems.append(f"NOTIFIER_CONCURRENCY must be at least 1, got {concurrency}")
        return 8
    return concurrency


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from `environ`, by default `.env` overridden by the environment.

    Raises `SettingsError` listing every problem found, `.env`'s broken lines included.
    """
    problems: list[str] = []
    if environ is None:
        environ, problems = environment()
    r = VariableReader(environ)
    r.problems.extend(problems)
    settings = _read(r)
    if r.problems:
        raise SettingsError(r.problems)
    return settings


def _read(r: VariableReader) -> Settings:
    var_dir = _var_dir(r.environ)
    development = _development(r)
    mode = _telegram_mode(r)
    idle, most, rotate = _web_session_lifetimes(r)
    return Settings(
        var_dir=var_dir,
        database_url=r.text("DATABASE_URL", f"sqlite:///{var_dir / 'civic.db'}"),
        redis_url=r.optional("REDIS_URL"),
        profile=r.text("CIVIC_PROFILE", "hangzhou"),
        profiles_dir=_directory(r, "CIVIC_PROFILES_DIR", "profiles"),
        telegram_bot_token=r.optional("TELEGRAM_BOT_TOKEN"),
        telegram_base_url=r.optional("TELEGRAM_BASE_URL"),
        telegram_mode=mode,
        telegram_webhook_url=r.optional("TELEGRAM_WEBHOOK_URL"),
        telegram_webhook_secret=_webhook_secret(r, mode),
        telegram_webhook_port=r.port("TELEGRAM_WEBHOOK_PORT", 8443),
        rasa_url=_rasa_url(r),
        rasa_auth_token=r.optional("RASA_AUTH_TOKEN"),
        action_server_port=r.port("ACTION_SERVER_PORT", 5055),
        action_server_token=r.optional("ACTION_SERVER_TOKEN"),
        web_host=r.text("WEB_HOST", "127.0.0.1"),
        web_port=r.port("WEB_PORT", 8000),
        secret_key=_secret_key(r, var_dir, development),
        development=development,
        log_level=r.text("LOG_LEVEL", "INFO").upper(),
        category_threshold=r.number("CIVIC_CATEGORY_THRESHOLD", 0.55),
        widget_origins=tuple(
            o.strip() for o in r.text("CIVIC_WIDGET_ORIGINS").split(",") if o.strip()
        ),
        chat_map_tile_url=r.text("CIVIC_CHAT_MAP_TILE_URL"),
        models_dir=_directory(r, "CIVIC_MODELS_DIR", "models"),
        sms_gateway_url=r.text("SMS_GATEWAY_URL").rstrip("/") or None,
        sms_account_sid=r.optional("SMS_ACCOUNT_SID"),
        sms_auth_token=r.optional("SMS_AUTH_TOKEN"),
        sms_from=r.optional("SMS_FROM"),
        sms_rate_per_second=r.number("SMS_RATE_PER_SECOND", 10.0),
        sms_webhook_url=r.optional("SMS_WEBHOOK_URL"),
        sms_cost_per_segment=r.number("SMS_COST_PER_SEGMENT", 0.0),
        smtp_host=r.optional("SMTP_HOST"),
        smtp_port=r.port("SMTP_PORT", 25),
        smtp_user=r.optional("SMTP_USER"),
        smtp_password=r.environ.get("SMTP_PASSWORD", "") or None,
        smtp_starttls=r.boolean("SMTP_STARTTLS", False),
        smtp_from=r.optional("SMTP_FROM"),
        telegram_bot_username=r.text("TELEGRAM_BOT_USERNAME", "CivicFeedbackBot").lstrip("@"),
        public_url=r.text("CIVIC_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        campaign_telegram_rate=r.number("CAMPAIGN_TELEGRAM_RATE", 25.0),
        telegram_rate_per_second=r.number("TELEGRAM_RATE_PER_SECOND", 25.0),
        telegram_reserve_per_second=r.number("TELEGRAM_RESERVE_PER_SECOND", 5.0),
        notifier_rate_per_second=_notifier_rate(r),
        notifier_concurrency=_notifier_concurrency(r),
        web_session_idle_days=idle,
        web_session_max_days=most,
        web_session_rotate_hours=rotate,
        open311_public_view=_open311_public_view(r),
        retention_days=_retention_days(r),
        **_limits(r),
        **_observability(r),
        **_wechat(r),
    )


class _WeChat(TypedDict):
    wechat_app_id: str | None
    wechat_app_secret: str | None
    wechat_token: str | None
    wechat_aes_key: str | None
    wechat_template_id_status: str | None
    wechat_api_base_url: str


def _wechat(r: VariableReader) -> _WeChat:
    """The WeChat account's credentials; the EncodingAESKey is 43 characters."""
    aes_key = r.optional("WECHAT_AES_KEY")
    if aes_key is not None and not re.fullmatch(r"[A-Za-z0-9+/]{43}", aes_key):
        r.problems.append("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
        aes_key = None
    return _WeChat(
        wechat_app_id=r.optional("WECHAT_APP_ID"),
        wechat_app_secret=r.optional("WECHAT_APP_SECRET"),
        wechat_token=r.optional("WECHAT_TOKEN"),
        wechat_aes_key=aes_key,
        wechat_template_id_status=r.optional("WECHAT_TEMPLATE_ID_STATUS"),
        wechat_api_base_url=r.text("WECHAT_API_BASE_URL", "https://api.weixin.qq.com").rstrip("/"),
    )


def _limits(r: VariableReader) -> dict[str, int]:
    """The limits' settings (whole numbers, none negative), with their defaults."""
    defaults = {f.name: cast(int, f.default) for f in fields(Settings)}
    values = {}
    for name, variable in _LIMIT_VARIABLES.items():
        value = r.integer(variable, defaults[name])
        if value < 0:
            r.problems.append(f"{variable} must not be negative, got {value}")
            value = defaults[name]
        values[name] = value
    return values


_LIMIT_VARIABLES = {
    "chat_limit_per_session": "CIVIC_CHAT_LIMIT_PER_SESSION",
    "chat_limit_per_ip": "CIVIC_CHAT_LIMIT_PER_IP",
    "telegram_limit_per_chat": "CIVIC_TELEGRAM_LIMIT_PER_CHAT",
    "wechat_limit_per_user": "CIVIC_WECHAT_LIMIT_PER_USER",
    "sms_limit_per_number": "CIVIC_SMS_LIMIT_PER_NUMBER",
    "tickets_per_day": "CIVIC_TICKETS_PER_DAY",
    "subscribe_per_day": "CIVIC_SUBSCRIBE_PER_DAY",
    "open311_limit_per_key": "CIVIC_OPEN311_LIMIT_PER_KEY",
    "open311_limit_per_ip": "CIVIC_OPEN311_LIMIT_PER_IP",
    "login_free_failures": "CIVIC_LOGIN_FREE_FAILURES",
    "login_free_failures_per_ip": "CIVIC_LOGIN_FREE_FAILURES_PER_IP",
    "login_max_backoff": "CIVIC_LOGIN_MAX_BACKOFF",
    "login_hash_concurrency": "CIVIC_LOGIN_HASH_CONCURRENCY",
    "max_body_bytes": "CIVIC_MAX_BODY_BYTES",
    "max_upload_bytes": "CIVIC_MAX_UPLOAD_BYTES",
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing env."""
    return load_settings()


class _Observability(TypedDict):
    log_format: str
    log_max_bytes: int
    log_backups: int
    metrics_port_gateway: int
    metrics_port_scheduler: int
    metrics_port_notifier: int
    readiness_timeout: float


def _observability(r: VariableReader) -> _Observability:
    """Log format and rotation, metrics ports and the readiness checks' time limit."""
    log_format = r.text("LOG_FORMAT", "text").lower()
    if log_format not in {"text", "json"}:
        r.problems.append(f"LOG_FORMAT must be 'text' or 'json', got {log_format!r}")
        log_format = "text"
    whole = {
        "log_max_bytes": ("CIVIC_LOG_MAX_BYTES", 10 * 1024 * 1024),
        "log_backups": ("CIVIC_LOG_BACKUPS", 5),
        "metrics_port_gateway": ("CIVIC_METRICS_PORT_GATEWAY", 0),
        "metrics_port_scheduler": ("CIVIC_METRICS_PORT_SCHEDULER", 0),
        "metrics_port_notifier": ("CIVIC_METRICS_PORT_NOTIFIER", 0),
    }
    values: dict[str, int] = {}
    for name, (variable, default) in whole.items():
        value = r.integer(variable, default)
        if value < 0:
            r.problems.append(f"{variable} must not be negative, got {value}")
            value = default
        elif name.startswith("metrics_port") and value > 65535:
            r.problems.append(f"{variable} must be a port number (1-65535) or 0, got {value}")
            value = default
        values[name] = value
    timeout = r.number("CIVIC_READINESS_TIMEOUT", 2.0)
    if timeout <= 0:
        r.problems.append(f"CIVIC_READINESS_TIMEOUT must be above 0, got {timeout}")
        timeout = 2.0
    return _Observability(
        log_format=log_format,
        log_max_bytes=values["log_max_bytes"],
        log_backups=values["log_backups"],
        metrics_port_gateway=values["metrics_port_gateway"],
        metrics_port_scheduler=values["metrics_port_scheduler"],
        metrics_port_notifier=values["metrics_port_notifier"],
        readiness_timeout=timeout,
    )
