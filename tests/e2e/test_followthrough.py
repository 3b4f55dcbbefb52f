"""Follow-through, end to end: an agency reports progress and rectification through the
Open311 API only; the citizen hears each update once on Telegram, says "Not yet" (the
ticket reopens), then "Solved" and rates it (the ticket closes)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from civic.agencies import create_api_key
from storage.models import Ticket
from tests.e2e.conftest import Stack, TelegramUser, file_complaint, titles

pytestmark = pytest.mark.e2e


def post_update(web: httpx.Client, key: str, number: str, update_id: str, status: str, note: str):
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
    return response.json()


def test_agency_updates_reach_the_citizen_and_close_the_loop(
    stack: Stack, web: httpx.Client
) -> None:
    user = TelegramUser(stack)
    number = file_complaint(user, "小区门口的路灯坏了一个星期了", place="临平区")
    with stack.db() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        _key, raw = create_api_key(
            session=session, name="city-lights", agency=ticket.agency, can_write=True
        )
        session.commit()
    api = stack.telegram

    before = len(api.messages(user.id))
    post_update(web, raw, number, "u1", "INVESTIGATING", "已派人核查")
    [accepted] = api.wait_for_messages(user.id, before + 1, timeout=60)[before:]
    assert accepted.text.startswith(f"您反映的问题 {number} 有新进展:已受理。已派人核查")

    post_update(web, raw, number, "u2", "FIXED", "路灯已更换")
    post_update(web, raw, number, "u2", "FIXED", "路灯已更换")  # repeated: applied once
    [fixed] = api.wait_for_messages(user.id, before + 2, timeout=60)[before + 1 :]
    assert fixed.text.startswith(f"{number} 的承办部门报告问题已整改:路灯已更换")
    assert titles(fixed) == ["已解决", "还没有"]

    [reopened] = user.tap("还没有")
    assert reopened.text == f"很抱歉问题还没解决。{number} 已重新打开并退回城市管理局继续办理。"

    post_update(web, raw, number, "u3", "FIXED", "整条路的灯都换了")
    after_reopen = len(api.messages(user.id))
    [fixed_again] = api.wait_for_messages(user.id, after_reopen + 1, timeout=60)[after_reopen:]
    assert "整条路的灯都换了" in fixed_again.text
    [ask_rating] = user.tap("已解决")
    assert titles(ask_rating) == ["满意", "基本满意", "不满意"]
    [rated] = user.tap("基本满意")
    assert rated.text == f"感谢您的评价。{number} 已办结。"
    # a closed complaint is a moment to invite the citizen into the survey panel
    assert titles(rated) == ["参加满意度调查"]
    assert "区" in user.tap("参加满意度调查", expect=2)[1].text

    with stack.db() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert (ticket.status, ticket.satisfaction) == ("closed", "basically_satisfied")
        history = [e.to_status for e in ticket.events]
    assert history == [
        "submitted", "routed", "accepted", "rectified", "reopened", "rectified", "closed",
    ]  # fmt: skip
    # Each update reached the citizen exactly once (the repeated u2 did not send twice).
    texts = [m.text for m in api.messages(user.id)]
    assert sum(t.startswith(f"{number} 的承办部门报告问题已整改") for t in texts) == 2
