"""ops/wiring.py: what the settings make of /verify."""

from __future__ import annotations

from pathlib import Path

import pytest

from civic.i18n import t
from civic.settings import load_settings
from ops.wiring import make_verification
from storage.citizens import get_or_create_citizen
from storage.db import engine_for, migrate, session_factory


@pytest.mark.parametrize(
    ("gateway", "expected"),
    [(False, "verify.unavailable"), (True, "verify.ask_number")],
)
async def test_verify_on_the_web_needs_an_sms_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gateway: bool, expected: str
) -> None:
    if gateway:
        monkeypatch.setenv("SMS_GATEWAY_URL", "http://127.0.0.1:9")
        monkeypatch.setenv("SMS_ACCOUNT_SID", "AC" + "0" * 32)
        monkeypatch.setenv("SMS_AUTH_TOKEN", "token")
        monkeypatch.setenv("SMS_FROM", "+8610690000")
    url = f"sqlite:///{tmp_path / 'wiring.db'}"
    migrate(url)
    sessions = session_factory(url)
    with sessions.begin() as session:
        who = get_or_create_citizen(session=session, channel="web", address="w" * 20).id
    verification = make_verification(load_settings(), sessions)
    try:
        replies = await verification.handle(who, "web", "en", "payload", "/verify")
    finally:
        await verification.aclose()
        engine_for(url).dispose()
    assert [r.text for r in replies or []] == [t(expected, "en")]
