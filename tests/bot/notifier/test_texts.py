"""Status updates by SMS through the real notifier and the SMS gateway stand-in over real
HTTP, on SQLite and PostgreSQL: who gets a text (`sms_numbers`), and that a number which
texted STOP gets none."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery import SmsGateway
from bot.notifier import Notifier, NotifierOptions
from civic.campaigns import opt_out_number
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import create_ticket, transition
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.models import Citizen, Notification, utcnow
from tests.fakes.sms_gateway import SmsGatewayStandIn
from tests.report_links import without_page_link

DECISION = RoutingDecision(
    category="street-light", agency="urban-management", district=None, confidence=0.9
)
TEXTER = "+8613900002222"
WEB_PHONE = "+8613900003333"


@pytest.fixture(scope="module")
def server() -> Iterator[SmsGatewayStandIn]:
    with SmsGatewayStandIn(rate_per_second=None) as stand_in:
        yield stand_in


@pytest.fixture
async def gateway(server: SmsGatewayStandIn) -> AsyncIterator[SmsGateway]:
    server.reset()
    async with SmsGateway(
        base_url=server.base_url,
        account_sid=server.account_sid,
        auth_token=server.auth_token,
        sender="+8657100000000",
        rate_per_second=None,
    ) as client:
        yield client


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


def file_and_accept(session: Session, owner: Citizen) -> str:
    ticket = create_ticket(
        session=session,
        citizen_id=owner.id,
        description="路灯坏了",
        language="zh",
        decision=DECISION,
        ticket_prefix="HZ",
        due_at=None,
    )
    transition(session=session, ticket=ticket, to_status="accepted", actor="user:li", note="")
    session.commit()
    return ticket.number


def notifier(sessions: sessionmaker[Session], gateway: SmsGateway) -> Notifier:
    return Notifier(
        sessions=sessions,
        settings=get_settings(),
        bot=None,
        options=NotifierOptions(rate_per_second=None, per_chat_per_second=None),
        sms=gateway,
    )


async def test_who_filed_by_sms_or_gave_a_number_gets_the_update_by_sms(
    sessions: sessionmaker[Session], gateway: SmsGateway, server: SmsGatewayStandIn
) -> None:
    with sessions() as session:
        texter = get_or_create_citizen(session=session, channel="sms", address=TEXTER)
        on_web = get_or_create_citizen(session=session, channel="web", address="web-session-1")
        on_web.phone, on_web.language = WEB_PHONE, "en"
        # a Telegram citizen with a number hears on Telegram only
        on_telegram = get_or_create_citizen(session=session, channel="telegram", address="42")
        on_telegram.phone = "8613900004444"
        session.commit()
        numbers = [file_and_accept(session, c) for c in (texter, on_web, on_telegram)]

    report = await notifier(sessions, gateway).deliver_due()

    assert report.sent == 2  # the web citizen's too (in the chat and by SMS)
    assert [without_page_link(m.body, numbers[0]) for m in server.messages_to(TEXTER)] == [
        f"您反映的问题 {numbers[0]} 有新进展:已受理。"
    ]
    assert [without_page_link(m.body, numbers[1]) for m in server.messages_to(WEB_PHONE)] == [
        f"Update on your report {numbers[1]}: accepted."
    ]
    assert server.messages_to("+8613900004444") == []


async def test_a_number_that_texted_stop_gets_no_update(
    sessions: sessionmaker[Session], gateway: SmsGateway, server: SmsGatewayStandIn
) -> None:
    with sessions() as session:
        texter = get_or_create_citizen(session=session, channel="sms", address=TEXTER)
        on_web = get_or_create_citizen(session=session, channel="web", address="web-session-2")
        on_web.phone = WEB_PHONE
        session.commit()
        for number in (TEXTER, WEB_PHONE):
            opt_out_number(session=session, phone=number, now=utcnow())
        session.commit()
        file_and_accept(session, texter)
        file_and_accept(session, on_web)

    report = await notifier(sessions, gateway).deliver_due()

    assert server.messages == []
    # the texter has no other way to hear; the web citizen still reads it in the chat
    assert (report.unreachable, report.sent) == (1, 1)
    with sessions() as session:
        statuses = sorted(session.scalars(select(Notification.status)))
    assert statuses == ["sent", "unreachable"]


async def test_a_number_the_gateway_calls_unsubscribed_is_not_texted_again(
    sessions: sessionmaker[Session], gateway: SmsGateway, server: SmsGatewayStandIn
) -> None:
    server.block(TEXTER)
    with sessions() as session:
        texter = get_or_create_citizen(session=session, channel="sms", address=TEXTER)
        session.commit()
        file_and_accept(session, texter)
    report = await notifier(sessions, gateway).deliver_due()
    assert (report.unreachable, len(server.messages)) == (1, 0)
    with sessions() as session:
        file_and_accept(session, session.scalars(select(Citizen)).one())
    again = await notifier(sessions, gateway).deliver_due()
    assert (again.unreachable, [c.status for c in server.calls]) == (1, [400])
