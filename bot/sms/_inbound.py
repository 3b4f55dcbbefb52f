"""One text message from a citizen: STOP, a survey answer, or a turn of the assistant.

In that order: STOP (退订, TD) opts the number out and is confirmed; digits answer the
sender's survey (`civic.surveys.SmsSurveys`); anything else goes through the same
`Conversation` as Telegram and the web chat, as the citizen at the address ("sms", the
number). Phone numbers are never logged: the citizen's pseudonymous id is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bot.assistant import Conversation, Incoming
from bot.sms._render import SmsText, render
from civic.campaigns import is_stop_word, opt_out_number
from civic.i18n import detect_language, normalise_language, t
from civic.replies import BotMessage
from storage.citizens import get_or_create_citizen

log = logging.getLogger(__name__)

CHANNEL = "sms"


@dataclass(frozen=True)
class _Ahead:
    replies: list[BotMessage] | None
    language: str
    citizen: str  # the pseudonymous id, for the logs


class SmsInbound:
    def __init__(self, *, conversation: Conversation, sessions: sessionmaker[Session]) -> None:
        self._conversation = conversation
        self._sessions = sessions

    async def handle(self, phone: str, text: str) -> SmsText:
        """The one message that answers `text` from `phone` (its body may be empty)."""
        ahead = await run_in_threadpool(self._ahead_of_rasa, phone, text)
        if ahead.replies is not None:
            return render(ahead.replies, ahead.language)
        incoming = Incoming(channel=CHANNEL, address=phone, kind="text", text=text)
        replies = await self._conversation.handle(incoming)
        answer = render(replies, ahead.language)
        if answer.menu:
            self._conversation.remember_menu(CHANNEL, phone, answer.menu)
        log.info("SMS from citizen %s answered by the assistant", ahead.citizen)
        return answer

    def _ahead_of_rasa(self, phone: str, text: str) -> _Ahead:
        stop = is_stop_word(text)
        # a keyword says nothing of the language (TD is what Chinese carriers use)
        typed = None if stop else detect_language(text)
        with self._sessions.begin() as session:
            citizen = get_or_create_citizen(
                session=session, channel=CHANNEL, address=phone, language=typed
            )
            language = normalise_language(typed or citizen.language)
            if stop:
                stopped = opt_out_number(session=session, phone=phone, now=datetime.now(UTC))
                log.info("citizen %s texted STOP: %d frame members out", citizen.public_id, stopped)
                return _Ahead([BotMessage(text=t("sms.stopped", language))], language, "")
            surveys = self._conversation.surveys
            replies = None
            if surveys is not None:
                replies = surveys.sms.handle(
                    session=session, citizen=citizen, language=language, phone=phone, text=text
                )
            return _Ahead(replies, language, citizen.public_id)
