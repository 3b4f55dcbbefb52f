"""The desk's improvement notices over HTTP, on SQLite and PostgreSQL, from the generated
proposal (hospital registration doubled at the Health Commission): the office sees the
proposal with its figures, chart and redacted samples and issues it; the agency's
coordinator commits with two milestones and reports rectification; the office verifies.
Another agency's coordinator is refused (403), a step after closing too (409), bad input
gets its reason with the form as typed (400), a form without its CSRF token is refused;
the agency's supervisor reads without forms or samples; everyone sees the history."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.web import desk_router, notices_router
from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from storage.db import session_factory
from storage.media import MediaStore
from storage.models import Notice, NoticeEvent, NoticeMilestone
from tests.bot.web.desk.test_router import PASSWORD, _csrf, _login
from tests.civic.notices.support import USERS, proposed_notice

TAGS = re.compile(r"<[^>]+>")


@dataclass
class Desk:
    app: FastAPI
    sessions: sessionmaker[Session]
    notice_id: int

    @property
    def page(self) -> str:
        return f"/desk/notices/{self.notice_id}"

    def login(self, username: str) -> TestClient:
        client = TestClient(self.app, headers={"Accept-Language": "en"})
        assert _login(client, username, PASSWORD).status_code == 303
        return client

    def post(self, client: TestClient, step: str, **data: str) -> Response:
        token = _csrf(client.get(self.page).text)
        url = f"{self.page}/{step}"
        return client.post(url, data={"csrf": token, **data}, follow_redirects=False)

    def state(self) -> tuple[str, int, int]:
        with self.sessions() as session:
            notice = session.get(Notice, self.notice_id)
            assert notice is not None
            events = len(session.scalars(select(NoticeEvent)).all())
            milestones = len(session.scalars(select(NoticeMilestone)).all())
            return notice.status, events, milestones


@pytest.fixture
def desk(
    database_url: str, profile: Profile, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        for username, agency, role in USERS:
            create_user(
                session=session,
                username=username,
                password=PASSWORD,
                agency=agency,
                role=role,
                display_name=username.title(),
                known_agencies=set(profile.agencies),
            )
    with sessions() as session:
        notice_id = proposed_notice(session, profile).id
    app = FastAPI()
    app.include_router(notices_router(sessions=sessions, profile=profile), prefix="/desk")
    media = MediaStore(tmp_path / "media")  # type: ignore[operator]
    app.include_router(desk_router(sessions=sessions, profile=profile, media=media), prefix="/desk")
    yield Desk(app, sessions, notice_id)


def _text(markup: str) -> str:
    return html.unescape(" ".join(TAGS.sub(" ", markup).split()))


def _error(response: Response) -> str:
    found = re.search(r'<p class="error" role="alert"[^>]*>([^<]*)</p>', response.text)
    assert found is not None, response.text
    return html.unescape(found.group(1))


def _in(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


ISSUE = {
    "problem_zh": "挂号排队投诉翻倍",
    "problem_en": "Complaints about registration queues doubled",
}
COMMIT = {
    "commitment_zh": "年内缩短挂号排队时间",
    "commitment_en": "Shorter registration queues within the year",
    "m1_zh": "增加线上号源",
    "m1_en": "More appointments online",
    "m2_zh": "自助机缴费",
    "m2_en": "Pay at self-service machines",
}


def test_the_office_sees_the_proposal_with_its_evidence(desk: Desk) -> None:
    office = desk.login("office")
    listing = office.get("/desk/notices")
    assert listing.status_code == 200
    assert "GZ-2026-001 Health Commission Long waits for registration 2026 Proposed" in _text(
        listing.text
    )
    page = office.get(desk.page)
    text = _text(page.text)
    for shown in [
        "Comments under the code, 2026 40",
        "Share, 2026 40.0%",
        "Share, 2025 20.0%",
        "Growth of the share 100.0%",
        "p-value (two-proportion z-test) 0.0020",
        "Sample comments (redacted)",
        "[hospital-registration] 挂号排队",
    ]:
        assert shown in text
    chart = f'aria-labelledby="notice-{desk.notice_id}-chartt notice-{desk.notice_id}-chartd"'
    assert chart in page.text
    assert "<title" in page.text and "Comments per month, 2026</title>" in page.text
    assert text.count("[hospital-registration] 挂号排队") == 5
    assert "Issue the notice" in text and "Dismiss the proposal" in text
    # The agency does not see a proposal before it is issued.
    coordinator = desk.login("health.coord")
    assert coordinator.get(desk.page).status_code == 404
    assert "No notices." in _text(coordinator.get("/desk/notices").text)


def test_issue_commit_rectify_and_verify(desk: Desk) -> None:
    office, coordinator = desk.login("office"), desk.login("health.coord")
    refused = desk.post(office, "issue", **{**ISSUE, "problem_en": ""}, response_due=_in(15))
    assert refused.status_code == 400
    assert _error(refused) == "Describe the problem in both Chinese and English."
    assert "挂号排队投诉翻倍</textarea>" in refused.text
    issued = desk.post(office, "issue", **ISSUE, response_due=_in(15))
    assert (issued.status_code, issued.headers["location"]) == (303, desk.page)
    assert desk.state() == ("issued", 2, 0)

    other = desk.post(desk.login("transport.coord"), "commit", **COMMIT)
    assert other.status_code == 403
    assert _error(other) == "Only the coordinator of Health Commission may answer this notice."
    bad_date = desk.post(coordinator, "commit", **COMMIT, m1_due="next week", m2_due=_in(90))
    assert (bad_date.status_code, _error(bad_date)) == (
        400,
        "Not a date: next week. Use the form YYYY-MM-DD.",
    )
    assert 'value="More appointments online"' in bad_date.text
    assert desk.state() == ("issued", 2, 0)

    committed = desk.post(coordinator, "commit", **COMMIT, m1_due=_in(30), m2_due=_in(90))
    assert committed.status_code == 303
    assert desk.state() == ("committed", 3, 2)
    rectified = desk.post(coordinator, "rectified", note_zh="已完成", note_en="Done")
    assert rectified.status_code == 303
    verified = desk.post(office, "verify", note_zh="", note_en="")
    assert verified.status_code == 303
    assert desk.state() == ("verified", 5, 2)

    late = desk.post(coordinator, "progress", note_zh="晚了", note_en="Late")
    assert (late.status_code, _error(late)) == (
        409,
        "Notice GZ-2026-001 is closed (Verified and closed): nothing more can be done with it.",
    )
    assert desk.state() == ("verified", 5, 2)
    history = _text(coordinator.get(desk.page).text).split("History", 1)[1]
    for step in [
        "The rules Proposed by the rules",
        "Office (Evaluation office) Notice issued Complaints about registration queues doubled",
        "Health.Coord (Health Commission) Commitment published Shorter registration queues",
        "Health.Coord (Health Commission) Rectification reported Done",
        "Office (Evaluation office) Rectification verified",
    ]:
        assert step in history


def test_the_supervisor_reads_without_forms_or_samples(desk: Desk) -> None:
    desk.post(desk.login("office"), "issue", **ISSUE, response_due=_in(15))
    supervisor = desk.login("health.super")
    text = _text(supervisor.get(desk.page).text)
    assert "You can read this notice" in text
    assert "Complaints about registration queues doubled" in text
    assert "Sample comments" not in text and "[hospital-registration]" not in text
    assert "Answer with a rectification plan" not in text
    refused = desk.post(supervisor, "commit", **COMMIT, m1_due=_in(30))
    assert refused.status_code == 403
    assert desk.state() == ("issued", 2, 0)


def test_a_form_without_its_csrf_token_is_refused_with_what_was_typed(desk: Desk) -> None:
    office = desk.login("office")
    response = office.post(
        f"{desk.page}/issue", data={**ISSUE, "response_due": _in(15)}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "Complaints about registration queues doubled</textarea>" in response.text
    assert desk.state() == ("proposed", 1, 0)
