"""Checking published files against the dictionary: the CSV's byte-order mark, its
columns in order, and every value (required ones present, types that parse, allowed
values only); the JSON the same way, key by key. Files are read a row at a time.

A problem names the file, the row (as a spreadsheet numbers it: the header is row 1)
and the column. At most `MAX_PROBLEMS` are reported per file."""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from civic.opendata._dictionary import (
    BOOLEAN,
    DATETIME,
    DICTIONARY_FILE,
    INTEGER,
    NUMBER,
    STRING,
    TABLES,
    YEARMONTH,
    Column,
    Table,
)
from civic.opendata._files import BOM
from civic.opendata._publish import read_package

MAX_PROBLEMS = 20
_INTEGER = re.compile(r"-?\d+")
_YEARMONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _type_problem(kind: str, text: str) -> str | None:
    """Why `text` is not a value of `kind`, or None when it is."""
    if kind == STRING:
        return None
    if kind == INTEGER:
        return None if _INTEGER.fullmatch(text) else f"'{text}' is not an integer"
    if kind == NUMBER:
        try:
            return None if math.isfinite(float(text)) else f"'{text}' is not a finite number"
        except ValueError:
            return f"'{text}' is not a number"
    if kind == BOOLEAN:
        return None if text in ("true", "false") else f"'{text}' is not true or false"
    if kind == DATETIME:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return f"'{text}' is not an ISO 8601 date and time"
        return None if moment.tzinfo else f"'{text}' has no UTC offset"
    if kind == YEARMONTH:
        return None if _YEARMONTH.fullmatch(text) else f"'{text}' is not a year-month (YYYY-MM)"
    raise ValueError(f"unknown type {kind}")


def _value_problem(column: Column, text: str | None) -> str | None:
    if text is None or text == "":
        return "a value is required" if column.required else None
    if column.enum and text not in column.enum:
        return f"'{text}' is not one of {', '.join(column.enum)}"
    return _type_problem(column.type, text)


def _json_text(column: Column, value: Any) -> tuple[str | None, str | None]:
    """(the value as CSV would write it, or a problem with its JSON type)."""
    if value is None:
        return None, None
    expected = {
        INTEGER: (int,),
        NUMBER: (int, float),
        BOOLEAN: (bool,),
    }.get(column.type, (str,))
    if (isinstance(value, bool) and column.type != BOOLEAN) or not isinstance(value, expected):
        return None, f"{json.dumps(value, ensure_ascii=False)} is not a JSON {column.type}"
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    return str(value), None


class _Report:
    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []

    def add(self, problem: str, row: int | None = None, column: str | None = None) -> bool:
        """Record a problem; False once enough are recorded for this file."""
        where = "".join(
            [f", row {row}" if row is not None else "", f", column {column}" if column else ""]
        )
        self.problems.append(f"{self.name}{where}: {problem}")
        return len(self.problems) < MAX_PROBLEMS


def _check_csv(path: Path, table: Table, report: _Report) -> int:
    with path.open(encoding="utf-8", newline="") as fh:
        if fh.read(1) != BOM:
            report.add("does not start with the UTF-8 byte-order mark")
            fh.seek(0)
        reader = csv.reader(fh)
        header = next(reader, None)
        if header != list(table.names):
            report.add(f"the columns are {header}, the dictionary says {list(table.names)}", 1)
            return 0
        rows = 0
        for number, cells in enumerate(reader, start=2):
            rows += 1
            if len(cells) != len(table.columns):
                count = f"{len(cells)} values, not {len(table.columns)}"
                if not report.add(count, number):
                    return rows
                continue
            for column, text in zip(table.columns, cells, strict=True):
                problem = _value_problem(column, text)
                if problem and not report.add(problem, number, column.name):
                    return rows
        return rows


def _json_records(path: Path) -> Iterator[Any]:
    """The records of a file written one per line (as `publish` does), without reading
    the whole array into memory; a file in any other layout is parsed whole."""
    with path.open(encoding="utf-8") as fh:
        first = fh.readline().strip()
        if first != "[":
            fh.seek(0)
            yield from json.load(fh)
            return
        for line in fh:
            text = line.strip().removesuffix(",")
            if text and text != "]":
                yield json.loads(text)


def _check_json(path: Path, table: Table, report: _Report) -> int:
    rows = 0
    try:
        for number, record in enumerate(_json_records(path), start=2):
            rows += 1
            if not _check_record(record, table, report, number):
                return rows
    except (json.JSONDecodeError, TypeError) as exc:
        report.add(f"is not a JSON array of objects ({exc})")
    return rows


def _check_record(record: Any, table: Table, report: _Report, number: int) -> bool:
    if not isinstance(record, Mapping) or list(record) != list(table.names):
        keys = list(record) if isinstance(record, Mapping) else type(record).__name__
        return report.add(f"the keys are {keys}, the dictionary says {list(table.names)}", number)
    for column in table.columns:
        text, problem = _json_text(column, record[column.name])
        problem = problem or _value_problem(column, text)
        if problem and not report.add(problem, number, column.name):
            return False
    return True


def validate(out_dir: Path) -> list[str]:
    """Every problem found in the published files (an empty list when they are right),
    `datapackage.json`'s row counts included."""
    problems: list[str] = []
    try:
        package = read_package(out_dir)
    except (ValueError, OSError) as exc:
        return [f"{DICTIONARY_FILE}: cannot be read ({exc})"]
    if package is None:
        problems.append(f"{DICTIONARY_FILE}: is missing")
    counts = {r["path"]: r.get("rows") for r in (package or {}).get("resources", [])}
    for table in TABLES:
        for fmt, check in (("csv", _check_csv), ("json", _check_json)):
            name = table.file(fmt)
            report = _Report(name)
            path = out_dir / name
            if not path.is_file():
                report.add("is missing")
            else:
                rows = check(path, table, report)
                if package is not None and counts.get(name) != rows and not report.problems:
                    report.add(f"has {rows} rows, datapackage.json says {counts.get(name)}")
            problems.extend(report.problems)
    return problems
