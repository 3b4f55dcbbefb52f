"""Erasure: a citizen can have their personal data deleted from the chat itself."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import buttons, citizen_of, db, language_of
from civic.i18n import t
from civic.privacy import delete_photos, erase_citizen
from civic.settings import get_settings
from storage.media import MediaStore


class ActionAskErase(Action):
    """Say what deletion removes and what stays, and ask to confirm."""

    def name(self) -> str:
        return "action_ask_erase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        dispatcher.utter_message(
            text=t("privacy.confirm_erase", lang),
            buttons=buttons(
                (t("privacy.erase_yes", lang), "/erase_confirm"),
                (t("privacy.erase_no", lang), "/menu"),
            ),
        )
        return []


class ActionEraseData(Action):
    """Delete the citizen's personal data everywhere (`civic.privacy.erase_citizen`) and,
    once that is committed, the photos they sent; tickets stay, anonymous. The channel
    then also clears this conversation's history in Rasa (see
    bot.assistant._conversation: the `erased` signal)."""

    def name(self) -> str:
        return "action_erase_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lang = language_of(tracker)
        photos: tuple[str, ...] = ()
        with db() as session:
            citizen = citizen_of(session, tracker)
            if citizen is not None:
                photos = erase_citizen(session=session, citizen=citizen).photos
        delete_photos(media=MediaStore(get_settings().var_dir / "media"), photos=photos)
        dispatcher.utter_message(text=t("privacy.erased", lang), json_message={"erased": True})
        return []
