"""The agency desk in a real browser: an officer signs in, finds a ticket in the inbox,
accepts it, reports progress and the fix with a photo, and sees the timeline grow; a
citizen's markup stays text and never runs. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from civic.agencies import create_user
from civic.city import Profile
from civic.feedback import record_feedback
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import create_ticket
from storage.media import MediaStore
from storage.models import utcnow
from tests.browser.conftest import Site, png, unavailable

if TYPE_CHECKING:
    from playwright.sync_api import Page
# Without Playwright the chromium fixture skips, or fails under CIVIC_REQUIRE_SERVICES.
with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
PHONE = {"width": 375, "height": 740}


def _file(site: Site, description: str, due_in: timedelta, **extra: Any) -> str:
    with site.sessions.begin() as session:
        ticket = create_ticket(
            session=session,
            citizen_id=None,
            description=description,
            language="zh",
            decision=RoutingDecision(
                category=extra.pop("category", "street-light"),
                agency=extra.pop("agency", "urban-management"),
                district="binjiang",
                confidence=0.9,
            ),
            ticket_prefix="HZ",
            due_at=utcnow() + due_in,
            timezone="Asia/Shanghai",
            **extra,
        )
        return ticket.number or ""


@pytest.fixture
def tickets(site: Site, profile: Profile) -> dict[str, str]:
    with site.sessions.begin() as session:
        create_user(
            session=session,
            username="li",
            password=PASSWORD,
            agency="urban-management",
            role="officer",
            display_name="Li Wei",
            known_agencies=set(profile.agencies),
        )
    photo = MediaStore(get_settings().var_dir / "media").save(png(320, 200, (90, 140, 200)))
    return {
        "lamp": _file(
            site,
            "滨江区江南大道的路灯坏了三天，晚上很黑。\nThe street lights have been out for days.",
            timedelta(hours=20, minutes=30),
            address_text="江南大道 588 号附近",
            lat=30.2084,
            long=120.2118,
            photo=photo,
        ),
        "late": _file(
            site,
            "Overflowing bins by the market",
            timedelta(hours=-3),
            category="garbage-collection",
        ),
        "xss": _file(site, XSS, timedelta(hours=60)),
        "water": _file(site, "停水了", timedelta(hours=2), category="water-outage", agency="water"),
    }


@pytest.fixture
def feedback(site: Site) -> None:
    """A suggestion and a praise for Li's agency, one of them with markup."""
    with site.sessions.begin() as session:
        for kind, text in [("suggestion", XSS), ("praise", "城管队员清理得很干净")]:
            record_feedback(
                session=session,
                kind=kind,
                citizen=None,
                text=text,
                language="zh",
                agency="urban-management",
                district="binjiang",
            )


def _sign_in(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/desk/login?lang=en")
    page.get_by_label("Username").fill("li")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")


def test_an_officer_works_a_ticket_to_rectified(
    chromium: Any, site: Site, tickets: dict[str, str], artifacts: Path
) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 860})
    _sign_in(page, site)
    numbers = page.locator("table.inbox tbody th[scope=row]")
    expect(numbers).to_have_text([tickets["late"], tickets["lamp"], tickets["xss"]])
    expect(page.locator("tr.overdue")).to_contain_text("overdue by 3 h")
    expect(page.locator("table.inbox tbody tr").nth(1)).to_contain_text("due in 20 h")
    page.screenshot(path=str(artifacts / "desk-inbox.png"), full_page=True)

    page.get_by_role("link", name=tickets["lamp"]).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Ticket {tickets['lamp']}")
    expect(page.locator("img.photo")).to_have_js_property("naturalWidth", 320)
    page.get_by_role("button", name="Accept the ticket").click()
    expect(page.get_by_role("status")).to_have_text("The ticket is accepted.")

    page.get_by_role("textbox", name="Progress note (optional)").fill("Crew booked for tonight.")
    expect(page.get_by_label("Public (the citizen sees this note)")).to_be_checked()
    page.get_by_role("button", name="Save the note").click()
    expect(page.get_by_role("status")).to_have_text("The progress note is saved.")
    expect(page.locator("#timeline > li").last).to_contain_text("Crew booked for tonight.")
    page.screenshot(path=str(artifacts / "desk-ticket.png"), full_page=True)

    page.get_by_role("textbox", name="What was done (required)").fill("All six lamps replaced.")
    page.get_by_label(re.compile("Photo of the work")).set_input_files(
        files=[
            {"name": "after.png", "mimeType": "image/png", "buffer": png(160, 100, (60, 170, 90))}
        ]
    )
    page.get_by_role("button", name="Report it fixed").click()
    expect(page.get_by_role("status")).to_have_text("The rectification is reported.")

    timeline = page.locator("#timeline > li")
    expect(timeline.locator(".change")).to_have_text(
        ["Filed: Submitted", "Submitted → Routed", "Routed → Accepted",
         "Accepted → In progress", "In progress → Rectified"]
    )  # fmt: skip
    expect(timeline.nth(3)).to_contain_text("Crew booked for tonight.")
    expect(timeline.nth(3).locator(".visibility")).to_have_text("Public (the citizen sees it)")
    expect(timeline.nth(4)).to_contain_text("All six lamps replaced.")
    expect(timeline.nth(4).locator("img")).to_have_js_property("naturalWidth", 160)
    expect(page.locator("h1 .status")).to_have_text("Rectified")
    page.screenshot(path=str(artifacts / "desk-ticket-rectified.png"), full_page=True)


def test_a_citizens_markup_is_shown_literally_and_never_runs(
    chromium: Any, site: Site, tickets: dict[str, str]
) -> None:
    page = chromium.new_page()
    _sign_in(page, site)
    page.goto(f"{site.url}/desk/tickets/{tickets['xss']}")
    expect(page.locator("#complaint")).to_have_text(XSS)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#complaint img, #complaint script").count() == 0


def test_the_desk_fits_a_phone_and_speaks_chinese(
    chromium: Any, site: Site, tickets: dict[str, str], artifacts: Path
) -> None:
    page = chromium.new_page(viewport=PHONE)
    _sign_in(page, site)
    page.goto(f"{site.url}/desk/tickets/{tickets['lamp']}?lang=zh")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"工单 {tickets['lamp']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "desk-ticket-phone-zh.png"), full_page=True)
    page.goto(f"{site.url}/desk/")
    expect(page.get_by_role("heading", level=1)).to_have_text("工单列表")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "desk-inbox-phone-zh.png"), full_page=True)


AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => JSON.stringify(n.target)).slice(0, 5),
  }));
}"""


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 860}, PHONE], ids=["desktop", "phone"]
)
def test_axe_finds_no_accessibility_violations(
    chromium: Any, site: Site, tickets: dict[str, str], feedback: None, viewport: dict[str, int]
) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    # The desk forbids every script; axe is let in only to inspect the pages.
    context = chromium.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    found = {}

    def check(path: str) -> None:
        page.goto(site.url + path)
        page.add_script_tag(path=str(AXE))
        found[path] = page.evaluate(AXE_RUN)

    check("/desk/login?lang=zh")
    _sign_in(page, site)
    pages = ["/desk/", f"/desk/tickets/{tickets['lamp']}", "/desk/?status=lost"]
    for path in [*pages, "/desk/suggestions", "/desk/praise"]:
        check(path)
    check(f"/desk/tickets/{tickets['lamp']}?lang=zh")
    context.close()
    assert found == {path: [] for path in found}
