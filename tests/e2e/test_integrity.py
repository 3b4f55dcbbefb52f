"""Forged payloads through the web chat, against the real stack: each throwaway session
sends what a script would (a window rating, a panel sign-up, a survey answer, an outside
photo URL) without having been offered it. None of it is stored; each gets an answer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from storage.models import FrameMember, SurveyAnswer, Ticket, WindowRating
from storage.windows import add_window
from tests.e2e.conftest import Stack
from tests.web_chat import new_session

pytestmark = pytest.mark.e2e


def _tap(web: httpx.Client, token: str, payload: str) -> list[dict[str, object]]:
    response = web.post("/api/chat", json={"token": token, "payload": payload})
    assert response.status_code == 200, response.text
    messages: list[dict[str, object]] = response.json()["messages"]
    return messages


def _count(stack: Stack, model: type) -> int:
    with stack.db() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_forged_payloads_from_throwaway_sessions_store_nothing(
    stack: Stack, web: httpx.Client
) -> None:
    with stack.writer() as session:
        window_id = add_window(
            session=session, agency="market-regulation", hall="大厅", number="1"
        ).id
        session.commit()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    before = {m: _count(stack, m) for m in (WindowRating, FrameMember, SurveyAnswer, Ticket)}
    forged = [
        f"wr:{window_id}:{today}:stars:1",
        f"wr:{window_id}:stars:1",
        f"/start w_{window_id}",
        "sub:g:xihu:18-29:male",
        "sv:a:1:overall:dissatisfied",
        '/send_photo{"photo":"https://elsewhere.example/x.jpg"}',
    ]
    for payload in forged:
        for _ in range(3):  # three throwaway citizens each
            replies = _tap(web, new_session(web), payload)
            assert replies and all(isinstance(r.get("text"), str) for r in replies), payload
    after = {m: _count(stack, m) for m in before}
    assert after == before
