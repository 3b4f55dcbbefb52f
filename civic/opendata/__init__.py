"""Open data: daily bulk files of tickets, their updates, the ticket indicators and the
published survey aggregates, as CSV (UTF-8 with a byte-order mark) and JSON, with a
machine-readable dictionary and the licence (`datapackage.json`). No personal data goes
out: the files show what Open311's public (coarse) view shows, without its free texts.

`publish(session=, profile=, out_dir=, progress=)` writes them (each file replaced in
one step, rows streamed from the database); `validate(out_dir)` checks them against
the dictionary and lists the problems; `read_package(out_dir)` reads the last
dictionary back (sizes, row counts, time); `FILES` are the only names ever served.
`default_folder(var_dir)` is where the command and the daily job write them.
"""

from pathlib import Path

from civic.opendata._dictionary import (
    DICTIONARY_FILE,
    FILES,
    FORMATS,
    LICENCE,
    TABLES,
    Column,
    Table,
    table_schema,
)
from civic.opendata._files import BOM, Written
from civic.opendata._publish import Published, data_package, publish, read_package
from civic.opendata._scheduled import FOLDER, JOBS
from civic.opendata._validate import validate


def default_folder(var_dir: Path) -> Path:
    return var_dir / FOLDER


__all__ = [
    "BOM",
    "DICTIONARY_FILE",
    "FILES",
    "FORMATS",
    "JOBS",
    "LICENCE",
    "TABLES",
    "Column",
    "Published",
    "Table",
    "Written",
    "data_package",
    "default_folder",
    "publish",
    "read_package",
    "table_schema",
    "validate",
]
