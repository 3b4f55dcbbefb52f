"""The embeddable widget on the demo city page, in a real Chromium, against the whole
assistant (real Rasa, real action server): opened by keyboard, the identity menu answered
by number, a search of the site, and a complaint filed to the end, by the citizen the
server's signed session names; a session the server refuses is replaced, and said so."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from civic.i18n import t
from civic.identity import WebSessions
from storage.models import ChannelAddress, Ticket, utcnow
from tests.e2e.conftest import TICKET_NUMBER, Stack
from tests.e2e.test_desk_loop import browser  # noqa: F401  (the Chromium fixture)

pytestmark = pytest.mark.e2e

TOKEN_KEY = "civic-chat-token"


def test_the_widget_greets_recommends_searches_and_files_a_complaint(
    stack: Stack,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(f"{stack.web_url}/")
    launcher = page.get_by_role("button", name="智能小助手", exact=True)
    for _ in range(80):
        page.keyboard.press("Tab")
        if launcher.evaluate("el => el.getRootNode().activeElement === el"):
            break
    page.keyboard.press("Enter")
    log = page.get_by_role("log", name="对话记录")
    expect(log).to_contain_text("请问您是:")
    textbox = page.get_by_role("textbox", name="输入您的问题")

    def say(text: str) -> None:
        textbox.fill(text)
        page.keyboard.press("Enter")

    say("1")
    expect(log).to_contain_text("为市民推荐的常用链接:")
    say("你好")  # the identity menu again, now answered by name
    expect(log.get_by_role("listitem").filter(has_text="请问您是:")).to_have_count(2)
    say("媒体")
    expect(log).to_contain_text("为媒体推荐的常用链接:")

    log.get_by_role("button", name="搜索网站").last.click()
    expect(log).to_contain_text("您想在网站上查找什么?请输入关键词。")
    say("区县考评成绩")
    expect(log).to_contain_text("与“区县考评成绩”最相关的内容:")

    # A place no other test files garbage complaints in, so no duplicate is offered.
    say("菜市场旁边的垃圾站好几天没清运了,臭得不行")
    expect(log).to_contain_text("问题在哪里?")
    say("建德市")
    log.get_by_role("button", name="跳过").last.click()
    log.get_by_role("button", name="在本对话中联系我").last.click()
    expect(log).to_contain_text("请核对您要提交的内容:")
    log.get_by_role("button", name="确认提交").last.click()
    expect(log).to_contain_text("已受理,工单号 HZ-")
    page.screenshot(path="tests/artifacts/widget-live.png")

    number = TICKET_NUMBER.search(log.inner_text()).group()

    # In English, the identity menu answered by name.
    page.get_by_role("group", name="语言").get_by_role("button", name="English").click()
    log = page.get_by_role("log")  # its label is English now
    expect(log).to_contain_text("Switched to English.")
    english = page.get_by_role("textbox", name="Type your question")
    english.fill("hello")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("tell me who you are (the number or the name)")
    english.fill("Business")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("Useful links for Business:")
    english.fill("hi")
    page.keyboard.press("Enter")
    greetings = log.get_by_role("listitem").filter(has_text="tell me who you are")
    expect(greetings).to_have_count(2)
    english.fill("4")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("Useful links for Media:")
    with stack.db() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert (ticket.category, ticket.district, ticket.status) == (
            "garbage-collection",
            "jiande",
            "routed",
        )
        # Filed by the citizen whose session id is inside the token the server gave.
        address = session.scalars(
            select(ChannelAddress.address).where(
                ChannelAddress.citizen_id == ticket.citizen_id, ChannelAddress.channel == "web"
            )
        ).one()
    token = page.evaluate(f"() => localStorage.getItem('{TOKEN_KEY}')")
    assert token.startswith(f"ws1.{address}.")


def test_a_forged_session_in_the_browser_is_replaced_and_the_citizen_told(
    stack: Stack,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(f"{stack.web_url}/")
    forged = WebSessions("not-this-deployments-key").issue(now=utcnow()).token
    page.evaluate("([key, token]) => localStorage.setItem(key, token)", [TOKEN_KEY, forged])
    page.reload()
    page.get_by_role("button", name="智能小助手", exact=True).click()
    log = page.get_by_role("log", name="对话记录")
    expect(log).to_contain_text(t("web_session.invalid", "zh"))
    expect(log).to_contain_text("请问您是:")
    textbox = page.get_by_role("textbox", name="输入您的问题")
    textbox.fill("1")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("为市民推荐的常用链接:")
    token = page.evaluate(f"() => localStorage.getItem('{TOKEN_KEY}')")
    assert token != forged and token.startswith("ws1.")
    page.close()
