"""The agency desk's web pages, mounted by the web app at `/desk`: the inbox, a ticket
with its timeline and forms, and the photos (signing in and out is `login.py`).

Views stay thin: check the login (and on a POST the CSRF token), call one function of
`civic.tickets` or `civic.agencies`, render. Database work runs in a worker thread. A
POST's login is checked before its body is read: without one, nothing is uploaded.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.web._desk import security
from bot.web._desk.actions import ACTIONS, ActionInput, PhotoRejected, read_photo
from bot.web._desk.filters import BadFilter, InboxFilters, parse_filters
from bot.web._desk.handoffs import HANDOFF_ACTIONS, is_staff, queue_view
from bot.web._desk.login import LoginThrottle, SignIn, to_login
from bot.web._desk.render import Page, Renderer, redirect
from bot.web._desk.texts import TEMPLATES_DIR
from bot.web._desk.views import inbox_rows, ticket_view
from bot.web._limits import WebLimits
from civic.agencies import can_act, is_office, user_for_session
from civic.city import Profile
from civic.errors import AccessDenied, IllegalTransition, InvalidInput, NotFound
from civic.settings import get_settings
from civic.tickets import Status, get_ticket, list_inbox, may_see_photo, triage_queue
from storage.media import MAX_PHOTO_BYTES, MediaStore
from storage.models import AgencyUser, Handoff, Ticket, utcnow
from storage.tickets import event_photos

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
PAGE_SIZE = 50
MAX_BODY = MAX_PHOTO_BYTES + 256 * 1024
MEDIA_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


class DeskRoute(APIRoute):
    """Every desk response carries the security headers (no scripts, no framing)."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def with_headers(request: Request) -> Response:
            response = await handler(request)
            response.headers.update(security.HEADERS)
            return response

        return with_headers


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _ticket_url(number: str) -> str:
    return f"/desk/tickets/{quote(number, safe='')}"


class Desk:
    def __init__(
        self, sessions: sessionmaker[Session], profile: Profile, media: MediaStore
    ) -> None:
        self.sessions, self.profile, self.media = sessions, profile, media
        self.renderer = Renderer(profile)
        self.css = (TEMPLATES_DIR / "desk.css").read_text(encoding="utf-8")

    def _signed_in(self, session: Session, request: Request) -> AgencyUser | None:
        return user_for_session(session=session, token=security.session_token(request))

    def _has_session(self, request: Request) -> bool:
        with self.sessions() as session:
            return self._signed_in(session, request) is not None

    def _page(self, request: Request, user: AgencyUser) -> Page:
        return self.renderer.page(
            request, user, security.csrf_token(security.session_token(request))
        )

    def _forbidden(self, page: Page) -> Response:
        return self.renderer.error(page, 403, page.t("error.csrf"))

    def _not_found(self, page: Page) -> Response:
        return self.renderer.error(page, 404, page.t("error.not_found"))

    # --- The inbox ---

    async def inbox(self, request: Request) -> Response:
        return await run_in_threadpool(self._inbox, request)

    def _inbox(self, request: Request) -> Response:
        with self.sessions() as session:
            user = self._signed_in(session, request)
            if user is None:
                return to_login(request)
            page = self._page(request, user)
            try:
                filters = parse_filters(request.query_params, self.profile, user)
            except BadFilter as exc:
                detail = page.t(exc.key, value=exc.value)
                return self.renderer.error(page, 400, page.t("error.bad_filter", detail=detail))
            now = utcnow()
            found = self._find(session, user, filters, now)
            query = filters.query()
            return self.renderer.render(
                page,
                "inbox.html",
                here=f"/desk/?{query}" if query else "/desk/",
                filters=filters,
                rows=inbox_rows(page.labels, found[:PAGE_SIZE], now),
                has_next=len(found) > PAGE_SIZE,
                staff=is_office(user),
                choices=self._choices(page, user),
            )

    def _find(
        self, session: Session, user: AgencyUser, filters: InboxFilters, now: datetime
    ) -> list[Ticket]:
        """One page of tickets (and one more, to know whether there is a next page)."""
        find = triage_queue if filters.triage else list_inbox
        return find(
            session=session,
            viewer=user,
            status=filters.status,
            category=filters.category,
            district=filters.district,
            overdue=filters.overdue,
            limit=PAGE_SIZE + 1,
            offset=(filters.page - 1) * PAGE_SIZE,
            now=now,
        )

    def _choices(self, page: Page, user: AgencyUser) -> dict[str, list[tuple[str, str]]]:
        """The filters' options; an officer limited to districts sees only those."""
        districts = [d for d in self.profile.districts if d in user.district_codes]
        return {
            "status": [(s.value, page.labels.status(s.value)) for s in Status],
            "category": [(c, page.labels.category(c)) for c in self.profile.categories],
            "district": [
                (d, page.labels.district(d)) for d in districts or list(self.profile.districts)
            ],
        }

    # --- One ticket ---

    async def ticket(self, request: Request, number: str) -> Response:
        return await run_in_threadpool(self._ticket, request, number)

    def _ticket(self, request: Request, number: str) -> Response:
        with self.sessions() as session:
            user = self._signed_in(session, request)
            if user is None:
                return to_login(request)
            return self._show_ticket(session, self._page(request, user), user, number)

    def _show_ticket(
        self,
        session: Session,
        page: Page,
        user: AgencyUser,
        number: str,
        *,
        status: int = 200,
        error: str | None = None,
        failed: str | None = None,
        values: dict[str, str] | None = None,
    ) -> Response:
        """The ticket page; after a refused action, with the error and what was typed."""
        try:
            ticket = get_ticket(session=session, viewer=user, number=number)
        except (NotFound, AccessDenied):
            return self._not_found(page)
        photos = event_photos(session=session, ticket_id=ticket.id)
        view = ticket_view(page.labels, ticket, photos, utcnow())
        if not can_act(user, ticket):  # a hotline operator follows what they filed
            view = replace(view, actions=frozenset(), waiting=False)
        return self.renderer.render(
            page,
            "ticket.html",
            here=_ticket_url(number),
            status=status,
            ticket=view,
            action_url=_ticket_url(number),
            error=error,
            failed=failed,
            values=values or {},
        )

    async def act(self, request: Request, number: str, action: str) -> Response:
        if action not in ACTIONS:
            return self._not_found(self.renderer.page(request))
        if not await run_in_threadpool(self._has_session, request):
            return to_login(request)  # before the body is read: no upload without a login
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            page = self.renderer.page(request)
            return self.renderer.error(page, 413, page.t("error.photo_too_large"))
        form = await request.form(max_files=1 if action == "rectify" else 0, max_fields=20)
        photo = await read_photo(form) if action == "rectify" else None
        return await run_in_threadpool(self._act, request, number, action, form, photo)

    def _act(
        self, request: Request, number: str, action: str, form: FormData, photo: bytes | None
    ) -> Response:
        with self.sessions() as session:
            user = self._signed_in(session, request)
            if user is None:
                return to_login(request)
            page = self._page(request, user)
            if not security.same_token(page.csrf, form.get(security.CSRF_FIELD)):
                return self._forbidden(page)
            try:
                ticket = get_ticket(session=session, viewer=user, number=number)
                work = ActionInput(
                    session, user, ticket, form, photo, self.media, set(self.profile.agencies)
                )
                flash = ACTIONS[action](work)
                session.commit()
            except (NotFound, AccessDenied):
                session.rollback()
                return self._not_found(page)
            except (IllegalTransition, InvalidInput) as exc:
                session.rollback()
                return self._refused(session, page, user, number, action, form, exc)
        return redirect(request, _ticket_url(number), flash=flash)

    def _refused(
        self,
        session: Session,
        page: Page,
        user: AgencyUser,
        number: str,
        action: str,
        form: FormData,
        exc: Exception,
    ) -> Response:
        """The ticket page again, saying why the action was refused, with the input kept."""
        if isinstance(exc, PhotoRejected):
            message = page.t(exc.key)
        else:
            message = page.t("error.action", detail=str(exc))
        values = {name: _field(form, name) for name in ("note", "reason", "to", "public")}
        return self._show_ticket(
            session, page, user, number, status=400, error=message, failed=action, values=values
        )

    # --- Talk to a person ---

    async def handoffs(self, request: Request) -> Response:
        return await run_in_threadpool(self._handoffs, request)

    def _handoffs(self, request: Request, error: str | None = None, status: int = 200) -> Response:
        with self.sessions() as session:
            user = self._signed_in(session, request)
            if user is None:
                return to_login(request)
            page = self._page(request, user)
            if not is_staff(user):
                return self.renderer.error(page, 403, page.t("handoffs.staff_only"))
            queue = queue_view(session, page, self.profile.timezone)
        return self.renderer.render(
            page, "handoffs.html", here="/desk/handoffs", status=status, handoffs=queue, error=error
        )

    async def handoff_act(self, request: Request, handoff_id: int, action: str) -> Response:
        if action not in HANDOFF_ACTIONS:
            return self._not_found(self.renderer.page(request))
        if not await run_in_threadpool(self._has_session, request):
            return to_login(request)
        form = await request.form(max_files=0, max_fields=5)
        return await run_in_threadpool(self._handoff_act, request, handoff_id, action, form)

    def _handoff_act(
        self, request: Request, handoff_id: int, action: str, form: FormData
    ) -> Response:
        with self.sessions() as session:
            user = self._signed_in(session, request)
            if user is None:
                return to_login(request)
            page = self._page(request, user)
            if not security.same_token(page.csrf, form.get(security.CSRF_FIELD)):
                return self._forbidden(page)
            handoff = session.get(Handoff, handoff_id)
            if not is_staff(user) or handoff is None:
                return self._not_found(page)
            try:
                flash = HANDOFF_ACTIONS[action](session, user, handoff, form)
                session.commit()
            except ValueError as exc:
                session.rollback()
                message = page.t("error.handoff_reply", detail=str(exc))
                return self._handoffs(request, error=message, status=400)
        return redirect(request, "/desk/handoffs", flash=flash)

    # --- Photos, the stylesheet, anything else ---

    async def media_file(self, request: Request, name: str) -> Response:
        return await run_in_threadpool(self._media_file, request, name)

    def _media_file(self, request: Request, name: str) -> Response:
        """A stored photo, only for a signed-in user who may see a ticket that has it."""
        path = self.media.path_of(name)
        kind = MEDIA_TYPES.get(path.suffix) if path else None
        with self.sessions() as session:
            user = self._signed_in(session, request)
            allowed = bool(user and kind and may_see_photo(session=session, viewer=user, name=name))
        if not allowed or path is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        return FileResponse(path, media_type=kind, headers={"Cache-Control": "private, no-store"})

    async def stylesheet(self) -> Response:
        return Response(self.css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    async def unknown(self, request: Request) -> Response:
        return self._not_found(self.renderer.page(request))


def desk_router(
    *,
    sessions: sessionmaker[Session],
    profile: Profile,
    media: MediaStore,
    limits: WebLimits | None = None,
) -> APIRouter:
    """The desk's pages; the web app mounts them with prefix `/desk`."""
    desk = Desk(sessions, profile, media)
    throttle = LoginThrottle(limits or WebLimits(get_settings()))
    sign_in = SignIn(sessions, desk.renderer, throttle)
    router = APIRouter(route_class=DeskRoute)
    routes: list[tuple[str, Callable[..., Coroutine[Any, Any, Response]], str]] = [
        ("/login", sign_in.login_page, "GET"),
        ("/login", sign_in.login, "POST"),
        ("/logout", sign_in.logout, "POST"),
        ("/", desk.inbox, "GET"),
        ("/desk.css", desk.stylesheet, "GET"),
        ("/tickets/{number}", desk.ticket, "GET"),
        ("/tickets/{number}/{action}", desk.act, "POST"),
        ("/media/{name}", desk.media_file, "GET"),
        ("/handoffs", desk.handoffs, "GET"),
        ("/handoffs/{handoff_id:int}/{action}", desk.handoff_act, "POST"),
        ("/{rest:path}", desk.unknown, "GET"),
    ]
    for path, endpoint, method in routes:
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
    return router
