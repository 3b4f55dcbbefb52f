"""bot.observability._logs: JSON lines that parse and carry the ids and no personal
numbers, the plain format with the request id, and size rotation keeping N files."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from bot.observability import REQUEST_ID, JsonFormatter, RotatingLog, log_formatter


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("civic.test", logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_json_line_has_the_ids_and_masks_chat_ids_and_phone_numbers() -> None:
    token = REQUEST_ID.set("req-1")
    try:
        line = JsonFormatter().format(
            record(
                "chat %s (phone %s) on ticket %s",
                -1001234567890,
                "+8613812345678",
                "HZ-2026-000123",
                incident="a1b2c3d4",
            )
        )
    finally:
        REQUEST_ID.reset(token)
    parsed = json.loads(line)
    assert parsed["message"] == "chat [number] (phone [number]) on ticket HZ-2026-000123"
    assert (parsed["request_id"], parsed["incident"]) == ("req-1", "a1b2c3d4")
    assert (parsed["level"], parsed["logger"]) == ("WARNING", "civic.test")


def test_outside_a_request_there_is_no_request_id_and_errors_keep_their_traceback() -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        failed = record("job failed")
        failed.exc_info = sys.exc_info()
    parsed = json.loads(JsonFormatter().format(failed))
    assert "request_id" not in parsed and "incident" not in parsed
    assert parsed["error"].splitlines()[-1] == "ValueError: bad value"


def test_the_text_format_names_the_request() -> None:
    token = REQUEST_ID.set("req-2")
    try:
        text = log_formatter("text").format(record("turn done"))
    finally:
        REQUEST_ID.reset(token)
    assert text.endswith("WARNING civic.test: turn done [request req-2]")
    assert isinstance(log_formatter("json"), JsonFormatter)


def test_rotation_keeps_the_newest_lines_in_at_most_n_old_files(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    log = RotatingLog(path, max_bytes=100, backups=2)
    for i in range(40):
        log.write(f"line {i:02d} of the web process\n")  # 26 bytes
    log.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web.log", "web.log.1", "web.log.2"]
    assert all(p.stat().st_size <= 100 for p in tmp_path.iterdir())
    newest = path.read_text(encoding="utf-8").splitlines()
    kept = (
        (tmp_path / "web.log.2").read_text(encoding="utf-8").splitlines()
        + (tmp_path / "web.log.1").read_text(encoding="utf-8").splitlines()
        + newest
    )
    assert newest[-1] == "line 39 of the web process"
    # nothing lost or reordered among what is kept
    assert kept == [f"line {i:02d} of the web process" for i in range(40 - len(kept), 40)]
