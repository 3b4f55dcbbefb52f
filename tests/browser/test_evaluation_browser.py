"""The desk's public-evaluation pages in a real browser: the evaluation office follows a
campaign and reads the results with a chart per agency. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from civic.agencies import _service as agencies
from civic.city import Profile
from tests.bot.web.desk.test_evaluation import seed_results
from tests.bot.web.desk.test_router import PASSWORD
from tests.browser.conftest import Site, unavailable
from tests.browser.test_desk_browser import AXE, AXE_RUN

with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def results(site: Site, profile: Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    seed_results(site.sessions, profile)


def test_the_office_reads_campaign_progress_and_charts(
    chromium: Any, site: Site, results: None, artifacts: Path
) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{site.url}/desk/login?lang=zh")
    page.get_by_label("用户名").fill("office")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="公众评价").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("公众评价")
    page.get_by_role("link", name="#1 Annual 2026").click()
    expect(page.locator("progress")).to_have_attribute("value", "0")
    expect(page.locator("table.inbox")).to_contain_text("district=xihu")
    page.screenshot(path=str(artifacts / "desk-campaign.png"), full_page=True)
    page.goto(f"{site.url}/desk/evaluation/results/annual_satisfaction")
    chart = page.get_by_role("img", name="城市管理局各题满意度指数及 95% 置信区间的条形图")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.complete && img.naturalWidth > 300")
    expect(page.locator("table.inbox")).to_contain_text("城市管理局")
    page.screenshot(path=str(artifacts / "desk-results.png"), full_page=True)


def test_the_evaluation_pages_pass_axe(chromium: Any, site: Site, results: None) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{site.url}/desk/login?lang=en")
    page.get_by_label("Username").fill("office")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    found = {}
    for path in [
        "/desk/evaluation",
        "/desk/evaluation/campaigns/1",
        "/desk/evaluation/results/annual_satisfaction",
    ]:
        page.goto(site.url + path)
        page.add_script_tag(path=str(AXE))
        found[path] = page.evaluate(AXE_RUN)
    context.close()
    assert found == {path: [] for path in found}
