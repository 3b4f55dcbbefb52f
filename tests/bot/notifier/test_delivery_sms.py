"""The notifier's SMS sends (callers the hotline filed for), on SQLite and PostgreSQL,
through the real `SmsGateway` client talking HTTP to the SMS gateway stand-in: sent,
retried when the gateway fails, given up for a number that cannot get SMS (the address
marked unreachable), and retried while no gateway is set up. Logs name no number."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery import SmsGateway
from bot.notifier import Notifier, NotifierOptions
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import create_ticket, transition
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.models import ChannelAddress, Notification
from tests.fakes.sms_gateway import SmsGatewayStandIn

CALLER = "+8613912345678"
DECISION = RoutingDecision(
    category="street-light", agency="urban-management", district=None, confidence=0.9
)


@pytest.fixture(scope="module")
def server() -> Iterator[SmsGatewayStandIn]:
    with SmsGatewayStandIn(rate_per_second=None) as stand_in:
        yield stand_in


@pytest.fixture
def sms(server: SmsGatewayStandIn) -> SmsGatewayStandIn:
    server.reset()
    return server


@pytest.fixture
async def gateway(sms: SmsGatewayStandIn) -> AsyncIterator[SmsGateway]:
    async with SmsGateway(
        base_url=sms.base_url,
        account_sid=sms.account_sid,
        auth_token=sms.auth_token,
        sender="+8657112345",
        rate_per_second=None,
    ) as client:
        yield client


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


def _update_for_caller(sessions: sessionmaker[Session], language: str = "zh") -> str:
    """A caller reached by SMS whose ticket was just accepted; its number."""
    with sessions.begin() as session:
        caller = get_or_create_citizen(
            session=session, channel="sms", address=CALLER, language=language
        )
        ticket = create_ticket(
            session=session,
            citizen_id=caller.id,
            description="路灯坏了",
            language=language,
            decision=DECISION,
            ticket_prefix="HZ",
            due_at=None,
        )
        transition(session=session, ticket=ticket, to_status="accepted", actor="user:li")
        return ticket.number or ""


def _notifier(sessions: sessionmaker[Session], gateway: SmsGateway | None) -> Notifier:
    return Notifier(
        sessions=sessions,
        settings=get_settings(),
        bot=None,
        options=NotifierOptions(),
        sms=gateway,
    )


def _rows(sessions: sessionmaker[Session]) -> list[tuple[str, int]]:
    with sessions() as session:
        return [(r.status, r.attempts) for r in session.scalars(select(Notification))]


async def test_an_update_is_texted_in_the_callers_language(
    sessions: sessionmaker[Session],
    sms: SmsGatewayStandIn,
    gateway: SmsGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    number = _update_for_caller(sessions, "zh")

    report = await _notifier(sessions, gateway).deliver_due()

    assert (report.claimed, report.sent) == (1, 1)
    [body] = [m.body for m in sms.messages_to(CALLER)]
    news, link = body.split("\n")
    assert news == f"您反映的问题 {number} 有新进展:已受理。"
    # the caller filed it (through the hotline): their report page's link comes with it
    assert link.startswith("您的诉件页面(查看进展,并可补充信息或照片): http")
    assert f"/my-report/{number}." in link
    assert _rows(sessions) == [("sent", 1)]
    assert CALLER not in caplog.text and CALLER[3:] not in caplog.text


async def test_a_failing_gateway_is_tried_again(
    sessions: sessionmaker[Session], sms: SmsGatewayStandIn, gateway: SmsGateway
) -> None:
    _update_for_caller(sessions)
    sms.fail_next(1, status=503)

    report = await _notifier(sessions, gateway).deliver_due()

    assert (report.claimed, report.retried) == (1, 1)
    assert sms.messages_to(CALLER) == []
    assert _rows(sessions) == [("pending", 1)]


async def test_a_number_that_cannot_get_sms_is_given_up(
    sessions: sessionmaker[Session], sms: SmsGatewayStandIn, gateway: SmsGateway
) -> None:
    _update_for_caller(sessions)
    sms.block(CALLER)  # the caller replied STOP

    report = await _notifier(sessions, gateway).deliver_due()

    assert (report.claimed, report.unreachable) == (1, 1)
    assert _rows(sessions) == [("unreachable", 1)]
    with sessions() as session:
        address = session.scalars(select(ChannelAddress)).one()
        assert address.unreachable_at is not None


async def test_without_a_gateway_the_update_waits(sessions: sessionmaker[Session]) -> None:
    _update_for_caller(sessions)

    report = await _notifier(sessions, None).deliver_due()

    assert (report.claimed, report.retried) == (1, 1)
    with sessions() as session:
        row = session.scalars(select(Notification)).one()
        assert (row.status, row.last_error) == ("pending", "no SMS gateway is configured")
