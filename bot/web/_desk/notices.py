"""The desk's improvement notices, mounted at `/desk/notices`.

The evaluation office sees the rules' proposals and every notice, issues or dismisses a
proposal, and verifies or returns a reported rectification. An agency's people see their
agency's notices once issued; its coordinator answers with a commitment and milestones,
reports progress and rectification; its supervisors and officers read. Everyone who sees
a notice sees its evidence and its history; the sample comments only the office and the
agency's coordinator. `civic.notices` decides who may take which step: a refusal is shown
with its own text (403 when the user may not, 409 when the notice is past that step or
closed, 400 when what was typed is wrong, with the form as it was typed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.web._desk import security
from bot.web._desk.login import to_login
from bot.web._desk.notice_rows import (
    evidence_view,
    history_rows,
    milestone_rows,
    notice_row,
    sample_texts,
    status_label,
)
from bot.web._desk.render import Page, Renderer, redirect
from civic.agencies import user_for_session
from civic.city import Profile
from civic.errors import ProfileError
from civic.i18n import localised, t
from civic.notices import (
    COMMITTED,
    ISSUED,
    MAX_MILESTONES,
    PROPOSED,
    RECTIFIED,
    MilestoneInput,
    NoticeClosed,
    NoticeRefused,
    NoticeRules,
    NotPermitted,
    commit,
    dismiss,
    is_coordinator_of,
    is_office,
    issue,
    list_notices,
    load_notice_rules,
    may_read,
    notice_rules_path,
    report_progress,
    report_rectified,
    return_rectification,
    verify,
)
from civic.opinion import Codebook, codebook_path, load_codebook
from storage.models import AgencyUser, Notice, utcnow

log = logging.getLogger(__name__)
Endpoint = Callable[..., Coroutine[Any, Any, Response]]
HOME = "/desk/notices"
DEFAULT_ROWS = 3
# The form fields of each step, given back after a refusal so nothing typed is lost.
FIELDS = {
    "issue": ("problem_zh", "problem_en", "response_due"),
    "dismiss": ("reason_zh", "reason_en"),
    "commit": (
        "commitment_zh",
        "commitment_en",
        *(f"m{i}_{part}" for i in range(1, MAX_MILESTONES + 1) for part in ("zh", "en", "due")),
    ),
    "progress": ("note_zh", "note_en"),
    "rectified": ("note_zh", "note_en"),
    "verify": ("note_zh", "note_en"),
    "return": ("reason_zh", "reason_en"),
}


class BadForm(Exception):
    """A field the desk reads itself (a date, a milestone) is not what it should be."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Reader:
    """Who is on the page, in which language, with the profile's codebook and rules."""

    page: Page
    user: AgencyUser
    codebook: Codebook
    rules: NoticeRules


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _rows(asked: str) -> int:
    return min(max(int(asked), 1), MAX_MILESTONES) if asked.isdigit() else DEFAULT_ROWS


class NoticePages:
    def __init__(self, sessions: sessionmaker[Session], profile: Profile) -> None:
        self.sessions, self.profile = sessions, profile
        self.renderer = Renderer(profile)

    def _today(self) -> date:
        return utcnow().astimezone(ZoneInfo(self.profile.timezone)).date()

    def _open(self, session: Session, request: Request) -> Reader | Response:
        user = user_for_session(session=session, token=security.session_token(request))
        if user is None:
            return to_login(request)
        token = security.session_token(request)
        page = self.renderer.page(request, user, security.csrf_token(token))
        try:
            codebook = load_codebook(codebook_path(self.profile), self.profile)
            rules = load_notice_rules(notice_rules_path(self.profile), self.profile, codebook)
        except ProfileError:
            log.exception("the notice rules cannot be loaded")
            return self.renderer.error(page, 503, page.t("notices.rules_broken"))
        return Reader(page, user, codebook, rules)

    # --- The list ---

    async def index(self, request: Request) -> Response:
        return await run_in_threadpool(self._index, request)

    def _index(self, request: Request) -> Response:
        with self.sessions() as session:
            reader = self._open(session, request)
            if isinstance(reader, Response):
                return reader
            page, office = reader.page, is_office(reader.user)
            found = list_notices(session=session, user=reader.user)
            rows = [notice_row(page, n) for n in found]
            agency = reader.user.agency
            return self.renderer.render(
                page,
                "notices.html",
                here=HOME,
                office=office,
                intro=page.t("notices.intro_office")
                if office
                else page.t("notices.intro_agency", agency=page.labels.agency(agency)),
                proposals=[r for r, n in zip(rows, found, strict=True) if n.status == PROPOSED],
                rows=[r for r, n in zip(rows, found, strict=True) if n.status != PROPOSED],
            )

    # --- One notice ---

    async def detail(self, request: Request, notice_id: int) -> Response:
        return await run_in_threadpool(self._detail, request, notice_id)

    def _detail(self, request: Request, notice_id: int) -> Response:
        with self.sessions() as session:
            reader = self._open(session, request)
            if isinstance(reader, Response):
                return reader
            notice = session.get(Notice, notice_id)
            if notice is None or not may_read(reader.user, notice):
                return self.renderer.error(reader.page, 404, reader.page.t("notices.not_found"))
            rows = _rows(request.query_params.get("rows", ""))
            return self._page(session, reader, notice, rows=rows)

    def _page(
        self,
        session: Session,
        reader: Reader,
        notice: Notice,
        *,
        status: int = 200,
        error: str | None = None,
        typed: dict[str, dict[str, Any]] | None = None,
        rows: int = DEFAULT_ROWS,
    ) -> Response:
        page, user, zone = reader.page, reader.user, self.profile.timezone
        office = is_office(user)
        coordinator = is_coordinator_of(user, notice.agency)
        evidence = evidence_view(page, notice, zone, samples=office or coordinator)
        if evidence["samples"] is not None:
            evidence["samples"] = sample_texts(session, evidence["samples"])
        due = self._today() + timedelta(days=reader.rules.response_days)
        return self.renderer.render(
            page,
            "notice.html",
            here=f"{HOME}/{notice.id}",
            status=status,
            error=error,
            typed=typed or {"issue": {"response_due": due.isoformat()}},
            notice=notice_row(page, notice),
            evidence=evidence,
            problem=localised({"zh": notice.problem_zh, "en": notice.problem_en}, page.lang),
            commitment=localised(
                {"zh": notice.commitment_zh, "en": notice.commitment_en}, page.lang
            ),
            milestones=milestone_rows(page, notice, zone),
            history=history_rows(session, page, notice, zone),
            forms=_forms(notice.status, office, coordinator),
            rows=rows,
            more_rows=min(rows + 2, MAX_MILESTONES),
            max_rows=MAX_MILESTONES,
            read_only=not (office or coordinator),
        )

    # --- The steps ---

    async def step(self, request: Request, notice_id: int, step: str) -> Response:
        if step not in FIELDS:
            page = self.renderer.page(request)
            return self.renderer.error(page, 404, page.t("notices.not_found"))
        if not await run_in_threadpool(self._has_session, request):
            return to_login(request)
        form = await request.form(max_files=0, max_fields=len(FIELDS[step]) + 20)
        return await run_in_threadpool(self._step, request, form, notice_id, step)

    def _has_session(self, request: Request) -> bool:
        with self.sessions() as session:
            token = security.session_token(request)
            return user_for_session(session=session, token=token) is not None

    def _step(self, request: Request, form: FormData, notice_id: int, step: str) -> Response:
        typed: dict[str, Any] = {name: _field(form, name) for name in FIELDS[step]}
        typed["done"] = [value for value in form.getlist("done") if isinstance(value, str)]
        rows = _rows(_field(form, "rows"))
        with self.sessions() as session:
            reader = self._open(session, request)
            if isinstance(reader, Response):
                return reader
            page = reader.page
            notice = session.get(Notice, notice_id)
            if notice is None:
                return self.renderer.error(page, 404, page.t("notices.not_found"))
            if not security.same_token(page.csrf, form.get(security.CSRF_FIELD)):
                if not may_read(reader.user, notice):
                    return self.renderer.error(page, 403, page.t("error.csrf"))
                message = page.t("error.csrf_kept")
                kept = {step: typed}
                return self._page(
                    session, reader, notice, status=403, error=message, typed=kept, rows=rows
                )
            try:
                self._take(session, reader, notice, step, typed)
                session.commit()
            except (NotPermitted, NoticeRefused, BadForm) as exc:
                session.rollback()
                status, message = _refusal(page, exc)
                if status == 403 or not may_read(reader.user, notice):
                    return self.renderer.error(page, status, message)
                kept = {step: typed}
                return self._page(
                    session, reader, notice, status=status, error=message, typed=kept, rows=rows
                )
        return redirect(request, f"{HOME}/{notice_id}", flash=f"flash.notice_{_FLASH[step]}")

    def _take(
        self, session: Session, reader: Reader, notice: Notice, step: str, typed: dict[str, Any]
    ) -> None:
        """Take the step with what was typed; `civic.notices` checks it and may refuse."""
        user, today, page = reader.user, self._today(), reader.page
        texts = {name: value for name, value in typed.items() if isinstance(value, str)}
        if step == "issue":
            due = _date(page, texts["response_due"])
            issue(
                session=session,
                user=user,
                notice=notice,
                problem_zh=texts["problem_zh"],
                problem_en=texts["problem_en"],
                response_due=due,
                today=today,
            )
        elif step == "dismiss":
            dismiss(session=session, user=user, notice=notice, **_pair(texts, "reason"))
        elif step == "commit":
            commit(
                session=session,
                user=user,
                notice=notice,
                commitment_zh=texts["commitment_zh"],
                commitment_en=texts["commitment_en"],
                milestones=_milestones(page, texts),
                today=today,
            )
        elif step == "progress":
            done = [_milestone_id(page, value) for value in typed["done"]]
            report_progress(
                session=session, user=user, notice=notice, done=done, **_pair(texts, "note")
            )
        elif step == "rectified":
            report_rectified(session=session, user=user, notice=notice, **_pair(texts, "note"))
        elif step == "verify":
            verify(session=session, user=user, notice=notice, **_pair(texts, "note"))
        else:
            return_rectification(
                session=session, user=user, notice=notice, **_pair(texts, "reason")
            )


_FLASH = {
    "issue": "issued",
    "dismiss": "dismissed",
    "commit": "committed",
    "progress": "progress",
    "rectified": "rectified",
    "verify": "verified",
    "return": "returned",
}


def _forms(status: str, office: bool, coordinator: bool) -> set[str]:
    """The steps the reader may take now, as forms on the page."""
    if office:
        return {PROPOSED: {"issue", "dismiss"}, RECTIFIED: {"verify", "return"}}.get(status, set())
    if coordinator:
        return {ISSUED: {"commit"}, COMMITTED: {"progress", "rectified"}}.get(status, set())
    return set()


def _pair(texts: dict[str, str], name: str) -> dict[str, str]:
    return {f"{name}_zh": texts[f"{name}_zh"], f"{name}_en": texts[f"{name}_en"]}


def _date(page: Page, text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadForm(page.t("notices.bad_date", value=text.strip()[:20])) from None


def _milestone_id(page: Page, text: str) -> int:
    if not text.isdigit():
        raise BadForm(page.t("notices.bad_milestone"))
    return int(text)


def _milestones(page: Page, texts: dict[str, str]) -> list[MilestoneInput]:
    """The milestone rows with anything typed in them, in order; empty rows are left out."""
    found = []
    for i in range(1, MAX_MILESTONES + 1):
        row = [texts[f"m{i}_{part}"] for part in ("zh", "en", "due")]
        if any(value.strip() for value in row):
            found.append(MilestoneInput(row[0], row[1], _date(page, row[2])))
    return found


def _refusal(page: Page, exc: NotPermitted | NoticeRefused | BadForm) -> tuple[int, str]:
    """The status and the message, in the reader's language, naming an agency by its name
    and a status by its label."""
    if isinstance(exc, BadForm):
        return 400, exc.message
    params = dict(exc.params)
    if isinstance(params.get("agency"), str):
        params["agency"] = page.labels.agency(params["agency"])
    if isinstance(params.get("status"), str):
        params["status"] = status_label(params["status"], page.lang)
    message = t(f"notices.error.{exc.key}", page.lang, **params)
    if isinstance(exc, NotPermitted):
        return 403, message
    stage = isinstance(exc, NoticeClosed) or exc.key == "wrong_status"
    return (409 if stage else 400), message


def notices_router(*, sessions: sessionmaker[Session], profile: Profile) -> APIRouter:
    """Mounted with prefix `/desk`, before the desk's own router (it ends in a catch-all)."""
    from bot.web._desk.router import DeskRoute

    pages = NoticePages(sessions, profile)
    router = APIRouter(route_class=DeskRoute)
    routes: list[tuple[str, Endpoint, str]] = [
        ("/notices", pages.index, "GET"),
        ("/notices/{notice_id:int}", pages.detail, "GET"),
        ("/notices/{notice_id:int}/{step}", pages.step, "POST"),
    ]
    for path, endpoint, method in routes:
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
    return router
