"""Delivery's periodic job: the agencies' webhook alerts."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
from sqlalchemy.orm import Session

from bot.delivery._webhooks import deliver_alerts
from civic.city import get_profile
from civic.jobs import Job
from civic.settings import get_settings

log = logging.getLogger(__name__)


def agency_webhooks(session: Session) -> tuple[int, int]:
    """Deliver due alerts to the agencies' webhooks."""
    settings = get_settings()
    profile = get_profile(settings.profiles_dir, settings.profile)
    with httpx.Client(timeout=10) as client:
        delivered, failed = deliver_alerts(session, profile, client)
    if delivered or failed:
        log.info("agency webhooks: %d delivered, %d to retry", delivered, failed)
    return delivered, failed


JOBS = [Job("agency-webhooks", timedelta(seconds=15), agency_webhooks)]
