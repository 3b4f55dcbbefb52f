"""Who is speaking, and how sure we are: assurance levels, and the buttons offered to
each citizen (a tapped payload counts only if it was offered)."""

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

__all__ = [
    "ACCOUNT",
    "ANONYMOUS",
    "DEFAULT_COUNTED",
    "INVITED",
    "LEVELS",
    "VERIFIED_PHONE",
    "channel_level",
    "parse_levels",
    "raise_level",
]
