"""The inbox's filters, read from the query string and checked against the city profile:
an unknown value is the user's mistake (a 400 page that says which), never a 500."""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlencode

from civic.city import Profile
from civic.errors import InvalidInput
from civic.tickets import Status
from storage.models import AgencyUser

MAX_PAGE = 1000
_OVERDUE = {"yes": True, "no": False}


class BadFilter(InvalidInput):
    """A filter value we do not know; `key` names the catalogue message that says so."""

    def __init__(self, key: str, value: str) -> None:
        super().__init__(f"{key}: {value!r}")
        self.key = key
        self.value = value[:60]


@dataclass(frozen=True)
class InboxFilters:
    status: str | None = None
    category: str | None = None
    district: str | None = None
    overdue: bool | None = None
    triage: bool = False
    page: int = 1

    def query(self, **changes: Any) -> str:
        """The query string for these filters (with `changes`), as the form would send it."""
        values = asdict(replace(self, **changes))
        params = {
            "queue": "triage" if values["triage"] else None,
            "status": values["status"],
            "category": values["category"],
            "district": values["district"],
            "overdue": {True: "yes", False: "no"}.get(values["overdue"]),
            "page": str(values["page"]) if values["page"] > 1 else None,
        }
        return urlencode({k: v for k, v in params.items() if v})


def _choice(params: Mapping[str, str], name: str, known: Container[str], key: str) -> str | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if value not in known:
        raise BadFilter(key, value)
    return value


def _page(raw: str) -> int:
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadFilter("error.bad_page", raw)
    return int(raw)


def parse_filters(params: Mapping[str, str], profile: Profile, viewer: AgencyUser) -> InboxFilters:
    """The filters asked for; BadFilter for a value that is not one of the choices."""
    queue = _choice(params, "queue", {"all", "triage"}, "error.bad_queue")
    if queue == "triage" and viewer.agency is not None:
        raise BadFilter("error.triage_staff_only", queue)
    overdue = _choice(params, "overdue", _OVERDUE, "error.bad_overdue")
    return InboxFilters(
        status=_choice(params, "status", {s.value for s in Status}, "error.bad_status"),
        category=_choice(params, "category", profile.categories, "error.bad_category"),
        district=_choice(params, "district", profile.districts, "error.bad_district"),
        overdue=_OVERDUE[overdue] if overdue else None,
        triage=queue == "triage",
        page=_page(params.get("page", "").strip()),
    )
