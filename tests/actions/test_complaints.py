"""Submitting a complaint, with hand-built trackers: the daily limit per citizen refuses
the eleventh report of the day in the citizen's language, and files nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.complaints import ActionSubmitComplaint, daily_limit_text
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import DailyTicketLimit, create_ticket, ticket_for_token
from storage.citizens import get_or_create_citizen
from storage.db import engine_for, migrate, session_factory
from storage.models import Ticket


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'actions.db'}"
    migrate(url)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    engine_for(url).dispose()


def citizen_with_tickets(url: str, count: int) -> str:
    """A citizen who filed `count` reports today; their pseudonymous sender id."""
    with session_factory(url).begin() as session:
        citizen = get_or_create_citizen(session=session, channel="telegram", address="42")
        for _ in range(count):
            create_ticket(
                session=session,
                citizen_id=citizen.id,
                description="路灯不亮",
                language="zh",
                decision=RoutingDecision("street-light", "urban-management", "binjiang", 0.9),
                ticket_prefix="HZ",
                due_at=None,
            )
        return citizen.public_id


def submit(sender: str, lang: str) -> list[dict[str, Any]]:
    slots = {
        "language": lang,
        "complaint_text": "three street lights are out on Jiangnan Avenue",
        "category": "street-light",
        "district": "binjiang",
        "location": "Jiangnan Avenue",
        "contact": "chat",
        "confirmed": "yes",
        "routing": {"confidence": 0.9, "by": "nlu"},
    }
    latest = {"text": "/affirm", "intent": {"name": "affirm", "confidence": 1.0}}
    tracker = Tracker(sender, slots, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSubmitComplaint().run(dispatcher, tracker, {}))
    return dispatcher.messages


def tickets(url: str) -> int:
    with session_factory(url)() as session:
        return int(session.scalar(select(func.count(Ticket.id))) or 0)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "You have already filed 10 reports today, the most one person can file in a day, "
         "so this one was not filed. Please send it again tomorrow, or call the city hotline "
         "12345."),
        ("zh", "您今天已经提交了 10 条反映,这是每人每天的上限,所以这一条没有提交。请明天再发送,"
         "或拨打市民热线 12345。"),
    ],
)  # fmt: skip
def test_the_eleventh_report_of_the_day_is_refused_and_nothing_is_filed(
    database: str, lang: str, text: str
) -> None:
    sender = citizen_with_tickets(database, 9)
    [filed] = submit(sender, lang)
    assert filed["text"].startswith("Received." if lang == "en" else "已受理")
    assert tickets(database) == 10
    [refused] = submit(sender, lang)
    assert refused["text"] == text
    assert tickets(database) == 10


def test_the_limit_is_a_setting(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVIC_TICKETS_PER_DAY", "2")
    get_settings.cache_clear()
    sender = citizen_with_tickets(database, 2)
    [refused] = submit(sender, "en")
    assert refused["text"].startswith("You have already filed 2 reports today")
    assert tickets(database) == 2


def test_a_city_without_a_hotline_only_says_tomorrow() -> None:
    assert daily_limit_text(DailyTicketLimit(10), None, "en") == (
        "You have already filed 10 reports today, the most one person can file in a day, "
        "so this one was not filed. Please send it again tomorrow."
    )


@pytest.mark.parametrize(
    ("lang", "filed", "line"),
    [
        ("en", "Received. Your ticket number is ",
         "Your report's page (progress, and where you can add information or a photo): "),
        ("zh", "已受理,工单号 ", "您的诉件页面(查看进展,并可补充信息或照片): "),
    ],
)  # fmt: skip
def test_the_confirmation_ends_with_the_link_to_the_citizens_own_page(
    database: str, lang: str, filed: str, line: str
) -> None:
    sender = citizen_with_tickets(database, 0)

    [message] = submit(sender, lang)

    *confirmation, page = message["text"].split("\n")
    assert confirmation[0].startswith(filed)
    base = f"{line}http://127.0.0.1:8000/my-report/"
    assert page.startswith(base)
    token = page.removeprefix(base)
    with session_factory(database)() as session:
        ticket = ticket_for_token(session=session, secret=get_settings().secret_key, token=token)
        assert ticket is not None and ticket.number is not None
        assert token.startswith(ticket.number + ".")
        assert ticket.number in confirmation[0]
        # a forged link names the ticket but opens nothing
        forged = token[:-1] + ("A" if token[-1] != "A" else "B")
        secret = get_settings().secret_key
        assert ticket_for_token(session=session, secret=secret, token=forged) is None
