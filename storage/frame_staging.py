"""The staging table of a registry import, and the merge of its rows into the sample frame.

A registry of millions of households does not fit in memory: the import checks the file
row by row and writes the valid rows here in batches, and only when the whole file is
valid merges them into `frame_members`, in the caller's transaction (all or nothing).

The table is TEMPORARY: each database connection has its own, so two imports at once
never see each other's rows, and the personal data in it (mobile, e-mail, postal address)
is gone with the connection even when the import is killed half-way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from storage.bulk import copy_rows
from storage.models import FrameMember

# The order of the values in each staged row.
STAGED_COLUMNS = ("line", "external_id", "district", "strata", "mobile", "email", "postal_address")
# What the registry says about a household: compared and updated on merge.
_FIELDS = STAGED_COLUMNS[2:]
_NAME = "frame_import_staging"

_STAGING = Table(
    _NAME,
    MetaData(),
    Column("line", Integer, primary_key=True),  # where the row starts in the file
    Column("external_id", String(64), nullable=False),
    Column("district", String(64)),
    Column("strata", Text, nullable=False),
    Column("mobile", String(32)),
    Column("email", String(255)),
    Column("postal_address", Text),
    prefixes=["TEMPORARY"],
)
_MEMBERS = cast(Table, FrameMember.__table__)


def _qualified(connection: Connection) -> str:
    """The staging table's name in the connection's own temporary schema, so that a
    DROP never reaches an ordinary table."""
    schema = "pg_temp" if connection.dialect.name == "postgresql" else "temp"
    return f"{schema}.{_NAME}"


def open_staging(*, session: Session) -> None:
    """An empty staging table on the session's connection."""
    connection = session.connection()
    connection.execute(text(f"DROP TABLE IF EXISTS {_qualified(connection)}"))
    _STAGING.create(connection)


def stage_rows(*, session: Session, rows: Sequence[Sequence[object]]) -> None:
    """Add rows (values in the order of STAGED_COLUMNS) to the staging table."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        copy_rows(connection, _STAGING, STAGED_COLUMNS, rows)
    else:
        values = [dict(zip(STAGED_COLUMNS, row, strict=True)) for row in rows]
        connection.execute(_STAGING.insert(), values)


def repeated_ids(*, session: Session, limit: int) -> tuple[list[tuple[int, int]], int]:
    """The staged rows whose id an earlier row already has, as (line, first line) in line
    order (at most `limit` of them), and how many there are in all."""
    connection = session.connection()
    index = f"CREATE INDEX IF NOT EXISTS ix_{_NAME}_external_id ON {_NAME} (external_id)"
    connection.execute(text(index))
    first = func.min(_STAGING.c.line).over(partition_by=_STAGING.c.external_id)
    lines = select(_STAGING.c.line, first.label("first")).subquery()
    repeated = select(lines.c.line, lines.c.first).where(lines.c.line != lines.c.first)
    count = connection.scalar(select(func.count()).select_from(repeated.subquery()))
    listed = connection.execute(repeated.order_by(lines.c.line).limit(limit)).all()
    return [(int(line), int(first_line)) for line, first_line in listed], int(count or 0)


def merge_staged(*, session: Session, now: datetime) -> tuple[int, int, int]:
    """Update the households already in the frame and add the new ones (in file order);
    (added, updated, unchanged). Consent, opt-out and sampling history stay."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Concurrent merges wait for each other (readers pass), so that two imports of the
        # same household cannot both add it.
        connection.execute(text("LOCK TABLE frame_members IN SHARE ROW EXCLUSIVE MODE"))
    staged = int(connection.scalar(select(func.count()).select_from(_STAGING)) or 0)
    same = _MEMBERS.c.external_id == _STAGING.c.external_id
    differs = or_(*(_MEMBERS.c[name].is_distinct_from(_STAGING.c[name]) for name in _FIELDS))
    changes = {name: _STAGING.c[name] for name in _FIELDS}
    updated = connection.execute(update(_MEMBERS).where(same, differs).values(changes)).rowcount
    names = ["kind", "external_id", *_FIELDS, "created_at"]
    new = (
        select(
            literal("household"),
            _STAGING.c.external_id,
            *(_STAGING.c[name] for name in _FIELDS),
            bindparam("now", now, type_=DateTime(timezone=True)),
        )
        .where(~exists().where(same))
        .order_by(_STAGING.c.line)
    )
    added = connection.execute(insert(_MEMBERS).from_select(names, new)).rowcount
    # Objects of the frame the session holds would show the old values.
    for member in list(session.identity_map.values()):
        if isinstance(member, FrameMember):
            session.expire(member)
    return added, updated, staged - added - updated


def close_staging(*, session: Session) -> None:
    """Drop the staging table and the personal data in it."""
    connection = session.connection()
    connection.execute(text(f"DROP TABLE IF EXISTS {_qualified(connection)}"))
