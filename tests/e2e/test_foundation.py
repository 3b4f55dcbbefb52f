"""The first vertical slice, end to end: greeting, a complaint filed, its status, and bad
input, as a Telegram user (through the Bot API stand-in) and as a web-chat user."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from civic.identity import WebSessions
from storage.models import Ticket, utcnow
from tests.e2e.conftest import Stack, TelegramUser, file_complaint, titles
from tests.web_chat import new_session, say

pytestmark = pytest.mark.e2e


def test_greeting_in_chinese_offers_the_menu(stack: Stack) -> None:
    [reply] = TelegramUser(stack).say("你好")
    assert reply.text.startswith(
        "您好!我是智能小助手,为您提供智能查询服务。您可以在这里输入关键词查询相关栏目或内容,"
        "也可以根据我的提示输入身份类型或相应数字,让我为您推荐常用链接。请问您是:\n1 市民\n2 企业"
    )
    assert titles(reply) == ["反映问题", "我的工单", "搜索网站", "English"]


def test_greeting_in_english_offers_the_menu(stack: Stack) -> None:
    [reply] = TelegramUser(stack, language_code="en").say("hello")
    assert reply.text.startswith("Hello! I am the smart assistant, here to help you find")
    assert "\n1 Citizen\n2 Business\n3 Visitor\n4 Media" in reply.text
    assert titles(reply) == ["Report a problem", "My tickets", "Search the site", "中文"]


def test_start_command_greets(stack: Stack) -> None:
    [reply] = TelegramUser(stack).say("/start")
    assert reply.text.startswith("您好!我是智能小助手")


def test_chinese_complaint_becomes_a_routed_ticket(stack: Stack) -> None:
    number = file_complaint(TelegramUser(stack), "小区垃圾三天没人收了", place="拱墅区湖墅南路")
    with stack.db() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert (ticket.category, ticket.agency, ticket.district, ticket.status) == (
            "garbage-collection",
            "urban-management",
            "gongshu",
            "routed",
        )
        assert (ticket.description, ticket.language) == ("小区垃圾三天没人收了", "zh")


def test_status_shows_only_the_citizens_own_tickets(stack: Stack) -> None:
    alice, bob = TelegramUser(stack, language_code="en"), TelegramUser(stack)
    alice_number = file_complaint(
        alice, "the bus 155 skipped our stop again this morning", place="Xiaoshan", lang="en"
    )
    bob_number = file_complaint(bob, "出租车拒载还乱收费", place="上城区")

    [status] = alice.say("my tickets")
    assert status.text.startswith("Your reports:")
    assert f"{alice_number} Bus service: assigned to the agency" in status.text
    assert bob_number not in status.text


def test_status_button_works_like_typing(stack: Stack) -> None:
    user = TelegramUser(stack)
    user.say("你好")
    [reply] = user.tap("我的工单")
    assert reply.text == "您还没有反映过问题。直接告诉我遇到了什么问题就可以提交。"


def test_language_button_switches_to_english(stack: Stack) -> None:
    user = TelegramUser(stack)
    user.say("你好")
    switched, menu = user.tap("English", expect=2)
    assert switched.text == "Switched to English."
    assert menu.text.startswith("Main menu")


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        (lambda api, u: api.send_sticker(u), "Nice sticker! I can only read text"),
        (lambda api, u: api.send_photo(u, file_bytes=b"not an image"), "That picture could not"),
        (lambda api, u: api.send_text(u, "👍👍🎉"), "I cannot read emoji yet."),
        (lambda api, u: api.send_text(u, "x" * 5000), "That message is too long (5000 characters)"),
        (lambda api, u: api.send_edited_text(u, 1, "fixed text"), "Edited messages are not"),
    ],
    ids=["sticker", "not-an-image", "emoji-only", "too-long", "edited"],
)
def test_bad_input_gets_a_clear_answer(stack: Stack, send, expected: str) -> None:
    user = TelegramUser(stack, language_code="en")
    before = len(stack.telegram.messages(user.id))
    send(stack.telegram, user.id)
    [reply] = stack.telegram.wait_for_messages(user.id, before + 1, timeout=60)[before:]
    assert reply.text.startswith(expected)
    # The conversation still works afterwards.
    [after] = user.say("hello")
    assert after.text.startswith("Hello! I am the smart assistant")


def test_a_photo_without_words_is_kept_for_the_report(stack: Stack) -> None:
    user = TelegramUser(stack, language_code="en")
    user.say("hello")
    [reply] = user.send_photo()
    assert reply.text == "Photo received. Now tell me what the problem is and where."


def test_an_update_delivered_twice_is_handled_once(stack: Stack) -> None:
    user = TelegramUser(stack)
    update_id = stack.telegram.send_text(user.id, "你好")
    stack.telegram.wait_for_messages(user.id, 1, timeout=60)
    stack.telegram.inject_duplicate(update_id)
    # Updates of one chat are handled in order: once the next reply is here, a reply to
    # the repeat would have come before it.
    user.say("我的工单")
    assert len(stack.telegram.messages(user.id)) == 2


def test_web_chat_answers_in_both_languages(web: httpx.Client) -> None:
    token = new_session(web)
    [zh] = say(web, token, "你好")
    assert zh["text"].startswith("您好!我是智能小助手")
    [en] = say(web, token, "hello")
    assert en["text"].startswith("Hello! I am the smart assistant")
    [where] = say(web, token, "the water in my tap is brown and smells")
    assert where["text"].startswith("Where is it?")


def test_web_chat_pages_are_served(web: httpx.Client) -> None:
    demo = web.get("/")
    assert demo.status_code == 200
    assert '<script src="/static/widget.js" defer></script>' in demo.text
    chat = web.get("/chat")
    assert chat.status_code == 200
    assert "智能小助手" in chat.text and "/static/chat.js" in chat.text


def test_web_chat_refuses_bad_requests_clearly(web: httpx.Client) -> None:
    not_json = web.post(
        "/api/chat", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["messages"][0]["text"]
    made_up = web.post("/api/chat", json={"session": "a-session-i-made-up-0123", "text": "hi"})
    assert made_up.status_code == 401
    assert made_up.json()["error"] == "web_session.invalid"
    assert made_up.json()["messages"][0]["text"].startswith("本次对话的会话无效")


def test_web_chat_identity_is_the_servers_to_give(web: httpx.Client) -> None:
    forged = WebSessions("not-this-deployments-key").issue(now=utcnow()).token
    refused = web.post("/api/chat", json={"token": forged, "text": "hello", "language": "en"})
    assert (refused.status_code, refused.json()["error"]) == (401, "web_session.invalid")
    assert refused.json()["messages"][0]["text"].startswith("This chat session is not valid")
    # Updates go by POST with the token; the old GET with an id in the URL is refused.
    token = new_session(web)
    assert web.post("/api/chat/updates", json={"token": token}).json() == {"messages": []}
    by_get = web.get("/api/chat/updates", params={"session": token.split(".")[1]})
    assert (by_get.status_code, by_get.headers["allow"]) == (405, "POST")
    assert web.post("/api/chat/updates", json={"token": forged}).status_code == 401
