"""Talk to a person: queue the conversation for the evaluation office's staff."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import buttons, citizen_of, db, language_of, profile
from civic.handoffs import request_handoff
from civic.i18n import t
from storage.models import utcnow

TRANSCRIPT_LINES = 20


def transcript(tracker: Tracker) -> list[tuple[str, str]]:
    """The conversation so far as (sender, text), for the staff to read first."""
    lines = [
        ("citizen" if e["event"] == "user" else "assistant", str(e.get("text")))
        for e in tracker.events
        if e.get("event") in {"user", "bot"}
        and e.get("text")
        and not str(e.get("text")).startswith("/")
    ]
    return lines[-TRANSCRIPT_LINES:]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        with db() as session:
            citizen = citizen_of(session, tracker)
            if citizen is None:
                dispatcher.utter_message(response="utter_default")
                return []
            request_handoff(
                session=session,
                citizen_id=citizen.id,
                language=lang,
                transcript=transcript(tracker),
            )
        hours = profile().office_hours
        now = utcnow()
        if hours is None or hours.is_open(now):
            text = t("handoff.queued_open", lang)
        else:
            when = hours.next_opening(now).strftime("%Y-%m-%d %H:%M")
            text = t("handoff.queued_closed", lang, when=when)
        dispatcher.utter_message(
            text=text, buttons=buttons((t("handoff.back_button", lang), "/bot_return"))
        )
        return []
