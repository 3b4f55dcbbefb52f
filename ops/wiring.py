"""Building the long-lived parts of a process from the settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.assistant import Conversation, PhoneVerification, RasaClient, sqlite_tracker_path
from bot.delivery import SmsGateway
from bot.wechat import WeChatAccount, WeChatChannel, WeChatClient
from civic.city import get_profile
from civic.identity import PhoneCodes
from civic.notices import ANSWER_PREFIX, answer_in_chat
from civic.replies import BotMessage
from civic.settings import Settings
from civic.surveys import ButtonHandler, SurveyChat
from storage.db import session_factory
from storage.media import MediaStore
from storage.models import Citizen
from storage.ratelimit import RateLimiter, make_store
from storage.updates import DatabaseLedger, RedisLedger, UpdateLedger


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def make_ledger(settings: Settings, sessions: sessionmaker[Session]) -> UpdateLedger:
    if settings.redis_url:
        return RedisLedger(_redis(settings.redis_url))
    return DatabaseLedger(sessions)


def make_verification(settings: Settings, sessions: sessionmaker[Session]) -> PhoneVerification:
    """/verify: codes by SMS when a gateway is configured; without one, Telegram's contact
    button is the only way, and the web chat says so."""
    configured = all(
        (
            settings.sms_gateway_url,
            settings.sms_account_sid,
            settings.sms_auth_token,
            settings.sms_from,
        )
    )
    return PhoneVerification(
        sessions=sessions,
        codes=PhoneCodes(settings.secret_key),
        sms=SmsGateway.from_settings(settings) if configured else None,
    )


def notice_answers(secret: str) -> ButtonHandler:
    """A notice follow-up's one-tap answers, checked against the signed token."""

    def answer(
        session: Session, citizen: Citizen, payload: str, lang: str, now: datetime
    ) -> list[BotMessage]:
        return answer_in_chat(
            session=session, citizen=citizen, payload=payload, secret=secret, now=now, lang=lang
        )

    return answer


def make_conversation(settings: Settings) -> tuple[Conversation, sessionmaker[Session]]:
    sessions = session_factory(settings.database_url, writes=True)
    rasa = RasaClient(settings.rasa_url, token=settings.rasa_auth_token)
    # Where `civicbot run` points Rasa's tracker store: Redis, else a SQLite file.
    tracker_db = None if settings.redis_url else sqlite_tracker_path(settings.var_dir)
    tracker_redis = _redis(settings.redis_url) if settings.redis_url else None
    surveys = SurveyChat(
        sessions=sessions,
        profile=get_profile(settings.profiles_dir, settings.profile),
        secret=settings.secret_key,
        limiter=RateLimiter(make_store(settings.redis_url)),
        subscribe_per_day=settings.subscribe_per_day,
        buttons={ANSWER_PREFIX: notice_answers(settings.secret_key)},
    )
    conversation = Conversation(
        rasa=rasa,
        sessions=sessions,
        ledger=make_ledger(settings, sessions),
        tracker_db=tracker_db,
        tracker_redis=tracker_redis,
        surveys=surveys,
        verification=make_verification(settings, sessions),
    )
    return conversation, sessions


def make_wechat_channel(
    settings: Settings, conversation: Conversation, sessions: sessionmaker[Session]
) -> WeChatChannel | None:
    """The WeChat server endpoint for the web app, or None when WeChat is not configured."""
    if not settings.wechat_enabled:
        return None
    client = WeChatClient(
        app_id=settings.wechat_app_id or "",
        app_secret=settings.wechat_app_secret or "",
        base_url=settings.wechat_api_base_url,
    )
    account = WeChatAccount(
        token=settings.wechat_token or "",
        app_id=settings.wechat_app_id or "",
        aes_key=settings.wechat_aes_key,
    )
    return WeChatChannel(
        account=account,
        conversation=conversation,
        sessions=sessions,
        client=client,
        ledger=make_ledger(settings, sessions),
        media=MediaStore(settings.var_dir / "media"),
        limiter=RateLimiter(make_store(settings.redis_url)),
        per_user_per_minute=settings.wechat_limit_per_user,
    )
