"""The complaint form: `validate_complaint_form` extracts and checks each answer.

Every slot has a custom mapping, so this one class decides what the latest message means
for the slot being asked. Interruptions (cancel, menu, language, status, help) extract
nothing, which makes the form step aside for the rules that handle them.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.complaint_steps import (
    category_from_text,
    duplicate_slots,
    place_slots,
    route_text,
)
from actions.context import (
    buttons,
    citizen_of,
    db,
    issued_photo,
    language_of,
    profile,
    sent_photo,
)
from civic.i18n import t

INTERRUPTIONS = frozenset(
    {"cancel", "menu", "switch_language", "check_status", "help", "greet", "goodbye"}
)
INVALID = "__invalid__"
Slots = dict[str, Any]


def _intent(tracker: Tracker) -> str | None:
    return tracker.get_intent_of_latest_message(skip_fallback_intent=False)


def _answers(tracker: Tracker, slot: str) -> bool:
    """Is the latest message an answer to the question for `slot`?"""
    return tracker.get_slot("requested_slot") == slot and _intent(tracker) not in INTERRUPTIONS


def _typed(tracker: Tracker) -> str:
    text = (tracker.latest_message.get("text") or "").strip()
    return "" if text.startswith("/") else text


def _entity(tracker: Tracker, name: str) -> str | None:
    return next(tracker.get_latest_entity_values(name), None)


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Ask about a duplicate only when there is one; following it ends the form."""
        slots = list(domain_slots)
        if not tracker.get_slot("duplicate_of"):
            slots.remove("duplicate_choice")
        elif tracker.get_slot("duplicate_choice") == "follow":
            slots = slots[: slots.index("duplicate_choice") + 1]
        return slots

    # -- extraction ---------------------------------------------------------------

    async def extract_complaint_text(self, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        text = _typed(tracker)
        return {"complaint_text": text} if _answers(tracker, "complaint_text") and text else {}

    async def extract_category(self, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        if _intent(tracker) == "choose_category":
            return {"category": _entity(tracker, "category") or INVALID}
        if _answers(tracker, "category"):
            return {"category": category_from_text(_typed(tracker)) or INVALID}
        return {}

    async def extract_location(self, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        intent = _intent(tracker)
        if intent == "share_location":
            return {"location": "__pin__"}
        if intent == "choose_district":
            return {"location": f"__district__:{_entity(tracker, 'district')}"}
        text = _typed(tracker)
        return {"location": text} if _answers(tracker, "location") and text else {}

    async def extract_duplicate_choice(self, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        if _intent(tracker) == "duplicate_choice":
            return {"duplicate_choice": _entity(tracker, "choice") or INVALID}
        if _answers(tracker, "duplicate_choice"):
            choice = {"affirm": "follow", "deny": "new"}.get(_intent(tracker) or "", INVALID)
            return {"duplicate_choice": choice}
        return {}

    async def extract_photo(self, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        intent = _intent(tracker)
        if (attached := sent_photo(tracker)) is not None:
            return {"photo": attached}
        if intent == "send_photo":
            # only a name this server issued when it stored the photo (never a URL)
            name = _entity(tracker, "photo")
            return {"photo": name if name and issued_photo(name) else INVALID}
        if _answers(tracker, "photo"):
            return {"photo": "none" if intent in {"skip", "deny"} else INVALID}
        return {}

    async def extract_contact(self, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        if _intent(tracker) == "choose_contact":
            return {"contact": _entity(tracker, "contact") or INVALID}
        return {"contact": INVALID} if _answers(tracker, "contact") else {}

    async def extract_confirmed(self, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        intent = _intent(tracker)
        if intent == "edit_field":
            return _clear_for_edit(_entity(tracker, "field"))
        if not _answers(tracker, "confirmed"):
            return {}
        return {"confirmed": {"affirm": "yes", "edit": "edit"}.get(intent or "", INVALID)}

    # -- validation ---------------------------------------------------------------

    def validate_complaint_text(self, value, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        if not value or not str(value).strip():
            return {"complaint_text": None}
        slots = {"complaint_text": value, **route_text(tracker, str(value))}
        return {**slots, **duplicate_slots(tracker, slots)}

    def validate_category(self, value, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        if value is None:
            return {"category": None}
        if value not in profile().categories:
            dispatcher.utter_message(text=t("complaint.category_unknown", language_of(tracker)))
            return {"category": None}
        slots = {"category": value, "category_candidates": None}
        if _intent(tracker) == "choose_category" or _answers(tracker, "category"):
            routing = tracker.get_slot("routing") or {}
            slots["routing"] = {"confidence": routing.get("confidence"), "by": "citizen"}
        return {**slots, **duplicate_slots(tracker, slots)}

    def validate_location(self, value, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        slots = place_slots(dispatcher, tracker, str(value or ""))
        return {**slots, **duplicate_slots(tracker, slots)} if slots.get("location") else slots

    def validate_duplicate_choice(self, value, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        if value in {"follow", "new", None}:
            return {"duplicate_choice": value}
        dispatcher.utter_message(text=t("complaint.choose_option", language_of(tracker)))
        return {"duplicate_choice": None}

    def validate_photo(self, value, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        if value != INVALID:
            return {"photo": value}
        dispatcher.utter_message(text=t("complaint.photo_invalid", language_of(tracker)))
        return {"photo": None}

    def validate_contact(self, value, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        lang = language_of(tracker)
        if value is None:
            return {"contact": None}
        if value in {"anonymous", "chat"}:
            return {"contact": value, "awaiting_phone": False}
        if value == "phone":
            with db() as session:
                citizen = citizen_of(session, tracker)
                has_phone = bool(citizen and citizen.phone)
            if has_phone:
                return {"contact": "phone", "awaiting_phone": False}
            dispatcher.utter_message(
                text=t("complaint.share_phone", lang),
                json_message={
                    "keyboard": "contact",
                    "button": t("complaint.share_phone_button", lang),
                },
            )
            return {"contact": None, "awaiting_phone": True}
        dispatcher.utter_message(text=t("complaint.choose_option", lang))
        return {"contact": None}

    def validate_confirmed(self, value, dispatcher, tracker, domain) -> Slots:  # type: ignore[no-untyped-def]
        lang = language_of(tracker)
        if value == "yes":
            return {"confirmed": "yes"}
        if value == "edit":
            fields = ("complaint_text", "category", "location", "photo", "contact")
            dispatcher.utter_message(
                text=t("complaint.edit_which", lang),
                buttons=buttons(
                    *(
                        (t(f"complaint.field.{f}", lang), f'/edit_field{{"field":"{f}"}}')
                        for f in fields
                    )
                ),
            )
        elif value == INVALID:
            dispatcher.utter_message(text=t("complaint.choose_option", lang))
        return {"confirmed": None}


def _clear_for_edit(field: str | None) -> Slots:
    """Empty the chosen answer (and what depends on it) so the form asks it again."""
    cleared: Slots = {"confirmed": None}
    if field == "complaint_text":
        cleared.update(complaint_text=None, category=None, category_candidates=None)
    elif field == "category":
        cleared.update(category=None)
    elif field == "location":
        cleared.update(location=None, district=None, road=None, lat=None, long=None)
    elif field == "photo":
        cleared.update(photo=None)
    elif field == "contact":
        cleared.update(contact=None, awaiting_phone=False)
    if field in {"complaint_text", "category", "location"}:
        cleared.update(duplicate_of=None, duplicate_choice=None)
    return cleared
