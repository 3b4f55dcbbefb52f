"""Masking what identifies a person in free text, and keeping a place only roughly.

`mask_identifiers` masks what reaches a person: e-mail addresses, and phone and ID-card
numbers (runs of seven or more digits). `redact_text` masks those and also house, building
and unit numbers ("12号", "3幢2单元501室", "3-201", "No. 12", "Room 301", "12 Yan'an
Road"), so that what is left names the problem and the street, not the door. Neither can
find a name: free text that must be forgotten entirely is deleted, not redacted.
"""

from __future__ import annotations

import re

MASK = "***"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Phone and ID-card numbers (an ID may end in X); not ticket numbers (HZ-2026-000123),
# whose digits follow a dash, and not dates (2026-01-15), which are put back.
_DIGIT_RUN = re.compile(r"(?<![A-Za-z0-9-])\+?\d(?:[\s-]?\d){6,}[Xx]?(?![A-Za-z0-9])")
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")

# Chinese addresses count doors with a number and a unit word: 号 (not 号线, a metro
# line, nor a date's 5号 after 月), 号楼, 幢, 栋, 座, 单元, 室, 户, 弄, 楼, 层; a run of
# them is one address ("3幢2单元501室"), with any bare number that ends it ("5栋1203").
_CHINESE_UNIT = r"\d+(?:[-－]\d+)*\s*(?:号楼|号院|号(?!线)|幢|栋|座|单元|室|户|弄|楼|层)"
_CHINESE_DOOR = re.compile(
    rf"(?<![\d月]){_CHINESE_UNIT}(?:\s*{_CHINESE_UNIT})*(?:[-－]?\d+(?![\d.]))?"
)
# "3-201", "12-3-301": building, unit and room; the last part has three or four digits,
# so "3-5 days" and dates stay.
_DASHED_DOOR = re.compile(r"(?<![A-Za-z0-9-])\d{1,4}(?:-\d{1,4})?-\d{3,4}(?![A-Za-z0-9-])")
# "No. 12", "Room 301", "Apt 5B", "#12"; Building, Block and Floor only capitalised, as
# in an address ("cars block 3 lanes" stays).
_ENGLISH_DOOR = re.compile(
    r"(?:\b(?:(?i:No\.|Room|Rm\.?|Unit|Apt\.?|Apartment|Flat|Suite)|Building|Bldg\.?"
    r"|Block|Blk\.?|Floor)|#)\s*\d+[A-Za-z]?(?:[-/]\d+[A-Za-z]?)*\b"
)
# "12 Yan'an Road", "7B Jiangnan Avenue": a house number before a street's name.
_HOUSE_NUMBER = re.compile(
    r"\b\d{1,5}[A-Za-z]?(?=,?\s+(?:[A-Z][\w'’-]*\s+){1,3}"
    r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Alley|Boulevard|Blvd|Way)\b)"
)


def mask_identifiers(text: str | None) -> str | None:
    """`text` with e-mail addresses and phone and ID-card numbers masked."""
    if not text:
        return text
    return _DIGIT_RUN.sub(_mask_digits, _EMAIL.sub(MASK, text))


def _mask_digits(match: re.Match[str]) -> str:
    return match.group() if _DATE.match(match.group()) else MASK


def redact_text(text: str | None) -> str | None:
    """`text` with identifiers masked and house, building and unit numbers too."""
    masked = mask_identifiers(text)
    if not masked:
        return masked
    for pattern in (_CHINESE_DOOR, _DASHED_DOOR, _ENGLISH_DOOR, _HOUSE_NUMBER):
        masked = pattern.sub(MASK, masked)
    return masked


# A thousandth of a degree is about 111 m of latitude, and 96 m of longitude at Hangzhou's
# 30°N (111 m × cos 30°): a position kept to three decimals says which block, not which
# door.
COARSE_DECIMALS = 3


def coarse_position(value: float | None) -> float | None:
    """A latitude or longitude rounded to about 100 m."""
    return None if value is None else round(value, COARSE_DECIMALS)
