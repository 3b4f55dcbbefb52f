"""The public improvement-notice pages over the notices of tests/bot/web/notice_fixture.py:
what a resident reads, in both languages, on SQLite and PostgreSQL; what is never shown
(proposals, dismissed notices, who acted, private steps, comment texts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bot.web import create_app
from civic.city import Profile
from civic.i18n import catalogue
from storage.db import session_factory
from tests.bot.web.notice_fixture import OFFICER, PRIVATE_NOTE, SECRET_COMMENT, build_notices
from tests.bot.web.test_results import table, text


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


@pytest.fixture
def site(sessions: sessionmaker[Session], profile: Profile) -> Iterator[TestClient]:
    with sessions() as session:
        build_notices(session)
    with TestClient(create_app(None, sessions=sessions, profile=profile)) as client:  # type: ignore[arg-type]
        yield client


def test_the_list_shows_issued_notices_only_newest_first(site: TestClient) -> None:
    page = site.get("/notices/?lang=en")
    assert page.status_code == 200
    rows = table(page.text, "Notices issued, newest first")
    assert rows == [
        ["Number", "Department", "Problem", "Evidence from", "Status", "Issued", "Last step"],
        [
            "HZ-2025-004",
            "Transport Bureau",
            "Rectified within the target time",
            "2025",
            "verified",
            "2026-02-01",
            "2026-03-10",
        ],
        [
            "HZ-2025-001",
            "Health Commission",
            "Long waits for registration",
            "2025",
            "committed, work under way",
            "2026-01-10",
            "2026-01-20",
        ],
    ]
    # the proposal and the dismissed notice are nowhere
    assert "HZ-2025-002" not in page.text and "HZ-2025-003" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert 'href="/notices/HZ-2025-001?lang=en"' in page.text


def test_the_list_in_chinese_filtered_by_agency_and_status(site: TestClient) -> None:
    page = site.get("/notices/?agency=health&status=committed&lang=zh")
    assert page.status_code == 200
    rows = table(page.text, "已下发的通知，按时间由近及远：卫生健康委员会；已承诺，整改中")
    assert [row[:3] for row in rows[1:]] == [["HZ-2025-001", "卫生健康委员会", "挂号排队时间长"]]
    # the language switch keeps the filters
    assert 'href="/notices/?agency=health&amp;status=committed&amp;lang=en"' in page.text
    verified = site.get("/notices/?status=verified&lang=en")
    assert [row[0] for row in table(verified.text, "Notices issued")[1:]] == ["HZ-2025-004"]
    none = site.get("/notices/?agency=water&lang=en")
    assert none.status_code == 200 and "No notice matches." in text(none.text)


def test_a_notice_tells_its_whole_public_history(site: TestClient) -> None:
    page = site.get("/notices/HZ-2025-001?lang=en")
    assert page.status_code == 200
    words = text(page.text)
    assert "To Health Commission, about “Long waits for registration”" in words
    assert "Status: committed, work under way · Issued: 2026-01-10" in words
    assert "Citizens report long waits to register at hospitals" in words
    assert table(page.text, "Figures behind the notice") == [
        ["Figure", "2025", "2024"],
        ["Comments about the problem", "40", "10"],
        ["All comments counted", "200", "100"],
        ["Share of the comments", "20.0%", "10.0%"],
    ]
    assert (
        "Change on 2024: +30 comments, +10.0 percentage points (p = 0.028); "
        "a significant change at the 5% level."
    ) in words
    # the monthly chart, and what it says for those who cannot see it
    assert 'role="img"' in page.text
    assert "Comments per month: 2025-01: 30; 2025-02: 10." in page.text
    assert "Answer due by 2026-01-25." in words and "Answered on 2026-01-20." in words
    assert table(page.text, "Milestones of the commitment")[1:] == [
        ["Appointment plan drawn up", "2026-02-01", "done on 2026-01-30"],
        ["Three pilot hospitals online", "2026-02-15", "done on 2026-02-20, late"],
        ["Registration staff trained", "2026-02-28", "late: not done by its date"],
        ["Every city hospital online", "2099-03-31", "not done yet"],
    ]
    assert table(page.text, "The notice's public history, in order")[1:] == [
        ["2026-01-10", "Notice issued", "Please answer by 25 January."],
        ["2026-01-20", "Commitment published", "Commitment published."],
        ["2026-02-20", "Progress reported", "The three pilot hospitals are online."],
    ]
    assert "Not verified yet." in words
    assert "6 citizens raised this problem;" in words
    assert table(page.text, "Citizens' answers per stage")[1:] == [
        ["the commitment", "3 (60.0%)", "1 (20.0%)", "1 (20.0%)", "5"],
        ["the verification", "—", "—", "—", "0"],
    ]


def test_a_page_never_shows_people_private_steps_or_comments(site: TestClient) -> None:
    for lang in ("zh", "en"):
        page = site.get(f"/notices/HZ-2025-001?lang={lang}")
        for hidden in (OFFICER, "wang.xm", PRIVATE_NOTE, SECRET_COMMENT, "Li Hua", "sample"):
            assert hidden not in page.text
        assert "escalated" not in text(page.text).lower()


def test_a_verified_indicator_notice_in_chinese(site: TestClient) -> None:
    page = site.get("/notices/HZ-2025-004?lang=zh")
    words = text(page.text)
    assert "致交通运输局，关于“按时办结率”，依据 2025 年度的数据。" in words
    assert table(page.text, "通知所依据的数字")[1:] == [
        ["数值", "62.0%", "71.0%"],
        ["目标", "90.0%", "—"],
    ]
    assert "考评办已于 2026-03-10 核查通过。" in words
    assert table(page.text, "各时点的市民回答")[1:] == [
        ["承诺公布后", "1（33.3%）", "1（33.3%）", "1（33.3%）", "3"],
        ["核查通过后", "2（66.7%）", "1（33.3%）", "0（0.0%）", "3"],
    ]


@pytest.mark.parametrize(
    ("path", "status", "zh", "en"),
    [
        (
            "/notices/HZ-2025-002",
            404,
            "没有已公开的通知 HZ-2025-002。",
            "no published notice HZ-2025-002",
        ),
        (
            "/notices/HZ-2025-003",
            404,
            "没有已公开的通知 HZ-2025-003。",
            "no published notice HZ-2025-003",
        ),
        ("/notices/NOPE", 404, "没有已公开的通知 NOPE。", "There is no published notice NOPE."),
        (
            "/notices/?agency=oz",
            400,
            "“oz”不是本市的单位。",
            "'oz' is not a department of the city.",
        ),
        (
            "/notices/?status=proposed",
            400,
            "“proposed”不是可筛选的状态",
            "'proposed' is not a status notices are listed by: issued, committed",
        ),
        ("/notices/?status=dismissed", 400, "“dismissed”不是可筛选的状态", "'dismissed' is not"),
    ],
)
def test_what_is_not_there_or_not_a_filter_says_so_in_both_languages(
    site: TestClient, path: str, status: int, zh: str, en: str
) -> None:
    joiner = "&" if "?" in path else "?"
    for lang, expected in (("zh", zh), ("en", en)):
        page = site.get(f"{path}{joiner}lang={lang}")
        assert page.status_code == status
        assert expected in text(page.text)
        assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_the_language_comes_from_the_browser_when_not_asked(site: TestClient) -> None:
    page = site.get("/notices/", headers={"accept-language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in page.text
    assert "Performance improvement notices" in text(page.text)


def test_both_languages_have_the_same_notice_texts() -> None:
    zh = {k for k in catalogue("zh") if k.startswith("notices_public.")}
    en = {k for k in catalogue("en") if k.startswith("notices_public.")}
    assert zh == en and len(zh) > 50
