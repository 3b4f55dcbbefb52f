"""The web chat's photo and place buttons against the whole assistant (real Rasa, real
action server), in a real Chromium: a complaint whose place is a pin on the district map
(the browser's own position refused) and whose photo is chosen with the photo button is
filed, with the pin's district and position and the photo stored without its GPS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from civic.city import load_profile, project
from civic.settings import PROJECT_ROOT
from storage.image_metadata import gps_position
from storage.models import Ticket
from tests.e2e.conftest import TICKET_NUMBER, Stack
from tests.e2e.test_desk_loop import browser  # noqa: F401  (the Chromium fixture)
from tests.photos import jpeg_with_gps

pytestmark = pytest.mark.e2e


def test_a_web_chat_complaint_with_a_photo_and_a_map_pin_is_filed(
    stack: Stack,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    profile = load_profile(PROJECT_ROOT / "profiles" / "hangzhou")
    inside = profile.districts["xihu"].geometry.representative_point()
    photo = tmp_path / "bins.jpg"
    photo.write_bytes(jpeg_with_gps(31.0, 121.0))  # a position elsewhere: never used

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{stack.web_url}/")
    page.get_by_role("button", name="智能小助手", exact=True).click()
    log = page.get_by_role("log", name="对话记录")
    expect(log).to_contain_text("请问您是:")
    textbox = page.get_by_role("textbox", name="输入您的问题")
    textbox.fill("菜市场旁边的垃圾站好几天没清运了,臭得不行")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("问题在哪里?")

    page.get_by_role("button", name="分享位置", exact=True).click()
    page.get_by_role("button", name="使用我当前的位置").click()  # not allowed: the map
    the_map = page.get_by_role("application", name="各区地图:选择问题地点")
    expect(the_map).to_be_focused()
    x, y = project(inside.x, inside.y)
    at = page.evaluate(
        """([x, y]) => {
          const map = document.getElementById("civic-assistant").shadowRoot
            .querySelector(".media-map");
          const p = new DOMPoint(x, y).matrixTransform(map.getScreenCTM());
          return [p.x, p.y];
        }""",
        [x, y],
    )
    page.mouse.click(at[0], at[1])
    page.get_by_role("button", name="发送这个地点").click()
    expect(log.get_by_role("button", name="跳过").last).to_be_visible()  # the photo step

    page.get_by_role("button", name="添加照片", exact=True).click()
    page.get_by_label("选择照片").set_input_files(str(photo))
    page.get_by_role("button", name="上传并发送").click()
    log.get_by_role("button", name="在本对话中联系我").last.click()
    expect(log).to_contain_text("请核对您要提交的内容:")
    log.get_by_role("button", name="确认提交").last.click()
    expect(log).to_contain_text("已受理,工单号 HZ-")
    page.screenshot(path="tests/artifacts/chat-media-live.png")
    number = TICKET_NUMBER.search(log.inner_text()).group()
    context.close()

    with stack.db() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
    assert (ticket.category, ticket.district) == ("garbage-collection", "xihu")
    assert ticket.lat is not None and ticket.long is not None
    assert abs(ticket.lat - inside.y) < 0.005 and abs(ticket.long - inside.x) < 0.005
    assert ticket.photo is not None
    kept = (stack.var_dir / "media" / ticket.photo).read_bytes()
    assert gps_position(kept) is None
