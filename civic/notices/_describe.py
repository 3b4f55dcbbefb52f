"""A notice's subject and lateness in words, for the desk and the duty messages."""

from __future__ import annotations

import json
from datetime import date

from civic.i18n import localised, t
from storage.models import Notice, NoticeMilestone

SUBJECT_KEYS = ("satisfaction", "reopen_rate", "overdue_rate")


def evidence_of(notice: Notice) -> dict[str, object]:
    """The notice's frozen evidence; an unreadable one is empty."""
    try:
        found = json.loads(notice.evidence or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def subject_label(notice: Notice, lang: str) -> str:
    """The code's label as it was when proposed, or the indicator's name."""
    if notice.subject in SUBJECT_KEYS:
        return t(f"notices.subject.{notice.subject}", lang)
    label = evidence_of(notice).get("label")
    if isinstance(label, dict):
        return localised({str(k): str(v) for k, v in label.items()}, lang) or notice.subject
    return notice.subject


def late_milestones(notice: Notice, today: date) -> list[NoticeMilestone]:
    """The commitment's milestones past their date and not done."""
    return [m for m in notice.milestones if m.done_at is None and m.due < today]
