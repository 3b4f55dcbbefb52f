"""Publishing the open-data files from the fixture city's year and a citizen's tickets,
on SQLite and PostgreSQL: what each file holds, in which form, and what it never holds."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.open311 import COARSE, request_record
from civic.opendata import BOM, DICTIONARY_FILE, FILES, TABLES, read_package, validate
from tests.civic.evaluation.fixture_year import fixture_profile
from tests.civic.opendata.seed import PERSONAL, publish_all, seed

HEADER = [
    "service_request_id",
    "status",
    "status_detail",
    "lifecycle_status",
    "service_code",
    "service_name_zh",
    "service_name_en",
    "agency",
    "agency_name_zh",
    "agency_name_en",
    "district",
    "district_name_zh",
    "district_name_en",
    "address",
    "lat",
    "long",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
]


@pytest.fixture
def city() -> Profile:
    return fixture_profile()


@pytest.fixture
def published(session: Session, city: Profile, tmp_path: Path) -> tuple[Path, list[Any]]:
    """(the folder of the files, [the recent ticket, the old one])"""
    recent, old = seed(session, city)
    publish_all(session, city, tmp_path / "open-data")
    return tmp_path / "open-data", [recent, old]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_each_csv_starts_with_the_bom_and_has_the_dictionarys_columns(
    published: tuple[Path, list[Any]],
) -> None:
    out, _ = published
    for table in TABLES:
        raw = (out / table.file("csv")).read_bytes()
        assert raw.startswith(BOM.encode("utf-8"))
        with (out / table.file("csv")).open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh))
        assert header == list(table.names)
        records = json.loads((out / table.file("json")).read_text("utf-8"))
        assert all(list(record) == list(table.names) for record in records)
    assert next(csv.reader((out / "tickets.csv").open(encoding="utf-8-sig"))) == HEADER


def test_the_files_pass_validation_and_the_dictionary_counts_their_rows(
    published: tuple[Path, list[Any]],
) -> None:
    out, _ = published
    assert validate(out) == []
    package = read_package(out)
    assert package is not None
    assert package["licenses"][0]["name"] == "CC-BY-4.0"
    assert package["created"] == "2027-01-15T08:00:00+08:00"
    rows = {r["path"]: r["rows"] for r in package["resources"]}
    assert rows == {
        "tickets.csv": 2,
        "tickets.json": 2,
        "ticket_updates.csv": 3,
        "ticket_updates.json": 3,
        "indicators.csv": 72,
        "indicators.json": 72,
        "survey_aggregates.csv": 25,
        "survey_aggregates.json": 25,
    }
    tickets = next(r for r in package["resources"] if r["path"] == "tickets.csv")
    assert tickets["bytes"] == (out / "tickets.csv").stat().st_size
    status = next(f for f in tickets["schema"]["fields"] if f["name"] == "status")
    assert status["constraints"] == {"required": True, "enum": ["open", "closed"]}
    assert status["descriptions"]["zh"].startswith("open（未办结）")
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_tickets_are_as_coarse_as_the_public_open311_view_and_include_old_ones(
    published: tuple[Path, list[Any]], city: Profile
) -> None:
    out, (recent, old) = published
    rows = {row["service_request_id"]: row for row in _csv(out / "tickets.csv")}
    public = request_record(recent, city, city.timezone, view=COARSE)
    row = rows[recent.number]
    assert (row["lat"], row["long"], row["address"]) == ("30.258", "120.169", "和平路, Xihu")
    assert (float(row["lat"]), float(row["long"]), row["address"]) == (
        public["lat"],
        public["long"],
        public["address"],
    )
    assert row["requested_datetime"] == public["requested_datetime"] == "2027-01-10T09:00:00+08:00"
    assert (row["status"], row["status_detail"], row["district_name_zh"]) == (
        "open",
        "INVESTIGATING",
        "西湖区",
    )
    # filed ten and a half months before the publication: no 90-day limit
    assert rows[old.number]["requested_datetime"] == "2026-03-01T16:00:00+08:00"
    assert (rows[old.number]["lat"], rows[old.number]["long"]) == ("", "")


def test_no_personal_data_reaches_any_file(published: tuple[Path, list[Any]]) -> None:
    out, _ = published
    for name in FILES:
        text = (out / name).read_text("utf-8")
        for personal in PERSONAL:
            assert personal not in text, f"{personal} in {name}"
    # the citizen's and the agency's texts are not published at all
    records = json.loads((out / "ticket_updates.json").read_text("utf-8"))
    assert records[-1] == {
        "update_id": records[-1]["update_id"],
        "service_request_id": records[-1]["service_request_id"],
        "status": "INVESTIGATING",
        "lifecycle_status": "accepted",
        "updated_datetime": "2027-01-10T11:00:00+08:00",
    }


def test_indicators_suppress_ratings_of_fewer_than_five_citizens(
    published: tuple[Path, list[Any]],
) -> None:
    out, _ = published
    rows = _csv(out / "indicators.csv")
    water_march = {
        r["indicator"]: (r["value"], r["n"], r["suppressed"])
        for r in rows
        if (r["period"], r["agency"], r["district"]) == ("2026-03", "water", "xihu")
    }
    # the fixture year's ticket of 10 March and the citizen's old one of 1 March
    assert water_march["volume"] == ("2", "2", "false")
    assert water_march["median_hours"] == ("4.0", "1", "false")
    assert water_march["ticket_satisfaction"] == ("", "1", "true")
    assert water_march["confirmed_fixed_rate"] == ("", "1", "true")


def test_survey_aggregates_of_closed_campaigns_suppress_small_cells(
    published: tuple[Path, list[Any]],
) -> None:
    out, _ = published
    rows = _csv(out / "survey_aggregates.csv")
    water = [
        (r["row"], r["option"], r["count"], r["value"], r["n"], r["suppressed"])
        for r in rows
        if (r["campaign_name"], r["agency"]) == ("2026 annual", "water")
    ]
    assert water == [
        ("option", "satisfied", "7", "", "", "false"),
        ("option", "basically_satisfied", "", "", "", "true"),
        ("option", "dissatisfied", "0", "", "", "false"),
        ("option", "dont_know", "0", "", "", "false"),
        ("index", "", "", "95.2", "10", "false"),
    ]
    # last year's campaign had one answer: nothing of it but the count
    last_year = [r for r in rows if r["campaign_name"] == "2025 annual"]
    assert {(r["count"], r["value"], r["suppressed"]) for r in last_year} == {("", "", "true")}
    assert [r["n"] for r in last_year if r["row"] == "index"] == ["1"]


def test_an_unclosed_campaign_is_not_published(
    session: Session, city: Profile, tmp_path: Path
) -> None:
    from storage.models import Campaign

    seed(session, city)
    for campaign in session.query(Campaign):
        campaign.status = "running"
    session.commit()
    publish_all(session, city, tmp_path)
    assert _csv(tmp_path / "survey_aggregates.csv") == []
    assert (tmp_path / "survey_aggregates.json").read_text("utf-8") == "[\n]\n"


def test_publishing_again_replaces_the_files_and_leaves_no_temporary_ones(
    published: tuple[Path, list[Any]], session: Session, city: Profile
) -> None:
    out, _ = published
    before = (out / "tickets.csv").read_bytes()
    publish_all(session, city, out)
    assert (out / "tickets.csv").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert DICTIONARY_FILE in FILES
