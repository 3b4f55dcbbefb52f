"""The public list and map of reports, on SQLite and PostgreSQL: no personal data, no
citizen's text, coarse places only; the filters, the pages and both languages."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bot.web import create_app
from bot.web._reports.public import PAGE_SIZE
from civic.city import Profile
from civic.routing import RoutingDecision
from civic.tickets import create_ticket, transition
from storage.db import session_factory
from tests.bot.web.reports.report_fixture import ADDRESS, DESCRIPTION, PUBLIC_NOTE, build_report
from tests.bot.web.test_results import table, text

DOT = re.compile(r'<circle class="dot" cx="([\d.]+)" cy="([\d.]+)"')


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


@pytest.fixture
def site(sessions: sessionmaker[Session], profile: Profile) -> Iterator[TestClient]:
    with sessions() as session:
        build_report(session)  # binjiang, street lights, rectified, with a position
        water = create_ticket(
            session=session,
            citizen_id=None,
            description="Pipe burst at Mr Chen's shop, 12 Wulin Road",
            language="zh",
            decision=RoutingDecision("water-outage", "water", "xihu", 0.9),
            ticket_prefix="HZ",
            due_at=None,
            address_text="12 Wulin Road",
        )
        transition(session=session, ticket=water, to_status="accepted", actor="user:wang")
        session.commit()
    app = create_app(None, sessions=sessions, profile=profile)  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


def test_the_list_has_no_personal_data_and_no_citizens_text(site: TestClient) -> None:
    page = site.get("/reports/?lang=en")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    for private in (DESCRIPTION, ADDRESS, PUBLIC_NOTE, "Pipe burst", "Wulin Road", "13900001111"):
        assert private not in page.text
    # the exact position is nowhere, not even in the map's numbers
    assert "30.2087" not in page.text and "120.2123" not in page.text
    rows = table(page.text, "Reports, newest first")
    assert rows[0] == [
        "Number", "Problem", "Department", "District", "Status", "Filed", "Last change"
    ]  # fmt: skip
    assert [row[1:5] for row in rows[1:]] == [
        ["Water outage", "Water Affairs Bureau", "Xihu", "accepted"],
        ["Street lights", "City Management Bureau", "Binjiang", "reported fixed"],
    ]
    assert "2 reports." in text(page.text)
    assert len(DOT.findall(page.text)) == 1  # only the report with a position


def test_the_filters_work_and_a_bad_one_is_a_clear_400(site: TestClient) -> None:
    by_district = site.get("/reports/?district=xihu&lang=en")
    rows = table(by_district.text, "Reports, newest first: Xihu")
    assert [row[3] for row in rows[1:]] == ["Xihu"]
    assert DOT.findall(by_district.text) == []
    by_status = site.get("/reports/?status=rectified&category=street-light&lang=en")
    rows = table(by_status.text, "Reports, newest first: Street lights, reported fixed")
    assert [row[1] for row in rows[1:]] == ["Street lights"]
    none = site.get("/reports/?status=closed&lang=en")
    assert none.status_code == 200 and "No report matches." in text(none.text)
    chinese = site.get("/reports/?district=binjiang&lang=zh")
    assert [row[3] for row in table(chinese.text, "诉件（最新的在前）：滨江区")[1:]] == ["滨江区"]
    # the language switch keeps the filters
    assert 'href="/reports/?district=binjiang&amp;lang=en"' in chinese.text
    bad = site.get("/reports/?district=atlantis&lang=en")
    assert bad.status_code == 400
    assert 'There is no District called "atlantis".' in text(bad.text)
    assert site.get("/reports/?page=zero&lang=en").status_code == 400


def test_the_list_is_paginated(site: TestClient, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for _ in range(PAGE_SIZE):
            create_ticket(
                session=session,
                citizen_id=None,
                description="noise at night",
                language="zh",
                decision=RoutingDecision("street-light", "urban-management", "xihu", 0.9),
                ticket_prefix="HZ",
                due_at=None,
            )
    first = site.get("/reports/?lang=en")
    assert len(table(first.text, "Reports, newest first")) == PAGE_SIZE + 1
    assert "Page 1 of 2" in text(first.text)
    assert 'href="/reports/?page=2&amp;lang=en"' in first.text
    second = site.get("/reports/?page=2&lang=en")
    rows = table(second.text, "Reports, newest first")
    # the two oldest, newest first
    assert [row[1] for row in rows[1:]] == ["Water outage", "Street lights"]
    assert "Page 2 of 2" in text(second.text)
