"""The citizen's report page and the public map and list of reports in a real browser:
a citizen on a phone reads their report and adds information and a photo; a resident
filters the map and list; the keyboard reaches every control; axe-core finds no
accessibility violation; nothing spills sideways at phone width; the strict CSP refuses
nothing the pages need. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Ticket
from tests.bot.web.reports.report_fixture import DESK_NOTE, build_report
from tests.browser.conftest import Site, png, unavailable
from tests.browser.test_desk_browser import AXE, AXE_RUN

with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
FOCUSED = "document.activeElement.tagName + '#' + document.activeElement.id"


def report(site: Site, language: str = "zh") -> tuple[str, str]:
    with site.sessions() as session:
        return build_report(session, language=language)


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_citizen_on_a_phone_reads_their_report_and_adds_a_photo(
    chromium: Any, site: Site, artifacts: Path, tmp_path: Path
) -> None:
    number, token = report(site)
    page = chromium.new_page(viewport=PHONE, locale="zh-CN")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    page.goto(f"{site.url}/my-report/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"诉件 {number}")
    expect(page.locator("ol.history > li")).to_have_count(4)
    expect(page.locator("main")).not_to_contain_text(DESK_NOTE)
    expect(page.get_by_role("img", name="部门附上的照片：已整改")).to_be_visible()
    no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "report-page-phone-zh.png"), full_page=True)

    photo = tmp_path / "lamp.png"
    photo.write_bytes(png(40, 30, (200, 60, 60)))
    page.get_by_label("补充说明（可不填）").fill("晚上又不亮了")
    page.get_by_label("照片（可不选）").set_input_files(str(photo))
    page.get_by_role("button", name="发送给承办部门").click()
    expect(page.get_by_role("status")).to_have_text("谢谢，承办部门已能看到您补充的内容。")
    added = page.locator("ol.history > li.added")
    expect(added).to_contain_text("晚上又不亮了")
    expect(added.get_by_role("img", name="您补充的照片")).to_be_visible()
    no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "report-page-added-phone-zh.png"), full_page=True)
    with site.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.events[-1].note == "晚上又不亮了" and ticket.events[-1].photo

    # an empty form is answered on the page, in English after the switch
    page.get_by_role("link", name="English").click()
    page.get_by_role("button", name="Send to the department").click()
    expect(page.get_by_role("alert")).to_contain_text("Please write something or choose a photo.")
    assert [e for e in errors if "Content Security Policy" in e] == []


def test_a_resident_filters_the_map_and_list_on_a_phone(
    chromium: Any, site: Site, artifacts: Path
) -> None:
    report(site)
    page = chromium.new_page(viewport=PHONE, locale="en-GB")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    page.goto(f"{site.url}/reports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports in the city")
    expect(page.get_by_role("img", name="Map of the reports")).to_be_visible()
    expect(page.locator("svg path.district")).to_have_count(13)
    expect(page.locator("svg circle.dot")).to_have_count(1)
    no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "reports-map-phone-en.png"), full_page=True)

    page.get_by_label("District", exact=True).select_option("xihu")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("main")).to_contain_text("No report matches.")
    expect(page.locator("svg circle.dot")).to_have_count(0)
    page.get_by_label("District", exact=True).select_option("binjiang")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table tbody tr")).to_have_count(1)
    page.get_by_role("link", name="中文").click()
    expect(page.locator("caption")).to_contain_text("滨江区")
    no_sideways_scroll(page)
    assert [e for e in errors if "Content Security Policy" in e] == []


def test_the_keyboard_reaches_every_control(chromium: Any, site: Site) -> None:
    _, token = report(site, "en")
    page = chromium.new_page(locale="en-GB")
    for path, wanted in (
        (f"/my-report/{token}", {"TEXTAREA#text", "INPUT#photo", "BUTTON#"}),
        ("/reports/", {"SELECT#filter-district", "SELECT#filter-category", "BUTTON#"}),
    ):
        page.goto(f"{site.url}{path}")
        page.keyboard.press("Tab")
        expect(page.locator(":focus")).to_have_text("Skip to the content")
        page.keyboard.press("Enter")
        reached = set()
        for _ in range(25):
            page.keyboard.press("Tab")
            reached.add(page.evaluate(FOCUSED))
        assert wanted <= reached, (path, reached)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_axe_finds_no_accessibility_violations(chromium: Any, site: Site, lang: str) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    _, token = report(site)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    paths = [
        f"/my-report/{token}?lang={lang}",
        f"/my-report/{token}x?lang={lang}",  # the not-found page
        f"/reports/?lang={lang}",
        f"/reports/?district=binjiang&status=rectified&lang={lang}",
        f"/reports/?district=atlantis&lang={lang}",  # the bad-filter page
    ]
    found = {}
    for path in paths:
        page.goto(f"{site.url}{path}")
        page.add_script_tag(path=str(AXE))
        found[path] = page.evaluate(AXE_RUN)
    # the page with an error shown
    page.goto(f"{site.url}/my-report/{token}?lang={lang}")
    page.locator("button[type=submit]").click()
    page.wait_for_selector("[role=alert]")
    page.add_script_tag(path=str(AXE))
    found["error"] = page.evaluate(AXE_RUN)
    context.close()
    assert found == {path: [] for path in [*paths, "error"]}
