"""Talk to a person, end to end: the citizen asks on Telegram, the evaluation office's
staff read the conversation on the desk and reply, the citizen receives the reply and goes
back to the assistant with /bot."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from civic.agencies import create_user
from civic.city import load_profile
from civic.settings import PROJECT_ROOT
from tests.e2e.conftest import Stack, TelegramUser, titles

pytestmark = pytest.mark.e2e

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def staff_client(stack: Stack, web: httpx.Client) -> httpx.Client:
    """A signed-in desk session of an evaluation-office staff member."""
    with stack.db() as session:
        create_user(
            session=session,
            username="office-wang",
            password="a long enough password",
            agency=None,
            role="staff",
            display_name="Wang",
            known_agencies=set(),
        )
        session.commit()
    client = httpx.Client(base_url=str(web.base_url), timeout=30)
    form = client.get("/desk/login")
    token = CSRF.search(form.text).group(1)
    signed_in = client.post(
        "/desk/login",
        data={"username": "office-wang", "password": "a long enough password", "csrf": token},
    )
    assert signed_in.status_code == 303, signed_in.text
    return client


def test_a_person_answers_from_the_desk(stack: Stack, web: httpx.Client) -> None:
    user = TelegramUser(stack)
    [queued] = user.say("人工客服")
    hours = load_profile(PROJECT_ROOT / "profiles" / "hangzhou").office_hours
    if hours.is_open(datetime.now(UTC)):
        assert queued.text.startswith("已为您转接考评办工作人员")
    else:
        assert queued.text.startswith("现在是非工作时间,您的请求已排队,工作人员将在 ")
    assert titles(queued) == ["返回智能小助手"]
    [relayed] = user.say("我家楼下的路灯修了三次还是坏")
    assert relayed.text == "已转给工作人员。"

    desk = staff_client(stack, web)
    queue = desk.get("/desk/handoffs")
    assert queue.status_code == 200
    assert "人工客服" in queue.text and "我家楼下的路灯修了三次还是坏" in queue.text
    # the queue holds other tests' open handoffs too: answer the one with this message
    [mine] = [
        part
        for part in queue.text.split('<section class="handoff"')
        if "我家楼下的路灯修了三次还是坏" in part
    ]
    handoff_id = re.search(r'action="/desk/handoffs/(\d+)/reply"', mine).group(1)
    token = CSRF.search(queue.text).group(1)
    before = len(stack.telegram.messages(user.id))
    sent = desk.post(
        f"/desk/handoffs/{handoff_id}/reply",
        data={"csrf": token, "text": "您好,我们已联系城管局加急处理。"},
    )
    assert sent.status_code == 303
    try:
        [reply] = stack.telegram.wait_for_messages(user.id, before + 1, timeout=60)[before:]
    except AssertionError as late:  # say what the notifier was doing meanwhile
        lines = [line for line in stack.log().splitlines() if "notif" in line][-30:]
        raise AssertionError(f"{late}\nnotifier, last lines:\n" + "\n".join(lines)) from None
    assert reply.text == "考评办工作人员回复:您好,我们已联系城管局加急处理。"

    [back] = user.say("/bot")
    assert back.text == "已回到智能小助手。"
    [greeting] = user.say("你好")
    assert greeting.text.startswith("您好!我是智能小助手")
