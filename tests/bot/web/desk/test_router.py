"""The agency desk's pages over HTTP, on SQLite and PostgreSQL: login, who sees which
ticket, the inbox's filters, CSRF, escaping, the actions and their history, photos."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.web import desk_router
from bot.web._desk.texts import has_text, translator
from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from civic.i18n import t
from civic.routing import RoutingDecision
from civic.tickets import create_ticket
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.media import MAX_PHOTO_BYTES, MediaStore
from storage.models import EventPhoto, Ticket, utcnow

PASSWORD = "correct horse battery"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ROW_NUMBER = re.compile(r'<th scope="row"[^>]*><a href="/desk/tickets/[^"]+">([^<]+)</a>')
CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@dataclass
class Desk:
    app: FastAPI
    sessions: sessionmaker[Session]
    media: MediaStore

    def client(self, lang: str = "en") -> TestClient:
        # Any exception escaping the desk fails the test instead of becoming a 500.
        return TestClient(self.app, headers={"Accept-Language": lang}, raise_server_exceptions=True)

    def login(self, username: str, lang: str = "en") -> TestClient:
        client = self.client(lang)
        response = _login(client, username, PASSWORD)
        assert (response.status_code, response.headers["location"]) == (303, "/desk/")
        return client

    def ticket(self, number: str) -> Ticket:
        with self.sessions() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
            _ = ticket.events
            return ticket

    def file(
        self,
        description: str = "路灯不亮",
        category: str = "street-light",
        agency: str | None = "urban-management",
        district: str | None = "binjiang",
        due_in: timedelta | None = timedelta(hours=72),
        citizen_id: int | None = None,
        contact: str = "chat",
        photo: str | None = None,
        lat: float | None = None,
        long: float | None = None,
    ) -> str:
        with self.sessions.begin() as session:
            ticket = create_ticket(
                session=session,
                citizen_id=citizen_id,
                description=description,
                language="zh",
                decision=RoutingDecision(
                    category=category, agency=agency, district=district, confidence=0.9
                ),
                ticket_prefix="HZ",
                due_at=utcnow() + due_in if due_in is not None else None,
                timezone="Asia/Shanghai",
                contact=contact,
                photo=photo,
                lat=lat,
                long=long,
            )
            return ticket.number or ""


@pytest.fixture
def desk(
    database_url: str, profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    # Argon2's production cost makes every login take a second; the flow is the same.
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    sessions = session_factory(database_url)
    users = [
        ("li", "urban-management", "officer", None),
        ("xihu-li", "urban-management", "officer", ["xihu"]),
        ("wang", "water", "officer", None),
        ("office", None, "staff", None),
    ]
    with sessions.begin() as session:
        for username, agency, role, districts in users:
            create_user(
                session=session,
                username=username,
                password=PASSWORD,
                agency=agency,
                role=role,
                display_name=username.title(),
                known_agencies=set(profile.agencies),
                districts=districts,
            )
    media = MediaStore(tmp_path / "media")
    app = FastAPI()
    app.include_router(desk_router(sessions=sessions, profile=profile, media=media), prefix="/desk")
    yield Desk(app, sessions, media)


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


def _login(client: TestClient, username: str, password: str) -> Response:
    form = client.get("/desk/login")
    fields = {"csrf": _csrf(form.text), "username": username, "password": password}
    return client.post("/desk/login", data=fields, follow_redirects=False)


def _numbers(client: TestClient, query: str = "") -> list[str]:
    response = client.get(f"/desk/?{query}")
    assert response.status_code == 200, response.text
    return ROW_NUMBER.findall(response.text)


def _post(
    client: TestClient,
    number: str,
    action: str,
    files: dict[str, tuple[str, bytes, str]] | None = None,
    **data: str,
) -> Response:
    """Post a ticket's form as the page offers it (with the page's CSRF token)."""
    page = client.get(f"/desk/tickets/{number}")
    fields = {"csrf": _csrf(page.text), **data}
    url = f"/desk/tickets/{number}/{action}"
    return client.post(url, data=fields, files=files, follow_redirects=False)


def _history(desk: Desk, number: str) -> list[tuple[str | None, str, str, str | None, bool]]:
    events = desk.ticket(number).events[2:]  # after 'submitted' and 'routed'
    return [(e.from_status, e.to_status, e.actor, e.note, e.public) for e in events]


def _message(response: Response) -> str:
    found = re.search(r'<p class="error" role="alert"[^>]*>([^<]*)</p>', response.text)
    assert found is not None, response.text
    return found.group(1)


# --- Signing in ---


def test_a_login_sets_a_strict_http_only_session_cookie_for_eight_hours(desk: Desk) -> None:
    client = desk.client()
    response = _login(client, "li", PASSWORD)
    assert (response.status_code, response.headers["location"]) == (303, "/desk/")
    cookie = next(c for c in response.headers.get_list("set-cookie") if "desk_session=" in c)
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/desk", "max-age=28800"} <= attributes
    inbox = client.get("/desk/")
    assert "<h1>Inbox</h1>" in inbox.text
    assert "Li (City Management Bureau)" in inbox.text


@pytest.mark.parametrize(("username", "password"), [("li", "wrong password"), ("nobody", PASSWORD)])
def test_a_wrong_login_gets_the_form_again_and_does_not_say_which_part(
    desk: Desk, username: str, password: str
) -> None:
    client = desk.client()
    response = _login(client, username, password)
    assert response.status_code == 401
    assert _message(response) == "The username or password is not correct."
    assert 'name="password"' in response.text
    assert "desk_session" not in client.cookies
    assert client.get("/desk/", follow_redirects=False).headers["location"] == "/desk/login"


def test_pages_and_actions_need_a_login(desk: Desk) -> None:
    number = desk.file()
    client = desk.client()
    for response in (
        client.get("/desk/", follow_redirects=False),
        client.get(f"/desk/tickets/{number}", follow_redirects=False),
        client.post(f"/desk/tickets/{number}/accept", data={}, follow_redirects=False),
    ):
        assert (response.status_code, response.headers["location"]) == (303, "/desk/login")
    assert desk.ticket(number).status == "routed"


class BodyReads:
    """Wraps an app and counts the body chunks it asks for."""

    def __init__(self, app: Any) -> None:
        self.app, self.reads = app, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            self.reads += message["type"] == "http.request"
            return message

        await self.app(scope, counted, send)


def test_without_a_login_an_upload_is_refused_before_its_body_is_read(desk: Desk) -> None:
    number = desk.file()
    counting = BodyReads(desk.app)
    client = TestClient(counting, raise_server_exceptions=True)
    photo = {"photo": ("fixed.png", PNG + b"\x00" * (5 << 20), "image/png")}
    for url in (
        f"/desk/tickets/{number}/rectify",
        f"/desk/tickets/{number}/accept",
        "/desk/handoffs/1/reply",
        "/desk/logout",
    ):
        response = client.post(url, data={"note": "x"}, files=photo, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/desk/login"), url
    assert counting.reads == 0
    # signed in, the same upload is read (and refused for its missing CSRF token)
    client.cookies.update(desk.login("li").cookies)
    response = client.post(f"/desk/tickets/{number}/rectify", files=photo)
    assert (response.status_code, counting.reads > 0) == (403, True)
    assert desk.ticket(number).status == "routed"


def test_signing_out_ends_the_session(desk: Desk) -> None:
    client = desk.login("li")
    token = client.cookies["desk_session"]
    page = client.get("/desk/")
    response = client.post("/desk/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False)
    assert response.headers["location"] == "/desk/login"
    assert "You are signed out." in client.get("/desk/login").text
    client.cookies.set("desk_session", token, path="/desk")
    assert client.get("/desk/", follow_redirects=False).headers["location"] == "/desk/login"


# --- Who sees what ---


def test_an_officer_sees_only_their_agency_and_districts(desk: Desk) -> None:
    binjiang = desk.file(district="binjiang")
    xihu = desk.file(district="xihu")
    water = desk.file(category="water-outage", agency="water")
    assert _numbers(desk.login("li")) == [binjiang, xihu]
    assert _numbers(desk.login("xihu-li")) == [xihu]
    assert _numbers(desk.login("wang")) == [water]


def test_another_agencys_ticket_is_not_found_and_cannot_be_acted_on(desk: Desk) -> None:
    number = desk.file()
    own = desk.login("li")
    csrf = _csrf(own.get("/desk/").text)
    for client in (desk.login("wang"), desk.login("xihu-li")):
        page = client.get(f"/desk/tickets/{number}")
        assert page.status_code == 404
        assert _message(page) == "There is no such ticket, or you may not see it."
        missing = client.get("/desk/tickets/HZ-2026-999999")
        assert (missing.status_code, _message(missing)) == (404, _message(page))
        fields = {"csrf": _csrf(client.get("/desk/").text), "note": "mine now", "reason": "x"}
        for action in ("accept", "progress", "rectify", "reroute"):
            response = client.post(f"/desk/tickets/{number}/{action}", data=fields)
            assert response.status_code == 404, action
    assert csrf != _csrf(desk.login("li").get("/desk/").text), "each session has its own token"
    assert (desk.ticket(number).status, len(desk.ticket(number).events)) == ("routed", 2)


def test_staff_see_every_ticket_and_the_triage_queue(desk: Desk) -> None:
    light = desk.file(due_in=timedelta(hours=10))
    water = desk.file(category="water-outage", agency="water", due_in=timedelta(hours=20))
    unsure = desk.file(category="other", agency=None, district=None, due_in=timedelta(hours=30))
    client = desk.login("office")
    assert _numbers(client) == [light, water, unsure]
    triage = client.get("/desk/?queue=triage")
    assert "<h1>Triage queue</h1>" in triage.text
    assert ROW_NUMBER.findall(triage.text) == [unsure]
    assert "Waiting for triage by the evaluation office" in triage.text


# --- The inbox's filters ---


def test_the_inbox_filters_by_status_category_district_and_deadline(desk: Desk) -> None:
    late = desk.file(due_in=timedelta(hours=-3))
    soon = desk.file(district="xihu", due_in=timedelta(hours=5))
    cleaning = desk.file(category="street-cleaning", due_in=timedelta(hours=30))
    client = desk.login("li")
    _post(client, soon, "accept")
    assert _numbers(client, "status=accepted") == [soon]
    assert _numbers(client, "status=routed") == [late, cleaning]
    assert _numbers(client, "category=street-cleaning") == [cleaning]
    assert _numbers(client, "district=xihu") == [soon]
    assert _numbers(client, "overdue=yes") == [late]
    assert _numbers(client, "overdue=no&district=binjiang") == [cleaning]
    assert _numbers(client, "status=&category=&district=&overdue=") == [late, soon, cleaning]


def test_the_deadline_counts_down_and_overdue_rows_say_so_in_words(desk: Desk) -> None:
    desk.file(due_in=timedelta(hours=5, minutes=30))
    desk.file(due_in=timedelta(hours=-2, minutes=-30))
    html = desk.login("li").get("/desk/").text
    body = html[html.index("<tbody") :]
    row = r'<tr role="row"( class="overdue")?>(?:(?!</tr>).)*<td [^>]*class="sla"[^>]*>(.*?)</td>'
    rows = re.findall(row, body, re.S)
    assert [
        (bool(marked), " ".join(re.sub(r"<[^>]+>", "", cell).split())) for marked, cell in rows
    ] == [
        (True, "⚠ overdue by 2 h"),
        (False, "due in 5 h"),
    ]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("status=lost", "there is no status 'lost'"),
        ("category=unicorns", "there is no category 'unicorns'"),
        ("district=atlantis", "there is no district 'atlantis'"),
        ("overdue=maybe", "the deadline filter is 'yes' or 'no', not 'maybe'"),
        ("page=0", "the page must be a whole number from 1 to 1000, not '0'"),
        ("page=x", "the page must be a whole number from 1 to 1000, not 'x'"),
        ("queue=mine", "there is no view 'mine'"),
        ("queue=triage", "the triage queue is for the evaluation office's staff"),
        ("status=%3Cb%3E", "there is no status '&lt;b&gt;'"),
    ],
)
def test_a_bad_filter_value_gets_a_400_page_that_says_which(
    desk: Desk, query: str, reason: str
) -> None:
    response = desk.login("li").get(f"/desk/?{query}")
    assert response.status_code == 400
    assert _message(response).replace("&#39;", "'") == f"The filter is not valid: {reason}"


# --- Forms: CSRF, escaping ---


def test_a_post_without_the_right_csrf_token_is_refused(desk: Desk) -> None:
    number = desk.file()
    client = desk.login("li")
    url = f"/desk/tickets/{number}/accept"
    for fields in (
        {},
        {"csrf": ""},
        {"csrf": "forged"},
        {"csrf": _csrf(desk.login("wang").get("/desk/").text)},
    ):
        response = client.post(url, data=fields)
        assert response.status_code == 403
        assert _message(response) == (
            "This form has expired or is incomplete; please go back, reload the page and try again."
        )
    assert client.post("/desk/logout", data={}).status_code == 403
    assert (
        desk.client().post("/desk/login", data={"username": "li", "password": PASSWORD}).status_code
        == 403
    )
    assert desk.ticket(number).status == "routed"
    assert client.get("/desk/").status_code == 200, "still signed in"


def test_a_citizens_markup_is_shown_as_text(desk: Desk) -> None:
    number = desk.file(description="<script>alert(1)</script> & <b>bold</b>")
    html = desk.login("li").get(f"/desk/tickets/{number}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script" not in html and "<b>" not in html


def test_pages_forbid_scripts_and_framing(desk: Desk) -> None:
    response = desk.login("li").get("/desk/")
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "script-src" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


# --- The actions ---


def test_accept_progress_and_rectify_make_the_history(desk: Desk) -> None:
    number = desk.file()
    client = desk.login("li")
    response = _post(client, number, "accept", note="")
    assert (response.status_code, response.headers["location"]) == (303, f"/desk/tickets/{number}")
    assert (
        '<p class="flash" role="status">The ticket is accepted.</p>'
        in client.get(response.headers["location"]).text
    )
    _post(client, number, "progress", note="crew on the way", public="yes")
    _post(client, number, "progress", note="bulbs ordered")
    photo = {"photo": ("after.png", PNG, "image/png")}
    response = _post(client, number, "rectify", files=photo, note="lamps replaced")
    assert response.status_code == 303
    assert _history(desk, number) == [
        ("routed", "accepted", "user:li", None, True),
        ("accepted", "in_progress", "user:li", "crew on the way", True),
        ("in_progress", "in_progress", "user:li", "bulbs ordered", False),
        ("in_progress", "rectified", "user:li", "lamps replaced", True),
    ]
    page = client.get(f"/desk/tickets/{number}").text
    assert "The rectification is reported." in page
    timeline = page[page.index('id="timeline"') :]
    assert [re.sub(r"\s+", " ", m) for m in re.findall(r'class="change">([^<]*)<', timeline)] == [
        "Filed: Submitted",
        "Submitted → Routed",
        "Routed → Accepted",
        "Accepted → In progress",
        "In progress → In progress",
        "In progress → Rectified",
    ]
    assert re.findall(r'class="visibility">([^<]*)<', timeline).count("Internal") == 1
    with desk.sessions() as session:
        stored = session.scalars(select(EventPhoto.photo)).one()
    assert desk.media.path_of(stored) is not None
    assert f'src="/desk/media/{stored}"' in page
    served = client.get(f"/desk/media/{stored}")
    assert (served.status_code, served.headers["content-type"], served.content) == (
        200,
        "image/png",
        PNG,
    )
    assert desk.login("wang").get(f"/desk/media/{stored}").status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a not one of ours", "The photo must be a JPEG, PNG or WebP image."),
        (PNG + b"\x00" * MAX_PHOTO_BYTES, "The photo may be at most 10 MB."),
    ],
)
def test_a_rectification_photo_must_be_a_small_enough_image(
    desk: Desk, data: bytes, message: str
) -> None:
    number = desk.file()
    client = desk.login("li")
    _post(client, number, "accept")
    files = {"photo": ("fixed.png", data, "image/png")}
    response = _post(client, number, "rectify", files=files, note="lamps replaced")
    assert (response.status_code, _message(response)) == (400, message)
    assert ">lamps replaced</textarea>" in response.text
    assert desk.ticket(number).status == "accepted"
    assert not desk.media.directory.exists() or not any(desk.media.directory.iterdir())


def test_a_refused_action_shows_the_page_again_with_the_reason(desk: Desk) -> None:
    number = desk.file()
    client = desk.login("li")
    response = _post(client, number, "rectify", note="done already")
    assert response.status_code == 400
    assert _message(response).replace("&#39;", "'") == (
        "That could not be done: a ticket cannot go from 'routed' to 'rectified'"
    )
    response = _post(client, number, "reroute", to="urban-management", reason="ours after all")
    assert (response.status_code, _message(response).replace("&#39;", "'")) == (
        400,
        "That could not be done: the ticket is already with 'urban-management'",
    )
    assert ">ours after all</textarea>" in response.text
    _post(client, number, "accept")
    _post(client, number, "progress", public="yes")
    response = _post(client, number, "progress", note="  ", public="yes")
    assert (response.status_code, _message(response)) == (
        400,
        "That could not be done: a progress note is required",
    )


def test_an_officer_sends_a_ticket_back_and_staff_route_it(desk: Desk) -> None:
    number = desk.file()
    officer, staff = desk.login("li"), desk.login("office")
    assert _post(officer, number, "reroute", to="", reason="").status_code == 400
    assert _post(officer, number, "reroute", to="", reason="not a street light").status_code == 303
    assert officer.get(f"/desk/tickets/{number}").status_code == 404
    assert ROW_NUMBER.findall(staff.get("/desk/?queue=triage").text) == [number]
    page = staff.get(f"/desk/tickets/{number}").text
    assert '<h3 id="reroute-title">Route to an agency</h3>' in page
    assert _post(staff, number, "reroute", to="water", reason="a burst pipe").status_code == 303
    ticket = desk.ticket(number)
    assert (ticket.agency, ticket.status) == ("water", "routed")
    assert _numbers(desk.login("wang")) == [number]


# --- Personal data, photos, language ---


def test_the_citizens_contact_details_are_never_shown(desk: Desk) -> None:
    with desk.sessions.begin() as session:
        citizen = get_or_create_citizen(session=session, channel="telegram", address="777000123")
        citizen.phone = "+8613987654321"
        citizen_id = citizen.id
    number = desk.file(citizen_id=citizen_id, contact="phone", lat=30.2741, long=120.1551)
    page = desk.login("li").get(f"/desk/tickets/{number}").text
    assert "777000123" not in page and "13987654321" not in page
    assert "<dd>Phone on file</dd>" in page
    assert "30.274100, 120.155100" in page
    assert 'href="https://www.openstreetmap.org/?mlat=30.274100&amp;mlon=120.155100"' in page
    assert not re.search(r'(src|href)="https?://(?!www\.openstreetmap\.org/\?)', page)


def test_photos_are_served_only_for_tickets_the_viewer_may_see(desk: Desk) -> None:
    name = desk.media.save(PNG)
    stray = desk.media.save(PNG)
    assert name and stray
    number = desk.file(photo=name)
    officer = desk.login("li")
    assert (
        f'<img class="photo" src="/desk/media/{name}"'
        in officer.get(f"/desk/tickets/{number}").text
    )
    assert officer.get(f"/desk/media/{name}").status_code == 200
    for client, path in [
        (desk.client(), name),
        (desk.login("wang"), name),
        (officer, stray),
        (officer, "..%2F..%2Fetc%2Fpasswd"),
        (officer, ".hidden.png"),
    ]:
        assert client.get(f"/desk/media/{path}").status_code == 404, path


def test_the_language_switch_is_remembered(desk: Desk) -> None:
    client = desk.login("li")
    chinese = client.get("/desk/?lang=zh")
    assert '<html lang="zh-CN">' in chinese.text and "<h1>工单列表</h1>" in chinese.text
    assert client.cookies["desk_lang"] == "zh"
    assert "<h1>工单列表</h1>" in client.get("/desk/").text
    assert "<h1>Inbox</h1>" in client.get("/desk/?lang=en").text
    assert "<h1>Inbox</h1>" in client.get("/desk/").text
    assert "<h1>工单列表</h1>" in desk.login("li", lang="zh-CN").get("/desk/").text


def test_the_desk_reads_its_texts_from_the_one_catalogue() -> None:
    assert translator("en")("nav.user", name="Li", agency="Water") == "Li (Water)"
    assert translator("zh")("nav.user", name="李", agency="水务") == "李（水务）"
    assert translator("en")("app.title") == t("desk.app.title", "en") == "Agency desk"
    assert has_text("flash.accepted") and not has_text("flash.unheard_of")
    assert not has_text("desk.flash.accepted") and not has_text("errors.internal")


def test_the_templates_take_every_text_from_the_catalogue() -> None:
    templates = Path(__file__).resolve().parents[4] / "bot" / "web" / "templates" / "desk"
    used = set()
    for template in templates.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\('([a-z_.]+)'", text))
        bare = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}|<[^>]+>", "", text, flags=re.S)
        words = {w for w in re.findall(r"[A-Za-z]{3,}|[\u4e00-\u9fff]+", bare)}
        assert words <= {"English", "中文"}, f"{template.name} has hard-coded text: {words}"
    assert used and {key for key in used if not has_text(key)} == set()
