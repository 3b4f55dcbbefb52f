"""The desk's pages for coding comments by hand, mounted at `/desk/opinion/comments` and
`/desk/opinion/samples`, for the evaluation office's staff only (an agency's user gets a
403 page that says so).

On the comments page staff filter the comment store and code each comment, starting from
the codes the rules suggest. On the samples pages they draw a random sample for double
coding, code its comments one by one, and read the two coders' agreement (Cohen's kappa)
with the comments they disagree on, which the office decides. `civic.opinion` does the
work; a refusal comes back as a 400 page in the reader's language, with nothing written.
Comments' texts are personal data (stored redacted): they are shown here, never logged.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.web._desk import security
from bot.web._desk.login import to_login
from bot.web._desk.opinion_coding_rows import (
    BadCodingFilter,
    agreement_view,
    choices,
    code_names,
    comment_row,
    parse_filter,
    parse_listing,
    sent_codes,
    whole_number,
)
from bot.web._desk.render import Page, Renderer, redirect
from civic.agencies import user_for_session
from civic.city import Profile
from civic.i18n import t
from civic.opinion import (
    Codebook,
    CodebookError,
    CodingRefused,
    CommentFilter,
    adjudicate,
    agreement,
    code_comment,
    codebook_path,
    codings_of,
    draw_sample,
    find_comments,
    is_office,
    load_codebook,
    next_uncoded,
    sample_items,
    visible_codings,
)
from storage.models import AgencyUser, CodingSample, Comment

Endpoint = Callable[..., Coroutine[Any, Any, Response]]
COMMENTS, SAMPLES = "/desk/opinion/comments", "/desk/opinion/samples"
PAGE_SIZE = 10
MAX_FIELDS = 80  # a coding form: the primary code and up to every code ticked

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reader:
    page: Page
    user: AgencyUser


class CodingPages:
    def __init__(self, sessions: sessionmaker[Session], profile: Profile) -> None:
        self.sessions, self.profile = sessions, profile
        self.renderer = Renderer(profile)

    @cached_property
    def codebook(self) -> Codebook:
        return load_codebook(codebook_path(self.profile), self.profile)

    def _open(self, session: Session, request: Request) -> Reader | Response:
        """The reader, or the response that turns them away: the login, or 403 for
        anyone but the evaluation office's staff."""
        token = security.session_token(request)
        user = user_for_session(session=session, token=token)
        if user is None:
            return to_login(request)
        page = self.renderer.page(request, user, security.csrf_token(token))
        if not is_office(user):
            return self.renderer.error(page, 403, page.t("coding.office_only"))
        try:
            self.codebook  # noqa: B018  (loads it, or says the city has none)
        except CodebookError:
            log.exception("the codebook of the public-opinion analysis cannot be loaded")
            return self.renderer.error(page, 503, page.t("coding.no_codebook"))
        return Reader(page, user)

    async def _posted(
        self, request: Request, handle: Callable[..., Response], *args: Any
    ) -> Response:
        """A POST: the login is checked before the body is read, the CSRF token after."""
        if not await run_in_threadpool(self._has_session, request):
            return to_login(request)
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        return await run_in_threadpool(self._checked, request, form, handle, *args)

    def _has_session(self, request: Request) -> bool:
        with self.sessions() as session:
            token = security.session_token(request)
            return user_for_session(session=session, token=token) is not None

    def _checked(
        self, request: Request, form: FormData, handle: Callable[..., Response], *args: Any
    ) -> Response:
        with self.sessions() as session:
            reader = self._open(session, request)
            if isinstance(reader, Response):
                return reader
            if not security.same_token(reader.page.csrf, form.get(security.CSRF_FIELD)):
                return self.renderer.error(reader.page, 403, reader.page.t("error.csrf"))
            try:
                response = handle(session, reader, form, *args)
                session.commit()
            except CodingRefused as exc:
                session.rollback()
                return self._refused(reader.page, exc)
            except BadCodingFilter as exc:
                session.rollback()
                return self._bad_value(reader.page, exc)
            return response

    def _refused(self, page: Page, exc: CodingRefused) -> Response:
        message = t(f"opinion.coding.error.{exc.key}", page.lang, **exc.params)
        return self.renderer.error(page, 400, message)

    def _bad_value(self, page: Page, exc: BadCodingFilter) -> Response:
        name = page.t(f"coding.field.{exc.field}")
        return self.renderer.error(
            page, 400, page.t("coding.bad_value", field=name, value=exc.value)
        )

    def _get(self, request: Request, show: Callable[..., Response], *args: Any) -> Response:
        with self.sessions() as session:
            reader = self._open(session, request)
            if isinstance(reader, Response):
                return reader
            try:
                return show(session, reader, request, *args)
            except BadCodingFilter as exc:
                return self._bad_value(reader.page, exc)

    def _row(self, session: Session, reader: Reader, comment: Comment) -> dict[str, Any]:
        """The comment with the reader's own coding and the others' they may see."""
        seen = visible_codings(session, comment_id=comment.id, viewer=reader.user)
        names = {
            u.id: u.display_name
            for u in session.scalars(
                select(AgencyUser).where(AgencyUser.id.in_([c.coder_id for c in seen]))
            )
        }
        mine = next((c for c in seen if c.coder_id == reader.user.id), None)
        others = [(names.get(c.coder_id, "?"), c) for c in seen if c.coder_id != reader.user.id]
        return comment_row(reader.page, self.codebook, comment, mine=mine, seen=others)

    # --- Comments ---

    async def comments(self, request: Request) -> Response:
        return await run_in_threadpool(self._get, request, self._comments)

    def _comments(self, session: Session, reader: Reader, request: Request) -> Response:
        listing = parse_listing(request.query_params, self.profile, self.codebook)
        found, total = find_comments(
            session=session, chosen=listing.chosen, page=listing.page, size=PAGE_SIZE
        )
        query = listing.query()
        here = f"{COMMENTS}?{query}" if query else COMMENTS
        pages = max(1, -(-total // PAGE_SIZE))
        return self.renderer.render(
            reader.page,
            "opinion_coding.html",
            here=here,
            section="comments",
            filters=listing.chosen,
            choices=choices(reader.page, self.profile, self.codebook),
            rows=[self._row(session, reader, comment) for comment in found],
            total=total,
            page_number=listing.page,
            pages=pages,
            previous=listing.query(page=listing.page - 1) if listing.page > 1 else None,
            following=listing.query(page=listing.page + 1) if listing.page < pages else None,
            back=here,
        )

    async def code(self, request: Request, comment_id: int) -> Response:
        return await self._posted(request, self._code, comment_id)

    def _code(self, session: Session, reader: Reader, form: FormData, comment_id: int) -> Response:
        code_comment(
            session=session,
            codebook=self.codebook,
            comment_id=comment_id,
            coder=reader.user,
            codes=sent_codes(form),
        )
        back = form.get("back")
        target = back if isinstance(back, str) and back.startswith(COMMENTS) else COMMENTS
        return redirect(reader.page.request, f"{target}#comment-{comment_id}", "flash.coding_saved")

    # --- Samples ---

    async def samples(self, request: Request) -> Response:
        return await run_in_threadpool(self._get, request, self._samples)

    def _samples(self, session: Session, reader: Reader, request: Request) -> Response:
        found = session.scalars(select(CodingSample).order_by(CodingSample.id.desc())).all()
        rows = [
            {
                "id": s.id,
                "name": s.name or reader.page.t("coding.sample_name", number=s.id),
                "seed": s.seed,
                "drawn_from": self._described(reader.page, s),
                "size": len(sample_items(session, s.id)),
                "created": reader.page.labels.time(s.created_at),
            }
            for s in found
        ]
        return self.renderer.render(
            reader.page,
            "opinion_coding_samples.html",
            here=SAMPLES,
            section="samples",
            rows=rows,
            choices=choices(reader.page, self.profile, self.codebook),
            seed=secrets.randbelow(1_000_000),
        )

    def _described(self, page: Page, sample: CodingSample) -> str:
        """The filter a sample was drawn from, as the reader reads it."""
        values = json.loads(sample.drawn_from or "{}")
        values.pop("n", None)
        parts = [f"{page.t(f'coding.field.{name}')}: {value}" for name, value in values.items()]
        return "; ".join(parts) or page.t("coding.all_comments")

    async def draw(self, request: Request) -> Response:
        return await self._posted(request, self._draw)

    def _draw(self, session: Session, reader: Reader, form: FormData) -> Response:
        fields = {name: v for name, v in form.items() if isinstance(v, str)}
        chosen = parse_filter(fields, self.profile, self.codebook)
        drawn_from = CommentFilter(
            year=chosen.year, source=chosen.source, agency=chosen.agency, language=chosen.language
        )
        sample = draw_sample(
            session=session,
            n=whole_number(form, "n"),
            seed=whole_number(form, "seed"),
            chosen=drawn_from,
            name=fields.get("name", ""),
            created_by=reader.user,
        )
        return redirect(reader.page.request, f"{SAMPLES}/{sample.id}", "flash.coding_drawn")

    async def sample(self, request: Request, sample_id: int) -> Response:
        return await run_in_threadpool(self._get, request, self._sample, sample_id)

    def _sample(
        self, session: Session, reader: Reader, request: Request, sample_id: int
    ) -> Response:
        """The sample: each coder's progress, the reader's next item, the agreement."""
        page = reader.page
        sample = session.get(CodingSample, sample_id)
        if sample is None:
            return self.renderer.error(page, 404, page.t("coding.no_sample"))
        items = sample_items(session, sample_id)
        coded: dict[int, int] = {}
        for comment_id in items:
            for coding in codings_of(session, comment_id):
                coded[coding.coder_id] = coded.get(coding.coder_id, 0) + 1
        users = {
            u.id: u for u in session.scalars(select(AgencyUser).where(AgencyUser.id.in_(coded)))
        }
        return self.renderer.render(
            page,
            "opinion_coding_sample.html",
            here=f"{SAMPLES}/{sample_id}",
            section="samples",
            sample={
                "id": sample.id,
                "name": sample.name or page.t("coding.sample_name", number=sample.id),
                "seed": sample.seed,
                "drawn_from": self._described(page, sample),
                "size": len(items),
            },
            progress=[(users[c].display_name, n) for c, n in coded.items() if c in users],
            next_item=next_uncoded(session, sample_id=sample_id, coder=reader.user),
            result=self._agreement(session, reader, sample_id, users),
            choices=choices(page, self.profile, self.codebook),
        )

    def _agreement(
        self, session: Session, reader: Reader, sample_id: int, users: dict[int, AgencyUser]
    ) -> dict[str, Any]:
        page, codebook = reader.page, self.codebook
        found = agreement(session=session, sample_id=sample_id, codebook=codebook)
        coders = [users[c].display_name for c in found.coders if c in users]
        if found.primary is None:
            return {"status": found.status, "coders": coders}
        disagreements = []
        for item in found.disagreements:
            comment = session.get(Comment, item.comment_id)
            if comment is None:
                continue
            row = self._row(session, reader, comment)
            row["ticked"], row["primary"] = set(item.accepted), ""
            row["decided"] = code_names(page, codebook, item.accepted)
            disagreements.append(row)
        return agreement_view(page, codebook, found, coders, disagreements)

    async def next_item(self, request: Request, sample_id: int) -> Response:
        return await run_in_threadpool(self._get, request, self._next_item, sample_id)

    def _next_item(
        self, session: Session, reader: Reader, request: Request, sample_id: int
    ) -> Response:
        found = next_uncoded(session, sample_id=sample_id, coder=reader.user)
        if found is None:
            return redirect(request, f"{SAMPLES}/{sample_id}", "flash.coding_all_done")
        return redirect(request, f"{SAMPLES}/{sample_id}/items/{found}")

    async def item(self, request: Request, sample_id: int, comment_id: int) -> Response:
        return await run_in_threadpool(self._get, request, self._item, sample_id, comment_id)

    def _item(
        self, session: Session, reader: Reader, request: Request, sample_id: int, comment_id: int
    ) -> Response:
        """One comment of the sample to code; the other coder's codes stay hidden until
        the reader has coded it too."""
        page = reader.page
        items = sample_items(session, sample_id)
        comment = session.get(Comment, comment_id)
        if comment is None or comment_id not in items:
            return self.renderer.error(page, 404, page.t("coding.no_sample"))
        return self.renderer.render(
            page,
            "opinion_coding_item.html",
            here=f"{SAMPLES}/{sample_id}/items/{comment_id}",
            section="samples",
            sample_id=sample_id,
            position=items.index(comment_id) + 1,
            items=len(items),
            row=self._row(session, reader, comment),
            choices=choices(page, self.profile, self.codebook),
        )

    async def code_item(self, request: Request, sample_id: int, comment_id: int) -> Response:
        return await self._posted(request, self._code_item, sample_id, comment_id)

    def _code_item(
        self, session: Session, reader: Reader, form: FormData, sample_id: int, comment_id: int
    ) -> Response:
        if comment_id not in sample_items(session, sample_id):
            raise CodingRefused("not_in_sample", id=comment_id)
        code_comment(
            session=session,
            codebook=self.codebook,
            comment_id=comment_id,
            coder=reader.user,
            codes=sent_codes(form),
        )
        return redirect(reader.page.request, f"{SAMPLES}/{sample_id}/next", "flash.coding_saved")

    async def decide(self, request: Request, sample_id: int, comment_id: int) -> Response:
        return await self._posted(request, self._decide, sample_id, comment_id)

    def _decide(
        self, session: Session, reader: Reader, form: FormData, sample_id: int, comment_id: int
    ) -> Response:
        adjudicate(
            session=session,
            codebook=self.codebook,
            sample_id=sample_id,
            comment_id=comment_id,
            adjudicator=reader.user,
            codes=sent_codes(form),
        )
        target = f"{SAMPLES}/{sample_id}#disagreement-{comment_id}"
        return redirect(reader.page.request, target, "flash.coding_decided")


def opinion_coding_router(*, sessions: sessionmaker[Session], profile: Profile) -> APIRouter:
    """Mounted with prefix `/desk`, before the desk's own router (it ends in a catch-all)."""
    from bot.web._desk.router import DeskRoute

    pages = CodingPages(sessions, profile)
    router = APIRouter(route_class=DeskRoute)
    item = "/opinion/samples/{sample_id:int}/items/{comment_id:int}"
    routes: list[tuple[str, Endpoint, str]] = [
        ("/opinion/comments", pages.comments, "GET"),
        ("/opinion/comments/{comment_id:int}", pages.code, "POST"),
        ("/opinion/samples", pages.samples, "GET"),
        ("/opinion/samples", pages.draw, "POST"),
        ("/opinion/samples/{sample_id:int}", pages.sample, "GET"),
        ("/opinion/samples/{sample_id:int}/next", pages.next_item, "GET"),
        (item, pages.item, "GET"),
        (item, pages.code_item, "POST"),
        (f"{item}/adjudicate", pages.decide, "POST"),
    ]
    for path, endpoint, method in routes:
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
    return router
