"""/subscribe and /stop: opting in to survey invitations (with the district, age band
and gender used for sampling, and why they are asked) and out of every campaign at once.

Panel members pick their own strata and are then sampled as if drawn at random, so only
a proven person may join: a verified phone number (or an invited household), and one
number is in the panel once. Anyone else is told how to verify.
Starting the sign-up is also limited per citizen and day (`CIVIC_SUBSCRIBE_PER_DAY`)."""

from __future__ import annotations

from civic.campaigns import member_for_citizen, opt_out_member, phone_in_panel, subscribe
from civic.city import Profile
from civic.i18n import t
from civic.identity import is_verified
from civic.replies import BotMessage, Button
from civic.surveys._chat.engine import SurveyContext
from storage.ratelimit import RateLimiter, Rule

AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
GENDERS = ("female", "male", "unspecified")
DAY = 24 * 3600


class Subscriptions:
    def __init__(
        self, profile: Profile, limiter: RateLimiter | None = None, per_day: int = 0
    ) -> None:
        self._profile = profile
        self._limiter = limiter
        self._rule = Rule("subscribe", per_day, DAY)

    def begin(self, ctx: SurveyContext) -> list[BotMessage]:
        """/subscribe: the sign-up, unless the citizen has started it too often today."""
        if self._limiter is not None:
            verdict = self._limiter.hit(self._rule, str(ctx.citizen.id), now=ctx.now.timestamp())
            if not verdict.allowed:
                text = t("limits.subscribe_today", ctx.language, limit=self._rule.limit)
                return [BotMessage(text=text)]
        return self.start(ctx)

    def start(self, ctx: SurveyContext) -> list[BotMessage]:
        lang = ctx.language
        refused = self._refusal(ctx)
        if refused is not None:
            return refused
        buttons = [
            Button(district.label(lang), f"sub:d:{code}")
            for code, district in self._profile.districts.items()
        ]
        return [
            BotMessage(text=t("subscribe.purpose", lang)),
            BotMessage(text=t("subscribe.ask_district", lang), buttons=buttons),
        ]

    def on_button(self, ctx: SurveyContext, payload: str) -> list[BotMessage]:
        lang = ctx.language
        parts = payload.split(":")
        district = parts[2] if len(parts) > 2 else ""
        if district not in self._profile.districts:
            return self.start(ctx)
        if parts[1] == "d" and len(parts) == 3:
            buttons = [Button(band, f"sub:a:{district}:{band}") for band in AGE_BANDS]
            return [BotMessage(text=t("subscribe.ask_age", lang), buttons=buttons)]
        if parts[1] == "a" and len(parts) == 4 and parts[3] in AGE_BANDS:
            buttons = [
                Button(t(f"subscribe.gender.{g}", lang), f"sub:g:{district}:{parts[3]}:{g}")
                for g in GENDERS
            ]
            return [BotMessage(text=t("subscribe.ask_gender", lang), buttons=buttons)]
        if parts[1] == "g" and len(parts) == 5 and parts[3] in AGE_BANDS and parts[4] in GENDERS:
            refused = self._refusal(ctx)
            if refused is not None:
                return refused
            subscribe(
                session=ctx.session,
                citizen_id=ctx.citizen.id,
                district=district,
                strata={"age_band": parts[3], "gender": parts[4], "language": lang},
                now=ctx.now,
            )
            return [BotMessage(text=t("subscribe.done", lang))]
        return self.start(ctx)

    def _refusal(self, ctx: SurveyContext) -> list[BotMessage] | None:
        """Why this citizen may not join the panel (yet), or None when they may."""
        citizen = ctx.citizen
        if not is_verified(citizen):
            on_telegram = any(a.channel == "telegram" for a in citizen.addresses)
            key = "needs_verification_telegram" if on_telegram else "needs_verification"
            return [BotMessage(text=t(f"subscribe.{key}", ctx.language))]
        if citizen.phone and phone_in_panel(
            session=ctx.session, phone=citizen.phone, other_than=citizen.id
        ):
            return [BotMessage(text=t("subscribe.number_taken", ctx.language))]
        return None

    def stop(self, ctx: SurveyContext) -> list[BotMessage]:
        member = member_for_citizen(session=ctx.session, citizen_id=ctx.citizen.id)
        if member is None or member.opted_out_at is not None:
            return [BotMessage(text=t("subscribe.not_subscribed", ctx.language))]
        opt_out_member(session=ctx.session, member=member, now=ctx.now)
        return [BotMessage(text=t("subscribe.stopped", ctx.language))]
