"""Filing for a caller on the desk, over HTTP on SQLite and PostgreSQL, with Rasa's
`/model/parse` answered by the Rasa stand-in and SMS sent to the SMS gateway stand-in:
the suggestion is filled in, the operator corrects it and files, the agency's update
reaches the caller by SMS; bad input gets the form back with what was typed; only the
hotline's operators and the office's staff may use the page."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery import SmsGateway
from bot.notifier import Notifier, NotifierOptions
from bot.web import desk_router, feedback_router, hotline_router
from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from civic.settings import get_settings
from storage.db import session_factory
from storage.media import MediaStore
from storage.models import AgencyUser, ChannelAddress, Ticket
from tests.bot.web.desk.test_router import PASSWORD, _csrf, _login
from tests.fakes.rasa import FakeRasa, complaint_parse
from tests.fakes.sms_gateway import SmsGatewayStandIn
from tests.report_links import without_page_link

DESCRIPTION = "江南大道上的路灯一到晚上就不亮，已经一个星期了"
PLACE = "江南大道 88 号"
PHONE, E164 = "138 1234 5678", "+8613812345678"
RANKING = [("street-light", 0.81), ("road-damage", 0.09), ("water-outage", 0.05)]
CALL = {"description": DESCRIPTION, "place": PLACE, "phone": PHONE, "language": "en"}
TAGS = re.compile(r"<[^>]+>")


@dataclass
class Desk:
    app: FastAPI
    sessions: sessionmaker[Session]
    rasa: FakeRasa

    def login(self, username: str) -> TestClient:
        client = TestClient(
            self.app, headers={"Accept-Language": "en"}, raise_server_exceptions=True
        )
        assert _login(client, username, PASSWORD).status_code == 303
        return client

    def tickets(self) -> list[Ticket]:
        with self.sessions() as session:
            return list(session.scalars(select(Ticket).order_by(Ticket.id)))

    def user_id(self, username: str) -> int:
        with self.sessions() as session:
            return session.scalars(
                select(AgencyUser.id).where(AgencyUser.username == username)
            ).one()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _app(
    sessions: sessionmaker[Session], profile: Profile, rasa_url: str, media: MediaStore
) -> FastAPI:
    app = FastAPI()
    app.include_router(
        hotline_router(sessions=sessions, profile=profile, rasa_url=rasa_url), prefix="/desk"
    )
    app.include_router(feedback_router(sessions=sessions, profile=profile), prefix="/desk")
    app.include_router(desk_router(sessions=sessions, profile=profile, media=media), prefix="/desk")
    return app


@pytest.fixture
def desk(
    database_url: str, profile: Profile, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        for username, agency, role in [
            ("zhao", None, "hotline"),
            ("office", None, "staff"),
            ("li", "construction", "officer"),
            ("wu", "construction", "coordinator"),
        ]:
            create_user(
                session=session,
                username=username,
                password=PASSWORD,
                agency=agency,
                role=role,
                display_name=username.title(),
                known_agencies=set(profile.agencies),
            )
    media = MediaStore(tmp_path / "media")  # type: ignore[operator]
    with FakeRasa.running() as rasa:
        rasa.parses[DESCRIPTION] = complaint_parse(DESCRIPTION, RANKING)
        yield Desk(_app(sessions, profile, rasa.url, media), sessions, rasa)


def _post(
    client: TestClient, action: str, fields: dict[str, str], csrf: str | None = None
) -> Response:
    token = csrf if csrf is not None else _csrf(client.get("/desk/hotline").text)
    data = {"csrf": token, "do": action, **fields}
    return client.post("/desk/hotline", data=data, follow_redirects=False)


def _selected(html: str, name: str) -> str:
    """The value chosen in the form's select `name` ("" for the empty choice)."""
    found = re.search(rf'<select id="hotline-{name}" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found is not None, f"the form has no {name}"
    chosen = re.search(r'<option value="([^"]*)" selected>', found.group(1))
    return chosen.group(1) if chosen else ""


def _field(html: str, name: str) -> str:
    if name == "description":
        found = re.search(r'<textarea id="hotline-description"[^>]*>(.*?)</textarea>', html, re.S)
    else:
        found = re.search(rf'<input id="hotline-{name}" name="{name}"[^>]*value="([^"]*)"', html)
    assert found is not None, f"the form has no {name}"
    return unescape(found.group(1))


def _text(page: str) -> str:
    return unescape(" ".join(TAGS.sub(" ", page).split()))


def test_the_suggestion_is_filled_in_then_the_operator_corrects_it_and_files(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    operator = desk.login("zhao")

    suggested = _post(operator, "suggest", CALL)

    assert suggested.status_code == 200
    html = suggested.text
    assert desk.rasa.bodies == [{"text": DESCRIPTION}]
    assert [_selected(html, n) for n in ("category", "agency", "district", "language")] == [
        "street-light",
        "urban-management",
        "binjiang",
        "en",
    ]
    assert [_field(html, n) for n in ("description", "place", "phone")] == [
        DESCRIPTION,
        PLACE,
        PHONE,
    ]
    page = _text(html)
    assert "Suggestion filled in. Please check it with the caller." in page
    assert "Road damage (Urban-Rural Construction Commission), 9%" in page
    assert "Water outage (Water Affairs Bureau), 5%" in page

    # the caller says it is the construction site's lights: the operator sends it there
    routing = {"category": "street-light", "agency": "construction", "district": "binjiang"}
    filed = _post(operator, "file", CALL | routing | {"confidence": "0.8100"})

    [ticket] = desk.tickets()
    assert (filed.status_code, filed.headers["location"]) == (
        303,
        f"/desk/hotline?filed={ticket.number}",
    )
    assert (ticket.agency, ticket.category, ticket.district, ticket.status) == (
        "construction",
        "street-light",
        "binjiang",
        "routed",
    )
    assert (ticket.filed_by_user_id, ticket.routed_by, ticket.confidence) == (
        desk.user_id("zhao"),
        "hotline",
        0.81,
    )
    with desk.sessions() as session:
        [address] = session.scalars(
            select(ChannelAddress).where(ChannelAddress.citizen_id == ticket.citizen_id)
        )
        assert (address.channel, address.address) == ("sms", E164)
    shown = _text(operator.get(filed.headers["location"]).text)
    assert "The ticket is filed. The caller will get its updates by SMS." in shown
    assert f"Filed as {ticket.number}" in shown
    assert "Sent to: Urban-Rural Construction Commission" in shown
    assert "Updates go by SMS to +86 138****5678." in shown
    assert "12345678" not in shown
    # the operator follows it in their inbox, where only it is listed, and cannot work it
    inbox = operator.get("/desk/")
    assert ticket.number in inbox.text and inbox.status_code == 200
    page = operator.get(f"/desk/tickets/{ticket.number}").text
    assert "zhao" in _text(page)  # the timeline names who filed it
    assert f'action="/desk/tickets/{ticket.number}/' not in page  # no forms to work it
    refused = operator.post(
        f"/desk/tickets/{ticket.number}/accept",
        data={"csrf": _csrf(page)},
        follow_redirects=False,
    )
    assert refused.status_code == 404
    logged = caplog.text
    assert E164 not in logged and "13812345678" not in logged and DESCRIPTION not in logged


async def test_the_agencys_update_reaches_the_caller_by_sms(desk: Desk) -> None:
    operator = desk.login("zhao")
    routing = {"category": "street-light", "agency": "construction", "district": "binjiang"}
    assert _post(operator, "file", CALL | routing).status_code == 303
    [ticket] = desk.tickets()
    officer = desk.login("li")
    page = officer.get(f"/desk/tickets/{ticket.number}")
    accepted = officer.post(
        f"/desk/tickets/{ticket.number}/accept",
        data={"csrf": _csrf(page.text), "note": "A crew comes tonight."},
        follow_redirects=False,
    )
    assert accepted.status_code == 303

    with SmsGatewayStandIn() as sms:
        gateway = SmsGateway(
            base_url=sms.base_url,
            account_sid=sms.account_sid,
            auth_token=sms.auth_token,
            sender="+8657112345",
        )
        async with gateway:
            notifier = Notifier(
                sessions=desk.sessions,
                settings=get_settings(),
                bot=None,
                options=NotifierOptions(),
                sms=gateway,
            )
            report = await notifier.deliver_due()
        texts = [m.body for m in sms.messages_to(E164)]

    assert (report.claimed, report.sent) == (1, 1)
    assert [without_page_link(x, ticket.number) for x in texts] == [
        f"Update on your report {ticket.number}: accepted. A crew comes tonight."
    ]


def test_without_rasa_the_operator_chooses_by_hand(
    database_url: str, profile: Profile, desk: Desk, tmp_path: object
) -> None:
    down = f"http://127.0.0.1:{_closed_port()}"
    media = MediaStore(tmp_path / "media2")  # type: ignore[operator]
    desk.app = _app(desk.sessions, profile, down, media)
    operator = desk.login("zhao")

    answer = _post(operator, "suggest", CALL)

    assert answer.status_code == 200
    assert "The assistant cannot be reached just now" in _text(answer.text)
    assert [_selected(answer.text, n) for n in ("category", "agency", "district")] == [
        "",
        "",
        "binjiang",
    ]
    assert _field(answer.text, "description") == DESCRIPTION
    routing = {"category": "street-light", "agency": "urban-management", "district": "binjiang"}
    assert _post(operator, "file", CALL | routing).status_code == 303
    assert [t.agency for t in desk.tickets()] == ["urban-management"]


ROUTING = {"category": "street-light", "agency": "urban-management", "district": "binjiang"}


@pytest.mark.parametrize(
    ("action", "changes", "message"),
    [
        ("file", {"description": ""}, "Type what the caller says."),
        ("suggest", {"description": "  "}, "Type what the caller says."),
        ("file", {"category": "ufo"}, "Choose one of the categories."),
        ("file", {"category": ""}, "Choose one of the categories."),
        ("file", {"agency": "ministry-of-magic"}, "Choose one of the agencies, or none."),
        ("file", {"district": "atlantis"}, "Choose one of the districts, or 'not known'."),
        ("file", {"phone": "555-0199"}, "This is not a mobile number"),
        ("file", {"language": "fr"}, "Choose Chinese or English for the caller's updates."),
        ("file", {"description": "x" * 4001}, "This is too long."),
    ],
)
def test_bad_input_gets_the_form_back_with_what_was_typed(
    desk: Desk, action: str, changes: dict[str, str], message: str
) -> None:
    operator = desk.login("zhao")
    answer = _post(operator, action, CALL | ROUTING | changes)
    assert answer.status_code == 400
    page = _text(answer.text)
    assert message in page
    if action == "file":
        assert "The ticket is not filed yet: please correct what is marked below." in page
    kept = CALL | ROUTING | changes
    assert _field(answer.text, "place") == kept["place"]
    assert _field(answer.text, "phone") == kept["phone"]
    if "category" not in changes:
        assert _selected(answer.text, "category") == "street-light"
    assert desk.tickets() == []


def test_no_phone_no_updates_and_the_page_says_so(desk: Desk) -> None:
    operator = desk.login("office")
    filed = _post(operator, "file", CALL | ROUTING | {"phone": ""})
    shown = _text(operator.get(filed.headers["location"]).text)
    assert "No phone number was given, so the caller gets no updates." in shown
    assert "No phone number was given: the caller gets no updates." in shown
    [ticket] = desk.tickets()
    assert (ticket.citizen_id, ticket.filed_by_user_id) == (None, desk.user_id("office"))


def test_a_form_without_its_csrf_token_is_refused(desk: Desk) -> None:
    operator = desk.login("zhao")
    for token in ("", "forged"):
        answer = _post(operator, "file", CALL | ROUTING, csrf=token)
        assert answer.status_code == 403
    assert desk.tickets() == []


def test_an_unknown_button_is_answered_not_obeyed(desk: Desk) -> None:
    answer = _post(desk.login("zhao"), "delete-everything", CALL | ROUTING)
    assert answer.status_code == 400
    assert "Use one of the form's buttons." in _text(answer.text)
    assert desk.tickets() == []


def test_agency_users_without_the_role_cannot_open_it(desk: Desk) -> None:
    for username in ("li", "wu"):
        client = desk.login(username)
        page = client.get("/desk/hotline")
        assert page.status_code == 403
        assert "Filing for callers is for the 12345 hotline" in _text(page.text)
        assert 'href="/desk/hotline"' not in client.get("/desk/").text
        csrf = _csrf(client.get("/desk/").text)
        assert _post(client, "file", CALL | ROUTING, csrf=csrf).status_code == 403
    assert desk.tickets() == []
    anonymous = TestClient(desk.app)
    assert anonymous.get("/desk/hotline", follow_redirects=False).status_code == 303
    assert anonymous.post("/desk/hotline", data=CALL, follow_redirects=False).status_code == 303


def test_the_hotline_sees_no_citizens_suggestions_nor_the_office_pages(desk: Desk) -> None:
    operator = desk.login("zhao")
    home = operator.get("/desk/")
    assert 'href="/desk/hotline"' in home.text
    assert "12345 hotline" in _text(home.text)
    assert 'href="/desk/handoffs"' not in home.text
    assert operator.get("/desk/handoffs").status_code == 403
    assert desk.login("office").get("/desk/hotline").status_code == 200
