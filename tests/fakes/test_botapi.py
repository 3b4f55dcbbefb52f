"""Tests of the Bot API stand-in, driven by the real python-telegram-bot ``Bot`` and by httpx."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import html
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from .botapi import BotApiStandIn

TOKEN = "123:ABC"
USER = 42


@pytest.fixture(scope="module")
def server() -> Iterator[BotApiStandIn]:
    with BotApiStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def standin(server: BotApiStandIn) -> BotApiStandIn:
    server.reset()
    server.add_user(USER, "Ann")
    return server


# verify=False: nothing here uses TLS, and loading the CA bundle costs ~0.1 s per client
_HTTP = httpx.Client(timeout=15, verify=False)


@pytest.fixture(scope="module", autouse=True)
def _close_http_client() -> Iterator[None]:
    yield
    _HTTP.close()


def make_bot(standin: BotApiStandIn) -> Bot:
    return Bot(
        TOKEN,
        base_url=standin.base_url,
        base_file_url=standin.base_file_url,
        request=HTTPXRequest(httpx_kwargs={"verify": False}),
        get_updates_request=HTTPXRequest(httpx_kwargs={"verify": False}),
    )


def api(standin: BotApiStandIn, method: str, **params: Any) -> httpx.Response:
    return _HTTP.post(f"{standin.base_url}{TOKEN}/{method}", json=params)


def poll_until(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)
    return value


async def apoll_until(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)
    return value


def last_error(standin: BotApiStandIn) -> str | None:
    """The description of the latest failed call, exactly as the server wrote it."""
    return next((c.description for c in reversed(standin.calls()) if c.status != 200), None)


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else value


# --------------------------------------------------------------------------- basics
@pytest.mark.asyncio
async def test_send_message_round_trip(standin: BotApiStandIn) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="vote:yes")]])
    async with make_bot(standin) as bot:
        assert bot.bot.is_bot and bot.bot.id == 123
        assert bot.bot.username == "civic_feedback_bot"
        sent = await bot.send_message(
            USER, "<b>Hi</b> 😀 <i>there</i>", parse_mode="HTML", reply_markup=keyboard
        )
    assert sent.message_id == 1 and sent.chat.id == USER and sent.from_user.id == 123
    assert sent.text == "Hi 😀 there"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 2),
        ("italic", 6, 5),
    ]
    assert sent.reply_markup == keyboard
    [record] = standin.messages(USER)
    assert record.method == "sendMessage" and record.parse_mode == "HTML"
    assert record.text == "<b>Hi</b> 😀 <i>there</i>" and record.plain_text == "Hi 😀 there"
    assert record.reply_markup == keyboard.to_dict()


def test_json_form_and_query_bodies(standin: BotApiStandIn) -> None:
    url = f"{standin.base_url}{TOKEN}"
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]}
    as_json = _HTTP.post(
        f"{url}/sendMessage", json={"chat_id": USER, "text": "json", "reply_markup": markup}
    ).json()
    as_form = _HTTP.post(
        f"{url}/sendmessage",
        data={"chat_id": str(USER), "text": "123", "reply_markup": json.dumps(markup)},
    ).json()
    as_query = _HTTP.get(f"{url}/SENDMESSAGE", params={"chat_id": USER, "text": "true"}).json()
    assert as_json["ok"] and as_json["result"]["reply_markup"] == markup
    assert as_form["result"]["text"] == "123" and as_query["result"]["text"] == "true"
    assert [m.message_id for m in standin.messages(USER)] == [1, 2, 3]
    assert _HTTP.post(f"{url}/noSuchMethod").json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found",
    }
    assert _HTTP.post(f"{standin.base_url}not-a-token/getMe").status_code == 404


# --------------------------------------------------------------------------- getUpdates
def test_get_updates_offset_semantics(standin: BotApiStandIn) -> None:
    ids = [standin.send_text(USER, f"m{i}") for i in range(3)]

    def fetch(**params: Any) -> list[int]:
        body = api(standin, "getUpdates", **params).json()
        assert body["ok"] is True
        return [u["update_id"] for u in body["result"]]

    assert fetch() == ids
    assert fetch() == ids  # nothing confirmed yet
    assert fetch(offset=ids[1]) == ids[1:]  # confirms ids[0]
    assert fetch() == ids[1:]
    assert fetch(limit=1) == ids[1:2]
    assert fetch(offset=-1) == ids[2:]  # keeps only the last one
    assert fetch(offset=ids[2] + 1) == []
    assert standin.pending_updates == []


@pytest.mark.asyncio
async def test_long_poll_returns_when_an_update_arrives(standin: BotApiStandIn) -> None:
    async with make_bot(standin) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await apoll_until(lambda: standin.polls_waiting == 1)
        started = time.monotonic()
        standin.send_text(USER, "wake up")
        updates = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 2
    assert [u.message.text for u in updates] == ["wake up"]


@pytest.mark.asyncio
async def test_long_poll_honours_timeout(standin: BotApiStandIn) -> None:
    async with make_bot(standin) as bot:
        started = time.monotonic()
        assert await bot.get_updates(timeout=0.3) == ()
    assert 0.25 < time.monotonic() - started < 2


@pytest.mark.asyncio
async def test_newer_get_updates_terminates_older_one(standin: BotApiStandIn) -> None:
    async with httpx.AsyncClient(timeout=15) as client:
        url = f"{standin.base_url}{TOKEN}/getUpdates"
        first = asyncio.create_task(client.post(url, json={"timeout": 10}))
        await apoll_until(lambda: standin.polls_waiting == 1)
        second = await client.post(url, json={"timeout": 0})
        older = await asyncio.wait_for(first, 5)
    assert second.json() == {"ok": True, "result": []}
    assert older.status_code == 409
    assert older.json()["description"].startswith("Conflict: terminated by other getUpdates")


def test_allowed_updates_filter_later_updates(standin: BotApiStandIn) -> None:
    standin.send_text(USER, "before")
    api(standin, "sendMessage", chat_id=USER, text="menu")
    result = api(standin, "getUpdates", allowed_updates=["callback_query"]).json()["result"]
    assert [u["message"]["text"] for u in result] == ["before"]  # created before the call
    standin.send_text(USER, "filtered out")
    query_id = standin.send_callback(USER, "go")
    result = api(standin, "getUpdates", offset=result[0]["update_id"] + 1).json()["result"]
    assert [u["update_id"] for u in result] == [query_id]
    assert result[0]["callback_query"]["data"] == "go"


@pytest.mark.asyncio
async def test_duplicate_update_is_delivered_again(standin: BotApiStandIn) -> None:
    async with make_bot(standin) as bot:
        update_id = standin.send_text(USER, "/start")
        [first] = await bot.get_updates()
        assert await bot.get_updates(offset=update_id + 1) == ()
        standin.inject_duplicate(update_id)
        [again] = await bot.get_updates(offset=update_id + 1)
        assert await bot.get_updates(offset=update_id + 1) == ()
    assert again.update_id == first.update_id and again.message.text == "/start"


@pytest.mark.asyncio
async def test_user_update_kinds_parse_in_ptb(standin: BotApiStandIn) -> None:
    text_id = standin.send_text(USER, "/report@civic_feedback_bot pothole", language_code="de")
    standin.send_location(USER, 52.52, 13.405)
    standin.send_contact(USER, "+491234567")
    standin.send_sticker(USER)
    async with make_bot(standin) as bot:
        updates = await bot.get_updates()
        message_id = updates[0].message.message_id
        standin.send_edited_text(USER, message_id, "/report bigger pothole")
        edited = (await bot.get_updates(offset=updates[-1].update_id + 1))[0].edited_message
    assert updates[0].update_id == text_id
    first = updates[0].message
    assert first.from_user.language_code == "de" and first.from_user.first_name == "Ann"
    assert first.entities[0].type == "bot_command" and first.entities[0].length == 26
    assert filters.LOCATION.check_update(updates[1]) and updates[1].message.location.latitude
    assert updates[2].message.contact.user_id == USER
    assert filters.Sticker.ALL.check_update(updates[3])
    assert edited.message_id == message_id and edited.edit_date is not None


# --------------------------------------------------------------------------- flood control
# PTB warns that RetryAfter.retry_after will become a timedelta; not our concern here.
ignore_retry_after_warning = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


@ignore_retry_after_warning
@pytest.mark.asyncio
async def test_per_chat_rate_limit_raises_retry_after(standin: BotApiStandIn) -> None:
    standin.add_user(43)
    async with make_bot(standin) as bot:
        for i in range(3):  # the burst allowance
            await bot.send_message(USER, f"m{i}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "one too many")
        await bot.send_message(43, "another chat is fine")
    assert seconds(caught.value.retry_after) == 1
    assert standin.rate_limited_count == 1
    raw = api(standin, "sendMessage", chat_id=USER, text="raw")
    assert raw.status_code == 429
    assert raw.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert standin.rate_limited_count == 2
    assert len(standin.messages(USER)) == 3


@ignore_retry_after_warning
@pytest.mark.asyncio
async def test_global_rate_limit_and_lifting_limits(standin: BotApiStandIn) -> None:
    for user_id in (1, 2, 3):
        standin.add_user(user_id)
    standin.set_limits(global_per_s=2, per_chat_per_s=None)
    async with make_bot(standin) as bot:
        await bot.send_message(1, "a")
        await bot.send_message(2, "b")
        with pytest.raises(RetryAfter):
            await bot.send_message(3, "c")
        standin.set_limits(global_per_s=None)
        for i in range(40):
            await bot.send_message(USER, str(i))
    assert len(standin.messages(USER)) == 40


# --------------------------------------------------------------------------- 403 / 400
@pytest.mark.asyncio
async def test_forbidden_for_blocked_and_unknown_users(standin: BotApiStandIn) -> None:
    standin.block(USER)
    async with make_bot(standin) as bot:
        with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
            await bot.send_message(USER, "hello?")
        with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
            await bot.send_chat_action(USER, "typing")
        with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation with a user"):
            await bot.send_message(999, "hello stranger")
        with pytest.raises(BadRequest, match=r"(?i)[Cc]hat not found"):
            await bot.send_message(-100123, "hello group")
        standin.unblock(USER)
        standin.send_text(999, "hi")  # now 999 has started the bot
        await bot.send_message(USER, "welcome back")
        await bot.send_message(999, "hello")
    assert [m.chat_id for m in standin.messages()] == [USER, 999]


@pytest.mark.asyncio
async def test_text_and_caption_length(standin: BotApiStandIn) -> None:
    standin.set_limits(global_per_s=None, per_chat_per_s=None)
    async with make_bot(standin) as bot:
        await bot.send_message(USER, "a" * 4096)
        await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
        await bot.send_message(USER, "&amp;" * 4096, parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)[Mm]essage is too long"):
            await bot.send_message(USER, "a" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)[Mm]essage is too long"):
            await bot.send_message(USER, "<i>" + "&lt;" * 4097 + "</i>", parse_mode="HTML")
        for empty in ("", "   \n", "<b> </b>"):
            with pytest.raises(BadRequest, match=r"(?i)[Mm]essage text is empty"):
                await bot.send_message(USER, empty, parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)[Mm]essage caption is too long"):
            await bot.send_photo(USER, b"img", caption="c" * 1025)
        await bot.send_photo(USER, b"img", caption="c" * 1024)
    assert len(standin.messages(USER)) == 4


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>open", "Can't find end tag corresponding to start tag b"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("Tom & Jerry", 'Character "&" at byte offset 4 does not start an entity'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<a href=x y>z</a>", "Expected equal sign"),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
@pytest.mark.asyncio
async def test_bad_html_is_rejected(standin: BotApiStandIn, text: str, error: str) -> None:
    async with make_bot(standin) as bot:
        with pytest.raises(BadRequest) as caught:
            await bot.send_message(USER, text, parse_mode="HTML")
    assert "parse entities" in caught.value.message
    assert last_error(standin).startswith("Bad Request: can't parse entities: " + error)
    assert standin.messages() == []


@pytest.mark.parametrize(
    ("text", "plain", "entities"),
    [
        ("a &lt;b&gt; &amp; &quot;c&quot; &#60;&#x3E;", 'a <b> & "c" <>', []),
        (
            "<strong>s</strong><em>e</em><ins>i</ins><del>d</del><strike>k</strike>",
            "seidk",
            [
                ("bold", 0, 1),
                ("italic", 1, 1),
                ("underline", 2, 1),
                ("strikethrough", 3, 1),
                ("strikethrough", 4, 1),
            ],
        ),
        (
            '<span class="tg-spoiler">s</span> <tg-spoiler>t</tg-spoiler>',
            "s t",
            [("spoiler", 0, 1), ("spoiler", 2, 1)],
        ),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1", [("pre", 0, 5)]),
        (
            '<a href="https://example.org/?a=1&amp;b=2">site</a> <code>c</code>',
            "site c",
            [("text_link", 0, 4), ("code", 5, 1)],
        ),
        ("<blockquote>q <b>😀</b></blockquote>", "q 😀", [("blockquote", 0, 4), ("bold", 2, 2)]),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", [("custom_emoji", 0, 2)]),
    ],
)
@pytest.mark.asyncio
async def test_good_html_gives_entities(
    standin: BotApiStandIn, text: str, plain: str, entities: list
) -> None:
    async with make_bot(standin) as bot:
        sent = await bot.send_message(USER, text, parse_mode="HTML")
    assert sent.text == plain
    assert [(e.type, e.offset, e.length) for e in sent.entities] == entities


@pytest.mark.asyncio
async def test_ampersand_can_be_lenient_like_the_real_server(standin: BotApiStandIn) -> None:
    standin.strict_ampersand = False
    try:
        async with make_bot(standin) as bot:
            sent = await bot.send_message(USER, "Tom & Jerry &nbsp;", parse_mode="HTML")
    finally:
        standin.strict_ampersand = True
    assert sent.text == "Tom & Jerry &nbsp;"


@pytest.mark.asyncio
async def test_callback_data_over_64_bytes_is_rejected(standin: BotApiStandIn) -> None:
    def markup(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("ok", callback_data="a"),
                    InlineKeyboardButton("x", callback_data=data),
                ]
            ]
        )

    standin.set_limits(per_chat_per_s=None)
    async with make_bot(standin) as bot:
        await bot.send_message(USER, "fits", reply_markup=markup("x" * 64))
        for data in ("x" * 65, "é" * 33):  # 33 characters but 66 bytes
            with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
                await bot.send_message(USER, "too long", reply_markup=markup(data))
            assert last_error(standin) == "Bad Request: BUTTON_DATA_INVALID"
        await bot.send_message(USER, "menu")
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.edit_message_reply_markup(USER, 2, reply_markup=markup("y" * 65))
    assert [m.plain_text for m in standin.messages(USER)] == ["fits", "menu"]


# --------------------------------------------------------------------------- callbacks, edits
@pytest.mark.asyncio
async def test_callback_answer_edit_and_delete(standin: BotApiStandIn) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="vote:yes")]])
    standin.set_limits(per_chat_per_s=None)
    async with make_bot(standin) as bot:
        menu = await bot.send_message(USER, "Vote?", reply_markup=keyboard)
        standin.send_callback(USER, "vote:yes")
        [update] = await bot.get_updates()
        query = update.callback_query
        assert query.data == "vote:yes" and query.message.message_id == menu.message_id
        assert query.message.reply_markup == keyboard
        await bot.answer_callback_query(query.id, text="Thanks!")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(query.id)
        edited = await bot.edit_message_text("Voted", USER, menu.message_id)
        assert edited.reply_markup is None and edited.edit_date is not None
        with pytest.raises(BadRequest, match=r"(?i)is not modified"):
            await bot.edit_message_text("Voted", USER, menu.message_id)
        await bot.edit_message_reply_markup(USER, menu.message_id, reply_markup=keyboard)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", USER, 999)
        assert await bot.delete_message(USER, menu.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
            await bot.delete_message(USER, menu.message_id)
    [answer] = standin.callback_answers
    assert (answer.callback_query_id, answer.text, answer.user_id) == (query.id, "Thanks!", USER)
    assert [m.method for m in standin.messages(USER)] == [
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
    ]
    assert standin.deleted_messages == [(USER, menu.message_id)]


@pytest.mark.asyncio
async def test_groups_privacy_mode_buttons_and_removal(standin: BotApiStandIn) -> None:
    group = -1001234567890
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Take", callback_data="take:1")]])
    standin.add_group(group, "Duty")
    async with make_bot(standin) as bot:
        post = await bot.send_message(group, "New ticket", reply_markup=keyboard)
        assert post.chat.type == "supergroup" and post.chat.title == "Duty"
        assert standin.send_group_text(group, USER, "morning all") is None  # not for the bot
        standin.send_group_text(group, USER, "/status")
        standin.send_group_text(group, USER, "on it", reply_to=post.message_id)
        standin.send_callback(USER, "take:1", post.message_id, chat_id=group)
        command, reply, press = await bot.get_updates()
        assert (command.message.text, command.message.chat.id) == ("/status", group)
        assert reply.message.reply_to_message.message_id == post.message_id
        assert press.callback_query.message.chat.id == group
        assert press.callback_query.from_user.id == USER
        await bot.edit_message_text("Taken", group, post.message_id)
        standin.kick_bot(group)
        with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the supergroup chat"):
            await bot.send_message(group, "still there?")
    ids = [m.message_id for m in standin.messages(group)]
    assert ids == [post.message_id, post.message_id]


@pytest.mark.asyncio
async def test_photos_documents_and_files(standin: BotApiStandIn) -> None:
    standin.set_limits(per_chat_per_s=None)
    standin.send_photo(USER, caption="broken lamp", file_bytes=b"\xff\xd8jpeg", mime="image/jpeg")
    async with make_bot(standin) as bot:
        [update] = await bot.get_updates()
        assert update.message.caption == "broken lamp"
        photo_file = await update.message.photo[-1].get_file()
        assert photo_file.file_path.startswith(standin.base_file_url)
        assert bytes(await photo_file.download_as_bytearray()) == b"\xff\xd8jpeg"
        sent = await bot.send_document(
            USER, b"a,b\n1,2\n", filename="report.csv", caption="<b>Report</b>", parse_mode="HTML"
        )
        assert sent.document.file_name == "report.csv" and sent.caption == "Report"
        document = await bot.get_file(sent.document.file_id)
        assert bytes(await document.download_as_bytearray()) == b"a,b\n1,2\n"
        again = await bot.send_photo(USER, update.message.photo[-1].file_id)
        assert again.photo[-1].file_size == 6
        with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
            await bot.send_photo(USER, "no-such-file-id")
        with pytest.raises(BadRequest, match=r"(?i)[Ii]nvalid file_id"):
            await bot.get_file("no-such-file-id")
    assert [m.method for m in standin.messages(USER)] == ["sendDocument", "sendPhoto"]


@pytest.mark.asyncio
async def test_commands_and_chat_actions(standin: BotApiStandIn) -> None:
    async with make_bot(standin) as bot:
        await bot.set_my_commands([("start", "Start over"), ("report", "Report an issue")])
        await bot.set_my_commands([("start", "Neu starten")], language_code="de")
        assert [c.command for c in await bot.get_my_commands()] == ["start", "report"]
        assert [c.description for c in await bot.get_my_commands(language_code="de")] == [
            "Neu starten"
        ]
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([("Start", "bad")])
        assert await bot.send_chat_action(USER, "typing")
        with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
            await bot.send_chat_action(USER, "dancing")
    assert [c["command"] for c in standin.commands()] == ["start", "report"]
    assert [c.status for c in standin.calls("sendChatAction")] == [200, 400]


# --------------------------------------------------------------------------- faults, webhooks
@pytest.mark.asyncio
async def test_fault_injection(standin: BotApiStandIn) -> None:
    standin.set_limits(per_chat_per_s=None)
    async with make_bot(standin) as bot:
        standin.fail_next("sendMessage", status=500)
        standin.fail_next("getMe", status=502, count=2)
        with pytest.raises(NetworkError, match=r"(?i)Internal Server Error"):
            await bot.send_message(USER, "lost")
        await bot.send_message(USER, "delivered")
        for _ in range(2):
            with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
                await bot.get_me()
        assert (await bot.get_me()).username == "civic_feedback_bot"
        standin.fail_next("sendMessage", status=502, executed=True)
        with pytest.raises(NetworkError):
            await bot.send_message(USER, "sent although the bot saw an error")
    assert [m.plain_text for m in standin.messages(USER)] == [
        "delivered",
        "sent although the bot saw an error",
    ]


class _Receiver:
    """A tiny webhook endpoint answering the given statuses in turn (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.received = statuses, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append((status, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.asyncio
async def test_webhook_delivery_with_retry_and_secret(standin: BotApiStandIn) -> None:
    receiver = _Receiver([500])
    try:
        async with make_bot(standin) as bot:
            assert await bot.set_webhook(receiver.url, secret_token="s3cret")
            with pytest.raises(Conflict, match=r"(?i)webhook is active"):
                await bot.get_updates()
            update_id = standin.send_text(USER, "via webhook")
            await apoll_until(lambda: any(r[0] == 200 for r in receiver.received))
            # the stand-in drops the update once it has read the 200, a moment later
            await apoll_until(lambda: not standin.pending_updates)
            info = await bot.get_webhook_info()
            assert info.url == receiver.url and info.pending_update_count == 0
            assert "500" in info.last_error_message
            assert await bot.delete_webhook()
            standin.send_text(USER, "via polling")
            [update] = await bot.get_updates()
    finally:
        receiver.close()
    assert [r[0] for r in receiver.received] == [500, 200]
    for _, headers, body in receiver.received:
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret"
        assert body["update_id"] == update_id and body["message"]["text"] == "via webhook"
    assert [a.error is None for a in standin.webhook_attempts] == [False, True]
    assert update.message.text == "via polling"


class _SlowReceiver:
    """A webhook endpoint that holds each request `hold` seconds (the first `first_hold`)
    and records, per chat, how many of its requests were in flight at once."""

    def __init__(self, hold: float, first_hold: float | None = None) -> None:
        self.received: list[tuple[int, int]] = []  # (chat id, update_id), as they came
        self.most_at_once: dict[int, int] = {}
        self.peak = 0  # requests in flight at once, all chats
        lock, now = threading.Lock(), {"all": 0}
        holds = [first_hold] if first_hold is not None else []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                chat = body["message"]["chat"]["id"]
                with lock:
                    receiver.received.append((chat, body["update_id"]))
                    now[chat] = now.get(chat, 0) + 1
                    now["all"] += 1
                    receiver.most_at_once[chat] = max(receiver.most_at_once.get(chat, 0), now[chat])
                    receiver.peak = max(receiver.peak, now["all"])
                    wait = holds.pop(0) if holds else hold
                time.sleep(wait)
                with lock:
                    now[chat] -= 1
                    now["all"] -= 1
                with contextlib.suppress(OSError):  # the stand-in may have given up
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.asyncio
async def test_a_webhook_gets_chats_at_once_and_each_chats_updates_in_order(
    standin: BotApiStandIn,
) -> None:
    receiver = _SlowReceiver(hold=0.1)
    chats = [USER + n for n in range(5)]
    try:
        async with make_bot(standin) as bot:
            assert await bot.set_webhook(receiver.url)
            sent = [(chat, standin.send_text(chat, f"{n}")) for n in range(3) for chat in chats]
            await apoll_until(lambda: len(receiver.received) == 15, timeout=10)
            await apoll_until(lambda: not standin.pending_updates)
    finally:
        receiver.close()
    assert receiver.peak > 1  # different chats at once
    assert set(receiver.most_at_once.values()) == {1}  # never two of one chat
    for chat in chats:  # each chat's in the order they were sent
        assert [u for c, u in receiver.received if c == chat] == [u for c, u in sent if c == chat]


@pytest.mark.asyncio
async def test_a_webhook_that_does_not_answer_in_time_gets_the_update_again(
    standin: BotApiStandIn,
) -> None:
    receiver = _SlowReceiver(hold=0.0, first_hold=1.5)
    standin.webhook_timeout = 0.5
    try:
        async with make_bot(standin) as bot:
            assert await bot.set_webhook(receiver.url)
            update_id = standin.send_text(USER, "slow")
            later = standin.send_text(USER, "after")
            await apoll_until(lambda: len(receiver.received) == 3, timeout=10)
            await apoll_until(lambda: not standin.pending_updates)
    finally:
        standin.webhook_timeout = 10.0
        receiver.close()
    # the one unanswered is sent again before the chat's next one
    assert [u for _, u in receiver.received] == [update_id, update_id, later]
    errors = [a.error for a in standin.webhook_attempts]
    assert errors[0] == "Read timeout expired" and errors[1:] == [None, None]


# --------------------------------------------------------------------------- waiting helpers
def test_wait_for_messages_reports_what_it_has(standin: BotApiStandIn) -> None:
    api(standin, "sendMessage", chat_id=USER, text="only one")
    assert [m.plain_text for m in standin.wait_for_messages(USER, 1)] == ["only one"]
    with pytest.raises(AssertionError, match=r"expected 2 message\(s\).*got 1.*only one"):
        standin.wait_for_messages(USER, 2, timeout=0.1)
    standin.clear()
    assert standin.messages() == [] and standin.calls() == []


@pytest.mark.asyncio
async def test_sync_wait_refuses_to_block_the_event_loop(standin: BotApiStandIn) -> None:
    with pytest.raises(TypeError, match=r"(?i)wait_for_messages_async"):
        standin.wait_for_messages(USER, 1)
    with pytest.raises(AssertionError, match=r"(?i)got 0"):
        await standin.wait_for_messages_async(USER, 1, timeout=0.05)


# --------------------------------------------------------------------------- PTB Application
@pytest.mark.asyncio
async def test_application_polling_replies_via_handlers(standin: BotApiStandIn) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"Hello, {update.effective_user.first_name}!")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_html(f"<b>You said:</b> {html.escape(update.message.text)}")

    application = (
        Application.builder()
        .token(TOKEN)
        .base_url(standin.base_url)
        .base_file_url(standin.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0.05)
    try:
        standin.send_text(7, "/start", first_name="Ada")
        standin.send_text(7, "a < b & c")
        replies = await standin.wait_for_messages_async(7, 2)
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    assert [m.plain_text for m in replies] == ["Hello, Ada!", "You said: a < b & c"]
    assert replies[1].text == "<b>You said:</b> a &lt; b &amp; c"
    assert standin.pending_updates == []  # the updater confirmed what it fetched
    assert [(c.method, c.status, c.description) for c in standin.calls() if c.status != 200] == []


def test_bot_in_another_thread_with_sync_helpers(standin: BotApiStandIn) -> None:
    async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Confirm", callback_data="ok")]])
        await update.message.reply_text("Confirm your report?", reply_markup=keyboard)

    async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("Saved")
        await update.callback_query.edit_message_text("Report saved ✅")

    stop = threading.Event()

    async def run_bot() -> None:
        application = Application.builder().token(TOKEN).base_url(standin.base_url).build()
        application.add_handler(CommandHandler("report", report))
        application.add_handler(CallbackQueryHandler(confirm))
        async with application:
            await application.start()
            await application.updater.start_polling(poll_interval=0.05)
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)
            await application.updater.stop()
            await application.stop()

    thread = threading.Thread(target=asyncio.run, args=(run_bot(),))
    thread.start()
    try:
        standin.send_text(USER, "/report")
        [question] = standin.wait_for_messages(USER, 1)
        standin.send_callback(USER, "ok", message_id=question.message_id)
        replies = standin.wait_for_messages(USER, 2)
        poll_until(lambda: standin.callback_answers)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert [m.method for m in replies] == ["sendMessage", "editMessageText"]
    assert replies[1].plain_text == "Report saved ✅" and replies[1].reply_markup is None
    assert standin.callback_answers[0].text == "Saved"
