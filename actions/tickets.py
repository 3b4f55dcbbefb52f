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

# A message that refers to a report of the citizen's own ("the pothole I told you about",
# "我上次反映的路灯", "那个投诉"), whatever else it says: a question about it, not a new one.
OWN_REPORT = re.compile(
    r"(我|俺|咱)(上次|上回|之前|前几天|前两天|前阵子|上周|上礼拜|昨天|已经)?"
    r"(反映|投诉|报修|举报|提交|报)过?的"
    r"|(上次|上回|之前|前几天|前两天|前阵子|上周|上礼拜)我?(反映|投诉|报修|举报|提交|报|说)"
    r"|(那个|这个)(投诉|报修|工单|单子)"
    r"|\b(i|we) (already )?(reported|complained|filed|submitted|sent in|told you|logged|raised)\b"
    r"|\b(report|complaint|ticket|case)s? (i|we) (made|filed|sent|submitted|did|logged)\b"
    r"|\bmy (earlier |last |previous |old )?(report|complaint|ticket|case)s?\b",
    re.IGNORECASE,
)
# Asking how something stands ("patched yet?", "处理了吗").
STATUS_QUESTION = re.compile(
    r"怎么样了|咋样了|如何了|进展|进度|到哪一?步了|有(下文|结果|回音|回复|人管|动静)"
    r"|(处理|修|补|清|收|搞|弄|管|解决)好?了(吗|没|伐|没有)"
    r"|\bstatus\b|\bupdates?\b|\bany news\b|\bprogress\b|\bwhat happened\b"
    r"|\banything done\b|\b(fixed|patched|sorted|done|cleared|repaired) yet\b",
    re.IGNORECASE,
)


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


def about_own_report(tracker: Tracker) -> bool:
    """Does a message read as a complaint ask about one of the citizen's own earlier
    reports instead: it refers to one ("the bins I complained about"), or asks how
    something stands and names the subject of one of their tickets ("the trash that
    wasn't picked up, what's the status")? Only for a citizen who has tickets."""
    text = tracker.latest_message.get("text") or ""
    refers, asks = OWN_REPORT.search(text), STATUS_QUESTION.search(text)
    if not refers and not asks:
        return False
    with db() as session:
        citizen = citizen_of(session, tracker)
        tickets = tickets_of_citizen(session=session, citizen_id=citizen.id) if citizen else []
        if not tickets:
            return False
        return bool(refers) or bool(_described(profile(), tickets, text))


class ActionMyTickets(Action):
    """The citizen's own tickets, newest first; nobody else's. A ticket number in the
    message shows that ticket if it is theirs; a description ("the street light one")
    picks the matching ones."""

    def name(self) -> str:
        return "action_my_tickets"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        show_tickets(dispatcher, tracker)
        return []


def show_tickets(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """What `action_my_tickets` shows, for the actions that answer a status question that
    came in as something else."""
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
                dispatcher.utter_message(text=t("tickets_lookup.not_yours", lang, number=number))
                return
            status = t(f"status.{own.status}", lang)
            text = t(
                "tickets_lookup.one",
                lang,
                number=own.number,
                category=label(own),
                status=status,
            )
            dispatcher.utter_message(text=text)
            return
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
        return
    dispatcher.utter_message(text=t("tickets.header", lang) + "\n" + "\n".join(lines))


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
