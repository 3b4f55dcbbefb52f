"""Every message a Bot sends takes a token from the shared budget: the senders' Bots
(`make_bot` with a priority) and the gateway's replies, through the Bot API stand-in and
the real Redis; a Redis that is gone costs no message."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from telegram.ext import ExtBot

from bot.assistant import Conversation
from bot.delivery import Priority
from bot.delivery._budget import KEY_PREFIX, Attempt
from bot.telegram import AiohttpRequest, BudgetLimiter, TelegramGateway, close_bot, make_bot
from civic.replies import BotMessage
from civic.settings import Settings, get_settings
from storage.db import engine_for, migrate, session_factory
from tests.conftest import REDIS_URL
from tests.fakes.botapi import BotApiStandIn

CITIZEN = 7
BUDGET_KEY = KEY_PREFIX + "123"


@pytest.fixture(scope="module")
def standin() -> Iterator[BotApiStandIn]:
    with BotApiStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'payloads.db'}"
    migrate(url)
    yield session_factory(url)
    engine_for(url).dispose()


def _settings(standin: BotApiStandIn, redis_url: str | None) -> Settings:
    return replace(
        get_settings(),
        telegram_bot_token="123:ABC",
        telegram_base_url=standin.base_url,
        redis_url=redis_url,
        telegram_rate_per_second=10,
        telegram_reserve_per_second=3,
    )


def _dead_redis() -> str:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    return f"redis://127.0.0.1:{port}/0"


async def test_a_senders_messages_take_bulk_tokens(
    standin: BotApiStandIn, redis_client: object
) -> None:
    standin.reset()
    citizens = [CITIZEN + i for i in range(6)]  # Telegram allows a chat one a second
    for citizen in citizens:
        standin.add_user(citizen)
    settings = replace(_settings(standin, REDIS_URL), telegram_rate_per_second=20)
    bot = make_bot(settings=settings, request=AiohttpRequest(), priority="bulk")
    assert isinstance(bot, ExtBot) and isinstance(bot.rate_limiter, BudgetLimiter)
    budget, taken = bot.rate_limiter.budget, []
    attempt = budget.attempt

    def recorded(priority: Priority) -> Attempt:
        result = attempt(priority)
        taken.append((priority, result.granted))
        return result

    budget.attempt = recorded  # type: ignore[method-assign]
    try:
        for citizen in citizens:
            await bot.send_message(chat_id=citizen, text=f"邀请 {citizen}")
        await bot.get_me()  # not a message: takes nothing
    finally:
        await close_bot(bot)
    assert [(m.chat_id, m.text) for m in standin.messages()] == [(c, f"邀请 {c}") for c in citizens]
    assert taken == [("bulk", True)] * 6
    # taken in Redis (older takes may have left the window already on a slow machine)
    assert redis_client.zcard(BUDGET_KEY) >= 1  # type: ignore[attr-defined]


class Silent:
    async def handle(self, incoming: object) -> list[BotMessage]:
        return []


async def _reply(
    settings: Settings,
    sessions: sessionmaker[Session],
    text: str,
    before: Callable[[], object] = lambda: None,
) -> None:
    conversation: Conversation = Silent()  # type: ignore[assignment]
    gateway = TelegramGateway(settings=settings, conversation=conversation, sessions=sessions)
    application = gateway.build_application()
    async with application:
        before()
        await gateway.render(CITIZEN, BotMessage(text=text), application.bot)


async def test_the_gateways_replies_take_reply_tokens(
    standin: BotApiStandIn, redis_client: object, sessions: sessionmaker[Session]
) -> None:
    """Notifications and bulk sends filled their shares of this second (7 of 10): a
    reply still goes, and is counted."""
    standin.reset()
    standin.add_user(CITIZEN)

    def fill() -> None:
        seconds, micros = redis_client.time()  # type: ignore[attr-defined]
        now = seconds * 1_000_000 + micros
        redis_client.zadd(BUDGET_KEY, {f"earlier-{i}": now for i in range(7)})  # type: ignore[attr-defined]

    await _reply(_settings(standin, REDIS_URL), sessions, "您的投诉已受理", before=fill)
    assert [m.text for m in standin.messages(CITIZEN)] == ["您的投诉已受理"]
    assert redis_client.zcard(BUDGET_KEY) == 8  # type: ignore[attr-defined]


async def test_a_reply_goes_out_when_redis_is_gone(
    standin: BotApiStandIn, sessions: sessionmaker[Session]
) -> None:
    standin.reset()
    standin.add_user(CITIZEN)
    await _reply(_settings(standin, _dead_redis()), sessions, "您的投诉已受理")
    assert [m.text for m in standin.messages(CITIZEN)] == ["您的投诉已受理"]
