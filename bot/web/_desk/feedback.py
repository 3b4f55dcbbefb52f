"""Citizens' suggestions and praise on the desk, mounted at `/desk/suggestions` and
`/desk/praise`.

A suggestion reaches the agency it is routed to, with no deadline: its desk lists them
newest first and someone there marks each one read. The evaluation office sees every
agency's, and routes those that named no agency. The text is the citizen's own words, so
only the agency it is routed to and the office see it (escaped, like everything here).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.web._desk import security
from bot.web._desk.evaluation import LEVEL_LABELS
from bot.web._desk.filters import BadFilter
from bot.web._desk.login import to_login
from bot.web._desk.render import HTML_LANG, Page, Renderer, redirect
from civic.agencies import user_for_session
from civic.city import Profile
from civic.errors import InvalidInput, NotFound
from civic.feedback import UNROUTED, feedback_for, mark_read, may_mark_read, route_suggestion
from storage.models import AgencyUser, Feedback

LIMIT = 100
ACTIONS = ("read", "route")
Endpoint = Callable[..., Coroutine[Any, Any, Response]]


@dataclass(frozen=True)
class ListFilters:
    unread: bool = False
    agency: str | None = None  # an agency's code, or UNROUTED

    def query(self) -> str:
        values = {"show": "unread" if self.unread else "", "agency": self.agency or ""}
        return urlencode({k: v for k, v in values.items() if v})


def parse_list_filters(params: Mapping[str, str], profile: Profile) -> ListFilters:
    show = params.get("show", "").strip()
    agency = params.get("agency", "").strip()
    if show not in ("", "unread"):
        raise BadFilter("error.bad_show", show)
    if agency and agency != UNROUTED and agency not in profile.agencies:
        raise BadFilter("error.bad_agency", agency)
    return ListFilters(unread=show == "unread", agency=agency or None)


def _row(page: Page, viewer: AgencyUser, item: Feedback, counted: Any) -> dict[str, Any]:
    """What one line of either list shows; the level only matters for praise."""
    level = item.assurance if item.assurance in LEVEL_LABELS else "anonymous"
    return {
        "id": item.id,
        "created": page.labels.time(item.created_at),
        "district": page.labels.district(item.district) if item.district else "—",
        "agency": page.labels.agency(item.agency) if item.agency else page.t("feedback.unrouted"),
        "agency_code": item.agency or "",
        "text": item.text,
        "lang": HTML_LANG.get(item.language, ""),
        "read": page.labels.time(item.read_at) if item.read_at else None,
        "can_mark": item.read_at is None and may_mark_read(viewer, item),
        "level": page.t(LEVEL_LABELS[level]),
        "counted": level in counted,
    }


class FeedbackPages:
    def __init__(self, sessions: sessionmaker[Session], profile: Profile) -> None:
        self.sessions, self.profile = sessions, profile
        self.renderer = Renderer(profile)

    def _user(self, session: Session, request: Request) -> AgencyUser | None:
        return user_for_session(session=session, token=security.session_token(request))

    def _page(self, request: Request, user: AgencyUser) -> Page:
        token = security.csrf_token(security.session_token(request))
        return self.renderer.page(request, user, token)

    def _missing(self, page: Page) -> Response:
        return self.renderer.error(page, 404, page.t("feedback.not_found"))

    # --- Suggestions ---

    async def suggestions(self, request: Request) -> Response:
        return await run_in_threadpool(self._suggestions, request)

    def _suggestions(self, request: Request) -> Response:
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None:
                return to_login(request)
            page = self._page(request, user)
            try:
                filters = parse_list_filters(request.query_params, self.profile)
            except BadFilter as exc:
                detail = page.t(exc.key, value=exc.value)
                return self.renderer.error(page, 400, page.t("error.bad_filter", detail=detail))
            return self._listing(session, page, user, filters)

    def _listing(
        self,
        session: Session,
        page: Page,
        user: AgencyUser,
        filters: ListFilters,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        found = feedback_for(
            session=session,
            viewer=user,
            kind="suggestion",
            agency=filters.agency,
            unread=filters.unread,
            limit=LIMIT,
        )
        query = filters.query()
        counted = self.profile.integrity.counted_levels
        agencies = [(code, page.labels.agency(code)) for code in self.profile.agencies]
        return self.renderer.render(
            page,
            "suggestions.html",
            here=f"/desk/suggestions?{query}" if query else "/desk/suggestions",
            status=status,
            error=error,
            rows=[_row(page, user, item, counted) for item in found],
            limited=len(found) == LIMIT,
            limit=LIMIT,
            filters=filters,
            query=query,
            agencies=agencies,
            unrouted=UNROUTED,
        )

    async def act(self, request: Request, feedback_id: int, action: str) -> Response:
        if action not in ACTIONS:
            return self._missing(self.renderer.page(request))
        if not await run_in_threadpool(self._has_session, request):
            return to_login(request)  # before the body is read
        form = await request.form(max_files=0, max_fields=5)
        return await run_in_threadpool(self._act, request, feedback_id, action, form)

    def _has_session(self, request: Request) -> bool:
        with self.sessions() as session:
            return self._user(session, request) is not None

    def _act(self, request: Request, feedback_id: int, action: str, form: FormData) -> Response:
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None:
                return to_login(request)
            page = self._page(request, user)
            if not security.same_token(page.csrf, form.get(security.CSRF_FIELD)):
                return self.renderer.error(page, 403, page.t("error.csrf"))
            filters = self._back(form)
            agency = str(form.get("agency") or "").strip()
            try:
                if action == "read":
                    mark_read(session=session, viewer=user, feedback_id=feedback_id)
                else:
                    route_suggestion(
                        session=session,
                        viewer=user,
                        feedback_id=feedback_id,
                        agency=agency,
                        known_agencies=set(self.profile.agencies),
                    )
                session.commit()
            except NotFound:
                session.rollback()
                return self._missing(page)
            except InvalidInput:
                session.rollback()
                key = "feedback.unknown_agency" if agency else "feedback.choose_agency"
                message = page.t(key, value=agency[:60])
                return self._listing(session, page, user, filters, error=message, status=400)
        query = filters.query()
        url = f"/desk/suggestions?{query}" if query else "/desk/suggestions"
        return redirect(request, url, flash=f"flash.suggestion_{action}")

    def _back(self, form: FormData) -> ListFilters:
        """The filters the form was posted from, to return to the same list."""
        try:
            params = dict(parse_qsl(str(form.get("back") or "")))
            return parse_list_filters(params, self.profile)
        except BadFilter:
            return ListFilters()

    # --- Praise ---

    async def praise(self, request: Request) -> Response:
        return await run_in_threadpool(self._praise, request)

    def _praise(self, request: Request) -> Response:
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None:
                return to_login(request)
            page = self._page(request, user)
            found = feedback_for(session=session, viewer=user, kind="praise", limit=LIMIT)
            counted = self.profile.integrity.counted_levels
            levels = ", ".join(page.t(LEVEL_LABELS[k]) for k in LEVEL_LABELS if k in counted)
            return self.renderer.render(
                page,
                "praise.html",
                here="/desk/praise",
                rows=[_row(page, user, item, counted) for item in found],
                limited=len(found) == LIMIT,
                limit=LIMIT,
                levels=levels,
            )


def feedback_router(*, sessions: sessionmaker[Session], profile: Profile) -> APIRouter:
    """Mounted with prefix `/desk`, before the desk's own router (it ends in a catch-all)."""
    from bot.web._desk.router import DeskRoute

    pages = FeedbackPages(sessions, profile)
    router = APIRouter(route_class=DeskRoute)
    routes: list[tuple[str, Endpoint, str]] = [
        ("/suggestions", pages.suggestions, "GET"),
        ("/suggestions/{feedback_id:int}/{action}", pages.act, "POST"),
        ("/praise", pages.praise, "GET"),
    ]
    for path, endpoint, method in routes:
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
    return router
