"""The demo year's calendar: which days it covers, how busy each day and hour is, and
the conversion of its moments (seconds since the epoch, cheap to add to) to the
timestamps stored."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

HOUR = 3600.0
DAY = 24 * HOUR
# A year younger than this has too little in it to show.
MIN_DAYS = 45
# How busy each month is, January first: the Spring Festival empties February, the plum
# rains and the summer fill June to August, the October Golden Week is quiet.
MONTH_WEIGHTS = (0.85, 0.65, 0.95, 1.0, 1.05, 1.15, 1.25, 1.3, 1.1, 0.9, 1.0, 0.95)
# When complaints are filed, by hour of the city's day: mornings and evenings.
FILING_HOURS = (
    0.3, 0.15, 0.1, 0.05, 0.05, 0.1, 0.4, 1.0, 1.6, 1.9, 1.8, 1.5,
    1.2, 1.2, 1.4, 1.4, 1.3, 1.2, 1.3, 1.6, 1.8, 1.7, 1.2, 0.6,
)  # fmt: skip
WEEKEND = 0.85


@dataclass(frozen=True)
class Year:
    """The span the demo fills: from the year's first moment (city time) to its end, or
    to `now` when the year is still running."""

    year: int
    timezone: str
    start: float
    end: float

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def days(self) -> list[date]:
        first = datetime.fromtimestamp(self.start, self.zone).date()
        count = math.ceil((self.end - self.start) / DAY)
        return [first + timedelta(days=i) for i in range(count)]

    def midnight(self, day: date) -> float:
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp()

    def local_day(self, moment: float) -> str:
        return datetime.fromtimestamp(moment, self.zone).date().isoformat()


def year_span(year: int, timezone: str, now: datetime) -> Year:
    """The demo year; a year that has not begun, or is younger than MIN_DAYS, is refused."""
    zone = ZoneInfo(timezone)
    start = datetime(year, 1, 1, tzinfo=zone).timestamp()
    end = min(datetime(year + 1, 1, 1, tzinfo=zone).timestamp(), now.timestamp())
    if end - start < MIN_DAYS * DAY:
        raise ValueError(
            f"the year {year} has {max(0, int((end - start) // DAY))} days so far "
            f"(at least {MIN_DAYS} are needed): choose an earlier --year"
        )
    return Year(year=year, timezone=timezone, start=start, end=end)


def moment(seconds: float) -> datetime:
    """A stored timestamp (UTC) from seconds since the epoch."""
    return datetime.fromtimestamp(seconds, UTC)


def moment_or_none(seconds: float | None) -> datetime | None:
    return None if seconds is None else moment(seconds)


def spread(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights`, in whole numbers (largest remainder)."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def day_weights(year: Year) -> list[float]:
    """How busy each day of the year is, the partial last day counted for its part."""
    weights = []
    for day in year.days():
        weight = MONTH_WEIGHTS[day.month - 1] * (WEEKEND if day.weekday() >= 5 else 1.0)
        start = year.midnight(day)
        covered = (min(start + DAY, year.end) - max(start, year.start)) / DAY
        weights.append(weight * max(0.0, covered))
    return weights


def times_in_day(
    rng: random.Random, year: Year, day: date, count: int, hours: Sequence[float] = FILING_HOURS
) -> list[float]:
    """`count` moments of `day`, by the hour profile, sorted; none past the year's end."""
    start = year.midnight(day)
    open_hours = [h for h in range(24) if start + h * HOUR < year.end and hours[h] > 0]
    if not open_hours:
        return []
    chosen = rng.choices(open_hours, weights=[hours[h] for h in open_hours], k=count)
    found = [start + (h + rng.random()) * HOUR for h in chosen]
    return sorted(min(t, year.end - 1.0) for t in found)
