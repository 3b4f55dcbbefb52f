"""Telling citizens about their own tickets."""

from __future__ import annotations

import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import citizen_of, db, language_of, profile
from civic.city import Profile
from civic.i18n import t
from storage.models import Ticket
from storage.tickets import tickets_of_citizen

TICKET_NUMBER = re.compile(r"[A-Za-z]{1,8}-\d{4}-\d{6}")


def _named_number(tracker: Tracker) -> str | None:
    """A ticket number in the message (the `ticket` entity, or the text itself)."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "ticket" and entity.get("value"):
            return str(entity["value"]).upper()
    found = TICKET_NUMBER.search(tracker.latest_message.get("text") or "")
    return found.group(0).upper() if found else None


def _described(city: Profile, tickets: list[Ticket], text: str) -> list[Ticket]:
    """The citizen's tickets whose category the message names ("the street light one"),
    by the category's name or keywords in either language."""
    folded = text.lower()
    matches = []
    for ticket in tickets:
        category = city.categories.get(ticket.category)
        if category is None:
            continue
        words = {*category.name.values(), *(w for ws in category.keywords.values() for w in ws)}
        if any(word and word.lower() in folded for word in words):
            matches.append(ticket)
    return matches


class ActionMyTickets(Action):
    """The citizen's own tickets, newest first; nobody else's. A ticket number in the
    message shows that ticket if it is theirs; a description ("the street light one")
    picks the matching ones."""

    def name(self) -> str:
        return "action_my_tickets"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        city = profile()
        number = _named_number(tracker)
        with db() as session:
            citizen = citizen_of(session, tracker)
            tickets = tickets_of_citizen(session=session, citizen_id=citizen.id) if citizen else []

            def label(ticket: Ticket) -> str:
                category = city.categories.get(ticket.category)
                return category.label(lang) if category else ticket.category

            if number is not None:
                own = next((ticket for ticket in tickets if ticket.number == number), None)
                if own is None:
                    dispatcher.utter_message(
                        text=t("tickets_lookup.not_yours", lang, number=number)
                    )
                    return []
                status = t(f"status.{own.status}", lang)
                text = t(
                    "tickets_lookup.one",
                    lang,
                    number=own.number,
                    category=label(own),
                    status=status,
                )
                dispatcher.utter_message(text=text)
                return []
            described = _described(city, tickets, tracker.latest_message.get("text") or "")
            lines = [
                t(
                    "tickets.line",
                    lang,
                    number=ticket.number,
                    category=label(ticket),
                    status=t(f"status.{ticket.status}", lang),
                )
                for ticket in (described or tickets)
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
