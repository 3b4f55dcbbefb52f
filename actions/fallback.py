"""Not understood: never a dead end.

A message the model is unsure about but most likely a complaint (and not likely out of
scope) starts the complaint form, which asks which kind of problem it is with the likely
categories as buttons; likely out of scope gets the honest out-of-scope answer. A message
with no word the assistant knows ("qwrtz zzkp") is not understood, whatever it ranked. Anything
else is searched on the website; with no match the citizen is asked
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
from actions.context import buttons, language_of
from actions.tickets import about_own_report, show_tickets
from actions.vocabulary import unreadable
from civic.city import COMPLAINT_INTENT
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


def _likely_complaint(ranking: list[dict[str, Any]]) -> bool:
    """Unsure, but most likely a complaint, and not likely out of scope: the complaint
    form then asks which kind of problem it is, with the likely ones as buttons."""
    if not ranking or ranking[0].get("name") != COMPLAINT_INTENT:
        return False
    return not any(r.get("name") == "out_of_scope" for r in ranking[:3])


def _likely_feedback(ranking: list[dict[str, Any]]) -> str | None:
    """Unsure, with a suggestion or praise among the two likeliest: record it as that (it
    reaches the agency either way) rather than start a complaint form."""
    for entry in ranking[:2]:
        if entry.get("name") == "suggestion":
            return "action_record_suggestion"
        if entry.get("name") == "praise":
            return "action_record_praise"
    return None


def _menu_buttons(lang: str) -> list[dict[str, Any]]:
    return buttons(
        (t("menu.report", lang), "/report_problem"),
        (t("menu.tickets", lang), "/check_status"),
        (t("menu.search", lang), "/search_site"),
    )


def missed_before(tracker: Tracker) -> bool:
    """Was the citizen's previous message not understood either (unsure, or no words)?"""
    users = [e for e in tracker.events if e.get("event") == "user"]
    if len(users) < 2:
        return False
    previous = (users[-2].get("parse_data") or {}).get("intent") or {}
    return previous.get("name") == "nlu_fallback" or unreadable(users[-2].get("text") or "")


def not_understood(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> None:
    """Ask to rephrase; the second miss in a row offers the best guesses and the menu."""
    if not missed_before(tracker):
        dispatcher.utter_message(text=t("fallback.rephrase", lang))
        return
    guesses = [r["name"] for r in _ranking(tracker) if r.get("name") in GUESSES][:3]
    options = [(t(GUESSES[g], lang), f"/{g}") for g in guesses]
    dispatcher.utter_message(
        text=t("fallback.guesses", lang),
        buttons=buttons(*options, (t("fallback.main_menu", lang), "/menu")),
    )


class ActionHandleFallback(Action):
    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ranking = _ranking(tracker)
        text = tracker.latest_message.get("text") or ""
        lang = language_of(tracker)
        if unreadable(text):
            not_understood(dispatcher, tracker, lang)
            return []
        feedback = _likely_feedback(ranking)
        if feedback is not None:
            return [FollowupAction(feedback)]
        if _likely_complaint(ranking):
            if about_own_report(tracker):
                show_tickets(dispatcher, tracker)
                return []
            return [*start_events(tracker, text), FollowupAction("complaint_form")]
        if any(r.get("name") == "out_of_scope" for r in ranking[:2]):
            dispatcher.utter_message(
                text=t("conversation.out_of_scope", lang), buttons=_menu_buttons(lang)
            )
            return []
        found = search_or_none(text, lang) if text else None
        if found:
            dispatcher.utter_message(text=found)
        else:
            not_understood(dispatcher, tracker, lang)
        return []
