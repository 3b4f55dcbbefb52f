"""The ticket lifecycle's periodic jobs: closing the loop after a rectification, and
flagging tickets past their due time."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from civic.jobs import Job
from civic.tickets._followups import flag_overdue, follow_up_rectified

log = logging.getLogger(__name__)


def rectification_followup(session: Session) -> tuple[int, int]:
    reminded, closed = follow_up_rectified(session=session)
    log.info("rectification follow-up: %d reminded, %d closed unconfirmed", reminded, closed)
    return reminded, closed


def overdue_check(session: Session) -> int:
    flagged = flag_overdue(session=session)
    log.info("overdue check: %d tickets flagged", flagged)
    return flagged


JOBS = [
    Job("rectification-followup", timedelta(minutes=30), rectification_followup),
    Job("overdue-check", timedelta(minutes=10), overdue_check),
]
