"""The evaluation's errors. Those the desk shows staff carry a message-catalogue key
(`evaluation.error.*`) and its parameters, so the desk can say them in the reader's
language (`text(lang)`); their own message is the English text, for logs."""

from __future__ import annotations

from typing import Any

from civic.errors import AccessDenied, CivicError, InvalidInput
from civic.i18n import t


class EvaluationError(CivicError):
    """The year cannot be computed as the scheme says (its survey is missing, its
    campaign ambiguous); the message says what to fix."""


class _Keyed(Exception):
    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(self.text("en"))

    def text(self, lang: str | None) -> str:
        return t(f"evaluation.error.{self.key}", lang, **self.params)


class EntryRefused(_Keyed, InvalidInput):
    """An entered figure was refused: an unknown indicator or item, points over the
    maximum, a period outside the year, missing evidence, a figure already approved."""


class NotPermitted(_Keyed, AccessDenied):
    """The desk user may not do this (a coordinator of another agency, an officer)."""


class SecondPersonRequired(NotPermitted):
    """Whoever entered a figure may not approve it: a second person must."""


class ReasonRequired(_Keyed, InvalidInput):
    """The figures changed since the last frozen version, and no reason was given."""
