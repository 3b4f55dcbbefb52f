"""Signed codes for service-window QR codes.

The code a citizen scans at a window opens the bot with `/start <code>`; it has to fit
Telegram's start payload (1-64 characters of `A-Za-z0-9_-`):

    w_12_3_20271231_Xk2v9QeP0aT7LmZr
      |  | |        |
      |  | |        MAC (16 characters, 96 bits) of the rest under CIVIC_SECRET_KEY
      |  | valid until this city date; 0 = until revoked (a printed code)
      |  the window's code serial: revoking the window's codes raises it
      window id

A printed code is valid until revoked or until a set date; a code shown on a screen can
be made for today only and replaced each day. Without a valid code a window cannot be
rated: a bare `w_<id>` or a `wr:` button nobody was offered is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

WINDOW_CODE_PREFIX = "w_"
UNTIL_REVOKED = "0"
_SHAPE = re.compile(r"^w_(\d{1,9})_(\d{1,6})_(0|\d{8})_([A-Za-z0-9_-]{16})$")


@dataclass(frozen=True)
class WindowCode:
    window_id: int
    serial: int
    until: date | None  # None: until revoked

    def valid_on(self, day: date) -> bool:
        return self.until is None or day <= self.until


def _mac(secret: str, window_id: int, serial: int, until: str) -> str:
    message = f"window|{window_id}|{serial}|{until}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def sign_window_code(*, secret: str, window_id: int, serial: int, until: date | None) -> str:
    stamp = until.strftime("%Y%m%d") if until else UNTIL_REVOKED
    return f"w_{window_id}_{serial}_{stamp}_{_mac(secret, window_id, serial, stamp)}"


def verify_window_code(*, secret: str, code: str) -> WindowCode | None:
    """The code's window, serial and validity when it is well formed and signed with
    `secret`, else None. Whether the serial is current and the date not past is the
    caller's to check (it knows the window and the city's day)."""
    match = _SHAPE.match(code)
    if match is None:
        return None
    window_id, serial, stamp, mac = match.groups()
    if not hmac.compare_digest(mac, _mac(secret, int(window_id), int(serial), stamp)):
        return None
    try:
        until = (
            None
            if stamp == UNTIL_REVOKED
            else date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
        )
    except ValueError:
        return None
    return WindowCode(window_id=int(window_id), serial=int(serial), until=until)
