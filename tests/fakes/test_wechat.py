"""The WeChat stand-in is as strict as WeChat where the channel's tests rely on it: an
answer after the passive-reply limit counts as none, a passive reply in safe mode must be
sealed and signed, and API calls need a live token."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.wechat import Crypto, ProtocolError, parse_xml, text_reply
from tests.fakes.wechat import WeChatStandIn

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class Account:
    """A stand-in account server: answers each push after `delay` seconds with `reply`."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.reply: str = "success"

    async def endpoint(self, request: Request) -> Response:
        await asyncio.sleep(self.delay)
        return Response(self.reply, media_type="application/xml")


@pytest.fixture
def account() -> Iterator[tuple[Account, str]]:
    state = Account()
    app = Starlette(routes=[Route("/wechat", state.endpoint, methods=["POST"])])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield state, f"http://127.0.0.1:{port}/wechat"
    server.should_exit = True
    thread.join(timeout=10)


def test_an_answer_after_the_limit_counts_as_none(account: tuple[Account, str]) -> None:
    state, url = account
    state.delay = 1.0
    state.reply = text_reply(to_user="oU", from_user="gh", text="late", now=1)
    with WeChatStandIn(passive_limit=0.2) as wechat:
        wechat.endpoint = url
        pushed = wechat.push(wechat.message("oU", "text", Content="hi"))
    assert pushed.timed_out
    assert pushed.reply is None


def test_an_answer_in_time_is_read_as_the_passive_reply(account: tuple[Account, str]) -> None:
    state, url = account
    state.reply = text_reply(to_user="oU", from_user="gh", text="in time", now=1)
    with WeChatStandIn() as wechat:
        wechat.endpoint = url
        pushed = wechat.push(wechat.message("oU", "text", Content="hi"))
    assert not pushed.timed_out
    assert pushed.reply is not None and pushed.reply["Content"] == "in time"


def test_a_safe_mode_reply_with_a_wrong_signature_is_rejected(
    account: tuple[Account, str],
) -> None:
    state, url = account
    crypto = Crypto("server-token", AES_KEY, "wx0123456789abcdef")
    sealed = parse_xml(crypto.seal("<xml><Content>x</Content></xml>", timestamp="1", nonce="n"))
    sealed["MsgSignature"] = "0" * 40
    state.reply = "<xml>" + "".join(f"<{k}>{v}</{k}>" for k, v in sealed.items()) + "</xml>"
    with WeChatStandIn(aes_key=AES_KEY) as wechat:
        wechat.endpoint = url
        with pytest.raises(ProtocolError, match="MsgSignature"):
            wechat.push(wechat.message("oU", "text", Content="hi"), encrypted=True)


@pytest.mark.parametrize(
    ("token", "errcode"), [(None, 41001), ("forged", 40001)], ids=["missing", "unknown"]
)
def test_api_calls_need_a_live_token(token: str | None, errcode: int) -> None:
    with WeChatStandIn() as wechat:
        params = {"access_token": token} if token else {}
        answer = httpx.post(
            f"{wechat.base_url}/cgi-bin/message/custom/send",
            params=params,
            json={"touser": "oU", "msgtype": "text", "text": {"content": "x"}},
        )
    assert answer.json()["errcode"] == errcode
    assert wechat.sent == []
