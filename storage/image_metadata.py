"""What a photo carries besides its picture: EXIF (with the camera's GPS position), XMP,
IPTC, comments and text chunks. `without_metadata` removes it all without re-encoding
the picture (only the orientation survives, so a phone's photo is not shown sideways);
`gps_position` reads the position, for a citizen who chooses to give it as the place.

JPEG, PNG and WebP are walked segment by segment; bytes that do not parse as their type
are refused (None), never passed on half-cleaned."""

from __future__ import annotations

import struct

from storage.media import image_extension

__all__ = ["gps_position", "without_metadata"]

EXIF_HEADER = b"Exif\x00\x00"
ORIENTATION = 0x0112
GPS_IFD = 0x8825
# JPEG segments kept: JFIF (APP0), ICC colour profiles (APP2) and Adobe's colour
# transform (APP14) change how the picture looks; the rest of APPn and comments do not.
_JPEG_APP_KEPT = {0xE0, 0xE2, 0xEE}
_PNG_DROPPED = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}
_WEBP_DROPPED = {b"EXIF", b"XMP "}
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8}


def without_metadata(data: bytes) -> bytes | None:
    """The image with its metadata removed, or None when the bytes are not a whole
    JPEG, PNG or WebP."""
    try:
        match image_extension(data):
            case "jpg":
                return _jpeg_without(data)
            case "png":
                return _png_without(data)
            case "webp":
                return _webp_without(data)
    except (IndexError, struct.error, ValueError):
        return None
    return None


def gps_position(data: bytes) -> tuple[float, float] | None:
    """(latitude, longitude) from the photo's EXIF GPS tags, or None."""
    try:
        tiff = _exif_of(data)
        if tiff is None:
            return None
        return _gps_from_tiff(tiff)
    except (IndexError, struct.error, ValueError, ZeroDivisionError):
        return None


# -- JPEG -------------------------------------------------------------------------------


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """The header segments as (marker, whole segment bytes), and where the scan starts."""
    segments: list[tuple[int, bytes]] = []
    pos = 2
    while True:
        if data[pos] != 0xFF:
            raise ValueError("not a JPEG marker")
        while data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the picture itself follows
            return segments, pos
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("JPEG segment runs past the end")
        segments.append((marker, data[pos:end]))
        pos = end


def _jpeg_without(data: bytes) -> bytes:
    segments, scan = _jpeg_segments(data)
    kept = [segment for marker, segment in segments if _jpeg_keeps(marker)]
    orientation = _orientation(_jpeg_exif(segments))
    if orientation not in (None, 1):
        kept.insert(_after_jfif(segments), _orientation_segment(orientation))
    return data[:2] + b"".join(kept) + data[scan:]


def _jpeg_keeps(marker: int) -> bool:
    return not (0xE0 <= marker <= 0xEF and marker not in _JPEG_APP_KEPT) and marker != 0xFE


def _after_jfif(segments: list[tuple[int, bytes]]) -> int:
    return 1 if segments and segments[0][0] == 0xE0 else 0


def _jpeg_exif(segments: list[tuple[int, bytes]]) -> bytes | None:
    for marker, segment in segments:
        if marker == 0xE1 and segment[4:10] == EXIF_HEADER:
            return segment[10:]
    return None


def _orientation_segment(orientation: int) -> bytes:
    """An APP1 segment whose EXIF holds nothing but the orientation."""
    entry = struct.pack(">HHIHH", ORIENTATION, 3, 1, orientation, 0)
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + b"\0\0\0\0"
    body = EXIF_HEADER + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


# -- PNG and WebP -----------------------------------------------------------------------


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks: list[tuple[bytes, bytes]] = []
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("PNG chunk runs past the end")
        chunks.append((kind, data[pos:end]))
        pos = end
        if kind == b"IEND":
            return chunks
    raise ValueError("PNG without its end")


def _png_without(data: bytes) -> bytes:
    chunks = _png_chunks(data)
    return data[:8] + b"".join(whole for kind, whole in chunks if kind not in _PNG_DROPPED)


def _webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks: list[tuple[bytes, bytes]] = []
    pos = 12
    while pos < len(data):
        kind, length = struct.unpack("<4sI", data[pos : pos + 8])
        end = pos + 8 + length + (length & 1)
        if pos + 8 + length > len(data):
            raise ValueError("WebP chunk runs past the end")
        chunks.append((kind, data[pos:end]))
        pos = end
    return chunks


def _webp_without(data: bytes) -> bytes:
    kept = []
    for kind, whole in _webp_chunks(data):
        if kind in _WEBP_DROPPED:
            continue
        if kind == b"VP8X":  # clear the "has EXIF" and "has XMP" flags
            whole = whole[:8] + bytes([whole[8] & ~0x0C]) + whole[9:]
        kept.append(whole)
    body = b"WEBP" + b"".join(kept)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# -- EXIF -------------------------------------------------------------------------------


def _exif_of(data: bytes) -> bytes | None:
    """The TIFF structure of the photo's EXIF, or None when it has none."""
    match image_extension(data):
        case "jpg":
            return _jpeg_exif(_jpeg_segments(data)[0])
        case "png":
            found = [w[8:-4] for kind, w in _png_chunks(data) if kind == b"eXIf"]
            return found[0] if found else None
        case "webp":
            found = [w[8:] for kind, w in _webp_chunks(data) if kind == b"EXIF"]
            return found[0].removeprefix(EXIF_HEADER) if found else None
    return None


def _ifd(tiff: bytes, offset: int) -> dict[int, tuple[int, int, bytes]]:
    """The entries of one IFD: tag -> (type, count, value bytes)."""
    order = "<" if tiff[:2] == b"II" else ">"
    (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
    entries: dict[int, tuple[int, int, bytes]] = {}
    for i in range(count):
        at = offset + 2 + 12 * i
        tag, kind, n = struct.unpack(order + "HHI", tiff[at : at + 8])
        size = _TYPE_SIZES.get(kind, 1) * n
        if size <= 4:
            value = tiff[at + 8 : at + 8 + size]
        else:
            (pointer,) = struct.unpack(order + "I", tiff[at + 8 : at + 12])
            value = tiff[pointer : pointer + size]
        if len(value) == size:
            entries[tag] = (kind, n, value)
    return entries


def _first_ifd(tiff: bytes | None) -> tuple[str, dict[int, tuple[int, int, bytes]]] | None:
    if tiff is None or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", tiff[4:8])
    return order, _ifd(tiff, offset)


def _orientation(tiff: bytes | None) -> int | None:
    try:
        first = _first_ifd(tiff)
    except (IndexError, struct.error):
        return None
    if first is None or ORIENTATION not in first[1]:
        return None
    order, entries = first
    value = struct.unpack(order + "H", entries[ORIENTATION][2][:2])[0]
    return value if 1 <= value <= 8 else None


def _gps_from_tiff(tiff: bytes) -> tuple[float, float] | None:
    first = _first_ifd(tiff)
    if first is None or GPS_IFD not in first[1]:
        return None
    order, entries = first
    (offset,) = struct.unpack(order + "I", entries[GPS_IFD][2][:4])
    gps = _ifd(tiff, offset)
    if not all(tag in gps for tag in (1, 2, 3, 4)):
        return None
    lat = _degrees(order, gps[2][2]) * (-1 if gps[1][2][:1] == b"S" else 1)
    long = _degrees(order, gps[4][2]) * (-1 if gps[3][2][:1] == b"W" else 1)
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        return None
    return lat, long


def _degrees(order: str, value: bytes) -> float:
    """Degrees, minutes and seconds (three RATIONALs) as decimal degrees."""
    d, dd, m, md, s, sd = struct.unpack(order + "6I", value[:24])
    return float(d / dd + m / md / 60 + s / sd / 3600)
