"""What an operator sees of a running process: its metrics (Prometheus), whether it is
ready (`/readyz`), and its log lines (plain or JSON, with request and incident ids)."""

from bot.observability._database import DatabaseCollector, database_metrics
from bot.observability._logs import (
    REQUEST_ID,
    JsonFormatter,
    RotatingLog,
    log_formatter,
    mask_numbers,
    new_request_id,
)
from bot.observability._metrics import (
    JOB_FAILURES,
    JOB_RUNS,
    TURN_SECONDS,
    count_budget_fallback,
    count_budget_wait,
    count_rasa_error,
    count_refusal,
    count_sends,
    serve_metrics,
)
from bot.observability._readiness import (
    Readiness,
    database_check,
    rasa_check,
    redis_check,
)

__all__ = [
    "JOB_FAILURES",
    "JOB_RUNS",
    "REQUEST_ID",
    "TURN_SECONDS",
    "DatabaseCollector",
    "JsonFormatter",
    "Readiness",
    "RotatingLog",
    "count_budget_fallback",
    "count_budget_wait",
    "count_rasa_error",
    "count_refusal",
    "count_sends",
    "database_check",
    "database_metrics",
    "log_formatter",
    "mask_numbers",
    "new_request_id",
    "rasa_check",
    "redis_check",
    "serve_metrics",
]
