"""Filing for a caller, mounted at `/desk/hotline`: a 12345-hotline operator (or the
office's staff) types what the caller says, asks for the assistant's suggestion (Rasa's
ranking of complaint kinds, through the project's Rasa client, and the profile's places),
corrects it and files the ticket in the caller's name (`civic.hotline`).

The page has no script: "Suggest" and "File" are two buttons of one form, and every answer
renders the form again with what was typed. Nothing typed here is logged; the caller's
number is shown back only masked, and only to the operator who filed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.assistant import RasaClient
from bot.web._desk import security
from bot.web._desk.login import to_login
from bot.web._desk.render import Page, Renderer, redirect
from civic.agencies import user_for_session
from civic.city import Profile
from civic.errors import AccessDenied, NotFound, RasaUnavailable
from civic.hotline import (
    MAX_DESCRIPTION,
    MAX_PLACE,
    CallProblems,
    FiledCall,
    Suggestion,
    file_for_caller,
    filed_call,
    may_file,
    read_call,
    suggest,
)
from civic.i18n import LANGUAGES
from civic.routing import Gazetteer
from civic.settings import get_settings
from storage.models import AgencyUser

FIELDS = ("description", "place", "phone", "language", "category", "agency", "district")
HIDDEN = ("confidence",)
Endpoint = Callable[..., Coroutine[Any, Any, Response]]
# The operator is on the phone: a Rasa that does not answer soon is choosing by hand.
RASA_TIMEOUT = 10.0


def _values(form: FormData) -> dict[str, str]:
    out = {}
    for name in (*FIELDS, *HIDDEN):
        value = form.get(name)
        out[name] = value.strip() if isinstance(value, str) else ""
    return out


class HotlinePages:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        profile: Profile,
        rasa_url: str,
        rasa_token: str | None,
    ) -> None:
        self.sessions, self.profile = sessions, profile
        self.rasa_url, self.rasa_token = rasa_url, rasa_token
        self.renderer = Renderer(profile)
        self.gazetteer = Gazetteer(profile)

    def _user(self, session: Session, request: Request) -> AgencyUser | None:
        return user_for_session(session=session, token=security.session_token(request))

    def _page(self, request: Request, user: AgencyUser) -> Page:
        token = security.csrf_token(security.session_token(request))
        return self.renderer.page(request, user, token)

    def _form(
        self,
        page: Page,
        values: dict[str, str],
        *,
        status: int = 200,
        problems: dict[str, str] | None = None,
        notice: str | None = None,
        suggestion: Suggestion | None = None,
        filed: FiledCall | None = None,
    ) -> Response:
        labels = page.labels
        alternatives = [
            {
                "category": labels.category(c.category),
                "agency": labels.agency(c.agency),
                "percent": round(c.confidence * 100),
            }
            for c in (suggestion.alternatives if suggestion else [])
        ]
        return self.renderer.render(
            page,
            "hotline.html",
            here="/desk/hotline",
            status=status,
            values=values,
            problems={k: page.t(v) for k, v in (problems or {}).items()},
            notice=notice,
            suggested=suggestion is not None and suggestion.category is not None,
            alternatives=alternatives,
            filed=filed,
            filed_agency=labels.agency(filed.agency) if filed else "",
            filed_url=f"/desk/tickets/{quote(filed.number, safe='')}" if filed else "",
            choices={
                "language": [(code, page.t(f"hotline.language.{code}")) for code in LANGUAGES],
                "category": [(c, labels.category(c)) for c in self.profile.categories],
                "agency": [(a, labels.agency(a)) for a in self.profile.agencies],
                "district": [(d, labels.district(d)) for d in self.profile.districts],
            },
            max_description=MAX_DESCRIPTION,
            max_place=MAX_PLACE,
        )

    # --- The empty form, and the confirmation of a filing ---

    async def form(self, request: Request) -> Response:
        return await run_in_threadpool(self._blank, request)

    def _blank(self, request: Request) -> Response:
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None:
                return to_login(request)
            page = self._page(request, user)
            if not may_file(user):
                return self.renderer.error(page, 403, page.t("hotline.not_allowed"))
            filed = None
            number = request.query_params.get("filed", "")
            if number:
                try:
                    filed = filed_call(session=session, operator=user, number=number)
                except (NotFound, AccessDenied):
                    filed = None
            values = dict.fromkeys((*FIELDS, *HIDDEN), "") | {"language": "zh"}
            return self._form(page, values, filed=filed)

    # --- Suggest, or file ---

    async def submit(self, request: Request) -> Response:
        if not await run_in_threadpool(self._may_post, request):
            return to_login(request)
        form = await request.form(max_files=0, max_fields=20)
        values, action = _values(form), form.get("do")
        checked = await run_in_threadpool(self._check, request, form)
        if isinstance(checked, Response):
            return checked
        if action == "suggest":
            return await self._suggest(request, values)
        if action == "file":
            return await run_in_threadpool(self._file, request, values)
        return await run_in_threadpool(self._again, request, values, "hotline.problem.bad_action")

    def _may_post(self, request: Request) -> bool:
        with self.sessions() as session:
            return self._user(session, request) is not None

    def _check(self, request: Request, form: FormData) -> Response | None:
        """None when the user is signed in, may file and sent the form's CSRF token."""
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None:
                return to_login(request)
            page = self._page(request, user)
            if not security.same_token(page.csrf, form.get(security.CSRF_FIELD)):
                return self.renderer.error(page, 403, page.t("error.csrf"))
            if not may_file(user):
                return self.renderer.error(page, 403, page.t("hotline.not_allowed"))
        return None

    def _again(
        self,
        request: Request,
        values: dict[str, str],
        notice: str | None = None,
        problems: dict[str, str] | None = None,
        suggestion: Suggestion | None = None,
    ) -> Response:
        """The form again with what was typed (and why, when something is wrong)."""
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None:
                return to_login(request)
            page = self._page(request, user)
            wrong = bool(problems) or notice == "hotline.problem.bad_action"
            return self._form(
                page,
                values,
                status=400 if wrong else 200,
                problems=problems,
                notice=page.t(notice) if notice else None,
                suggestion=suggestion,
            )

    async def _suggest(self, request: Request, values: dict[str, str]) -> Response:
        if not values["description"]:
            problems = {"description": "hotline.problem.no_description"}
            return await run_in_threadpool(self._again, request, values, None, problems)
        parsed = await self._parse(values["description"][:MAX_DESCRIPTION])
        suggestion = suggest(
            self.profile,
            self.gazetteer,
            description=values["description"],
            place=values["place"],
            parsed=parsed,
        )
        values = values | {
            "category": suggestion.category or values["category"],
            "agency": (suggestion.agency or "") if suggestion.category else values["agency"],
            "district": suggestion.district or values["district"],
            "confidence": f"{suggestion.confidence:.4f}",
        }
        notice = "hotline.suggested" if parsed is not None else "hotline.rasa_down"
        return await run_in_threadpool(self._again, request, values, notice, None, suggestion)

    async def _parse(self, text: str) -> dict[str, Any] | None:
        """Rasa's parse of the description, or None when Rasa does not answer."""
        rasa = RasaClient(
            self.rasa_url, token=self.rasa_token, timeout=RASA_TIMEOUT, wait_for_start=0.0
        )
        try:
            return await rasa.parse(text)
        except RasaUnavailable:
            return None
        finally:
            await rasa.aclose()

    def _file(self, request: Request, values: dict[str, str]) -> Response:
        try:
            call = read_call(self.profile, values)
        except CallProblems as wrong:
            return self._again(request, values, "hotline.problem.summary", wrong.problems)
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None:
                return to_login(request)
            filed = file_for_caller(session=session, profile=self.profile, operator=user, call=call)
            session.commit()
        flash = "flash.hotline_texted" if filed.phone else "flash.hotline_no_updates"
        return redirect(request, f"/desk/hotline?filed={quote(filed.number, safe='')}", flash)


def hotline_router(
    *,
    sessions: sessionmaker[Session],
    profile: Profile,
    rasa_url: str | None = None,
    rasa_token: str | None = None,
) -> APIRouter:
    """Mounted with prefix `/desk`, before the desk's own router (it ends in a catch-all).
    Rasa's address and token default to the settings'."""
    from bot.web._desk.router import DeskRoute

    settings = get_settings()
    pages = HotlinePages(
        sessions,
        profile,
        rasa_url or settings.rasa_url,
        rasa_token if rasa_url else settings.rasa_auth_token,
    )
    router = APIRouter(route_class=DeskRoute)
    routes: list[tuple[str, Endpoint, str]] = [
        ("/hotline", pages.form, "GET"),
        ("/hotline", pages.submit, "POST"),
    ]
    for path, endpoint, method in routes:
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
    return router
