"""The campaigns' periodic job: survey invitations and reminders."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.campaigns._runtime import make_sender, sender_lock
from civic.jobs import Job
from civic.settings import get_settings

log = logging.getLogger(__name__)


def campaign_invitations() -> None:
    """Send the invitations and reminders due now, inside each campaign's send window;
    the sender's own lock keeps `civicbot campaign send` from running alongside."""
    settings = get_settings()
    lock = sender_lock(settings)
    if not lock.acquire():
        log.info("campaign invitations: another sender is running")
        return
    try:
        sender = make_sender(settings)
        sender.keepalive = lock.acquire
        sender.recover()
        report = asyncio.run(sender.send_all_due())
        if report.total:
            log.info("campaign invitations: %s", report)
    except Exception:
        log.exception("job campaign-invitations failed")
    finally:
        lock.release()


JOBS = [Job("campaign-invitations", timedelta(seconds=30), campaign_invitations, own_session=True)]
