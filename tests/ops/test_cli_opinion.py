"""`civicbot opinion collect` and `civicbot opinion trends` on SQLite: the progress and
the counts collected, nothing more on a second run, the top problems with their change
and p-value in English and Chinese, and a broken codebook refused with its file and entry.

The trends, by hand: 2026 has 4 comments, 3 on hospital registration (75%) and 1 on buses
(25%); 2025 has 2, 1 on registration (50%). Registration: pooled 4/6, standard error
sqrt(2/3 × 1/3 × (1/4 + 1/2)) = 0.40825, z = 0.25 / 0.40825 = 0.6124, p = 0.540. Buses:
pooled 1/6, error sqrt(1/6 × 5/6 × 3/4) = 0.32275, z = 0.7746, p = 0.439."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from civic.settings import get_settings
from ops.cli import main
from storage.db import session_factory
from storage.models import Comment, Ticket

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "hangzhou"
TICKETS = [
    ("医院挂号排队太久", "hospital-service", 2026),
    ("挂号要排一上午", "hospital-service", 2026),
    ("Registration at the hospital took three hours", "hospital-service", 2026),
    ("公交车太少，打13812345678没人接", "bus-service", 2026),
    ("挂号难", "hospital-service", 2025),
    ("路灯坏了", "street-light", 2025),
]


@pytest.fixture
def seeded(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["migrate"]) == 0
    url = get_settings().database_url
    with session_factory(url)() as session:
        for text, category, year in TICKETS:
            session.add(
                Ticket(
                    description=text,
                    category=category,
                    status="received",
                    created_at=datetime(year, 6, 1, tzinfo=UTC),
                )
            )
        session.commit()
    capsys.readouterr()
    return url


def test_collect_prints_progress_and_adds_nothing_the_second_time(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["opinion", "collect", "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "complaints: 6 collected",
        "6 new comments (complaints 6, survey answers 0, window comments 0, reopen reasons 0);"
        " 0 moved with their rerouted ticket",
    ]
    assert main(["opinion", "collect", "--lang", "zh"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "新增 0 条意见（投诉 0, 问卷回答 0, 窗口评价留言 0, 重新办理理由 0）；0 条随工单改派更新"
    ]
    with session_factory(seeded)() as session:
        texts = session.scalars(select(Comment.text).order_by(Comment.id)).all()
    assert texts[3] == "公交车太少，打***没人接"


def test_trends_print_the_top_problems_with_their_change(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["opinion", "collect"]) == 0
    capsys.readouterr()
    assert main(["opinion", "trends", "--year", "2026", "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Top problems of 2026 (4 comments; 2025: 2)",
        "1. Long waits for registration (hospital-registration): 3 (75.0%); 2025: 1 (50.0%);"
        " change +2, +25.0 points, p = 0.540; 0 on accepted codes",
        "2. Bus frequency and punctuality (bus-frequency): 1 (25.0%); 2025: 0 (0.0%);"
        " change +1, +25.0 points, p = 0.439; 0 on accepted codes",
        "A comment counts under its accepted codes, or under its suggested codes when none"
        " was accepted. p: two-proportion z-test of the shares.",
    ]
    assert main(["opinion", "trends", "--year", "2026", "--limit", "1", "--lang", "zh"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "2026 年突出问题（共 4 条意见；2025 年：2 条）",
        "1. 挂号排队时间长（hospital-registration）：3 条（75.0%）；2025 年：1 条（50.0%）；"
        "变化 +2，+25.0 个百分点，p = 0.540；其中 0 条为已确认编码",
    ]
    assert main(["opinion", "trends", "--year", "2026", "--level", "theme", "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines()[1:3] == [
        "1. Health care (health): 3 (75.0%); 2025: 1 (50.0%);"
        " change +2, +25.0 points, p = 0.540; 0 on accepted codes",
        "2. Public transport (public-transport): 1 (25.0%); 2025: 0 (0.0%);"
        " change +1, +25.0 points, p = 0.439; 0 on accepted codes",
    ]
    only_verified = ["opinion", "trends", "--year", "2026", "--assurance", "verified_phone"]
    assert main([*only_verified, "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "No coded comments in 2026: run `civicbot opinion collect` first."
    ]
    assert main(["opinion", "trends", "--year", "2024", "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "No coded comments in 2024: run `civicbot opinion collect` first."
    ]


def test_a_broken_codebook_stops_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    city = tmp_path / "profiles" / "hangzhou"
    shutil.copytree(PROFILE, city)
    codebook = city / "opinion" / "codebook.yml"
    codebook.write_text(
        codebook.read_text("utf-8").replace("parent: health", "parent: healthcare", 1), "utf-8"
    )
    monkeypatch.setenv("CIVIC_PROFILES_DIR", str(city.parent))
    get_settings.cache_clear()
    assert main(["opinion", "collect"]) == 2
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"city profile error: {codebook}: codes[1] (hospital-registration):"
        " unknown parent 'healthcare'"
    )


def test_topics_print_progress_and_each_topic_with_its_terms(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Garbage and street lights, in both languages: two topics, each named in both."""
    from tests.civic.opinion.test_topics import GARBAGE, LIGHTS

    assert main(["migrate"]) == 0
    with session_factory(get_settings().database_url)() as session:
        for problem, texts in (("garbage-collection", GARBAGE), ("street-light", LIGHTS)):
            for language, text in texts:
                session.add(
                    Ticket(
                        description=text,
                        language=language,
                        category=problem,
                        status="received",
                        created_at=datetime(2026, 6, 1, tzinfo=UTC),
                    )
                )
        session.commit()
    assert main(["opinion", "collect"]) == 0
    capsys.readouterr()
    assert main(["opinion", "topics", "--year", "2026", "--k", "2", "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        "20 uncoded comments read",
        "20 comments tokenised",
        "10 comments stored in their topics",
        "20 comments stored in their topics",
    ]
    assert re.fullmatch(r"Run 1: 20 comments in 2 topics, \d+\.\d s", lines[4])
    assert [line[:20] for line in lines[5:]] == ["1. 10 comments | zh:", "2. 10 comments | zh:"]
    assert any("垃圾" in line and "garbage" in line for line in lines[5:])
    assert any("路灯" in line and "street" in line for line in lines[5:])
    assert main(["opinion", "topics", "--language", "en", "--k", "1"]) == 2
    assert capsys.readouterr().out.splitlines() == ["主题数须在 2 到 100 之间（不是 1）。"]
    assert main(["opinion", "topics", "--year", "2020", "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "No uncoded comments to group."
