"""Signed web-chat session tokens: issued here, refused when forged, tampered with,
unsigned or expired, and rotated without changing who the citizen is."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from civic.campaigns import new_nonce, sign
from civic.identity import (
    SESSION_ID,
    SessionExpired,
    SessionInvalid,
    SessionPolicy,
    SessionRefused,
    WebSessions,
    web_sessions,
)
from civic.settings import load_settings

SECRET = "web-session-test-secret-of-32-chars+"
T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def signer() -> WebSessions:
    return WebSessions(SECRET)


def refusal(signer: WebSessions, token: object, now: datetime = T0) -> str:
    with pytest.raises(SessionRefused) as caught:
        signer.verify(token, now=now)
    return caught.value.key


def test_an_issued_session_has_a_fresh_random_id_and_verifies(signer: WebSessions) -> None:
    first, second = signer.issue(now=T0), signer.issue(now=T0)
    assert first.session_id != second.session_id
    assert SESSION_ID.match(first.session_id) and len(first.session_id) == 32
    assert first.token.startswith(f"ws1.{first.session_id}.")
    assert (first.created_at, first.issued_at, first.expires_at) == (T0, T0, T0 + 30 * DAY)
    assert signer.verify(first.token, now=T0 + DAY) == first


@pytest.mark.parametrize(
    "token",
    [None, 42, "", "web-session-0123456789", "ws1", "x" * 500, "ws1.é" + "a" * 60],
)
def test_anything_not_a_token_is_refused_as_invalid(signer: WebSessions, token: object) -> None:
    assert refusal(signer, token) == "web_session.invalid"


def test_a_made_up_session_id_without_a_signature_is_refused(signer: WebSessions) -> None:
    now = int(T0.timestamp())
    unsigned = f"ws1.{'a' * 32}.{now}.{now}.{now + 86400}"
    assert refusal(signer, unsigned) == "web_session.invalid"
    assert refusal(signer, f"{unsigned}.{'A' * 43}") == "web_session.invalid"


@pytest.mark.parametrize("field", [1, 2, 3, 4, 5])
def test_changing_any_part_of_a_token_breaks_it(signer: WebSessions, field: int) -> None:
    parts = signer.issue(now=T0).token.split(".")
    # Another citizen's id, an older start, a later issue time or expiry, another MAC.
    parts[field] = {
        1: "b" * 32,
        2: str(int(parts[2]) - 1),
        3: str(int(parts[3]) + 1),
        4: str(int(parts[4]) + 86400 * 365),
        5: parts[5][::-1],
    }[field]
    assert refusal(signer, ".".join(parts)) == "web_session.invalid"


def test_a_token_of_another_key_or_purpose_is_refused(signer: WebSessions) -> None:
    other = WebSessions("another-secret-entirely").issue(now=T0).token
    assert refusal(signer, other) == "web_session.invalid"
    # Signed with CIVIC_SECRET_KEY itself rather than the key derived for web sessions.
    signed = other.rsplit(".", 1)[0]
    raw = hmac.new(SECRET.encode(), signed.encode(), hashlib.sha256).digest()
    mac = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert refusal(signer, f"{signed}.{mac}") == "web_session.invalid"
    # A survey invitation token under the same secret names no session either.
    assert refusal(signer, sign(secret=SECRET, nonce=new_nonce())) == "web_session.invalid"


def test_the_mac_is_compared_in_constant_time(
    signer: WebSessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = signer.issue(now=T0).token
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    signer.verify(token, now=T0)
    assert compared == [(token.rsplit(".", 1)[1], token.rsplit(".", 1)[1])]


def test_a_session_idle_for_thirty_days_expires(signer: WebSessions) -> None:
    token = signer.issue(now=T0).token
    assert signer.verify(token, now=T0 + 30 * DAY - timedelta(seconds=1)).session_id
    assert refusal(signer, token, T0 + 30 * DAY) == "web_session.expired"
    with pytest.raises(SessionExpired):
        signer.verify(token, now=T0 + 31 * DAY)


def test_rotation_gives_a_fresh_token_for_the_same_citizen(signer: WebSessions) -> None:
    first = signer.issue(now=T0)
    assert signer.renew(first, now=T0 + timedelta(hours=23)) is None
    later = T0 + timedelta(hours=25)
    fresh = signer.renew(signer.verify(first.token, now=later), now=later)
    assert fresh is not None and fresh.token != first.token
    assert (fresh.session_id, fresh.created_at) == (first.session_id, T0)
    assert (fresh.issued_at, fresh.expires_at) == (later, later + 30 * DAY)
    # The fresh token outlives the first one's idle limit.
    assert refusal(signer, first.token, T0 + 30 * DAY) == "web_session.expired"
    assert signer.verify(fresh.token, now=T0 + 30 * DAY).session_id == first.session_id


def test_a_session_in_daily_use_still_ends_ninety_days_after_it_began(
    signer: WebSessions,
) -> None:
    session = signer.issue(now=T0)
    for day in range(1, 90):
        now = T0 + day * DAY
        session = signer.renew(signer.verify(session.token, now=now), now=now) or session
    assert session.expires_at == T0 + 90 * DAY
    assert signer.verify(session.token, now=T0 + 90 * DAY - timedelta(seconds=1))
    assert refusal(signer, session.token, T0 + 90 * DAY) == "web_session.expired"


def test_shorter_limits_apply_to_tokens_already_handed_out() -> None:
    token = WebSessions(SECRET).issue(now=T0).token
    stricter = WebSessions(SECRET, SessionPolicy(idle=7 * DAY, absolute=14 * DAY))
    assert stricter.verify(token, now=T0 + 6 * DAY)
    assert refusal(stricter, token, T0 + 7 * DAY) == "web_session.expired"


@pytest.mark.parametrize(
    ("idle", "absolute", "rotate"),
    [(0, 90, 1), (30, 7, 1), (2, 90, 2), (30, 90, -1)],
)
def test_a_policy_that_cannot_work_is_refused(idle: int, absolute: int, rotate: int) -> None:
    with pytest.raises(ValueError):
        SessionPolicy(idle=idle * DAY, absolute=absolute * DAY, rotate_after=rotate * DAY)


def test_the_deployments_sessions_follow_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVIC_SECRET_KEY", SECRET)
    monkeypatch.setenv("CIVIC_WEB_SESSION_IDLE_DAYS", "3")
    monkeypatch.setenv("CIVIC_WEB_SESSION_MAX_DAYS", "10")
    monkeypatch.setenv("CIVIC_WEB_SESSION_ROTATE_HOURS", "6")
    sessions = web_sessions(load_settings())
    assert sessions.policy == SessionPolicy(
        idle=3 * DAY, absolute=10 * DAY, rotate_after=timedelta(hours=6)
    )
    token = sessions.issue(now=T0).token
    assert WebSessions(SECRET).verify(token, now=T0).session_id  # same secret, same key
    assert refusal(WebSessions("other"), token) == "web_session.invalid"


def test_sessions_need_a_secret() -> None:
    with pytest.raises(ValueError):
        WebSessions("")
    assert SessionInvalid().key == "web_session.invalid"
