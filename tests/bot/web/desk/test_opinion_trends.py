"""The desk's public-opinion trend pages over HTTP, on SQLite and PostgreSQL: the top
problems with their change and significance, a code's monthly share with its text
alternative, the table by code and agency; an agency's users see only their own agency;
a wrong filter is a 400 in the reader's language.

The data, 1,000 comments a year (cell = agency, district, month):

    2025  health/shangcheng/01      30 hospital-registration
          health/xihu/02            20 hospital-registration
          transport/xihu/01        200 bus-frequency
          transport/xihu/03        750 not coded
    2026  health/shangcheng/01      40 hospital-registration
                                    20 suggested medical-cost, accepted hospital-registration
          health/xihu/02            40 hospital-registration
          transport/xihu/01        190 bus-frequency
          transport/xihu/03        710 not coded

Hospital registration doubles: 50 of 1,000 (5.0%) to 100 of 1,000 (10.0%); pooled 0.075,
z = 0.05 / sqrt(0.075 × 0.925 × 2/1000) = 4.245, p = 2.2e-5: significant. Buses go from
200 (20.0%) to 190 (19.0%): z = −0.564, p = 0.5725, not significant.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bot.web import desk_router, opinion_trends_router
from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from storage.db import session_factory
from storage.media import MediaStore
from storage.models import Comment, CommentCode
from tests.bot.web.desk.test_router import PASSWORD, _login

Spec = tuple[str, str, str, int, list[str], list[str]]
COMMENTS: list[Spec] = [
    # (agency, district, month, how many, suggested, accepted)
    ("health", "shangcheng", "2025-01", 30, ["hospital-registration"], []),
    ("health", "xihu", "2025-02", 20, ["hospital-registration"], []),
    ("transport", "xihu", "2025-01", 200, ["bus-frequency"], []),
    ("transport", "xihu", "2025-03", 750, [], []),
    ("health", "shangcheng", "2026-01", 40, ["hospital-registration"], []),
    ("health", "shangcheng", "2026-01", 20, ["medical-cost"], ["hospital-registration"]),
    ("health", "xihu", "2026-02", 40, ["hospital-registration"], []),
    ("transport", "xihu", "2026-01", 190, ["bus-frequency"], []),
    ("transport", "xihu", "2026-03", 710, [], []),
]
TRENDS = "/desk/opinion/trends"


def seed_trends(sessions: sessionmaker[Session], profile: Profile) -> None:
    """Desk users (office; zhang of health) and the comments above."""
    with sessions.begin() as session:
        for username, agency, role in [("office", None, "staff"), ("zhang", "health", "officer")]:
            create_user(
                session=session,
                username=username,
                password=PASSWORD,
                agency=agency,
                role=role,
                display_name=username.title(),
                known_agencies=set(profile.agencies),
            )
        source_id = 1
        for agency, district, month, count, suggested, accepted in COMMENTS:
            year, number = (int(part) for part in month.split("-"))
            for _ in range(count):
                codes = [CommentCode(kind="suggested", code=c) for c in suggested]
                codes += [CommentCode(kind="accepted", code=c) for c in accepted]
                session.add(
                    Comment(
                        source="complaint",
                        source_id=source_id,
                        agency=agency,
                        district=district,
                        created_at=datetime(year, number, 15, tzinfo=UTC),
                        month=month,
                        language="zh",
                        assurance="anonymous",
                        text="…",
                        codes=codes,
                    )
                )
                source_id += 1


@pytest.fixture
def app(
    database_url: str, profile: Profile, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FastAPI]:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    sessions = session_factory(database_url)
    seed_trends(sessions, profile)
    application = FastAPI()
    application.include_router(
        opinion_trends_router(sessions=sessions, profile=profile), prefix="/desk"
    )
    media = MediaStore(tmp_path / "media")  # type: ignore[operator]
    application.include_router(
        desk_router(sessions=sessions, profile=profile, media=media), prefix="/desk"
    )
    yield application


def signed_in(app: FastAPI, username: str, lang: str = "en") -> TestClient:
    client = TestClient(app, headers={"Accept-Language": lang}, raise_server_exceptions=True)
    assert _login(client, username, PASSWORD).status_code == 303
    return client


def text_of(page: str) -> str:
    """The page's words as a reader sees them: tags dropped, entities decoded, spaces
    collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def row(page: str, ident: str) -> str:
    found = re.search(rf'<tr id="{ident}".*?</tr>', page, re.S)
    assert found is not None, f"no row {ident}"
    return text_of(found.group(0)).strip()


def test_the_top_problems_with_counts_shares_change_and_significance(app: FastAPI) -> None:
    office = signed_in(app, "office")
    page = office.get(TRENDS, params={"year": "2026"})
    assert page.status_code == 200
    assert "n = 1000 comments in 2026; 1000 in 2025." in text_of(page.text)
    # rank, problem, count, share, last year's count and share, change, p, significant, coded
    assert row(page.text, "top-bus-frequency") == (
        "1 Bus frequency and punctuality 190 19.0% 200 20.0% -10 (-1.0 points) 0.572 No 0 / 190"
    )
    assert row(page.text, "top-hospital-registration") == (
        "2 Long waits for registration 100 10.0% 50 5.0% +50 (+5.0 points) < 0.001 "
        "▲ Yes, significant 20 / 80"
    )
    assert 'class="significant"' in page.text
    detail = "year=2026&amp;grain=month&amp;level=code&amp;code=hospital-registration"
    assert f'href="{TRENDS}?{detail}' in page.text


def test_a_codes_monthly_share_has_a_text_alternative_and_a_table(app: FastAPI) -> None:
    office = signed_in(app, "office")
    page = office.get(TRENDS, params={"year": "2026", "code": "hospital-registration"})
    assert page.status_code == 200
    svg = re.search(r"<svg.*?</svg>", page.text, re.S)
    assert svg is not None and 'role="img"' in svg.group(0)
    title = re.search(r"<title[^>]*>(.*?)</title>", svg.group(0))
    description = re.search(r"<desc[^>]*>(.*?)</desc>", svg.group(0))
    assert title is not None and description is not None
    assert html.unescape(title.group(1)) == (
        "Share of comments about Long waits for registration, by month, 2026 and 2025"
    )
    spoken = html.unescape(description.group(1))
    assert "2026: Jan 24.0% (60 of 250), Feb 100.0% (40 of 40), Mar 0.0% (0 of 710), " in spoken
    assert "Apr no comments" in spoken
    assert "2025: Jan 13.0% (30 of 230), Feb 100.0% (20 of 20)" in spoken
    chart_table = re.search(r'<table class="inbox trends chart-table">.*?</table>', page.text, re.S)
    assert chart_table is not None
    assert "Jan 60 250 24.0% 30 230 13.0%" in text_of(chart_table.group(0))
    # the table by code and agency holds the chosen code only, each figure with its n
    breakdown = re.search(r'<table class="inbox trends breakdown">.*?</table>', page.text, re.S)
    assert breakdown is not None
    assert (
        text_of(breakdown.group(0))
        .strip()
        .endswith(
            "2026-01 Long waits for registration Health Commission 60 20 / 40 60 100.0% "
            "2026-02 Long waits for registration Health Commission 40 0 / 40 40 100.0%"
        )
    )


def test_by_district_per_year_in_chinese(app: FastAPI) -> None:
    office = signed_in(app, "office", lang="zh")
    query = {"year": "2026", "grain": "year", "by": "district", "code": "hospital-registration"}
    page = office.get(TRENDS, params=query)
    breakdown = re.search(r'<table class="inbox trends breakdown">.*?</table>', page.text, re.S)
    assert breakdown is not None
    words = text_of(breakdown.group(0))
    assert "2026 挂号排队时间长 上城区 60 20 / 40 60 100.0%" in words
    assert "2026 挂号排队时间长 西湖区 40 0 / 40 940 4.3%" in words
    assert "n = 2026 年 1000 条意见；2025 年 1000 条。" in text_of(page.text)


def test_an_agencys_user_sees_only_their_own_agency(app: FastAPI) -> None:
    zhang = signed_in(app, "zhang")
    page = zhang.get(TRENDS, params={"year": "2026", "agency": "transport"})
    assert page.status_code == 200
    assert "n = 100 comments in 2026; 50 in 2025." in text_of(page.text)
    assert "top-bus-frequency" not in page.text
    assert row(page.text, "top-hospital-registration").startswith(
        "1 Long waits for registration 100 100.0% 50 100.0% +50"
    )
    assert 'name="agency"' not in page.text  # no agency to choose


def test_the_menu_links_to_the_trends(app: FastAPI) -> None:
    for username in ("office", "zhang"):
        inbox = signed_in(app, username).get("/desk/")
        assert f'<a href="{TRENDS}">Public opinion</a>' in inbox.text
    assert f'<a href="{TRENDS}">民意分析</a>' in signed_in(app, "office", "zh").get("/desk/").text


@pytest.mark.parametrize(
    ("lang", "query", "message"),
    [
        ("en", {"year": "abc"}, 'The year must be a year between 2000 and 2100, not "abc".'),
        ("zh", {"year": "1999"}, "年份必须在 2000 年到 2100 年之间，“1999”不是有效年份。"),
        ("en", {"grain": "week"}, 'The period must be month or year, not "week".'),
        ("zh", {"grain": "week"}, "时间粒度只能是按月或按年，不能是“week”。"),
        ("en", {"level": "x"}, 'The level must be code or theme, not "x".'),
        ("en", {"agency": "nasa"}, 'There is no agency "nasa".'),
        ("zh", {"district": "atlantis"}, "没有“atlantis”这个区县。"),
        ("en", {"assurance": "royal"}, 'There is no assurance level "royal".'),
        ("en", {"code": "ufo"}, 'There is no code "ufo" in the codebook.'),
        ("zh", {"code": "ufo"}, "编码表中没有“ufo”这个编码。"),
        (
            "en",
            {"level": "theme", "code": "hospital-registration"},
            '"hospital-registration" is not a theme: choose a theme at the theme level, '
            "or the code level.",
        ),
        ("en", {"by": "month"}, 'The table can be by agency or by district, not "month".'),
    ],
)
def test_a_wrong_filter_is_a_400_saying_which(
    app: FastAPI, lang: str, query: dict[str, str], message: str
) -> None:
    page = signed_in(app, "office", lang).get(TRENDS, params=query)
    assert page.status_code == 400
    assert message in text_of(page.text)


def test_the_theme_level_rolls_codes_up(app: FastAPI) -> None:
    page = signed_in(app, "office").get(TRENDS, params={"year": "2026", "level": "theme"})
    assert row(page.text, "top-health").startswith("2 Health care 100 10.0% 50 5.0% +50")


def test_without_a_login_the_page_sends_to_the_login(app: FastAPI) -> None:
    client = TestClient(app, follow_redirects=False)
    answer = client.get(TRENDS)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/desk/login")
