"""Metadata removal and GPS reading on real JPEG and PNG files (drawn by Pillow, with EXIF
blocks as phones write them), checked by reading the results back with Pillow."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from storage.image_metadata import gps_position, without_metadata
from tests.photos import MAKE, jpeg_with_gps, plain_jpeg, png_with_gps

WEST_LAKE = (30.2431, 120.1490)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # the whole picture decodes, not just the header
    return image


def test_gps_position_is_read_from_a_jpeg_and_a_png() -> None:
    for photo in (jpeg_with_gps(*WEST_LAKE), png_with_gps(*WEST_LAKE)):
        lat, long = gps_position(photo) or (0.0, 0.0)
        assert (round(lat, 4), round(long, 4)) == WEST_LAKE


def test_southern_and_western_positions_are_negative() -> None:
    lat, long = gps_position(jpeg_with_gps(-33.8568, -70.6483)) or (0.0, 0.0)
    assert (round(lat, 4), round(long, 4)) == (-33.8568, -70.6483)


def test_a_photo_without_exif_has_no_position() -> None:
    assert gps_position(plain_jpeg()) is None
    assert gps_position(b"GIF89a not ours") is None


def test_a_jpeg_loses_exif_gps_and_comment_and_still_decodes() -> None:
    photo = jpeg_with_gps(*WEST_LAKE)
    cleaned = without_metadata(photo)
    assert cleaned is not None
    assert MAKE.rstrip(b"\0") in photo and MAKE.rstrip(b"\0") not in cleaned
    assert b"taken at home" not in cleaned
    assert gps_position(cleaned) is None
    image = opened(cleaned)
    assert (image.size, dict(image.getexif())) == ((32, 24), {})


def test_a_turned_photo_keeps_only_its_orientation() -> None:
    cleaned = without_metadata(jpeg_with_gps(*WEST_LAKE, orientation=6))
    assert cleaned is not None
    assert dict(opened(cleaned).getexif()) == {0x0112: 6}
    assert gps_position(cleaned) is None


def test_a_png_loses_its_exif_chunk() -> None:
    cleaned = without_metadata(png_with_gps(*WEST_LAKE))
    assert cleaned is not None
    assert b"eXIf" not in cleaned and gps_position(cleaned) is None
    assert opened(cleaned).size == (8, 8)


def test_a_webp_loses_exif_and_its_flag() -> None:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    Image.new("RGB", (8, 8), (0, 90, 0)).save(out, "WEBP", exif=exif.tobytes())
    photo = out.getvalue()
    assert b"EXIF" in photo
    cleaned = without_metadata(photo)
    assert cleaned is not None
    assert b"EXIF" not in cleaned and b"PhoneMaker" not in cleaned
    assert cleaned[:4] == b"RIFF" and int.from_bytes(cleaned[4:8], "little") == len(cleaned) - 8
    assert opened(cleaned).size == (8, 8)


@pytest.mark.parametrize(
    "data",
    [b"not an image at all", b"\xff\xd8\xff\xe1\x00\xffcut short", b"\x89PNG\r\n\x1a\nbroken"],
)
def test_bytes_that_do_not_parse_are_refused(data: bytes) -> None:
    assert without_metadata(data) is None
