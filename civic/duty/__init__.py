"""Agencies' duty groups and supervisors on Telegram: linked accounts, the outbox of
new-ticket posts and overdue escalations (of tickets and of improvement notices), the open
reroute questions, and their texts."""

from civic.duty._service import (
    MAX_ATTEMPTS,
    NEW_TICKET,
    NOTICE_LATE,
    agency_of_chat,
    due_duty_messages,
    enqueue_escalation,
    enqueue_new_ticket_post,
    enqueue_notice_escalation,
    issue_link_code,
    link_telegram,
    mark_failed_attempt,
    mark_posted,
    mark_unreachable,
    officer_for_telegram,
    open_prompt,
    open_prompt_for,
    postpone,
    redeem_link_code,
    unlink_telegram,
)

__all__ = [
    "MAX_ATTEMPTS",
    "NEW_TICKET",
    "NOTICE_LATE",
    "agency_of_chat",
    "due_duty_messages",
    "enqueue_escalation",
    "enqueue_new_ticket_post",
    "enqueue_notice_escalation",
    "issue_link_code",
    "link_telegram",
    "mark_failed_attempt",
    "mark_posted",
    "mark_unreachable",
    "officer_for_telegram",
    "open_prompt",
    "open_prompt_for",
    "postpone",
    "redeem_link_code",
    "unlink_telegram",
]
