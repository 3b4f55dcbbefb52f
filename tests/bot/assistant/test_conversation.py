"""One turn of conversation against a stand-in Rasa server on this machine."""

from __future__ import annotations

import re
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.assistant import (
    Conversation,
    Incoming,
    PhoneVerification,
    RasaClient,
    is_emoji_only,
    redis_tracker_key,
)
from bot.delivery import SmsGateway
from civic.errors import RasaUnavailable
from civic.i18n import t
from civic.identity import PhoneCodes
from civic.replies import BotMessage
from storage.citizens import get_or_create_citizen
from storage.db import engine_for, migrate, session_factory
from storage.updates import DatabaseLedger
from tests.fakes.rasa import FakeRasa
from tests.fakes.sms_gateway import SmsGatewayStandIn


@pytest.fixture
def rasa_server() -> Iterator[FakeRasa]:
    with FakeRasa.running() as server:
        yield server


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'conversation.db'}"
    migrate(url)
    yield url
    engine_for(url).dispose()


async def _conversation(sqlite_url: str, rasa_url: str) -> Conversation:
    sessions = session_factory(sqlite_url)
    return Conversation(
        # a refused turn fails at once here; the wait for Rasa is in test_rasa_client.py
        rasa=RasaClient(rasa_url, wait_for_start=0),
        sessions=sessions,
        ledger=DatabaseLedger(sessions),
    )


@pytest.fixture
async def conversation(sqlite_url: str, rasa_server: FakeRasa) -> AsyncIterator[Conversation]:
    conversation = await _conversation(sqlite_url, rasa_server.url)
    yield conversation
    await conversation.aclose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _public_id(sqlite_url: str, address: str) -> str:
    with session_factory(sqlite_url)() as session:
        citizen = get_or_create_citizen(session=session, channel="telegram", address=address)
        return citizen.public_id


def _incoming(text: str | None = None, *, kind: str = "text", **kwargs: Any) -> Incoming:
    return Incoming(channel="telegram", address="4242", kind=kind, text=text, **kwargs)


async def test_text_reaches_rasa_under_the_pseudonym(
    conversation: Conversation, rasa_server: FakeRasa, sqlite_url: str
) -> None:
    replies = await conversation.handle(_incoming(" 小区垃圾三天没人收了 ", update_key="tg:1"))
    assert replies == [BotMessage(text="echo:小区垃圾三天没人收了")]
    public_id = _public_id(sqlite_url, "4242")
    assert rasa_server.bodies == [
        {
            "sender": public_id,
            "message": "小区垃圾三天没人收了",
            "metadata": {"language": "zh", "channel": "telegram"},
        }
    ]
    assert public_id != "4242"


async def test_english_text_is_sent_with_english_metadata(
    conversation: Conversation, rasa_server: FakeRasa
) -> None:
    await conversation.handle(_incoming("garbage not collected"))
    assert rasa_server.bodies[0]["metadata"] == {"language": "en", "channel": "telegram"}


async def test_repeated_update_is_handled_once(
    conversation: Conversation, rasa_server: FakeRasa
) -> None:
    first = await conversation.handle(_incoming("路灯坏了", update_key="tg:9"))
    second = await conversation.handle(_incoming("路灯坏了", update_key="tg:9"))
    assert (first, second) == ([BotMessage(text="echo:路灯坏了")], [])
    assert len(rasa_server.bodies) == 1


async def test_empty_text_in_the_citizen_language(
    conversation: Conversation, rasa_server: FakeRasa
) -> None:
    replies = await conversation.handle(_incoming("   ", language_hint="en-GB"))
    assert replies == [BotMessage(text=t("input.empty", "en"))]
    assert rasa_server.bodies == []


async def test_too_long_text(conversation: Conversation, rasa_server: FakeRasa) -> None:
    replies = await conversation.handle(_incoming("路" * 5000))
    assert replies == [BotMessage(text="消息太长了(5000 字),请控制在 4096 字以内,或分几条发送。")]
    assert rasa_server.bodies == []


async def test_text_at_the_limit_is_passed_on(
    conversation: Conversation, rasa_server: FakeRasa
) -> None:
    await conversation.handle(_incoming("路" * 4096))
    assert len(rasa_server.bodies[0]["message"]) == 4096


@pytest.mark.parametrize(
    ("incoming", "key"),
    [
        (_incoming("👍👍"), "input.emoji_only"),
        (_incoming(kind="sticker"), "input.sticker"),
        (_incoming(kind="photo"), "input.photo_no_caption"),
        (_incoming(kind="photo", text="  "), "input.photo_no_caption"),
        (_incoming(kind="edited", text="路灯坏了"), "input.edited"),
        (_incoming(kind="unsupported"), "input.unsupported"),
    ],
)
async def test_input_that_is_not_passed_on(
    conversation: Conversation, rasa_server: FakeRasa, incoming: Incoming, key: str
) -> None:
    assert await conversation.handle(incoming) == [BotMessage(text=t(key, "zh"))]
    assert rasa_server.bodies == []


async def test_later_problems_use_the_language_the_citizen_started_in(
    conversation: Conversation,
) -> None:
    await conversation.handle(_incoming("hello there"))
    replies = await conversation.handle(_incoming(kind="sticker"))
    assert replies == [BotMessage(text=t("input.sticker", "en"))]


async def test_photo_with_caption_is_passed_on(
    conversation: Conversation, rasa_server: FakeRasa
) -> None:
    replies = await conversation.handle(_incoming(kind="photo", text="井盖丢了"))
    assert replies == [BotMessage(text="echo:井盖丢了")]


async def test_rasa_unavailable_in_the_message_language(sqlite_url: str) -> None:
    conversation = await _conversation(sqlite_url, f"http://127.0.0.1:{_closed_port()}")
    try:
        replies = await conversation.handle(_incoming("the street light is broken"))
    finally:
        await conversation.aclose()
    assert replies == [
        BotMessage(
            text="The smart assistant cannot answer right now. "
            "Please send your message again in a moment."
        )
    ]


async def test_a_message_the_channel_will_resend_is_not_apologised_for(sqlite_url: str) -> None:
    conversation = await _conversation(sqlite_url, f"http://127.0.0.1:{_closed_port()}")
    try:
        incoming = replace(_incoming("路灯坏了"), redeliverable=True)
        with pytest.raises(RasaUnavailable):
            await conversation.handle(incoming)
    finally:
        await conversation.aclose()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("👍👍", True), ("?!…", True), ("", True), ("ok👍", False), ("路灯", False), ("110", False)],
)
def test_is_emoji_only(text: str, expected: bool) -> None:
    assert is_emoji_only(text) is expected


async def test_a_payload_counts_only_when_it_was_offered_to_that_citizen(
    conversation: Conversation, rasa_server: FakeRasa
) -> None:
    """What the client claims was tapped reaches Rasa as a payload only if the assistant
    showed that button to that citizen; otherwise it is text, and cannot be read as
    `/intent{entities}`."""
    offered = '/answer_fixed{"fixed":true}'
    web = {"channel": "web", "kind": "button"}
    forged = '/send_photo{"photo":"https://elsewhere.example/x.jpg"}'
    await conversation.handle(Incoming(address="s" * 20, text=forged, **web))  # type: ignore[arg-type]
    await conversation.handle(Incoming(address="s" * 20, text=offered, **web))  # type: ignore[arg-type]
    await conversation.handle(
        Incoming(channel="web", address="s" * 20, kind="text", text="offer buttons")
    )
    await conversation.handle(Incoming(address="s" * 20, text=offered, **web))  # type: ignore[arg-type]
    await conversation.handle(Incoming(address="t" * 20, text=offered, **web))  # type: ignore[arg-type]
    said = [body["message"] for body in rasa_server.bodies]
    assert said == [
        '／send_photo{"photo":"https://elsewhere.example/x.jpg"}',
        '／answer_fixed{"fixed":true}',  # not offered yet
        "offer buttons",
        offered,  # offered to this citizen: a payload
        '／answer_fixed{"fixed":true}',  # another citizen replaying it
    ]


async def test_typed_commands_map_and_other_slashes_are_defused(
    conversation: Conversation, rasa_server: FakeRasa
) -> None:
    web = {"channel": "web", "address": "u" * 20}
    await conversation.handle(Incoming(kind="text", text="/menu", **web))  # type: ignore[arg-type]
    await conversation.handle(Incoming(kind="text", text='/inform{"category":"x"}', **web))  # type: ignore[arg-type]
    await conversation.handle(
        Incoming(kind="button", text="/start w_1_1_0_AAAAAAAAAAAAAAAA", **web)
    )  # type: ignore[arg-type]
    await conversation.handle(Incoming(kind="button", text="/start", **web))  # type: ignore[arg-type]
    said = [body["message"] for body in rasa_server.bodies]
    # /start with a link is a command anyone may send: its code is checked by whoever
    # reads it (here no survey part is configured, so it reaches Rasa as it is)
    assert said == [
        "/menu",
        '／inform{"category":"x"}',
        "/start w_1_1_0_AAAAAAAAAAAAAAAA",
        "/greet",
    ]


def _tracker_rows(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT sender_id FROM events ORDER BY id")]


async def test_an_erasure_deletes_the_stored_conversation(
    sqlite_url: str, rasa_server: FakeRasa, tmp_path: Path, redis_client: Any
) -> None:
    with session_factory(sqlite_url)() as session:
        citizen = get_or_create_citizen(session=session, channel="telegram", address="4242")
        session.commit()
        public_id = citizen.public_id
    tracker_db = tmp_path / "rasa-tracker.db"
    with sqlite3.connect(tracker_db) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)")
        db.executemany(
            "INSERT INTO events (sender_id, data) VALUES (?, ?)",
            [(public_id, "路灯坏了"), ("someone-else", "hello"), (public_id, "my phone")],
        )
    redis_client.set(redis_tracker_key(public_id), '{"events": []}')
    redis_client.set(redis_tracker_key("someone-else"), '{"events": []}')
    sessions = session_factory(sqlite_url)
    conversation = Conversation(
        rasa=RasaClient(rasa_server.url),
        sessions=sessions,
        ledger=DatabaseLedger(sessions),
        tracker_db=tracker_db,
        tracker_redis=redis_client,
    )
    try:
        replies = await conversation.handle(_incoming("/erase_confirm", kind="payload"))
    finally:
        await conversation.aclose()

    assert replies == [BotMessage(text="deleted", custom={"erased": True})]
    assert rasa_server.replaced == [f"/conversations/{public_id}/tracker/events"]
    assert _tracker_rows(tracker_db) == ["someone-else"]
    assert redis_client.exists(redis_tracker_key(public_id)) == 0
    assert redis_client.exists(redis_tracker_key("someone-else")) == 1


async def test_a_phone_number_and_its_code_never_reach_rasa(
    sqlite_url: str, rasa_server: FakeRasa
) -> None:
    """/verify typed in the web chat is answered before Rasa, and so is everything the
    verification waits for; the next message is the assistant's again."""
    sessions = session_factory(sqlite_url)
    with SmsGatewayStandIn(rate_per_second=None) as sms:
        gateway = SmsGateway(
            base_url=sms.base_url,
            account_sid=sms.account_sid,
            auth_token=sms.auth_token,
            sender="+8610690000",
            rate_per_second=None,
        )
        verification = PhoneVerification(
            sessions=sessions, codes=PhoneCodes("test-secret"), sms=gateway
        )
        conversation = Conversation(
            rasa=RasaClient(rasa_server.url),
            sessions=sessions,
            ledger=DatabaseLedger(sessions),
            verification=verification,
        )
        web = {"channel": "web", "address": "v" * 20, "kind": "text"}
        try:
            [ask] = await conversation.handle(Incoming(text="/verify", **web))  # type: ignore[arg-type]
            assert ask.text == t("verify.ask_number", "zh")
            await conversation.handle(Incoming(text="我的手机是 13812345678", **web))  # type: ignore[arg-type]
            [message] = sms.messages_to("+8613812345678")
            code = re.search(r"\d{6}", message.body)
            assert code is not None
            [done] = await conversation.handle(Incoming(text=code.group(), **web))  # type: ignore[arg-type]
            assert done.text == t("verify.done", "zh")
            await conversation.handle(Incoming(text="路灯坏了", **web))  # type: ignore[arg-type]
        finally:
            await conversation.aclose()
    assert [body["message"] for body in rasa_server.bodies] == ["路灯坏了"]
    with sessions() as session:
        person = get_or_create_citizen(session=session, channel="web", address="v" * 20)
        assert (person.assurance, person.phone) == ("verified_phone", "+8613812345678")
