"""The desk's actions on a ticket: each reads its form fields and calls one `civic.tickets`
function, and returns the flash message key to show after the redirect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from civic import tickets
from civic.errors import InvalidInput
from storage.media import MAX_PHOTO_BYTES, MediaStore, image_extension
from storage.models import AgencyUser, Ticket


class PhotoRejected(InvalidInput):
    """The uploaded photo is not one we take; `key` is the message that says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class ActionInput:
    session: Session
    viewer: AgencyUser
    ticket: Ticket
    form: FormData
    photo: bytes | None
    media: MediaStore
    agencies: set[str]

    def text(self, name: str) -> str:
        value = self.form.get(name)
        return value if isinstance(value, str) else ""


async def read_photo(form: FormData) -> bytes | None:
    """The uploaded photo's bytes (at most one byte over the limit, enough to refuse it),
    or None when no file was chosen."""
    value = form.get("photo")
    if not isinstance(value, UploadFile):
        return None
    data = await value.read(MAX_PHOTO_BYTES + 1)
    return data if data or value.filename else None


def _store_photo(media: MediaStore, data: bytes) -> str:
    """Check the photo by its bytes, then keep it; returns the stored name."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected("error.photo_too_large")
    name = media.save(data) if image_extension(data) else None
    if name is None:
        raise PhotoRejected("error.photo_not_image")
    return name


def do_accept(a: ActionInput) -> str:
    tickets.accept(session=a.session, viewer=a.viewer, ticket=a.ticket, note=a.text("note") or None)
    return "flash.accepted"


def do_progress(a: ActionInput) -> str:
    tickets.add_progress(
        session=a.session,
        viewer=a.viewer,
        ticket=a.ticket,
        note=a.text("note") or None,
        public=a.text("public") == "yes",
    )
    return "flash.progress"


def do_rectify(a: ActionInput) -> str:
    name = _store_photo(a.media, a.photo) if a.photo is not None else None
    try:
        tickets.rectify(
            session=a.session, viewer=a.viewer, ticket=a.ticket, note=a.text("note"), photo=name
        )
    except Exception:
        # The report was refused, so its photo must not linger.
        stored = a.media.path_of(name) if name else None
        if stored is not None:
            stored.unlink(missing_ok=True)
        raise
    return "flash.rectified"


def do_reroute(a: ActionInput) -> str:
    """To another agency, or ('' chosen) back to the evaluation office's triage queue."""
    tickets.reroute(
        session=a.session,
        viewer=a.viewer,
        ticket=a.ticket,
        to_agency=a.text("to") or None,
        reason=a.text("reason"),
        known_agencies=a.agencies,
    )
    return "flash.rerouted"


ACTIONS: dict[str, Callable[[ActionInput], str]] = {
    "accept": do_accept,
    "progress": do_progress,
    "rectify": do_rectify,
    "reroute": do_reroute,
}
