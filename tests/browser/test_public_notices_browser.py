"""The public improvement-notice pages in a real browser, over the notices of
tests/bot/web/notice_fixture.py: a resident filters the list, opens a notice and reads its
history, in Chinese and in English, on a desktop and on a phone; axe-core finds no
accessibility violation; the keyboard reaches the filters and the notices; the pages run
under their strict CSP. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.web import create_app
from civic.city import Profile, load_profile
from civic.settings import PROJECT_ROOT
from storage.db import engine_for, migrate, session_factory
from tests.bot.web.notice_fixture import OFFICER, SECRET_COMMENT, build_notices
from tests.browser.conftest import STARTUP_SECONDS, Site, _free_port, unavailable
from tests.browser.test_desk_browser import AXE, AXE_RUN

with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def notices_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The fixture's notices, served by the whole web app in a thread."""
    profile: Profile = load_profile(PROJECT_ROOT / "profiles" / "hangzhou")
    url = f"sqlite:///{tmp_path_factory.mktemp('notices') / 'notices.db'}"
    migrate(url)
    sessions = session_factory(url)
    with sessions() as session:
        build_notices(session)
    app = create_app(None, sessions=sessions, profile=profile)  # type: ignore[arg-type]
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="notices-uvicorn", daemon=True)
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


def test_a_resident_filters_the_list_and_reads_a_notice(
    chromium: Any, notices_site: Site, artifacts: Path
) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    page.goto(f"{notices_site.url}/notices/")
    expect(page.get_by_role("heading", level=1)).to_have_text("绩效整改通知")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    page.screenshot(path=str(artifacts / "notices-list-zh.png"), full_page=True)

    page.get_by_role("navigation", name="单位").get_by_role("link", name="卫生健康委员会").click()
    expect(rows).to_have_count(1)
    expect(page.locator("caption")).to_contain_text("卫生健康委员会")
    page.get_by_role("link", name="HZ-2025-001").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("整改通知 HZ-2025-001")
    chart = page.get_by_role("img", name="2025 年关于“挂号排队时间长”的每月意见数")
    expect(chart).to_be_visible()
    milestones = page.locator("table", has=page.locator("caption", has_text="整改承诺的节点"))
    expect(milestones.locator("td.late")).to_have_count(2)
    main = page.locator("main")
    expect(main).not_to_contain_text(OFFICER)
    expect(main).not_to_contain_text(SECRET_COMMENT)
    page.screenshot(path=str(artifacts / "notice-detail-zh.png"), full_page=True)

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("p.lead")).to_contain_text("To Health Commission")
    expect(main).to_contain_text("3 (60.0%)")
    page.screenshot(path=str(artifacts / "notice-detail-en.png"), full_page=True)
    # the strict CSP let the page load nothing it refused
    assert [e for e in errors if "Content Security Policy" in e] == []


def test_a_bad_filter_and_an_unknown_notice_in_english(
    chromium: Any, notices_site: Site, artifacts: Path
) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    answer = page.goto(f"{notices_site.url}/notices/?status=proposed")
    assert answer is not None and answer.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("Not a valid filter")
    answer = page.goto(f"{notices_site.url}/notices/HZ-2025-002")
    assert answer is not None and answer.status == 404
    expect(page.locator("main")).to_contain_text("There is no published notice HZ-2025-002.")
    page.get_by_role("link", name="All notices").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Performance improvement notices")
    page.screenshot(path=str(artifacts / "notices-list-en.png"), full_page=True)


def test_on_a_phone_nothing_spills_sideways(
    chromium: Any, notices_site: Site, artifacts: Path
) -> None:
    page = chromium.new_page(viewport=PHONE, locale="zh-CN")
    for path, name in (("/notices/", "list"), ("/notices/HZ-2025-001", "detail")):
        page.goto(f"{notices_site.url}{path}")
        # wide tables scroll inside their own region; the page itself does not
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(artifacts / f"notices-{name}-phone-zh.png"), full_page=True)


def test_the_keyboard_reaches_the_filters_and_a_notice(chromium: Any, notices_site: Site) -> None:
    page = chromium.new_page(locale="en-GB")
    page.goto(f"{notices_site.url}/notices/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the notices")
    page.keyboard.press("Enter")
    reached = []
    for _ in range(30):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.getAttribute('href') || ''"))
    assert any("status=verified" in href for href in reached)
    assert any("agency=health" in href for href in reached)
    assert any(href.startswith("/notices/HZ-2025-001") for href in reached)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_axe_finds_no_accessibility_violations(
    chromium: Any, notices_site: Site, lang: str
) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    paths = [
        f"/notices/?lang={lang}",
        f"/notices/?agency=health&lang={lang}",
        f"/notices/HZ-2025-001?lang={lang}",
        f"/notices/HZ-2025-004?lang={lang}",
        f"/notices/HZ-2025-002?lang={lang}",  # the not-found page
        f"/notices/?status=nope&lang={lang}",  # the bad-filter page
    ]
    found = {}
    for path in paths:
        page.goto(f"{notices_site.url}{path}")
        page.add_script_tag(path=str(AXE))
        found[path] = page.evaluate(AXE_RUN)
    context.close()
    assert found == {path: [] for path in paths}
