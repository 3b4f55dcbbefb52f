"""Log lines: plain text or JSON (LOG_FORMAT), each carrying the HTTP request it belongs
to and the incident it reports; and the size-rotated files `civicbot run` keeps.

No personal data: a JSON line holds the time, level, logger, the message the code wrote
(which names citizens only by their pseudonymous public id), `request_id` and
`incident` when known, and the exception's traceback. Long runs of digits (chat ids,
phone numbers) and the values SQLAlchemy quotes in its errors are masked in the message
and the traceback, as a second line of defence.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# Nine or more digits: a Telegram chat id or a phone number, never a ticket number
# (HZ-2026-000123) or an incident id (8 hex digits).
_LONG_NUMBER = re.compile(r"\+?-?\d{9,}")
# SQLAlchemy's errors quote the statement's values, which may be what a citizen wrote.
_SQL_PARAMETERS = re.compile(r"^\[parameters: .*$", re.MULTILINE)


def mask_numbers(text: str) -> str:
    return _LONG_NUMBER.sub("[number]", text)


def _scrubbed(text: str) -> str:
    return mask_numbers(_SQL_PARAMETERS.sub("[parameters hidden]", text))


def new_request_id() -> str:
    return secrets.token_hex(8)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _scrubbed(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        incident = getattr(record, "incident", None)
        if incident:
            line["incident"] = str(incident)
        if record.exc_info:
            line["error"] = _scrubbed(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format, with the request id where there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = REQUEST_ID.get()
        return f"{text} [request {request_id}]" if request_id else text


def log_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


class RotatingLog:
    """A log file that is renamed to `<name>.1` (and older ones shifted, `backups` kept)
    once it would grow past `max_bytes`; lines are written as they come."""

    def __init__(self, path: Path, *, max_bytes: int, backups: int) -> None:
        self._handler = RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        self._handler.terminator = ""
        self._handler.setFormatter(logging.Formatter("%(message)s"))

    def write(self, line: str) -> None:
        self._handler.emit(logging.makeLogRecord({"msg": line}))

    def close(self) -> None:
        self._handler.close()
