"""Telegram webhook mode through the real stack: updates Telegram delivers (with the
secret token) are answered; an update posted by anyone else, without the secret or with
a wrong one, gets 403 and reaches no one."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from storage.models import ChannelAddress
from tests.e2e.conftest import BOT_TOKEN, Stack, TelegramUser, free_port, running_stack
from tests.fakes.botapi import BotApiStandIn

pytestmark = pytest.mark.e2e

SECRET = secrets.token_urlsafe(32)
FORGED_CHAT = 987_654_321


@pytest.fixture(scope="module")
def webhook_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    var_dir: Path = tmp_path_factory.mktemp("webhook-var")
    env = {
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_URL": url,
        "TELEGRAM_WEBHOOK_PORT": str(port),
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }
    with (
        BotApiStandIn(token=BOT_TOKEN) as telegram,
        running_stack(
            telegram, var_dir, f"sqlite:///{var_dir / 'civic.db'}", extra_env=env
        ) as stack,
    ):
        yield stack, url


def _forged_update(update_id: int) -> dict[str, object]:
    person = {"id": FORGED_CHAT, "is_bot": False, "first_name": "X"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": FORGED_CHAT, "type": "private"},
            "from": person,
            "text": "/start",
        },
    }


def test_a_forged_webhook_update_gets_403_and_reaches_no_one(
    webhook_stack: tuple[Stack, str],
) -> None:
    stack, url = webhook_stack
    # the real path works: Telegram (the stand-in) delivers with the secret
    assert TelegramUser(stack).say("你好")[0].text
    with httpx.Client(timeout=10) as client:
        bare = client.post(url, json=_forged_update(900_001))
        wrong = client.post(
            url,
            json=_forged_update(900_002),
            headers={"X-Telegram-Bot-Api-Secret-Token": "x" * 40},
        )
    assert (bare.status_code, wrong.status_code) == (403, 403)
    with stack.db() as session:
        forged = session.scalars(
            select(ChannelAddress).where(ChannelAddress.address == str(FORGED_CHAT))
        ).all()
    assert forged == []
