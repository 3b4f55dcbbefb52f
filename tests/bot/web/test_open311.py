"""The Open311 API over HTTP, on SQLite and PostgreSQL: both formats, the spec's errors,
agency scoping, idempotent updates, and no personal data in any answer."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.web import open311_router
from bot.web._limits import WebLimits
from civic.agencies import create_api_key
from civic.city import Profile
from civic.open311._service import SKIPPED_NOTE
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import accept, create_ticket
from storage.db import session_factory
from storage.models import AgencyUser, Ticket, TicketEvent
from storage.ratelimit import MemoryStore

BASE = "/open311/v2"
PHONE, EMAIL = "13987654321", "private.person@example.com"


@dataclass
class Api:
    client: TestClient
    sessions: sessionmaker[Session]
    um_writer: str  # urban-management, may write
    um_reader: str  # urban-management, read only
    water_writer: str
    office: str  # the evaluation office: reads everything
    roads_writer: str  # construction (road-damage is theirs), may write


@pytest.fixture
def api(database_url: str, profile: Profile) -> Iterator[Api]:
    sessions = session_factory(database_url)
    with sessions.begin() as session:
        keys = [
            create_api_key(session=session, name=name, agency=agency, can_write=write)[1]
            for name, agency, write in [
                ("um-system", "urban-management", True),
                ("um-dashboard", "urban-management", False),
                ("water-system", "water", True),
                ("office", None, False),
                ("roads-system", "construction", True),
            ]
        ]
    app = FastAPI()
    router = open311_router(sessions=sessions, profile=profile, timezone="Asia/Shanghai")
    app.include_router(router, prefix=BASE)
    # Any exception that escapes the router fails the test instead of becoming a 500.
    with TestClient(app, raise_server_exceptions=True) as client:
        yield Api(client, sessions, *keys)


def _file(api: Api, category: str = "street-light", agency: str | None = "urban-management") -> str:
    with api.sessions.begin() as session:
        ticket = create_ticket(
            session=session,
            citizen_id=None,
            description="路灯不亮",
            language="zh",
            decision=RoutingDecision(
                category=category, agency=agency, district="binjiang", confidence=0.9
            ),
            ticket_prefix="HZ",
            due_at=None,
        )
        return ticket.number or ""


def _post_request(api: Api, fmt: str = "json", **fields: str) -> Any:
    form = {
        "api_key": api.roads_writer,
        "service_code": "road-damage",
        "lat": "30.188",
        "long": "120.194",
        "description": "Deep pothole outside the school gate",
        "phone": PHONE,
        "email": EMAIL,
        "first_name": "Private",
        "last_name": "Person",
        **fields,
    }
    return api.client.post(f"{BASE}/requests.{fmt}", data=form)


def _errors(response: Any) -> list[dict[str, Any]]:
    """The spec's error list, from XML or JSON."""
    if response.headers["content-type"].startswith("application/json"):
        return list(response.json())
    root = ET.fromstring(response.content)
    assert root.tag == "errors"
    return [
        {"code": int(e.findtext("code") or 0), "description": e.findtext("description")}
        for e in root.findall("error")
    ]


def _error(response: Any, status: int, description: str) -> None:
    assert (response.status_code, _errors(response)) == (
        status,
        [{"code": status, "description": description}],
    )


def _xml_requests(response: Any) -> list[dict[str, str | None]]:
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    return [{child.tag: child.text for child in item} for item in root.findall("request")]


def test_services_in_both_formats(api: Api, profile: Profile) -> None:
    xml = api.client.get(f"{BASE}/services.xml")
    root = ET.fromstring(xml.content)
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert (xml.status_code, root.tag, codes) == (200, "services", list(profile.categories))
    first = root.find("service")
    assert first is not None
    assert (first.findtext("metadata"), first.findtext("type"), first.findtext("group")) == (
        "false",
        "realtime",
        "City Management Bureau",
    )
    as_json = api.client.get(f"{BASE}/services.json").json()
    assert [s["service_code"] for s in as_json] == codes
    assert as_json[0]["metadata"] is False


def test_a_service_definition_and_an_unknown_service(api: Api) -> None:
    found = api.client.get(f"{BASE}/services/street-light.json")
    assert (found.status_code, found.json()) == (
        200,
        {"service_code": "street-light", "attributes": []},
    )
    xml = ET.fromstring(api.client.get(f"{BASE}/services/street-light.xml").content)
    assert (xml.tag, xml.findtext("service_code")) == ("service_definition", "street-light")
    for fmt in ("xml", "json"):
        missing = api.client.get(f"{BASE}/services/unicorns.{fmt}")
        _error(missing, 404, "service_code 'unicorns' is not a known service")


def test_a_format_suffix_is_required(api: Api) -> None:
    cases = [
        ("GET", "/services"),
        ("GET", "/requests"),
        ("POST", "/requests"),
        ("GET", "/requests/HZ-2026-000001"),
        ("GET", "/servicerequestupdates"),
        ("GET", "/services.html"),
        ("GET", "/requests.csv"),
    ]
    for method, path in cases:
        response = api.client.request(method, BASE + path)
        assert response.headers["content-type"] == "text/xml; charset=utf-8"
        _error(response, 400, "a format suffix is required: .xml or .json")


def test_an_unknown_endpoint_is_404(api: Api) -> None:
    _error(api.client.get(f"{BASE}/tokens/abc.json"), 404, "there is no such Open311 endpoint")


def test_posting_a_request_files_an_anonymous_ticket(api: Api) -> None:
    response = _post_request(api, media_url="https://photos.example/pothole.jpg")
    assert response.status_code == 200
    (answer,) = response.json()
    number = answer["service_request_id"]
    assert answer == {"service_request_id": number, "service_notice": None, "account_id": None}
    with api.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        stored = (ticket.category, ticket.agency, ticket.district, ticket.status)
        assert stored == ("road-damage", "construction", "binjiang", "routed")
        assert (ticket.citizen_id, ticket.contact, ticket.routed_by, ticket.confidence) == (
            None,
            "anonymous",
            "open311",
            1.0,
        )
        assert (ticket.events[0].actor, ticket.photo) == (
            "apikey:roads-system",
            "https://photos.example/pothole.jpg",
        )
        assert ticket.due_at is not None


def test_posting_in_xml_answers_in_xml(api: Api) -> None:
    response = _post_request(api, fmt="xml", address_string="西湖边", lat="", long="")
    (answer,) = _xml_requests(response)
    assert list(answer) == ["service_request_id", "service_notice", "account_id"]
    assert (answer["service_notice"], answer["account_id"]) == (None, None)


BAD_POSTS = [
    ({"api_key": ""}, 403, "an api_key is required"),
    ({"api_key": "guessed"}, 403, "the api_key is not valid"),
    ({"service_code": ""}, 400, "service_code is required"),
    ({"service_code": "unicorns"}, 400, "service_code 'unicorns' is not a known service"),
    ({"lat": "", "long": ""}, 400, "a location is required: lat and long, or address_string"),
    ({"lat": "thirty"}, 400, "lat must be a number"),
    (
        {"description": "<img src=x onerror=alert(1)>"},
        400,
        "description must be plain text, without HTML",
    ),
    ({"description": "x" * 4001}, 400, "description may be at most 4000 characters"),
]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_bad_posts_are_refused_in_the_spec_format(api: Api, fmt: str) -> None:
    answers = [
        (response.status_code, _errors(response))
        for response in (_post_request(api, fmt=fmt, **fields) for fields, _s, _m in BAD_POSTS)
    ]
    assert answers == [
        (status, [{"code": status, "description": m}]) for _f, status, m in BAD_POSTS
    ]
    with api.sessions() as session:
        assert session.scalars(select(Ticket)).all() == []


def test_only_a_write_key_files_and_only_in_its_own_agencys_services(api: Api) -> None:
    refused = [
        (_post_request(api, api_key=key, service_code=code), message)
        for key, code, message in [
            (api.um_reader, "street-light", "this api_key may only read"),
            (api.office, "street-light", "this api_key may only read"),
            (
                api.um_writer,
                "road-damage",
                "this api_key may file only its own agency's services, not 'road-damage'",
            ),
            (
                api.water_writer,
                "street-light",
                "this api_key may file only its own agency's services, not 'street-light'",
            ),
        ]
    ]
    for response, message in refused:
        _error(response, 403, message)
    with api.sessions() as session:
        assert session.scalars(select(Ticket)).all() == []
    (filed,) = _post_request(api, api_key=api.um_writer, service_code="street-light").json()
    with api.sessions() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert (ticket.number, ticket.category, ticket.agency) == (
            filed["service_request_id"],
            "street-light",
            "urban-management",
        )


def test_a_key_in_a_posts_url_is_refused(api: Api) -> None:
    for path in ("requests.json", "servicerequestupdates.json"):
        response = api.client.post(
            f"{BASE}/{path}",
            params={"api_key": api.roads_writer},
            data={"service_code": "road-damage", "lat": "30.188", "long": "120.194"},
        )
        _error(response, 400, "send the api_key in the form body, not in the URL")
    with api.sessions() as session:
        assert session.scalars(select(Ticket)).all() == []


def test_a_garbage_body_is_an_error_not_a_crash(api: Api) -> None:
    cases = [
        (b"--x\r\ngarbage\xff\xfe", "multipart/form-data; boundary=x", 400),
        (b'{"service_code": "road-damage"}', "application/json", 403),
        (b"\xff\xfe\x00=%%%&&==", "application/x-www-form-urlencoded", 403),
        (b"", "text/plain", 403),
    ]
    for content, content_type, status in cases:
        response = api.client.post(
            f"{BASE}/requests.json", content=content, headers={"content-type": content_type}
        )
        assert (response.status_code, [e["code"] for e in _errors(response)]) == (
            status,
            [status],
        )


def test_a_file_where_text_belongs_is_400(api: Api) -> None:
    response = api.client.post(
        f"{BASE}/requests.json",
        data={"api_key": api.um_writer, "service_code": "other"},
        files={"description": ("a.txt", b"hello", "text/plain")},
    )
    _error(response, 400, "description must be text, not a file")


def test_reading_requests_in_both_formats(api: Api) -> None:
    light, water = _file(api), _file(api, "water-outage", "water")
    listed = api.client.get(f"{BASE}/requests.json").json()
    assert [r["service_request_id"] for r in listed] == [water, light]
    one = _xml_requests(api.client.get(f"{BASE}/requests/{light}.xml"))
    assert [(r["service_request_id"], r["status"], r["service_code"]) for r in one] == [
        (light, "open", "street-light")
    ]
    assert list(one[0]) == list(listed[1])
    only = api.client.get(f"{BASE}/requests.json", params={"service_request_id": f"{water},nope"})
    assert [r["service_request_id"] for r in only.json()] == [water]
    closed = api.client.get(f"{BASE}/requests.json", params={"status": "closed"})
    assert closed.json() == []


def test_an_agency_key_reads_only_its_agency(api: Api) -> None:
    light, water = _file(api), _file(api, "water-outage", "water")
    mine = api.client.get(f"{BASE}/requests.json", params={"api_key": api.water_writer})
    assert [r["service_request_id"] for r in mine.json()] == [water]
    everything = api.client.get(f"{BASE}/requests.json", params={"api_key": api.office})
    assert [r["service_request_id"] for r in everything.json()] == [water, light]
    other = api.client.get(f"{BASE}/requests/{light}.json", params={"api_key": api.water_writer})
    _error(other, 403, "this api_key may not read that service request")
    bad_key = api.client.get(f"{BASE}/requests.json", params={"api_key": "guessed"})
    _error(bad_key, 403, "the api_key is not valid")


def test_a_missing_request_is_404(api: Api) -> None:
    for fmt in ("xml", "json"):
        response = api.client.get(f"{BASE}/requests/HZ-1999-000001.{fmt}")
        _error(response, 404, "there is no service request HZ-1999-000001")


def test_bad_filters_are_400(api: Api) -> None:
    cases = [
        ({"start_date": "last tuesday"}, "start_date is not an ISO 8601 date and time"),
        ({"end_date": "2026-02-30"}, "end_date is not an ISO 8601 date and time"),
        (
            {"start_date": "2020-01-01", "end_date": "2020-06-01"},
            "start_date and end_date may span at most 90 days",
        ),
        ({"status": "lost"}, "status must be open or closed"),
        ({"service_code": "unicorns"}, "service_code 'unicorns' is not a known service"),
        ({"page_size": "many"}, "page_size must be a whole number from 1 to 1000"),
    ]
    for params, message in cases:
        for path in ("requests.xml", "requests.json"):
            _error(api.client.get(f"{BASE}/{path}", params=params), 400, message)
        if "start_date" in params or "end_date" in params:
            updates = api.client.get(f"{BASE}/servicerequestupdates.json", params=params)
            _error(updates, 400, message)


def _post_update(api: Api, number: str, fmt: str = "json", **fields: str) -> Any:
    form = {
        "api_key": api.um_writer,
        "service_request_id": number,
        "update_id": "upd-1",
        "status": "INVESTIGATING",
        "description": "inspector sent",
        "updated_datetime": "2026-05-20T09:00:00+08:00",
        **fields,
    }
    return api.client.post(f"{BASE}/servicerequestupdates.{fmt}", data=form)


def _statuses(api: Api, number: str) -> list[str]:
    with api.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        return [e.to_status for e in ticket.events]


def test_an_update_is_applied_once_however_often_it_is_posted(api: Api) -> None:
    number = _file(api)
    first = _post_update(api, number)
    again = _post_update(api, number)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    (answer,) = first.json()
    assert (answer["update_id"], answer["service_request_id"], answer["status"]) == (
        "upd-1",
        number,
        "INVESTIGATING",
    )
    assert _statuses(api, number) == ["submitted", "routed", "accepted"]
    as_xml = ET.fromstring(_post_update(api, number, fmt="xml").content)
    assert (as_xml.tag, as_xml.findtext("request_update/update_id")) == (
        "service_requests_updates",
        "upd-1",
    )
    fixed = _post_update(
        api,
        number,
        update_id="upd-2",
        status="FIXED",
        description="lamp replaced",
        media_url="https://photos.example/after.jpg",
    )
    assert fixed.json()[0]["status"] == "FIXED"
    assert _statuses(api, number)[-1] == "rectified"


def test_updates_are_scoped_and_checked(api: Api) -> None:
    number = _file(api)
    cases = [
        ({"api_key": api.water_writer}, 403, f"not allowed to see ticket {number}"),
        ({"api_key": api.um_reader}, 403, "this api_key may only read"),
        ({"api_key": ""}, 403, "an api_key is required"),
        ({"status": "OPEN"}, 400, lifecycle_message()),
        ({"status": "NOT_COUNCILS_RESPONSIBILITY", "description": ""}, 400, "a reason is required"),
        ({"service_request_id": "HZ-1999-000001"}, 404, "no ticket numbered HZ-1999-000001"),
        ({"update_id": ""}, 400, "service_request_id and update_id are required"),
        ({"updated_datetime": "soon"}, 400, "updated_datetime is not an ISO 8601 date and time"),
    ]
    for (fields, status, message), fmt in itertools.product(cases, ("xml", "json")):
        response = _post_update(api, number, fmt=fmt, **{"update_id": f"u-{status}", **fields})
        _error(response, status, message)
    assert _statuses(api, number) == ["submitted", "routed"]


def test_an_agency_system_may_skip_ahead_and_the_skipped_step_is_recorded(api: Api) -> None:
    for status, expected in (("FIXED", "rectified"), ("IN_PROGRESS", "in_progress")):
        number = _file(api)
        response = _post_update(
            api, number, update_id=f"jump-{status}", status=status, description="done"
        )
        assert response.status_code == 200, response.text
        assert response.json()[0]["status"] == status
        with api.sessions() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
            history = [(e.to_status, e.public, e.actor, e.note) for e in ticket.events]
        assert history == [
            ("submitted", True, "citizen", None),
            ("routed", True, "router", None),
            ("accepted", False, "apikey:um-system", SKIPPED_NOTE),
            (expected, True, "apikey:um-system", "done"),
        ], history
    closed = _file(api)
    response = _post_update(api, closed, update_id="jump-closed", status="CLOSED")
    _error(response, 400, "a ticket cannot go from 'routed' to 'closed'")


def lifecycle_message() -> str:
    return (
        "status must be one of INVESTIGATING, IN_PROGRESS, ACTION_SCHEDULED, FIXED, CLOSED, "
        "NO_FURTHER_ACTION, NOT_COUNCILS_RESPONSIBILITY, INTERNAL_REFERRAL"
    )


def test_not_ours_sends_the_ticket_back_to_triage(api: Api) -> None:
    number = _file(api)
    response = _post_update(
        api, number, status="NOT_COUNCILS_RESPONSIBILITY", description="private land"
    )
    assert response.json()[0]["status"] == "INTERNAL_REFERRAL"
    with api.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert (ticket.status, ticket.agency) == ("rerouted", None)


def test_updates_feed_shows_public_changes_only(api: Api) -> None:
    number = _file(api)
    with api.sessions.begin() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        ticket.events.append(
            TicketEvent(
                actor="user:li",
                from_status="routed",
                to_status="routed",
                note=f"call the citizen on {PHONE}",
                public=False,
            )
        )
    _post_update(api, number)
    feed = api.client.get(f"{BASE}/servicerequestupdates.json").json()
    assert [(u["service_request_id"], u["status"], u["description"]) for u in feed] == [
        (number, "OPEN", ""),
        (number, "INVESTIGATING", "inspector sent"),
    ]
    assert list(feed[1]) == [
        "update_id",
        "service_request_id",
        "status",
        "updated_datetime",
        "description",
        "media_url",
        "external_status_code",
    ]
    root = ET.fromstring(api.client.get(f"{BASE}/servicerequestupdates.xml").content)
    assert [u.findtext("external_status_code") for u in root.findall("request_update")] == [
        "routed",
        "accepted",
    ]
    scoped = api.client.get(
        f"{BASE}/servicerequestupdates.json", params={"api_key": api.water_writer}
    )
    assert scoped.json() == []


def test_personal_data_never_appears_in_any_answer(api: Api) -> None:
    posted = _post_request(api, description=f"pothole; call {PHONE}")
    number = posted.json()[0]["service_request_id"]
    _post_update(api, number, description=f"will call back on {PHONE}")
    paths = ["requests", f"requests/{number}", "servicerequestupdates"]
    bodies = [posted.text] + [
        api.client.get(f"{BASE}/{path}.{fmt}").text for path in paths for fmt in ("xml", "json")
    ]
    assert number in bodies[1]
    for body in bodies:
        assert [s for s in (PHONE, EMAIL, "Private", "Person") if s in body] == []
    with api.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        row = " ".join(str(getattr(ticket, c.name)) for c in Ticket.__table__.c)
        assert [s for s in (EMAIL, "Private", "Person") if s in row] == []


def test_desk_events_show_in_the_feed(api: Api) -> None:
    number = _file(api)
    with api.sessions.begin() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        officer = AgencyUser(
            username="li",
            password_hash="-",
            display_name="li",
            agency="urban-management",
            role="officer",
        )
        session.add(officer)
        session.flush()
        accept(session=session, viewer=officer, ticket=ticket, note="on it")
    feed = api.client.get(f"{BASE}/servicerequestupdates.json").json()
    assert [(u["status"], u["description"]) for u in feed] == [
        ("OPEN", ""),
        ("INVESTIGATING", "on it"),
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 6_000_000.0 + 45  # 15 s before a minute ends

    def __call__(self) -> float:
        return self.now


def _limited(api: Api, profile: Profile, clock: Clock) -> TestClient:
    settings = replace(get_settings(), open311_limit_per_key=2, open311_limit_per_ip=3)
    app = FastAPI()
    limits = WebLimits(settings, store=MemoryStore(clock), clock=clock)
    router = open311_router(sessions=api.sessions, profile=profile, timezone="UTC", limits=limits)
    app.include_router(router, prefix=BASE)
    return TestClient(app, raise_server_exceptions=True)


def test_posts_are_limited_per_key_and_per_address(api: Api, profile: Profile) -> None:
    clock = Clock()
    client = _limited(api, profile, clock)
    limited = replace(api, client=client)
    statuses = [_post_request(limited).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = _post_request(limited, fmt="xml")
    assert refused.headers["retry-after"] == "15"
    _error(refused, 429, "too many requests; try again in 15 seconds")
    # another key from the same address: the address's limit (3) is already passed
    other = _post_request(limited, api_key=api.um_writer, service_code="street-light")
    _error(other, 429, "too many requests; try again in 15 seconds")
    assert client.get(f"{BASE}/requests.json").status_code == 200  # reading is not limited
    clock.now += 15
    assert _post_request(limited).status_code == 200
    with api.sessions() as session:
        assert len(session.scalars(select(Ticket)).all()) == 3


def test_an_unknown_key_counts_against_the_address(api: Api, profile: Profile) -> None:
    client = _limited(api, profile, Clock())
    answers = [
        client.post(f"{BASE}/requests.json", data={"api_key": f"guess-{i}"}).status_code
        for i in range(5)
    ]
    assert answers == [403, 403, 403, 429, 429]
