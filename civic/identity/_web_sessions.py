"""Signed web-chat sessions: the server, never the browser, decides who a web citizen is.

A web citizen is known by a session id, their address on the `web` channel (as a
Telegram citizen is known by their chat id). The id is random and made here; the browser
only ever holds a token that carries it, signed with a key derived from CIVIC_SECRET_KEY:

    ws1 . Hq0c…_w (32) . 1767225600 . 1767225600 . 1769817600 . 3kZ…Q (43)
    |     session id     created      issued       expires      HMAC-SHA256

`created` is when the session began (the absolute limit counts from it), `issued` when
this token was made (the idle limit counts from it), `expires` the earlier of the two
limits at issue time. The MAC covers everything before it, under
HMAC(CIVIC_SECRET_KEY, "civic web-session v1"), so a key for survey links can never sign
a session or the other way round. It is compared in constant time.

A token is refused when it is malformed, its MAC is wrong, or it is expired (by its own
`expires` or by today's settings, so shortening a limit applies to tokens already out).
A token older than the rotation period is replaced: the answer carries a fresh token for
the same session id, so the citizen stays the same citizen.

Tokens are not stored. An old token stays valid until its own expiry; rotation bounds
how long any one token lives, not whether a copy of it works.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from civic.errors import UserFacingError
from civic.settings import Settings

VERSION = "ws1"
# A web chat address: what `issue` makes (32 characters), within the shape the web
# channel has always used.
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_TOKEN_LENGTH = 200
_TOKEN = re.compile(
    rf"^{VERSION}\.([A-Za-z0-9_-]{{16,64}})\.(\d{{1,12}})\.(\d{{1,12}})\.(\d{{1,12}})"
    r"\.([A-Za-z0-9_-]{43})$"
)
_PURPOSE = b"civic web-session v1"


class SessionRefused(UserFacingError):
    """A web session token that cannot be used; `key` names the citizen's explanation."""


class SessionInvalid(SessionRefused):
    """Malformed, missing or not signed by us (tampered with, or from another key)."""

    def __init__(self) -> None:
        super().__init__("web_session.invalid")


class SessionExpired(SessionRefused):
    """Signed by us, but past its idle or absolute limit."""

    def __init__(self) -> None:
        super().__init__("web_session.expired")


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: `idle` since its last token, `absolute` since it began;
    a token older than `rotate_after` is replaced by a fresh one."""

    idle: timedelta = timedelta(days=30)
    absolute: timedelta = timedelta(days=90)
    rotate_after: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        if min(self.idle, self.absolute, self.rotate_after) <= timedelta(0):
            raise ValueError("web session lifetimes must be positive")
        if self.idle > self.absolute:
            raise ValueError("a web session's idle limit cannot exceed its absolute limit")
        if self.rotate_after >= self.idle:
            raise ValueError("a web session token must rotate before its idle limit")


@dataclass(frozen=True)
class WebSession:
    """One verified (or newly issued) session: who, since when, and its token."""

    session_id: str
    created_at: datetime
    issued_at: datetime
    expires_at: datetime
    token: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class WebSessions:
    """Issues, checks and rotates web session tokens under one secret and policy."""

    def __init__(self, secret: str, policy: SessionPolicy | None = None) -> None:
        if not secret:
            raise ValueError("web sessions need a secret key")
        self._key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
        self.policy = policy or SessionPolicy()

    def issue(self, *, now: datetime) -> WebSession:
        """A new session with a new random id."""
        return self._sign(secrets.token_urlsafe(24), created=now, issued=now)

    def verify(self, token: object, *, now: datetime) -> WebSession:
        """The session a token carries; raises SessionInvalid or SessionExpired."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise SessionInvalid()
        match = _TOKEN.match(token)
        if match is None:
            raise SessionInvalid()
        signed, mac = token.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(signed)):
            raise SessionInvalid()
        session_id = match.group(1)
        created, issued, expires = (_moment(int(match.group(i))) for i in (2, 3, 4))
        if not created <= issued <= expires:
            raise SessionInvalid()
        limit = min(expires, issued + self.policy.idle, created + self.policy.absolute)
        if now >= limit:
            raise SessionExpired()
        return WebSession(session_id, created, issued, expires, token)

    def renew(self, session: WebSession, *, now: datetime) -> WebSession | None:
        """A fresh token for the same session when this one is due for rotation, else None."""
        if now - session.issued_at < self.policy.rotate_after:
            return None
        return self._sign(session.session_id, created=session.created_at, issued=now)

    def _sign(self, session_id: str, *, created: datetime, issued: datetime) -> WebSession:
        created = _moment(_seconds(created))  # whole seconds, as the token carries them
        issued = _moment(_seconds(issued))
        expires = min(issued + self.policy.idle, created + self.policy.absolute)
        signed = (
            f"{VERSION}.{session_id}.{_seconds(created)}.{_seconds(issued)}.{_seconds(expires)}"
        )
        token = f"{signed}.{self._mac(signed)}"
        return WebSession(session_id, created, issued, expires, token)

    def _mac(self, signed: str) -> str:
        return _b64(hmac.new(self._key, signed.encode(), hashlib.sha256).digest())


def web_sessions(settings: Settings) -> WebSessions:
    """The web sessions of this deployment: CIVIC_SECRET_KEY and the lifetimes set."""
    policy = SessionPolicy(
        idle=timedelta(days=settings.web_session_idle_days),
        absolute=timedelta(days=settings.web_session_max_days),
        rotate_after=timedelta(hours=settings.web_session_rotate_hours),
    )
    return WebSessions(settings.secret_key, policy)
