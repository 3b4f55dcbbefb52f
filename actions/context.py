"""What every action needs: the profile, the database session, the citizen, the language."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from civic.city import Profile, get_profile
from civic.i18n import normalise_language
from civic.routing import Gazetteer
from civic.settings import get_settings
from storage.citizens import get_citizen
from storage.db import session_scope
from storage.media import MediaStore
from storage.models import Citizen


def profile() -> Profile:
    settings = get_settings()
    return get_profile(settings.profiles_dir, settings.profile)


@lru_cache(maxsize=4)
def _gazetteer(profile_code: str) -> Gazetteer:
    return Gazetteer(profile())


def gazetteer() -> Gazetteer:
    return _gazetteer(profile().code)


@contextmanager
def db() -> Iterator[Session]:
    with session_scope(get_settings().database_url) as session:
        yield session


def language_of(tracker: Tracker) -> str:
    return normalise_language(tracker.get_slot("language"))


def citizen_of(session: Session, tracker: Tracker) -> Citizen | None:
    """The citizen talking, found by the pseudonymous sender id the gateway gives Rasa."""
    return get_citizen(session=session, public_id=tracker.sender_id)


def buttons(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"title": title, "payload": payload} for title, payload in pairs]


def issued_photo(name: str) -> bool:
    """True when `name` is a photo this server stored (the channels save photos and pass
    on only the name); a URL or a made-up name is not."""
    return MediaStore(get_settings().var_dir / "media").issued(name)


def sent_photo(tracker: Tracker) -> str | None:
    """The photo sent with the latest message (a caption and its photo are one message),
    if the server issued it."""
    name = (tracker.latest_message.get("metadata") or {}).get("photo")
    return str(name) if isinstance(name, str) and issued_photo(name) else None
