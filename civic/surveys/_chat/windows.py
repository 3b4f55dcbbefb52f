"""Rating a public service window from its QR code: `/start <signed window code>` → one
tap on 1–5 or the Hangzhou scale → an optional comment. One rating per citizen, window
and day.

The code is signed (civic.campaigns' window codes): a bare `w_<id>` or a forged one is
refused. The rating buttons carry the day they were offered, so a button kept from
another day cannot rate again without scanning again. A window that receives more
ratings an hour than the profile allows has the excess held for review: they are kept,
flagged on the desk, and count in no figure until the evaluation office releases them.
"""

from __future__ import annotations

from datetime import date, timedelta

from civic.campaigns import verify_window_code
from civic.city import Profile
from civic.i18n import t
from civic.replies import BotMessage, Button
from civic.surveys._chat.engine import SurveyContext
from storage import windows as store
from storage.models import ServiceWindow

COMMENT_WINDOW = timedelta(minutes=15)
_STARS = {"1": "★", "2": "★★", "3": "★★★", "4": "★★★★", "5": "★★★★★"}


class WindowRatings:
    def __init__(self, profile: Profile, secret: str) -> None:
        self._profile = profile
        self._secret = secret

    def _name(self, window: ServiceWindow, lang: str) -> str:
        agency = self._profile.agencies.get(window.agency)
        agency_name = agency.label(lang) if agency else window.agency
        return t("windows.name", lang, agency=agency_name, hall=window.hall, number=window.number)

    def _day(self, ctx: SurveyContext) -> str:
        return store.local_day(ctx.now, self._profile.timezone)

    def start(self, ctx: SurveyContext, code_text: str) -> list[BotMessage]:
        """The rating question for the window of a scanned code, or why the code fails."""
        lang = ctx.language
        code = verify_window_code(secret=self._secret, code=code_text)
        if code is None:
            return [BotMessage(text=t("windows.invalid_code", lang))]
        window = ctx.session.get(ServiceWindow, code.window_id)
        if window is None:
            return [BotMessage(text=t("windows.unknown", lang))]
        if code.serial != window.token_serial:
            return [BotMessage(text=t("windows.code_revoked", lang))]
        day = self._day(ctx)
        if not code.valid_on(date.fromisoformat(day)):
            return [BotMessage(text=t("windows.code_expired", lang))]
        if store.todays_rating(
            session=ctx.session, window_id=window.id, citizen_id=ctx.citizen.id, day=day
        ):
            return [BotMessage(text=t("windows.already", lang, window=self._name(window, lang)))]
        stamp = day.replace("-", "")
        buttons = [
            Button(stars, f"wr:{window.id}:{stamp}:stars:{score}")
            for score, stars in _STARS.items()
        ]
        for scale_code in store.HANGZHOU_SCORES:
            buttons.append(
                Button(
                    t(f"windows.scale.{scale_code}", lang),
                    f"wr:{window.id}:{stamp}:hangzhou:{scale_code}",
                )
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
        if len(parts) != 5 or not parts[1].isdigit() or parts[3] not in {"stars", "hangzhou"}:
            return [BotMessage(text=t("windows.scan_again", lang))]
        window = ctx.session.get(ServiceWindow, int(parts[1]))
        if window is None:
            return [BotMessage(text=t("windows.unknown", lang))]
        day = self._day(ctx)
        if parts[2] != day.replace("-", ""):
            return [BotMessage(text=t("windows.scan_again", lang))]
        try:
            rating = store.rate_window(
                session=ctx.session,
                window=window,
                citizen_id=ctx.citizen.id,
                day=day,
                scale=parts[3],
                score=parts[4],
                now=ctx.now,
                assurance=ctx.citizen.assurance,
                hourly_limit=self._profile.integrity.window_ratings_per_hour,
            )
        except ValueError:
            return [BotMessage(text=t("windows.scan_again", lang))]
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
