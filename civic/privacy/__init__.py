"""Personal data: masking identifiers in free text and keeping places rough
(`redaction`), what "delete my data" does to every column the models mark personal
(`erasure`, one table of rules), and deleting what is older than the retention period
(`retention`, with its scheduled job)."""

from civic.privacy._erasure import RULES, Change, Erasure, Rule, delete_photos, erase_citizen
from civic.privacy._redaction import (
    COARSE_DECIMALS,
    coarse_position,
    mask_identifiers,
    redact_text,
)
from civic.privacy._retention import purge_expired, purge_unheld_photos
from civic.privacy._scheduled import JOBS

__all__ = [
    "COARSE_DECIMALS",
    "JOBS",
    "RULES",
    "Change",
    "Erasure",
    "Rule",
    "coarse_position",
    "delete_photos",
    "erase_citizen",
    "mask_identifiers",
    "purge_expired",
    "purge_unheld_photos",
    "redact_text",
]
