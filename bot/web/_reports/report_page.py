"""The citizen's own report page, by the signed link in every confirmation and update:

    GET  /my-report/{token}                  the ticket's facts and history
    POST /my-report/{token}                  add information and/or a photo
    GET  /my-report/{token}/photos/{name}    a photo of an event the page shows

The link's token is the credential (`civic.tickets.ticket_for_token`); a bad one, or one
for a ticket whose citizen was erased, gets a friendly 404 page. The form carries a form
token bound to the page (no other site can post it), additions are rate-limited per
ticket and per address, and a refused addition shows the page again with its text kept.
Photos are checked by their bytes and stored without their metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from bot.web._limits import WebLimits, client_ip
from bot.web._reports.render import HEADERS, Words, environment, language_of, page
from bot.web._reports.report_view import MEDIA_TYPES, page_photos, report_view
from civic.city import Profile
from civic.errors import UserFacingError
from civic.tickets import (
    MAX_ADDITION,
    add_information,
    form_token,
    form_token_valid,
    ticket_for_token,
)
from storage.image_metadata import without_metadata
from storage.media import MAX_PHOTO_BYTES, MediaStore, image_extension
from storage.models import utcnow
from storage.ratelimit import Rule
from storage.tickets import event_photos

HOUR = 3600
PER_TICKET = Rule("report-add-ticket", 10, HOUR)
PER_ADDRESS = Rule("report-add-ip", 30, HOUR)


class Refused(UserFacingError):
    """An addition not taken: its status and the message key (under `reports.`)."""

    def __init__(self, status: int, key: str, **params: Any) -> None:
        super().__init__(key, **params)
        self.status = status


@dataclass(frozen=True)
class Addition:
    text: str
    photo: bytes | None
    form: str


def report_page_router(
    *,
    sessions: sessionmaker[Session],
    profile: Profile,
    media: MediaStore,
    limits: WebLimits,
    secret: str,
) -> APIRouter:
    pages = ReportPages(sessions, profile, media, limits, secret)
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/my-report/{token}", pages.show, methods=["GET"])
    router.add_api_route("/my-report/{token}", pages.add, methods=["POST"])
    router.add_api_route("/my-report/{token}/photos/{name}", pages.photo, methods=["GET"])
    return router


async def _read(request: Request) -> Addition:
    """The form's fields; the photo read to one byte over the limit, enough to refuse it."""
    try:
        form = await request.form(max_files=1, max_fields=5)
    except Exception as exc:  # a malformed or unparseable body (multipart raises several)
        raise Refused(400, "page.error.bad_form") from exc
    text, token, upload = form.get("text"), form.get("form"), form.get("photo")
    photo = None
    if isinstance(upload, UploadFile):
        data = await upload.read(MAX_PHOTO_BYTES + 1)
        photo = data if data or upload.filename else None
    return Addition(
        text=text if isinstance(text, str) else "",
        photo=photo,
        form=token if isinstance(token, str) else "",
    )


def _checked_photo(data: bytes) -> bytes:
    if len(data) > MAX_PHOTO_BYTES:
        raise Refused(413, "page.error.photo_too_large")
    clean = without_metadata(data) if image_extension(data) else None
    if clean is None:
        raise Refused(415, "page.error.photo_not_image")
    return clean


class ReportPages:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        profile: Profile,
        media: MediaStore,
        limits: WebLimits,
        secret: str,
    ) -> None:
        self.sessions, self.profile, self.media = sessions, profile, media
        self.limits, self.secret = limits, secret
        self.env = environment()

    def words(self, request: Request, default: str | None = None) -> Words:
        return Words(language_of(request, default), self.profile.timezone)

    async def show(self, request: Request, token: str) -> Response:
        return await run_in_threadpool(self._show, request, token, None, "", 200)

    async def add(self, request: Request, token: str) -> Response:
        try:
            addition = await _read(request)
        except Refused as refused:
            return await run_in_threadpool(self._show, request, token, refused, "", refused.status)
        return await run_in_threadpool(self._add, request, token, addition)

    async def photo(self, request: Request, token: str, name: str) -> Response:
        return await run_in_threadpool(self._photo, request, token, name)

    def _show(
        self, request: Request, token: str, error: Refused | None, text: str, status: int
    ) -> Response:
        with self.sessions() as session:
            ticket = ticket_for_token(session=session, secret=self.secret, token=token)
            if ticket is None:
                return self._not_found(request)
            words = self.words(request, ticket.language)
            photos = event_photos(session=session, ticket_id=ticket.id)
            view = report_view(words, self.profile, ticket, photos, token)
        return page(
            self.env,
            request,
            words,
            "report.html",
            status=status,
            report=view,
            action=f"/my-report/{token}?lang={words.lang}",
            form=form_token(secret=self.secret, token=token, now=utcnow()),
            text=text,
            limit=MAX_ADDITION,
            error=words.t(error.key, **error.params) if error else None,
            added=request.query_params.get("added") == "1" and error is None,
        )

    def _not_found(self, request: Request) -> Response:
        words = self.words(request)
        return page(self.env, request, words, "not_found.html", status=404)

    def _add(self, request: Request, token: str, addition: Addition) -> Response:
        try:
            lang = self._record(request, token, addition, utcnow())
        except Refused as refused:
            return self._show(request, token, refused, addition.text, refused.status)
        if lang is None:
            return self._not_found(request)
        return RedirectResponse(f"/my-report/{token}?lang={lang}&added=1", status_code=303)

    def _record(
        self, request: Request, token: str, addition: Addition, now: datetime
    ) -> str | None:
        """Check and keep the addition; the page's language, or None for no such page."""
        with self.sessions.begin() as session:
            ticket = ticket_for_token(session=session, secret=self.secret, token=token)
            if ticket is None:
                return None
            if not form_token_valid(secret=self.secret, token=token, form=addition.form, now=now):
                raise Refused(403, "page.error.form_expired")
            for rule, who in ((PER_TICKET, token), (PER_ADDRESS, client_ip(request))):
                verdict = self.limits.limiter.hit(rule, who)
                if not verdict.allowed:
                    minutes = max(1, -(-verdict.retry_after // 60))
                    raise Refused(429, "page.error.too_many", minutes=minutes)
            name = self._store(addition.photo)
            try:
                add_information(session=session, ticket=ticket, text=addition.text, photo=name)
            except UserFacingError as refused:
                self._forget(name)
                raise Refused(400, refused.key.removeprefix("reports."), **refused.params) from None
            except BaseException:
                self._forget(name)
                raise
            return language_of(request, ticket.language)

    def _store(self, data: bytes | None) -> str | None:
        if data is None:
            return None
        name = self.media.save(_checked_photo(data))
        if name is None:
            raise Refused(415, "page.error.photo_not_image")
        return name

    def _forget(self, name: str | None) -> None:
        """A photo whose addition was refused must not linger."""
        if name:
            self.media.delete(name)

    def _photo(self, request: Request, token: str, name: str) -> Response:
        path = self.media.path_of(name)
        kind = MEDIA_TYPES.get(path.suffix) if path else None
        with self.sessions() as session:
            ticket = ticket_for_token(session=session, secret=self.secret, token=token)
            allowed = ticket is not None and name in page_photos(
                ticket, event_photos(session=session, ticket_id=ticket.id)
            )
        if not allowed or path is None or kind is None:
            return self._not_found(request)
        headers = {**HEADERS, "Cache-Control": "private, no-store"}
        return FileResponse(path, media_type=kind, headers=headers)
