"""The WeChat API client against the stand-in: the access token cached, refreshed on
the codes that say it is stale, rate limits waited out, and each failure as our error."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.wechat import (
    WeChatClient,
    WeChatError,
    WeChatOutOfWindow,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUnreachable,
)
from tests.fakes.wechat import WeChatStandIn

OPENID = "oUser0000000000000000000001"


@pytest.fixture(scope="module")
def server() -> Iterator[WeChatStandIn]:
    with WeChatStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def standin(server: WeChatStandIn) -> WeChatStandIn:
    server.reset()
    server.set_last_message(OPENID, server.clock())  # the user has just written
    return server


class Sleeps:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(standin: WeChatStandIn, sleeps: Sleeps) -> AsyncIterator[WeChatClient]:
    wechat = WeChatClient(
        app_id=standin.app_id,
        app_secret=standin.app_secret,
        base_url=standin.base_url,
        sleep=sleeps,
    )
    yield wechat
    await wechat.aclose()


async def test_the_token_is_fetched_once_and_reused(
    client: WeChatClient, standin: WeChatStandIn
) -> None:
    await client.send_text(OPENID, "one")
    await client.send_text(OPENID, "two")
    assert standin.token_fetches == 1
    assert standin.texts_to(OPENID) == ["one", "two"]


async def test_a_token_near_its_end_is_replaced_before_use(standin: WeChatStandIn) -> None:
    now = [0.0]
    wechat = WeChatClient(
        app_id=standin.app_id,
        app_secret=standin.app_secret,
        base_url=standin.base_url,
        clock=lambda: now[0],
    )
    await wechat.send_text(OPENID, "one")
    now[0] = 7200 - 30  # within the last minute of its two hours
    await wechat.send_text(OPENID, "two")
    await wechat.aclose()
    assert standin.token_fetches == 2


@pytest.mark.parametrize("errcode", [40001, 42001, 40014])
async def test_a_stale_token_is_refreshed_and_the_call_repeated(
    client: WeChatClient, standin: WeChatStandIn, errcode: int
) -> None:
    await client.send_text(OPENID, "before")
    standin.fail_next("message/custom/send", errcode)
    await client.send_text(OPENID, "after")
    assert standin.token_fetches == 2
    assert standin.texts_to(OPENID) == ["before", "after"]


async def test_an_expired_token_is_refreshed(client: WeChatClient, standin: WeChatStandIn) -> None:
    await client.send_text(OPENID, "before")
    standin.expire_tokens()
    await client.send_text(OPENID, "after")
    assert standin.texts_to(OPENID) == ["before", "after"]


async def test_a_token_refused_twice_is_an_error(
    client: WeChatClient, standin: WeChatStandIn
) -> None:
    standin.fail_next("message/custom/send", 40001, times=2)
    with pytest.raises(WeChatError) as caught:
        await client.send_text(OPENID, "x")
    assert caught.value.errcode == 40001
    assert standin.texts_to(OPENID) == []


@pytest.mark.parametrize("errcode", [45009, 45047])
async def test_a_rate_limit_is_waited_out_and_retried(
    client: WeChatClient, standin: WeChatStandIn, sleeps: Sleeps, errcode: int
) -> None:
    standin.fail_next("message/custom/send", errcode, times=2)
    await client.send_text(OPENID, "patient")
    assert sleeps.seconds == [1.0, 2.0]
    assert client.rate_waits == 2
    assert standin.texts_to(OPENID) == ["patient"]


async def test_a_rate_limit_that_lasts_is_raised(
    client: WeChatClient, standin: WeChatStandIn, sleeps: Sleeps
) -> None:
    standin.fail_next("message/custom/send", 45009, times=4)
    with pytest.raises(WeChatRateLimited):
        await client.send_text(OPENID, "x")
    assert sleeps.seconds == [1.0, 2.0, 4.0]


async def test_an_unsubscribed_user_is_unreachable(
    client: WeChatClient, standin: WeChatStandIn
) -> None:
    standin.followers[OPENID].subscribed = False
    with pytest.raises(WeChatUnreachable) as caught:
        await client.send_text(OPENID, "x")
    assert caught.value.errcode == 43004


async def test_a_custom_message_after_48_hours_is_out_of_the_window(
    client: WeChatClient, standin: WeChatStandIn
) -> None:
    standin.set_last_message(OPENID, standin.clock() - 48 * 3600 - 1)
    with pytest.raises(WeChatOutOfWindow) as caught:
        await client.send_text(OPENID, "x")
    assert caught.value.errcode == 45015
    await client.send_template(OPENID, "TPL_STATUS", {"first": "新进展", "keyword1": "x"})
    [template] = standin.templates_to(OPENID)
    assert template.data == {"first": "新进展", "keyword1": "x"}


async def test_an_unapproved_template_is_an_error(
    client: WeChatClient, standin: WeChatStandIn
) -> None:
    with pytest.raises(WeChatError) as caught:
        await client.send_template(OPENID, "TPL_OTHER", {"first": "x"})
    assert caught.value.errcode == 40037


async def test_media_is_downloaded_by_its_id(client: WeChatClient, standin: WeChatStandIn) -> None:
    media_id = standin.add_media(b"\xff\xd8\xff\xe0jpeg bytes")
    assert await client.download_media(media_id) == b"\xff\xd8\xff\xe0jpeg bytes"
    with pytest.raises(WeChatError) as caught:
        await client.download_media("no-such-media")
    assert caught.value.errcode == 40007


async def test_media_with_a_stale_token_is_fetched_again(
    client: WeChatClient, standin: WeChatStandIn
) -> None:
    media_id = standin.add_media(b"\x89PNG\r\n\x1a\nrest")
    await client.access_token()
    standin.expire_tokens()
    assert await client.download_media(media_id) == b"\x89PNG\r\n\x1a\nrest"
    assert standin.token_fetches == 2


async def test_a_wrong_secret_is_an_error(standin: WeChatStandIn) -> None:
    wechat = WeChatClient(app_id=standin.app_id, app_secret="wrong", base_url=standin.base_url)
    with pytest.raises(WeChatError) as caught:
        await wechat.send_text(OPENID, "x")
    await wechat.aclose()
    assert caught.value.errcode == 40125


async def test_an_unreachable_server_is_unavailable(standin: WeChatStandIn) -> None:
    wechat = WeChatClient(app_id="a", app_secret="b", base_url="http://127.0.0.1:9")
    with pytest.raises(WeChatUnavailable):
        await wechat.send_text(OPENID, "x")
    await wechat.aclose()
