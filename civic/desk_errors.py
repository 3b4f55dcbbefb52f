"""Errors of the agency side (the desk and the Open311 API): typed, so each edge can
answer them its own way (an HTTP status, a message on the desk)."""

from __future__ import annotations

from civic.errors import CivicError


class DeskError(CivicError):
    """Base class for errors of agency-side actions."""


class AccessDenied(DeskError):
    """The user or API key may not see or act on this ticket."""


class NotFound(DeskError):
    """The ticket (or other record) asked for does not exist."""


class InvalidInput(DeskError):
    """An agency-side action was given a value it cannot accept (an unknown agency, a
    missing note); the message says which."""
