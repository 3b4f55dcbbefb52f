"""Taking a complaint: classify, route, store, and tell the citizen where it went."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import buttons, citizen_of, db, gazetteer, language_of, profile
from civic.i18n import t
from civic.routing import RoutingDecision, is_unsure, route
from civic.tickets import due_at
from storage.models import utcnow
from storage.tickets import create_ticket


def _file(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str, decision: RoutingDecision
) -> list[EventType]:
    """Store the ticket and tell the citizen its number, agency and target time. A location
    pin shared just before the description places the ticket."""
    lang = language_of(tracker)
    city = profile()
    category = city.categories[decision.category]
    lat, long = tracker.get_slot("lat"), tracker.get_slot("long")
    if lat is not None and long is not None:
        pinned = city.district_at(float(lat), float(long))
        decision = replace(decision, district=pinned.code if pinned else decision.district)
    with db() as session:
        citizen = citizen_of(session, tracker)
        ticket = create_ticket(
            session=session,
            citizen_id=citizen.id if citizen else None,
            description=text,
            language=lang,
            decision=decision,
            ticket_prefix=city.ticket_prefix,
            timezone=city.timezone,
            due_at=due_at(utcnow(), category.target_hours),
            lat=float(lat) if lat is not None else None,
            long=float(long) if long is not None else None,
        )
        number = ticket.number
    events: list[EventType] = [SlotSet("lat", None), SlotSet("long", None)]
    if category.agency is None:
        dispatcher.utter_message(text=t("complaint.filed_triage", lang, number=number))
        return events
    agency = city.agencies[category.agency]
    district = city.districts.get(decision.district or "")
    dispatcher.utter_message(
        text=t(
            "complaint.filed",
            lang,
            number=number,
            category=category.label(lang),
            agency=agency.label(lang),
            district=district.label(lang) if district else t("complaint.district_unknown", lang),
            hours=category.target_hours,
        )
    )
    return events


class ActionStartComplaint(Action):
    """A message classified as a complaint: file it, or ask which category fits."""

    def name(self) -> str:
        return "action_start_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        ranking = tracker.latest_message.get("intent_ranking") or []
        decision = route(profile(), gazetteer(), text=text, intent_ranking=ranking)
        if is_unsure(decision):
            offer_categories(dispatcher, tracker, decision)
            return []
        return _file(dispatcher, tracker, text, decision)


def offer_categories(
    dispatcher: CollectingDispatcher, tracker: Tracker, decision: RoutingDecision
) -> None:
    """Ask the citizen to pick among the top categories, plus 'other'."""
    lang = language_of(tracker)
    city = profile()
    codes = [decision.category, *(a.category for a in decision.alternatives)][:3]
    if "other" not in codes:
        codes.append("other")
    dispatcher.utter_message(
        text=t("complaint.which_category", lang),
        buttons=buttons(
            *(
                (city.categories[c].label(lang), f'/choose_category{{"category":"{c}"}}')
                for c in codes
            )
        ),
    )


def _complaint_text(tracker: Tracker) -> str:
    """The last message before the category buttons: the complaint itself."""
    for event in reversed(tracker.events[:-1]):
        if event.get("event") == "user" and not (event.get("text") or "").startswith("/"):
            return str(event.get("text") or "")
    return ""


class ActionChooseCategory(Action):
    """The citizen picked a category from the buttons: file the complaint with it."""

    def name(self) -> str:
        return "action_choose_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code = next(tracker.get_latest_entity_values("category"), None)
        city = profile()
        text = _complaint_text(tracker)
        if code not in city.categories or not text:
            dispatcher.utter_message(response="utter_ask_problem")
            return []
        category = city.categories[code]
        district = gazetteer().find_district(text)
        decision = RoutingDecision(
            category=category.code,
            agency=category.agency,
            district=district.code if district else None,
            confidence=1.0,
            decided_by="citizen",
        )
        return _file(dispatcher, tracker, text, decision)


class ActionHandleFallback(Action):
    """Not understood. If the best guesses are complaint categories, the message is a
    complaint the model is unsure about: offer the categories. Otherwise say so."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ranking: list[dict[str, Any]] = [
            r
            for r in tracker.latest_message.get("intent_ranking") or []
            if r.get("name") != "nlu_fallback"
        ]
        if ranking and profile().category_for_intent(ranking[0].get("name")) is not None:
            text = tracker.latest_message.get("text") or ""
            offer_categories(
                dispatcher,
                tracker,
                route(profile(), gazetteer(), text=text, intent_ranking=ranking),
            )
            return []
        dispatcher.utter_message(response="utter_default")
        return []


class ActionShareLocation(Action):
    """A location pin: say which district it is in, or that it is outside the city."""

    def name(self) -> str:
        return "action_share_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        lat, long = tracker.get_slot("lat"), tracker.get_slot("long")
        district = (
            profile().district_at(float(lat), float(long))
            if lat is not None and long is not None
            else None
        )
        if district is None:
            dispatcher.utter_message(text=t("location.outside", lang, city=profile().name[lang]))
            return [SlotSet("lat", None), SlotSet("long", None)]
        dispatcher.utter_message(text=t("location.received", lang, district=district.label(lang)))
        return []
