"""Photos citizens send: checked (size and real image type) and stored under var/media.

Only the stored file's name travels through Rasa; the agency desk serves the file.
What a camera writes beside the picture (EXIF with its GPS position, XMP, comments) is
removed by `storage.image_metadata.without_metadata` before a citizen's photo is saved."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from pathlib import Path

MAX_PHOTO_BYTES = 10 * 1024 * 1024
# What `save` names a file: 24 hex digits and the type found in its bytes.
ISSUED_NAME = re.compile(r"^[0-9a-f]{24}\.(?:jpg|png|webp)$")
SIGNATURES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png", b"RIFF": "webp"}


def image_extension(data: bytes) -> str | None:
    """The file type by its first bytes (not by what the sender claims), or None."""
    for signature, extension in SIGNATURES.items():
        if data.startswith(signature) and (extension != "webp" or data[8:12] == b"WEBP"):
            return extension
    return None


class MediaStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, data: bytes) -> str | None:
        """Store an image; returns its name, or None when it is too big or not an image."""
        extension = image_extension(data)
        if extension is None or len(data) > MAX_PHOTO_BYTES:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{secrets.token_hex(12)}.{extension}"
        (self.directory / name).write_bytes(data)
        return name

    def path_of(self, name: str) -> Path | None:
        """The stored file for a name we issued; anything else (say '../x') is None."""
        if "/" in name or "\\" in name or name.startswith("."):
            return None
        path = self.directory / name
        return path if path.is_file() else None

    def issued(self, name: str) -> bool:
        """True for a name `save` gave out whose file is here: nothing else is a photo."""
        return bool(ISSUED_NAME.match(name)) and self.path_of(name) is not None

    def delete(self, name: str) -> bool:
        """Delete a stored file (on erasure); False when there was none by that name."""
        path = self.path_of(name)
        if path is None:
            return False
        path.unlink(missing_ok=True)
        return True

    def stored_before(self, moment: datetime) -> list[str]:
        """The names of files last written before `moment`."""
        if not self.directory.is_dir():
            return []
        cutoff = moment.timestamp()
        return sorted(
            path.name
            for path in self.directory.iterdir()
            if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime < cutoff
        )
