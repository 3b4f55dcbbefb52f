"""The desk's public-evaluation pages: campaign progress for the evaluation office, survey
results with charts, window ratings; agencies see only their own. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bot.web import desk_router, evaluation_router
from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.campaigns import Design, create_campaign, draw, import_households
from civic.city import Profile
from civic.settings import get_settings
from civic.surveys import sync_profile_surveys
from storage.db import session_factory
from storage.invitations import add_sms_usage
from storage.media import MediaStore
from storage.models import Invitation, SurveyAnswer, SurveyResponse, Ticket, WindowRating
from storage.windows import add_window, rate_window
from tests.bot.web.desk.test_router import PASSWORD, _csrf, _login


def seed_results(sessions: sessionmaker[Session], profile: Profile) -> None:
    """Desk users (office, li of urban-management, wang of transport), a campaign of ten
    households who all answered, and one rated service window."""
    now = datetime.now(UTC)
    with sessions.begin() as session:
        for username, agency, role in [
            ("office", None, "staff"),
            ("li", "urban-management", "officer"),
            ("wang", "transport", "officer"),
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
        sync_profile_surveys(
            session=session, directory=profile.path / "surveys", agencies=profile.agencies
        )
        rows = ["id,district,mobile"] + [
            f"H{i},{['xihu', 'binjiang'][i % 2]},1390000{i:04d}" for i in range(10)
        ]
        import_households(
            session=session,
            csv_text="\n".join(rows) + "\n",
            profile_districts=set(profile.districts),
        )
        campaign = create_campaign(
            session=session,
            name="Annual 2026",
            survey_key="annual_satisfaction",
            design=Design(strata=("district",), n=10, channels=("sms",)),
            starts_at=now,
            ends_at=now + timedelta(days=10),
        )
        draw(session=session, campaign=campaign)
        session.flush()
        for i, invitation in enumerate(session.query(Invitation).order_by(Invitation.id)):
            response = SurveyResponse(
                survey_key="annual_satisfaction",
                invitation_id=invitation.id,
                stratum=invitation.stratum,
                status="completed",
            )
            session.add(response)
            session.flush()
            value = ["satisfied", "basically_satisfied", "dissatisfied"][i % 3]
            session.add(
                SurveyAnswer(
                    response_id=response.id,
                    step="agency_satisfaction@urban-management",
                    question="agency_satisfaction",
                    agency="urban-management",
                    value=value,
                )
            )
            session.add(
                SurveyAnswer(
                    response_id=response.id, step="overall", question="overall", value=value
                )
            )
            invitation.completed_at = now
        window = add_window(session=session, agency="urban-management", hall="市民之家", number="3")
        rate_window(
            session=session,
            window=window,
            citizen_id=None,  # type: ignore[arg-type]
            day="2026-11-28",
            scale="stars",
            score="4",
            now=now,
            assurance="verified_phone",
        )


@pytest.fixture
def app(
    database_url: str, profile: Profile, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FastAPI]:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    sessions = session_factory(database_url)
    seed_results(sessions, profile)
    application = FastAPI()
    application.include_router(
        evaluation_router(sessions=sessions, profile=profile), prefix="/desk"
    )
    media = MediaStore(tmp_path / "media")  # type: ignore[operator]
    application.include_router(
        desk_router(sessions=sessions, profile=profile, media=media), prefix="/desk"
    )
    yield application


def signed_in(app: FastAPI, username: str) -> TestClient:
    client = TestClient(app, headers={"Accept-Language": "en"}, raise_server_exceptions=True)
    assert _login(client, username, PASSWORD).status_code == 303
    return client


def test_the_office_follows_campaigns_and_results(app: FastAPI) -> None:
    office = signed_in(app, "office")
    page = office.get("/desk/evaluation")
    assert (
        page.status_code == 200 and "Annual 2026" in page.text and "City Management" in page.text
    )  # the window's agency
    campaign = office.get("/desk/evaluation/campaigns/1")
    assert "district=xihu" in campaign.text and "100.0%" in campaign.text
    results = office.get("/desk/evaluation/results/annual_satisfaction")
    assert results.status_code == 200 and "Download CSV" in results.text
    assert (
        '<img src="/desk/evaluation/results/annual_satisfaction/urban-management.png'
        in results.text
    )
    chart = office.get("/desk/evaluation/results/annual_satisfaction/urban-management.png")
    assert chart.headers["content-type"] == "image/png" and chart.content.startswith(b"\x89PNG")
    csv = office.get("/desk/evaluation/results/annual_satisfaction.csv")
    assert csv.text.startswith("agency,question,row")
    assert "urban-management,agency_satisfaction,index" in csv.text


def test_the_campaign_page_shows_its_texts_segments_and_their_cost(
    app: FastAPI, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMS_COST_PER_SEGMENT", "0.05")
    get_settings.cache_clear()
    with session_factory(database_url).begin() as session:
        add_sms_usage(session=session, campaign_id=1, messages=2, segments=5)
    page = signed_in(app, "office").get("/desk/evaluation/campaigns/1").text
    assert "<dt>SMS sent</dt><dd>2</dd>" in page
    assert "<dt>SMS segments</dt><dd>5</dd>" in page
    assert "<dt>SMS cost</dt><dd>0.25</dd>" in page


def test_an_agency_sees_its_own_results_and_nothing_of_the_campaigns(app: FastAPI) -> None:
    li, wang = signed_in(app, "li"), signed_in(app, "wang")
    assert "Annual 2026" not in li.get("/desk/evaluation").text
    assert li.get("/desk/evaluation/campaigns/1").status_code == 404
    assert li.get("/desk/evaluation/results/annual_satisfaction.csv").status_code == 404
    own = "/desk/evaluation/results/annual_satisfaction/urban-management.png"
    assert li.get(own).status_code == 200
    assert wang.get(own).status_code == 404
    assert "市民之家" not in wang.get("/desk/evaluation").text
    assert "市民之家" in li.get("/desk/evaluation").text


def test_the_pages_need_a_login(app: FastAPI) -> None:
    anonymous = TestClient(app, raise_server_exceptions=True)
    response = anonymous.get("/desk/evaluation", follow_redirects=False)
    assert response.status_code == 303 and "/desk/login" in response.headers["location"]
    chart = anonymous.get("/desk/evaluation/results/annual_satisfaction/urban-management.png")
    assert chart.status_code == 404


def _window_row(html: str, hall: str) -> str:
    """The text of the window table's row for `hall`, tags removed."""
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL)
    row = next(r for r in rows if hall in r)
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


def test_window_figures_count_only_verified_levels_and_show_the_rest_apart(
    app: FastAPI, database_url: str
) -> None:
    """Two anonymous one-star ratings are listed by level but change neither the count
    nor the average; held ratings count nowhere until the office releases them."""
    sessions = session_factory(database_url)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        window = add_window(session=session, agency="urban-management", hall="滨江大厅", number="7")
        for citizen, level in ((None, "verified_phone"), (None, "anonymous"), (None, "anonymous")):
            session.add(
                WindowRating(
                    window_id=window.id,
                    citizen_id=citizen,
                    day=f"2026-12-0{1 + len(level) % 3}",
                    scale="stars",
                    score="5" if level == "verified_phone" else "1",
                    assurance=level,
                    created_at=now,
                )
            )
        held = rate_window(
            session=session,
            window=window,
            citizen_id=None,  # type: ignore[arg-type]
            day="2026-12-04",
            scale="stars",
            score="1",
            now=now,
            assurance="verified_phone",
            hourly_limit=3,
        )
        assert held is not None and held.held
        window_id = window.id
    office = signed_in(app, "office")
    page = office.get("/desk/evaluation")
    row = _window_row(page.text, "滨江大厅")
    # counted: one verified rating of 5 stars; two anonymous apart; one held
    assert row.startswith("City Management Bureau 滨江大厅 7 1 5.00"), row
    assert "Verified phone 1" in row and "Anonymous web chat 2 (not counted)" in row
    assert row.endswith("Verified phone 1 1 Release Discard"), row  # one held, to review
    assert "Verified phone, Invited household" in page.text  # what counts, stated
    # an agency officer sees the flag but cannot release
    assert "Release" not in _window_row(
        signed_in(app, "li").get("/desk/evaluation").text, "滨江大厅"
    )
    forged = office.post(
        f"/desk/evaluation/windows/{window_id}/held", data={"decision": "release", "csrf": "x"}
    )
    assert forged.status_code == 403
    released = office.post(
        f"/desk/evaluation/windows/{window_id}/held",
        data={"decision": "release", "csrf": _csrf(page.text)},
        follow_redirects=True,
    )
    assert "The held ratings are released" in released.text
    row = _window_row(released.text, "滨江大厅")
    assert row.startswith("City Management Bureau 滨江大厅 7 2 3.00"), row  # (5 + 1) / 2


def test_ticket_satisfaction_is_published_by_level(app: FastAPI, database_url: str) -> None:
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        for level, satisfaction in (
            ("verified_phone", "satisfied"),
            ("account", "dissatisfied"),
            ("anonymous", "dissatisfied"),
        ):
            session.add(
                Ticket(
                    description="x",
                    category="streetlight",
                    agency="urban-management",
                    status="closed",
                    satisfaction=satisfaction,
                    satisfaction_assurance=level,
                )
            )
    page = signed_in(app, "office").get("/desk/evaluation").text
    row = next(
        r for r in page.split("<tr>") if "Satisfaction with" not in r and "Messaging account" in r
    )
    text = " ".join(re.sub(r"<[^>]+>", " ", row).split())
    assert text.startswith("City Management Bureau 1 Satisfied 1 "), text
    assert "Messaging account 1 (not counted)" in text and "Verified phone 1" in text
