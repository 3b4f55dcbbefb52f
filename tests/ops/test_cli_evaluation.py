"""`civicbot evaluation compute` end to end on SQLite, on the fixture city's hand-worked
year (tests/civic/evaluation/): progress, the ranking table, district scorecards,
warnings, freezing version 1, an unchanged recomputation, and a changed one that needs a
reason before it becomes version 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from civic.evaluation import approve_adjustment, snapshots
from civic.settings import get_settings
from ops.cli import main
from storage.db import session_factory
from storage.models import AgencyUser, EvaluationAdjustment
from tests.civic.evaluation.fixture_year import CITY, build, fixture_profile, fixture_scheme

COMPUTE = ["evaluation", "compute", "--year", "2026", "--as-of", "2027-01-15T00:00+00:00"]


@pytest.fixture
def city(monkeypatch: pytest.MonkeyPatch) -> str:
    """The fixture city as the configured profile, its year in a fresh SQLite database."""
    monkeypatch.setenv("CIVIC_PROFILES_DIR", str(CITY.parent))
    monkeypatch.setenv("CIVIC_PROFILE", CITY.name)
    get_settings.cache_clear()
    assert main(["migrate"]) == 0
    url = get_settings().database_url
    assert url.startswith("sqlite:///")
    with session_factory(url)() as session:
        profile = fixture_profile()
        build(session, profile, fixture_scheme(profile))
    return url


def approve_urban_leaders(url: str) -> None:
    with session_factory(url)() as session:
        li = session.scalars(select(AgencyUser).where(AgencyUser.username == "li")).one()
        row = session.scalars(
            select(EvaluationAdjustment).where(
                EvaluationAdjustment.agency == "urban-management",
                EvaluationAdjustment.kind == "leaders",
            )
        ).one()
        approve_adjustment(session=session, user=li, adjustment=row)
        session.commit()


def test_compute_prints_the_ranking_and_freezes_version_1(
    city: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main([*COMPUTE, "--by", "zhang", "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:6] == [
        "[1/6] survey index per department",
        "[2/6] service window ratings",
        "[3/6] ticket indicators and their five-year trend",
        "[4/6] entered figures",
        "[5/6] district scorecards",
        "[6/6] scoring, ranking and bands",
    ]
    table = lines[lines.index("") + 1 :]
    assert table[:5] == [
        "Fixture City 2026 evaluation: 3 departments, computed as of 2027-01-15T00:00:00+00:00",
        "rank    department                         public    targets    leaders      bonus"
        "    penalty      total  band",
        "1       Water Affairs Bureau                46.64      35.31       4.50       3.00"
        "       0.00      89.45  Satisfactory",
        "2       City Management Bureau              42.03      41.25       0.00       1.00"
        "       0.00      84.28",
        "3       Transport Bureau                    36.80      27.75       3.00       0.00"
        "       1.00      66.55  Unsatisfactory",
    ]
    assert table[6:] == [
        "District scorecards (residents' satisfaction; tickets filed there):",
        "  Xihu: satisfaction 92.0 (n=5); tickets 6; on time 83%; median 5.0 h",
        "  Binjiang: satisfaction 84.0 (n=5); tickets 5; on time 40%; median 27.0 h",
        "! City Management Bureau: no approved leaders' evaluation; counted as 0.",
        "Frozen as version 1 of 2026.",
    ]
    with session_factory(city)() as session:
        [snapshot] = snapshots(session=session, year=2026)
        assert (snapshot.version, snapshot.created_by) == (1, "zhang")


def test_the_ranking_in_chinese(city: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    # a moment without a zone is city time: 08:00 in Hangzhou is midnight UTC
    city_time = ["evaluation", "compute", "--year", "2026", "--as-of", "2027-01-15T08:00"]
    assert main([*city_time, "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "样例市2026年度综合考评：3 个单位，数据截至 2027-01-15T00:00:00+00:00" in out
    water = (
        "1       水务局" + " " * 30 + "46.64      35.31       4.50       3.00       0.00      89.45"
    )
    assert f"{water}  满意单位" in out
    assert out[-1] == "未固化（--dry-run）。"
    with session_factory(city)() as session:
        assert snapshots(session=session, year=2026) == []


def test_recomputing_freezes_a_new_version_only_with_a_reason(
    city: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*COMPUTE, "--lang", "en"]) == 0
    assert main([*COMPUTE, "--lang", "en"]) == 0
    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .startswith("Unchanged: the figures are those of version 1 of 2026, frozen ")
    )
    approve_urban_leaders(city)
    assert main([*COMPUTE, "--lang", "en"]) == 1
    assert capsys.readouterr().out.splitlines()[-4:] == [
        "Changed since version 1:",
        "  City Management Bureau: total 84.28 → 88.28 (+4.00)",
        "  2 input figures changed (the snapshot's diff lists them)",
        "The figures differ from version 1: give --reason to freeze them as the next version. "
        "Nothing was frozen.",
    ]
    assert main([*COMPUTE, "--lang", "en", "--reason", "leaders' score approved late"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Frozen as version 2 of 2026."
    with session_factory(city)() as session:
        versions = snapshots(session=session, year=2026)
        assert [(s.version, s.reason) for s in versions] == [
            (1, None),
            (2, "leaders' score approved late"),
        ]


def test_a_year_without_a_scheme(city: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["evaluation", "compute", "--year", "2030", "--lang", "en"]) == 1
    assert capsys.readouterr().out.strip() == (
        f"No evaluation scheme for 2030: expected {CITY / 'evaluation' / '2030.yml'}."
    )


def test_the_report_of_a_frozen_version_as_html_in_both_languages(
    city: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*COMPUTE, "--by", "zhang"]) == 0
    capsys.readouterr()
    assert (
        main(["evaluation", "report", "--year", "2026", "--format", "html", "--out", str(tmp_path)])
        == 0
    )
    said = capsys.readouterr().out
    zh, en = tmp_path / "report-2026-v1-zh.html", tmp_path / "report-2026-v1-en.html"
    assert f"已写入：{zh}" in said and f"Written: {en}" in said
    english = en.read_text("utf-8")
    assert "<h1>Social evaluation report 2026</h1>" in english
    # the ranking as frozen, the same figures as the public pages (test_compute.py)
    assert english.index("Water Affairs Bureau") < english.index("City Management Bureau")
    assert "89.45" in english and "84.28" in english and "66.55" in english
    assert "2026 年度社会评价报告" in zh.read_text("utf-8")


def test_the_report_needs_a_frozen_version(
    city: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    capsys.readouterr()
    out = tmp_path / "reports"
    code = main(["evaluation", "report", "--year", "2026", "--lang", "en", "--out", str(out)])
    assert code == 1
    assert capsys.readouterr().out.strip() == (
        "No frozen version 1 of 2026: run civicbot evaluation compute --year 2026 first."
    )
    assert not out.exists()
