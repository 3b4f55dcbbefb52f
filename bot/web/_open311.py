"""Open311 GeoReport v2 over HTTP, with mySociety's service request updates: the API
agencies' systems and partner apps use. Mounted by the web app at `/open311/v2`.

The views only translate: read the query or form, call one function of `civic.open311`
or `storage`, render. Every error, bad input included, is answered in the spec's format
(a list of {code, description}) with 400, 403 or 404, or 429 with Retry-After past a
posting limit (per key and per client address); only a real bug reaches the app's one
error handler.

Reads of requests and updates with a valid api_key show everything; without one, what
`OPEN311_PUBLIC_VIEW` allows: nothing (off), a rough place and masked texts (coarse, the
default), or everything (full). The service list is public in every mode.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from bot.web._limits import WebLimits, client_ip
from civic import open311
from civic.agencies import api_key_for, can_access
from civic.city import Profile
from civic.errors import AccessDenied, IllegalTransition, InvalidInput, NotFound
from civic.settings import get_settings
from storage.models import ApiKey, utcnow
from storage.ratelimit import Rule
from storage.tickets import get_ticket_by_number

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class TooManyPosts(open311.Open311Error):
    """Over a posting limit: 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(429, f"too many requests; try again in {retry_after} seconds")
        self.retry_after = retry_after


def _as_open311(exc: Exception) -> open311.Open311Error | None:
    """Our typed errors and the framework's input errors, as the spec's errors."""
    if isinstance(exc, open311.Open311Error):
        return exc
    if isinstance(exc, NotFound):
        return open311.Open311Error(404, str(exc))
    if isinstance(exc, AccessDenied):
        return open311.Open311Error(403, str(exc))
    if isinstance(exc, IllegalTransition | InvalidInput):
        return open311.Open311Error(400, str(exc))
    if isinstance(exc, RequestValidationError):
        return open311.Open311Error(400, "the request is malformed")
    if isinstance(exc, HTTPException) and 400 <= exc.status_code < 500:
        return open311.Open311Error(400, f"the request is malformed: {exc.detail}")
    return None


class Open311Route(APIRoute):
    """A route whose errors of input are answered in the spec's error format."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                error = _as_open311(exc)
                if error is None:
                    raise
                body, media_type = open311.render_error(request.path_params.get("fmt"), error)
                headers = (
                    {"Retry-After": str(error.retry_after)}
                    if isinstance(error, TooManyPosts)
                    else None
                )
                return Response(body, error.status, headers, media_type=media_type)

        return guarded


def _respond(fmt: str, container: tuple[str, str], payload: Any) -> Response:
    body, media_type = open311.render(fmt, container, payload)
    return Response(body, media_type=media_type)


async def _form(request: Request) -> dict[str, str]:
    """The form fields. A key that writes travels in the body, never in the URL, where
    proxies and access logs would keep it."""
    if "api_key" in request.query_params:
        raise open311.Open311Error(400, "send the api_key in the form body, not in the URL")
    fields = dict(request.query_params)
    for name, value in (await request.form()).multi_items():
        if not isinstance(value, str):
            raise open311.Open311Error(400, f"{name} must be text, not a file")
        fields[name] = value
    return fields


def _key(session: Session, raw: str | None) -> ApiKey | None:
    """The key given for a read (optional): None without one, 403 when not valid."""
    if not raw:
        return None
    key = api_key_for(session=session, raw=raw)
    if key is None:
        raise open311.Open311Error(403, "the api_key is not valid")
    return key


def _required_key(session: Session, raw: str | None) -> ApiKey:
    key = _key(session, raw)
    if key is None:
        raise open311.Open311Error(403, "an api_key is required")
    return key


def _applied_record(applied: open311.AppliedUpdate, timezone: str) -> dict[str, Any]:
    return {
        "update_id": applied.update_id,
        "service_request_id": applied.ticket_number,
        "status": open311.extended_status(applied.status),
        "updated_datetime": open311.iso(applied.at, timezone),
    }


class _Endpoints:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        profile: Profile,
        timezone: str,
        public_view: str,
        limits: WebLimits,
    ) -> None:
        self.sessions, self.profile, self.timezone = sessions, profile, timezone
        self.public_view = public_view
        self.limits = limits

    def _reader(self, session: Session, raw: str | None) -> tuple[ApiKey | None, str]:
        """The key of a read (if any) and what the read may show."""
        key = _key(session, raw)
        return key, open311.read_view(keyed=key is not None, public_view=self.public_view)

    async def _posted(self, request: Request) -> dict[str, str]:
        """The form of a POST, within the limits per address and per key."""
        self._within(self.limits.open311_ip, client_ip(request))
        form = await _form(request)
        self._within(self.limits.open311_key, form.get("api_key", ""))
        return form

    def _within(self, rule: Rule, who: str) -> None:
        verdict = self.limits.limiter.hit(rule, who)
        if not verdict.allowed:
            raise TooManyPosts(verdict.retry_after)

    async def services(self, fmt: str) -> Response:
        return _respond(
            open311.check_format(fmt), open311.SERVICES, open311.service_list(self.profile)
        )

    async def service(self, code: str, fmt: str) -> Response:
        open311.check_format(fmt)
        return _respond(fmt, open311.DEFINITION, open311.service_definition(self.profile, code))

    async def post_request(self, request: Request, fmt: str) -> Response:
        open311.check_format(fmt)
        records = await run_in_threadpool(self._create, await self._posted(request))
        return _respond(fmt, open311.REQUESTS, records)

    async def get_requests(self, request: Request, fmt: str) -> Response:
        open311.check_format(fmt)
        records = await run_in_threadpool(self._requests, dict(request.query_params))
        return _respond(fmt, open311.REQUESTS, records)

    async def get_request(self, request: Request, number: str, fmt: str) -> Response:
        open311.check_format(fmt)
        records = await run_in_threadpool(self._request, number, dict(request.query_params))
        return _respond(fmt, open311.REQUESTS, records)

    async def get_updates(self, request: Request, fmt: str) -> Response:
        open311.check_format(fmt)
        records = await run_in_threadpool(self._updates, dict(request.query_params))
        return _respond(fmt, open311.UPDATES, records)

    async def post_update(self, request: Request, fmt: str) -> Response:
        open311.check_format(fmt)
        records = await run_in_threadpool(self._post_update, await self._posted(request))
        return _respond(fmt, open311.UPDATES, records)

    async def no_format(self) -> Response:
        raise open311.Open311Error(400, "a format suffix is required: .xml or .json")

    async def unknown(self) -> Response:
        raise open311.Open311Error(404, "there is no such Open311 endpoint")

    # The database work, run in a worker thread.

    def _create(self, form: dict[str, str]) -> list[dict[str, Any]]:
        with self.sessions.begin() as session:
            key = _required_key(session, form.get("api_key"))
            new = open311.parse_new_request(form, self.profile)
            ticket = open311.submit_request(
                session=session, key=key, request=new, profile=self.profile, timezone=self.timezone
            )
            return [
                {"service_request_id": ticket.number, "service_notice": None, "account_id": None}
            ]

    def _requests(self, params: dict[str, str]) -> list[dict[str, Any]]:
        with self.sessions() as session:
            key, view = self._reader(session, params.get("api_key"))
            query = open311.parse_request_query(params, self.profile, self.timezone, utcnow())
            tickets = open311.find_requests(session=session, query=query, viewer=key)
            return [
                open311.request_record(t, self.profile, self.timezone, view=view) for t in tickets
            ]

    def _request(self, number: str, params: dict[str, str]) -> list[dict[str, Any]]:
        with self.sessions() as session:
            key, view = self._reader(session, params.get("api_key"))
            ticket = get_ticket_by_number(session=session, number=number)
            if ticket is None:
                raise open311.Open311Error(404, f"there is no service request {number}")
            if key is not None and not can_access(key, ticket):
                raise open311.Open311Error(403, "this api_key may not read that service request")
            return [open311.request_record(ticket, self.profile, self.timezone, view=view)]

    def _updates(self, params: dict[str, str]) -> list[dict[str, Any]]:
        with self.sessions() as session:
            key, view = self._reader(session, params.get("api_key"))
            start, end = open311.parse_range(params, self.timezone, utcnow())
            rows = open311.find_public_updates(
                session=session, start=start, end=end, viewer=key, limit=open311.MAX_RESULTS
            )
            return [open311.update_record(e, n, p, self.timezone, view=view) for e, n, p in rows]

    def _post_update(self, form: dict[str, str]) -> list[dict[str, Any]]:
        with self.sessions.begin() as session:
            key = _required_key(session, form.get("api_key"))
            update = open311.parse_update(form, self.timezone)
            applied = open311.apply_agency_update(session=session, key=key, update=update)
            return [_applied_record(applied, self.timezone)]


def open311_router(
    *,
    sessions: sessionmaker[Session],
    profile: Profile,
    timezone: str,
    public_view: str | None = None,
    limits: WebLimits | None = None,
) -> APIRouter:
    """The Open311 endpoints; the app mounts them with prefix `/open311/v2`. Reads
    without an api_key show `public_view` (off, coarse or full; by default the setting
    OPEN311_PUBLIC_VIEW)."""
    settings = get_settings()
    api = _Endpoints(
        sessions,
        profile,
        timezone,
        public_view or settings.open311_public_view,
        limits or WebLimits(settings),
    )
    router = APIRouter(route_class=Open311Route)
    routes: list[tuple[str, Callable[..., Coroutine[Any, Any, Response]], str]] = [
        ("/services.{fmt}", api.services, "GET"),
        ("/services/{code}.{fmt}", api.service, "GET"),
        ("/requests.{fmt}", api.get_requests, "GET"),
        ("/requests.{fmt}", api.post_request, "POST"),
        ("/requests/{number}.{fmt}", api.get_request, "GET"),
        ("/servicerequestupdates.{fmt}", api.get_updates, "GET"),
        ("/servicerequestupdates.{fmt}", api.post_update, "POST"),
    ]
    for path, endpoint, method in routes:
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
    for path in ("/services", "/services/{code}", "/requests", "/requests/{number}"):
        router.add_api_route(path, api.no_format, methods=["GET", "POST"], include_in_schema=False)
    router.add_api_route(
        "/servicerequestupdates", api.no_format, methods=["GET", "POST"], include_in_schema=False
    )
    every = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    router.add_api_route("/{rest:path}", api.unknown, methods=every, include_in_schema=False)
    return router
