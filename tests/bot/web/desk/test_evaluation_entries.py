"""The desk's pages for the evaluation's entered figures, over HTTP on SQLite and
PostgreSQL: a coordinator enters only their own agency's values, the evaluation office
enters points with evidence, a second person approves, points are withdrawn with a
reason, the audit log lists it all, and bad input gets its reason with the form kept."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.web import desk_router, entries_router
from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from storage.db import session_factory
from storage.media import MediaStore
from storage.models import EvaluationAdjustment, IndicatorEntry
from tests.bot.web.desk.test_router import PASSWORD, _csrf, _login
from tests.bot.web.desk.test_router import _message as _raw_message

VALUES = "/desk/evaluation/entries"
POINTS = "/desk/evaluation/adjustments"
AUDIT = "/desk/evaluation/audit"
TASKS = "key_tasks_completion"
TAGS = re.compile(r"<[^>]+>")
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
EVIDENCE = "Smart water meters in 40,000 homes (provincial award, 2026-05)"


@dataclass
class Desk:
    app: FastAPI
    sessions: sessionmaker[Session]

    def login(self, username: str, lang: str = "en") -> TestClient:
        client = TestClient(self.app, headers={"Accept-Language": lang})
        assert _login(client, username, PASSWORD).status_code == 303
        return client

    def entries(self) -> list[tuple[str, str, str, float, str, str | None]]:
        with self.sessions() as session:
            rows = session.scalars(select(IndicatorEntry).order_by(IndicatorEntry.id))
            return [
                (e.agency, e.indicator, e.period, e.value, e.entered_by, e.approved_by)
                for e in rows
            ]

    def points(self) -> list[tuple[str, str, str | None, float, str, str | None, str | None]]:
        with self.sessions() as session:
            rows = session.scalars(select(EvaluationAdjustment).order_by(EvaluationAdjustment.id))
            return [
                (a.agency, a.kind, a.item, a.points, a.entered_by, a.approved_by, a.withdrawn_by)
                for a in rows
            ]


@pytest.fixture
def desk(
    database_url: str, profile: Profile, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        for username, agency, role in [
            ("zhang", None, "staff"),
            ("li", None, "staff"),
            ("water.coord", "water", "coordinator"),
            ("urban.coord", "urban-management", "coordinator"),
            ("wang", "water", "officer"),
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
    app = FastAPI()
    app.include_router(entries_router(sessions=sessions, profile=profile), prefix="/desk")
    media = MediaStore(tmp_path / "media")  # type: ignore[operator]
    app.include_router(desk_router(sessions=sessions, profile=profile, media=media), prefix="/desk")
    yield Desk(app, sessions)


def _text(markup: str) -> str:
    return html.unescape(" ".join(TAGS.sub(" ", markup).split()))


def _message(response: Response) -> str:
    """The error the page shows, as the reader reads it."""
    return html.unescape(_raw_message(response))


def _rows(markup: str, table: str) -> list[str]:
    """The body rows of the table of this class, as the reader sees them."""
    found = re.search(rf'<table class="inbox {table}">(.*?)</table>', markup, re.DOTALL)
    assert found is not None, f"the page has no {table} table"
    body = found.group(1).split("<tbody", 1)[1]
    return [
        _text(TIME.sub("(time)", row))
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    ]


def _post(client: TestClient, page: str, url: str, **data: str) -> Response:
    """Post a form as the page offers it, with the page's CSRF token and year."""
    token = _csrf(client.get(page).text)
    return client.post(url, data={"csrf": token, "year": "2026", **data}, follow_redirects=False)


def _value(client: TestClient, **fields: str) -> Response:
    data = {"agency": "water", "indicator": TASKS, "period": "2026-03", "value": "92.5"}
    return _post(client, VALUES, VALUES, **{**data, **fields})


def _bonus(client: TestClient, **fields: str) -> Response:
    data = {"agency": "water", "what": "bonus:innovation", "points": "1.5", "evidence": EVIDENCE}
    return _post(client, POINTS, POINTS, **{**data, **fields})


def _field(markup: str, name: str) -> str:
    """What an input or textarea of the page holds."""
    found = re.search(rf'<input id="[^"]+" name="{name}"[^>]*value="([^"]*)"', markup) or re.search(
        rf'<textarea id="[^"]+" name="{name}"[^>]*>([^<]*)</textarea>', markup
    )
    assert found is not None, f"the form has no {name}"
    return html.unescape(found.group(1))


def _selected(markup: str, name: str) -> str:
    select_ = re.search(rf'<select id="[^"]+" name="{name}"[^>]*>(.*?)</select>', markup, re.DOTALL)
    assert select_ is not None, f"the form has no {name}"
    found = re.search(r'<option value="([^"]*)" selected>', select_.group(1))
    return found.group(1) if found else ""


def _flash(response: Response) -> str:
    found = re.search(r'<p class="flash" role="status">([^<]*)</p>', response.text)
    assert found is not None, "the page has no flash message"
    return html.unescape(found.group(1))


# --- An agency's coordinator ---


def test_a_coordinator_enters_a_month_of_their_agencys_indicator(desk: Desk) -> None:
    client = desk.login("water.coord")
    page = client.get(VALUES)
    assert page.status_code == 200
    assert "<h1>Indicator values, 2026</h1>" in page.text
    assert re.findall(
        r'<option value="([^"]*)"', page.text.split('name="agency"')[1].split("</select>")[0]
    ) == ["water"]
    response = _value(client, note="Q1 report signed off by the director")
    assert (response.status_code, response.headers["location"]) == (303, f"{VALUES}?year=2026")
    after = client.get(response.headers["location"])
    assert _flash(after) == "The value is saved; it counts once approved."
    assert _rows(after.text, "entries") == [
        "Annual functional targets completed 2026-03 92.5 % Q1 report signed off by the "
        "director water.coord, (time) Entered, awaiting approval"
    ]
    assert desk.entries() == [("water", TASKS, "2026-03", 92.5, "water.coord", None)]


def test_a_coordinator_may_not_enter_another_agencys_figures(desk: Desk) -> None:
    client = desk.login("water.coord")
    response = _value(client, agency="urban-management", value="99", note="typed by hand")
    assert response.status_code == 403
    assert _message(response) == (
        "Only the coordinator of City Management Bureau or the evaluation office may enter "
        "its figures."
    )
    assert (_field(response.text, "value"), _field(response.text, "note")) == (
        "99",
        "typed by hand",
    )
    assert desk.entries() == []


def test_the_refusal_is_in_the_coordinators_language(desk: Desk) -> None:
    client = desk.login("water.coord", lang="zh")
    response = _value(client, agency="urban-management")
    assert response.status_code == 403
    assert _message(response) == "只有城市管理局的绩效信息联络员或考评办可以录入其数据。"
    assert "<h1>2026年指标数据</h1>" in response.text


def test_a_coordinator_sees_only_their_own_agency_and_not_the_office_pages(desk: Desk) -> None:
    _value(desk.login("urban.coord"), agency="urban-management", value="80")
    client = desk.login("water.coord")
    _value(client)
    rows = _rows(client.get(VALUES).text, "entries")
    assert [row.split(" 2026-03")[0] for row in rows] == ["Annual functional targets completed"]
    assert "80" not in rows[0]
    office = client.get(POINTS)
    assert office.status_code == 403
    assert _message(office) == "This page is for the evaluation office's staff."
    entry_id = next(e.id for e in _all_entries(desk) if e.agency == "water")
    approve = _post(client, VALUES, f"{VALUES}/{entry_id}/approve")
    assert approve.status_code == 403
    assert _message(approve) == "Only the evaluation office's staff may do this."
    audit = _rows(client.get(AUDIT).text, "audit")
    assert audit == [
        "(time) water.coord entered Water Affairs Bureau "
        "Annual functional targets completed, 2026-03: 92.5"
    ]


def _all_entries(desk: Desk) -> list[IndicatorEntry]:
    with desk.sessions() as session:
        return list(session.scalars(select(IndicatorEntry)))


def test_the_menu_links_the_figures_only_for_those_who_enter_them(desk: Desk) -> None:
    link = '<a href="/desk/evaluation/entries">Evaluation figures</a>'
    assert link in desk.login("water.coord").get("/desk/").text
    assert link in desk.login("zhang").get("/desk/").text
    officer = desk.login("wang")
    assert link not in officer.get("/desk/").text
    refused = officer.get(VALUES)
    assert refused.status_code == 403
    assert _message(refused) == (
        "These pages are for departments' coordinators and the evaluation office's staff."
    )


# --- The evaluation office ---


def test_the_office_enters_a_bonus_item_and_a_second_person_approves_it(desk: Desk) -> None:
    zhang = desk.login("zhang")
    response = _bonus(zhang)
    assert (response.status_code, response.headers["location"]) == (303, f"{POINTS}?year=2026")
    page = zhang.get(response.headers["location"])
    assert _flash(page) == "The points are saved; they count once approved."
    assert _rows(page.text, "pending") == [
        f"Water Affairs Bureau Bonus: Innovation and excellence project 1.5 points {EVIDENCE} "
        "zhang, (time) entered by you Approve"
    ]
    (row_id,) = re.findall(r'action="/desk/evaluation/adjustments/(\d+)/approve"', page.text)

    own = _post(zhang, POINTS, f"{POINTS}/{row_id}/approve")
    assert own.status_code == 403
    assert _message(own) == "Whoever entered a figure may not approve it: a second person must."
    assert desk.points()[0][5] is None

    li = desk.login("li")
    approved = _post(li, POINTS, f"{POINTS}/{row_id}/approve")
    assert approved.status_code == 303
    after = li.get(approved.headers["location"])
    assert _flash(after) == "Approved: the figure counts from now."
    assert "Nothing is waiting for approval." in after.text
    assert _rows(after.text, "points")[0].startswith(
        f"Water Affairs Bureau Bonus: Innovation and excellence project 1.5 {EVIDENCE} zhang, "
        "(time) Approved by li, (time)"
    )
    assert desk.points() == [("water", "bonus", "innovation", 1.5, "zhang", "li", None)]


def test_the_office_approves_a_coordinators_value_and_the_audit_log_lists_everything(
    desk: Desk,
) -> None:
    _value(desk.login("water.coord"))
    zhang = desk.login("zhang")
    _bonus(zhang)
    _post(zhang, POINTS, POINTS, agency="water", what="leaders", points="4.5", evidence="会议纪要")
    li = desk.login("li")
    page = li.get(POINTS).text
    for url in re.findall(r'action="(/desk/evaluation/[a-z]+/\d+/approve)"', page):
        assert _post(li, POINTS, url).status_code == 303
    withdrawn = _post(li, POINTS, f"{POINTS}/2/withdraw", reason="the minutes were not final")
    assert withdrawn.status_code == 303
    assert _flash(li.get(withdrawn.headers["location"])) == (
        "The points are withdrawn and no longer count."
    )
    coordinator = desk.login("water.coord").get(VALUES).text
    assert _rows(coordinator, "entries")[0].endswith("Approved by li, (time)")
    assert _rows(li.get(AUDIT).text, "audit") == [
        "(time) water.coord entered Water Affairs Bureau "
        "Annual functional targets completed, 2026-03: 92.5",
        "(time) zhang entered Water Affairs Bureau "
        "Bonus: Innovation and excellence project, 1.5 points",
        "(time) zhang entered Water Affairs Bureau Leaders' evaluation, 4.5 points",
        "(time) li approved Water Affairs Bureau "
        "Annual functional targets completed, 2026-03: 92.5",
        "(time) li approved Water Affairs Bureau "
        "Bonus: Innovation and excellence project, 1.5 points",
        "(time) li approved Water Affairs Bureau Leaders' evaluation, 4.5 points",
        "(time) li withdrew Water Affairs Bureau Leaders' evaluation, 4.5 points "
        "Reason: the minutes were not final",
    ]


def test_a_correction_shows_the_value_it_replaced(desk: Desk) -> None:
    client = desk.login("water.coord", lang="zh")
    _value(client)
    _value(client, value="95")
    assert _rows(client.get(AUDIT).text, "audit")[-1] == (
        "(time) water.coord 更正 水务局 年度职能目标完成率，2026-03：95 （原为 92.5）"
    )


# --- Bad input: the reason, the form as typed, never a 500 ---


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"value": "ninety"}, "The value must be a number."),
        ({"value": ""}, "The value must be a number."),
        ({"value": "-3"}, "The value must not be negative."),
        ({"value": "inf"}, "The value must be a number."),
        ({"period": "2025-12"}, "'2025-12' is not a month of 2026 (write it as 2026-03)."),
        (
            {"indicator": "happiness"},
            "'happiness' is not one of the indicators departments enter this year.",
        ),
        ({"agency": "nowhere"}, "'nowhere' is not a department this year's scheme scores."),
    ],
)
def test_a_wrong_value_is_refused_with_the_reason_and_the_form_kept(
    desk: Desk, fields: dict[str, str], message: str
) -> None:
    response = _value(desk.login("zhang"), note="kept", **fields)
    assert response.status_code == 400
    assert _message(response) == message
    assert _field(response.text, "note") == "kept"
    if "value" in fields:
        assert _field(response.text, "value") == fields["value"]
    assert desk.entries() == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"points": "9"}, "The points must be above 0 and at most 1.5 for this item."),
        ({"points": "abc"}, "The value must be a number."),
        ({"what": "leaders", "points": "6"}, "The points must be from 0 to 5."),
        ({"evidence": "   "}, "Give the evidence (at most 4000 characters)."),
        ({"what": "bonus:lottery"}, "'lottery' is not a bonus item of this year's scheme."),
        ({"what": "prize"}, "'prize' is not a kind of entry (leaders, bonus or penalty)."),
        ({"agency": ""}, "Choose a department."),
    ],
)
def test_wrong_points_are_refused_with_the_reason_and_the_form_kept(
    desk: Desk, fields: dict[str, str], message: str
) -> None:
    response = _bonus(desk.login("zhang"), **fields)
    assert response.status_code == 400
    assert _message(response) == message
    assert _field(response.text, "points") == fields.get("points", "1.5")
    assert _field(response.text, "evidence") == fields.get("evidence", EVIDENCE)
    assert _selected(response.text, "agency") == fields.get("agency", "water")
    assert desk.points() == []


def test_a_stale_form_keeps_what_was_typed(desk: Desk) -> None:
    client = desk.login("water.coord")
    data = {"csrf": "stale", "year": "2026", "agency": "water", "indicator": TASKS}
    response = client.post(VALUES, data={**data, "period": "2026-04", "value": "77", "note": "x"})
    assert response.status_code == 403
    assert _message(response) == (
        "This form had expired. What you typed is kept below: please check it and send it again."
    )
    assert (_selected(response.text, "period"), _field(response.text, "value")) == ("2026-04", "77")
    assert desk.entries() == []
    again = client.post(POINTS, data={"csrf": _csrf(response.text), "year": "2026"})
    assert again.status_code == 403  # a coordinator has no points page, token or not


def test_withdrawing_needs_a_reason_and_unknown_rows_and_years_are_clear(desk: Desk) -> None:
    zhang = desk.login("zhang")
    _bonus(zhang)
    response = _post(zhang, POINTS, f"{POINTS}/1/withdraw", reason=" ")
    assert response.status_code == 400
    assert _message(response) == "Say why the entry is withdrawn (at most 4000 characters)."
    missing = _post(zhang, POINTS, f"{POINTS}/99/approve")
    assert (missing.status_code, _message(missing)) == (404, "There is no such entry.")
    bad_year = zhang.get(f"{VALUES}?year=abc")
    assert (bad_year.status_code, _message(bad_year)) == (
        400,
        "There is no evaluation scheme for the year 'abc'.",
    )
    assert zhang.get(f"{AUDIT}?year=1999").status_code == 400
    stale = zhang.post(f"{POINTS}/1/approve", data={"csrf": "old", "year": "2026"})
    assert stale.status_code == 403
    assert desk.points()[0][5:] == (None, None)


def test_the_pages_need_a_login(desk: Desk) -> None:
    client = TestClient(desk.app)
    for response in (
        client.get(VALUES, follow_redirects=False),
        client.get(AUDIT, follow_redirects=False),
        client.post(VALUES, data={"value": "1"}, follow_redirects=False),
        client.post(f"{POINTS}/1/approve", follow_redirects=False),
    ):
        assert (response.status_code, response.headers["location"]) == (303, "/desk/login")
