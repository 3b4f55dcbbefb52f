"""The ticket indicators grouped in the database, on SQLite and PostgreSQL: city-time
months and years, each dimension, percentiles, which open tickets are late, which ratings
count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from civic.evaluation import indicator_table
from civic.evaluation._ticket_figures import Period, months, ticket_figures, years
from tests.civic.evaluation.fixture_year import (
    BASIC,
    SAT,
    URBAN,
    WATER,
    fixture_profile,
    fixture_scheme,
    ticket,
)

ZONE = "Asia/Shanghai"
SCORES = {"satisfied": 100.0, "basically_satisfied": 80.0, "dissatisfied": 0.0}
COUNTED = {"verified_phone", "invited"}


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def figures(session: Session, periods: list[Period], by: list[str], as_of: datetime) -> dict:
    rows = ticket_figures(
        session=session,
        periods=periods,
        by=by,
        as_of=as_of,
        counted_levels=COUNTED,
        scores=SCORES,
    )
    return {
        tuple(row.key.values()): {code: (f.value, f.n) for code, f in row.figures.items()}
        for row in rows
    }


def test_months_are_city_time_months() -> None:
    january, february = months(2026, ZONE)[:2]
    assert (january.label, january.start, january.end) == (
        "2026-01",
        at(2025, 12, 31, 16),
        at(2026, 1, 31, 16),
    )
    assert february.label == "2026-02"
    assert [p.label for p in years(2024, 2026, ZONE)] == ["2024", "2025", "2026"]


def test_each_cell_per_agency_district_and_month(session: Session) -> None:
    # Water in Xihu: 17:00 UTC on 31 January is 1 February in the city.
    ticket(
        session, WATER, "xihu", at(2026, 1, 31, 17), status="closed", rectified=[2], confirmed=True
    )
    ticket(session, WATER, "xihu", at(2026, 2, 10, 0), status="closed", rectified=[4])
    ticket(session, WATER, "xihu", at(2026, 2, 11, 0), status="closed", rectified=[9])
    ticket(session, WATER, "xihu", at(2026, 2, 12, 0), status="merged")
    ticket(session, WATER, "binjiang", at(2026, 1, 5, 0), status="accepted")
    ticket(session, URBAN, "xihu", at(2026, 1, 5, 0), status="closed", rectified=[30])
    found = figures(session, months(2026, ZONE), ["agency", "district"], at(2027, 1, 1))
    assert set(found) == {
        (WATER, "binjiang", "2026-01"),
        (WATER, "xihu", "2026-02"),
        (URBAN, "xihu", "2026-01"),
    }
    february = found[(WATER, "xihu", "2026-02")]
    # three tickets (the merged one left out), rectified after 2, 4 and 9 hours of 6
    assert february["volume"] == (3.0, 3)
    assert february["on_time_rate"] == (pytest.approx(2 / 3), 3)
    assert february["median_hours"] == (4.0, 3)
    assert february["p90_hours"] == (pytest.approx(8.0), 3)  # 4 + 0.8 × (9 − 4)
    assert february["confirmed_fixed_rate"] == (1.0, 1)
    # open and past its due time: decided, and late
    assert found[(WATER, "binjiang", "2026-01")]["on_time_rate"] == (0.0, 1)
    assert found[(URBAN, "xihu", "2026-01")]["median_hours"] == (30.0, 1)


def test_an_open_ticket_not_yet_due_is_not_counted_late(session: Session) -> None:
    ticket(session, WATER, "xihu", at(2026, 3, 1, 0), status="accepted")
    before_due = figures(session, years(2026, 2026, ZONE), ["agency"], at(2026, 3, 1, 5))
    assert before_due[(WATER, "2026")]["on_time_rate"] == (None, 0)
    after_due = figures(session, years(2026, 2026, ZONE), ["agency"], at(2026, 3, 1, 7))
    assert after_due[(WATER, "2026")]["on_time_rate"] == (0.0, 1)


def test_the_median_of_an_even_count_lies_between_the_middle_two(session: Session) -> None:
    for hours in (1, 3, 5, 11):
        ticket(session, WATER, "xihu", at(2026, 4, 1, 0), status="closed", rectified=[hours])
    found = figures(session, years(2026, 2026, ZONE), ["category"], at(2027, 1, 1))
    cell = found[("water-outage", "2026")]
    assert cell["median_hours"] == (4.0, 4)  # (3 + 5) / 2
    assert cell["p90_hours"] == (pytest.approx(9.2), 4)  # position 2.7: 5 + 0.7 × 6


def test_reopened_overdue_and_ratings_at_counted_levels(session: Session) -> None:
    ticket(
        session,
        WATER,
        "xihu",
        at(2026, 5, 1, 0),
        status="rectified",
        rectified=[3, 20],
        reopened=10,
    )
    ticket(
        session,
        WATER,
        "xihu",
        at(2026, 5, 2, 0),
        status="closed",
        rectified=[8],
        overdue=True,
        confirmed=True,
        rating=(SAT, "verified_phone"),
    )
    ticket(
        session,
        WATER,
        "xihu",
        at(2026, 5, 3, 0),
        status="closed",
        rectified=[1],
        confirmed=True,
        rating=(BASIC, "invited"),
    )
    ticket(
        session,
        WATER,
        "xihu",
        at(2026, 5, 4, 0),
        status="closed",
        rectified=[1],
        confirmed=True,
        rating=(SAT, "account"),
    )
    rows = ticket_figures(
        session=session,
        periods=years(2026, 2026, ZONE),
        by=["district"],
        as_of=at(2027, 1, 1),
        counted_levels=COUNTED,
        scores=SCORES,
    )
    [row] = rows
    values = {code: (f.value, f.n) for code, f in row.figures.items()}
    assert values["reopen_rate"] == (0.25, 4)
    assert values["overdue_rate"] == (0.25, 4)
    # the first rectification counts: 3, 8, 1 and 1 hours
    assert values["on_time_rate"] == (0.75, 4)
    assert values["ticket_satisfaction"] == (90.0, 2)
    assert row.ratings_uncounted == 1


def test_the_years_give_a_trend(session: Session) -> None:
    ticket(session, URBAN, "xihu", at(2024, 6, 1, 0), status="closed", rectified=[1])
    ticket(session, URBAN, "xihu", at(2026, 6, 1, 0), status="closed", rectified=[1])
    ticket(session, URBAN, "xihu", at(2026, 6, 2, 0), status="closed", rectified=[1])
    found = figures(session, years(2022, 2026, ZONE), ["agency"], at(2027, 1, 1))
    assert {key: cell["volume"] for key, cell in found.items()} == {
        (URBAN, "2024"): (1.0, 1),
        (URBAN, "2026"): (2.0, 2),
    }


def test_the_indicator_table_of_the_scheme_year(session: Session) -> None:
    ticket(session, URBAN, "xihu", at(2026, 6, 1, 0), status="closed", rectified=[1])
    ticket(session, URBAN, "xihu", at(2025, 6, 1, 0), status="closed", rectified=[1])
    profile = fixture_profile()
    rows = indicator_table(session=session, scheme=fixture_scheme(profile), timezone=ZONE)
    assert [row.key for row in rows] == [
        {"agency": URBAN, "category": "garbage-collection", "district": "xihu", "period": "2026-06"}
    ]
    [year] = indicator_table(
        session=session, scheme=fixture_scheme(profile), timezone=ZONE, by=["agency"], grain="year"
    )
    assert (year.key, year.figures["volume"].n) == ({"agency": URBAN, "period": "2026"}, 1)


def test_bad_groupings_are_refused(session: Session) -> None:
    with pytest.raises(ValueError):
        figures(session, months(2026, ZONE), ["citizen"], at(2027, 1, 1))
    with pytest.raises(ValueError):
        figures(session, [months(2026, ZONE)[0], months(2026, ZONE)[2]], ["agency"], at(2027, 1, 1))
