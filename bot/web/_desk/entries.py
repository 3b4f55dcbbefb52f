"""The desk's pages for the evaluation's entered figures, mounted at
`/desk/evaluation/entries`, `/desk/evaluation/adjustments` and `/desk/evaluation/audit`.

An agency's coordinator enters its own indicators' monthly values and sees only its own;
the evaluation office enters the leaders' evaluation and the bonus and penalty items,
approves what someone else entered and withdraws points. `civic.evaluation` decides who
may do what: a refusal is shown with its own text, and the form comes back with what was
typed (403 when the user may not, 400 when the figure is wrong).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.web._desk import security
from bot.web._desk.entry_rows import (
    ADJUSTMENT_FIELDS,
    INDICATOR_FIELDS,
    BadYear,
    Names,
    adjustment_row,
    audit_row,
    choices,
    entry_row,
    field,
    is_coordinator,
    is_office,
    number,
    pick_year,
)
from bot.web._desk.login import to_login
from bot.web._desk.render import Page, Renderer, redirect
from civic.agencies import user_for_session
from civic.city import Profile
from civic.evaluation import (
    EntryRefused,
    NotPermitted,
    SchemeError,
    adjustments,
    approve_adjustment,
    approve_indicator_value,
    audit_trail,
    enter_adjustment,
    enter_indicator_value,
    indicator_entries,
    load_scheme,
    scheme_path,
    withdraw_adjustment,
)
from civic.i18n import t
from storage.models import AgencyUser, EvaluationAdjustment, IndicatorEntry, utcnow

log = logging.getLogger(__name__)
Endpoint = Callable[..., Coroutine[Any, Any, Response]]
VALUES, POINTS, AUDIT = (
    "/desk/evaluation/entries",
    "/desk/evaluation/adjustments",
    "/desk/evaluation/audit",
)


@dataclass(frozen=True)
class Reader:
    """Who is on the page, in which language, for which year's scheme."""

    page: Page
    user: AgencyUser
    names: Names

    @property
    def year(self) -> int:
        return self.names.scheme.year

    @property
    def office(self) -> bool:
        return is_office(self.user)


class EntryPages:
    def __init__(self, sessions: sessionmaker[Session], profile: Profile) -> None:
        self.sessions, self.profile = sessions, profile
        self.renderer = Renderer(profile)

    def _open(
        self, session: Session, request: Request, year: str, *, office_only: bool = False
    ) -> Reader | Response:
        """The reader, or the response that turns them away: the login, 403 for a user
        these pages are not for, 400/404 for a year without a scheme."""
        user = user_for_session(session=session, token=security.session_token(request))
        if user is None:
            return to_login(request)
        page = self.renderer.page(
            request, user, security.csrf_token(security.session_token(request))
        )
        if not (is_office(user) or (is_coordinator(user) and not office_only)):
            key = "entries.office_only" if office_only else "entries.not_for_you"
            return self.renderer.error(page, 403, page.t(key))
        try:
            chosen = pick_year(self.profile, year.strip(), utcnow())
            scheme = load_scheme(scheme_path(self.profile, chosen), self.profile)
        except BadYear as exc:
            status = 404 if exc.key == "entries.no_scheme" else 400
            return self.renderer.error(page, status, page.t(exc.key, value=exc.value))
        except SchemeError:
            log.exception("the evaluation scheme of %s cannot be loaded", chosen)
            return self.renderer.error(page, 404, page.t("entries.scheme_broken", value=chosen))
        return Reader(page, user, Names(scheme, page))

    async def _posted(
        self, request: Request, handle: Callable[..., Response], *args: Any
    ) -> Response:
        """A POST: the login is checked before the body is read."""
        if not await run_in_threadpool(self._has_session, request):
            return to_login(request)
        form = await request.form(max_files=0, max_fields=12)
        return await run_in_threadpool(handle, request, form, *args)

    def _has_session(self, request: Request) -> bool:
        with self.sessions() as session:
            token = security.session_token(request)
            return user_for_session(session=session, token=token) is not None

    # --- Each agency's indicators ---

    async def values(self, request: Request) -> Response:
        return await run_in_threadpool(self._values, request)

    def _values(self, request: Request) -> Response:
        with self.sessions() as session:
            reader = self._open(session, request, request.query_params.get("year", ""))
            if isinstance(reader, Response):
                return reader
            return self._values_page(session, reader)

    def _values_page(
        self,
        session: Session,
        reader: Reader,
        *,
        status: int = 200,
        error: str | None = None,
        values: dict[str, str] | None = None,
    ) -> Response:
        agency = None if reader.office else reader.user.agency
        found = indicator_entries(session=session, year=reader.year, agency=agency)
        now = utcnow().astimezone(ZoneInfo(self.profile.timezone)).strftime("%Y-%m")
        default_period = now if now.startswith(str(reader.year)) else f"{reader.year}-12"
        return self.renderer.render(
            reader.page,
            "entries.html",
            here=f"{VALUES}?year={reader.year}",
            status=status,
            error=error,
            values=values or {"period": default_period},
            year=reader.year,
            office=reader.office,
            section="values",
            agency_name=reader.page.labels.agency(agency) if agency else "",
            choices=choices(reader.names, reader.user),
            rows=[entry_row(reader.names, e) for e in found],
        )

    async def enter_value(self, request: Request) -> Response:
        return await self._posted(request, self._enter_value)

    def _enter_value(self, request: Request, form: FormData) -> Response:
        typed = {name: field(form, name) for name in INDICATOR_FIELDS}
        with self.sessions() as session:
            reader = self._open(session, request, field(form, "year"))
            if isinstance(reader, Response):
                return reader
            if not security.same_token(reader.page.csrf, form.get(security.CSRF_FIELD)):
                message = reader.page.t("error.csrf_kept")
                return self._values_page(session, reader, status=403, error=message, values=typed)
            if not typed["agency"]:
                message = reader.page.t("entries.choose_agency")
                return self._values_page(session, reader, status=400, error=message, values=typed)
            try:
                enter_indicator_value(
                    session=session,
                    scheme=reader.names.scheme,
                    user=reader.user,
                    agency=typed["agency"],
                    indicator=typed["indicator"],
                    period=typed["period"],
                    value=number(typed["value"]),
                    note=typed["note"],
                )
                session.commit()
            except (EntryRefused, NotPermitted) as exc:
                session.rollback()
                return self._values_page(session, reader, **_refusal(reader, exc), values=typed)
        return redirect(request, f"{VALUES}?year={reader.year}", flash="flash.entry_value")

    # --- The evaluation office: points, approvals, withdrawals ---

    async def points(self, request: Request) -> Response:
        return await run_in_threadpool(self._points, request)

    def _points(self, request: Request) -> Response:
        with self.sessions() as session:
            reader = self._open(
                session, request, request.query_params.get("year", ""), office_only=True
            )
            if isinstance(reader, Response):
                return reader
            return self._points_page(session, reader)

    def _points_page(
        self,
        session: Session,
        reader: Reader,
        *,
        status: int = 200,
        error: str | None = None,
        values: dict[str, str] | None = None,
    ) -> Response:
        names = reader.names
        rows = [adjustment_row(names, a) for a in adjustments(session=session, year=reader.year)]
        entries = indicator_entries(session=session, year=reader.year)
        return self.renderer.render(
            reader.page,
            "adjustments.html",
            here=f"{POINTS}?year={reader.year}",
            status=status,
            error=error,
            values=values or {},
            year=reader.year,
            section="points",
            choices=choices(names, reader.user),
            me=reader.user.username,
            pending_values=[entry_row(names, e) for e in entries if e.approved_at is None],
            pending_points=[r for r in rows if r["pending"]],
            rows=rows,
        )

    async def enter_points(self, request: Request) -> Response:
        return await self._posted(request, self._enter_points)

    def _enter_points(self, request: Request, form: FormData) -> Response:
        typed = {name: field(form, name) for name in ADJUSTMENT_FIELDS}
        kind, _, item = typed["what"].partition(":")
        with self.sessions() as session:
            reader = self._open(session, request, field(form, "year"), office_only=True)
            if isinstance(reader, Response):
                return reader
            if not security.same_token(reader.page.csrf, form.get(security.CSRF_FIELD)):
                message = reader.page.t("error.csrf_kept")
                return self._points_page(session, reader, status=403, error=message, values=typed)
            if not typed["agency"]:
                message = reader.page.t("entries.choose_agency")
                return self._points_page(session, reader, status=400, error=message, values=typed)
            try:
                enter_adjustment(
                    session=session,
                    scheme=reader.names.scheme,
                    user=reader.user,
                    agency=typed["agency"],
                    kind=kind,
                    item=item or None,
                    points=number(typed["points"]),
                    evidence=typed["evidence"],
                )
                session.commit()
            except (EntryRefused, NotPermitted) as exc:
                session.rollback()
                return self._points_page(session, reader, **_refusal(reader, exc), values=typed)
        return redirect(request, f"{POINTS}?year={reader.year}", flash="flash.entry_points")

    async def approve(self, request: Request, subject: str, row_id: int) -> Response:
        if subject not in ("entries", "adjustments"):
            return self._missing(request)
        return await self._posted(request, self._decide, subject, row_id, "approve")

    async def withdraw(self, request: Request, row_id: int) -> Response:
        return await self._posted(request, self._decide, "adjustments", row_id, "withdraw")

    def _decide(
        self, request: Request, form: FormData, subject: str, row_id: int, action: str
    ) -> Response:
        """Approve a value or points, or withdraw points; a refusal shows the office's
        page with the service's reason."""
        with self.sessions() as session:
            reader = self._open(session, request, field(form, "year"))
            if isinstance(reader, Response):
                return reader
            page = reader.page
            if not security.same_token(page.csrf, form.get(security.CSRF_FIELD)):
                return self.renderer.error(page, 403, page.t("error.csrf"))
            model = IndicatorEntry if subject == "entries" else EvaluationAdjustment
            row: Any = session.get(model, row_id)
            if row is None:
                return self.renderer.error(page, 404, page.t("entries.not_found"))
            try:
                if action == "withdraw":
                    reason = field(form, "reason")
                    withdraw_adjustment(
                        session=session, user=reader.user, adjustment=row, reason=reason
                    )
                elif subject == "entries":
                    approve_indicator_value(session=session, user=reader.user, entry=row)
                else:
                    approve_adjustment(session=session, user=reader.user, adjustment=row)
                session.commit()
            except (EntryRefused, NotPermitted) as exc:
                session.rollback()
                refused = _refusal(reader, exc)
                if not reader.office:
                    return self.renderer.error(page, refused["status"], refused["error"])
                return self._points_page(session, reader, **refused)
        flash = "flash.entry_withdrawn" if action == "withdraw" else "flash.entry_approved"
        return redirect(request, f"{POINTS}?year={reader.year}", flash=flash)

    # --- The audit log ---

    async def audit(self, request: Request) -> Response:
        return await run_in_threadpool(self._audit, request)

    def _audit(self, request: Request) -> Response:
        with self.sessions() as session:
            reader = self._open(session, request, request.query_params.get("year", ""))
            if isinstance(reader, Response):
                return reader
            agency = None if reader.office else reader.user.agency
            found = audit_trail(session=session, agency=agency)
            return self.renderer.render(
                reader.page,
                "audit.html",
                here=f"{AUDIT}?year={reader.year}",
                year=reader.year,
                office=reader.office,
                section="audit",
                rows=[audit_row(reader.names, row) for row in found],
            )

    def _missing(self, request: Request) -> Response:
        page = self.renderer.page(request)
        return self.renderer.error(page, 404, page.t("entries.not_found"))


def _refusal(reader: Reader, exc: EntryRefused | NotPermitted) -> dict[str, Any]:
    """The status and the message of the service's refusal, in the reader's language,
    naming an agency by its name rather than its code."""
    params = dict(exc.params)
    if isinstance(params.get("agency"), str):
        params["agency"] = reader.page.labels.agency(params["agency"])
    message = t(f"evaluation.error.{exc.key}", reader.page.lang, **params)
    return {"status": 403 if isinstance(exc, NotPermitted) else 400, "error": message}


def entries_router(*, sessions: sessionmaker[Session], profile: Profile) -> APIRouter:
    """Mounted with prefix `/desk`, before the desk's own router (it ends in a catch-all)."""
    from bot.web._desk.router import DeskRoute

    pages = EntryPages(sessions, profile)
    router = APIRouter(route_class=DeskRoute)
    routes: list[tuple[str, Endpoint, str]] = [
        ("/evaluation/entries", pages.values, "GET"),
        ("/evaluation/entries", pages.enter_value, "POST"),
        ("/evaluation/adjustments", pages.points, "GET"),
        ("/evaluation/adjustments", pages.enter_points, "POST"),
        ("/evaluation/{subject}/{row_id:int}/approve", pages.approve, "POST"),
        ("/evaluation/adjustments/{row_id:int}/withdraw", pages.withdraw, "POST"),
        ("/evaluation/audit", pages.audit, "GET"),
    ]
    for path, endpoint, method in routes:
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
    return router
