"""Who is speaking, and how sure we are: assurance levels, proving a phone number with a
one-time code, and the buttons offered to each citizen (a tapped payload counts only if
it was offered)."""

from civic.identity._assurance import (
    ACCOUNT,
    ANONYMOUS,
    DEFAULT_COUNTED,
    INVITED,
    LEVELS,
    VERIFIED_PHONE,
    channel_level,
    parse_levels,
    raise_level,
)
from civic.identity._phone import (
    CODE_LIFETIME,
    CODES_PER_HOUR,
    MAX_WRONG_TRIES,
    WAITING_FOR_CODE,
    WAITING_FOR_NUMBER,
    Checked,
    Issued,
    PhoneCodes,
    Reply,
    TooManyCodes,
    is_verified,
    mask_phone,
    read_reply,
)
from civic.identity._scheduled import JOBS

__all__ = [
    "ACCOUNT",
    "ANONYMOUS",
    "CODES_PER_HOUR",
    "CODE_LIFETIME",
    "DEFAULT_COUNTED",
    "INVITED",
    "JOBS",
    "LEVELS",
    "MAX_WRONG_TRIES",
    "VERIFIED_PHONE",
    "WAITING_FOR_CODE",
    "WAITING_FOR_NUMBER",
    "Checked",
    "Issued",
    "PhoneCodes",
    "Reply",
    "TooManyCodes",
    "channel_level",
    "is_verified",
    "mask_phone",
    "parse_levels",
    "raise_level",
    "read_reply",
]
