"""The validator: published files pass; a wrong column, a bad date, a value outside its
list, a missing BOM or a file cut short fail with the file, row and column named."""

from __future__ import annotations

from pathlib import Path

import pytest

from civic.opendata import validate
from storage.db import migrate, session_factory
from tests.civic.evaluation.fixture_year import fixture_profile
from tests.civic.opendata.seed import publish_all, seed


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files published once from the fixture city on SQLite (the publishing itself is
    tested on both databases in test_publish.py)."""
    base = tmp_path_factory.mktemp("opendata")
    url = f"sqlite:///{base / 'test.db'}"
    migrate(url)
    profile = fixture_profile()
    with session_factory(url)() as session:
        seed(session, profile)
        publish_all(session, profile, base / "out")
    return base / "out"


@pytest.fixture
def out(clean: Path, tmp_path: Path) -> Path:
    """A copy of the clean files to spoil."""
    copy = tmp_path / "out"
    copy.mkdir()
    for path in clean.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    return copy


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), "utf-8")


def test_published_files_are_valid(out: Path) -> None:
    assert validate(out) == []


def test_a_renamed_column_is_named(out: Path) -> None:
    _edit(out / "tickets.csv", "requested_datetime", "filed")
    [problem] = validate(out)
    assert problem.startswith("tickets.csv, row 1: the columns are [")
    assert "'filed'" in problem


def test_a_bad_date_names_file_row_and_column(out: Path) -> None:
    _edit(out / "tickets.csv", "2026-03-01T16:00:00+08:00", "2026-03-32T16:00:00+08:00")
    assert validate(out) == [
        "tickets.csv, row 3, column requested_datetime: "
        "'2026-03-32T16:00:00+08:00' is not an ISO 8601 date and time"
    ]


def test_a_date_without_offset_fails(out: Path) -> None:
    _edit(out / "ticket_updates.json", "2027-01-10T11:00:00+08:00", "2027-01-10T11:00:00")
    [problem] = validate(out)
    assert problem == (
        "ticket_updates.json, row 4, column updated_datetime: "
        "'2027-01-10T11:00:00' has no UTC offset"
    )


def test_a_value_outside_the_list_and_a_missing_required_value_fail(out: Path) -> None:
    _edit(out / "tickets.csv", ",open,INVESTIGATING,", ",pending,INVESTIGATING,")
    _edit(out / "indicators.json", '"indicator": "volume"', '"indicator": null')
    assert validate(out) == [
        "tickets.csv, row 2, column status: 'pending' is not one of open, closed",
        "indicators.json, row 2, column indicator: a value is required",
    ]


def test_a_number_of_the_wrong_json_type_fails(out: Path) -> None:
    _edit(out / "tickets.json", '"lat": 30.258', '"lat": "30.258"')
    assert validate(out) == ['tickets.json, row 2, column lat: "30.258" is not a JSON number']


def test_a_missing_bom_and_a_missing_file_fail(out: Path) -> None:
    path = out / "indicators.csv"
    path.write_bytes(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    (out / "survey_aggregates.json").unlink()
    assert validate(out) == [
        "indicators.csv: does not start with the UTF-8 byte-order mark",
        "survey_aggregates.json: is missing",
    ]


def test_a_file_cut_short_disagrees_with_the_dictionary(out: Path) -> None:
    path = out / "ticket_updates.csv"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), "utf-8")
    assert validate(out) == ["ticket_updates.csv: has 2 rows, datapackage.json says 3"]
