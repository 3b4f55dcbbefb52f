"""What Open311 reads show without an api_key (OPEN311_PUBLIC_VIEW off, coarse or full)
and with one, in XML and JSON, on SQLite and PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bot.web import open311_router
from civic.agencies import create_api_key
from civic.city import Profile
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import accept, create_ticket
from storage.db import session_factory
from storage.models import AgencyUser

BASE = "/open311/v2"
PHONE = "13812345678"
DESCRIPTION = f"延安路12号3单元501室门口路灯坏了, 电话{PHONE}"
ADDRESS = "上城区延安路12号3单元501室"
NOTE = "crew visited Room 301"
EXACT = {
    "description": "延安路12号3单元501室门口路灯坏了, 电话***",
    "status_notes": NOTE,
    "address": ADDRESS,
    "lat": 30.2581234,
    "long": 120.1689876,
}
COARSE = {
    "description": "延安路***门口路灯坏了, 电话***",
    "status_notes": "crew visited ***",
    "address": "Yan'an Road, Shangcheng",
    "lat": 30.258,
    "long": 120.169,
}
KEY_REQUIRED = [{"code": 403, "description": "an api_key is required to read service requests"}]


class Reader:
    def __init__(self, client: TestClient, key: str, number: str) -> None:
        self.client, self.key, self.number = client, key, number

    def get(self, path: str, fmt: str, key: str | None = None) -> Any:
        params = {"api_key": key} if key else {}
        return self.client.get(f"{BASE}/{path}.{fmt}", params=params)


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


@pytest.fixture
def filed(sessions: sessionmaker[Session]) -> tuple[str, str]:
    """(the office's read key, the number of a ticket whose texts and place are personal)"""
    with sessions.begin() as session:
        _, key = create_api_key(session=session, name="office", agency=None, can_write=False)
        ticket = create_ticket(
            session=session,
            citizen_id=None,
            description=DESCRIPTION,
            language="zh",
            decision=RoutingDecision(
                category="street-light",
                agency="urban-management",
                district="shangcheng",
                confidence=0.9,
            ),
            ticket_prefix="HZ",
            due_at=None,
            address_text=ADDRESS,
            road="延安路",
            lat=30.2581234,
            long=120.1689876,
        )
        officer = AgencyUser(
            username="li",
            password_hash="-",
            display_name="li",
            agency="urban-management",
            role="officer",
        )
        session.add(officer)
        session.flush()
        accept(session=session, viewer=officer, ticket=ticket, note=NOTE)
        return key, ticket.number or ""


@pytest.fixture
def reader(
    sessions: sessionmaker[Session], profile: Profile, filed: tuple[str, str]
) -> Callable[[str | None], Any]:
    """A reader of the API with OPEN311_PUBLIC_VIEW as given (None: the setting)."""

    @contextmanager
    def open_with(view: str | None) -> Iterator[Reader]:
        app = FastAPI()
        router = open311_router(
            sessions=sessions, profile=profile, timezone="Asia/Shanghai", public_view=view
        )
        app.include_router(router, prefix=BASE)
        with TestClient(app, raise_server_exceptions=True) as client:
            yield Reader(client, *filed)

    return open_with


def _fields(response: Any, fmt: str) -> dict[str, Any]:
    """The personal fields of the one request in the answer, from XML or JSON."""
    assert response.status_code == 200, response.text
    if fmt == "json":
        [record] = response.json()
    else:
        [item] = ET.fromstring(response.content).findall("request")
        record = {child.tag: child.text for child in item}
        record["lat"], record["long"] = float(record["lat"]), float(record["long"])
    return {name: record[name] for name in EXACT}


def _update_text(response: Any, fmt: str) -> str:
    assert response.status_code == 200, response.text
    if fmt == "json":
        return str(response.json()[-1]["description"])
    return str(
        ET.fromstring(response.content).findall("request_update")[-1].findtext("description")
    )


def _errors(response: Any, fmt: str) -> tuple[int, list[dict[str, Any]]]:
    if fmt == "json":
        return response.status_code, response.json()
    root = ET.fromstring(response.content)
    errors = [
        {"code": int(e.findtext("code") or 0), "description": e.findtext("description")}
        for e in root.findall("error")
    ]
    return response.status_code, errors


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_without_a_key_reads_are_coarse_by_default(
    reader: Any, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPEN311_PUBLIC_VIEW", raising=False)
    get_settings.cache_clear()
    with reader(None) as api:
        assert _fields(api.get("requests", fmt), fmt) == COARSE
        assert _fields(api.get(f"requests/{api.number}", fmt), fmt) == COARSE
        assert _update_text(api.get("servicerequestupdates", fmt), fmt) == "crew visited ***"
        listed = api.get("requests", fmt).text
        assert [s for s in (PHONE, "12号", "501室", "30.2581234") if s in listed] == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("view", ["off", "coarse", "full"])
def test_a_valid_key_reads_everything_in_every_mode(reader: Any, fmt: str, view: str) -> None:
    with reader(view) as api:
        assert _fields(api.get("requests", fmt, api.key), fmt) == EXACT
        assert _fields(api.get(f"requests/{api.number}", fmt, api.key), fmt) == EXACT
        assert _update_text(api.get("servicerequestupdates", fmt, api.key), fmt) == NOTE


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_full_view_shows_everything_without_a_key(reader: Any, fmt: str) -> None:
    with reader("full") as api:
        assert _fields(api.get("requests", fmt), fmt) == EXACT
        assert _fields(api.get(f"requests/{api.number}", fmt), fmt) == EXACT


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_when_off_reads_need_a_key_and_say_so(reader: Any, fmt: str) -> None:
    with reader("off") as api:
        for path in ("requests", f"requests/{api.number}", "requests/HZ-1999-000001"):
            assert _errors(api.get(path, fmt), fmt) == (403, KEY_REQUIRED)
        assert _errors(api.get("servicerequestupdates", fmt), fmt) == (403, KEY_REQUIRED)
        assert _errors(api.get("requests", fmt, "guessed"), fmt) == (
            403,
            [{"code": 403, "description": "the api_key is not valid"}],
        )
        # The list of services is no one's data: public in every mode.
        assert api.get("services", fmt).status_code == 200
