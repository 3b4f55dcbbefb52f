"""The demo year's calendar: its span in city time, counts spread by weight, moments
inside the year."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from civic.demo._calendar import day_weights, spread, times_in_day, year_span

TZ = "Asia/Shanghai"


def test_a_past_year_runs_from_new_year_to_new_year_in_city_time() -> None:
    year = year_span(2025, TZ, datetime(2026, 3, 1, tzinfo=UTC))
    assert datetime.fromtimestamp(year.start, UTC) == datetime(2024, 12, 31, 16, tzinfo=UTC)
    assert datetime.fromtimestamp(year.end, UTC) == datetime(2025, 12, 31, 16, tzinfo=UTC)
    assert len(year.days()) == 365


def test_a_running_year_ends_now_and_a_young_one_is_refused() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert year_span(2026, TZ, now).end == now.timestamp()
    with pytest.raises(ValueError, match="the year 2026 has 20 days so far"):
        year_span(2026, TZ, datetime(2026, 1, 21, 12, tzinfo=UTC))


def test_spread_keeps_the_total_and_the_proportions() -> None:
    assert spread(10, [1, 1, 2]) == [3, 2, 5]  # the tie goes to the first
    counts = spread(1000, [0.0, 1.0, 3.0])
    assert (sum(counts), counts[0], counts[2]) == (1000, 0, 750)


def test_moments_of_the_last_day_stop_at_the_years_end() -> None:
    now = datetime(2026, 6, 1, 4, 30, tzinfo=UTC)  # 12:30 in Hangzhou
    year = year_span(2026, TZ, now)
    last = year.days()[-1]
    found = times_in_day(random.Random(1), year, last, 500)
    assert len(found) == 500 and max(found) < now.timestamp()
    assert day_weights(year)[-1] < day_weights(year)[-2]
