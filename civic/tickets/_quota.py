"""How many complaints one citizen may file in a day (`CIVIC_TICKETS_PER_DAY`): enough for
anyone reporting what they see, too few to flood an agency's queue from one account.

The day is the city's calendar day, so "try again tomorrow" means what it says. Counted
from the tickets themselves: nothing else to keep, and right across restarts.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from civic.errors import UserFacingError
from storage.models import utcnow
from storage.tickets import count_filed_since


class DailyTicketLimit(UserFacingError):
    """The citizen has filed `limit` tickets today already; this one is not filed."""

    def __init__(self, limit: int) -> None:
        super().__init__("limits.tickets_today", limit=limit)
        self.limit = limit


def check_daily_limit(
    *,
    session: Session,
    citizen_id: int,
    limit: int,
    timezone: str,
    now: datetime | None = None,
) -> None:
    """Raise DailyTicketLimit when the citizen may file no more today; a limit of 0 is none."""
    if limit <= 0:
        return
    zone = ZoneInfo(timezone)
    today = (now or utcnow()).astimezone(zone).date()
    # in UTC, as the times are stored (SQLite keeps no zone)
    midnight = datetime.combine(today, time.min, tzinfo=zone).astimezone(UTC)
    if count_filed_since(session=session, citizen_id=citizen_id, since=midnight) >= limit:
        raise DailyTicketLimit(limit)
