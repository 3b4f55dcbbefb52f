"""The WeChat official-account channel: the server API WeChat calls (`WeChatChannel`,
mounted in the web app when WECHAT_APP_ID, WECHAT_APP_SECRET and WECHAT_TOKEN are set),
the protocol's signatures and safe-mode envelope, the one client of WeChat's API, and
status updates inside and outside the 48-hour window (`StatusSender`)."""

from bot.wechat._channel import MAX_AGE, WeChatAccount, WeChatChannel
from bot.wechat._client import (
    WeChatClient,
    WeChatError,
    WeChatOutOfWindow,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUnreachable,
)
from bot.wechat._messages import CHANNEL, MENU, WeChatMessage, read_message, render
from bot.wechat._protocol import Crypto, ProtocolError, parse_xml, signature, text_reply, to_xml
from bot.wechat._status import WINDOW, StatusSender

__all__ = [
    "CHANNEL",
    "MAX_AGE",
    "MENU",
    "WINDOW",
    "Crypto",
    "ProtocolError",
    "StatusSender",
    "WeChatAccount",
    "WeChatChannel",
    "WeChatClient",
    "WeChatError",
    "WeChatMessage",
    "WeChatOutOfWindow",
    "WeChatRateLimited",
    "WeChatUnavailable",
    "WeChatUnreachable",
    "parse_xml",
    "read_message",
    "render",
    "signature",
    "text_reply",
    "to_xml",
]
