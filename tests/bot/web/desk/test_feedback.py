"""Suggestions and praise on the desk, over HTTP on SQLite and PostgreSQL: an agency reads
only its own, the evaluation office reads all and routes what named no agency, reading
marks need the form's CSRF token, the menu counts what is unread, and the evaluation page
counts praise at the counted levels apart from all of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker

from bot.web import desk_router, evaluation_router, feedback_router
from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from civic.feedback import record_feedback
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.media import MediaStore
from storage.models import Feedback
from tests.bot.web.desk.test_router import PASSWORD, _csrf, _login

# (kind, agency, district, assurance, text): personal free text, some of it markup
FEEDBACK = [
    ("suggestion", "urban-management", "xihu", "verified_phone", "西湖边多放几个垃圾桶"),
    ("suggestion", "urban-management", "binjiang", "account", "<b>Plant</b> more trees"),
    ("suggestion", "water", None, "anonymous", "水费账单写清楚些"),
    ("suggestion", None, "shangcheng", "anonymous", "市民中心开放时间延长到晚上八点"),
    ("praise", "urban-management", "xihu", "verified_phone", "城管队员清理得很干净"),
    ("praise", "urban-management", None, "anonymous", "城管辛苦了"),
    ("praise", "urban-management", None, "anonymous", "城管很负责"),
    ("praise", "water", None, "invited", "水务抢修很快"),
]
TAGS = re.compile(r"<[^>]+>")


@dataclass
class Desk:
    app: FastAPI
    sessions: sessionmaker[Session]

    def login(self, username: str, lang: str = "en") -> TestClient:
        client = TestClient(self.app, headers={"Accept-Language": lang})
        assert _login(client, username, PASSWORD).status_code == 303
        return client

    def id_of(self, text: str) -> int:
        with self.sessions() as session:
            return session.query(Feedback).filter(Feedback.text == text).one().id

    def feedback(self, text: str) -> Feedback:
        with self.sessions() as session:
            return session.query(Feedback).filter(Feedback.text == text).one()


@pytest.fixture
def desk(
    database_url: str, profile: Profile, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        for username, agency in [
            ("office", None),
            ("li", "urban-management"),
            ("wang", "water"),
            ("zhou", "transport"),
        ]:
            create_user(
                session=session,
                username=username,
                password=PASSWORD,
                agency=agency,
                role="staff" if agency is None else "officer",
                display_name=username.title(),
                known_agencies=set(profile.agencies),
            )
        for i, (kind, agency, district, level, text) in enumerate(FEEDBACK):
            citizen = get_or_create_citizen(session=session, channel="telegram", address=str(i))
            citizen.assurance = level
            record_feedback(
                session=session,
                kind=kind,
                citizen=citizen,
                text=text,
                language="en" if text.isascii() else "zh",
                agency=agency,
                district=district,
            )
    app = FastAPI()
    app.include_router(evaluation_router(sessions=sessions, profile=profile), prefix="/desk")
    app.include_router(feedback_router(sessions=sessions, profile=profile), prefix="/desk")
    media = MediaStore(tmp_path / "media")  # type: ignore[operator]
    app.include_router(desk_router(sessions=sessions, profile=profile, media=media), prefix="/desk")
    yield Desk(app, sessions)


def _rows(html: str) -> list[str]:
    """The table's body rows as the reader sees them, tags removed."""
    body = html.split("<tbody", 1)[1] if "<tbody" in html else ""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    return [" ".join(TAGS.sub(" ", row).split()) for row in rows]


def _nav(html: str) -> str:
    found = re.search(r'<a href="/desk/suggestions">(.*?)</a>', html, re.DOTALL)
    assert found is not None, "the menu has no link to the suggestions"
    return " ".join(TAGS.sub(" ", found.group(1)).split())


def _post(client: TestClient, url: str, **data: str) -> Response:
    page = client.get("/desk/suggestions")
    return client.post(url, data={"csrf": _csrf(page.text), **data}, follow_redirects=False)


def test_an_agency_reads_only_its_own_suggestions(desk: Desk) -> None:
    li = desk.login("li").get("/desk/suggestions")
    assert li.status_code == 200
    rows = _rows(li.text)
    assert len(rows) == 2
    assert "&lt;b&gt;Plant&lt;/b&gt; more trees" in rows[0]  # newest first, escaped as text
    assert rows[0].startswith("20") and "Binjiang" in rows[0] and "Not read yet" in rows[0]
    assert "西湖边多放几个垃圾桶" in rows[1] and "Xihu" in rows[1]
    assert "<b>Plant</b>" not in li.text
    for others in ("水费账单写清楚些", "市民中心开放时间延长到晚上八点"):
        assert others not in li.text
    assert "/route" not in li.text and 'name="agency"' not in li.text  # the office's
    assert "Deadline" not in li.text and "due in" not in li.text  # suggestions have none
    wang = desk.login("wang").get("/desk/suggestions")
    only_water = _rows(wang.text)
    assert len(only_water) == 1 and "水费账单写清楚些" in only_water[0]
    assert "西湖边" not in wang.text and "Plant" not in wang.text
    # another agency's, by number: no page, no mark, no route
    wang_client = desk.login("wang")
    theirs = desk.id_of("西湖边多放几个垃圾桶")
    assert _post(wang_client, f"/desk/suggestions/{theirs}/read").status_code == 404
    assert desk.feedback("西湖边多放几个垃圾桶").read_at is None
    empty = desk.login("zhou").get("/desk/suggestions")
    assert "No suggestions match." in empty.text


def test_an_agency_reads_only_its_own_praise(desk: Desk) -> None:
    li = desk.login("li").get("/desk/praise")
    rows = _rows(li.text)
    assert all(re.match(r"20\d\d-\d\d-\d\d \d\d:\d\d ", r) for r in rows), rows
    assert [r.split(" ", 2)[2] for r in rows] == [  # after the date and time, newest first
        "— Anonymous web chat (not counted) 城管很负责",
        "— Anonymous web chat (not counted) 城管辛苦了",
        "Xihu Verified phone 城管队员清理得很干净",
    ]
    assert "水务抢修很快" not in li.text
    wang = desk.login("wang").get("/desk/praise")
    assert len(_rows(wang.text)) == 1 and "水务抢修很快" in wang.text and "城管" not in wang.text


def test_the_office_reads_all_and_routes_an_unrouted_suggestion(desk: Desk) -> None:
    office = desk.login("office")
    page = office.get("/desk/suggestions")
    rows = _rows(page.text)
    assert len(rows) == 4
    unrouted = next(r for r in rows if "市民中心开放时间延长到晚上八点" in r)
    assert "Not yet routed" in unrouted and "Shangcheng" in unrouted
    assert "Mark as read" in unrouted  # the unrouted ones are the office's to read
    assert "Mark as read" not in next(r for r in rows if "水费账单写清楚些" in r)
    assert _nav(page.text) == "Suggestions 1 unread"
    only = _rows(office.get("/desk/suggestions?agency=none").text)
    assert len(only) == 1 and "晚上八点" in only[0]
    praise = _rows(office.get("/desk/praise").text)
    assert len(praise) == 4 and "Water Affairs Bureau — Invited household 水务抢修很快" in praise[0]

    number = desk.id_of("市民中心开放时间延长到晚上八点")
    routed = _post(office, f"/desk/suggestions/{number}/route", agency="transport", back="")
    assert (routed.status_code, routed.headers["location"]) == (303, "/desk/suggestions")
    after = office.get("/desk/suggestions")
    assert "The suggestion is sent to the agency chosen." in after.text
    row = next(r for r in _rows(after.text) if "晚上八点" in r)
    assert "Transport Bureau" in row and "Not yet routed" not in row
    assert _nav(after.text) == "Suggestions"  # nothing left for the office
    zhou = desk.login("zhou").get("/desk/suggestions")
    assert "市民中心开放时间延长到晚上八点" in zhou.text
    assert _nav(zhou.text) == "Suggestions 1 unread"


def test_routing_is_refused_clearly(desk: Desk) -> None:
    office = desk.login("office")
    number = desk.id_of("市民中心开放时间延长到晚上八点")
    url = f"/desk/suggestions/{number}/route"
    unknown = _post(office, url, agency="police-academy")
    assert unknown.status_code == 400
    assert "There is no agency &#39;police-academy&#39;." in unknown.text
    missing = _post(office, url, agency="")
    assert missing.status_code == 400 and "Choose the agency" in missing.text
    assert _post(desk.login("li"), url, agency="urban-management").status_code == 404
    forged = office.post(url, data={"csrf": "x", "agency": "water"}, follow_redirects=False)
    assert forged.status_code == 403
    assert desk.feedback("市民中心开放时间延长到晚上八点").agency is None
    bad = office.get("/desk/suggestions?show=everything")
    assert bad.status_code == 400 and "the list shows everything or" in bad.text


def test_mark_as_read_needs_the_forms_csrf_token(desk: Desk) -> None:
    li = desk.login("li")
    number = desk.id_of("西湖边多放几个垃圾桶")
    url = f"/desk/suggestions/{number}/read"
    assert li.post(url, data={}, follow_redirects=False).status_code == 403
    assert li.post(url, data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    other = desk.login("wang").get("/desk/suggestions")
    stolen = li.post(url, data={"csrf": _csrf(other.text)}, follow_redirects=False)
    assert stolen.status_code == 403  # another session's token
    assert desk.feedback("西湖边多放几个垃圾桶").read_at is None
    done = _post(li, url, back="show=unread")
    assert (done.status_code, done.headers["location"]) == (303, "/desk/suggestions?show=unread")
    assert desk.feedback("西湖边多放几个垃圾桶").read_at is not None
    page = li.get("/desk/suggestions")
    assert "The suggestion is marked as read." in page.text
    row = next(r for r in _rows(page.text) if "西湖边" in r)
    assert re.search(r"Read 20\d\d-\d\d-\d\d \d\d:\d\d$", row) and "Mark as read" not in row
    unread = li.get("/desk/suggestions?show=unread")
    assert len(_rows(unread.text)) == 1 and "西湖边" not in unread.text


def test_the_menu_counts_unread_suggestions_on_every_page(desk: Desk) -> None:
    li = desk.login("li")
    assert _nav(li.get("/desk/").text) == "Suggestions 2 unread"
    assert _nav(li.get("/desk/evaluation").text) == "Suggestions 2 unread"
    assert _nav(desk.login("li", "zh").get("/desk/").text) == "市民建议 2 条未读"
    assert _nav(desk.login("wang").get("/desk/praise").text) == "Suggestions 1 unread"
    for text in ("西湖边多放几个垃圾桶", "<b>Plant</b> more trees"):
        _post(li, f"/desk/suggestions/{desk.id_of(text)}/read")
    assert _nav(li.get("/desk/").text) == "Suggestions"
    assert _nav(desk.login("wang").get("/desk/").text) == "Suggestions 1 unread"


def test_the_evaluation_page_counts_praise_at_the_counted_levels_apart(desk: Desk) -> None:
    def praise_table(client: TestClient) -> list[str]:
        html = client.get("/desk/evaluation").text
        table = html.split('<table class="inbox praise-counts">', 1)[1].split("</table>", 1)[0]
        return _rows(table)

    # counted: verified phone and invited household (the profile's counted_levels)
    assert praise_table(desk.login("office")) == [
        "City Management Bureau 1 3",
        "Water Affairs Bureau 1 1",
    ]
    assert praise_table(desk.login("li")) == ["City Management Bureau 1 3"]
    assert praise_table(desk.login("wang")) == ["Water Affairs Bureau 1 1"]
    zhou = desk.login("zhou").get("/desk/evaluation").text
    assert "No praise yet." in zhou and "praise-counts" not in zhou


def test_the_pages_need_a_login(desk: Desk) -> None:
    anonymous = TestClient(desk.app)
    for url in ("/desk/suggestions", "/desk/praise"):
        response = anonymous.get(url, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/desk/login")
    number = desk.id_of("西湖边多放几个垃圾桶")
    response = anonymous.post(f"/desk/suggestions/{number}/read", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/desk/login")
    assert desk.feedback("西湖边多放几个垃圾桶").read_at is None
