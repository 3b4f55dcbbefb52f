"""The evaluation's entered figures in a real browser, once in Chinese and once in
English: a department's coordinator enters a month's value, one of the evaluation
office's staff enters a bonus item and may not approve it, a second one approves both,
and the audit log shows who did what. Every page passes axe-core; screenshots go to
tests/artifacts/."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from argon2 import PasswordHasher

from civic.agencies import _service as agencies
from civic.agencies import create_user
from civic.city import Profile
from civic.evaluation import indicator_entries
from tests.bot.web.desk.test_router import PASSWORD
from tests.browser.conftest import Site, unavailable
from tests.browser.test_desk_browser import AXE, AXE_RUN

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

pytestmark = pytest.mark.browser

EVIDENCE = {
    "zh": "智慧水表覆盖四万户，获省级表彰",
    "en": "Smart water meters in 40,000 homes (provincial award)",
}
# What each step's page says, in the language the flow is in.
TEXTS = {
    "zh": {
        "username": "用户名",
        "password": "密码",
        "sign_in": "登录",
        "menu": "考评数据录入",
        "values_title": "2026年指标数据",
        "indicator": "指标",
        "month": "月份",
        "value": "数值",
        "note": "说明或佐证材料（选填）",
        "save_value": "保存数值",
        "value_saved": "数值已保存，审核通过后计入考评。",
        "awaiting": "已录入，待审核",
        "points_page": "加减分与审核",
        "agency": "承办机构",
        "what": "项目",
        "points": "分值",
        "evidence": "佐证材料",
        "save_points": "保存分值",
        "points_saved": "分值已保存，审核通过后计入考评。",
        "approve": "审核通过",
        "second_person": "录入人不能审核自己录入的数据，须由另一人审核。",
        "indicator_name": "年度职能目标完成率",
        "approved": "已审核通过，该数据自即日起计入考评。",
        "nothing_pending": "没有待审核的数据。",
        "audit_page": "操作记录",
        "audit_title": "录入数据操作记录",
        "audit_rows": [
            "water.coord 录入 水务局 年度职能目标完成率，2026-03：92.5",
            "zhang 录入 水务局 加分：创新创优项目，1.5 分",
            "li 审核通过 水务局 年度职能目标完成率，2026-03：92.5",
            "li 审核通过 水务局 加分：创新创优项目，1.5 分",
        ],
    },
    "en": {
        "username": "Username",
        "password": "Password",
        "sign_in": "Sign in",
        "menu": "Evaluation figures",
        "values_title": "Indicator values, 2026",
        "indicator": "Indicator",
        "month": "Month",
        "value": "Value",
        "note": "Note or evidence (optional)",
        "save_value": "Save the value",
        "value_saved": "The value is saved; it counts once approved.",
        "awaiting": "Entered, awaiting approval",
        "points_page": "Points and approvals",
        "agency": "Agency",
        "what": "Entry",
        "points": "Points",
        "evidence": "Evidence",
        "save_points": "Save the points",
        "points_saved": "The points are saved; they count once approved.",
        "approve": "Approve",
        "second_person": "Whoever entered a figure may not approve it: a second person must.",
        "indicator_name": "Annual functional targets completed",
        "approved": "Approved: the figure counts from now.",
        "nothing_pending": "Nothing is waiting for approval.",
        "audit_page": "Audit log",
        "audit_title": "Audit log of the entered figures",
        "audit_rows": [
            "water.coord entered Water Affairs Bureau "
            "Annual functional targets completed, 2026-03: 92.5",
            "zhang entered Water Affairs Bureau "
            "Bonus: Innovation and excellence project, 1.5 points",
            "li approved Water Affairs Bureau Annual functional targets completed, 2026-03: 92.5",
            "li approved Water Affairs Bureau Bonus: Innovation and excellence project, 1.5 points",
        ],
    },
}


@pytest.fixture
def people(site: Site, profile: Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agencies, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    with site.sessions.begin() as session:
        for username, agency, role in [
            ("water.coord", "water", "coordinator"),
            ("zhang", None, "staff"),
            ("li", None, "staff"),
        ]:
            create_user(
                session=session,
                username=username,
                password=PASSWORD,
                agency=agency,
                role=role,
                display_name=username.title(),
                known_agencies=set(profile.agencies),
            )


class Flow:
    """One person's browser (scripts allowed only for axe) and the checks it collects."""

    def __init__(self, chromium: Browser, site: Site, lang: str, artifacts: Path) -> None:
        self.chromium, self.site, self.lang, self.artifacts = chromium, site, lang, artifacts
        self.text = TEXTS[lang]
        self.violations: dict[str, Any] = {}

    def sign_in(self, username: str) -> Page:
        context = self.chromium.new_context(
            viewport={"width": 1280, "height": 900}, bypass_csp=True
        )
        page = context.new_page()
        page.goto(f"{self.site.url}/desk/login?lang={self.lang}")
        page.get_by_label(self.text["username"]).fill(username)
        page.get_by_label(self.text["password"]).fill(PASSWORD)
        page.get_by_role("button", name=self.text["sign_in"]).click()
        page.get_by_role("link", name=self.text["menu"]).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(self.text["values_title"])
        return page

    def check(self, page: Page, name: str) -> None:
        """axe-core on the page as it is now, and a screenshot of it."""
        page.add_script_tag(path=str(AXE))
        self.violations[f"{name} ({page.url})"] = page.evaluate(AXE_RUN)
        shot = self.artifacts / f"desk-entries-{self.lang}-{name}.png"
        page.screenshot(path=str(shot), full_page=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_value_and_a_bonus_are_entered_approved_and_audited(
    chromium: Any, site: Site, people: None, artifacts: Path, lang: str
) -> None:
    if not AXE.is_file():
        unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    flow = Flow(chromium, site, lang, artifacts)
    text = flow.text

    coordinator = flow.sign_in("water.coord")
    coordinator.get_by_label(text["indicator"], exact=True).select_option("key_tasks_completion")
    coordinator.get_by_label(text["month"], exact=True).select_option("2026-03")
    coordinator.get_by_label(text["value"], exact=True).fill("92.5")
    coordinator.get_by_label(text["note"], exact=True).fill("Q1")
    coordinator.get_by_role("button", name=text["save_value"]).click()
    expect(coordinator.get_by_role("status")).to_have_text(text["value_saved"])
    expect(coordinator.locator("table.entries tbody tr")).to_contain_text(text["awaiting"])
    flow.check(coordinator, "coordinator")

    zhang = flow.sign_in("zhang")
    zhang.get_by_role("link", name=text["points_page"]).click()
    zhang.get_by_label(text["agency"], exact=True).select_option("water")
    zhang.get_by_label(text["what"], exact=True).select_option("bonus:innovation")
    zhang.get_by_label(text["points"], exact=True).fill("1.5")
    zhang.get_by_label(text["evidence"], exact=True).fill(EVIDENCE[lang])
    zhang.get_by_role("button", name=text["save_points"]).click()
    expect(zhang.get_by_role("status")).to_have_text(text["points_saved"])
    mine = zhang.locator("table.pending tr", has_text=EVIDENCE[lang])
    mine.get_by_role("button", name=text["approve"]).click()
    expect(zhang.get_by_role("alert")).to_have_text(text["second_person"])
    flow.check(zhang, "own-approval-refused")

    li = flow.sign_in("li")
    li.get_by_role("link", name=text["points_page"]).click()
    for row in (text["indicator_name"], EVIDENCE[lang]):
        pending = li.locator("table.pending tr", has_text=row)
        pending.get_by_role("button", name=text["approve"]).click()
        expect(li.get_by_role("status")).to_have_text(text["approved"])
    expect(li.get_by_text(text["nothing_pending"])).to_be_visible()
    flow.check(li, "approved")

    li.get_by_role("link", name=text["audit_page"]).click()
    expect(li.get_by_role("heading", level=1)).to_have_text(text["audit_title"])
    rows = [" ".join(r.split()) for r in li.locator("table.audit tbody tr").all_inner_texts()]
    assert [row.split(" ", 2)[2] for row in rows] == text["audit_rows"]
    flow.check(li, "audit")
    assert flow.violations == {name: [] for name in flow.violations}


def test_a_coordinator_cannot_enter_another_agencys_figures(
    chromium: Any, site: Site, people: None, artifacts: Path
) -> None:
    """The form offers only the coordinator's own agency; a form altered in the browser to
    send another agency's figure is refused with the reason, and nothing is stored."""
    flow = Flow(chromium, site, "en", artifacts)
    text = flow.text
    page = flow.sign_in("water.coord")
    agency = page.get_by_label(text["agency"], exact=True)
    assert agency.locator("option").all_inner_texts() == ["Water Affairs Bureau"]
    agency.evaluate(
        "select => { select.add(new Option('Transport Bureau', 'transport')); "
        "select.value = 'transport'; }"
    )
    page.get_by_label(text["indicator"], exact=True).select_option("key_tasks_completion")
    page.get_by_label(text["month"], exact=True).select_option("2026-03")
    page.get_by_label(text["value"], exact=True).fill("99")
    with page.expect_response(lambda r: r.request.method == "POST") as sent:
        page.get_by_role("button", name=text["save_value"]).click()
    assert sent.value.status == 403
    expect(page.locator("main")).to_contain_text(
        "Only the coordinator of Transport Bureau or the evaluation office may enter its figures."
    )
    page.screenshot(path=str(artifacts / "desk-entries-en-other-agency.png"), full_page=True)
    with site.sessions() as session:
        assert indicator_entries(session=session, year=2026, agency="transport") == []
