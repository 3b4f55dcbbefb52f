"""Telegram helpers: cutting long texts, and button payloads longer than callback_data;
and what the gateway tells the conversation of `/commands`, through the Bot API stand-in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.assistant import Conversation, Incoming
from bot.telegram import CALLBACK_DATA_LIMIT, PayloadCodec, TelegramGateway, split_text
from civic.replies import BotMessage
from civic.settings import get_settings
from storage.db import engine_for, migrate, session_factory
from storage.ratelimit import MemoryStore, RateLimiter
from tests.fakes.botapi import BotApiStandIn

LIMIT = 4096


def test_short_text_is_one_part() -> None:
    assert split_text("路灯坏了") == ["路灯坏了"]


def test_empty_text_has_no_parts() -> None:
    assert split_text("") == []


def test_long_text_is_cut_at_line_breaks() -> None:
    lines = [f"{i:04d} " + "路" * 95 for i in range(100)]
    text = "\n".join(lines)
    parts = split_text(text)
    assert max(len(p) for p in parts) <= LIMIT
    assert "\n".join(parts) == text
    assert all(p.splitlines()[-1] in lines for p in parts)
    assert len(parts) == 3


def test_text_without_line_breaks_is_cut_at_the_limit() -> None:
    text = "".join(chr(0x4E00 + i % 500) for i in range(10_000))
    parts = split_text(text)
    assert [len(p) for p in parts] == [LIMIT, LIMIT, 10_000 - 2 * LIMIT]
    assert "".join(parts) == text


def test_text_of_exactly_the_limit_is_one_part() -> None:
    assert split_text("a" * LIMIT) == ["a" * LIMIT]


def test_smaller_limit() -> None:
    assert split_text("one\ntwo\nthree", limit=8) == ["one\ntwo", "three"]


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'payloads.db'}"
    migrate(url)
    yield session_factory(url)
    engine_for(url).dispose()


@pytest.mark.parametrize(
    "payload",
    [
        '/choose_category{"category":"street-light"}',
        '/inform_place{"place":"杭州东站东广场出租车上客区"}',  # exactly 64 bytes
    ],
)
def test_short_payload_is_unchanged(sessions: sessionmaker[Session], payload: str) -> None:
    codec = PayloadCodec(sessions)
    assert len(payload.encode()) <= CALLBACK_DATA_LIMIT
    assert codec.encode(payload) == payload
    assert codec.decode(payload) == payload


@pytest.mark.parametrize(
    "payload",
    [
        '/choose_category{"category":"garbage-collection","district":"binjiang","x":1}',
        '/inform_place{"place":"杭州东站东广场出租车上客区入口"}',
        "p:short",
    ],
)
def test_long_payload_goes_by_digest(sessions: sessionmaker[Session], payload: str) -> None:
    codec = PayloadCodec(sessions)
    data = codec.encode(payload)
    assert data.startswith("p:")
    assert len(data.encode()) <= CALLBACK_DATA_LIMIT
    assert codec.encode(payload) == data
    assert PayloadCodec(sessions).decode(data) == payload


def test_unknown_digest_decodes_to_none(sessions: sessionmaker[Session]) -> None:
    assert PayloadCodec(sessions).decode("p:" + "0" * 32) is None


# -- commands, as the conversation hears them -------------------------------------------

CITIZEN, OFFICER, GROUP = 7, 8, -1001000000009


class Listener:
    """Stands in for the conversation: remembers what it is told, answers nothing."""

    def __init__(self) -> None:
        self.heard: list[Incoming] = []

    async def handle(self, incoming: Incoming) -> list[BotMessage]:
        self.heard.append(incoming)
        return []

    def said(self) -> list[tuple[str, str | None]]:
        return [(i.kind, i.text) for i in self.heard]

    async def until(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.heard) < count:
            assert time.monotonic() < deadline, f"heard only {self.said()}"
            await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def standin() -> Iterator[BotApiStandIn]:
    with BotApiStandIn() as stand_in:
        yield stand_in


async def test_commands_reach_the_conversation_as_payloads(
    standin: BotApiStandIn, sessions: sessionmaker[Session]
) -> None:
    standin.reset()
    standin.add_group(GROUP, "Water duty")
    settings = replace(
        get_settings(), telegram_bot_token="123:ABC", telegram_base_url=standin.base_url
    )
    listener = Listener()
    conversation: Conversation = listener  # type: ignore[assignment]
    gateway = TelegramGateway(settings=settings, conversation=conversation, sessions=sessions)
    application = gateway.build_application()
    said = {
        "/start": "/greet",
        "/start invitation-Token_1": "/start invitation-Token_1",
        "/start@civic_feedback_bot w_12": "/start w_12",
        "/start " + "s" * 80: "/start " + "s" * 64,
        "/menu": "/menu",
        "/menu and more": "/menu",
        "/help": "/help",
        "/tickets": "/check_status",
        "/tickets@civic_feedback_bot": "/check_status",
        "/language": "/switch_language",
        "/bot": "/bot_return",
        "/subscribe": "/subscribe",
        "/stop": "/stop",
        "/survey": "/survey",
        "/verify": "/verify",
        "/weather": "/help",  # unknown
        "/路灯坏了": "/help",  # no command entity, still never said as text
        "/": "/help",
    }
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.05)
        try:
            ids = [standin.send_text(CITIZEN, text) for text in said]
            await listener.until(len(said))
            standin.send_group_text(GROUP, OFFICER, "/start")  # the duty group's: ignored
            standin.send_text(OFFICER, "/link")  # the duty group's: asked for the code
            standin.send_text(CITIZEN, "路灯坏了")
            standin.send_edited_text(CITIZEN, ids[4], "/help")
            await listener.until(len(said) + 2)
            standin.inject_duplicate(ids[4])  # "/menu" again
            await listener.until(len(said) + 3)
            await standin.wait_for_messages_async(OFFICER, 1)
        finally:
            await application.updater.stop()
            await application.stop()
    assert listener.said() == [
        *(("payload", payload) for payload in said.values()),
        ("text", "路灯坏了"),
        ("edited", None),
        ("payload", "/menu"),
    ]
    keys = [i.update_key for i in listener.heard]
    assert keys[: len(ids)] == [f"tg:{i}" for i in ids]
    assert keys[-1] == keys[4]  # the repeat carries the same key, for the ledger to drop
    assert {(i.address, i.channel) for i in listener.heard} == {(str(CITIZEN), "telegram")}


# -- the per-chat limit -------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 6_000_000.0 + 30  # 30 s before a minute ends

    def __call__(self) -> float:
        return self.now


async def test_a_chat_over_its_limit_is_told_once_and_the_rest_is_dropped(
    standin: BotApiStandIn, sessions: sessionmaker[Session]
) -> None:
    standin.reset()
    standin.add_user(CITIZEN, language_code="zh")
    settings = replace(
        get_settings(),
        telegram_bot_token="123:ABC",
        telegram_base_url=standin.base_url,
        telegram_limit_per_chat=3,
    )
    listener, clock = Listener(), Clock()
    conversation: Conversation = listener  # type: ignore[assignment]
    gateway = TelegramGateway(
        settings=settings,
        conversation=conversation,
        sessions=sessions,
        limiter=RateLimiter(MemoryStore(clock), clock),
    )
    application = gateway.build_application()
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.05)
        try:
            for i in range(6):
                standin.send_text(CITIZEN, f"消息 {i}")
            await listener.until(3)
            [told] = await standin.wait_for_messages_async(CITIZEN, 1)
            clock.now += 30  # the next minute
            standin.send_text(CITIZEN, "消息 6")
            await listener.until(4)
        finally:
            await application.updater.stop()
            await application.stop()
    assert told.text == "您发送消息的速度太快了,我来不及回答。请等 30 秒后再发送。"
    # updates of a chat are handled in order: 3 to 5 were dropped before 6 was heard
    assert [i.text for i in listener.heard] == ["消息 0", "消息 1", "消息 2", "消息 6"]
    assert len(standin.messages(CITIZEN)) == 1
