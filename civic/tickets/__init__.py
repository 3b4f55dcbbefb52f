"""The ticket lifecycle: its states and rules, the use cases every edge calls (file,
route, accept, progress, rectify, reroute, close, reopen, follow), the citizen's
confirmation and rating, the overdue check, the daily limit per citizen, the citizen's
report page (its signed link, its form token, what the citizen adds) and their
scheduled jobs."""

from civic.tickets._additions import MAX_ADDITION, AdditionRefused, add_information
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
from civic.tickets._report_links import (
    FORM_LIFETIME,
    form_token,
    form_token_valid,
    report_token,
    report_url,
    ticket_for_token,
)
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
    "FORM_LIFETIME",
    "JOBS",
    "MAX_ADDITION",
    "OPEN_STATUSES",
    "OVERDUE_NOTE",
    "REMIND_AFTER",
    "SATISFACTION",
    "TRANSITIONS",
    "UNCONFIRMED_NOTE",
    "WAITING",
    "AdditionRefused",
    "DailyTicketLimit",
    "Status",
    "accept",
    "add_information",
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
    "form_token",
    "form_token_valid",
    "get_ticket",
    "list_inbox",
    "may_see_photo",
    "rate",
    "rectify",
    "reopen",
    "report_token",
    "report_url",
    "reroute",
    "ticket_for_token",
    "ticket_number",
    "transition",
    "triage_queue",
]
