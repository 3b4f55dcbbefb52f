"""Loading many rows at once, inside the caller's transaction (all or nothing).

Ordinary writes go through the ORM one object at a time; a year of demo data (millions
of rows) written that way would take hours. A `BulkLoad` instead hands out the ids
itself, so the caller can point one row at another before either is written, and
inserts plain tuples: on PostgreSQL through COPY, in a background thread, so that the
server stores one batch while Python makes the next; on any other database through one
executemany per batch.

The ids are counted here rather than drawn from the database one by one (which costs a
round trip each): the first time a table is loaded it is locked against other inserts
until the transaction ends (PostgreSQL: SHARE ROW EXCLUSIVE, which readers pass; SQLite's
write transaction holds the whole file anyway), and at the end each sequence is moved
past the last id used.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterable, Sequence
from queue import Queue
from types import TracebackType
from typing import cast

from sqlalchemy import Connection, Table, func, select, text

from storage.models import Base

# COPY's text format: tab-separated, \N for NULL, and these characters escaped.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")
# Batches waiting for the background copier; beyond this the producer waits.
_QUEUED = 2

Rows = Sequence[Sequence[object]]


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


class BulkLoad:
    """Use as a context manager around the load; `ids`, then `insert`. Before using the
    connection for anything else (the ORM session included) call `wait`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.copying = connection.dialect.name == "postgresql"
        self._next: dict[str, int] = {}
        self._loaded: list[Table] = []
        self._queue: Queue[tuple[Table, Sequence[str], Rows] | None] = Queue(_QUEUED)
        self._failed: BaseException | None = None
        self._copier: threading.Thread | None = None

    def __enter__(self) -> BulkLoad:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if error is None:
            self.finish()
        else:
            self._stop()

    def ids(self, model: type[Base], count: int) -> range:
        """`count` new primary keys for the model's table."""
        if count <= 0:
            return range(0)
        table = _table(model)
        if table.name not in self._next:
            self._next[table.name] = self._first_free(table)
            self._loaded.append(table)
        first = self._next[table.name]
        self._next[table.name] = first + count
        return range(first, first + count)

    def _first_free(self, table: Table) -> int:
        self.wait()
        if not self.copying:
            return int(self.connection.scalar(select(func.max(table.c.id))) or 0) + 1
        self.connection.execute(text(f'LOCK TABLE "{table.name}" IN SHARE ROW EXCLUSIVE MODE'))
        sequence = text("SELECT nextval(pg_get_serial_sequence(:table, 'id'))")
        return int(self.connection.scalar(sequence, {"table": table.name}))

    def insert(self, model: type[Base], columns: Sequence[str], rows: Rows) -> int:
        """Insert `rows` (tuples in the order of `columns`); the number of rows. Every
        column a row leaves to a Python-side default must be given: COPY knows only the
        database's own defaults."""
        if not rows:
            return 0
        table = _table(model)
        if not self.copying:
            values = [dict(zip(columns, row, strict=True)) for row in rows]
            self.connection.execute(table.insert(), values)
            return len(rows)
        self._raise_failure()
        if self._copier is None:
            self._copier = threading.Thread(target=self._copy_all, name="bulk-copy", daemon=True)
            self._copier.start()
        self._queue.put((table, columns, rows))
        return len(rows)

    def wait(self) -> None:
        """Until every batch handed over is stored; raises what the copier raised."""
        if self._copier is not None:
            self._queue.put(None)
            self._copier.join()
            self._copier = None
        self._raise_failure()

    def finish(self) -> None:
        """Wait, move each sequence past the ids used, and refresh the planner's
        statistics of the tables loaded (PostgreSQL)."""
        self.wait()
        if not self.copying:
            return
        for table in self._loaded:
            last = self._next[table.name] - 1
            self.connection.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                {"table": table.name, "last": last},
            )
            self.connection.execute(text(f'ANALYZE "{table.name}"'))

    def _stop(self) -> None:
        if self._copier is not None:
            self._queue.put(None)
            self._copier.join()
            self._copier = None

    def _raise_failure(self) -> None:
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed

    def _copy_all(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._failed is None:
                try:
                    _copy(self.connection, *batch)
                except BaseException as exc:  # handed to the producer by wait()
                    self._failed = exc


def copy_rows(connection: Connection, table: Table, columns: Sequence[str], rows: Rows) -> None:
    """Insert `rows` into `table` on PostgreSQL with one COPY, in the caller's transaction."""
    _copy(connection, table, columns, rows)


def _copy(connection: Connection, table: Table, columns: Sequence[str], rows: Rows) -> None:
    buffer = io.StringIO(_copy_text(rows))
    names = ", ".join(f'"{name}"' for name in columns)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(f'COPY "{table.name}" ({names}) FROM STDIN', buffer)
    finally:
        cursor.close()


def _copy_value(value: object) -> str:
    """A value in COPY's text format; a timestamp as str() writes it (ISO 8601 with a
    space), which PostgreSQL reads."""
    if value is None:
        return "\\N"
    if type(value) is str:
        return value.translate(_ESCAPES) if _NEEDS_ESCAPE.search(value) else value
    if type(value) is bool:
        return "t" if value else "f"
    return str(value)


def _copy_text(rows: Iterable[Sequence[object]]) -> str:
    return "".join("\t".join(map(_copy_value, row)) + "\n" for row in rows)
