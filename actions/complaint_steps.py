"""The domain steps behind the complaint form's answers: routing the description,
placing the location, finding a duplicate. Each returns the slots it decided."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import buttons, db, gazetteer, language_of, profile
from civic.i18n import t
from civic.routing import category_ranking, is_unsure, route
from civic.settings import get_settings
from civic.tickets import find_duplicate

Slots = dict[str, Any]


def route_text(tracker: Tracker, text: str) -> Slots:
    """Category (or the candidates to offer when unsure) and, if the text names one, the
    place. The NLU's ranking of kinds is used when the latest message is this text."""
    latest = tracker.latest_message
    ranking = category_ranking(latest) if latest.get("text") == text else []
    threshold = get_settings().category_threshold
    decision = route(profile(), gazetteer(), text=text, ranking=ranking, threshold=threshold)
    slots: Slots = {"routing": {"confidence": decision.confidence, "by": "nlu"}}
    if is_unsure(decision, threshold):
        codes = [decision.category, *(a.category for a in decision.alternatives)][:3]
        slots.update(category=None, category_candidates=codes)
    else:
        slots.update(category=decision.category, category_candidates=None)
    if not tracker.get_slot("location") and decision.district is not None:
        road = _road(text)
        label = profile().districts[decision.district].label(language_of(tracker))
        slots.update(
            location=f"{label} {road}" if road else label, district=decision.district, road=road
        )
    return slots


def category_from_text(text: str) -> str | None:
    """A category named in words ('路灯', 'street lights'), as typed instead of tapped."""
    folded = text.strip().lower()
    for category in profile().categories.values():
        if folded in {name.lower() for name in category.name.values()}:
            return category.code
    return None


def _road(text: str) -> str | None:
    """The road a text names, by its canonical (Chinese) name whatever the spelling, so
    'Jiangnan Avenue' and '江南大道' are the same road."""
    roads = {
        alias: place.name["zh"]
        for place in profile().places
        if place.kind == "road"
        for alias in {*place.name.values(), *place.aliases}
    }
    return next((roads[p] for p in gazetteer().find_places(text) if p in roads), None)


def place_slots(dispatcher: CollectingDispatcher, tracker: Tracker, value: str) -> Slots:
    """Resolve the answer to 'where?' to a district: a pin by its polygon, a tapped
    district, or a typed name via the gazetteer. Otherwise explain and ask again."""
    lang = language_of(tracker)
    city = profile()
    if not value:
        return {"location": None}
    if value == "__pin__":
        lat, long = tracker.get_slot("lat"), tracker.get_slot("long")
        district = city.district_at(float(lat), float(long)) if lat is not None else None
        if district is None:
            dispatcher.utter_message(text=t("location.outside", lang, city=city.name[lang]))
            return {"location": None, "lat": None, "long": None}
        where = f"{district.label(lang)} ({float(lat):.5f}, {float(long):.5f})"
        return {"location": where, "district": district.code, "road": None}
    if value.startswith("__district__:"):
        code = value.split(":", 1)[1]
        if code in city.districts:
            return {"location": city.districts[code].label(lang), "district": code}
        value = ""
    found = gazetteer().find_district(value) if value else None
    if found is not None:
        return {"location": value, "district": found.code, "road": _road(value)}
    dispatcher.utter_message(
        text=t("complaint.place_not_found", lang, place=value, city=city.name[lang]),
        buttons=buttons(
            *(
                (d.label(lang), f'/choose_district{{"district":"{d.code}"}}')
                for d in city.districts.values()
            )
        ),
    )
    return {"location": None}


def duplicate_slots(tracker: Tracker, decided: Slots) -> Slots:
    """Look for an open ticket like this one once category and place are both known."""

    def current(name: str) -> Any:
        return decided[name] if name in decided else tracker.get_slot(name)

    category, location = current("category"), current("location")
    if not category or not location or tracker.get_slot("duplicate_choice"):
        return {}
    with db() as session:
        ticket = find_duplicate(
            session=session,
            category=category,
            lat=current("lat"),
            long=current("long"),
            road=current("road"),
        )
        return {"duplicate_of": ticket.number if ticket else None}
