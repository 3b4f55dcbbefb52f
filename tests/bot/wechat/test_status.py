"""The window rule on its own, against the stand-in: inside 48 hours a customer-service
message, at 48 hours the template, and no template means out of the window."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest

from bot.wechat import StatusSender, WeChatClient, WeChatOutOfWindow
from storage.models import utcnow
from tests.fakes.wechat import WeChatStandIn

OPENID = "oUser0000000000000000000077"


@pytest.fixture(scope="module")
def server() -> Iterator[WeChatStandIn]:
    with WeChatStandIn() as stand_in:
        yield stand_in


@pytest.fixture
async def client(server: WeChatStandIn) -> AsyncIterator[WeChatClient]:
    server.reset()
    wechat = WeChatClient(
        app_id=server.app_id, app_secret=server.app_secret, base_url=server.base_url
    )
    yield wechat
    await wechat.aclose()


@pytest.mark.parametrize(
    ("hours", "how"), [(0, "custom"), (47.9, "custom"), (48, "template"), (100, "template")]
)
async def test_the_window_decides_the_kind_of_message(
    server: WeChatStandIn, client: WeChatClient, hours: float, how: str
) -> None:
    now = utcnow()
    last = now - timedelta(hours=hours)
    server.set_last_message(OPENID, last.timestamp())
    sender = StatusSender(client=client, template_id="TPL_STATUS")

    sent = await sender.send(OPENID, "进展", language="zh", last_message_at=last, now=now)

    assert sent == how
    assert [s.kind for s in server.sent] == [how]


async def test_without_a_template_a_shut_window_is_an_error(
    server: WeChatStandIn, client: WeChatClient
) -> None:
    server.set_last_message(OPENID, 0.0)
    sender = StatusSender(client=client, template_id=None)
    with pytest.raises(WeChatOutOfWindow):
        await sender.send(OPENID, "进展", language="en", last_message_at=None, now=utcnow())
    assert server.sent == []
