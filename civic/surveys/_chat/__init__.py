"""Surveys, window ratings and survey subscriptions in chat, ahead of Rasa.

`SurveyChat.handle` looks at one incoming text or payload and answers it when it belongs
here (a survey button, a notice follow-up's answer, `/start <token>`, `/start w_<signed
window code>`, `/subscribe`, `/stop`, `/survey`, a free-text answer the current question
waits for); otherwise it
returns None and the message goes to the assistant as usual, so whatever else the
citizen was doing (a complaint half filed, say) is left as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from civic.campaigns import looks_like_token
from civic.city import Profile
from civic.i18n import t
from civic.replies import BotMessage
from civic.surveys._chat.engine import SurveyContext, SurveyEngine
from civic.surveys._chat.sms import SmsSurveys, numbered_answers
from civic.surveys._chat.subscriptions import Subscriptions
from civic.surveys._chat.windows import WindowRatings
from storage.models import Citizen
from storage.ratelimit import RateLimiter

__all__ = ["ButtonHandler", "SmsSurveys", "SurveyChat", "numbered_answers"]

# (session, citizen, payload, language, now) → the replies
ButtonHandler = Callable[[Session, Citizen, str, str, datetime], list[BotMessage]]


class SurveyChat:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        profile: Profile,
        secret: str,
        limiter: RateLimiter | None = None,
        subscribe_per_day: int = 0,
        buttons: Mapping[str, ButtonHandler] | None = None,
    ) -> None:
        """`buttons` answers other payloads ahead of Rasa by their prefix (a notice
        follow-up's "nt:" answers), in the same transaction as the rest."""
        self._sessions = sessions
        self._buttons = dict(buttons or {})
        self.engine = SurveyEngine(secret=secret, agencies=profile.agencies)
        self.windows = WindowRatings(profile, secret)
        self.subscriptions = Subscriptions(profile, limiter, subscribe_per_day)
        self.sms = SmsSurveys(engine=self.engine, secret=secret)

    def handle(
        self, citizen_id: int, language: str, kind: str, text: str, now: datetime | None = None
    ) -> list[BotMessage] | None:
        with self._sessions.begin() as session:
            citizen = session.get(Citizen, citizen_id)
            if citizen is None:
                return None
            ctx = SurveyContext(
                session=session, citizen=citizen, language=language, now=now or datetime.now(UTC)
            )
            if kind == "payload":
                return self._payload(ctx, text)
            if kind == "text":
                return self.windows.on_text(ctx, text) or self.engine.on_text(ctx, text)
        return None

    def _payload(self, ctx: SurveyContext, text: str) -> list[BotMessage] | None:
        command, _, argument = text.partition(" ")
        argument = argument.strip()
        if text.startswith("sv:"):
            return self.engine.on_button(ctx, text)
        for prefix, answer in self._buttons.items():
            if text.startswith(prefix):
                return answer(ctx.session, ctx.citizen, text, ctx.language, ctx.now)
        if text.startswith("wr:"):
            return self.windows.on_button(ctx, text)
        if text.startswith("sub:"):
            return self.subscriptions.on_button(ctx, text)
        if command == "/start" and argument:
            return self._start(ctx, argument)
        handlers = {
            "/subscribe": self.subscriptions.begin,
            "/stop": self.subscriptions.stop,
            "/survey": self.engine.resume,
        }
        if command in handlers:
            return handlers[command](ctx)
        if text.startswith("/switch_language"):
            wanted = "en" if '"en"' in text else "zh" if '"zh"' in text else None
            return self.engine.switch_language(ctx, wanted)
        return None

    def _start(self, ctx: SurveyContext, argument: str) -> list[BotMessage] | None:
        if argument.startswith("w_"):
            return self.windows.start(ctx, argument)
        if argument.startswith("s_"):
            return self.engine.start_open(ctx, argument[2:])
        if looks_like_token(argument):
            return self.engine.start_invited(ctx, argument)
        return [BotMessage(text=t("survey.invalid_link", ctx.language))]
