"""The media store: only real images are kept, and only its own files are deleted."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from storage.image_metadata import without_metadata as strip_metadata
from storage.media import MediaStore

PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)


def test_a_stored_photo_is_deleted_once(tmp_path: Path) -> None:
    media = MediaStore(tmp_path / "media")
    name = media.save(PNG)
    assert name is not None and name.endswith(".png")
    assert media.save(b"not an image") is None
    assert (media.delete(name), media.delete(name)) == (True, False)
    assert media.path_of(name) is None


def test_nothing_outside_the_store_is_deleted(tmp_path: Path) -> None:
    (tmp_path / "civic.db").write_text("keep")
    media = MediaStore(tmp_path / "media")
    media.save(PNG)
    assert [media.delete(n) for n in ("../civic.db", ".hidden", "a/b.png")] == [False] * 3
    assert (tmp_path / "civic.db").read_text() == "keep"


def test_files_stored_before_a_moment(tmp_path: Path) -> None:
    media = MediaStore(tmp_path / "media")
    assert media.stored_before(datetime.now(UTC)) == []
    old, new = media.save(PNG), media.save(PNG)
    assert old is not None and new is not None
    week_ago = (datetime.now(UTC) - timedelta(days=7)).timestamp()
    os.utime(media.directory / old, (week_ago, week_ago))
    assert media.stored_before(datetime.now(UTC) - timedelta(days=1)) == [old]


def _image(kind: str, **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (9, 7), (10, 120, 200)).save(out, kind, **save)
    return out.getvalue()


def _exif(maker: str) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = maker
    exif[0x8825] = {2: (30.0, 12.0, 31.0)}  # a GPS latitude
    return exif.tobytes()


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_metadata_is_stripped_and_the_picture_kept(kind: str) -> None:
    original = _image(kind, exif=_exif("SecretCam"))
    assert b"SecretCam" in original
    stripped = strip_metadata(original)
    assert stripped is not None and b"SecretCam" not in stripped
    with Image.open(io.BytesIO(stripped)) as image:
        image.load()
        assert image.size == (9, 7) and not image.getexif()
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(stripped)) as after:
        assert list(before.convert("RGB").getdata()) == list(after.convert("RGB").getdata())


def test_a_jpeg_comment_and_png_text_go_too() -> None:
    jpeg = _image("JPEG", comment=b"taken at home")
    assert b"taken at home" in jpeg
    assert b"taken at home" not in (strip_metadata(jpeg) or b"taken at home")
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Mrs Zhou")
    png = _image("PNG", pnginfo=info)
    assert b"Mrs Zhou" not in (strip_metadata(png) or b"Mrs Zhou")


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe1\xff\xff",  # a segment longer than the file
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",  # cut short, no IEND
        b"GIF89a" + b"\x00" * 20,  # not a type we take
        b"",
    ],
)
def test_a_broken_or_foreign_file_is_not_a_photo(data: bytes) -> None:
    assert strip_metadata(data) is None
