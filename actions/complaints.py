"""Starting, asking, submitting and cancelling a complaint. The answers themselves are
checked in `complaint_form.py`."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import buttons, citizen_of, db, language_of, profile, sent_photo
from actions.tickets import about_own_report, show_tickets
from actions.vocabulary import unreadable
from civic.city import Category, Profile
from civic.i18n import t
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import (
    DailyTicketLimit,
    check_daily_limit,
    create_ticket,
    due_at,
    follow_ticket,
    report_url,
)
from storage.models import utcnow
from storage.tickets import get_ticket_by_number

FORM_SLOTS = (
    "complaint_text", "category", "routing", "category_candidates", "location", "district", "road",
    "duplicate_of", "duplicate_choice", "photo", "contact", "awaiting_phone", "confirmed",
)  # fmt: skip


def reset_form(*, keep: tuple[str, ...] = ()) -> list[EventType]:
    events = [SlotSet(slot, None) for slot in FORM_SLOTS if slot not in keep]
    return [*events, SlotSet("requested_slot", None)]


def start_events(tracker: Tracker, text: str) -> list[EventType]:
    """A fresh complaint from `text`; a photo or pin shared just before is kept."""
    events = [*reset_form(keep=("photo",)), SlotSet("complaint_text", text)]
    photo = sent_photo(tracker)
    if photo is not None:  # a photo whose caption is this complaint
        events.append(SlotSet("photo", photo))
    if tracker.get_slot("lat") is not None and tracker.get_slot("long") is not None:
        events.append(SlotSet("location", "__pin__"))
    return events


class ActionStartComplaint(Action):
    """Starts the complaint form, unless the message asks about one of the citizen's own
    earlier reports ("did they patch the pothole I told you about"): then it shows those
    tickets and waits for the next message."""

    def name(self) -> str:
        return "action_start_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        if unreadable(text):  # keysmash is not a complaint, whatever it ranked
            from actions.fallback import not_understood  # it imports this module

            not_understood(dispatcher, tracker, language_of(tracker))
            return [FollowupAction("action_listen")]
        if about_own_report(tracker):
            show_tickets(dispatcher, tracker)
            return [FollowupAction("action_listen")]
        return start_events(tracker, text)


class ActionAskCategory(Action):
    """Offer the most likely categories as buttons, with 'other' last."""

    def name(self) -> str:
        return "action_ask_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        city = profile()
        codes = [c for c in tracker.get_slot("category_candidates") or [] if c in city.categories]
        codes = [*[c for c in codes if c != "other"][:3], "other"]
        dispatcher.utter_message(
            text=t("complaint.which_category", lang),
            buttons=buttons(
                *(
                    (city.categories[c].label(lang), f'/choose_category{{"category":"{c}"}}')
                    for c in codes
                )
            ),
        )
        return []


class ActionAskDuplicateChoice(Action):
    def name(self) -> str:
        return "action_ask_duplicate_choice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        with db() as session:
            ticket = get_ticket_by_number(session=session, number=tracker.get_slot("duplicate_of"))
            if ticket is None:
                return [SlotSet("duplicate_of", None)]
            # What and where, never the other citizen's own words.
            district = profile().districts.get(ticket.district or "")
            where = [district.label(lang)] if district else []
            place = " ".join([*where, *([ticket.road] if ticket.road else [])])
            text = t(
                "complaint.duplicate_found",
                lang,
                number=ticket.number,
                category=profile().categories[ticket.category].label(lang),
                status=t(f"status.{ticket.status}", lang),
                place=place or t("complaint.district_unknown", lang),
            )
        dispatcher.utter_message(
            text=text,
            buttons=buttons(
                (t("complaint.follow_it", lang), '/duplicate_choice{"choice":"follow"}'),
                (t("complaint.file_new", lang), '/duplicate_choice{"choice":"new"}'),
            ),
        )
        return []


class ActionAskContact(Action):
    """Anonymous, this chat, or a phone number (only where the channel can share one)."""

    def name(self) -> str:
        return "action_ask_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("awaiting_phone"):
            return []  # the share-phone keyboard is showing
        lang = language_of(tracker)
        options = ["anonymous", "chat"]
        if (tracker.latest_message.get("metadata") or {}).get("channel") == "telegram":
            options.append("phone")
        dispatcher.utter_message(
            text=t("complaint.ask_contact", lang),
            buttons=buttons(
                *(
                    (t(f"complaint.contact.{o}", lang), f'/choose_contact{{"contact":"{o}"}}')
                    for o in options
                )
            ),
        )
        return []


def summary(tracker: Tracker, lang: str) -> str:
    city = profile()
    category = city.categories[tracker.get_slot("category")]
    agency = city.agencies.get(category.agency or "")
    photo = tracker.get_slot("photo")
    return t(
        "complaint.summary",
        lang,
        text=tracker.get_slot("complaint_text"),
        category=category.label(lang),
        agency=agency.label(lang) if agency else t("complaint.triage", lang),
        place=tracker.get_slot("location"),
        photo=t(
            "complaint.photo_none" if photo in (None, "none") else "complaint.photo_attached", lang
        ),
        contact=t(f"complaint.contact.{tracker.get_slot('contact')}", lang),
    )


class ActionAskConfirmed(Action):
    def name(self) -> str:
        return "action_ask_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_intent_of_latest_message() == "edit":
            return []  # the list of answers to change is showing
        lang = language_of(tracker)
        dispatcher.utter_message(
            text=summary(tracker, lang),
            buttons=buttons(
                (t("complaint.confirm", lang), "/affirm"),
                (t("complaint.edit", lang), "/edit"),
                (t("complaint.cancel", lang), "/cancel"),
            ),
        )
        return []


class ActionSubmitComplaint(Action):
    """The form is complete: follow the duplicate, or store and route a new ticket."""

    def name(self) -> str:
        return "action_submit_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        if tracker.get_slot("duplicate_choice") == "follow":
            with db() as session:
                ticket = get_ticket_by_number(
                    session=session, number=tracker.get_slot("duplicate_of")
                )
                citizen = citizen_of(session, tracker)
                if ticket is not None and citizen is not None:
                    follow_ticket(session=session, ticket=ticket, citizen_id=citizen.id)
                    dispatcher.utter_message(
                        text=t("complaint.followed", lang, number=ticket.number)
                    )
            return [*reset_form(), SlotSet("lat", None), SlotSet("long", None)]
        if tracker.get_slot("confirmed") != "yes":
            return reset_form()
        file_ticket(dispatcher, tracker)
        return [*reset_form(), SlotSet("lat", None), SlotSet("long", None)]


def daily_limit_text(over: DailyTicketLimit, hotline: str | None, lang: str) -> str:
    """Not filed: try tomorrow, or call the city's hotline when it has one."""
    if hotline:
        return t(over.key, lang, limit=over.limit, hotline=hotline)
    return t("limits.tickets_today_no_hotline", lang, limit=over.limit)


def file_ticket(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    lang = language_of(tracker)
    city = profile()
    category = city.categories[tracker.get_slot("category")]
    district = tracker.get_slot("district")
    lat, long = tracker.get_slot("lat"), tracker.get_slot("long")
    photo = tracker.get_slot("photo")
    routing = tracker.get_slot("routing") or {}
    decision = RoutingDecision(
        category=category.code,
        agency=category.agency,
        district=district,
        confidence=float(routing.get("confidence") or 0.0),
        decided_by=str(routing.get("by") or "nlu"),
    )
    with db() as session:
        citizen = citizen_of(session, tracker)
        if citizen is not None:
            try:
                check_daily_limit(
                    session=session,
                    citizen_id=citizen.id,
                    limit=get_settings().tickets_per_day,
                    timezone=city.timezone,
                )
            except DailyTicketLimit as over:
                dispatcher.utter_message(text=daily_limit_text(over, city.hotline, lang))
                return
        ticket = create_ticket(
            session=session,
            citizen_id=citizen.id if citizen else None,
            description=tracker.get_slot("complaint_text"),
            language=lang,
            decision=decision,
            ticket_prefix=city.ticket_prefix,
            timezone=city.timezone,
            due_at=due_at(utcnow(), category.target_hours),
            address_text=tracker.get_slot("location"),
            road=tracker.get_slot("road"),
            photo=None if photo in (None, "none") else photo,
            contact=tracker.get_slot("contact") or "chat",
            lat=float(lat) if lat is not None else None,
            long=float(long) if long is not None else None,
        )
        number = ticket.number
        settings = get_settings()
        link = report_url(public_url=settings.public_url, secret=settings.secret_key, ticket=ticket)
    dispatcher.utter_message(text=confirmation(city, category, district, number, lang, link))


def confirmation(
    city: Profile,
    category: Category,
    district: str | None,
    number: str | None,
    lang: str,
    link: str,
) -> str:
    """What the citizen is told once the ticket is filed, ending with their page's link."""
    page = t("reports.link_line", lang, link=link)
    if category.agency is None:
        return t("complaint.filed_triage", lang, number=number) + "\n" + page
    where = city.districts.get(district or "")
    filed = t(
        "complaint.filed",
        lang,
        number=number,
        category=category.label(lang),
        agency=city.agencies[category.agency].label(lang),
        district=where.label(lang) if where else t("complaint.district_unknown", lang),
        hours=category.target_hours,
    )
    return filed + "\n" + page


class ActionCancelComplaint(Action):
    def name(self) -> str:
        return "action_cancel_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        dispatcher.utter_message(text=t("complaint.cancelled", lang))
        if tracker.get_intent_of_latest_message() == "menu":
            dispatcher.utter_message(response="utter_menu")
        events: list[EventType] = [ActiveLoop(None), *reset_form()]
        return [*events, SlotSet("lat", None), SlotSet("long", None)]


class ActionShareLocation(Action):
    """A location pin outside a report: say which district it is in, or that it is
    outside the city; it is kept for the report that follows."""

    def name(self) -> str:
        return "action_share_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        city = profile()
        lat, long = tracker.get_slot("lat"), tracker.get_slot("long")
        district = city.district_at(float(lat), float(long)) if lat is not None else None
        if district is None:
            dispatcher.utter_message(text=t("location.outside", lang, city=city.name[lang]))
            return [SlotSet("lat", None), SlotSet("long", None)]
        dispatcher.utter_message(text=t("location.received", lang, district=district.label(lang)))
        return []


class ActionPhotoOutsideComplaint(Action):
    """A photo before any description: keep it for the report that follows."""

    def name(self) -> str:
        return "action_photo_outside_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        photo = next(tracker.get_latest_entity_values("photo"), None)
        dispatcher.utter_message(text=t("complaint.photo_kept", language_of(tracker)))
        return [SlotSet("photo", photo)] if photo else []
