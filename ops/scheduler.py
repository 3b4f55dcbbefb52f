"""The scheduler: APScheduler in exactly one process, jobs kept in the database. Each
job is declared next to its noun (`<noun>/scheduled.py`); this module collects them.

APScheduler forbids two schedulers sharing a job store, so the process first takes the
`scheduler` lock; a second instance waits on standby until the first one is gone.
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.assistant import JOBS as ASSISTANT_JOBS
from bot.campaigns import JOBS as CAMPAIGN_JOBS
from bot.delivery import JOBS as DELIVERY_JOBS
from bot.observability import JOB_FAILURES, JOB_RUNS
from bot.telegram import JOBS as TELEGRAM_JOBS
from civic.identity import JOBS as IDENTITY_JOBS
from civic.jobs import Job
from civic.notices import JOBS as NOTICE_JOBS
from civic.opendata import JOBS as OPENDATA_JOBS
from civic.opinion import JOBS as OPINION_JOBS
from civic.privacy import JOBS as PRIVACY_JOBS
from civic.settings import Settings, get_settings
from civic.tickets import JOBS as TICKET_JOBS
from storage.db import session_scope
from storage.locks import Lock, make_lock

log = logging.getLogger(__name__)

STANDBY_RETRY_SECONDS = 5.0


# Every job the nouns declare, by id.
JOBS: dict[str, Job] = {
    job.id: job
    for job in [
        *ASSISTANT_JOBS,
        *IDENTITY_JOBS,
        *TICKET_JOBS,
        *PRIVACY_JOBS,
        *DELIVERY_JOBS,
        *TELEGRAM_JOBS,
        *CAMPAIGN_JOBS,
        *OPENDATA_JOBS,
        *OPINION_JOBS,
        *NOTICE_JOBS,
    ]
}


def run_job(job_id: str) -> Any:
    """What APScheduler calls (it stores this function's name and the id, so a restart
    finds the job again): one session per run, rolled back and logged on failure, and a
    lock so that a run still going when the next one is due makes the next one skip."""
    job = JOBS[job_id]
    JOB_RUNS.labels(job=job_id).inc()
    if job.own_session:
        try:
            return job.run()
        except Exception:
            JOB_FAILURES.labels(job=job_id).inc()
            raise
    settings = get_settings()
    lock = make_lock(
        f"job:{job_id}",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        var_dir=settings.var_dir,
        ttl_ms=10 * 60_000,
    )
    if not lock.acquire():
        log.info("job %s still running elsewhere; this run is skipped", job_id)
        return None
    try:
        with session_scope(settings.database_url) as session:
            return job.run(session)
    except Exception:
        JOB_FAILURES.labels(job=job_id).inc()
        incident = secrets.token_hex(4)
        log.exception(
            "job %s failed (incident %s); rolled back",
            job_id,
            incident,
            extra={"incident": incident},
        )
        return None
    finally:
        lock.release()


def build_scheduler(settings: Settings) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=settings.database_url)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone="UTC",
    )
    # Explicit ids make a restart replace the stored job instead of adding a second copy.
    for job in JOBS.values():
        scheduler.add_job(
            "ops.scheduler:run_job",
            "interval",
            args=[job.id],
            id=job.id,
            replace_existing=True,
            seconds=job.every.total_seconds(),
        )
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
