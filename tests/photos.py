"""Photos as phones send them: a real JPEG (drawn by Pillow) carrying an EXIF block with
the camera's make, an orientation and a GPS position, plus a comment; and the same
metadata in a PNG's eXIf chunk."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

MAKE = b"PhoneMaker\x00"


def _rational(value: float) -> bytes:
    """Degrees as three RATIONALs (degrees, minutes, seconds in 1/1000)."""
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 1000)
    return struct.pack(">6I", degrees, 1, minutes, 1, seconds, 1000)


def exif_tiff(lat: float, long: float, *, orientation: int = 1) -> bytes:
    """A big-endian TIFF block: IFD0 (make, orientation, GPS pointer) and a GPS IFD."""
    ifd0_at, ifd0_entries = 8, 3
    make_at = ifd0_at + 2 + 12 * ifd0_entries + 4
    gps_at = make_at + len(MAKE)
    gps_entries = 4
    lat_at = gps_at + 2 + 12 * gps_entries + 4
    long_at = lat_at + 24
    ifd0 = struct.pack(">H", ifd0_entries) + b"".join(
        [
            struct.pack(">HHII", 0x010F, 2, len(MAKE), make_at),
            struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0),
            struct.pack(">HHII", 0x8825, 4, 1, gps_at),
        ]
    )
    gps = struct.pack(">H", gps_entries) + b"".join(
        [
            struct.pack(">HHI2s2x", 1, 2, 2, b"N\x00" if lat >= 0 else b"S\x00"),
            struct.pack(">HHII", 2, 5, 3, lat_at),
            struct.pack(">HHI2s2x", 3, 2, 2, b"E\x00" if long >= 0 else b"W\x00"),
            struct.pack(">HHII", 4, 5, 3, long_at),
        ]
    )
    tiff = b"MM\x00\x2a" + struct.pack(">I", ifd0_at) + ifd0 + b"\0\0\0\0" + MAKE
    return tiff + gps + b"\0\0\0\0" + _rational(abs(lat)) + _rational(abs(long))


def plain_jpeg(size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()


def jpeg_with_gps(lat: float, long: float, *, orientation: int = 1) -> bytes:
    """A JPEG whose APP1 EXIF holds the position, and which carries a comment."""
    data = plain_jpeg()
    body = b"Exif\x00\x00" + exif_tiff(lat, long, orientation=orientation)
    app1 = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    comment = b"taken at home"
    com = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return data[:2] + app1 + com + data[2:]


def png_with_gps(lat: float, long: float) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, "PNG")
    data = out.getvalue()
    tiff = exif_tiff(lat, long)
    chunk = struct.pack(">I", len(tiff)) + b"eXIf" + tiff
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
    return data[:33] + chunk + data[33:]  # after the signature and IHDR
