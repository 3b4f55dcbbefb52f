"""The scheduler: APScheduler in exactly one process, jobs kept in the database.

APScheduler forbids two schedulers sharing a job store, so the process first takes the
`scheduler` lock; a second instance waits on standby until the first one is gone.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import Session

from civic.settings import Settings, get_settings
from civic.tickets.followups import flag_overdue, follow_up_rectified
from storage.db import session_scope
from storage.locks import Lock, make_lock
from storage.updates import purge_processed_updates

if TYPE_CHECKING:
    from bot.telegram.duty_posts import DutyReport

log = logging.getLogger(__name__)

STANDBY_RETRY_SECONDS = 5.0


def scheduled_job(name: str) -> Callable[[Callable[[Session], Any]], Callable[[], Any]]:
    """Wrap a job: one session per run, rolled back and logged on failure, and a lock so
    that a run still going when the next one is due makes the next one skip."""

    def decorate(func: Callable[[Session], Any]) -> Callable[[], Any]:
        @wraps(func)
        def run() -> Any:
            settings = get_settings()
            lock = make_lock(
                f"job:{name}",
                database_url=settings.database_url,
                redis_url=settings.redis_url,
                var_dir=settings.var_dir,
                ttl_ms=10 * 60_000,
            )
            if not lock.acquire():
                log.info("job %s still running elsewhere; this run is skipped", name)
                return None
            try:
                with session_scope(settings.database_url) as session:
                    return func(session)
            except Exception:
                incident = secrets.token_hex(4)
                log.exception("job %s failed (incident %s); rolled back", name, incident)
                return None
            finally:
                lock.release()

        return run

    return decorate


@scheduled_job("purge-processed-updates")
def purge_updates(session: Session) -> int:
    removed = purge_processed_updates(session=session)
    log.info("purged %d processed-update keys", removed)
    return removed


@scheduled_job("rectification-followup")
def rectification_followup(session: Session) -> tuple[int, int]:
    reminded, closed = follow_up_rectified(session=session)
    log.info("rectification follow-up: %d reminded, %d closed unconfirmed", reminded, closed)
    return reminded, closed


@scheduled_job("overdue-check")
def overdue_check(session: Session) -> int:
    flagged = flag_overdue(session=session)
    log.info("overdue check: %d tickets flagged", flagged)
    return flagged


@scheduled_job("agency-webhooks")
def agency_webhooks(session: Session) -> tuple[int, int]:
    """Deliver due alerts to the agencies' webhooks."""
    import httpx

    from bot.delivery.webhooks import deliver_alerts
    from civic.city.profiles import get_profile

    settings = get_settings()
    profile = get_profile(settings.profiles_dir, settings.profile)
    with httpx.Client(timeout=10) as client:
        delivered, failed = deliver_alerts(session, profile, client)
    if delivered or failed:
        log.info("agency webhooks: %d delivered, %d to retry", delivered, failed)
    return delivered, failed


@scheduled_job("duty-messages")
def duty_messages(session: Session) -> DutyReport:
    """Post new tickets to the agencies' duty groups and escalations to supervisors."""
    from bot.telegram.duty_posts import deliver_due

    report = deliver_due(session, get_settings())
    if report.sent or report.retried or report.failed or report.unreachable:
        log.info("duty messages: %s", report)
    return report


def campaign_invitations() -> None:
    """Send the survey invitations and reminders due now, inside each campaign's send
    window; the sender's own lock keeps `civicbot campaign send` from running alongside."""
    import asyncio

    from bot.campaigns.runtime import make_sender, sender_lock

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


# Job id -> (function reference, trigger, trigger arguments). Explicit ids make a restart
# replace the stored job instead of adding a second copy.
JOBS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "purge-processed-updates": ("ops.scheduler:purge_updates", "interval", {"hours": 1}),
    "rectification-followup": ("ops.scheduler:rectification_followup", "interval", {"minutes": 30}),
    "overdue-check": ("ops.scheduler:overdue_check", "interval", {"minutes": 10}),
    "agency-webhooks": ("ops.scheduler:agency_webhooks", "interval", {"seconds": 15}),
    "duty-messages": ("ops.scheduler:duty_messages", "interval", {"seconds": 5}),
    "campaign-invitations": ("ops.scheduler:campaign_invitations", "interval", {"seconds": 30}),
}


def build_scheduler(settings: Settings) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=settings.database_url)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone="UTC",
    )
    for job_id, (func, trigger, args) in JOBS.items():
        scheduler.add_job(func, trigger, id=job_id, replace_existing=True, **args)
    return scheduler


def run_scheduler(settings: Settings, stop: threading.Event | None = None) -> None:
    """Take the scheduler lock (waiting on standby if another instance holds it), then
    run the jobs until stopped."""
    stop = stop or threading.Event()
    lock: Lock = make_lock(
        "scheduler",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        var_dir=settings.var_dir,
    )
    while not lock.acquire():
        log.info("another scheduler is running; standing by")
        if stop.wait(STANDBY_RETRY_SECONDS):
            return
    log.info("scheduler lock taken; starting jobs")
    scheduler = build_scheduler(settings)
    renewer = threading.Thread(target=_keep_lock, args=(lock, scheduler, stop), daemon=True)
    renewer.start()
    try:
        scheduler.start()
    finally:
        stop.set()
        lock.release()


def _keep_lock(lock: Lock, scheduler: BlockingScheduler, stop: threading.Event) -> None:
    """Renew an expiring lock; if it is lost, stop firing jobs at once."""
    while not stop.wait(STANDBY_RETRY_SECONDS):
        if not lock.acquire():
            log.error("scheduler lock lost; shutting down to avoid firing jobs twice")
            scheduler.shutdown(wait=False)
            return
    if scheduler.running:
        scheduler.shutdown(wait=False)
