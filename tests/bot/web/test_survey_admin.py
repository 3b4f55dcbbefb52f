"""The survey admin API and the unsubscribe link, over HTTP (FastAPI's test client), on
SQLite and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.web import optout_router, survey_admin_router
from civic.agencies import create_api_key
from civic.campaigns import Design, create_campaign, draw, import_households, sign
from civic.city import Profile
from storage.db import session_factory
from storage.models import FrameMember, Invitation

SURVEY = """key: quick_check
minutes: 1
results_url: https://example.org/results
title: {zh: 快速回访, en: Quick check}
intro: {zh: "约 {minutes} 分钟。", en: "About {minutes} minute."}
thanks: {zh: "谢谢！结果见 {results_url}", en: "Thanks! Results at {results_url}"}
questions:
  - id: overall
    type: scale
    scale: hangzhou
    text: {zh: 您满意吗？, en: "Are you satisfied?"}
"""


@pytest.fixture
def client(database_url: str, profile: Profile) -> Iterator[tuple[TestClient, dict[str, str]]]:
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        keys = {
            name: create_api_key(session=session, name=name, agency=agency, can_write=write)[1]
            for name, agency, write in [
                ("office-writer", None, True),
                ("office-reader", None, False),
                ("agency", "urban-management", True),
            ]
        }
    app = FastAPI()
    app.include_router(survey_admin_router(sessions=sessions, profile=profile))
    app.include_router(optout_router(sessions, "secret"))
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client, keys


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_office_uploads_and_reads_a_survey(client: tuple[TestClient, dict[str, str]]) -> None:
    http, keys = client
    put = http.put(
        "/admin/surveys/quick_check", content=SURVEY, headers=auth(keys["office-writer"])
    )
    assert put.status_code == 200 and put.json() == {"key": "quick_check", "version": 1}
    again = SURVEY.replace("您满意吗？", "您对服务满意吗？")
    put = http.put("/admin/surveys/quick_check", content=again, headers=auth(keys["office-writer"]))
    assert put.json()["version"] == 2
    listing = http.get("/admin/surveys", headers=auth(keys["office-reader"])).json()
    assert {"key": "quick_check", "version": 2, "origin": "admin"}.items() <= listing[0].items()
    text = http.get("/admin/surveys/quick_check", headers=auth(keys["office-reader"])).text
    assert "您对服务满意吗" in text


def test_a_bad_survey_is_refused_with_its_line(client: tuple[TestClient, dict[str, str]]) -> None:
    http, keys = client
    bad = SURVEY + "    show_if: {question: nowhere, any_of: [x]}\n"
    put = http.put("/admin/surveys/quick_check", content=bad, headers=auth(keys["office-writer"]))
    assert put.status_code == 422
    assert put.json()["line"] == 12 and "nowhere" in put.json()["error"]
    wrong_key = http.put(
        "/admin/surveys/other", content=SURVEY, headers=auth(keys["office-writer"])
    )
    assert wrong_key.status_code == 422


def test_keys_are_checked(client: tuple[TestClient, dict[str, str]]) -> None:
    http, keys = client
    assert http.get("/admin/surveys").status_code == 401
    assert http.get("/admin/surveys", headers=auth("nonsense")).status_code == 401
    path = "/admin/surveys/quick_check"
    assert http.put(path, content=SURVEY, headers=auth(keys["agency"])).status_code == 403
    assert http.put(path, content=SURVEY, headers=auth(keys["office-reader"])).status_code == 403
    assert (
        http.get("/admin/surveys/missing", headers=auth(keys["office-reader"])).status_code == 404
    )


def test_an_upload_without_a_writing_office_key_is_refused_unread(
    database_url: str, profile: Profile
) -> None:
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        _, reader = create_api_key(session=session, name="r", agency=None, can_write=False)
        _, writer = create_api_key(session=session, name="w", agency=None, can_write=True)
    reads = 0

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            nonlocal reads
            message = await receive()
            reads += message["type"] == "http.request"
            return message

        await app(scope, counted, send)

    app = FastAPI()
    app.include_router(survey_admin_router(sessions=sessions, profile=profile))
    http = TestClient(counting, raise_server_exceptions=True)
    path = "/admin/surveys/quick_check"
    assert http.put(path, content=SURVEY).status_code == 401
    assert http.put(path, content=SURVEY, headers=auth("nonsense")).status_code == 401
    assert http.put(path, content=SURVEY, headers=auth(reader)).status_code == 403
    assert reads == 0
    assert http.put(path, content=SURVEY, headers=auth(writer)).status_code == 200
    assert reads == 1


def test_the_unsubscribe_link_opts_the_household_out(
    client: tuple[TestClient, dict[str, str]], database_url: str, profile: Profile
) -> None:
    http, keys = client
    http.put("/admin/surveys/quick_check", content=SURVEY, headers=auth(keys["office-writer"]))
    now = datetime.now(UTC)
    with session_factory(database_url).begin() as session:
        import_households(
            session=session,
            csv_text="id,district,mobile\nH9,xihu,13900000009\n",
            profile_districts=set(profile.districts),
        )
        campaign = create_campaign(
            session=session,
            name="c",
            survey_key="quick_check",
            design=Design(strata=("district",), n=1, channels=("sms",)),
            starts_at=now,
            ends_at=now + timedelta(days=5),
        )
        draw(session=session, campaign=campaign)
        nonce = session.scalars(select(Invitation.nonce)).one()
    token = sign(secret="secret", nonce=nonce)
    page = http.get(f"/u/{token}")
    assert page.status_code == 200 and "退出所有调查" in page.text and "<form" in page.text
    assert http.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with session_factory(database_url)() as session:
        member = session.scalars(select(FrameMember)).one()
        invitation = session.scalars(select(Invitation)).one()
    assert member.opted_out_at is not None and invitation.state == "opted_out"
    assert http.get(f"/u/{token[:-2]}xx").status_code == 404
