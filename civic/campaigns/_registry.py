"""The import of the evaluation office's household registry into the sample frame.

The file is read as a stream: each row is checked as it comes and the valid ones go to a
staging table in batches (storage.frame_staging), so a city-wide registry of millions of
households needs no more memory than one batch. Only when the whole file is valid are the
staged rows merged into the frame, in the caller's transaction: a bad row anywhere leaves
the frame as it was.

Mobile numbers, e-mail addresses and postal addresses are personal data: no error message
or log line here ever quotes a cell of the registry, only its line and column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from civic.campaigns._frame import normalise_mobile
from civic.campaigns._sampling import KEY_SEPARATORS
from civic.i18n import t
from storage.frame_staging import (
    close_staging,
    merge_staged,
    open_staging,
    repeated_ids,
    stage_rows,
)

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

CONTACT_COLUMNS = ("mobile", "email", "postal_address")
# Columns that are not strata; every other column is one (age_band, gender, income, ...).
FIXED_COLUMNS = ("id", "district", *CONTACT_COLUMNS)
COLUMN_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MAX_ID_LENGTH = 64
MAX_EMAIL_LENGTH = 255
# Rows written to the staging table at a time, and between two progress reports.
BATCH_ROWS = 5_000
# Problems listed in the report; beyond these they are only counted.
MAX_LISTED_ERRORS = 1_000

# progress(step, rows): "read" after each batch (rows read so far) and when the file is
# read; "merge" when every row is valid and the merge into the frame begins.
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class RowError:
    """A problem in the registry file: its line, the column's name, and what is wrong (a
    key of `frame.problem` in the message catalogues, with its numbers). Never holds the
    cell's value, which may be personal."""

    line: int
    column: str | None
    problem: str
    params: tuple[tuple[str, int], ...] = ()

    def text(self, lang: str) -> str:
        where = t("frame.problem.where", lang, line=self.line)
        what = t(f"frame.problem.{self.problem}", lang, **dict(self.params))
        return f"{where}{self.column} {what}" if self.column else where + what

    def __str__(self) -> str:
        return self.text("en")


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    # The first MAX_LISTED_ERRORS problems in line order; `unlisted` counts the rest.
    errors: list[RowError] = field(default_factory=list)
    unlisted: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.unlisted

    def add_errors(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            if len(self.errors) < MAX_LISTED_ERRORS:
                self.errors.append(error)
            else:
                self.unlisted += 1


def import_households(
    *,
    session: Session,
    profile_districts: set[str],
    csv_text: str | None = None,
    lines: Iterable[bytes] | Iterable[str] | None = None,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportReport:
    """Add or update the registry's households from CSV (header on line 1), given as
    `csv_text` or, for a file of any size, as `lines`: a file opened in binary mode (UTF-8,
    decoded line by line, so that a bad byte is reported on its line) or in text mode
    with newline="".

    Columns: `id` (the registry's id, unique), `district` (a district code), at least one
    of `mobile`, `email`, `postal_address`, and any strata columns. All or nothing: when
    any row is wrong nothing is written and the report lists the problems. A household
    already imported is updated (its consent, opt-out and sampling history stay).
    """
    source = io.StringIO(csv_text or "", newline="") if lines is None else lines
    reader = csv.reader(_text(source))
    report = ImportReport()
    open_staging(session=session)
    _read(reader, profile_districts, session, report, progress or _silent, batch_rows)
    if report.rows:
        _check_repeated_ids(session, report)
    if report.ok:
        if progress is not None:
            progress("merge", report.rows)
        now = datetime.now(UTC)
        report.added, report.updated, report.unchanged = merge_staged(session=session, now=now)
    close_staging(session=session)
    return report


def _silent(step: str, rows: int) -> None:
    pass


def _text(lines: Iterable[bytes] | Iterable[str]) -> Iterator[str]:
    """The lines as text, without the byte order mark; UnicodeDecodeError on a bad one."""
    first = True
    for line in lines:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        yield text.removeprefix("\ufeff") if first else text
        first = False


def _read(
    reader: CsvReader,
    districts: set[str],
    session: Session,
    report: ImportReport,
    progress: Progress,
    batch_rows: int,
) -> None:
    """Check every row and stage the valid ones, a batch at a time."""
    batch: list[tuple[object, ...]] = []
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        report.add_errors(_header_errors(header))
        if not report.ok:
            return
        for line, cells in _rows(reader):
            report.rows += 1
            row, errors = _row(line, header, cells, districts)
            report.add_errors(errors)
            if row is not None:
                batch.append(row)
            if report.rows % batch_rows == 0:
                stage_rows(session=session, rows=batch)
                batch.clear()
                progress("read", report.rows)
    except csv.Error:
        # The csv module's message may quote the line; ours does not.
        report.add_errors([RowError(reader.line_num, None, "not_csv")])
    except UnicodeDecodeError:
        report.add_errors([RowError(reader.line_num + 1, None, "not_utf8")])
    if batch:
        stage_rows(session=session, rows=batch)
    if report.rows % batch_rows:
        progress("read", report.rows)


def _check_repeated_ids(session: Session, report: ImportReport) -> None:
    repeated, count = repeated_ids(session=session, limit=MAX_LISTED_ERRORS)
    if not count:
        return
    found = [
        *report.errors,
        *(RowError(line, "id", "repeated_id", (("first", first),)) for line, first in repeated),
    ]
    found.sort(key=lambda error: error.line)  # stable: a line's problems keep their order
    total = report.error_count + count
    report.errors = found[:MAX_LISTED_ERRORS]
    report.unlisted = total - len(report.errors)


def _rows(reader: CsvReader) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on (a quoted cell may span lines); blank rows skipped."""
    line = 2
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield line, cells
        line = reader.line_num + 1


def _header_errors(header: Sequence[str]) -> list[RowError]:
    if not header:
        return [RowError(1, None, "no_header")]
    errors = [RowError(1, name, "required") for name in ("id", "district") if name not in header]
    if not any(name in header for name in CONTACT_COLUMNS):
        errors.append(RowError(1, None, "no_contact_column"))
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not COLUMN_NAME.fullmatch(name):
            errors.append(RowError(1, None, "column_name", (("position", position),)))
        elif name in seen:
            errors.append(RowError(1, name, "column_twice"))
        seen.add(name)
    return errors


def _row(
    line: int, header: Sequence[str], cells: Sequence[str], districts: set[str]
) -> tuple[tuple[object, ...] | None, list[RowError]]:
    """The row to stage (values in the order of storage.frame_staging.STAGED_COLUMNS), or
    None and its problems."""
    if len(cells) != len(header):
        return None, [
            RowError(line, None, "cells", (("cells", len(cells)), ("header", len(header))))
        ]
    row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
    found = _problems(line, row, districts)
    if found:
        return None, found
    contacts = {name: row.get(name) or None for name in CONTACT_COLUMNS}
    strata = {name: value for name, value in row.items() if name not in FIXED_COLUMNS and value}
    mobile = normalise_mobile(contacts["mobile"]) if contacts["mobile"] else None
    return (
        line,
        row["id"],
        row["district"],
        json.dumps(strata, ensure_ascii=False, sort_keys=True),
        mobile,
        contacts["email"],
        contacts["postal_address"],
    ), []


def _problems(line: int, row: Mapping[str, str], districts: set[str]) -> list[RowError]:
    found: list[RowError] = []
    external_id = row["id"]
    if not external_id:
        found.append(RowError(line, "id", "required"))
    elif len(external_id) > MAX_ID_LENGTH:
        found.append(RowError(line, "id", "too_long", (("most", MAX_ID_LENGTH),)))
    if not row["district"]:
        found.append(RowError(line, "district", "required"))
    elif row["district"] not in districts:
        found.append(RowError(line, "district", "unknown_district"))
    contacts = {name: row.get(name) or None for name in CONTACT_COLUMNS}
    if not any(contacts.values()):
        found.append(RowError(line, None, "no_contact"))
    if contacts["mobile"] and normalise_mobile(contacts["mobile"]) is None:
        found.append(RowError(line, "mobile", "bad_mobile"))
    email = contacts["email"]
    if email and (len(email) > MAX_EMAIL_LENGTH or not EMAIL.fullmatch(email)):
        found.append(RowError(line, "email", "bad_email"))
    for name, value in row.items():
        if name not in FIXED_COLUMNS and any(sep in value for sep in KEY_SEPARATORS):
            found.append(RowError(line, name, "separator"))
    return found
