"""The site's smart assistant: the greeting with its identity menu, recommended links per
identity, and keyword search of the website."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import buttons, language_of
from civic.city import Page, Site, SiteSearch, load_site
from civic.i18n import t
from civic.settings import get_settings


@lru_cache(maxsize=2)
def _site(profile_dir: str) -> Site:
    return load_site(Path(profile_dir))


def site() -> Site:
    return _site(str(get_settings().profile_dir))


@lru_cache(maxsize=2)
def _search(profile_dir: str) -> SiteSearch:
    return SiteSearch(_site(profile_dir).pages.values())


def site_search() -> SiteSearch:
    return _search(str(get_settings().profile_dir))


def main_menu_buttons(lang: str) -> list[dict[str, Any]]:
    other = "en" if lang == "zh" else "zh"
    return buttons(
        (t("menu.report", lang), "/report_problem"),
        (t("menu.tickets", lang), "/check_status"),
        (t("menu.search", lang), "/search_site"),
        (t("menu.other_language", lang), f'/switch_language{{"language":"{other}"}}'),
    )


def identity_menu(lang: str) -> tuple[str, dict[str, Any]]:
    """The numbered identity list, and the numbered-menu data the channels use to turn a
    reply of "1" or "市民" into the choice."""
    identities = site().identities
    lines = "\n".join(f"{i.number} {i.label(lang)}" for i in identities)
    menu = [
        {
            "payload": f'/choose_identity{{"identity":"{i.code}"}}',
            "replies": [str(i.number), i.code, *i.name.values(), *i.aliases],
        }
        for i in identities
    ]
    return lines, {"menu": menu}


def page_lines(pages: list[Page], lang: str) -> str:
    return "\n".join(
        f"{n}. {p.label(lang)}: {p.summary[lang]}\n{p.url}" for n, p in enumerate(pages, 1)
    )


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        lines, menu = identity_menu(lang)
        dispatcher.utter_message(
            text=t("assistant.greeting", lang, identities=lines),
            buttons=main_menu_buttons(lang),
            json_message=menu,
        )
        return []


class ActionShowIdentity(Action):
    """Recommended links for the identity the citizen chose."""

    def name(self) -> str:
        return "action_show_identity"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        code = next(tracker.get_latest_entity_values("identity"), None)
        identity = next((i for i in site().identities if i.code == code), None)
        if identity is None:
            lines, menu = identity_menu(lang)
            dispatcher.utter_message(
                text=t("assistant.which_identity", lang, identities=lines), json_message=menu
            )
            return []
        dispatcher.utter_message(
            text=t(
                "assistant.links_for",
                lang,
                identity=identity.label(lang),
                links=page_lines(site().links(identity), lang),
            ),
            json_message={"menu": []},
        )
        return []


class ActionSearchSite(Action):
    """Search the website for what the citizen typed; say so honestly when nothing fits."""

    def name(self) -> str:
        return "action_search_site"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        query = tracker.get_slot("search_query")
        if not query:
            text = tracker.latest_message.get("text") or ""
            if text.startswith("/"):
                return [FollowupAction("search_form")]
            query = text
        hits = site_search().search(query, limit=3)
        if not hits:
            dispatcher.utter_message(text=t("assistant.search_nothing", lang, query=query))
        else:
            pages = [hit.page for hit in hits]
            dispatcher.utter_message(
                text=t("assistant.search_results", lang, query=query, links=page_lines(pages, lang))
            )
        return [SlotSet("search_query", None)]


def search_or_none(text: str, lang: str) -> str | None:
    """The search results as a reply, or None when nothing fits (for the fallback)."""
    hits = site_search().search(text, limit=3)
    if not hits:
        return None
    return t(
        "assistant.search_results", lang, query=text, links=page_lines([h.page for h in hits], lang)
    )
