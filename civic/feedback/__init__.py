"""Feedback that is not a complaint: praise and suggestions."""

from civic.feedback._inbox import (
    UNROUTED,
    feedback_for,
    get_feedback,
    mark_read,
    may_mark_read,
    route_suggestion,
    unread_suggestions,
)
from civic.feedback._service import (
    KINDS,
    agency_by_topic,
    agency_named,
    list_feedback,
    praise_counts,
    record_feedback,
)

__all__ = [
    "KINDS",
    "UNROUTED",
    "agency_by_topic",
    "agency_named",
    "feedback_for",
    "get_feedback",
    "list_feedback",
    "mark_read",
    "may_mark_read",
    "praise_counts",
    "record_feedback",
    "route_suggestion",
    "unread_suggestions",
]
