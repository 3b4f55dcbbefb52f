"""The ticket lifecycle: its states and rules, the use cases every edge calls (file,
route, accept, progress, rectify, reroute, close, reopen, follow), the citizen's
confirmation and rating, the overdue check, the daily limit per citizen, and their
scheduled jobs."""

from civic.tickets._followups import (
    CLOSE_AFTER,
    OVERDUE_NOTE,
    REMIND_AFTER,
    SATISFACTION,
    UNCONFIRMED_NOTE,
    answer_fixed,
    flag_overdue,
    rate,
)
from civic.tickets._quota import DailyTicketLimit, check_daily_limit
from civic.tickets._scheduled import JOBS
from civic.tickets._service import (
    accept,
    add_progress,
    attach_photo,
    close,
    create_ticket,
    find_duplicate,
    follow_ticket,
    get_ticket,
    list_inbox,
    may_see_photo,
    rectify,
    reopen,
    reroute,
    transition,
    triage_queue,
)
from civic.tickets._states import (
    OPEN_STATUSES,
    TRANSITIONS,
    WAITING,
    Status,
    check_transition,
    due_at,
    ticket_number,
)

__all__ = [
    "CLOSE_AFTER",
    "JOBS",
    "OPEN_STATUSES",
    "OVERDUE_NOTE",
    "REMIND_AFTER",
    "SATISFACTION",
    "TRANSITIONS",
    "UNCONFIRMED_NOTE",
    "WAITING",
    "DailyTicketLimit",
    "Status",
    "accept",
    "add_progress",
    "answer_fixed",
    "attach_photo",
    "check_daily_limit",
    "check_transition",
    "close",
    "create_ticket",
    "due_at",
    "find_duplicate",
    "flag_overdue",
    "follow_ticket",
    "get_ticket",
    "list_inbox",
    "may_see_photo",
    "rate",
    "rectify",
    "reopen",
    "reroute",
    "ticket_number",
    "transition",
    "triage_queue",
]
