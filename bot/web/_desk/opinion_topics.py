"""The desk's page of opinion topics, mounted at `/desk/opinion/topics`, for the evaluation
office only (anyone else gets 403): run a grouping of the uncoded comments (a year, a
number of topics), read the latest run's topics with their size, top terms in both
languages and sample comments, and accept, rename, merge or split each.

`civic.opinion` does the work and refuses what it cannot do (TopicError); the page shows
the refusal with 400, after rolling back, so nothing is half written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.web._desk import security
from bot.web._desk.entry_rows import field, is_office
from bot.web._desk.login import to_login
from bot.web._desk.render import Page, Renderer, redirect
from civic.agencies import user_for_session
from civic.city import Profile
from civic.opinion import (
    Codebook,
    CodebookError,
    TopicError,
    TopicFilter,
    accept_topic,
    codebook_path,
    group_topics,
    latest_run,
    load_codebook,
    merge_topics,
    rename_topic,
    run_topics,
    sample_comments,
    split_topic,
    topic_terms,
    uncoded_count,
)
from storage.models import AgencyUser, Topic, TopicRun

log = logging.getLogger(__name__)
Endpoint = Callable[..., Coroutine[Any, Any, Response]]
TOPICS = "/desk/opinion/topics"
ACTIONS = ("accept", "rename", "merge", "split")


@dataclass(frozen=True)
class Reader:
    page: Page
    user: AgencyUser


class BadForm(Exception):
    """A field of the form is not what the page asked for; `key` names its text."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class TopicPages:
    def __init__(self, sessions: sessionmaker[Session], profile: Profile) -> None:
        self.sessions, self.profile = sessions, profile
        self.renderer = Renderer(profile)
        self._codebook: Codebook | None = None

    @property
    def codebook(self) -> Codebook:
        """The city's codebook, loaded on first use (`_open` has checked it loads)."""
        if self._codebook is None:
            self._codebook = load_codebook(codebook_path(self.profile), self.profile)
        return self._codebook

    def _open(self, session: Session, request: Request) -> Reader | Response:
        """The reader, or the login, or 403 for anyone but the evaluation office."""
        user = user_for_session(session=session, token=security.session_token(request))
        if user is None:
            return to_login(request)
        page = self.renderer.page(
            request, user, security.csrf_token(security.session_token(request))
        )
        if not is_office(user):
            return self.renderer.error(page, 403, page.t("topics.office_only"))
        try:
            self.codebook  # noqa: B018  (loads it, or says the city has none)
        except CodebookError:
            log.exception("the codebook of the public-opinion analysis cannot be loaded")
            return self.renderer.error(page, 503, page.t("topics.no_codebook"))
        return Reader(page, user)

    async def show(self, request: Request) -> Response:
        return await run_in_threadpool(self._show, request)

    def _show(self, request: Request) -> Response:
        with self.sessions() as session:
            reader = self._open(session, request)
            if isinstance(reader, Response):
                return reader
            return self._page(session, reader)

    def _page(
        self, session: Session, reader: Reader, *, status: int = 200, error: str | None = None
    ) -> Response:
        run = latest_run(session=session)
        topics = run_topics(session=session, run=run) if run else []
        lang = reader.page.lang
        return self.renderer.render(
            reader.page,
            "opinion_topics.html",
            here=TOPICS,
            status=status,
            error=error,
            run=run,
            topics=[self._row(session, topic, lang) for topic in topics],
            others=[(t.id, t.number) for t in topics if t.status == "proposed"],
            codes=[(c.code, c.name(lang)) for c in self.codebook.codes.values()],
        )

    def _row(self, session: Session, topic: Topic, lang: str) -> dict[str, Any]:
        label = topic.label_zh if lang == "zh" else topic.label_en
        return {
            "id": topic.id,
            "number": topic.number,
            "label": label or "",
            "label_zh": topic.label_zh or "",
            "label_en": topic.label_en or "",
            "size": topic.size,
            "terms": topic_terms(topic),
            "samples": [c.text for c in sample_comments(session=session, topic=topic)],
            "proposed": topic.status == "proposed",
            "code": self.codebook.label(topic.code, lang) if topic.code else "",
        }

    async def group(self, request: Request) -> Response:
        return await self._posted(request, self._group)

    def _group(self, request: Request, form: FormData) -> Response:
        with self.sessions() as session:
            reader = self._open(session, request)
            if isinstance(reader, Response):
                return reader
            if not security.same_token(reader.page.csrf, form.get(security.CSRF_FIELD)):
                return self.renderer.error(reader.page, 403, reader.page.t("error.csrf"))
            try:
                where = TopicFilter(year=_number(field(form, "year"), "topics.bad_year"))
                k = _number(field(form, "k"), "topics.bad_k")
                if k is not None and not 2 <= k <= 100:
                    raise BadForm("topics.bad_k")
            except BadForm as exc:
                return self._page(session, reader, status=400, error=reader.page.t(exc.key))
            if not uncoded_count(session=session, where=where):
                message = reader.page.t("topics.nothing_to_group")
                return self._page(session, reader, status=400, error=message)
            run: TopicRun = group_topics(
                session=session, codebook=self.codebook, where=where, k=k, created_by=reader.user.id
            )
            session.commit()
            log.info("topic run %s: %s comments in %.1f s", run.id, run.comments, run.seconds)
        return redirect(request, TOPICS, flash="flash.topics_grouped")

    async def act(self, request: Request, topic_id: int, action: str) -> Response:
        if action not in ACTIONS:
            page = self.renderer.page(request)
            return self.renderer.error(page, 404, page.t("topics.not_found"))
        return await self._posted(request, self._act, topic_id, action)

    def _act(self, request: Request, form: FormData, topic_id: int, action: str) -> Response:
        with self.sessions() as session:
            reader = self._open(session, request)
            if isinstance(reader, Response):
                return reader
            page = reader.page
            if not security.same_token(page.csrf, form.get(security.CSRF_FIELD)):
                return self.renderer.error(page, 403, page.t("error.csrf"))
            topic = session.get(Topic, topic_id)
            if topic is None:
                return self.renderer.error(page, 404, page.t("topics.not_found"))
            try:
                self._do(session, topic, action, form)
                session.commit()
            except BadForm as exc:
                session.rollback()
                return self._page(session, reader, status=400, error=page.t(exc.key))
            except TopicError as exc:
                session.rollback()
                return self._page(session, reader, status=400, error=exc.text(page.lang))
        flash = {"accept": "accepted", "rename": "renamed", "merge": "merged", "split": "split"}
        return redirect(request, TOPICS, flash=f"flash.topic_{flash[action]}")

    def _do(self, session: Session, topic: Topic, action: str, form: FormData) -> None:
        if action == "accept":
            code = field(form, "code")
            accept_topic(session=session, topic=topic, code=code, codebook=self.codebook)
        elif action == "rename":
            label_zh, label_en = field(form, "label_zh"), field(form, "label_en")
            rename_topic(session=session, topic=topic, label_zh=label_zh, label_en=label_en)
        elif action == "merge":
            into_id = _number(field(form, "into"), "topics.not_found")
            into = session.get(Topic, into_id) if into_id is not None else None
            if into is None:
                raise BadForm("topics.not_found")
            merge_topics(session=session, source=topic, into=into, codebook=self.codebook)
        else:
            split_topic(session=session, topic=topic, codebook=self.codebook)

    async def _posted(
        self, request: Request, handle: Callable[..., Response], *args: Any
    ) -> Response:
        """A POST: the login is checked before the body is read."""
        if not await run_in_threadpool(self._has_session, request):
            return to_login(request)
        form = await request.form(max_files=0, max_fields=8)
        return await run_in_threadpool(handle, request, form, *args)

    def _has_session(self, request: Request) -> bool:
        with self.sessions() as session:
            token = security.session_token(request)
            return user_for_session(session=session, token=token) is not None


def _number(text: str, key: str) -> int | None:
    """The form's whole number; empty is None; anything else is refused with `key`."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise BadForm(key)
    return int(text)


def opinion_topics_router(*, sessions: sessionmaker[Session], profile: Profile) -> APIRouter:
    """Mounted with prefix `/desk`, before the desk's own router (it ends in a catch-all)."""
    from bot.web._desk.router import DeskRoute

    pages = TopicPages(sessions, profile)
    router = APIRouter(route_class=DeskRoute)
    routes: list[tuple[str, Endpoint, str]] = [
        ("/opinion/topics", pages.show, "GET"),
        ("/opinion/topics", pages.group, "POST"),
        ("/opinion/topics/{topic_id:int}/{action}", pages.act, "POST"),
    ]
    for path, endpoint, method in routes:
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
    return router
