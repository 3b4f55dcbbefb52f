"""Why a step of a notice was refused. Each carries a message-catalogue key
(`notices.error.*`) and its parameters, so the desk says it in the reader's language
(`text(lang)`); their own message is the English text, for logs."""

from __future__ import annotations

from typing import Any

from civic.errors import AccessDenied, InvalidInput
from civic.i18n import t


class _Keyed(Exception):
    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(self.text("en"))

    def text(self, lang: str | None) -> str:
        return t(f"notices.error.{self.key}", lang, **self.params)


class NoticeRefused(_Keyed, InvalidInput):
    """The step was given something it cannot take (a missing text, a date in the
    past, too many milestones), or the notice is not at a stage that allows it."""


class NoticeClosed(NoticeRefused):
    """The notice was verified or dismissed: nothing more can be done with it."""


class NotPermitted(_Keyed, AccessDenied):
    """The desk user may not take this step (an officer, a coordinator of another
    agency, an agency's user where the office decides)."""
