"""Two-way SMS end to end: `civicbot run` with the real Rasa server, an SMS gateway (the
Twilio-style stand-in over real HTTP) and the scheduler sending a campaign's SMS
invitations. Households answer by texting digits to the webhook, signed as the gateway
signs; one texts TD and hears nothing more, while a household that did nothing gets its
reminder."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from civic.campaigns import Design, create_campaign, draw
from storage.models import FrameMember, Invitation, SurveyAnswer
from tests.e2e.conftest import Stack, running_stack
from tests.fakes.botapi import BotApiStandIn
from tests.fakes.sms_gateway import SmsGatewayStandIn

pytestmark = pytest.mark.e2e

OUR_NUMBER = "+8610690000"
ANSWERS, STOPS, SILENT = "+8613911110001", "+8613911110002", "+8613911110003"
MESSAGE = re.compile(r"<Response><Message>(.*)</Message></Response>", re.S)


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsGatewayStandIn]:
    with SmsGatewayStandIn(rate_per_second=None) as server:
        yield server


@pytest.fixture(scope="module")
def sms_stack(
    telegram: BotApiStandIn, sms: SmsGatewayStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("e2e-sms")
    gateway = {
        "SMS_GATEWAY_URL": sms.base_url,
        "SMS_ACCOUNT_SID": sms.account_sid,
        "SMS_AUTH_TOKEN": sms.auth_token,
        "SMS_FROM": OUR_NUMBER,
    }
    database = f"sqlite:///{var_dir / 'civic.db'}"
    with running_stack(telegram, var_dir, database, extra_env=gateway) as running:
        yield running


def text(stack: Stack, sms: SmsGatewayStandIn, phone: str, body: str) -> str:
    """What the household gets back for texting `body` to our number."""
    url = f"{stack.web_url}/sms/inbound"
    form, headers = sms.inbound(url, from_=phone, to=OUR_NUMBER, body=body)
    response = httpx.post(url, data=form, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    found = MESSAGE.search(response.text)
    assert found, response.text
    return found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def wait_for(check: object, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def start_campaign(stack: Stack) -> None:
    """Three registry households, all sampled; the scheduler sends their invitations."""
    now = datetime.now(UTC)
    with stack.writer() as session:
        for i, phone in enumerate((ANSWERS, STOPS, SILENT)):
            session.add(
                FrameMember(
                    kind="household",
                    external_id=f"E2E-SMS-{i}",
                    district="xihu",
                    strata=json.dumps({"age_band": "30-44"}),
                    mobile=phone,
                )
            )
        session.flush()
        campaign = create_campaign(
            session=session,
            name="sms e2e",
            survey_key="annual_satisfaction",
            design=Design(strata=("district",), n=3, channels=("sms",)),
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=10),
            window=("00:00", "24:00"),
        )
        draw(session=session, campaign=campaign, now=now)
        session.commit()


def test_a_survey_answered_by_digits_and_td_honoured(
    sms_stack: Stack, sms: SmsGatewayStandIn
) -> None:
    start_campaign(sms_stack)
    wait_for(lambda: all(sms.messages_to(p) for p in (ANSWERS, STOPS, SILENT)), "invitations")

    first = text(sms_stack, sms, ANSWERS, "1")
    assert "1/5 · 总体来看" in first and first.endswith("4. 不了解\n请回复答案前的数字。")
    assert text(sms_stack, sms, ANSWERS, "9").startswith("请回复 1 到 4 之间的数字。")
    assert text(sms_stack, sms, ANSWERS, "2").startswith("2/5")
    assert text(sms_stack, sms, STOPS, " TD ") == (
        "您已退订，今后不会再收到我们的短信：调查邀请、提醒和进展通知都将停止。"
    )
    with sms_stack.db() as session:
        answers = {a.step: a.value for a in session.scalars(select(SurveyAnswer))}
        stopped = session.scalars(select(FrameMember).where(FrameMember.mobile == STOPS)).one()
    assert answers == {"overall": "basically_satisfied"}
    assert stopped.opted_out_at is not None

    # three days on: the reminders fall due
    with sms_stack.writer() as session:
        for invitation in session.scalars(select(Invitation)):
            invitation.sent_at = datetime.now(UTC) - timedelta(days=3)
        session.commit()
    wait_for(lambda: len(sms.messages_to(SILENT)) == 2, "the silent household's reminder")
    time.sleep(35)  # one more run of the scheduler's job, which would text the others
    assert [len(sms.messages_to(p)) for p in (ANSWERS, STOPS, SILENT)] == [1, 1, 2]
    assert STOPS not in sms_stack.log() and ANSWERS not in sms_stack.log()
