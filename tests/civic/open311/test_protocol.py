"""Open311 as plain functions: statuses, parsing, records and rendering."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from civic.city import Profile
from civic.open311 import (
    COARSE,
    ERRORS,
    FULL,
    REQUESTS,
    SERVICES,
    Open311Error,
    check_format,
    coarse_address,
    extended_status,
    lifecycle_status,
    open_or_closed,
    parse_new_request,
    parse_request_query,
    parse_update,
    read_view,
    render,
    render_error,
    request_record,
    service_definition,
    service_list,
    update_record,
)
from civic.tickets import OPEN_STATUSES, Status

TZ = "Asia/Shanghai"
NOW = datetime(2026, 5, 20, 4, 0, tzinfo=UTC)
SPEC_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


@dataclass
class FakeEvent:
    id: int
    to_status: str
    note: str | None = None
    public: bool = True
    at: datetime = NOW


@dataclass
class FakeTicket:
    number: str | None = "HZ-2026-000042"
    status: str = "accepted"
    category: str = "street-light"
    agency: str | None = "urban-management"
    description: str = "路灯坏了, call me on 138 1234 5678"
    address_text: str | None = "江南大道 100号"
    road: str | None = "江南大道"
    district: str | None = "binjiang"
    lat: float | None = 30.21
    long: float | None = 120.21
    photo: str | None = "https://photos.example/1.jpg"
    # Naive, as SQLite hands them back: UTC.
    created_at: datetime = datetime(2026, 5, 18, 16, 30)
    updated_at: datetime = NOW
    due_at: datetime | None = datetime(2026, 5, 21, 16, 30, tzinfo=UTC)
    events: list[FakeEvent] = field(default_factory=list)


EXTENDED = {
    "submitted": "OPEN",
    "routed": "OPEN",
    "accepted": "INVESTIGATING",
    "in_progress": "IN_PROGRESS",
    "rectified": "FIXED",
    "closed": "CLOSED",
    "rerouted": "INTERNAL_REFERRAL",
    "reopened": "REOPEN",
    "merged": "DUPLICATE",
}


def test_statuses_map_to_open_closed_and_extended() -> None:
    assert {s.value: open_or_closed(s) for s in Status} == {
        s.value: "closed" if s in ("closed", "merged") else "open" for s in Status
    }
    assert {s.value: extended_status(s) for s in Status} == EXTENDED


@pytest.mark.parametrize(
    ("posted", "status"),
    [
        ("INVESTIGATING", "accepted"),
        ("IN_PROGRESS", "in_progress"),
        ("ACTION_SCHEDULED", "in_progress"),
        ("FIXED", "rectified"),
        ("CLOSED", "closed"),
        ("NO_FURTHER_ACTION", "closed"),
        ("NOT_COUNCILS_RESPONSIBILITY", "rerouted"),
        ("INTERNAL_REFERRAL", "rerouted"),
        ("fixed", "rectified"),
    ],
)
def test_posted_statuses_map_to_the_lifecycle(posted: str, status: str) -> None:
    assert lifecycle_status(posted) == Status(status)


@pytest.mark.parametrize("posted", ["OPEN", "DUPLICATE", "REOPEN", "FOR_TRIAGE", "", "fixed!"])
def test_other_posted_statuses_are_refused(posted: str) -> None:
    with pytest.raises(Open311Error) as info:
        lifecycle_status(posted)
    assert (info.value.status, info.value.description) == (
        400,
        "status must be one of INVESTIGATING, IN_PROGRESS, ACTION_SCHEDULED, FIXED, CLOSED, "
        "NO_FURTHER_ACTION, NOT_COUNCILS_RESPONSIBILITY, INTERNAL_REFERRAL",
    )


def test_services_come_from_the_profile(profile: Profile) -> None:
    services = service_list(profile)
    assert [s["service_code"] for s in services] == list(profile.categories)
    assert services[0] == {
        "service_code": "garbage-collection",
        "service_name": "Garbage collection",
        "description": "Uncollected household garbage, overflowing bins, garbage stations",
        "metadata": False,
        "type": "realtime",
        "keywords": "garbage, trash, rubbish, bin, bins, garbage station, waste collection, "
        "overflowing, uncollected",
        "group": "City Management Bureau",
    }
    assert services[-1]["service_code"] == "other"
    assert services[-1]["group"] is None


def test_a_service_definition_has_no_attributes(profile: Profile) -> None:
    assert service_definition(profile, "street-light") == {
        "service_code": "street-light",
        "attributes": [],
    }
    with pytest.raises(Open311Error) as info:
        service_definition(profile, "unicorns")
    assert (info.value.status, info.value.description) == (
        404,
        "service_code 'unicorns' is not a known service",
    )


def test_a_ticket_becomes_a_request_with_exactly_the_spec_fields(profile: Profile) -> None:
    ticket = FakeTicket(
        events=[
            FakeEvent(1, "routed", note="sent to the bureau"),
            FakeEvent(2, "accepted", note="internal: ring Mr Zhang 13900001111", public=False),
        ]
    )
    record = request_record(ticket, profile, TZ, view=FULL)
    assert list(record) == SPEC_FIELDS
    assert record == {
        "service_request_id": "HZ-2026-000042",
        "status": "open",
        "status_notes": "sent to the bureau",
        "service_name": "Street lights",
        "service_code": "street-light",
        "description": "路灯坏了, call me on ***",
        "agency_responsible": "City Management Bureau",
        "service_notice": None,
        "requested_datetime": "2026-05-19T00:30:00+08:00",
        "updated_datetime": "2026-05-20T12:00:00+08:00",
        "expected_datetime": "2026-05-22T00:30:00+08:00",
        "address": "江南大道 100号",
        "address_id": None,
        "zipcode": None,
        "lat": 30.21,
        "long": 120.21,
        "media_url": "https://photos.example/1.jpg",
    }


def test_triage_tickets_and_chat_photos_leave_fields_empty(profile: Profile) -> None:
    ticket = FakeTicket(status="merged", agency=None, photo="AgACAgUAAxkBAAIB", due_at=None)
    record = request_record(ticket, profile, TZ, view=FULL)
    assert (record["status"], record["agency_responsible"], record["media_url"]) == (
        "closed",
        None,
        None,
    )
    assert record["expected_datetime"] is None


def test_an_update_record(profile: Profile) -> None:
    event = FakeEvent(77, "rectified", note="lamps replaced; questions to a@b.cn")
    photo = "https://photos.example/2.jpg"
    assert update_record(event, "HZ-2026-000042", photo, TZ, view=FULL) == {
        "update_id": "77",
        "service_request_id": "HZ-2026-000042",
        "status": "FIXED",
        "updated_datetime": "2026-05-20T12:00:00+08:00",
        "description": "lamps replaced; questions to ***",
        "media_url": "https://photos.example/2.jpg",
        "external_status_code": "rectified",
    }


def test_the_coarse_view_keeps_the_place_rough_and_masks_house_numbers(
    profile: Profile,
) -> None:
    ticket = FakeTicket(
        description="12号楼下路灯坏了, call me on 138 1234 5678",
        lat=30.188123,
        long=120.194987,
        events=[FakeEvent(1, "accepted", note="crew sent to Room 301")],
    )
    record = request_record(ticket, profile, TZ, view=COARSE)
    assert list(record) == SPEC_FIELDS
    coarse = {k: record[k] for k in ("description", "status_notes", "address", "lat", "long")}
    assert coarse == {
        "description": "***下路灯坏了, call me on ***",
        "status_notes": "crew sent to ***",
        "address": "Jiangnan Avenue, Binjiang",
        "lat": 30.188,
        "long": 120.195,
    }
    full = request_record(ticket, profile, TZ, view=FULL)
    assert (full["address"], full["lat"], full["long"]) == ("江南大道 100号", 30.188123, 120.194987)
    event = FakeEvent(7, "rectified", note="fixed outside No. 12")
    assert update_record(event, "HZ-2026-000042", None, TZ, view=COARSE)["description"] == (
        "fixed outside ***"
    )


@pytest.mark.parametrize(
    ("road", "district", "expected"),
    [
        ("江南大道", "binjiang", "Jiangnan Avenue, Binjiang"),
        ("不在名录的路", "xihu", "不在名录的路, Xihu"),
        (None, "xihu", "Xihu"),
        (None, None, None),
    ],
)
def test_a_coarse_address_is_road_and_district(
    profile: Profile, road: str | None, district: str | None, expected: str | None
) -> None:
    assert coarse_address(FakeTicket(road=road, district=district), profile) == expected


def test_what_a_read_shows() -> None:
    assert [read_view(keyed=True, public_view=v) for v in ("off", "coarse", "full")] == [
        FULL,
        FULL,
        FULL,
    ]
    assert [read_view(keyed=False, public_view=v) for v in ("coarse", "full")] == [COARSE, FULL]
    with pytest.raises(Open311Error) as info:
        read_view(keyed=False, public_view="off")
    assert (info.value.status, info.value.description) == (
        403,
        "an api_key is required to read service requests",
    )


def test_a_new_request_is_parsed(profile: Profile) -> None:
    form = {
        "service_code": "road-damage",
        "lat": "30.25",
        "long": "120.17",
        "description": "  pothole 1 < 2  ",
        "media_url": "https://photos.example/p.jpg",
        "phone": "13812345678",
        "email": "someone@example.com",
    }
    new = parse_new_request(form, profile)
    assert (new.service_code, new.lat, new.long, new.address) == (
        "road-damage",
        30.25,
        120.17,
        None,
    )
    assert (new.description, new.media_url) == ("pothole 1 < 2", "https://photos.example/p.jpg")
    assert "13812345678" not in repr(new) and "someone@example.com" not in repr(new)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"service_code": ""}, "service_code is required"),
        ({"service_code": "unicorns"}, "service_code 'unicorns' is not a known service"),
        ({"lat": "", "long": ""}, "a location is required: lat and long, or address_string"),
        ({"long": ""}, "lat and long must be given together"),
        ({"lat": "north"}, "lat must be a number"),
        ({"lat": "91"}, "lat must be between -90 and 90"),
        ({"long": "nan"}, "long must be between -180 and 180"),
        ({"description": "x" * 4001}, "description may be at most 4000 characters"),
        ({"description": "see <b>this</b>"}, "description must be plain text, without HTML"),
        ({"description": "<script>alert(1)"}, "description must be plain text, without HTML"),
        (
            {"media_url": "javascript:alert(1)"},
            "media_url must be an http(s) URL of at most 255 characters",
        ),
    ],
)
def test_bad_new_requests_are_400(profile: Profile, changes: dict[str, str], message: str) -> None:
    form = {"service_code": "road-damage", "lat": "30.25", "long": "120.17", **changes}
    with pytest.raises(Open311Error) as info:
        parse_new_request(form, profile)
    assert (info.value.status, info.value.description) == (400, message)


def test_an_address_alone_is_a_location(profile: Profile) -> None:
    new = parse_new_request({"service_code": "other", "address_string": "西湖边"}, profile)
    assert (new.lat, new.long, new.address, new.description) == (None, None, "西湖边", "")


def test_request_query_defaults_to_the_last_90_days(profile: Profile) -> None:
    query = parse_request_query({}, profile, TZ, NOW)
    assert (query.start, query.end) == (NOW - timedelta(days=90), NOW)
    assert (query.numbers, query.service_codes, query.statuses) == ((), (), None)
    assert (query.limit, query.offset) == (1000, 0)


def test_request_query_reads_every_filter(profile: Profile) -> None:
    params = {
        "service_code": "street-light, road-damage",
        "status": "closed",
        "start_date": "2026-05-01",
        "end_date": "2026-05-10T12:00:00 08:00",
        "page_size": "50",
        "page": "3",
    }
    query = parse_request_query(params, profile, TZ, NOW)
    assert query.service_codes == ("street-light", "road-damage")
    assert query.statuses == frozenset({Status.CLOSED, Status.MERGED})
    assert (query.start, query.end) == (
        datetime(2026, 4, 30, 16, 0, tzinfo=UTC),
        datetime(2026, 5, 10, 4, 0, tzinfo=UTC),
    )
    assert (query.limit, query.offset) == (50, 100)
    both = parse_request_query({"status": "open,closed"}, profile, TZ, NOW)
    assert both.statuses == OPEN_STATUSES | {Status.CLOSED, Status.MERGED}
    ids = parse_request_query({"service_request_id": "HZ-1,HZ-2"}, profile, TZ, NOW)
    assert ids.numbers == ("HZ-1", "HZ-2")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_date": "yesterday"}, "start_date is not an ISO 8601 date and time"),
        ({"end_date": "2026-13-01"}, "end_date is not an ISO 8601 date and time"),
        ({"start_date": "2026-01-01"}, "start_date and end_date may span at most 90 days"),
        (
            {"start_date": "2026-05-10", "end_date": "2026-05-01"},
            "start_date must not be after end_date",
        ),
        ({"status": "pending"}, "status must be open or closed"),
        ({"service_code": "unicorns"}, "service_code 'unicorns' is not a known service"),
        ({"page_size": "1001"}, "page_size must be a whole number from 1 to 1000"),
        ({"page": "-1"}, "page must be a whole number from 1 to 1000000"),
        ({"page": "²"}, "page must be a whole number from 1 to 1000000"),
    ],
)
def test_bad_request_queries_are_400(
    profile: Profile, params: dict[str, str], message: str
) -> None:
    with pytest.raises(Open311Error) as info:
        parse_request_query(params, profile, TZ, NOW)
    assert (info.value.status, info.value.description) == (400, message)


def test_an_agency_update_is_parsed() -> None:
    update = parse_update(
        {
            "service_request_id": "HZ-2026-000042",
            "update_id": "u-1",
            "status": "ACTION_SCHEDULED",
            "description": " crew on Monday ",
            "updated_datetime": "2026-05-20T09:00:00+08:00",
        },
        TZ,
    )
    assert (update.service_request_id, update.update_id, update.status) == (
        "HZ-2026-000042",
        "u-1",
        Status.IN_PROGRESS,
    )
    assert (update.description, update.media_url, update.updated_at) == (
        "crew on Monday",
        None,
        datetime(2026, 5, 20, 1, 0, tzinfo=UTC),
    )


def test_an_update_needs_its_ids() -> None:
    with pytest.raises(Open311Error) as info:
        parse_update({"service_request_id": "HZ-1", "status": "FIXED"}, TZ)
    assert (info.value.status, info.value.description) == (
        400,
        "service_request_id and update_id are required",
    )


def test_format_must_be_xml_or_json() -> None:
    assert [check_format("xml"), check_format("json")] == ["xml", "json"]
    with pytest.raises(Open311Error) as info:
        check_format("html")
    assert (info.value.status, info.value.description) == (
        400,
        "a format suffix is required: .xml or .json",
    )


def test_xml_escapes_text_and_drops_characters_xml_cannot_hold() -> None:
    records = [{"service_code": "a&b", "description": "<b>1 < 2</b>\x00\x07", "metadata": False}]
    body, media_type = render("xml", SERVICES, records)
    assert media_type == "text/xml; charset=utf-8"
    assert b"&lt;b&gt;1 &lt; 2&lt;/b&gt;" in body
    root = ET.fromstring(body)
    service = root.find("service")
    assert root.tag == "services"
    assert service is not None
    assert [(child.tag, child.text) for child in service] == [
        ("service_code", "a&b"),
        ("description", "<b>1 < 2</b>"),
        ("metadata", "false"),
    ]


def test_empty_values_are_empty_elements_and_json_keeps_null() -> None:
    records = [{"service_request_id": "HZ-1", "zipcode": None, "lat": 30.5}]
    xml_body, _ = render("xml", REQUESTS, records)
    request = ET.fromstring(xml_body).find("request")
    assert request is not None
    assert [(c.tag, c.text) for c in request] == [
        ("service_request_id", "HZ-1"),
        ("zipcode", None),
        ("lat", "30.5"),
    ]
    json_body, media_type = render("json", REQUESTS, records)
    assert media_type == "application/json; charset=utf-8"
    assert json.loads(json_body) == records


def test_a_service_definition_renders_its_attributes_list() -> None:
    body, _ = render("xml", ("service_definition", ""), {"service_code": "x", "attributes": []})
    root = ET.fromstring(body)
    attributes = root.find("attributes")
    assert attributes is not None
    assert (root.tag, root.findtext("service_code"), len(attributes)) == (
        "service_definition",
        "x",
        0,
    )


def test_errors_render_as_the_spec_list() -> None:
    error = Open311Error(403, "an api_key is required")
    xml_body, _ = render_error("xml", error)
    root = ET.fromstring(xml_body)
    assert (root.tag, root.findtext("error/code"), root.findtext("error/description")) == (
        ERRORS[0],
        "403",
        "an api_key is required",
    )
    json_body, _ = render_error("json", error)
    assert json.loads(json_body) == [{"code": 403, "description": "an api_key is required"}]
    unknown_format, _ = render_error("html", error)
    assert ET.fromstring(unknown_format).tag == "errors"
