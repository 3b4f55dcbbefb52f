"""The data dictionary: every published table, its columns in order, their types and
constraints, and the licence. `datapackage.json` (a Frictionless Tabular Data Package)
is made from it, the validator checks files against it, and the index page lists it.

The descriptions are texts of the message catalogue (`opendata.field.<table>.<column>`,
`opendata.table.<table>.*`), so they exist in Chinese and English alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from civic.i18n import LANGUAGES, t
from civic.open311 import extended_status
from civic.tickets import Status

# Frictionless Table Schema types used here; datetimes are ISO 8601 with an offset.
STRING, INTEGER, NUMBER, BOOLEAN, DATETIME, YEARMONTH = (
    "string",
    "integer",
    "number",
    "boolean",
    "datetime",
    "yearmonth",
)
LICENCE = {
    "name": "CC-BY-4.0",
    "title": "Creative Commons Attribution 4.0 International",
    "path": "https://creativecommons.org/licenses/by/4.0/",
}
DICTIONARY_FILE = "datapackage.json"
FORMATS = ("csv", "json")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    enum: tuple[str, ...] = ()

    def description(self, table: str, lang: str) -> str:
        return t(f"opendata.field.{table}.{self.name}", lang)


@dataclass(frozen=True)
class Table:
    """One published table, written as `<name>.csv` and `<name>.json`."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def file(self, fmt: str) -> str:
        return f"{self.name}.{fmt}"

    def title(self, lang: str) -> str:
        return t(f"opendata.table.{self.name}.title", lang)

    def description(self, lang: str) -> str:
        return t(f"opendata.table.{self.name}.description", lang)


_STATUSES = tuple(s.value for s in Status)
_EXTENDED = tuple(dict.fromkeys(extended_status(s) for s in Status))
_OPEN_CLOSED = ("open", "closed")

TICKETS = Table(
    "tickets",
    (
        Column("service_request_id", STRING, required=True),
        Column("status", STRING, required=True, enum=_OPEN_CLOSED),
        Column("status_detail", STRING, required=True, enum=_EXTENDED),
        Column("lifecycle_status", STRING, required=True, enum=_STATUSES),
        Column("service_code", STRING, required=True),
        Column("service_name_zh", STRING),
        Column("service_name_en", STRING),
        Column("agency", STRING),
        Column("agency_name_zh", STRING),
        Column("agency_name_en", STRING),
        Column("district", STRING),
        Column("district_name_zh", STRING),
        Column("district_name_en", STRING),
        Column("address", STRING),
        Column("lat", NUMBER),
        Column("long", NUMBER),
        Column("requested_datetime", DATETIME, required=True),
        Column("updated_datetime", DATETIME, required=True),
        Column("expected_datetime", DATETIME),
    ),
    ("service_request_id",),
)
TICKET_UPDATES = Table(
    "ticket_updates",
    (
        Column("update_id", STRING, required=True),
        Column("service_request_id", STRING, required=True),
        Column("status", STRING, required=True, enum=_EXTENDED),
        Column("lifecycle_status", STRING, required=True, enum=_STATUSES),
        Column("updated_datetime", DATETIME, required=True),
    ),
    ("update_id",),
)
INDICATORS = Table(
    "indicators",
    (
        Column("period", YEARMONTH, required=True),
        Column("agency", STRING),
        Column("category", STRING),
        Column("district", STRING),
        Column("indicator", STRING, required=True),
        Column("unit", STRING, required=True, enum=("count", "share", "hours", "score")),
        Column("value", NUMBER),
        Column("n", INTEGER, required=True),
        Column("suppressed", BOOLEAN, required=True),
    ),
    ("period", "agency", "category", "district", "indicator"),
)
SURVEY_AGGREGATES = Table(
    "survey_aggregates",
    (
        Column("campaign_id", INTEGER, required=True),
        Column("campaign_name", STRING, required=True),
        Column("survey_key", STRING, required=True),
        Column("closed_datetime", DATETIME),
        Column("agency", STRING),
        Column("question", STRING, required=True),
        Column("row", STRING, required=True, enum=("option", "index")),
        Column("option", STRING),
        Column("count", INTEGER),
        Column("value", NUMBER),
        Column("ci_low", NUMBER),
        Column("ci_high", NUMBER),
        Column("n", INTEGER),
        Column("method", STRING),
        Column("suppressed", BOOLEAN, required=True),
    ),
    ("campaign_id", "agency", "question", "row", "option"),
)
TABLES: tuple[Table, ...] = (TICKETS, TICKET_UPDATES, INDICATORS, SURVEY_AGGREGATES)
# Every name a reader may ask for; nothing else in the folder is ever served.
FILES: tuple[str, ...] = (
    *(table.file(fmt) for table in TABLES for fmt in FORMATS),
    DICTIONARY_FILE,
)


def _field(table: Table, column: Column) -> dict[str, Any]:
    described = {lang: column.description(table.name, lang) for lang in LANGUAGES}
    field: dict[str, Any] = {
        "name": column.name,
        "type": column.type,
        "description": described["en"],
        "descriptions": described,
    }
    constraints: dict[str, Any] = {}
    if column.required:
        constraints["required"] = True
    if column.enum:
        constraints["enum"] = list(column.enum)
    if constraints:
        field["constraints"] = constraints
    return field


def table_schema(table: Table) -> dict[str, Any]:
    return {
        "fields": [_field(table, column) for column in table.columns],
        "primaryKey": list(table.primary_key),
        "missingValues": [""],
    }


def resource(table: Table, fmt: str, *, rows: int, size: int) -> dict[str, Any]:
    """The Data Package resource of one file, with its row count and size."""
    dialect = (
        {"dialect": {"delimiter": ",", "header": True, "lineTerminator": "\r\n"}}
        if fmt == "csv"
        else {}
    )
    return {
        "name": table.name if fmt == "csv" else f"{table.name}-json",
        "path": table.file(fmt),
        "profile": "tabular-data-resource",
        "format": fmt,
        "mediatype": "text/csv" if fmt == "csv" else "application/json",
        "encoding": "utf-8-sig" if fmt == "csv" else "utf-8",
        "title": table.title("en"),
        "titles": {lang: table.title(lang) for lang in LANGUAGES},
        "description": table.description("en"),
        "descriptions": {lang: table.description(lang) for lang in LANGUAGES},
        "bytes": size,
        "rows": rows,
        "schema": table_schema(table),
        **dialect,
    }
