"""A phone number proven in the web chat, end to end: `civicbot run` with the real Rasa
server and an SMS gateway (the Twilio-style stand-in over real HTTP). A web session
proves nothing and may not join the survey panel; after /verify it may.

The web chat is driven over its HTTP API (`POST /api/chat`) through `web_chat` alone.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from storage.models import ChannelAddress, Citizen, FrameMember
from tests.e2e.conftest import Stack, running_stack
from tests.fakes.botapi import BotApiStandIn
from tests.fakes.sms_gateway import SmsGatewayStandIn
from tests.web_chat import new_session

pytestmark = pytest.mark.e2e

CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsGatewayStandIn]:
    with SmsGatewayStandIn(rate_per_second=None) as server:
        yield server


@pytest.fixture(scope="module")
def sms_stack(
    telegram: BotApiStandIn, sms: SmsGatewayStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The default deployment (SQLite, no Redis) with an SMS gateway configured."""
    var_dir = tmp_path_factory.mktemp("e2e-verify")
    gateway = {
        "SMS_GATEWAY_URL": sms.base_url,
        "SMS_ACCOUNT_SID": sms.account_sid,
        "SMS_AUTH_TOKEN": sms.auth_token,
        "SMS_FROM": "+8610690000",
    }
    database = f"sqlite:///{var_dir / 'civic.db'}"
    with running_stack(telegram, var_dir, database, extra_env=gateway) as running:
        yield running


@pytest.fixture
def web(sms_stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sms_stack.web_url, timeout=60) as client:
        yield client


def new_web_session(web: httpx.Client) -> str:
    """A session the server issues, as the widget gets one."""
    return new_session(web)


def web_chat(
    web: httpx.Client, session: str, *, text: str | None = None, payload: str | None = None
) -> list[dict]:
    """One message from the web chat (typed text or a tapped button), as the widget
    sends it; the assistant's replies."""
    body = {"token": session, "language": "en"}
    body |= {"text": text} if text is not None else {"payload": payload}
    response = web.post("/api/chat", json=body)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def button(messages: list[dict], title: str) -> str:
    for message in messages:
        for b in message["buttons"]:
            if b["title"] == title:
                return str(b["payload"])
    raise AssertionError(f"no button {title!r} in {messages}")


def citizen_of(stack: Stack, session: str) -> Citizen:
    """The citizen behind a web-chat token: its address is the session id inside it
    (ws1.<session id>.<created>.<issued>.<expires>.<MAC>)."""
    session_id = session.split(".")[1]
    with stack.db() as db:
        citizen = db.scalars(
            select(Citizen)
            .join(ChannelAddress)
            .where(ChannelAddress.channel == "web", ChannelAddress.address == session_id)
        ).one()
        db.expunge(citizen)
        return citizen


def test_a_web_citizen_verifies_by_sms_code_and_may_then_join_the_panel(
    sms_stack: Stack, web: httpx.Client, sms: SmsGatewayStandIn
) -> None:
    mobile = f"139{secrets.randbelow(10**8):08d}"
    session = new_web_session(web)

    [refused] = web_chat(web, session, text="/subscribe")
    assert refused["text"].startswith("Only people with a verified mobile number")
    assert "/verify" in refused["text"] and refused["buttons"] == []
    assert citizen_of(sms_stack, session).assurance == "anonymous"

    [ask] = web_chat(web, session, text="/verify")
    assert ask["text"].startswith("To verify your mobile number, type it here")
    [sent] = web_chat(web, session, text=f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}")
    assert sent["text"].startswith(f"We have sent a 6-digit code to +86 {mobile[:3]}****")
    [message] = sms.messages_to(f"+86{mobile}")
    assert "Do not share" in message.body
    code = CODE.search(message.body)
    assert code is not None

    wrong = "000000" if code.group(1) != "000000" else "111111"
    [again] = web_chat(web, session, text=wrong)
    assert again["text"] == "That code is not right. You can try 4 more time(s)."
    [done] = web_chat(web, session, text=code.group(1))
    assert done["text"].startswith("✅ Your phone number is verified.")
    verified = citizen_of(sms_stack, session)
    assert (verified.assurance, verified.phone) == ("verified_phone", f"+86{mobile}")

    # now the panel takes them: district, age band and gender, one tap each
    purpose, districts = web_chat(web, session, text="/subscribe")
    assert "never given to any department" in purpose["text"]
    ages = web_chat(web, session, payload=button([districts], "Binjiang"))
    genders = web_chat(web, session, payload=button(ages, "30-44"))
    [subscribed] = web_chat(web, session, payload=button(genders, "Prefer not to say"))
    assert subscribed["text"].startswith("Subscribed.")
    with sms_stack.db() as db:
        member = db.scalars(select(FrameMember).where(FrameMember.citizen_id == verified.id)).one()
        assert (member.kind, member.district) == ("subscriber", "binjiang")

    # the number and the code stayed with us: Rasa never saw them
    tracker = sms_stack.rasa_tracker_dump()
    assert mobile not in tracker and code.group(1) not in tracker


def test_another_web_session_with_the_same_number_is_not_a_second_member(
    sms_stack: Stack, web: httpx.Client, sms: SmsGatewayStandIn
) -> None:
    mobile = f"137{secrets.randbelow(10**8):08d}"
    sessions = [new_web_session(web), new_web_session(web)]
    for session in sessions:
        web_chat(web, session, text="/verify")
        web_chat(web, session, text=mobile)
        code = CODE.search(sms.messages_to(f"+86{mobile}")[-1].body)
        assert code is not None
        [done] = web_chat(web, session, text=code.group(1))
        assert done["text"].startswith("✅")
    first, second = sessions
    _, districts = web_chat(web, first, text="/subscribe")
    ages = web_chat(web, first, payload=button([districts], "Xihu"))
    genders = web_chat(web, first, payload=button(ages, "45-59"))
    web_chat(web, first, payload=button(genders, "Female"))
    [refused] = web_chat(web, second, text="/subscribe")
    assert refused["text"].startswith("Your mobile number is already in the survey panel")
