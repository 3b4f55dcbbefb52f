"""Writing one table as CSV and JSON in a single pass over its rows, each file under a
temporary name first and renamed into place when complete, so that a reader (the web
app, a download in progress) sees the old file or the new one, never half of one."""

from __future__ import annotations

import csv
import json
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from civic.opendata._dictionary import Table

BOM = "\ufeff"
# How often (in rows) the caller hears how far a long table has got.
PROGRESS_EVERY = 10_000

Value = str | int | float | bool | None
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Written:
    table: str
    rows: int
    sizes: dict[str, int]


def _csv_cell(value: Value) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class _JsonArray:
    """A JSON array of objects written one object at a time."""

    def __init__(self, out: IO[str], names: Sequence[str]) -> None:
        self.out, self.names, self.first = out, names, True
        out.write("[")

    def add(self, row: Sequence[Value]) -> None:
        record = dict(zip(self.names, row, strict=True))
        self.out.write(("\n" if self.first else ",\n") + json.dumps(record, ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self.out.write("\n]\n")


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def write_table(
    out_dir: Path, table: Table, rows: Iterable[Sequence[Value]], progress: Progress
) -> Written:
    """Write `rows` (values in the table's column order) to `<table>.csv` (UTF-8 with a
    byte-order mark, so that Excel reads it as UTF-8) and `<table>.json`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = {fmt: out_dir / table.file(fmt) for fmt in ("csv", "json")}
    temp = {fmt: _temporary(path) for fmt, path in final.items()}
    count = 0
    try:
        with (
            temp["csv"].open("w", encoding="utf-8", newline="") as csv_out,
            temp["json"].open("w", encoding="utf-8") as json_out,
        ):
            csv_out.write(BOM)
            writer = csv.writer(csv_out, lineterminator="\r\n")
            writer.writerow(table.names)
            array = _JsonArray(json_out, table.names)
            for row in rows:
                writer.writerow([_csv_cell(v) for v in row])
                array.add(row)
                count += 1
                if count % PROGRESS_EVERY == 0:
                    progress(table.name, count)
            array.close()
        for fmt, path in temp.items():
            os.replace(path, final[fmt])
    finally:
        for path in temp.values():
            path.unlink(missing_ok=True)
    progress(table.name, count)
    return Written(table.name, count, {fmt: p.stat().st_size for fmt, p in final.items()})


def write_json(path: Path, document: Any) -> None:
    """`document` as the file `path`, replaced in one step."""
    temp = _temporary(path)
    try:
        temp.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
