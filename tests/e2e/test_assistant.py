"""The site's smart assistant, end to end: the identity menu answered by number or by name,
keyword search of the site, and FAQ answers, on Telegram and in the web chat."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Stack, TelegramUser, titles
from tests.web_chat import new_session, say

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("greeting", "answer", "expected"),
    [
        ("你好", "1", "为市民推荐的常用链接:"),
        ("你好", "媒体", "为媒体推荐的常用链接:"),
        ("hello", "2", "Useful links for Business:"),
        ("hello", "visitor", "Useful links for Visitor:"),
    ],
    ids=["zh-number", "zh-name", "en-number", "en-name"],
)
def test_identity_menu_by_number_or_name(
    stack: Stack, greeting: str, answer: str, expected: str
) -> None:
    user = TelegramUser(stack)
    user.say(greeting)
    [links] = user.say(answer)
    assert links.text.startswith(expected)
    assert "https://kpb.hangzhou.gov.cn/" in links.text


def test_zero_goes_back_to_the_main_menu(stack: Stack) -> None:
    user = TelegramUser(stack)
    user.say("你好")
    user.say("1")
    [menu] = user.say("0")
    assert menu.text == "主菜单:请问您想做什么?"


def test_search_with_a_match(stack: Stack) -> None:
    user = TelegramUser(stack, language_code="en")
    user.say("hello")
    [ask] = user.tap("Search the site")
    assert ask.text == "What are you looking for on the website? Type a few keywords."
    [results] = user.say("district scorecards")
    assert results.text.startswith('The best matches for "district scorecards":\n1. ')
    assert results.text.count("https://kpb.hangzhou.gov.cn/") == 3


def test_search_from_the_menu_button_and_no_match(stack: Stack) -> None:
    user = TelegramUser(stack)
    user.say("你好")
    [ask] = user.tap("搜索网站")
    assert ask.text == "您想在网站上查找什么?请输入关键词。"
    [nothing] = user.say("红烧肉怎么做")
    assert nothing.text.startswith("抱歉,网站上没有找到与“红烧肉怎么做”相关的内容。")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("综合考评是怎么打分的", "综合考评满分100分"),
        (
            "how is the comprehensive evaluation scored",
            "The comprehensive evaluation is out of 100",
        ),
        ("投诉一般多久能处理", None),
        ("how do i join the survey panel", None),
        ("你们会保存我的哪些个人信息", None),
    ],
    ids=["scoring-zh", "scoring-en", "complaint-time-zh", "panel-en", "privacy-zh"],
)
def test_faq_answers(stack: Stack, question: str, expected: str | None) -> None:
    from civic.city import load_site
    from civic.settings import PROJECT_ROOT

    [answer] = TelegramUser(stack).say(question)
    answers = {
        text
        for entry in load_site(PROJECT_ROOT / "profiles" / "hangzhou").faq.values()
        for text in entry.answer.values()
    }
    assert answer.text in answers
    if expected:
        assert answer.text.startswith(expected)


def test_web_chat_identity_menu_by_number(web: httpx.Client) -> None:
    token = new_session(web)
    say(web, token, "hello")
    reply = say(web, token, "1")
    assert reply[0]["text"].startswith("Useful links for Citizen:")


def test_two_stage_fallback_never_ends_in_a_dead_end(stack: Stack) -> None:
    user = TelegramUser(stack, language_code="en")
    [first] = user.say("qwrtz zzkp vvlm")
    assert first.text.startswith("Sorry, I did not understand. Could you put it another way?")
    [second] = user.say("blorp fnord xyzzy")
    assert second.text == "I still did not understand. Did you mean one of these?"
    assert titles(second)[-1] == "Main menu"
