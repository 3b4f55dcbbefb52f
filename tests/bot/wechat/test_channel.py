"""The WeChat channel end to end over real sockets: the WeChat stand-in pushes signed
(plain and AES) messages to the web app's /wechat, which runs the real `Conversation`
against a stand-in Rasa, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.assistant import Conversation, RasaClient
from bot.web import create_app
from bot.wechat import WeChatAccount, WeChatChannel, WeChatClient, signature
from civic.i18n import t
from civic.settings import get_settings
from storage.db import session_factory
from storage.media import MediaStore
from storage.models import ChannelAddress, Citizen
from storage.ratelimit import RateLimiter, make_store
from storage.updates import DatabaseLedger
from tests.fakes.rasa import FakeRasa
from tests.fakes.wechat import ACCOUNT, WeChatStandIn

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oUser0000000000000000000001"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@dataclass
class World:
    wechat: WeChatStandIn
    rasa: FakeRasa
    sessions: sessionmaker[Session]
    media: MediaStore

    def said(self) -> list[str]:
        return [body["message"] for body in self.rasa.bodies]

    def address(self) -> ChannelAddress | None:
        with self.sessions() as session:
            return session.scalars(
                select(ChannelAddress).where(ChannelAddress.address == OPENID)
            ).first()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def running(
    database_url: str, tmp_path: Path, passive_seconds: float = 4.5, per_minute: int = 0
) -> Iterator[World]:
    get_settings.cache_clear()
    sessions = session_factory(database_url)
    media = MediaStore(tmp_path / "media")
    with WeChatStandIn(aes_key=AES_KEY) as wechat, FakeRasa.running() as rasa:
        conversation = Conversation(
            rasa=RasaClient(rasa.url), sessions=sessions, ledger=DatabaseLedger(sessions)
        )
        client = WeChatClient(
            app_id=wechat.app_id, app_secret=wechat.app_secret, base_url=wechat.base_url
        )
        channel = WeChatChannel(
            account=WeChatAccount(
                token=wechat.token,
                app_id=wechat.app_id,
                aes_key=AES_KEY,
                passive_seconds=passive_seconds,
            ),
            conversation=conversation,
            sessions=sessions,
            client=client,
            ledger=DatabaseLedger(sessions),
            media=media,
            limiter=RateLimiter(make_store(None)),
            per_user_per_minute=per_minute,
        )
        port = _free_port()
        app = create_app(conversation, sessions=sessions, wechat=channel)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        wechat.endpoint = f"http://127.0.0.1:{port}/wechat"
        try:
            yield World(wechat, rasa, sessions, media)
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running(database_url, tmp_path) as w:
        yield w


def text(world: World, content: str, **fields: str) -> dict[str, str | int]:
    return world.wechat.message(OPENID, "text", Content=content, **fields)


# -- verification and refusals -----------------------------------------------------


def test_the_server_address_is_verified_by_echoing_echostr(world: World) -> None:
    timestamp, nonce = str(int(time.time())), "n0nce"
    query = {"timestamp": timestamp, "nonce": nonce, "echostr": "e12345"}
    good = signature(world.wechat.token, timestamp, nonce)
    answer = httpx.get(world.wechat.endpoint, params={**query, "signature": good})
    assert (answer.status_code, answer.text) == (200, "e12345")
    forged = httpx.get(world.wechat.endpoint, params={**query, "signature": "0" * 40})
    assert forged.status_code == 403
    assert "e12345" not in forged.text


@pytest.mark.parametrize("encrypted", [False, True])
def test_a_text_gets_the_assistants_answer_as_the_passive_reply(
    world: World, encrypted: bool
) -> None:
    pushed = world.wechat.push(text(world, "路灯坏了"), encrypted=encrypted)

    assert pushed.status == 200 and not pushed.timed_out
    assert pushed.reply is not None
    assert pushed.reply["Content"] == "echo:路灯坏了"
    assert (pushed.reply["ToUserName"], pushed.reply["FromUserName"]) == (OPENID, ACCOUNT)
    assert pushed.reply["MsgType"] == "text"
    address = world.address()
    assert address is not None and address.channel == "wechat"
    assert address.last_message_at is not None


def test_a_new_citizen_who_writes_english_is_answered_in_english_later(world: World) -> None:
    world.wechat.push(text(world, "The street light on my road is broken"))
    with world.sessions() as session:
        citizen = session.scalars(select(Citizen)).one()
        assert citizen.language == "en"


def test_a_wrong_signature_is_refused_and_nothing_is_kept(world: World) -> None:
    pushed = world.wechat.push(text(world, "路灯坏了"), signature="0" * 40)
    assert (pushed.status, pushed.reply) == (403, None)
    assert world.said() == []
    assert world.address() is None


def test_a_wrong_msg_signature_is_refused(world: World) -> None:
    pushed = world.wechat.push(text(world, "路灯坏了"), encrypted=True, msg_signature="0" * 40)
    assert pushed.status == 403
    assert world.said() == []


def test_a_replayed_message_is_refused(world: World) -> None:
    message = text(world, "路灯坏了")
    first = world.wechat.push(message)
    again = world.wechat.push(message)
    assert first.status == 200
    assert again.status == 403 and again.body == "message already received"
    assert world.said() == ["路灯坏了"]


def test_an_old_timestamp_is_refused_even_signed(world: World) -> None:
    old, nonce = str(int(time.time()) - 600), "n"
    query = {
        "timestamp": old,
        "nonce": nonce,
        "signature": signature(world.wechat.token, old, nonce),
    }
    from bot.wechat import to_xml

    pushed = world.wechat.post(to_xml(text(world, "路灯坏了")), query)
    assert pushed.status == 403
    assert world.said() == []
    assert world.address() is None


@pytest.mark.parametrize(
    "body",
    [b"<xml><Content>open", b"not xml at all", b"<xml><Content>no sender</Content></xml>"],
)
def test_malformed_xml_gets_a_clear_400(world: World, body: bytes) -> None:
    timestamp, nonce = str(int(time.time())), "n"
    query = {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": signature(world.wechat.token, timestamp, nonce),
    }
    pushed = world.wechat.post(body, query)
    assert pushed.status == 400
    assert pushed.body  # says what is wrong
    assert world.said() == []


# -- message types -----------------------------------------------------------------


def test_an_image_is_downloaded_checked_and_passed_on_as_a_photo(world: World) -> None:
    media_id = world.wechat.add_media(PNG, "image/png")
    pushed = world.wechat.push(
        world.wechat.message(OPENID, "image", MediaId=media_id, PicUrl="http://x")
    )
    [said] = world.said()
    assert said.startswith('/send_photo{"photo":"') and said.endswith('.png"}')
    name = said.removeprefix('/send_photo{"photo":"').removesuffix('"}')
    assert world.media.issued(name)
    assert world.media.path_of(name).read_bytes() == PNG  # type: ignore[union-attr]
    assert pushed.reply is not None and pushed.reply["Content"] == f"echo:{said}"


def test_an_image_that_is_not_one_is_refused_with_the_photo_text(world: World) -> None:
    media_id = world.wechat.add_media(b"MZ\x90\x00 an executable", "image/jpeg")
    pushed = world.wechat.push(world.wechat.message(OPENID, "image", MediaId=media_id))
    assert pushed.reply is not None
    assert pushed.reply["Content"] == t("input.photo_rejected", "zh")
    assert world.said() == []


def test_a_location_is_the_complaints_place(world: World) -> None:
    world.wechat.push(
        world.wechat.message(
            OPENID,
            "location",
            Location_X="30.274085",
            Location_Y="120.155070",
            Scale="15",
            Label="浙江省杭州市西湖区",
        )
    )
    [body] = world.rasa.bodies
    assert body["message"] == '/share_location{"lat":30.274085,"long":120.15507}'
    assert body["metadata"]["place_label"] == "浙江省杭州市西湖区"


@pytest.mark.parametrize(
    ("key", "payload"),
    [("COMPLAINT", "/report_problem"), ("MY_REPORTS", "/check_status"), ("SURVEYS", "/survey")],
)
def test_menu_entries_mean_what_telegrams_commands_mean(
    world: World, key: str, payload: str
) -> None:
    world.wechat.push(world.wechat.message(OPENID, "event", Event="CLICK", EventKey=key))
    said = world.said()
    # /survey is answered by the survey chat when it is there; here Rasa hears it
    assert said == [payload]


def test_an_unknown_menu_key_and_voice_get_the_unsupported_text(world: World) -> None:
    click = world.wechat.push(world.wechat.message(OPENID, "event", Event="CLICK", EventKey="X"))
    voice = world.wechat.push(world.wechat.message(OPENID, "voice", MediaId="m", Format="amr"))
    for pushed in (click, voice):
        assert pushed.reply is not None
        assert pushed.reply["Content"] == t("input.unsupported", "zh")
    assert world.said() == []


def test_subscribe_greets_and_unsubscribe_marks_the_address_unreachable(world: World) -> None:
    world.wechat.push(world.wechat.message(OPENID, "event", Event="subscribe"))
    assert world.said() == ["/greet"]
    gone = world.wechat.push(world.wechat.message(OPENID, "event", Event="unsubscribe"))
    assert (gone.status, gone.body) == (200, "success")
    address = world.address()
    assert address is not None and address.unreachable_at is not None
    time.sleep(1)  # an event is known by its sender and second
    world.wechat.push(world.wechat.message(OPENID, "event", Event="subscribe"))
    address = world.address()
    assert address is not None and address.unreachable_at is None


def test_buttons_become_numbered_lines_and_a_number_taps_one(world: World) -> None:
    offered = world.wechat.push(text(world, "offer buttons"))
    assert offered.reply is not None
    assert offered.reply["Content"] == "echo:offer buttons\n1. Solved"
    world.wechat.push(text(world, "1"))
    assert world.said() == ["offer buttons", '/answer_fixed{"fixed":true}']


# -- the 5-second limit ------------------------------------------------------------


def test_a_slow_turn_is_answered_success_then_sent_as_a_customer_service_message(
    database_url: str, tmp_path: Path
) -> None:
    with running(database_url, tmp_path, passive_seconds=0) as world:
        pushed = world.wechat.push(text(world, "路灯坏了"))
        assert (pushed.status, pushed.body, pushed.reply) == (200, "success", None)
        deadline = time.monotonic() + 10
        while not world.wechat.texts_to(OPENID) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert world.wechat.texts_to(OPENID) == ["echo:路灯坏了"]


def test_a_follower_over_the_limit_is_told_once_and_the_rest_is_dropped(
    database_url: str, tmp_path: Path
) -> None:
    with running(database_url, tmp_path, per_minute=2) as world:
        answered = [world.wechat.push(text(world, f"第{i}条")) for i in range(4)]
        replies = [p.reply["Content"] if p.reply else None for p in answered]
        assert replies[:2] == ["echo:第0条", "echo:第1条"]
        # told once how long to wait (the seconds left of the minute), then nothing
        wait = re.search(r"\d+", replies[2] or "")
        assert wait is not None and 1 <= int(wait.group()) <= 60
        assert replies[2] == t("limits.chat", None, seconds=int(wait.group()))
        assert replies[3] is None and answered[3].status == 200
        assert [b.get("message") for b in world.rasa.bodies] == ["第0条", "第1条"]
