"""Reading a WeChat message's fields, and rendering replies as WeChat text."""

from __future__ import annotations

import pytest

from bot.wechat import MENU, ProtocolError, read_message, render
from civic.replies import BotMessage, Button

BASE = {"ToUserName": "gh_1", "FromUserName": "oU1", "CreateTime": "1700000000"}


def test_a_message_is_known_by_its_msgid_and_an_event_by_sender_and_second() -> None:
    message = read_message({**BASE, "MsgType": "text", "Content": "hi", "MsgId": "77"})
    event = read_message({**BASE, "MsgType": "event", "Event": "subscribe"})
    assert (message.kind, message.text, message.key) == ("text", "hi", "wx:77")
    assert event.key == "wx:oU1:1700000000:subscribe"


@pytest.mark.parametrize(
    "fields",
    [
        {"MsgType": "text"},  # no sender
        {**BASE, "CreateTime": "yesterday", "MsgType": "text"},
        {**BASE, "MsgType": "image"},  # no MediaId
        {**BASE, "MsgType": "location", "Location_X": "north", "Location_Y": "1"},
    ],
)
def test_what_every_message_needs_is_checked(fields: dict[str, str]) -> None:
    with pytest.raises(ProtocolError):
        read_message(fields)


def test_a_qr_scene_is_the_deep_link_and_a_menu_key_its_payload() -> None:
    scene = read_message(
        {**BASE, "MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_w_12"}
    )
    click = read_message({**BASE, "MsgType": "event", "Event": "CLICK", "EventKey": "COMPLAINT"})
    report = read_message({**BASE, "MsgType": "event", "Event": "TEMPLATESENDJOBFINISH"})
    assert scene.text == "/start w_12"
    assert (click.kind, click.text) == ("menu", MENU["COMPLAINT"])
    assert (report.kind, report.from_user) == ("silent", False)


def test_buttons_are_numbered_across_replies() -> None:
    text, numbers = render(
        [
            BotMessage(text="Is it solved?", buttons=[Button("Yes", "/y"), Button("No", "/n")]),
            BotMessage(text="Or", buttons=[Button("Menu", "/menu")]),
        ]
    )
    assert text == "Is it solved?\n1. Yes\n2. No\n\nOr\n3. Menu"
    assert numbers == {"1": "/y", "2": "/n", "3": "/menu"}
