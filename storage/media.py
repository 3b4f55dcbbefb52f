"""Photos citizens send: checked (size and real image type) and stored under var/media.

Only the stored file's name travels through Rasa; the agency desk serves the file.
`strip_metadata` drops what a camera writes beside the picture (EXIF with its GPS
position and device, XMP, IPTC, comments) without decoding or re-encoding the image."""

from __future__ import annotations

import re
import secrets
import struct
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


# JPEG segments kept: the JFIF header (APP0), the colour profile (APP2) and Adobe's colour
# transform (APP14); every other APPn (EXIF and XMP are APP1) and comments (COM) go.
_JPEG_KEPT_APP = {0xE0, 0xE2, 0xEE}
_PNG_DROPPED = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}
_WEBP_DROPPED = {b"EXIF", b"XMP "}


def strip_metadata(data: bytes) -> bytes | None:
    """The image without its metadata, or None when its structure is broken (it is then
    not taken as a photo). The picture's own bytes are copied unchanged."""
    extension = image_extension(data)
    try:
        if extension == "jpg":
            return _strip_jpeg(data)
        if extension == "png":
            return _strip_png(data)
        if extension == "webp":
            return _strip_webp(data)
    except (IndexError, struct.error, ValueError):
        return None
    return None


def _strip_jpeg(data: bytes) -> bytes:
    out, i = bytearray(data[:2]), 2
    while True:
        if data[i] != 0xFF:
            raise ValueError("not a JPEG marker")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9 or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            out += data[i : i + 2]
            i += 2
            if marker == 0xD9:
                return bytes(out)
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        end = i + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("JPEG segment runs past the end")
        if marker == 0xDA:  # start of scan: the picture itself follows, kept whole
            return bytes(out + data[i:])
        if not ((0xE0 <= marker <= 0xEF and marker not in _JPEG_KEPT_APP) or marker == 0xFE):
            out += data[i:end]
        i = end


def _strip_png(data: bytes) -> bytes:
    out, i = bytearray(data[:8]), 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind, end = data[i + 4 : i + 8], i + 12 + length
        if end > len(data):
            raise ValueError("PNG chunk runs past the end")
        if kind not in _PNG_DROPPED:
            out += data[i:end]
        i = end
        if kind == b"IEND":
            return bytes(out)
    raise ValueError("PNG without IEND")


def _strip_webp(data: bytes) -> bytes:
    chunks, i = bytearray(), 12
    while i + 8 <= len(data):
        kind = data[i : i + 4]
        (length,) = struct.unpack("<I", data[i + 4 : i + 8])
        end = i + 8 + length + (length & 1)
        if i + 8 + length > len(data):
            raise ValueError("WebP chunk runs past the end")
        chunk = bytearray(data[i : min(end, len(data))])
        if kind == b"VP8X" and length >= 1:
            chunk[8] &= ~0x0C & 0xFF  # no EXIF (0x08) or XMP (0x04) any more
        if kind not in _WEBP_DROPPED:
            chunks += chunk
        i = end
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + bytes(chunks)
