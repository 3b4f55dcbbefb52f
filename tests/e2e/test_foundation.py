"""The first vertical slice, end to end: greeting, a complaint filed, its status, and bad
input, as a Telegram user (through the Bot API stand-in) and as a web-chat user."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from sqlalchemy import select

from storage.models import Ticket
from tests.e2e.conftest import Stack, new_user

pytestmark = pytest.mark.e2e

TICKET_NUMBER = re.compile(r"HZ-\d{4}-\d{6}")


def reply_to(stack: Stack, user: int, text: str, count: int = 1) -> list:
    before = len(stack.telegram.messages(user))
    stack.telegram.send_text(user, text)
    return stack.telegram.wait_for_messages(user, before + count, timeout=60)[before:]


def buttons_of(message) -> list[tuple[str, str]]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def test_greeting_in_chinese_offers_the_menu(stack: Stack) -> None:
    [reply] = reply_to(stack, new_user(), "你好")
    assert reply.text.startswith("您好!我是智能小助手,为您提供智能查询服务。")
    assert [title for title, _ in buttons_of(reply)] == ["反映问题", "我的工单", "English"]


def test_greeting_in_english_offers_the_menu(stack: Stack) -> None:
    [reply] = reply_to(stack, new_user(), "hello")
    assert reply.text.startswith("Hello! I am the smart assistant.")
    assert [title for title, _ in buttons_of(reply)] == ["Report a problem", "My tickets", "中文"]


def test_start_command_greets(stack: Stack) -> None:
    [reply] = reply_to(stack, new_user(), "/start")
    assert "智能小助手" in reply.text or "smart assistant" in reply.text


def test_chinese_complaint_becomes_a_routed_ticket(stack: Stack) -> None:
    [reply] = reply_to(stack, new_user(), "小区垃圾三天没人收了")
    number = TICKET_NUMBER.search(reply.text)
    assert number, reply.text
    assert "承办部门:城市管理局" in reply.text
    with stack.db() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number.group())).one()
        assert (ticket.category, ticket.agency, ticket.status) == (
            "garbage-collection",
            "urban-management",
            "routed",
        )
        assert ticket.description == "小区垃圾三天没人收了"
        assert ticket.language == "zh"


def test_english_complaint_becomes_a_routed_ticket(stack: Stack) -> None:
    text = "garbage has not been collected on my street for three days"
    [reply] = reply_to(stack, new_user(), text)
    number = TICKET_NUMBER.search(reply.text)
    assert number, reply.text
    assert "Agency: City Management Bureau" in reply.text
    with stack.db() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number.group())).one()
        assert (ticket.category, ticket.agency, ticket.language) == (
            "garbage-collection",
            "urban-management",
            "en",
        )


def test_status_shows_only_the_citizens_own_tickets(stack: Stack) -> None:
    alice, bob = new_user(), new_user()
    [filed] = reply_to(stack, alice, "three street lights are out on Jiangnan Avenue in Binjiang")
    alice_number = TICKET_NUMBER.search(filed.text).group()
    [bob_filed] = reply_to(stack, bob, "文三路上有个大坑,电瓶车差点摔了")
    bob_number = TICKET_NUMBER.search(bob_filed.text).group()

    [status] = reply_to(stack, alice, "my tickets")
    assert status.text.startswith("Your reports:")
    assert f"{alice_number} Street lights: assigned to the agency" in status.text
    assert bob_number not in status.text


def test_status_button_works_like_typing(stack: Stack) -> None:
    user = new_user()
    [greeting] = reply_to(stack, user, "你好")
    payload = dict(buttons_of(greeting))["我的工单"]
    before = len(stack.telegram.messages(user))
    stack.telegram.send_callback(user, payload)
    [reply] = stack.telegram.wait_for_messages(user, before + 1, timeout=60)[before:]
    assert reply.text == "您还没有反映过问题。直接告诉我遇到了什么问题就可以提交。"


def test_language_button_switches_to_english(stack: Stack) -> None:
    user = new_user()
    [greeting] = reply_to(stack, user, "你好")
    before = len(stack.telegram.messages(user))
    stack.telegram.send_callback(user, dict(buttons_of(greeting))["English"])
    replies = stack.telegram.wait_for_messages(user, before + 2, timeout=60)[before:]
    assert replies[0].text == "Switched to English."
    assert replies[1].text.startswith("Main menu")


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        (lambda api, u: api.send_sticker(u), "Nice sticker! I can only read text"),
        (lambda api, u: api.send_photo(u), "Photo received. Please also tell me in words"),
        (lambda api, u: api.send_text(u, "👍👍🎉"), "I cannot read emoji yet."),
        (lambda api, u: api.send_text(u, "x" * 5000), "That message is too long (5000 characters)"),
        (
            lambda api, u: api.send_edited_text(u, 1, "fixed text"),
            "Edited messages are not processed",
        ),
    ],
    ids=["sticker", "photo-without-caption", "emoji-only", "too-long", "edited"],
)
def test_bad_input_gets_a_clear_answer(stack: Stack, send, expected: str) -> None:
    user = new_user()
    stack.telegram.add_user(user, language_code="en")
    before = len(stack.telegram.messages(user))
    send(stack.telegram, user)
    [reply] = stack.telegram.wait_for_messages(user, before + 1, timeout=60)[before:]
    assert reply.text.startswith(expected)
    # The conversation still works afterwards.
    [after] = reply_to(stack, user, "hello")
    assert after.text.startswith("Hello! I am the smart assistant.")


def test_an_update_delivered_twice_is_handled_once(stack: Stack) -> None:
    user = new_user()
    update_id = stack.telegram.send_text(user, "路灯坏了好几天了,晚上黑漆漆的")
    stack.telegram.wait_for_messages(user, 1, timeout=60)
    stack.telegram.inject_duplicate(update_id)
    # Updates of one chat are handled in order: once the next reply is here, a reply to
    # the repeat would have come before it.
    [status] = reply_to(stack, user, "我的工单")
    assert len(stack.telegram.messages(user)) == 2
    assert status.text.count("HZ-") == 1


def web_say(web: httpx.Client, session: str, text: str) -> list[dict]:
    response = web.post("/api/chat", json={"session": session, "text": text})
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_web_chat_answers_in_both_languages(web: httpx.Client) -> None:
    session = secrets.token_hex(12)
    [zh] = web_say(web, session, "你好")
    assert zh["text"].startswith("您好!我是智能小助手")
    [en] = web_say(web, session, "hello")
    assert en["text"].startswith("Hello! I am the smart assistant.")
    [filed] = web_say(web, session, "the bus 155 skipped our stop again this morning")
    assert "Agency: Transport Bureau" in filed["text"]


def test_web_chat_page_is_served(web: httpx.Client) -> None:
    page = web.get("/")
    assert page.status_code == 200
    assert "智能小助手" in page.text and "/static/chat.js" in page.text


def test_web_chat_refuses_bad_requests_clearly(web: httpx.Client) -> None:
    not_json = web.post(
        "/api/chat", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["messages"][0]["text"]
    bad_session = web.post("/api/chat", json={"session": "x", "text": "hi"})
    assert bad_session.status_code == 400
