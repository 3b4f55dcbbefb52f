"""The public results of a demo year in a real browser: a resident reads the ranking,
follows a department and a district, reads the method, in Chinese and in English, on a
desktop and on a phone; axe-core finds no accessibility violation on any page; the
keyboard reaches every link. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.web import create_app, print_pdf, render_report
from civic.city import Profile, load_profile
from civic.demo import SeedOptions, seed_demo
from civic.evaluation import (
    compute,
    freeze,
    frozen_result,
    load_scheme,
    scheme_path,
    versions,
)
from civic.opendata import BOM, publish, validate
from civic.settings import PROJECT_ROOT
from civic.surveys import sync_profile_surveys
from storage.db import engine_for, migrate, session_factory
from tests.browser.conftest import CHROMIUM, STARTUP_SECONDS, Site, _free_port, unavailable
from tests.browser.test_desk_browser import AXE, AXE_RUN

with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

pytestmark = pytest.mark.browser

YEAR = 2026
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A demo year (smaller than `civicbot demo seed`'s, the same generator), computed
    and frozen, served by the whole web app in a thread."""
    profile: Profile = load_profile(PROJECT_ROOT / "profiles" / "hangzhou")
    url = f"sqlite:///{tmp_path_factory.mktemp('results') / 'demo.db'}"
    migrate(url)
    sessions = session_factory(url)
    options = SeedOptions(year=YEAR, tickets=3000, responses=6000, ratings=1500)
    with sessions() as session:
        sync_profile_surveys(
            session=session, directory=profile.path / "surveys", agencies=profile.agencies
        )
        session.commit()
        seed_demo(session=session, profile=profile, options=options, now=NOW)
        session.commit()
        scheme = load_scheme(scheme_path(profile, YEAR), profile)
        result = compute(session=session, scheme=scheme, profile=profile, as_of=NOW)
        freeze(session=session, result=result, created_by="office")
        session.commit()
    app = create_app(None, sessions=sessions, profile=profile)  # type: ignore[arg-type]
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="results-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"the web app did not start on port {port}")
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", sessions)
    server.should_exit = True
    thread.join(timeout=10)
    engine_for(url).dispose()


def test_a_resident_reads_the_ranking_and_follows_a_department(
    chromium: Any, demo_site: Site, artifacts: Path
) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.goto(f"{demo_site.url}/evaluation/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{YEAR} 年度社会评价")
    ranking = page.locator("table", has=page.locator("caption", has_text="总分排名"))
    rows = ranking.locator("tbody tr")
    assert rows.count() >= 3
    first = rows.first.locator("td").first
    expect(first).to_have_text("1")
    chart = page.get_by_role("img", name=f"{YEAR} 年度参加排名单位得分")
    expect(chart).to_be_visible()
    page.screenshot(path=str(artifacts / "results-overview-zh.png"), full_page=True)

    leader = rows.first.locator("th a")
    name = leader.inner_text()
    leader.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator("p.lead")).to_contain_text("第 1 名")
    expect(page.locator("p.figure").first).to_contain_text("95% 置信区间")
    trend = page.get_by_role("img", name="按时办结率，五年趋势")
    expect(trend).to_be_visible()
    page.screenshot(path=str(artifacts / "results-agency-zh.png"), full_page=True)

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("p.lead")).to_contain_text("Rank 1 of")
    page.screenshot(path=str(artifacts / "results-agency-en.png"), full_page=True)


def test_a_district_and_the_method_in_english(
    chromium: Any, demo_site: Site, artifacts: Path
) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page.goto(f"{demo_site.url}/evaluation/{YEAR}/")
    page.get_by_role("link", name="Xihu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Xihu")
    expect(page.locator("p.figure")).to_contain_text("Satisfaction index")
    page.screenshot(path=str(artifacts / "results-district-en.png"), full_page=True)
    page.get_by_role("link", name="Method").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"How the {YEAR} results are made")
    expect(page.locator("main")).to_contain_text("verified phone")
    page.screenshot(path=str(artifacts / "results-method-en.png"), full_page=True)


def test_on_a_phone_nothing_spills_sideways(
    chromium: Any, demo_site: Site, artifacts: Path
) -> None:
    page = chromium.new_page(viewport=PHONE, locale="zh-CN")
    page.goto(f"{demo_site.url}/evaluation/{YEAR}/")
    # wide tables scroll inside their own region; the page itself does not
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "results-overview-phone-zh.png"), full_page=True)


def test_the_keyboard_reaches_the_language_switch_and_the_first_department(
    chromium: Any, demo_site: Site
) -> None:
    page = chromium.new_page(locale="en-GB")
    page.goto(f"{demo_site.url}/evaluation/{YEAR}/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the results")
    page.keyboard.press("Enter")
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.getAttribute('href') || ''"))
    assert any("/agencies/" in href for href in reached)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_axe_finds_no_accessibility_violations(chromium: Any, demo_site: Site, lang: str) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{demo_site.url}/evaluation/{YEAR}/?lang={lang}")
    agency = page.locator("tbody th a").first.get_attribute("href")
    paths = [
        f"/evaluation/{YEAR}/?lang={lang}",
        agency,
        f"/evaluation/{YEAR}/districts/xihu?lang={lang}",
        f"/evaluation/{YEAR}/method?lang={lang}",
        f"/evaluation/{YEAR + 5}/?lang={lang}",  # the not-found page
    ]
    found = {}
    for path in paths:
        page.goto(f"{demo_site.url}{path}")
        page.add_script_tag(path=str(AXE))
        found[path] = page.evaluate(AXE_RUN)
    context.close()
    assert found == {path: [] for path in paths}


def test_the_demo_years_open_data_validates_against_its_dictionary(
    demo_site: Site, tmp_path: Path
) -> None:
    """Not a browser test, but the same demo year: its bulk files check out."""
    profile = load_profile(PROJECT_ROOT / "profiles" / "hangzhou")
    with demo_site.sessions() as session:
        published = publish(session=session, profile=profile, out_dir=tmp_path, now=NOW)
    assert validate(tmp_path) == []
    rows = {w.table: w.rows for w in published.written}
    assert rows["tickets"] >= 3000 and rows["indicators"] > 0
    assert (tmp_path / "tickets.csv").read_text("utf-8").startswith(BOM)


@pytest.mark.parametrize(
    ("lang", "title"), [("zh", "2026 年度社会评价报告"), ("en", "Social evaluation report 2026")]
)
def test_the_annual_report_prints_to_pdf_with_a_page_per_department(
    demo_site: Site, artifacts: Path, lang: str, title: str
) -> None:
    """The PDF from the frozen version; its pages rendered to PNG and kept as artefacts."""
    import pypdfium2 as pdfium

    profile = load_profile(PROJECT_ROOT / "profiles" / "hangzhou")
    scheme = load_scheme(scheme_path(profile, YEAR), profile)
    with demo_site.sessions() as session:
        [version] = versions(session=session, year=YEAR)
        result = frozen_result(session=session, snapshot_id=version.id)
    assert result is not None
    html = render_report(result=result, scheme=scheme, version=version, lang=lang)
    target = artifacts / f"report-{YEAR}-{lang}.pdf"
    print_pdf(html, target, browser=str(CHROMIUM))
    document = pdfium.PdfDocument(str(target))
    # cover, summary and ranking, a page (or more) per department, districts, method
    assert len(document) >= len(result["agencies"]) + 4
    first = document[0].get_textpage().get_text_range()
    assert title in first
    leader = next(a for a in result["agencies"] if a["rank"] == 1)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert leader["name"][lang] in text and f"{leader['total']:.2f}" in text
    for number in range(len(document)):
        image = document[number].render(scale=1).to_pil()
        assert image.width > 500 and image.getextrema() != ((255, 255),) * 3
        image.save(artifacts / f"report-{YEAR}-{lang}-page{number + 1:02d}.png")
    document.close()
