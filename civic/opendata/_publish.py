"""Publishing: every table written in turn, then `datapackage.json` (the dictionary with
each file's size and row count and the time of the run) last, so that it describes
files that are all in place."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from civic.city import Profile
from civic.i18n import LANGUAGES, localised, t
from civic.open311 import iso
from civic.opendata._dictionary import (
    DICTIONARY_FILE,
    FORMATS,
    INDICATORS,
    LICENCE,
    SURVEY_AGGREGATES,
    TABLES,
    TICKET_UPDATES,
    TICKETS,
    Table,
    resource,
)
from civic.opendata._files import Progress, Written, write_json, write_table
from civic.opendata._tables import Row, indicator_rows, survey_rows, ticket_rows, update_rows


@dataclass(frozen=True)
class Published:
    out_dir: Path
    created: str
    written: tuple[Written, ...]


def _rows(table: Table, session: Session, profile: Profile, now: datetime) -> Iterable[Row]:
    if table is TICKETS:
        return ticket_rows(session=session, profile=profile)
    if table is TICKET_UPDATES:
        return update_rows(session=session, profile=profile)
    if table is INDICATORS:
        return indicator_rows(session=session, profile=profile, as_of=now)
    if table is SURVEY_AGGREGATES:
        return survey_rows(session=session, profile=profile)
    raise ValueError(f"no rows for the table {table.name}")


def _nothing(table: str, rows: int) -> None:
    return None


def publish(
    *,
    session: Session,
    profile: Profile,
    out_dir: Path,
    now: datetime | None = None,
    progress: Progress = _nothing,
) -> Published:
    """Write every table and the dictionary into `out_dir`. `progress(table, rows)` is
    called every few thousand rows and when a table is done. Only reads the database."""
    now = now or datetime.now(UTC)
    written = tuple(
        write_table(out_dir, table, _rows(table, session, profile, now), progress)
        for table in TABLES
    )
    created = iso(now, profile.timezone) or ""
    write_json(out_dir / DICTIONARY_FILE, data_package(profile, written, created))
    return Published(out_dir, created, written)


def data_package(profile: Profile, written: Iterable[Written], created: str) -> dict[str, Any]:
    done = {w.table: w for w in written}
    tables = {table.name: table for table in TABLES}
    titles = {
        lang: t("opendata.package.title", lang, city=localised(profile.name, lang))
        for lang in LANGUAGES
    }
    return {
        "profile": "tabular-data-package",
        "name": f"{profile.code}-civic-feedback",
        "title": titles["en"],
        "titles": titles,
        "created": created,
        "licenses": [LICENCE],
        "resources": [
            resource(tables[name], fmt, rows=w.rows, size=w.sizes[fmt])
            for name, w in done.items()
            for fmt in FORMATS
        ],
    }


def read_package(out_dir: Path) -> dict[str, Any] | None:
    """The last published `datapackage.json`, or None before the first publication."""
    path = out_dir / DICTIONARY_FILE
    if not path.is_file():
        return None
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return document
