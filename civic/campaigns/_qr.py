"""Invitation links and their QR codes.

A Telegram deep link `https://t.me/<bot>?start=<payload>` hands the bot `/start <payload>`;
Telegram accepts a payload of 1-64 characters of `A-Za-z0-9_-` only, so every payload made
here is checked against that. The website's chat widget reads the same payload from
`?start=` on the page it is embedded in.
"""

from __future__ import annotations

import io
import re

import segno

MAX_START_PAYLOAD = 64
_PAYLOAD = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_START_PAYLOAD}}}$")
_BOT_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")
WINDOW_PREFIX = "w_"


def qr_png(data: str, *, scale: int = 8, border: int = 4) -> bytes:
    """A PNG of a regular (never micro) QR code of `data`, `scale` pixels per module.

    Error correction level M survives a crease or a smudge on a printed letter and keeps
    a 64-character payload link at version 5 (37 x 37 modules).
    """
    if scale < 1:
        raise ValueError("scale must be at least 1 pixel per module")
    out = io.BytesIO()
    segno.make(data, error="m", micro=False).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code's modules, row by row (True = dark), without the quiet zone; for
    drawing it as vector shapes, e.g. on a PDF page."""
    code = segno.make(data, error="m", micro=False)
    return tuple(tuple(bool(module) for module in row) for row in code.matrix)


def start_payload_ok(payload: str) -> bool:
    """True when Telegram accepts `payload` after `?start=`."""
    return bool(_PAYLOAD.match(payload))


def telegram_deep_link(bot_username: str, payload: str) -> str:
    username = bot_username.removeprefix("@")
    if not _BOT_USERNAME.match(username):
        raise ValueError(f"{bot_username!r} is not a Telegram bot username")
    if not start_payload_ok(payload):
        raise ValueError(
            f"a start payload is 1-{MAX_START_PAYLOAD} characters of A-Za-z0-9_- "
            f"(got {len(payload)} characters)"
        )
    return f"https://t.me/{username}?start={payload}"


def window_deep_link(bot_username: str, code: str) -> str:
    """The link printed at a service window: `https://t.me/<bot>?start=<signed code>`
    (civic.campaigns' window codes)."""
    if not code.startswith(WINDOW_PREFIX):
        raise ValueError("a window's start payload is its signed code, w_...")
    return telegram_deep_link(bot_username, code)


def invitation_links(bot_username: str, web_base_url: str, token: str) -> tuple[str, str]:
    """(Telegram link, web link) of one invitation token; the web link opens the site's
    chat widget with the same payload: `<web_base_url>/?start=<token>`."""
    telegram_link = telegram_deep_link(bot_username, token)
    return telegram_link, f"{web_base_url.rstrip('/')}/?start={token}"
