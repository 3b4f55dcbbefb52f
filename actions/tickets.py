"""Telling citizens about their own tickets."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import citizen_of, db, language_of, profile
from civic.i18n import t
from storage.tickets import tickets_of_citizen


class ActionMyTickets(Action):
    """Lists the citizen's own tickets, newest first; nobody else's."""

    def name(self) -> str:
        return "action_my_tickets"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        city = profile()
        with db() as session:
            citizen = citizen_of(session, tracker)
            tickets = tickets_of_citizen(session=session, citizen_id=citizen.id) if citizen else []
            lines = [
                t(
                    "tickets.line",
                    lang,
                    number=ticket.number,
                    category=city.categories[ticket.category].label(lang)
                    if ticket.category in city.categories
                    else ticket.category,
                    status=t(f"status.{ticket.status}", lang),
                )
                for ticket in tickets
            ]
        if not lines:
            dispatcher.utter_message(text=t("tickets.none", lang))
            return []
        dispatcher.utter_message(text=t("tickets.header", lang) + "\n" + "\n".join(lines))
        return []


class ActionSwitchLanguage(Action):
    """Confirms the language switch (the slot itself is set by the slot mapping)."""

    def name(self) -> str:
        return "action_switch_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=t("language.switched", language_of(tracker)))
        if tracker.active_loop_name is None:
            dispatcher.utter_message(response="utter_menu")
        return []
