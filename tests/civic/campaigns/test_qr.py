"""QR codes and the invitation and service-window links."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from civic.campaigns import (
    TOKEN_LENGTH,
    invitation_links,
    new_nonce,
    qr_matrix,
    qr_png,
    sign,
    window_deep_link,
)

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


def test_window_deep_link() -> None:
    assert window_deep_link("civic_feedback_bot", 17) == (
        "https://t.me/civic_feedback_bot?start=w_17"
    )
    assert window_deep_link("@civic_feedback_bot", "xihu-03") == (
        "https://t.me/civic_feedback_bot?start=w_xihu-03"
    )


@pytest.mark.parametrize("window_id", ["a b", "x" * 63, "中文", ""])
def test_window_deep_link_refuses_payloads_telegram_would_drop(window_id: str) -> None:
    with pytest.raises(ValueError, match="start payload"):
        window_deep_link("civic_feedback_bot", window_id)


def test_deep_link_refuses_a_malformed_bot_username() -> None:
    with pytest.raises(ValueError, match="bot username"):
        window_deep_link("civic bot", 1)


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
