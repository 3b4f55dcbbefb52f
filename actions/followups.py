"""The citizen's side of the follow-through: "Is the problem solved?" and the rating."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.context import buttons, citizen_of, db, language_of, profile
from civic.errors import IllegalTransition
from civic.i18n import t
from civic.tickets import SATISFACTION, answer_fixed, rate
from storage.models import Ticket, TicketFollower


def _own_ticket(session: Session, tracker: Tracker, number: str | None) -> Ticket | None:
    """The ticket if the citizen filed or follows it; nobody else may answer for it."""
    citizen = citizen_of(session, tracker)
    if citizen is None or not number:
        return None
    ticket = session.scalars(select(Ticket).where(Ticket.number == number)).first()
    if ticket is None:
        return None
    follows = session.scalars(
        select(TicketFollower.id).where(
            TicketFollower.ticket_id == ticket.id, TicketFollower.citizen_id == citizen.id
        )
    ).first()
    return ticket if ticket.citizen_id == citizen.id or follows else None


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
            ticket = _own_ticket(session, tracker, number)
            if ticket is None:
                dispatcher.utter_message(text=t("followup.unknown", lang, number=number or ""))
                return []
            try:
                answer_fixed(session=session, ticket=ticket, fixed=fixed)
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
            ticket = _own_ticket(session, tracker, number)
            if ticket is None:
                dispatcher.utter_message(text=t("followup.unknown", lang, number=number or ""))
                return []
            try:
                rate(session=session, ticket=ticket, satisfaction=str(rating))
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
