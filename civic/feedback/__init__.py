"""Feedback that is not a complaint: praise and suggestions."""

from civic.feedback._service import (
    KINDS,
    agency_named,
    list_feedback,
    praise_counts,
    record_feedback,
)

__all__ = ["KINDS", "agency_named", "list_feedback", "praise_counts", "record_feedback"]
