"""Status updates to WeChat through the real notifier and the WeChat stand-in, on SQLite
and PostgreSQL: a customer-service message within 48 hours of the citizen's last message,
the approved template after them (or when WeChat says the window has shut), and an
unsubscribed citizen's address marked unreachable."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.notifier import Notifier, NotifierOptions
from bot.wechat import StatusSender, WeChatClient
from civic.i18n import t
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import create_ticket, transition
from storage.citizens import note_message
from storage.db import session_factory
from storage.models import ChannelAddress, Notification, utcnow
from tests.fakes.wechat import WeChatStandIn
from tests.report_links import without_page_link

OPENID = "oUser0000000000000000000042"
NOTE = "维修人员已出发"
DECISION = RoutingDecision(
    category="street-light", agency="urban-management", district=None, confidence=0.9
)


@pytest.fixture(scope="module")
def server() -> Iterator[WeChatStandIn]:
    with WeChatStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def standin(server: WeChatStandIn) -> WeChatStandIn:
    server.reset()
    return server


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


@pytest.fixture
async def client(standin: WeChatStandIn) -> AsyncIterator[WeChatClient]:
    wechat = WeChatClient(
        app_id=standin.app_id, app_secret=standin.app_secret, base_url=standin.base_url
    )
    yield wechat
    await wechat.aclose()


def notifier(
    sessions: sessionmaker[Session], client: WeChatClient, template: str | None = "TPL_STATUS"
) -> Notifier:
    return Notifier(
        sessions=sessions,
        settings=get_settings(),
        bot=None,
        options=NotifierOptions(),
        wechat=StatusSender(client=client, template_id=template),
    )


def accepted_ticket(
    sessions: sessionmaker[Session], standin: WeChatStandIn, hours_since_message: float
) -> str:
    """A WeChat citizen who last wrote `hours_since_message` ago (as both we and WeChat
    know it), whose complaint has just been accepted."""
    last = utcnow() - timedelta(hours=hours_since_message)
    standin.set_last_message(OPENID, last.timestamp())
    with sessions.begin() as session:
        person = note_message(session=session, channel="wechat", address=OPENID, at=last)
        session.flush()
        ticket = create_ticket(
            session=session,
            citizen_id=person.id,
            description="路灯坏了",
            language="zh",
            decision=DECISION,
            ticket_prefix="HZ",
            due_at=None,
        )
        transition(session=session, ticket=ticket, to_status="accepted", actor="u", note=NOTE)
        return ticket.number


def outcome(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return [row.status for row in session.scalars(select(Notification))]


def expected_text(number: str) -> str:
    return f"您反映的问题 {number} 有新进展:已受理。{NOTE}"


async def test_within_48_hours_the_update_is_a_customer_service_message(
    sessions: sessionmaker[Session], standin: WeChatStandIn, client: WeChatClient
) -> None:
    number = accepted_ticket(sessions, standin, hours_since_message=47)

    report = await notifier(sessions, client).deliver_due()

    assert report.sent == 1
    assert [without_page_link(x, number) for x in standin.texts_to(OPENID)] == [
        expected_text(number)
    ]
    assert standin.templates_to(OPENID) == []
    assert outcome(sessions) == ["sent"]


async def test_after_48_hours_the_update_is_the_template_message(
    sessions: sessionmaker[Session], standin: WeChatStandIn, client: WeChatClient
) -> None:
    number = accepted_ticket(sessions, standin, hours_since_message=49)

    await notifier(sessions, client).deliver_due()

    assert standin.texts_to(OPENID) == []
    [template] = standin.templates_to(OPENID)
    assert template.template_id == "TPL_STATUS"
    data = dict(template.data)
    assert without_page_link(data.pop("keyword1"), number) == expected_text(number)
    assert data == {
        "first": t("wechat.template_first", "zh"),
        "remark": t("wechat.template_remark", "zh"),
    }
    assert outcome(sessions) == ["sent"]


async def test_when_wechat_says_the_window_has_shut_the_template_goes(
    sessions: sessionmaker[Session], standin: WeChatStandIn, client: WeChatClient
) -> None:
    number = accepted_ticket(sessions, standin, hours_since_message=1)
    standin.set_last_message(OPENID, (utcnow() - timedelta(hours=50)).timestamp())

    await notifier(sessions, client).deliver_due()

    keywords = [s.data["keyword1"] for s in standin.templates_to(OPENID)]
    assert [without_page_link(k, number) for k in keywords] == [expected_text(number)]
    assert outcome(sessions) == ["sent"]


async def test_without_a_template_an_update_after_48_hours_waits(
    sessions: sessionmaker[Session], standin: WeChatStandIn, client: WeChatClient
) -> None:
    accepted_ticket(sessions, standin, hours_since_message=49)

    report = await notifier(sessions, client, template=None).deliver_due()

    assert report.retried == 1
    assert standin.sent == []
    assert outcome(sessions) == ["pending"]


async def test_an_unsubscribed_citizen_is_unreachable(
    sessions: sessionmaker[Session], standin: WeChatStandIn, client: WeChatClient
) -> None:
    accepted_ticket(sessions, standin, hours_since_message=1)
    standin.followers[OPENID].subscribed = False

    report = await notifier(sessions, client).deliver_due()

    assert report.unreachable == 1
    assert outcome(sessions) == ["unreachable"]
    with sessions() as session:
        address = session.scalars(select(ChannelAddress)).one()
        assert address.unreachable_at is not None


async def test_a_lasting_rate_limit_is_retried_later(
    sessions: sessionmaker[Session], standin: WeChatStandIn
) -> None:
    accepted_ticket(sessions, standin, hours_since_message=1)
    standin.fail_next("message/custom/send", 45009, times=4)

    async def no_wait(seconds: float) -> None:
        return None

    client = WeChatClient(
        app_id=standin.app_id,
        app_secret=standin.app_secret,
        base_url=standin.base_url,
        sleep=no_wait,
    )
    report = await notifier(sessions, client).deliver_due()
    await client.aclose()

    assert report.retried == 1
    assert outcome(sessions) == ["pending"]
    assert standin.sent == []
