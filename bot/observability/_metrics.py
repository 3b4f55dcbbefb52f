"""The process's own metrics, counted where the work happens.

Each process has its own registry (prometheus-client's default one): the web app serves
it at /metrics, the gateway, scheduler and notifier on the port their setting names
(`serve_metrics`). What is read from the database (outbox depths, campaign progress) is
the web app's alone (`database_metrics`), so it is scraped once, not once per process.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram, start_http_server

log = logging.getLogger(__name__)

# A turn is typically tens of milliseconds; under load it reaches seconds.
TURN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

TURN_SECONDS = Histogram(
    "civic_turn_seconds",
    "Time from a citizen's message to the assistant's replies, by channel",
    ["channel"],
    buckets=TURN_BUCKETS,
)
RASA_ERRORS = Counter(
    "civic_rasa_errors",
    "Calls to the Rasa server that failed: unreachable, timeout, http_<status>, bad_body",
    ["kind"],
)
SENDS = Counter(
    "civic_sends",
    "Messages handed to a channel: replies, notifications, duty messages, invitations",
    ["channel", "kind"],
)
TELEGRAM_REFUSALS = Counter(
    "civic_telegram_refusals",
    "Bot API refusals: 429 (flood control) and 403 (blocked or removed), by message kind",
    ["code", "kind"],
)
BUDGET_WAITS = Counter(
    "civic_send_budget_waits",
    "Telegram sends that found the bot's send budget used up and waited, by priority",
    ["priority"],
)
BUDGET_FALLBACKS = Counter(
    "civic_send_budget_fallbacks",
    "Telegram send tokens taken from this host's meter because Redis did not answer",
)
JOB_RUNS = Counter("civic_job_runs", "Scheduled job runs started, by job id", ["job"])
JOB_FAILURES = Counter("civic_job_failures", "Scheduled job runs that raised, by job id", ["job"])


def count_sends(channel: str, kind: str, number: int = 1) -> None:
    if number:
        SENDS.labels(channel=channel, kind=kind).inc(number)


def count_refusal(code: int, kind: str) -> None:
    TELEGRAM_REFUSALS.labels(code=str(code), kind=kind).inc()


def count_budget_wait(priority: str) -> None:
    BUDGET_WAITS.labels(priority=priority).inc()


def count_budget_fallback() -> None:
    BUDGET_FALLBACKS.inc()


def count_rasa_error(kind: str) -> None:
    RASA_ERRORS.labels(kind=kind).inc()


def serve_metrics(port: int, role: str) -> None:
    """The metrics of a process without a web server of its own, on 127.0.0.1:`port`
    (0: not served)."""
    if port:
        start_http_server(port, addr="127.0.0.1")
        log.info("%s metrics on http://127.0.0.1:%d/metrics", role, port)
