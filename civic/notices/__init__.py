"""Performance improvement notices (整改通知): the profile's rules
(`profiles/<city>/opinion/notices.yml`, described in the README beside it) propose a
notice to an agency when a problem shows in the figures (a code's share of its comments
grew, its satisfaction index is under target, too many tickets reopen or run late); the
evaluation office issues or dismisses each proposal; the agency's coordinator answers with
a public commitment and its milestones, reports progress and rectification; the office
verifies it and closes the notice, or returns it. A late answer or milestone is escalated
to the agency's supervisors and duty group. Every step is an event of the notice's history.

The service, for the command line, the scheduler and the desk (sessions are opened by
the caller and passed in; nothing here commits):

Rules
    `load_notice_rules(path, profile, codebook)`, `notice_rules_path(profile)` ->
    `NoticeRules`; a wrong file raises `NoticeRulesError` naming the file and the entry.

Proposals
    `propose_notices(session=, profile=, codebook=, rules=, year=)` -> the new `Notice`s,
    with their evidence frozen as JSON; proposing again proposes nothing twice.

Steps (each returns a `Step`: the notice, the stage it reached, its event)
    `issue`, `dismiss`, `verify`, `return_rectification` (the office); `commit`,
    `report_progress`, `report_rectified` (the agency's coordinator). Refusals are
    `NotPermitted`, `NoticeRefused` and `NoticeClosed`, with `.text(lang)` for the desk.
    A published commitment and a verification both pass through `notice_published`
    (`_published.py`), which links the citizens concerned and starts their follow-up.

Reading
    `list_notices(session=, user=)`, `may_read(user, notice)`; `subject_label`,
    `evidence_of`, `late_milestones` describe one.

Escalation
    `escalate_overdue(session=, now=, timezone=, grace_days=)`; the daily job
    `escalate-notices` (`JOBS`).

Citizens in the loop
    `link_citizens`, `start_followup` (a follow-up campaign per notice and stage, sent by
    the campaign sender), `answer_in_chat` / `answer_by_token` (the one-tap answers),
    `answer_counts`.
"""

from civic.notices._chat import PREFIX as ANSWER_PREFIX
from civic.notices._chat import answer_by_token, answer_in_chat, invitation_for
from civic.notices._describe import evidence_of, late_milestones, subject_label
from civic.notices._errors import NoticeClosed, NoticeRefused, NotPermitted
from civic.notices._escalate import Escalation, escalate_overdue
from civic.notices._followup import (
    ANSWERS,
    CONTACT,
    FOLLOWUP_SURVEY,
    STAGES,
    Followup,
    FollowupError,
    FollowupMessage,
    answer_counts,
    followup_message,
    followup_of,
    link_citizens,
    record_answer,
    start_followup,
)
from civic.notices._lifecycle import (
    CLOSED,
    DISMISSED,
    ISSUED,
    MAX_MILESTONES,
    PROPOSED,
    RECTIFIED,
    STATUSES,
    MilestoneInput,
    Step,
    commit,
    dismiss,
    is_coordinator_of,
    is_office,
    issue,
    list_notices,
    may_read,
    report_progress,
    report_rectified,
    return_rectification,
    verify,
)
from civic.notices._propose import SAMPLE_SIZE, propose_notices
from civic.notices._published import COMMITTED, VERIFIED, notice_published
from civic.notices._rules import (
    KINDS,
    NoticeRule,
    NoticeRules,
    NoticeRulesError,
    load_notice_rules,
    notice_rules_path,
)
from civic.notices._scheduled import JOBS

__all__ = [
    "ANSWERS",
    "ANSWER_PREFIX",
    "CLOSED",
    "COMMITTED",
    "CONTACT",
    "DISMISSED",
    "FOLLOWUP_SURVEY",
    "ISSUED",
    "JOBS",
    "KINDS",
    "MAX_MILESTONES",
    "PROPOSED",
    "RECTIFIED",
    "SAMPLE_SIZE",
    "STAGES",
    "STATUSES",
    "VERIFIED",
    "Escalation",
    "Followup",
    "FollowupError",
    "FollowupMessage",
    "MilestoneInput",
    "NotPermitted",
    "NoticeClosed",
    "NoticeRefused",
    "NoticeRule",
    "NoticeRules",
    "NoticeRulesError",
    "Step",
    "answer_by_token",
    "answer_counts",
    "answer_in_chat",
    "commit",
    "dismiss",
    "escalate_overdue",
    "evidence_of",
    "followup_message",
    "followup_of",
    "invitation_for",
    "is_coordinator_of",
    "is_office",
    "issue",
    "late_milestones",
    "link_citizens",
    "list_notices",
    "load_notice_rules",
    "may_read",
    "notice_published",
    "notice_rules_path",
    "propose_notices",
    "record_answer",
    "report_progress",
    "report_rectified",
    "return_rectification",
    "start_followup",
    "subject_label",
    "verify",
]
