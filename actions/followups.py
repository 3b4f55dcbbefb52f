"""The citizen's side of the follow-through: "Is the problem solved?" and the rating."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.context import buttons, citizen_of, db, language_of, profile
from civic.errors import IllegalTransition
from civic.i18n import t
from civic.tickets import SATISFACTION, answer_fixed, rate
from storage.models import Ticket
from storage.tickets import find_follower, get_ticket_by_number


def _own_ticket(
    session: Session, tracker: Tracker, dispatcher: CollectingDispatcher, number: str | None
) -> tuple[Ticket, int] | None:
    """The ticket and the citizen's id if the citizen filed it: only the reporter answers
    for it. A follower is told so; anyone else hears that there is no such report."""
    lang = language_of(tracker)
    citizen = citizen_of(session, tracker)
    ticket = get_ticket_by_number(session=session, number=number) if number else None
    if citizen is not None and ticket is not None and ticket.citizen_id == citizen.id:
        return ticket, citizen.id
    follows = (
        citizen is not None
        and ticket is not None
        and find_follower(session=session, ticket_id=ticket.id, citizen_id=citizen.id)
    )
    key = "followup.follower_only" if follows else "followup.unknown"
    dispatcher.utter_message(text=t(key, lang, number=number or ""))
    return None


class ActionConfirmFixed(Action):
    def name(self) -> str:
        return "action_confirm_fixed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        number = next(tracker.get_latest_entity_values("ticket"), None)
        fixed = next(tracker.get_latest_entity_values("fixed"), None) == "yes"
        with db() as session:
            mine = _own_ticket(session, tracker, dispatcher, number)
            if mine is None:
                return []
            ticket, citizen_id = mine
            try:
                answer_fixed(session=session, ticket=ticket, citizen_id=citizen_id, fixed=fixed)
            except IllegalTransition:
                status = t(f"status.{ticket.status}", lang)
                dispatcher.utter_message(
                    text=t("followup.not_waiting", lang, number=number, status=status)
                )
                return []
            agency = profile().agencies.get(ticket.agency or "")
        if not fixed:
            name = agency.label(lang) if agency else t("complaint.triage", lang)
            dispatcher.utter_message(text=t("followup.reopened", lang, number=number, agency=name))
            return []
        dispatcher.utter_message(
            text=t("followup.ask_rating", lang, number=number),
            buttons=buttons(
                *(
                    (
                        t(f"satisfaction.{s}", lang),
                        f'/rate_ticket{{"ticket":"{number}","rating":"{s}"}}',
                    )
                    for s in SATISFACTION
                )
            ),
        )
        return []


class ActionRateTicket(Action):
    def name(self) -> str:
        return "action_rate_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        number = next(tracker.get_latest_entity_values("ticket"), None)
        rating = next(tracker.get_latest_entity_values("rating"), None)
        with db() as session:
            mine = _own_ticket(session, tracker, dispatcher, number)
            if mine is None:
                return []
            ticket, citizen_id = mine
            try:
                rate(
                    session=session, ticket=ticket, citizen_id=citizen_id, satisfaction=str(rating)
                )
            except (IllegalTransition, ValueError):
                status = t(f"status.{ticket.status}", lang)
                dispatcher.utter_message(
                    text=t("followup.not_waiting", lang, number=number, status=status)
                )
                return []
        # the citizen's complaint is closed: a moment to ask them to help rate the city
        dispatcher.utter_message(
            text=t("followup.rated", lang, number=number),
            buttons=[{"title": t("followup.subscribe", lang), "payload": "/subscribe"}],
        )
        return []
