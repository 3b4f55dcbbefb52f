"""Everything a citizen says that is not a complaint: out-of-scope questions, small talk
and help, FAQ answers given only when sure, praise and suggestions."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import buttons, citizen_of, db, gazetteer, language_of, profile
from actions.fallback import not_understood
from actions.vocabulary import unreadable
from civic.city import load_site
from civic.feedback import agency_by_topic, agency_named, record_feedback
from civic.i18n import t
from civic.routing import category_ranking
from civic.settings import PROJECT_ROOT

# Below this ResponseSelector confidence an FAQ answer is not given; the two closest
# questions are offered instead. Set on the development set
# (benchmarks/data/conversation_dev.tsv), never on the held-out set.
FAQ_CONFIDENCE = 0.5


@cache
def _cue(name: str) -> re.Pattern[str]:
    """A cue pattern of nlu/cues.yml (the same words the NLU has as features)."""
    cues = yaml.safe_load((PROJECT_ROOT / "nlu" / "cues.yml").read_text(encoding="utf-8"))
    [block] = [b for b in cues["nlu"] if b.get("regex") == name]
    lines = [line.strip()[2:] for line in block["examples"].splitlines() if line.strip()]
    return re.compile("|".join(f"(?:{line})" for line in lines), re.IGNORECASE)


def _menu(lang: str) -> list[dict[str, Any]]:
    return buttons(
        (t("menu.report", lang), "/report_problem"),
        (t("menu.tickets", lang), "/check_status"),
        (t("menu.search", lang), "/search_site"),
    )


class ActionOutOfScope(Action):
    """An honest answer to what the assistant cannot do, what it can, and the menu."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        if unreadable(tracker.latest_message.get("text") or ""):
            not_understood(dispatcher, tracker, lang)  # keysmash is not a question
            return []
        dispatcher.utter_message(text=t("conversation.out_of_scope", lang), buttons=_menu(lang))
        return []


class ActionCapabilities(Action):
    """'What can you do' and help: the assistant's abilities, and the menu."""

    def name(self) -> str:
        return "action_capabilities"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        dispatcher.utter_message(text=t("conversation.capabilities", lang), buttons=_menu(lang))
        return []


class ActionHowAreYou(Action):
    def name(self) -> str:
        return "action_how_are_you"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=t("conversation.how_are_you", language_of(tracker)))
        return []


def _faq_ranking(tracker: Tracker) -> list[tuple[str, float]]:
    """(FAQ key, confidence) from the ResponseSelector, best first."""
    selector = (tracker.latest_message.get("response_selector") or {}).get("faq") or {}
    ranking = []
    for entry in selector.get("ranking") or []:
        key = str(entry.get("intent_response_key") or "")
        if key.startswith("faq/"):
            ranking.append((key.removeprefix("faq/"), float(entry.get("confidence") or 0.0)))
    return ranking


class ActionAnswerFaq(Action):
    """The FAQ answer when the ResponseSelector is sure; otherwise the two closest
    questions as buttons and site search: never an unrelated answer."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        ranking = _faq_ranking(tracker)
        if ranking and ranking[0][1] >= FAQ_CONFIDENCE:
            dispatcher.utter_message(response=f"utter_faq/{ranking[0][0]}")
            return []
        faq = load_site(profile().path).faq
        closest = [faq[key] for key, _ in ranking if key in faq][:2]
        options = [(entry.questions[lang][0], entry.questions[lang][0]) for entry in closest]
        dispatcher.utter_message(
            text=t("faq_unsure.text", lang),
            buttons=buttons(*options, (t("faq_unsure.search", lang), "/search_site")),
        )
        return []


# How sure the complaint kinds must be of a suggestion's topic to route it there rather
# than to the evaluation office (set on benchmarks/data/conversation_dev.tsv). Lower than
# a complaint's threshold: a suggestion misrouted costs a forward, not a deadline.
TOPIC_CONFIDENCE = 0.3


def _topic_agency(tracker: Tracker) -> str | None:
    """The agency of the complaint category the message is closest to in topic (a
    suggestion about bins goes where complaints about bins go), when the closest is clear."""
    ranking = category_ranking(tracker.latest_message)
    if not ranking or float(ranking[0].get("confidence") or 0) < TOPIC_CONFIDENCE:
        return None
    category = profile().category_for_intent(ranking[0].get("name"))
    return category.agency if category is not None else None


class _RecordFeedback:
    """What praise and suggestions share (not an action itself: rasa-sdk registers every
    Action subclass)."""

    kind = ""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        text = tracker.latest_message.get("text") or ""
        city = profile()
        agency = agency_named(city, text)
        if agency is None and self.kind == "suggestion":
            # routed to whoever is responsible for what it is about
            agency = agency_by_topic(city, text) or _topic_agency(tracker)
            if agency is None and not _cue("proposal_cue").search(text):
                # Nothing the city does and no proposal ("腰疼贴什么膏药好", "will it be
                # sunny on sunday"): a question for someone else, not a suggestion.
                dispatcher.utter_message(
                    text=t("conversation.out_of_scope", lang), buttons=_menu(lang)
                )
                return []
        district = gazetteer().find_district(text)
        with db() as session:
            record_feedback(
                session=session,
                kind=self.kind,
                citizen=citizen_of(session, tracker),
                text=text,
                language=lang,
                agency=agency,
                district=district.code if district else None,
            )
        named = city.agencies[agency].label(lang) if agency else None
        key = f"feedback.{self.kind}_thanks"
        if named is None:
            key += "_unnamed" if self.kind == "praise" else "_unrouted"
        dispatcher.utter_message(text=t(key, lang, agency=named or ""))
        return []


class ActionRecordPraise(_RecordFeedback, Action):
    """Praise is thanked and counted for the agency it names; never a complaint, never
    sent to staff."""

    kind = "praise"

    def name(self) -> str:
        return "action_record_praise"


class ActionRecordSuggestion(_RecordFeedback, Action):
    """A suggestion goes to the agency responsible, as a suggestion without a deadline."""

    kind = "suggestion"

    def name(self) -> str:
        return "action_record_suggestion"
