"""Open311 GeoReport v2 (with mySociety's update extension), as plain functions: status
mapping, and parsing and checking what a client sent. Records and their rendering are in
`records`.

Records never carry citizen personal data: no citizen ids, chat ids, phone numbers or
e-mail addresses, and digit runs and e-mail addresses typed into texts are masked. A read
without an api_key sees what `OPEN311_PUBLIC_VIEW` allows (`read_view`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from civic.city import Profile
from civic.errors import CivicError
from civic.tickets import OPEN_STATUSES, Status

FORMATS = ("xml", "json")
MAX_DESCRIPTION = 4000
MAX_SPAN = timedelta(days=90)
MAX_RESULTS = 1000
CLOSED_STATUSES = frozenset({Status.CLOSED, Status.MERGED})

TO_EXTENDED: dict[Status, str] = {
    Status.SUBMITTED: "OPEN",
    Status.ROUTED: "OPEN",
    Status.ACCEPTED: "INVESTIGATING",
    Status.IN_PROGRESS: "IN_PROGRESS",
    Status.RECTIFIED: "FIXED",
    Status.CLOSED: "CLOSED",
    Status.REROUTED: "INTERNAL_REFERRAL",
    Status.REOPENED: "REOPEN",
    Status.MERGED: "DUPLICATE",
}
# What an agency's posted extended status asks of the lifecycle; rerouted means back to
# the evaluation office's triage queue.
FROM_EXTENDED: dict[str, Status] = {
    "INVESTIGATING": Status.ACCEPTED,
    "IN_PROGRESS": Status.IN_PROGRESS,
    "ACTION_SCHEDULED": Status.IN_PROGRESS,
    "FIXED": Status.RECTIFIED,
    "CLOSED": Status.CLOSED,
    "NO_FURTHER_ACTION": Status.CLOSED,
    "NOT_COUNCILS_RESPONSIBILITY": Status.REROUTED,
    "INTERNAL_REFERRAL": Status.REROUTED,
}

_HTML = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>")
# An unencoded '+' of a time zone offset arrives in a query string as a space.
_SPACE_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


class Open311Error(CivicError):
    """An error answered in the spec's format: 400 bad input, 403 api_key, 404 not found."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


class EventLike(Protocol):
    id: int
    at: datetime
    to_status: str
    note: str | None
    public: bool


class TicketLike(Protocol):
    number: str | None
    status: str
    category: str
    agency: str | None
    description: str
    address_text: str | None
    road: str | None
    district: str | None
    lat: float | None
    long: float | None
    photo: str | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None

    @property
    def events(self) -> Sequence[EventLike]: ...


# --- statuses ---


def open_or_closed(status: str) -> str:
    return "closed" if Status(status) in CLOSED_STATUSES else "open"


def extended_status(status: str) -> str:
    return TO_EXTENDED[Status(status)]


def lifecycle_status(extended: str) -> Status:
    """The lifecycle status an agency's extended status asks for; 400 for any other."""
    try:
        return FROM_EXTENDED[extended.strip().upper()]
    except KeyError:
        allowed = ", ".join(FROM_EXTENDED)
        raise Open311Error(400, f"status must be one of {allowed}") from None


# --- values ---


def check_format(fmt: str | None) -> str:
    if fmt not in FORMATS:
        raise Open311Error(400, "a format suffix is required: .xml or .json")
    return fmt


# How much of a ticket a read shows. Full: the texts with phone, ID-card numbers and
# e-mail addresses masked, the exact position and address. Coarse: house numbers masked
# too, the position rounded to about 100 m, the address cut to road and district.
FULL = "full"
COARSE = "coarse"


def read_view(*, keyed: bool, public_view: str) -> str:
    """What a read shows: everything with a valid api_key; without one, what
    OPEN311_PUBLIC_VIEW allows (off: nothing, 403 in the spec's format)."""
    if keyed:
        return FULL
    if public_view not in (FULL, COARSE):
        raise Open311Error(403, "an api_key is required to read service requests")
    return public_view


def as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime | None, timezone: str) -> str | None:
    if moment is None:
        return None
    return as_utc(moment).astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")


def parse_datetime(value: str, name: str, timezone: str) -> datetime:
    """ISO 8601; without an offset the city's time zone is meant. 400 when unreadable."""
    text = _SPACE_OFFSET.sub(r"\1+\2", value.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(400, f"{name} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


def parse_range(
    params: Mapping[str, str], timezone: str, now: datetime
) -> tuple[datetime, datetime]:
    """start_date/end_date: end defaults to now, start to 90 days before end."""
    end_raw, start_raw = params.get("end_date"), params.get("start_date")
    end = parse_datetime(end_raw, "end_date", timezone) if end_raw else now
    start = parse_datetime(start_raw, "start_date", timezone) if start_raw else end - MAX_SPAN
    if start > end:
        raise Open311Error(400, "start_date must not be after end_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may span at most 90 days")
    return start, end


def _whole(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise Open311Error(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _coordinate(params: Mapping[str, str], name: str, limit: float) -> float:
    raw = params.get(name)
    if not raw:
        raise Open311Error(400, "lat and long must be given together")
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise Open311Error(400, f"{name} must be between -{limit:g} and {limit:g}")
    return value


def _media_url(params: Mapping[str, str]) -> str | None:
    url = (params.get("media_url") or "").strip()
    if not url:
        return None
    if not re.match(r"^https?://[^\s<>\"]+$", url) or len(url) > 255:
        raise Open311Error(400, "media_url must be an http(s) URL of at most 255 characters")
    return url


def _list(raw: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (raw or "").split(",") if item.strip())


# --- what clients send ---


@dataclass(frozen=True)
class NewRequest:
    service_code: str
    description: str
    lat: float | None
    long: float | None
    address: str | None
    media_url: str | None


def parse_new_request(form: Mapping[str, str], profile: Profile) -> NewRequest:
    """POST requests. Contact fields (email, names, phone, device and account ids) are
    accepted as the spec allows, and dropped: they are never stored."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    if code not in profile.categories:
        raise Open311Error(400, f"service_code '{code}' is not a known service")
    lat = long = None
    if form.get("lat") or form.get("long"):
        lat, long = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    address = (form.get("address_string") or "").strip() or None
    if lat is None and address is None:
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    if address is not None and len(address) > 500:
        raise Open311Error(400, "address_string may be at most 500 characters")
    description = (form.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description may be at most {MAX_DESCRIPTION} characters")
    if _HTML.search(description):
        raise Open311Error(400, "description must be plain text, without HTML")
    return NewRequest(code, description, lat, long, address, _media_url(form))


@dataclass(frozen=True)
class RequestQuery:
    """GET requests. When `numbers` is given it overrides every other filter."""

    numbers: tuple[str, ...]
    service_codes: tuple[str, ...]
    statuses: frozenset[Status] | None
    start: datetime
    end: datetime
    limit: int
    offset: int


def parse_request_query(
    params: Mapping[str, str], profile: Profile, timezone: str, now: datetime
) -> RequestQuery:
    numbers = _list(params.get("service_request_id"))[:MAX_RESULTS]
    codes = _list(params.get("service_code"))
    unknown = [c for c in codes if c not in profile.categories]
    if unknown:
        raise Open311Error(400, f"service_code '{unknown[0]}' is not a known service")
    statuses: set[Status] | None = None
    for status in _list((params.get("status") or "").lower()):
        if status not in ("open", "closed"):
            raise Open311Error(400, "status must be open or closed")
        statuses = (statuses or set()) | (CLOSED_STATUSES if status == "closed" else OPEN_STATUSES)
    start, end = parse_range(params, timezone, now)
    size = _whole(params, "page_size", MAX_RESULTS, 1, MAX_RESULTS)
    page = _whole(params, "page", 1, 1, 1_000_000)
    return RequestQuery(
        numbers=numbers,
        service_codes=codes,
        statuses=frozenset(statuses) if statuses is not None else None,
        start=start,
        end=end,
        limit=size,
        offset=(page - 1) * size,
    )


@dataclass(frozen=True)
class UpdateIn:
    """POST servicerequestupdates from an agency's system."""

    service_request_id: str
    update_id: str
    status: Status
    description: str | None
    media_url: str | None
    updated_at: datetime | None


def parse_update(form: Mapping[str, str], timezone: str) -> UpdateIn:
    number = (form.get("service_request_id") or "").strip()
    update_id = (form.get("update_id") or "").strip()
    if not number or not update_id:
        raise Open311Error(400, "service_request_id and update_id are required")
    if len(update_id) > 64:
        raise Open311Error(400, "update_id may be at most 64 characters")
    status = lifecycle_status(form.get("status") or "")
    description = (form.get("description") or "").strip() or None
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description may be at most {MAX_DESCRIPTION} characters")
    raw_time = form.get("updated_datetime")
    updated_at = parse_datetime(raw_time, "updated_datetime", timezone) if raw_time else None
    return UpdateIn(number, update_id, status, description, _media_url(form), updated_at)
