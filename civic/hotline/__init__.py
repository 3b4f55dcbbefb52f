"""Filing for someone else: a 12345-hotline operator or a service window's staff files a
caller's complaint on the desk. The assistant suggests the category, agency and district
(the same routing as a citizen's chat); the operator may change them; the ticket is filed
through the same use case as a citizen's, marked as the operator's, with the caller
reachable by SMS when they gave a mobile number."""

from civic.hotline._filing import (
    FILERS,
    MAX_DESCRIPTION,
    MAX_PLACE,
    Call,
    CallProblems,
    FiledCall,
    file_for_caller,
    filed_call,
    may_file,
    read_call,
)
from civic.hotline._suggest import Choice, Suggestion, suggest

__all__ = [
    "FILERS",
    "MAX_DESCRIPTION",
    "MAX_PLACE",
    "Call",
    "CallProblems",
    "Choice",
    "FiledCall",
    "Suggestion",
    "file_for_caller",
    "filed_call",
    "may_file",
    "read_call",
    "suggest",
]
