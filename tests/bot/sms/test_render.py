"""Replies as one short text message, and the TwiML around it."""

from __future__ import annotations

from bot.sms import render, twiml
from civic.replies import BotMessage, Button


def test_buttons_are_numbered_and_become_a_menu() -> None:
    replies = [
        BotMessage(text="Is it fixed?", buttons=[Button("Yes", "/yes"), Button("No", "/no")]),
        BotMessage(image="https://example.org/map.png"),
    ]
    answer = render(replies, "en")
    assert answer.body == "Is it fixed?\nReply with a number:\n1. Yes\n2. No"
    assert answer.menu == [
        {"payload": "/yes", "replies": ["1", "Yes"]},
        {"payload": "/no", "replies": ["2", "No"]},
    ]


def test_a_survey_question_numbers_only_its_answers() -> None:
    question = BotMessage(
        text="1/2 · 满意吗？",
        buttons=[
            Button("满意", "sv:a:7:abcdef:satisfied"),
            Button("不满意", "sv:a:7:abcdef:dissatisfied"),
            Button("跳过", "sv:s:7:abcdef"),
            Button("↩ 上一题", "sv:b:7"),
        ],
    )
    answer = render([question], "zh")
    assert answer.body == "1/2 · 满意吗？\n1. 满意\n2. 不满意\n请回复答案前的数字。"
    assert answer.menu == []  # the survey reads the digits itself


def test_a_rating_is_numbered_by_its_own_codes() -> None:
    buttons = [Button(str(n), f"sv:a:7:abcdef:{n}") for n in range(0, 11)]
    body = render([BotMessage(text="0-10?", buttons=buttons)], "en").body
    assert body.splitlines()[1:3] == ["0. 0", "1. 1"]


def test_a_long_reply_is_cut_to_one_message() -> None:
    body = render([BotMessage(text="字" * 2000)], "zh").body
    assert len(body) == 1600 and body.endswith("…")


def test_twiml_escapes_the_text_and_is_empty_without_one() -> None:
    assert twiml("a < b & c") == (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<Response><Message>a &lt; b &amp; c</Message></Response>"
    )
    assert twiml(None) == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
