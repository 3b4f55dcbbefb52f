"""Keeps the `language` slot right on every user message (custom slot mapping)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

from actions.context import citizen_of, db
from civic.i18n import LANGUAGES, detect_language


def requested_language(tracker: Tracker) -> str | None:
    """A language the citizen explicitly asked for: a button's entity, or words like
    'English' / '中文'."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "language" and entity.get("value") in LANGUAGES:
            return str(entity["value"])
    text = (tracker.latest_message.get("text") or "").lower()
    if tracker.get_intent_of_latest_message() == "switch_language":
        if "english" in text or "英" in text:
            return "en"
        if "chinese" in text or "中" in text:
            return "zh"
        return "en" if tracker.get_slot("language") == "zh" else "zh"
    return None


class ValidateSlotMappings(ValidationAction):
    """Sets `language` from an explicit request, else from the script of the message,
    else keeps it; the citizen's stored preference follows, so pushed updates match."""

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        metadata = tracker.latest_message.get("metadata") or {}
        language = (
            requested_language(tracker)
            or detect_language(tracker.latest_message.get("text"))
            or metadata.get("language")
            or tracker.get_slot("language")
        )
        if language not in LANGUAGES:
            return {}
        if language != tracker.get_slot("language"):
            with db() as session:
                citizen = citizen_of(session, tracker)
                if citizen is not None:
                    citizen.language = language
        return {"language": language}

    def validate_language(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Already checked by extract_language; without this method rasa-sdk logs a
        warning on every message."""
        return {"language": value}
