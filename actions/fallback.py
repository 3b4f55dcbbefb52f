"""Not understood: never a dead end.

A complaint the model is unsure about starts the complaint form (which offers the likely
categories). Anything else is searched on the website; with no match the citizen is asked
to rephrase, and the second miss in a row offers the best guesses as buttons together with
the main menu: a two-stage fallback.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.assistant import search_or_none
from actions.complaints import start_events
from actions.context import buttons, language_of, profile
from civic.i18n import t

# Intents worth offering as a guess, with the catalogue key of their button title.
GUESSES = {
    "report_problem": "menu.report",
    "check_status": "menu.tickets",
    "search_site": "menu.search",
    "help": "fallback.guess_help",
    "erase_data": "fallback.guess_erase",
    "switch_language": "fallback.guess_language",
}


def _ranking(tracker: Tracker) -> list[dict[str, Any]]:
    return [
        r
        for r in tracker.latest_message.get("intent_ranking") or []
        if r.get("name") != "nlu_fallback"
    ]


def missed_before(tracker: Tracker) -> bool:
    """Was the citizen's previous message not understood either?"""
    users = [e for e in tracker.events if e.get("event") == "user"]
    if len(users) < 2:
        return False
    previous = (users[-2].get("parse_data") or {}).get("intent") or {}
    return previous.get("name") == "nlu_fallback"


class ActionHandleFallback(Action):
    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ranking = _ranking(tracker)
        text = tracker.latest_message.get("text") or ""
        lang = language_of(tracker)
        if ranking and profile().category_for_intent(ranking[0].get("name")) is not None:
            return [*start_events(tracker, text), FollowupAction("complaint_form")]
        found = search_or_none(text, lang) if text else None
        if found:
            dispatcher.utter_message(text=found)
        elif not missed_before(tracker):
            dispatcher.utter_message(text=t("fallback.rephrase", lang))
        else:
            guesses = [r["name"] for r in ranking if r.get("name") in GUESSES][:3]
            options = [(t(GUESSES[g], lang), f"/{g}") for g in guesses]
            dispatcher.utter_message(
                text=t("fallback.guesses", lang),
                buttons=buttons(*options, (t("fallback.main_menu", lang), "/menu")),
            )
        return []
