"""Open311 GeoReport v2 records and their rendering: tickets and events as the spec's
service requests and updates, the service list, and XML or JSON output. Records never
carry citizen personal data, and a coarse view (`protocol.read_view`) keeps the place to
about 100 m and masks house numbers too (`civic.privacy`)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from civic.city import Profile
from civic.open311._protocol import (
    COARSE,
    FORMATS,
    EventLike,
    Open311Error,
    TicketLike,
    extended_status,
    iso,
    open_or_closed,
)
from civic.privacy import coarse_position, mask_identifiers, redact_text

# Characters XML 1.0 cannot carry at all.
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- records ---


def service_list(profile: Profile) -> list[dict[str, Any]]:
    services = []
    for category in profile.categories.values():
        agency = profile.agencies.get(category.agency or "")
        services.append(
            {
                "service_code": category.code,
                "service_name": category.label("en"),
                "description": category.description["en"],
                "metadata": False,
                "type": "realtime",
                "keywords": ", ".join(category.keywords.get("en", [])),
                "group": agency.label("en") if agency else None,
            }
        )
    return services


def service_definition(profile: Profile, code: str) -> dict[str, Any]:
    if code not in profile.categories:
        raise Open311Error(404, f"service_code '{code}' is not a known service")
    return {"service_code": code, "attributes": []}


def _public_url(reference: str | None) -> str | None:
    # Photos sent through Telegram are file ids, not URLs anyone else can open.
    return reference if reference and reference.startswith(("http://", "https://")) else None


def last_public_note(events: Sequence[EventLike]) -> str | None:
    for event in reversed(events):
        if event.public and event.note:
            return event.note
    return None


def _cleaner(view: str) -> Callable[[str | None], str | None]:
    return redact_text if view == COARSE else mask_identifiers


def coarse_address(ticket: TicketLike, profile: Profile) -> str | None:
    """The road and the district, not the door: "Yan'an Road, Shangcheng"."""
    parts = []
    if ticket.road:
        road = next(
            (p for p in profile.places if p.kind == "road" and p.name.get("zh") == ticket.road),
            None,
        )
        parts.append(road.name.get("en", ticket.road) if road else ticket.road)
    district = profile.districts.get(ticket.district or "")
    if district is not None:
        parts.append(district.label("en"))
    return ", ".join(parts) or None


def request_record(
    ticket: TicketLike, profile: Profile, timezone: str, *, view: str
) -> dict[str, Any]:
    """A ticket as the spec's service request: exactly its fields, nothing about the
    citizen, and in the coarse view only a rough place."""
    category = profile.categories.get(ticket.category)
    agency = profile.agencies.get(ticket.agency or "")
    clean, coarse = _cleaner(view), view == COARSE
    return {
        "service_request_id": ticket.number,
        "status": open_or_closed(ticket.status),
        "status_notes": clean(last_public_note(ticket.events)),
        "service_name": category.label("en") if category else ticket.category,
        "service_code": ticket.category,
        "description": clean(ticket.description),
        "agency_responsible": agency.label("en") if agency else None,
        "service_notice": None,
        "requested_datetime": iso(ticket.created_at, timezone),
        "updated_datetime": iso(ticket.updated_at, timezone),
        "expected_datetime": iso(ticket.due_at, timezone),
        "address": coarse_address(ticket, profile) if coarse else clean(ticket.address_text),
        "address_id": None,
        "zipcode": None,
        "lat": coarse_position(ticket.lat) if coarse else ticket.lat,
        "long": coarse_position(ticket.long) if coarse else ticket.long,
        "media_url": _public_url(ticket.photo),
    }


def update_record(
    event: EventLike, number: str | None, photo: str | None, timezone: str, *, view: str
) -> dict[str, Any]:
    return {
        "update_id": str(event.id),
        "service_request_id": number,
        "status": extended_status(event.to_status),
        "updated_datetime": iso(event.at, timezone),
        "description": _cleaner(view)(event.note) or "",
        "media_url": _public_url(photo) or "",
        "external_status_code": event.to_status,
    }


# --- rendering ---

# Containers of the XML documents: (root element, element of each item).
SERVICES = ("services", "service")
REQUESTS = ("service_requests", "request")
UPDATES = ("service_requests_updates", "request_update")
DEFINITION = ("service_definition", "")
ERRORS = ("errors", "error")
_LIST_ITEMS = {"attributes": "attribute", "values": "value"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_INVALID.sub("", str(value))


def _fill(element: ET.Element, record: Mapping[str, Any]) -> None:
    for key, value in record.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):
            for item in value:
                _fill(ET.SubElement(child, _LIST_ITEMS.get(key, "item")), item)
        else:
            child.text = _text(value)


def render(fmt: str, container: tuple[str, str], payload: Any) -> tuple[bytes, str]:
    """(body, media type). `payload` is a list of records, or one record when the
    container has no item element (a service definition)."""
    if fmt == "json":
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return body.encode("utf-8"), "application/json; charset=utf-8"
    root_tag, item_tag = container
    root = ET.Element(root_tag)
    for record in payload if item_tag else [payload]:
        _fill(ET.SubElement(root, item_tag) if item_tag else root, record)
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body, "text/xml; charset=utf-8"


def render_error(fmt: str | None, error: Open311Error) -> tuple[bytes, str]:
    """The spec's list of {code, description}; XML unless JSON was asked for."""
    record = {"code": error.status, "description": error.description}
    return render(fmt if fmt in FORMATS else "xml", ERRORS, [record])
