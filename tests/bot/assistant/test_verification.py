"""/verify in chat (bot/assistant/_verification.py): codes sent through the SMS client to
the Twilio-style gateway stand-in over real HTTP, and the citizen typing them back."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.assistant import PhoneVerification
from bot.delivery import SmsGateway, sms_segments
from civic.i18n import t
from civic.identity import PhoneCodes, raise_level
from civic.replies import BotMessage
from storage.citizens import get_or_create_citizen
from storage.db import engine_for, migrate, session_factory
from storage.models import Citizen
from tests.fakes.sms_gateway import SmsGatewayStandIn

PHONE = "+8613812345678"
CODE = re.compile(r"\b(\d{6})\b")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def stand_in() -> Iterator[SmsGatewayStandIn]:
    with SmsGatewayStandIn(rate_per_second=None) as server:
        yield server


@pytest.fixture
def sms(stand_in: SmsGatewayStandIn) -> SmsGatewayStandIn:
    stand_in.reset()
    return stand_in


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'verify.db'}"
    migrate(url)
    yield session_factory(url)
    engine_for(url).dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def verification(
    sessions: sessionmaker[Session], sms: SmsGatewayStandIn, clock: Clock
) -> AsyncIterator[PhoneVerification]:
    gateway = SmsGateway(
        base_url=sms.base_url,
        account_sid=sms.account_sid,
        auth_token=sms.auth_token,
        sender="+8610690000",
        rate_per_second=None,
    )
    handler = PhoneVerification(
        sessions=sessions, codes=PhoneCodes("test-secret", clock=clock), sms=gateway
    )
    yield handler
    await handler.aclose()


def citizen(sessions: sessionmaker[Session], channel: str = "web", address: str = "s1") -> int:
    with sessions.begin() as session:
        return get_or_create_citizen(session=session, channel=channel, address=address).id


def level(sessions: sessionmaker[Session], citizen_id: int) -> tuple[str, str | None]:
    with sessions() as session:
        person = session.get(Citizen, citizen_id)
        assert person is not None
        return person.assurance, person.phone


async def say(
    handler: PhoneVerification,
    who: int,
    text: str,
    *,
    lang: str = "en",
    channel: str = "web",
    kind: str = "text",
) -> list[BotMessage] | None:
    return await handler.handle(who, channel, lang, kind, text)


async def test_a_number_gets_a_code_by_sms_and_the_code_verifies_it(
    verification: PhoneVerification,
    sessions: sessionmaker[Session],
    sms: SmsGatewayStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    who = citizen(sessions)
    assert await say(verification, who, "/verify", kind="payload") == [
        BotMessage(text=t("verify.ask_number", "en"))
    ]
    [sent] = await say(verification, who, "138 1234 5678") or []
    assert sent.text == t("verify.sent", "en", phone="+86 138****5678", minutes=10)
    [message] = sms.messages_to(PHONE)
    code = CODE.search(message.body)
    assert code is not None
    assert message.body == t("verify.sms", "en", code=code.group(1), minutes=10)
    assert "Do not share" in message.body and sms_segments(message.body) == 1
    wrong = "000000" if code.group(1) != "000000" else "111111"
    assert await say(verification, who, wrong) == [
        BotMessage(text=t("verify.wrong_code", "en", tries=4))
    ]
    assert level(sessions, who) == ("anonymous", None)
    assert await say(verification, who, code.group(1)) == [BotMessage(text=t("verify.done", "en"))]
    assert level(sessions, who) == ("verified_phone", PHONE)
    # nothing is pending now: digits are the assistant's again
    assert await say(verification, who, code.group(1)) is None
    # neither the number nor the code was written to a log
    assert PHONE[3:] not in caplog.text and code.group(1) not in caplog.text


async def test_the_sms_is_in_the_citizens_language(
    verification: PhoneVerification, sessions: sessionmaker[Session], sms: SmsGatewayStandIn
) -> None:
    who = citizen(sessions)
    await say(verification, who, "/verify", kind="payload", lang="zh")
    [sent] = await say(verification, who, "我的手机号是13812345678", lang="zh") or []
    assert sent.text.startswith("验证码已发送到 +86 138****5678")
    [message] = sms.messages_to(PHONE)
    assert "请勿告诉他人" in message.body and sms_segments(message.body) == 1


async def test_without_an_sms_gateway_the_web_chat_says_so(
    sessions: sessionmaker[Session],
) -> None:
    handler = PhoneVerification(sessions=sessions, codes=PhoneCodes("s"), sms=None)
    who = citizen(sessions)
    [reply] = await say(handler, who, "/verify", kind="payload") or []
    assert reply.text == t("verify.unavailable", "en")
    assert "Telegram" in reply.text and "button" in reply.text
    assert await say(handler, who, "13812345678") is None  # nothing waits for a number


async def test_on_telegram_the_contact_button_is_offered_and_closes_the_verification(
    sessions: sessionmaker[Session],
) -> None:
    handler = PhoneVerification(sessions=sessions, codes=PhoneCodes("s"), sms=None)
    who = citizen(sessions, "telegram", "4242")
    replies = await say(handler, who, "/verify", kind="payload", channel="telegram")
    assert replies == [
        BotMessage(text=t("verify.share_only", "en")),
        BotMessage(custom={"keyboard": "contact", "button": t("verify.share_button", "en")}),
    ]
    # no gateway: a typed number cannot be sent a code, the button is the way
    assert await say(handler, who, "13812345678", channel="telegram") == [
        BotMessage(text=t("verify.share_only", "en"))
    ]
    with sessions.begin() as session:  # what the gateway's contact handler does first
        person = session.get(Citizen, who)
        assert person is not None
        person.phone = "8613812345678"
        raise_level(person, "verified_phone")
    contact = '/choose_contact{"contact":"phone"}'
    done = await say(handler, who, contact, kind="payload", channel="telegram")
    assert done == [BotMessage(text=t("verify.done", "en"))]
    # a contact shared later (a complaint form's question) is not ours
    assert await say(handler, who, contact, kind="payload", channel="telegram") is None


async def test_on_telegram_with_a_gateway_both_ways_are_offered(
    verification: PhoneVerification, sessions: sessionmaker[Session]
) -> None:
    who = citizen(sessions, "telegram", "4343")
    replies = await say(verification, who, "/verify", kind="payload", channel="telegram") or []
    assert replies[0].text == t("verify.ask_number_or_share", "en")
    assert replies[1].custom == {"keyboard": "contact", "button": "📱 Share my phone number"}


async def test_an_already_verified_citizen_is_told_so(
    verification: PhoneVerification, sessions: sessionmaker[Session]
) -> None:
    who = citizen(sessions)
    with sessions.begin() as session:
        person = session.get(Citizen, who)
        assert person is not None
        raise_level(person, "invited")
    assert await say(verification, who, "/verify", kind="payload") == [
        BotMessage(text=t("verify.already", "en"))
    ]


async def test_bad_numbers_and_codes_get_a_clear_answer(
    verification: PhoneVerification, sessions: sessionmaker[Session], sms: SmsGatewayStandIn
) -> None:
    who = citizen(sessions)
    await say(verification, who, "/verify", kind="payload")
    assert await say(verification, who, "23812345678") == [
        BotMessage(text=t("verify.bad_number", "en"))
    ]
    assert await say(verification, who, "the light is out") is None  # the assistant's
    await say(verification, who, PHONE)
    assert await say(verification, who, "12345") == [BotMessage(text=t("verify.bad_code", "en"))]
    assert len(sms.messages) == 1


async def test_a_failed_send_is_said_and_does_not_count(
    verification: PhoneVerification, sessions: sessionmaker[Session], sms: SmsGatewayStandIn
) -> None:
    who = citizen(sessions)
    await say(verification, who, "/verify", kind="payload")
    sms.fail_next(3, status=503)
    for _ in range(3):
        assert await say(verification, who, PHONE) == [
            BotMessage(text=t("verify.send_failed", "en"))
        ]
    [sent] = await say(verification, who, PHONE) or []
    assert sent.text.startswith("We have sent a 6-digit code")
    assert len(sms.messages_to(PHONE)) == 1


async def test_a_number_that_cannot_get_sms_is_said(
    verification: PhoneVerification, sessions: sessionmaker[Session], sms: SmsGatewayStandIn
) -> None:
    who = citizen(sessions)
    sms.block(PHONE)
    await say(verification, who, "/verify", kind="payload")
    assert await say(verification, who, PHONE) == [BotMessage(text=t("verify.unreachable", "en"))]


async def test_the_fourth_code_in_an_hour_is_refused(
    verification: PhoneVerification,
    sessions: sessionmaker[Session],
    sms: SmsGatewayStandIn,
    clock: Clock,
) -> None:
    who = citizen(sessions)
    await say(verification, who, "/verify", kind="payload")
    for _ in range(3):
        await say(verification, who, PHONE)
        clock.now += timedelta(minutes=1)
    assert await say(verification, who, PHONE) == [
        BotMessage(text=t("verify.too_many_citizen", "en", limit=3))
    ]
    assert len(sms.messages_to(PHONE)) == 3
    other = citizen(sessions, address="s2")
    await say(verification, other, "/verify", kind="payload")
    assert await say(verification, other, PHONE) == [
        BotMessage(text=t("verify.too_many_number", "en"))
    ]


async def test_an_expired_code_asks_for_the_number_again(
    verification: PhoneVerification,
    sessions: sessionmaker[Session],
    sms: SmsGatewayStandIn,
    clock: Clock,
) -> None:
    who = citizen(sessions)
    await say(verification, who, "/verify", kind="payload")
    await say(verification, who, PHONE)
    code = CODE.search(sms.messages_to(PHONE)[0].body)
    assert code is not None
    clock.now += timedelta(minutes=11)
    assert await say(verification, who, code.group(1)) == [
        BotMessage(text=t("verify.expired", "en", minutes=10))
    ]
    assert level(sessions, who) == ("anonymous", None)
    await say(verification, who, PHONE)
    fresh = CODE.search(sms.messages_to(PHONE)[-1].body)
    assert fresh is not None
    assert await say(verification, who, fresh.group(1)) == [BotMessage(text=t("verify.done", "en"))]
