"""The desk's public-opinion trend pages in a real browser: the evaluation office opens them
from the menu, reads the top problems, follows one to its monthly chart, in Chinese and in
English, on a desktop and on a phone; axe-core finds no accessibility violation.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from civic.agencies import _service as agencies
from civic.city import Profile
from tests.bot.web.desk.test_opinion_trends import seed_trends
from tests.bot.web.desk.test_router import PASSWORD
from tests.browser.conftest import Site, unavailable
from tests.browser.test_desk_browser import AXE, AXE_RUN

with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TRENDS = "/desk/opinion/trends?year=2026"


@pytest.fixture
def comments(site: Site, profile: Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    seed_trends(site.sessions, profile)


def _sign_in(page: Any, site: Site, lang: str) -> None:
    page.goto(f"{site.url}/desk/login?lang={lang}")
    english = lang == "en"
    page.get_by_label("Username" if english else "用户名").fill("office")
    page.get_by_label("Password" if english else "密码").fill(PASSWORD)
    page.get_by_role("button", name="Sign in" if english else "登录").click()


def test_the_office_follows_a_significant_problem_to_its_chart(
    chromium: Any, site: Site, comments: None, artifacts: Path
) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(page, site, "zh")
    page.get_by_role("link", name="民意分析").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("民意分析趋势")
    page.goto(site.url + TRENDS)
    top = page.locator("table.top-problems")
    expect(top.locator("#top-hospital-registration")).to_contain_text("▲ 是，显著")
    expect(top.locator("#top-bus-frequency")).to_contain_text("否")
    page.screenshot(path=str(artifacts / "desk-opinion-trends-zh.png"), full_page=True)

    page.get_by_role("link", name="查看“挂号排队时间长”详情").click()
    chart = page.get_by_role("img", name="2026 年与 2025 年各月关于“挂号排队时间长”的意见占比")
    expect(chart).to_be_visible()
    expect(page.locator("table.chart-table tbody tr").first).to_contain_text("24.0%")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    title = "Share of comments about Long waits for registration, by month, 2026 and 2025"
    expect(page.get_by_role("img", name=title)).to_be_visible()
    page.screenshot(path=str(artifacts / "desk-opinion-trends-code-en.png"), full_page=True)


def test_on_a_phone_nothing_spills_sideways(
    chromium: Any, site: Site, comments: None, artifacts: Path
) -> None:
    page = chromium.new_page(viewport=PHONE)
    _sign_in(page, site, "zh")
    page.goto(f"{site.url}{TRENDS}&code=hospital-registration")
    expect(page.get_by_role("heading", level=1)).to_have_text("民意分析趋势")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "desk-opinion-trends-phone-zh.png"), full_page=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_trend_pages_pass_axe(chromium: Any, site: Site, comments: None, lang: str) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    # The desk forbids every script; axe is let in only to inspect the pages.
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    _sign_in(page, site, lang)
    found = {}
    for path in [
        f"{TRENDS}&lang={lang}",
        f"{TRENDS}&code=hospital-registration&lang={lang}",
        f"{TRENDS}&level=theme&grain=year&by=district&lang={lang}",
        f"{TRENDS}&grain=week&lang={lang}",  # the 400 page
    ]:
        page.goto(site.url + path)
        page.add_script_tag(path=str(AXE))
        found[path] = page.evaluate(AXE_RUN)
    context.close()
    assert found == {path: [] for path in found}
