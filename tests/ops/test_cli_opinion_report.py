"""`civicbot opinion report` end to end on SQLite, over the hand-countable comments and
notices of tests/bot/web/notice_fixture.py: the progress, the HTML in both languages (top
problems, the significant changes, the sources, the notices of the year), nothing of a
comment's text or a person, and the PDF printed by Chromium, its pages rendered to PNG
in tests/artifacts/. Also the evaluation report's section on the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.web import gather_opinion, render_report
from civic.city import get_profile
from civic.evaluation import compute, freeze, frozen_result, versions
from civic.opinion import codebook_path, load_codebook
from civic.settings import PROJECT_ROOT, get_settings
from ops.cli import main
from storage.db import session_factory
from tests.bot.web.notice_fixture import OFFICER, SECRET_COMMENT, build_comments, build_notices
from tests.bot.web.test_results import table, text
from tests.browser.conftest import CHROMIUM, unavailable
from tests.civic.evaluation.fixture_year import AS_OF, build, fixture_profile, fixture_scheme

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"


@pytest.fixture
def city() -> str:
    """The demo city's profile (the default) with the fixture's comments and notices."""
    assert main(["migrate"]) == 0
    url = get_settings().database_url
    with session_factory(url)() as session:
        build_notices(session)
        build_comments(session)
    return url


def test_the_report_as_html_in_both_languages(
    city: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    capsys.readouterr()
    command = ["opinion", "report", "--year", "2026", "--format", "html", "--out", str(tmp_path)]
    assert main([*command, "--lang", "both"]) == 0
    zh, en = tmp_path / "opinion-2026-zh.html", tmp_path / "opinion-2026-en.html"
    assert capsys.readouterr().out.splitlines() == [
        "[1/4] 2026 年突出问题",
        "[2/4] 与 2025 年相比的变化",
        "[3/4] 意见来源",
        "[4/4] 2026 年下发的整改通知",
        f"已写入：{zh}",
        f"Written: {en}",
    ]
    english = en.read_text("utf-8")
    words = text(english)
    assert "<h1>Public-opinion analysis 2026</h1>" in english
    assert "200 comments were collected in 2026 (100 in 2025)." in words
    # rank, problem, comments, share, accepted, suggested, 2025, change, p
    assert table(english, "The problems raised most in 2026")[1:] == [
        ["1", "Bus frequency and punctuality", "100", "50.0%", "0", "100", "90", "+10", "< 0.001"],
        ["2", "Long waits for registration", "40", "20.0%", "10", "30", "10", "+30", "0.028"],
        ["3", "Medical cost", "20", "10.0%", "0", "20", "0", "+20", "0.001"],
    ]
    # the chart, and its text for those who cannot see it
    assert "The top problems: 1. Bus frequency and punctuality 100 (50.0%);" in english
    # registration's p worked by hand in tests/civic/opinion/test_trends.py
    assert "Long waits for registration: 10.0% → 20.0% (+10.0 points, p = 0.028)" in words
    rises, falls = words.split("Significant rises")[1].split("Significant falls")
    assert "Medical cost" in rises and "Bus frequency" not in rises
    assert "Bus frequency and punctuality: 90.0% → 50.0% (-40.0 points, p < 0.001)" in falls
    assert table(english, "Comments collected in 2026, by source")[1:] == [
        ["complaints", "130", "65.0%"],
        ["survey answers", "10", "5.0%"],
        ["window comments", "20", "10.0%"],
        ["reopen reasons", "40", "20.0%"],
    ]
    notices = table(english, "Notices issued in 2026 and where each stands")[1:]
    assert [row[:4] for row in notices] == [
        [
            "HZ-2025-001",
            "Health Commission",
            "Long waits for registration",
            "committed, work under way",
        ],
        ["HZ-2025-004", "Transport Bureau", "Rectified within the target time", "verified"],
    ]
    assert notices[0][5] == "2 of 4 done; 2 late"
    assert (
        notices[0][6] == "after the commitment: 3 better, 1 the same, 1 worse of 5 (60.0% better)"
    )
    for hidden in (SECRET_COMMENT, OFFICER, "HZ-2025-002", "HZ-2025-003"):
        assert hidden not in english
    chinese = zh.read_text("utf-8")
    assert "2026 年度民意分析报告" in chinese
    assert "挂号排队时间长：10.0% → 20.0%（+10.0 个百分点，p = 0.028）" in text(chinese)


def test_a_year_without_comments_or_notices_says_so(
    city: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    command = ["opinion", "report", "--year", "2030", "--format", "html", "--lang", "en"]
    assert main([*command, "--out", str(tmp_path)]) == 0
    words = text((tmp_path / "opinion-2030-en.html").read_text("utf-8"))
    assert "No coded comments in 2030." in words
    assert "No improvement notice was issued in 2030." in words


def test_the_evaluation_report_ends_with_the_top_problems_and_notices(city: str) -> None:
    settings = get_settings()
    profile = get_profile(settings.profiles_dir, settings.profile)
    codebook = load_codebook(codebook_path(profile), profile)
    # any frozen evaluation will do for the section: the fixture city's, frozen here
    fixture = fixture_profile()
    scheme = fixture_scheme(fixture)
    with session_factory(city)() as session:
        opinion = gather_opinion(session=session, profile=profile, codebook=codebook, year=2026)
        build(session, fixture, scheme)
        freeze(
            session=session,
            result=compute(session=session, scheme=scheme, profile=fixture, as_of=AS_OF),
            created_by="office",
        )
        session.commit()
        [version] = versions(session=session, year=2026)
        result = frozen_result(session=session, snapshot_id=version.id)
    assert result is not None
    html = render_report(result=result, scheme=scheme, version=version, lang="en", opinion=opinion)
    assert "Top problems and improvement notices" in text(html)
    assert table(html, "The problems raised most in 2026")[1][1] == "Bus frequency and punctuality"
    assert table(html, "Notices issued in 2026")[1][0] == "HZ-2025-001"
    without = render_report(result=result, scheme=scheme, version=version, lang="en")
    assert "Top problems and improvement notices" not in without


@pytest.mark.parametrize(
    ("lang", "title"), [("zh", "2026 年度民意分析报告"), ("en", "Public-opinion analysis 2026")]
)
def test_the_report_prints_to_pdf(
    city: str, capsys: pytest.CaptureFixture[str], lang: str, title: str
) -> None:
    """The PDF through the command; its pages rendered to PNG and kept as artefacts."""
    import pypdfium2 as pdfium

    if not CHROMIUM.is_file():
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    command = ["opinion", "report", "--year", "2026", "--format", "pdf", "--lang", lang]
    assert main([*command, "--out", str(ARTIFACTS)]) == 0
    target = ARTIFACTS / f"opinion-2026-{lang}.pdf"
    document = pdfium.PdfDocument(str(target))
    # cover, summary and top problems, the changes and sources, the notices
    assert len(document) >= 4
    assert title in document[0].get_textpage().get_text_range()
    whole = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "HZ-2025-001" in whole and "HZ-2025-002" not in whole
    for number in range(len(document)):
        image = document[number].render(scale=1).to_pil()
        assert image.width > 500 and image.getextrema() != ((255, 255),) * 3
        image.save(ARTIFACTS / f"opinion-2026-{lang}-page{number + 1:02d}.png")
    document.close()
