"""Gauges read from the database when /metrics is scraped."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from storage.backlog import campaign_progress, outbox_backlogs

log = logging.getLogger(__name__)


class DatabaseCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "civic_outbox_depth", "Rows waiting in an outbox", labels=["outbox"]
        )
        age = GaugeMetricFamily(
            "civic_outbox_oldest_age_seconds",
            "How long the oldest waiting row of an outbox has waited (0 when empty)",
            labels=["outbox"],
        )
        sent = GaugeMetricFamily(
            "civic_campaign_invitations_sent",
            "Invitations sent, per running campaign",
            labels=["campaign"],
        )
        total = GaugeMetricFamily(
            "civic_campaign_invitations",
            "Invitations in all, per running campaign",
            labels=["campaign"],
        )
        try:
            with self._sessions() as session:
                backlogs = outbox_backlogs(session=session)
                progress = campaign_progress(session=session)
        except Exception:  # a scrape must not fail because the database does
            log.warning("metrics: the database could not be read", exc_info=True)
            return
        now = datetime.now(UTC)
        for backlog in backlogs:
            depth.add_metric([backlog.outbox], backlog.depth)
            waited = (now - backlog.oldest).total_seconds() if backlog.oldest else 0.0
            age.add_metric([backlog.outbox], max(waited, 0.0))
        for campaign in progress:
            sent.add_metric([str(campaign.campaign_id)], campaign.sent)
            total.add_metric([str(campaign.campaign_id)], campaign.total)
        yield from (depth, age, sent, total)


def database_metrics(sessions: sessionmaker[Session]) -> bytes:
    """The database's gauges in Prometheus's text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(sessions))
    return generate_latest(registry)
