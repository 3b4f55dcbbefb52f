"""What to tell whom when a ticket moves: the citizens' notification outbox."""

from civic.notifications._service import (
    due_notifications,
    enqueue_direct,
    enqueue_for_event,
    enqueue_notice,
    fixed_question_buttons,
    mark_retry,
    mark_sent,
    mark_unreachable,
    params_of,
)

__all__ = [
    "due_notifications",
    "enqueue_direct",
    "enqueue_for_event",
    "enqueue_notice",
    "fixed_question_buttons",
    "mark_retry",
    "mark_sent",
    "mark_unreachable",
    "params_of",
]
