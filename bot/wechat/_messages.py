"""What a WeChat user sent, read from the message's XML fields into channel-neutral
terms, and the assistant's replies rendered as WeChat text."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from bot.assistant import DEEP_LINK_LIMIT
from bot.wechat._protocol import ProtocolError
from civic.replies import BotMessage

CHANNEL = "wechat"
# The account's menu (set up with /cgi-bin/menu/create): each entry's key and what it
# means to the assistant, as Telegram's /menu buttons and commands say it.
MENU = {
    "COMPLAINT": "/report_problem",
    "MY_REPORTS": "/check_status",
    "SURVEYS": "/survey",
}
# Events that are WeChat's own reports, not something the user did.
SILENT_EVENTS = frozenset({"templatesendjobfinish", "view", "location", "masssendjobfinish"})


@dataclass(frozen=True)
class WeChatMessage:
    """One message or event: who sent it, what it is, and how to know it again."""

    openid: str
    account: str  # the official account's id (ToUserName), the passive reply's sender
    kind: str  # text, image, location, menu, subscribe, unsubscribe, silent, unsupported
    key: str  # MsgId, or sender and time for events: a replay has the same key
    text: str = ""
    media_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def from_user(self) -> bool:
        """True for what the user did: it opens the 48-hour window."""
        return self.kind not in {"silent", "unsubscribe"}


def read_message(fields: dict[str, str]) -> WeChatMessage:
    """The message in `fields` (a parsed <xml>); ProtocolError when it lacks what every
    message has."""
    openid, account = fields.get("FromUserName", ""), fields.get("ToUserName", "")
    msg_type, created = fields.get("MsgType", "").lower(), fields.get("CreateTime", "")
    if not openid or not account or not msg_type or not created.isdigit():
        raise ProtocolError("FromUserName, ToUserName, MsgType and CreateTime are required")
    msg_id = fields.get("MsgId", "")
    key = f"wx:{msg_id}" if msg_id else f"wx:{openid}:{created}:{fields.get('Event', '')}"
    base = WeChatMessage(openid=openid, account=account, kind="unsupported", key=key)
    if msg_type == "text":
        return replace(base, kind="text", text=fields.get("Content", ""))
    if msg_type == "image":
        if not fields.get("MediaId"):
            raise ProtocolError("an image without MediaId")
        return replace(base, kind="image", media_id=fields["MediaId"])
    if msg_type == "location":
        return _location(fields, base)
    if msg_type == "event":
        return _event(fields, base)
    return replace(base, kind="unsupported")


def _location(fields: dict[str, str], base: WeChatMessage) -> WeChatMessage:
    try:
        lat, long = float(fields["Location_X"]), float(fields["Location_Y"])
    except (KeyError, ValueError):
        raise ProtocolError("a location needs numeric Location_X and Location_Y") from None
    payload = "/share_location" + json.dumps({"lat": lat, "long": long}, separators=(",", ":"))
    label = fields.get("Label", "")
    return replace(
        base, kind="location", text=payload, metadata={"place_label": label} if label else {}
    )


def _event(fields: dict[str, str], base: WeChatMessage) -> WeChatMessage:
    event, key = fields.get("Event", "").lower(), fields.get("EventKey", "")
    if event == "subscribe":
        # a QR code with a scene: the same deep link Telegram's /start carries
        scene = key.removeprefix("qrscene_")[:DEEP_LINK_LIMIT]
        return replace(base, kind="subscribe", text=f"/start {scene}" if scene else "/greet")
    if event == "unsubscribe":
        return replace(base, kind="unsubscribe")
    if event == "click":
        payload = MENU.get(key)
        return replace(base, kind="menu" if payload else "unsupported", text=payload or "")
    if event in SILENT_EVENTS:
        return replace(base, kind="silent")
    return replace(base, kind="unsupported")


def render(replies: list[BotMessage]) -> tuple[str, dict[str, str]]:
    """The replies as one text (WeChat has no buttons: they become numbered lines) and
    what each number stands for."""
    parts: list[str] = []
    numbers: dict[str, str] = {}
    for reply in replies:
        lines = [reply.text] if reply.text else []
        for button in reply.buttons:
            number = str(len(numbers) + 1)
            numbers[number] = button.payload
            lines.append(f"{number}. {button.title}")
        if reply.image:
            lines.append(reply.image)
        if lines:
            parts.append("\n".join(lines))
    return "\n\n".join(parts), numbers
