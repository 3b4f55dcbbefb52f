"""Filing for a caller, for real: `civicbot run` with the trained Rasa model and an SMS
gateway (the Twilio-style stand-in over real HTTP). A 12345-hotline operator asks the desk
for the assistant's suggestion, files the caller's complaint, an agency officer accepts it
on the desk, and the notifier texts the update to the caller's mobile number."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from html import unescape

import httpx
import pytest
from sqlalchemy import select

from civic.agencies import create_user
from civic.i18n import t
from storage.models import Ticket
from tests.e2e.conftest import Stack, running_stack
from tests.fakes.botapi import BotApiStandIn
from tests.fakes.sms_gateway import SmsGatewayStandIn
from tests.report_links import without_page_link

pytestmark = pytest.mark.e2e

PASSWORD = "hotline password 2026"
CALLER = "+8613712345678"
DESCRIPTION = "江南大道的路灯坏了，晚上一片漆黑"
CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsGatewayStandIn]:
    with SmsGatewayStandIn() as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def sms_stack(
    telegram: BotApiStandIn, sms: SmsGatewayStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("e2e-hotline")
    gateway = {
        "SMS_GATEWAY_URL": sms.base_url,
        "SMS_ACCOUNT_SID": sms.account_sid,
        "SMS_AUTH_TOKEN": sms.auth_token,
        "SMS_FROM": "+8610690000",
    }
    database = f"sqlite:///{var_dir / 'civic.db'}"
    with running_stack(telegram, var_dir, database, extra_env=gateway) as running:
        yield running


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


def _signed_in(stack: Stack, username: str) -> httpx.Client:
    client = httpx.Client(base_url=stack.web_url, timeout=60)
    form = client.get("/desk/login")
    fields = {"csrf": _csrf(form.text), "username": username, "password": PASSWORD}
    assert client.post("/desk/login", data=fields).status_code == 303
    return client


def _selected(html: str, name: str) -> str:
    found = re.search(rf'<select id="hotline-{name}" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found is not None
    chosen = re.search(r'<option value="([^"]*)" selected>', found.group(1))
    return chosen.group(1) if chosen else ""


def test_an_operator_files_for_a_caller_who_then_gets_the_agencys_update_by_sms(
    sms_stack: Stack, sms: SmsGatewayStandIn
) -> None:
    with sms_stack.writer() as session:
        for username, agency, role in [
            ("zhao", None, "hotline"),
            ("li", "urban-management", "officer"),
        ]:
            create_user(
                session=session,
                username=username,
                password=PASSWORD,
                agency=agency,
                role=role,
                display_name=username.title(),
                known_agencies={"urban-management"},
            )
        session.commit()

    operator = _signed_in(sms_stack, "zhao")
    call = {"description": DESCRIPTION, "place": "滨江区", "phone": "137 1234 5678"}
    call["language"] = "en"
    csrf = _csrf(operator.get("/desk/hotline").text)
    suggested = operator.post("/desk/hotline", data={"csrf": csrf, "do": "suggest", **call})
    assert suggested.status_code == 200
    routing = {name: _selected(suggested.text, name) for name in ("category", "agency", "district")}
    assert routing == {
        "category": "street-light",
        "agency": "urban-management",
        "district": "binjiang",
    }
    filed = operator.post("/desk/hotline", data={"csrf": csrf, "do": "file", **call, **routing})
    assert filed.status_code == 303
    with sms_stack.db() as session:
        ticket = session.scalars(select(Ticket)).one()
        number = ticket.number
    assert filed.headers["location"] == f"/desk/hotline?filed={number}"
    shown = unescape(operator.get(filed.headers["location"]).text)
    # the desk speaks its own language (Chinese by default), whatever the caller's
    assert t("desk.hotline.filed_texted", "zh", phone="+86 137****5678") in shown

    officer = _signed_in(sms_stack, "li")
    page = officer.get(f"/desk/tickets/{number}")
    accepted = officer.post(
        f"/desk/tickets/{number}/accept",
        data={"csrf": _csrf(page.text), "note": "A crew comes tonight."},
    )
    assert accepted.status_code == 303

    deadline = time.monotonic() + 60
    while not sms.messages_to(CALLER) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [without_page_link(m.body, number) for m in sms.messages_to(CALLER)] == [
        f"Update on your report {number}: accepted. A crew comes tonight."
    ]
    assert CALLER not in sms_stack.log() and "13712345678" not in sms_stack.log()
