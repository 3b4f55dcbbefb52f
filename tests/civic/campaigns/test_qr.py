"""QR codes and the invitation and service-window links."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from PIL import Image

from civic.campaigns import (
    TOKEN_LENGTH,
    invitation_links,
    new_nonce,
    qr_matrix,
    qr_png,
    sign,
    sign_window_code,
    verify_window_code,
    window_deep_link,
)
from civic.campaigns._qr import start_payload_ok

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TELEGRAM_LINK = re.compile(r"^https://t\.me/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]{1,64})$")


def test_qr_png_is_a_png_of_a_whole_qr_code_with_its_quiet_zone() -> None:
    data = "https://t.me/civic_feedback_bot?start=w_12"
    png = qr_png(data, scale=8)
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png)).convert("L")
    modules = len(qr_matrix(data))
    assert modules in range(21, 178, 4)  # versions 1-40: 21 + 4 (v - 1) modules a side
    assert image.size == ((modules + 8) * 8, (modules + 8) * 8)
    pixel = image.getpixel
    assert pixel((1, 1)) == 255  # quiet zone
    # The top-left finder pattern: dark ring, light ring, dark centre (module rows 0, 1, 3).
    origin = 4 * 8 + 4
    assert [pixel((origin + 8 * m, origin + 8 * m)) for m in (0, 1, 3)] == [0, 255, 0]


def test_qr_png_scale_sets_the_pixels_per_module() -> None:
    small, large = qr_png("w_1", scale=2), qr_png("w_1", scale=10)
    size = Image.open(io.BytesIO(small)).size[0]
    assert Image.open(io.BytesIO(large)).size[0] == size * 5
    assert size == (21 + 8) * 2  # a regular QR code, never the smaller micro QR


def test_qr_png_refuses_a_scale_below_one() -> None:
    with pytest.raises(ValueError, match="scale"):
        qr_png("w_1", scale=0)


def test_window_deep_link_carries_the_signed_code() -> None:
    code = sign_window_code(secret="k" * 32, window_id=123456789, serial=999999, until=None)
    link = window_deep_link("@civic_feedback_bot", code)
    assert link == f"https://t.me/civic_feedback_bot?start={code}"
    dated = sign_window_code(
        secret="k" * 32, window_id=123456789, serial=999999, until=date(2099, 12, 31)
    )
    assert start_payload_ok(dated) and len(dated) <= 64  # the longest a code gets


@pytest.mark.parametrize("code", ["a b", "w_" + "x" * 63, "w_中文", "17", ""])
def test_window_deep_link_refuses_payloads_telegram_would_drop(code: str) -> None:
    with pytest.raises(ValueError, match="start payload"):
        window_deep_link("civic_feedback_bot", code)


def test_deep_link_refuses_a_malformed_bot_username() -> None:
    with pytest.raises(ValueError, match="bot username"):
        window_deep_link("civic bot", "w_1")


def test_window_codes_verify_only_with_the_key_and_unaltered() -> None:
    code = sign_window_code(secret="k" * 32, window_id=7, serial=3, until=date(2027, 1, 31))
    verified = verify_window_code(secret="k" * 32, code=code)
    assert verified is not None and (verified.window_id, verified.serial) == (7, 3)
    assert verified.valid_on(date(2027, 1, 31)) and not verified.valid_on(date(2027, 2, 1))
    assert verify_window_code(secret="other" * 8, code=code) is None
    assert verify_window_code(secret="k" * 32, code=code.replace("w_7_", "w_8_")) is None
    assert verify_window_code(secret="k" * 32, code=code.replace("_3_", "_4_")) is None
    assert verify_window_code(secret="k" * 32, code="w_7") is None


def test_invitation_links_carry_the_token_to_telegram_and_the_web_widget() -> None:
    token = sign(secret="s3cret", nonce=new_nonce())
    telegram, web = invitation_links("civic_feedback_bot", "https://kpb.example.gov.cn/", token)
    assert telegram == f"https://t.me/civic_feedback_bot?start={token}"
    assert web == f"https://kpb.example.gov.cn/?start={token}"
    match = TELEGRAM_LINK.match(telegram)
    assert match is not None
    assert len(match.group(2)) == TOKEN_LENGTH <= 64


def test_a_deep_link_of_a_full_length_token_still_fits_a_small_qr_code() -> None:
    link = f"https://t.me/civic_feedback_bot?start={'A' * 64}"
    assert TELEGRAM_LINK.match(link)
    assert len(qr_matrix(link)) <= 41  # version 6 or lower: large modules on a letter
