"""The notices' daily job: escalate what is late (a response or a milestone) to the
agencies' supervisors and duty groups."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from civic.city import get_profile
from civic.jobs import Job
from civic.notices._escalate import escalate_overdue
from civic.notices._rules import load_notice_rules, notice_rules_path
from civic.opinion import codebook_path, load_codebook
from civic.settings import get_settings

log = logging.getLogger(__name__)


def escalate_late_notices(session: Session) -> dict[str, int]:
    settings = get_settings()
    profile = get_profile(settings.profiles_dir, settings.profile)
    codebook = load_codebook(codebook_path(profile), profile)
    rules = load_notice_rules(notice_rules_path(profile), profile, codebook)
    escalated = escalate_overdue(
        session=session,
        now=datetime.now(UTC),
        timezone=profile.timezone,
        grace_days=rules.escalation_grace_days,
    )
    queued = sum(e.queued for e in escalated)
    log.info("notices escalated: %d; duty messages queued: %d", len(escalated), queued)
    return {"escalated": len(escalated), "queued": queued}


JOBS = [Job("escalate-notices", timedelta(days=1), escalate_late_notices)]
