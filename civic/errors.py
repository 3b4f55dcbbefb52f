"""Our own error types. A `UserFacingError` carries a message-catalogue key, so every
channel can answer it in the citizen's language."""

from __future__ import annotations

from typing import Any


class CivicError(Exception):
    """Base class for errors raised by this project."""


class UserFacingError(CivicError):
    """An error the citizen should be told about, as a message-catalogue key."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class ProfileError(CivicError):
    """A city profile file is missing or invalid; the message names the file and entry."""


class RasaUnavailable(CivicError):
    """The Rasa server did not answer (down, starting, timed out or failed)."""


class IllegalTransition(CivicError):
    """A ticket was asked to move to a status its lifecycle does not allow."""


# Errors of the agency side (the desk and the Open311 API): typed, so each edge can
# answer them its own way (an HTTP status, a message on the desk).
class DeskError(CivicError):
    """Base class for errors of agency-side actions."""


class AccessDenied(DeskError):
    """The user or API key may not see or act on this ticket."""


class NotFound(DeskError):
    """The ticket (or other record) asked for does not exist."""


class InvalidInput(DeskError):
    """An agency-side action was given a value it cannot accept (an unknown agency, a
    missing note); the message says which."""
