"""ops.scheduler: the jobs the nouns declare, registered by id in the database's job
store, and run one at a time with a session that is rolled back on failure."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civic.jobs import Job
from civic.settings import get_settings
from ops import scheduler
from storage.db import migrate, session_scope
from storage.locks import make_lock
from storage.models import ProcessedUpdate, utcnow


def test_every_declared_job_is_registered_once_with_its_interval(tmp_path: Path) -> None:
    built = scheduler.build_scheduler(get_settings())
    jobs = {job.id: job for job in built.get_jobs()}
    assert sorted(jobs) == [
        "agency-webhooks",
        "campaign-invitations",
        "collect-comments",
        "duty-messages",
        "escalate-notices",
        "overdue-check",
        "publish-open-data",
        "purge-expired-personal-data",
        "purge-idle-conversations",
        "purge-offered-buttons",
        "purge-phone-codes",
        "purge-processed-updates",
        "rectification-followup",
    ]
    assert jobs["overdue-check"].trigger.interval == timedelta(minutes=10)
    assert jobs["duty-messages"].trigger.interval == timedelta(seconds=5)
    assert jobs["purge-processed-updates"].args == ("purge-processed-updates",)
    assert jobs["purge-expired-personal-data"].trigger.interval == timedelta(hours=6)
    assert jobs["publish-open-data"].trigger.interval == timedelta(days=1)
    assert jobs["collect-comments"].trigger.interval == timedelta(days=1)
    assert jobs["escalate-notices"].trigger.interval == timedelta(days=1)


def test_a_job_runs_with_a_session_that_is_committed() -> None:
    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        session.add(ProcessedUpdate(key="old", at=utcnow() - timedelta(days=3)))
    assert scheduler.run_job("purge-processed-updates") == 1
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0


def test_a_failing_job_is_rolled_back_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = get_settings()
    migrate(settings.database_url)

    def add_then_fail(session: Session) -> None:
        session.add(ProcessedUpdate(key="kept?", at=utcnow()))
        session.flush()
        raise RuntimeError("boom")

    monkeypatch.setitem(scheduler.JOBS, "failing", Job("failing", timedelta(1), add_then_fail))
    assert scheduler.run_job("failing") is None
    assert "job failing failed (incident" in caplog.text
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0


def test_a_run_is_skipped_while_the_last_one_still_holds_the_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = get_settings()
    migrate(settings.database_url)
    ran: list[str] = []
    monkeypatch.setitem(
        scheduler.JOBS, "slow", Job("slow", timedelta(1), lambda session: ran.append("ran"))
    )
    held = make_lock(
        "job:slow",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        var_dir=settings.var_dir,
    )
    assert held.acquire()
    try:
        assert scheduler.run_job("slow") is None
    finally:
        held.release()
    assert ran == []
    scheduler.run_job("slow")
    assert ran == ["ran"]


def test_runs_and_failures_are_counted_per_job(monkeypatch: pytest.MonkeyPatch) -> None:
    migrate(get_settings().database_url)

    def fail(session: Session) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(scheduler.JOBS, "counted", Job("counted", timedelta(1), fail))
    monkeypatch.setitem(scheduler.JOBS, "fine", Job("fine", timedelta(1), lambda session: 1))

    def count(name: str, job: str) -> float:
        return REGISTRY.get_sample_value(name, {"job": job}) or 0.0

    before = [
        count(n, j)
        for n in ("civic_job_runs_total", "civic_job_failures_total")
        for j in ("counted", "fine")
    ]
    scheduler.run_job("counted")
    scheduler.run_job("fine")
    scheduler.run_job("fine")
    after = [
        count(n, j)
        for n in ("civic_job_runs_total", "civic_job_failures_total")
        for j in ("counted", "fine")
    ]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 2, 1, 0]
