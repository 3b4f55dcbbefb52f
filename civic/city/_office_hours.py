"""Office hours of the people behind the assistant: when a handoff is answered."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from civic.errors import ProfileError

_PERIOD = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class OfficeHours:
    weekdays: frozenset[int]  # 1 = Monday … 7 = Sunday
    periods: tuple[tuple[time, time], ...]
    timezone: str

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone))
        return local.isoweekday() in self.weekdays and any(
            start <= local.time() < end for start, end in self.periods
        )

    def next_opening(self, now: datetime) -> datetime:
        """The next moment the office opens (now, if it is open), in city time."""
        local = now.astimezone(ZoneInfo(self.timezone))
        if self.is_open(now):
            return local
        for day in range(8):
            date = (local + timedelta(days=day)).date()
            if date.isoweekday() not in self.weekdays:
                continue
            for start, _end in self.periods:
                opening = datetime.combine(date, start, tzinfo=local.tzinfo)
                if opening > local:
                    return opening
        raise ProfileError("office_hours: no opening in the coming week")


def parse_office_hours(data: object, timezone: str, where: str) -> OfficeHours | None:
    """Read `office_hours` of profile.yml; None when the profile has none."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: office_hours: expected a mapping")
    weekdays = data.get("weekdays") or []
    if not weekdays or any(not isinstance(d, int) or not 1 <= d <= 7 for d in weekdays):
        raise ProfileError(f"{where}: office_hours: 'weekdays' must list days 1 (Mon) to 7 (Sun)")
    periods = []
    for raw in data.get("periods") or []:
        match = _PERIOD.match(str(raw))
        if not match:
            raise ProfileError(f"{where}: office_hours: period {raw!r} is not like '08:30-12:00'")
        h1, m1, h2, m2 = map(int, match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError as exc:
            raise ProfileError(f"{where}: office_hours: period {raw!r}: {exc}") from exc
        if start >= end:
            raise ProfileError(f"{where}: office_hours: period {raw!r} ends before it starts")
        periods.append((start, end))
    if not periods:
        raise ProfileError(f"{where}: office_hours: 'periods' is required")
    return OfficeHours(frozenset(weekdays), tuple(periods), timezone)
