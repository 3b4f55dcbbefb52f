"""The public results pages over the fixture city's frozen 2026 (tests/civic/evaluation/
fixture_year.py, whose points are worked out by hand in test_compute.py): what a resident
reads, in both languages, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bot.web import create_app
from civic.evaluation import compute, freeze
from storage.db import session_factory
from tests.civic.evaluation.fixture_year import (
    AS_OF,
    TRANSPORT,
    URBAN,
    WATER,
    build,
    fixture_profile,
    fixture_scheme,
)


class Tables(HTMLParser):
    """Each table's caption and its rows as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(("", []))
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self._caption is not None:
            self.tables[-1] = ("".join(self._caption).strip(), self.tables[-1][1])
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1][1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._caption is not None:
            self._caption.append(data)
        if self._cell is not None:
            self._cell.append(data)


def table(html: str, caption: str) -> list[list[str]]:
    parser = Tables()
    parser.feed(html)
    for found, rows in parser.tables:
        if caption in found:
            return rows
    raise AssertionError(f"no table captioned {caption!r} in {[c for c, _ in parser.tables]}")


class Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text(html: str) -> str:
    """The page's text as a reader sees it, spaces collapsed."""
    parser = Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


@pytest.fixture
def site(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    profile = fixture_profile()
    scheme = fixture_scheme(profile)
    with sessions() as session:
        build(session, profile, scheme)
        result = compute(session=session, scheme=scheme, profile=profile, as_of=AS_OF)
        freeze(session=session, result=result, created_by="office")
        session.commit()
    with TestClient(create_app(None, sessions=sessions, profile=profile)) as client:  # type: ignore[arg-type]
        yield client


def test_the_overview_ranks_with_the_hand_worked_points(site: TestClient) -> None:
    page = site.get("/evaluation/2026/?lang=zh")
    assert page.status_code == 200
    rows = table(page.text, "2026 年度各单位总分排名")
    # rank, department, public, targets, leaders, bonus, penalty, total, band
    assert rows[1:] == [
        ["1", "水务局", "46.64", "35.31", "4.50", "3.00", "0.00", "89.45", "满意单位"],
        ["2", "城市管理局", "42.03", "41.25", "0.00", "1.00", "0.00", "84.28", ""],
        ["3", "交通运输局", "36.80", "27.75", "3.00", "0.00", "−1.00", "66.55", "不满意单位"],
    ]
    words = text(page.text)
    assert "第 1 版" in words
    assert page.headers["content-security-policy"].startswith(
        "default-src 'none'; style-src 'self'"
    )
    assert 'href="/evaluation/2026/agencies/water?lang=zh"' in page.text
    assert '<a href="/notices/?lang=zh">绩效整改通知</a>' in page.text  # the notices' pages
    chart = "按名次的总分：1. 水务局 89.45；2. 城市管理局 84.28；3. 交通运输局 66.55。"
    assert chart in page.text  # the chart's text alternative


def test_the_overview_in_english_with_the_district_scorecards(site: TestClient) -> None:
    page = site.get("/evaluation/2026/", headers={"accept-language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in page.text
    districts = table(page.text, "Residents' satisfaction and the tickets filed")
    xihu = next(row for row in districts if row[0] == "Xihu")
    # index, 95% interval, n, tickets, on time (test_compute: 92 ± 13.60, n 5; 5 of 6)
    assert xihu[1:] == ["92.0", "78.4–100.0", "5", "6", "83.3%"]


def test_an_agency_page_says_where_every_figure_came_from(site: TestClient) -> None:
    page = site.get(f"/evaluation/2026/agencies/{WATER}?lang=en")
    assert page.status_code == 200
    words = text(page.text)
    assert "Rank 1 of 3, with 89.45 points." in words
    score = table(page.text, "Water Affairs Bureau: points per component, 2026")
    assert [row[:3] for row in score[1:]] == [
        ["Public evaluation", "46.64", "50.00"],
        ["Annual targets", "35.31", "45.00"],
        ["Leaders' evaluation", "4.50", "5.00"],
        ["Bonus", "3.00", "3.00"],
        ["Penalty", "0.00", "5.00"],
        ["Total", "89.45", ""],
    ]
    sources = table(page.text, "Where the public evaluation comes from")
    # source, index, interval, n counted, n not counted, levels, weight
    survey, windows, tickets = sources[1:]
    assert survey[0] == "Sampled survey" and survey[1] == "95.2" and survey[3] == "10"
    assert survey[6] == "80%"
    assert windows[1:5] == ["81.3", "—", "4", "1"]  # the anonymous ★ shown apart
    assert tickets[1:5] == ["90.0", "—", "2", "1"]
    assert "Blended index, with the weights below: 93.3." in words
    targets = table(page.text, "Indicators against their targets")
    on_time = next(row for row in targets if row[0] == "Rectified within the target time")
    assert on_time[1:3] == ["75.0%", "90.0%"]


def test_an_unranked_or_banded_agency_and_its_penalty(site: TestClient) -> None:
    page = site.get(f"/evaluation/2026/agencies/{TRANSPORT}?lang=zh")
    words = text(page.text)
    assert "第 3 名（共 3 个单位），总分 66.55。 等次：不满意单位。" in words
    items = table(page.text, "各项目经审核的得分及上限")
    assert any(row[1] == "1.00" for row in items if "扣分" in row[0])
    # the evidence behind an entry stays with the office
    assert "penalty accountability for transport" not in page.text


def test_a_district_page(site: TestClient) -> None:
    page = site.get("/evaluation/2026/districts/xihu?lang=en")
    assert "Satisfaction index 92.0 (95% interval 78.4–100.0, n = 5 answers)." in text(page.text)
    rows = table(page.text, "Xihu: ticket indicators, 2026")
    reopen = next(row for row in rows if row[0] == "Reopened after rectification")
    assert reopen[1:4] == ["20.0%", "10.0%", "not met"]


def test_the_method_page_states_the_rules(site: TestClient) -> None:
    page = site.get("/evaluation/2026/method?lang=en")
    sources = table(page.text, "Sources of the public evaluation")
    assert sources[1:] == [
        ["Sampled survey", "80%", "1"],
        ["Service window ratings", "10%", "3"],
        ["Ratings after a closed ticket", "10%", "2"],
    ]
    words = text(page.text)
    assert "A department needs at least 10 scored answers for an index" in words
    assert "verified phone" in words and "invited household" in words


def test_a_new_version_is_listed_with_its_reason_and_the_old_one_stays(
    site: TestClient, sessions: sessionmaker[Session]
) -> None:
    profile = fixture_profile()
    scheme = fixture_scheme(profile)
    with sessions() as session:
        from civic.evaluation import adjustments, withdraw_adjustment
        from storage.models import AgencyUser

        office = session.query(AgencyUser).filter_by(username="li").one()
        bonus = next(
            a
            for a in adjustments(session=session, year=2026, agency=URBAN)
            if a.kind == "bonus" and a.withdrawn_at is None
        )
        withdraw_adjustment(session=session, user=office, adjustment=bonus, reason="duplicate")
        result = compute(session=session, scheme=scheme, profile=profile, as_of=AS_OF)
        freeze(session=session, result=result, created_by="office", reason="bonus withdrawn")
        session.commit()
    latest = site.get("/evaluation/2026/?lang=en")
    assert "Version 2 · " in text(latest.text) and "reason: bonus withdrawn" in text(latest.text)
    urban = next(
        r for r in table(latest.text, "Departments ranked")[1:] if r[1] == "City Management Bureau"
    )
    assert urban[-2] == "83.28"
    first = site.get("/evaluation/2026/?version=1&lang=en")
    assert "This is not the latest version." in text(first.text)
    urban = next(
        r for r in table(first.text, "Departments ranked")[1:] if r[1] == "City Management Bureau"
    )
    assert urban[-2] == "84.28"
    # links on an earlier version stay on it
    assert f'href="/evaluation/2026/agencies/{URBAN}?lang=en&amp;version=1"' in first.text


@pytest.mark.parametrize(
    ("path", "zh", "en"),
    [
        ("/evaluation/2031/", "2031 年度没有已公布的结果。", "no published results for 2031"),
        ("/evaluation/20x6/", "20x6 年度没有", "results for 20x6"),
        ("/evaluation/2026/?version=7", "2026 年度没有第 7 版。", "2026 has no version 7."),
        ("/evaluation/2026/agencies/police", "“police”不是本年度", "'police' is not a department"),
        ("/evaluation/2026/districts/oz", "“oz”不是本市", "'oz' is not a district"),
    ],
)
def test_what_is_not_there_is_a_clear_404_in_both_languages(
    site: TestClient, path: str, zh: str, en: str
) -> None:
    joiner = "&" if "?" in path else "?"
    for lang, expected in (("zh", zh), ("en", en)):
        page = site.get(f"{path}{joiner}lang={lang}")
        assert page.status_code == 404
        assert expected in text(page.text)


def test_the_figures_as_json_without_the_inputs(site: TestClient) -> None:
    data = site.get("/evaluation/2026/scorecard.json").json()
    assert data["version"] == 1 and data["ranking"] == [WATER, URBAN, TRANSPORT]
    assert "inputs" not in data
    water = data["agencies"][0]
    assert (water["total"], water["band"]) == (89.45, "satisfied")


def test_before_anything_is_frozen_the_index_says_so(sessions: sessionmaker[Session]) -> None:
    with TestClient(create_app(None, sessions=sessions, profile=fixture_profile())) as client:  # type: ignore[arg-type]
        page = client.get("/evaluation/?lang=en")
        assert page.status_code == 200
        assert "No results published yet" in text(page.text)
        assert client.get("/evaluation/2026/").status_code == 404


def test_the_index_goes_to_the_latest_year(site: TestClient) -> None:
    moved = site.get("/evaluation/?lang=en", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (302, "/evaluation/2026/?lang=en")
