"""Rating a public service window from its QR code: `/start w_<id>` → one tap on 1–5 or
the Hangzhou scale → an optional comment. One rating per citizen, window and day."""

from __future__ import annotations

from datetime import timedelta

from civic.city import Profile
from civic.i18n import t
from civic.replies import BotMessage, Button
from civic.surveys._chat.engine import SurveyContext
from storage import windows as store
from storage.models import ServiceWindow

COMMENT_WINDOW = timedelta(minutes=15)
_STARS = {"1": "★", "2": "★★", "3": "★★★", "4": "★★★★", "5": "★★★★★"}


class WindowRatings:
    def __init__(self, profile: Profile) -> None:
        self._profile = profile

    def _name(self, window: ServiceWindow, lang: str) -> str:
        agency = self._profile.agencies.get(window.agency)
        agency_name = agency.label(lang) if agency else window.agency
        return t("windows.name", lang, agency=agency_name, hall=window.hall, number=window.number)

    def start(self, ctx: SurveyContext, window_id: str) -> list[BotMessage]:
        lang = ctx.language
        window = ctx.session.get(ServiceWindow, int(window_id)) if window_id.isdigit() else None
        if window is None:
            return [BotMessage(text=t("windows.unknown", lang))]
        day = store.local_day(ctx.now, self._profile.timezone)
        if store.todays_rating(
            session=ctx.session, window_id=window.id, citizen_id=ctx.citizen.id, day=day
        ):
            return [BotMessage(text=t("windows.already", lang, window=self._name(window, lang)))]
        buttons = [
            Button(stars, f"wr:{window.id}:stars:{score}") for score, stars in _STARS.items()
        ]
        for code in store.HANGZHOU_SCORES:
            buttons.append(
                Button(t(f"windows.scale.{code}", lang), f"wr:{window.id}:hangzhou:{code}")
            )
        return [
            BotMessage(
                text=t("windows.ask", lang, window=self._name(window, lang)), buttons=buttons
            )
        ]

    def on_button(self, ctx: SurveyContext, payload: str) -> list[BotMessage]:
        lang = ctx.language
        parts = payload.split(":")
        if parts[:2] == ["wr", "none"]:
            rating = store.awaiting_comment(
                session=ctx.session, citizen_id=ctx.citizen.id, since=ctx.now - COMMENT_WINDOW
            )
            if rating is not None:
                rating.comment = ""
            return [BotMessage(text=t("windows.thanks", lang))]
        if len(parts) != 4 or not parts[1].isdigit() or parts[2] not in {"stars", "hangzhou"}:
            return [BotMessage(text=t("windows.unknown", lang))]
        window = ctx.session.get(ServiceWindow, int(parts[1]))
        if window is None:
            return [BotMessage(text=t("windows.unknown", lang))]
        try:
            rating = store.rate_window(
                session=ctx.session,
                window=window,
                citizen_id=ctx.citizen.id,
                day=store.local_day(ctx.now, self._profile.timezone),
                scale=parts[2],
                score=parts[3],
                now=ctx.now,
            )
        except ValueError:
            return [BotMessage(text=t("windows.unknown", lang))]
        if rating is None:
            return [BotMessage(text=t("windows.already", lang, window=self._name(window, lang)))]
        return [
            BotMessage(
                text=t("windows.comment", lang),
                buttons=[Button(t("windows.no_comment", lang), "wr:none")],
            )
        ]

    def on_text(self, ctx: SurveyContext, text: str) -> list[BotMessage] | None:
        """A comment typed just after rating; None when no rating is waiting for one."""
        rating = store.awaiting_comment(
            session=ctx.session, citizen_id=ctx.citizen.id, since=ctx.now - COMMENT_WINDOW
        )
        if rating is None:
            return None
        rating.comment = text.strip()[:2000]
        return [BotMessage(text=t("windows.thanks", ctx.language))]
