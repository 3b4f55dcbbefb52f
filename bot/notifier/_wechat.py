"""A notification's send to one WeChat address, and what its outcome means to the
outbox: the window rule and the template fallback are `bot.wechat.StatusSender`'s."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.observability import count_sends
from bot.wechat import (
    StatusSender,
    WeChatError,
    WeChatOutOfWindow,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUnreachable,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeChatAddress:
    openid: str
    last_message_at: datetime | None


async def send_wechat(
    sender: StatusSender | None,
    address: WeChatAddress,
    text: str,
    *,
    language: str,
    now: datetime,
) -> tuple[str, str | None]:
    """("sent" | "unreachable" | "transient" | "bad", why) for one address."""
    if sender is None:
        return "transient", "the WeChat channel is not configured"
    try:
        how = await sender.send(
            address.openid,
            text,
            language=language,
            last_message_at=address.last_message_at,
            now=now,
        )
    except WeChatUnreachable:
        return "unreachable", None
    except WeChatOutOfWindow as err:  # no template: the citizen's next message reopens it
        return "transient", str(err)
    except (WeChatRateLimited, WeChatUnavailable) as err:
        return "transient", f"{type(err).__name__}: {err}"
    except WeChatError as err:
        return "bad", str(err)
    count_sends("wechat", "notification")
    log.info("WeChat status update sent as a %s message", how)
    return "sent", None
