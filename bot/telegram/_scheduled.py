"""Telegram's periodic job: new tickets to the agencies' duty groups, and overdue
escalations to the groups and supervisors."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from bot.telegram._duty_posts import DutyReport, deliver_due
from civic.jobs import Job
from civic.settings import get_settings

log = logging.getLogger(__name__)


def duty_messages(session: Session) -> DutyReport:
    report = deliver_due(session, get_settings())
    if report.sent or report.retried or report.failed or report.unreachable:
        log.info("duty messages: %s", report)
    return report


JOBS = [Job("duty-messages", timedelta(seconds=5), duty_messages)]
