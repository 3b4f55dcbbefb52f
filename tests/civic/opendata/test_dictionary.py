"""The dictionary: every column described in both languages, in datapackage.json's
Table Schema and in docs/open-data.md."""

from __future__ import annotations

from civic.i18n import LANGUAGES
from civic.opendata import TABLES, table_schema
from civic.settings import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "open-data.md"


def test_each_column_has_a_description_in_each_language() -> None:
    for table in TABLES:
        for column in table.columns:
            texts = [column.description(table.name, lang) for lang in LANGUAGES]
            assert all(texts) and texts[0] != texts[1], (table.name, column.name)


def test_the_table_schema_of_the_updates() -> None:
    [updates] = [t for t in TABLES if t.name == "ticket_updates"]
    schema = table_schema(updates)
    assert [f["name"] for f in schema["fields"]] == [
        "update_id",
        "service_request_id",
        "status",
        "lifecycle_status",
        "updated_datetime",
    ]
    when = schema["fields"][-1]
    assert when == {
        "name": "updated_datetime",
        "type": "datetime",
        "description": "When the update was made (ISO 8601 with offset).",
        "descriptions": {
            "zh": "变更时间（ISO 8601，带偏移）。",
            "en": "When the update was made (ISO 8601 with offset).",
        },
        "constraints": {"required": True},
    }
    assert schema["primaryKey"] == ["update_id"]


def test_the_documentation_lists_every_column_in_both_languages() -> None:
    doc = DOC.read_text("utf-8")
    for table in TABLES:
        for column in table.columns:
            row = (
                f"| `{column.name}` | {column.type}{', required' if column.required else ''} "
                f"| {column.description(table.name, 'en')} "
                f"| {column.description(table.name, 'zh')} |"
            )
            assert row in doc, row
