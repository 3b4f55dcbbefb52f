"""Talking to a person: a citizen's request, the staff's queue and replies."""

from civic.handoffs._service import (
    add_citizen_message,
    close_handoff,
    handoff_queue,
    open_handoff_of,
    request_handoff,
    staff_reply,
)

__all__ = [
    "add_citizen_message",
    "close_handoff",
    "handoff_queue",
    "open_handoff_of",
    "request_handoff",
    "staff_reply",
]
