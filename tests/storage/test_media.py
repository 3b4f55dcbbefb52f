"""The media store: only real images are kept, and only its own files are deleted."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
