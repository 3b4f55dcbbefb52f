"""Performance improvement notices and the citizens in their loop."""

from civic.notices._chat import PREFIX as ANSWER_PREFIX
from civic.notices._chat import answer_by_token, answer_in_chat, invitation_for
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

__all__ = [
    "ANSWERS",
    "ANSWER_PREFIX",
    "CONTACT",
    "FOLLOWUP_SURVEY",
    "STAGES",
    "Followup",
    "FollowupError",
    "FollowupMessage",
    "answer_by_token",
    "answer_counts",
    "answer_in_chat",
    "followup_message",
    "followup_of",
    "invitation_for",
    "link_citizens",
    "record_answer",
    "start_followup",
]
