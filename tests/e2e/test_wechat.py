"""WeChat, end to end: `civicbot run` with the WeChat account pointed at the stand-in.
A citizen files a complaint with a location and a photo through pushed (plain and AES)
messages and hears its status updates: inside the 48-hour window as a customer-service
message, outside it as the approved template message."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from civic.agencies import create_api_key
from civic.i18n import t
from storage.models import ChannelAddress, Ticket, utcnow
from tests.e2e import conftest as e2e
from tests.e2e.conftest import TICKET_NUMBER, Stack, running_stack
from tests.fakes.botapi import BotApiStandIn
from tests.fakes.wechat import WeChatStandIn

pytestmark = pytest.mark.e2e

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oE2eUser00000000000000000001"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture(scope="module")
def wechat() -> Iterator[WeChatStandIn]:
    with WeChatStandIn(aes_key=AES_KEY) as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def wechat_stack(
    telegram: BotApiStandIn, wechat: WeChatStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("e2e-wechat")
    env = {
        "WECHAT_APP_ID": wechat.app_id,
        "WECHAT_APP_SECRET": wechat.app_secret,
        "WECHAT_TOKEN": wechat.token,
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_TEMPLATE_ID_STATUS": "TPL_STATUS",
        "WECHAT_API_BASE_URL": wechat.base_url,
    }
    database = f"sqlite:///{var_dir / 'civic.db'}"
    # A second whole stack in the session, often started beside the first on a busy
    # machine: Rasa's loading is given twice the usual time.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(e2e, "STARTUP_TIMEOUT_SECONDS", 2 * e2e.STARTUP_TIMEOUT_SECONDS)
        with running_stack(telegram, var_dir, database, extra_env=env) as stack:
            wechat.endpoint = f"{stack.web_url}/wechat"
            yield stack


def answer(wechat: WeChatStandIn, message: dict[str, str | int], encrypted: bool = False) -> str:
    """The assistant's answer: the passive reply, or the customer-service message that
    follows a turn slower than WeChat waits."""
    sent_before = len(wechat.texts_to(OPENID))
    pushed = wechat.push(message, encrypted=encrypted)
    assert pushed.status == 200, pushed.body
    if pushed.reply is not None:
        return pushed.reply["Content"]
    deadline = time.monotonic() + 60
    while len(wechat.texts_to(OPENID)) == sent_before:
        assert time.monotonic() < deadline, "no answer within a minute"
        time.sleep(0.2)
    return wechat.texts_to(OPENID)[-1]


def number_for(text: str, title: str) -> str:
    found = re.search(rf"^(\d+)\. {re.escape(title)}$", text, re.MULTILINE)
    assert found, f"no button {title!r} in {text!r}"
    return found.group(1)


def next_text(wechat: WeChatStandIn, count_before: int) -> str:
    deadline = time.monotonic() + 60
    while len(wechat.texts_to(OPENID)) == count_before:
        assert time.monotonic() < deadline, "no customer-service message within a minute"
        time.sleep(0.2)
    return wechat.texts_to(OPENID)[-1]


def test_a_complaint_with_a_photo_and_a_place_and_its_updates(
    wechat_stack: Stack, wechat: WeChatStandIn
) -> None:
    greeting = answer(wechat, wechat.message(OPENID, "event", Event="subscribe"))
    assert greeting
    answer(wechat, wechat.message(OPENID, "text", Content="人行道上的井盖不见了很危险"))
    place = wechat.message(
        OPENID,
        "location",
        Location_X="30.2500",
        Location_Y="120.1400",
        Scale="15",
        Label="浙江省杭州市西湖区",
    )
    photo_question = answer(wechat, place)
    assert photo_question.startswith("可以发送一张现场照片(可选)。")
    media_id = wechat.add_media(PNG, "image/png")
    contact = answer(wechat, wechat.message(OPENID, "image", MediaId=media_id), encrypted=True)
    summary = answer(wechat, wechat.message(OPENID, "text", Content=number_for(contact, "匿名")))
    filed = answer(wechat, wechat.message(OPENID, "text", Content=number_for(summary, "确认提交")))
    number = TICKET_NUMBER.search(filed)
    assert number, filed
    with wechat_stack.db() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number.group())).one()
        assert (ticket.district, ticket.lat, ticket.long) == ("xihu", 30.25, 120.14)
        assert ticket.photo and (Path(wechat_stack.var_dir) / "media" / ticket.photo).is_file()
        _key, api_key = create_api_key(
            session=session, name="wechat-e2e", agency=ticket.agency, can_write=True
        )
        session.commit()

    with httpx.Client(base_url=wechat_stack.web_url, timeout=60) as web:
        # within 48 hours of the citizen's last message: a customer-service message
        before = len(wechat.texts_to(OPENID))
        post_update(web, api_key, number.group(), "u1", "INVESTIGATING", "已派人核查")
        accepted = next_text(wechat, before)
        assert accepted.startswith(f"您反映的问题 {number.group()} 有新进展:已受理。已派人核查")

        # two days later, with nothing from the citizen: the template message
        two_days_ago = utcnow() - timedelta(hours=49)
        with wechat_stack.writer() as session:
            session.execute(
                update(ChannelAddress)
                .where(ChannelAddress.address == OPENID)
                .values(last_message_at=two_days_ago)
            )
            session.commit()
        wechat.set_last_message(OPENID, two_days_ago.timestamp())
        texts_before = len(wechat.texts_to(OPENID))
        post_update(web, api_key, number.group(), "u2", "FIXED", "井盖已补上")
        deadline = time.monotonic() + 60
        while not wechat.templates_to(OPENID):
            assert time.monotonic() < deadline, "no template message within a minute"
            time.sleep(0.2)
    [template] = wechat.templates_to(OPENID)
    assert template.template_id == "TPL_STATUS"
    assert template.data["first"] == t("wechat.template_first", "zh")
    assert template.data["keyword1"].startswith(
        f"{number.group()} 的承办部门报告问题已整改:井盖已补上"
    )
    assert len(wechat.texts_to(OPENID)) == texts_before


def post_update(
    web: httpx.Client, key: str, number: str, update_id: str, status: str, note: str
) -> None:
    response = web.post(
        "/open311/v2/servicerequestupdates.json",
        data={
            "api_key": key,
            "service_request_id": number,
            "update_id": update_id,
            "status": status,
            "description": note,
        },
    )
    assert response.status_code == 200, response.text
