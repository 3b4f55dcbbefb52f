"""The SMS gateway client against the Twilio-style stand-in, over real HTTP."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.delivery import (
    SmsGateway,
    SmsGatewayMisconfigured,
    SmsRejected,
    SmsRetryLater,
    is_gsm7,
    sms_segments,
)
from bot.delivery._sms import UNAVAILABLE_RETRY_AFTER
from civic.i18n import t
from civic.settings import load_settings
from tests.fakes.sms_gateway import SmsGatewayStandIn

CITIZEN = "+8613800138000"
SENDER = "+8657187000000"
SERVICE = "MG" + "ab" * 16


@pytest.fixture(scope="module")
def stand_in() -> Iterator[SmsGatewayStandIn]:
    with SmsGatewayStandIn() as server:
        yield server


@pytest.fixture
def sms(stand_in: SmsGatewayStandIn) -> SmsGatewayStandIn:
    stand_in.reset()
    stand_in.set_rate_limit(None)
    return stand_in


def _gateway(sms: SmsGatewayStandIn, **kwargs: object) -> SmsGateway:
    options: dict = {
        "base_url": sms.base_url,
        "account_sid": sms.account_sid,
        "auth_token": sms.auth_token,
        "sender": SENDER,
        "rate_per_second": None,
    }
    return SmsGateway(**(options | kwargs))


@pytest.fixture
async def gateway(sms: SmsGatewayStandIn) -> AsyncIterator[SmsGateway]:
    async with _gateway(sms) as client:
        yield client


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_send_returns_the_message_sid_and_the_gateway_has_the_message(
    sms: SmsGatewayStandIn, gateway: SmsGateway
) -> None:
    sid = await gateway.send(CITIZEN, "请参加调查 https://example.org/?start=abc")
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    [record] = sms.messages_to(CITIZEN)
    assert (record.sid, record.from_, record.body) == (
        sid,
        SENDER,
        "请参加调查 https://example.org/?start=abc",
    )


async def test_a_messaging_service_is_sent_as_messaging_service_sid(
    sms: SmsGatewayStandIn,
) -> None:
    async with _gateway(sms, sender=SERVICE) as gateway:
        await gateway.send(CITIZEN, "hello")
    [record] = sms.messages
    assert (record.from_, record.messaging_service_sid) == (None, SERVICE)


async def test_the_gateway_rate_limit_becomes_retry_later_with_its_retry_after(
    sms: SmsGatewayStandIn, gateway: SmsGateway
) -> None:
    sms.set_rate_limit(1.0, burst=1)
    await gateway.send(CITIZEN, "one")
    with pytest.raises(SmsRetryLater) as caught:
        await gateway.send(CITIZEN, "two")
    assert caught.value.retry_after == 1.0
    assert [m.body for m in sms.messages] == ["one"]


async def test_an_injected_429_passes_its_retry_after_on(
    sms: SmsGatewayStandIn, gateway: SmsGateway
) -> None:
    sms.fail_next(1, status=429, retry_after=7)
    with pytest.raises(SmsRetryLater) as caught:
        await gateway.send(CITIZEN, "hello")
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(500, None, UNAVAILABLE_RETRY_AFTER), (503, 5, 5.0)],
)
async def test_server_errors_become_retry_later(
    sms: SmsGatewayStandIn,
    gateway: SmsGateway,
    status: int,
    retry_after: float | None,
    expected: float,
) -> None:
    sms.fail_next(1, status=status, retry_after=retry_after)
    with pytest.raises(SmsRetryLater) as caught:
        await gateway.send(CITIZEN, "hello")
    assert caught.value.retry_after == expected
    assert await gateway.send(CITIZEN, "hello again")  # the fault is over
    assert [m.body for m in sms.messages] == ["hello again"]


async def test_an_invalid_number_is_rejected_as_unreachable_without_quoting_it(
    gateway: SmsGateway, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(SmsRejected) as caught:
        await gateway.send("0571-87000000", "hello")
    assert (caught.value.code, caught.value.status, caught.value.unreachable) == (21211, 400, True)
    assert "87000000" not in str(caught.value)
    assert "87000000" not in caplog.text


async def test_an_unsubscribed_recipient_is_unreachable(
    sms: SmsGatewayStandIn, gateway: SmsGateway
) -> None:
    sms.block(CITIZEN)
    with pytest.raises(SmsRejected) as caught:
        await gateway.send(CITIZEN, "hello")
    assert (caught.value.code, caught.value.unreachable) == (21610, True)


async def test_a_too_long_body_is_rejected_but_the_number_stays_reachable(
    gateway: SmsGateway,
) -> None:
    with pytest.raises(SmsRejected) as caught:
        await gateway.send(CITIZEN, "x" * 1601)
    assert (caught.value.code, caught.value.unreachable) == (21617, False)


async def test_wrong_credentials_mean_a_misconfigured_gateway(sms: SmsGatewayStandIn) -> None:
    async with _gateway(sms, auth_token="wrong") as gateway:
        with pytest.raises(SmsGatewayMisconfigured, match="HTTP 401"):
            await gateway.send(CITIZEN, "hello")
    assert sms.messages == []


async def test_an_unreachable_gateway_means_retry_later() -> None:
    async with SmsGateway(
        base_url=f"http://127.0.0.1:{_closed_port()}",
        account_sid="AC1",
        auth_token="token",
        sender=SENDER,
    ) as gateway:
        with pytest.raises(SmsRetryLater) as caught:
            await gateway.send(CITIZEN, "hello")
    assert caught.value.retry_after == UNAVAILABLE_RETRY_AFTER
    assert "ConnectError" in str(caught.value)


async def test_sends_are_paced_to_the_configured_rate(sms: SmsGatewayStandIn) -> None:
    async with _gateway(sms, rate_per_second=20.0) as gateway:
        started = time.monotonic()
        for n in range(5):
            await gateway.send(CITIZEN, f"message {n}")
        elapsed = time.monotonic() - started
    assert elapsed >= 4 / 20
    assert len(sms.messages) == 5


async def test_sent_messages_can_be_listed_from_the_gateway(
    sms: SmsGatewayStandIn, gateway: SmsGateway
) -> None:
    first = await gateway.send(CITIZEN, "first")
    second = await gateway.send("+8613900139000", "second")
    url = f"{sms.base_url}/2010-04-01/Accounts/{sms.account_sid}/Messages.json"
    async with httpx.AsyncClient(auth=(sms.account_sid, sms.auth_token)) as client:
        everything = (await client.get(url)).json()
        mine = (await client.get(url, params={"To": CITIZEN})).json()
    assert [m["sid"] for m in everything["messages"]] == [second, first]  # newest first
    assert [(m["sid"], m["to"], m["num_segments"]) for m in mine["messages"]] == [
        (first, CITIZEN, "1")
    ]


def test_from_settings_needs_every_sms_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMS_GATEWAY_URL", "SMS_ACCOUNT_SID", "SMS_AUTH_TOKEN", "SMS_FROM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMS_GATEWAY_URL", "http://127.0.0.1:9")
    with pytest.raises(SmsGatewayMisconfigured, match="SMS_AUTH_TOKEN"):
        SmsGateway.from_settings(load_settings())


async def test_from_settings_sends_with_the_configured_gateway(
    sms: SmsGatewayStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMS_GATEWAY_URL", sms.base_url + "/")
    monkeypatch.setenv("SMS_ACCOUNT_SID", sms.account_sid)
    monkeypatch.setenv("SMS_AUTH_TOKEN", sms.auth_token)
    monkeypatch.setenv("SMS_FROM", SENDER)
    monkeypatch.setenv("SMS_RATE_PER_SECOND", "50")
    settings = load_settings()
    assert settings.sms_rate_per_second == 50.0
    assert sms.auth_token not in repr(settings)
    async with SmsGateway.from_settings(settings) as gateway:
        sid = await gateway.send(CITIZEN, "hello")
    assert [m.sid for m in sms.messages_to(CITIZEN)] == [sid]


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("中" * 70, 1),
        ("中" * 71, 2),
        ("中" * 134, 2),
        ("中" * 135, 3),
        ("a" * 306, 2),  # concatenated GSM-7: 153 a part
        ("a" * 307, 3),
        ("Your report HZ-1 was accepted.", 1),
        ("您反映的问题 HZ-1 已受理。", 1),
        ("Road closed 路" + "a" * 60, 2),  # one Chinese character makes it all UCS-2
        ("市" * 67 * 3, 3),  # 67 a part
        ("市" * (67 * 3 + 1), 4),
    ],
)
def test_sms_segments(body: str, segments: int) -> None:
    assert sms_segments(body) == segments


@pytest.mark.parametrize(
    "key",
    [
        "invitations.sms",
        "invitations.sms_reminder",
        "invitations.sms_two_way",
        "invitations.sms_reminder_two_way",
    ],
)
def test_the_sms_texts_fit_one_segment_before_their_links(key: str) -> None:
    params = {"title": "城市管理满意度调查", "minutes": 5, "link": "", "unsubscribe_url": ""}
    assert len(t(key, "zh", **params).strip()) <= 70
    english = t(key, "en", **(params | {"title": "City services survey"}))
    assert len(english.strip()) <= 160
    assert is_gsm7(english)
