"""Building the campaign sender from the settings: a channel for each service that is
configured (Telegram with a bot token, SMS with a gateway URL, e-mail with an SMTP host)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot.campaigns._channels import Channel, EmailChannel, SmsChannel, TelegramChannel, WebChannel
from bot.campaigns._deliveries import DeliveryFactory
from bot.campaigns._sender import CampaignSender, SenderOptions
from bot.delivery import EmailSender, Journal, SmsGateway
from bot.telegram import AiohttpRequest, make_bot
from civic.city import get_profile
from civic.errors import CivicError
from civic.notices import FollowupMessage, followup_message, followup_of, subject_label
from civic.settings import Settings
from civic.surveys import Survey, get_survey
from storage.db import session_factory
from storage.locks import Lock, make_lock
from storage.models import Campaign, Notice

log = logging.getLogger(__name__)


def sender_lock(settings: Settings) -> Lock:
    """One campaign sender at a time, whether the scheduler's job or `campaign send`."""
    return make_lock(
        "campaign-sender",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        var_dir=settings.var_dir,
    )


def campaign_bot(settings: Settings, concurrency: int) -> Bot:
    """A Bot on the aiohttp transport (see bot/telegram/_transport.py), honouring
    TELEGRAM_BASE_URL like the rest of the project; its sends take bulk tokens from the
    shared send budget."""
    request = AiohttpRequest(connections=concurrency + 1)
    return make_bot(settings=settings, request=request, priority="bulk", role="campaigns")


def make_channels(
    settings: Settings, concurrency: int, sessions: sessionmaker[Session]
) -> dict[str, Channel]:
    channels: dict[str, Channel] = {"web": WebChannel(sessions)}
    if settings.telegram_bot_token:
        channels["telegram"] = TelegramChannel(campaign_bot(settings, concurrency))
    if settings.sms_gateway_url:
        if not (settings.sms_account_sid and settings.sms_auth_token and settings.sms_from):
            raise CivicError("SMS_GATEWAY_URL needs SMS_ACCOUNT_SID, SMS_AUTH_TOKEN and SMS_FROM")
        # the sender paces SMS itself, so the gateway client does not pace again
        gateway = SmsGateway(
            base_url=settings.sms_gateway_url,
            account_sid=settings.sms_account_sid or "",
            auth_token=settings.sms_auth_token or "",
            sender=settings.sms_from or "",
            rate_per_second=None,
        )
        # with the inbound webhook set, a text may say that replying answers the survey
        channels["sms"] = SmsChannel(gateway, two_way=bool(settings.sms_webhook_url))
    if settings.smtp_host:
        channels["email"] = EmailChannel(EmailSender.from_settings(settings))
    return channels


def make_sender(
    settings: Settings,
    *,
    options: SenderOptions | None = None,
    sessions: sessionmaker[Session] | None = None,
) -> CampaignSender:
    profile = get_profile(settings.profiles_dir, settings.profile)
    sessions = sessions or session_factory(settings.database_url, writes=True)
    options = options or SenderOptions()
    options.rates = {
        **options.rates,
        "telegram": settings.campaign_telegram_rate,
        "sms": settings.sms_rate_per_second,
    }
    options.sms_cost_per_segment = settings.sms_cost_per_segment

    def survey(session: Session, key: str) -> Survey:
        found = get_survey(session=session, key=key, agencies=profile.agencies)
        if found is None:
            raise CivicError(f"campaign survey {key!r} is not defined")
        return found

    def notice(session: Session, campaign: Campaign, lang: str) -> FollowupMessage | None:
        """A notice's follow-up in `lang`, with the agency's and the subject's names."""
        followup = followup_of(campaign)
        found = session.get(Notice, followup.notice_id) if followup else None
        if found is None:
            return None
        agency = profile.agencies.get(found.agency)
        return followup_message(
            session=session,
            campaign=campaign,
            lang=lang,
            agency_name=agency.label(lang) if agency else found.agency,
            code_label=subject_label(found, lang),
        )

    deliveries = DeliveryFactory(
        secret=settings.secret_key,
        bot_username=settings.telegram_bot_username,
        public_url=settings.public_url,
        survey=survey,
        notice=notice,
    )
    return CampaignSender(
        sessions=sessions,
        channels=make_channels(settings, options.concurrency, sessions),
        deliveries=deliveries,
        journal=Journal(settings.var_dir / "campaign-journal"),
        options=options,
    )
