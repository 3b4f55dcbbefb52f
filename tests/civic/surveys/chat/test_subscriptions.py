"""/subscribe, limited per citizen and day, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from civic.city import Profile
from civic.surveys import SurveyChat
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.ratelimit import MemoryStore, RateLimiter

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


@pytest.fixture
def chat(database_url: str, profile: Profile) -> SurveyChat:
    return SurveyChat(
        sessions=session_factory(database_url),
        profile=profile,
        secret="test-secret",
        limiter=RateLimiter(MemoryStore()),
        subscribe_per_day=5,
    )


def citizen(database_url: str, address: str) -> int:
    with session_factory(database_url).begin() as session:
        return get_or_create_citizen(session=session, channel="web", address=address).id


def first_text(chat: SurveyChat, who: int, lang: str, now: datetime = NOW) -> str:
    replies = chat.handle(who, lang, "payload", "/subscribe", now=now)
    assert replies is not None
    return replies[0].text or ""


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "You have started the survey sign-up 5 times today, the most in one day. "
         "Please try again tomorrow."),
        ("zh", "您今天已经 5 次开始订阅调查,达到了每天的上限。请明天再试。"),
    ],
)  # fmt: skip
def test_the_sixth_sign_up_of_a_day_is_refused(
    chat: SurveyChat, database_url: str, lang: str, text: str
) -> None:
    who = citizen(database_url, "web-session-000001")
    started = [first_text(chat, who, lang) for _ in range(5)]
    assert all(t != text and t for t in started)
    assert first_text(chat, who, lang) == text
    assert first_text(chat, who, lang, NOW + timedelta(days=1)) != text
    other = citizen(database_url, "web-session-000002")
    assert first_text(chat, other, lang) != text


def test_without_a_limiter_there_is_no_limit(database_url: str, profile: Profile) -> None:
    chat = SurveyChat(sessions=session_factory(database_url), profile=profile, secret="s")
    who = citizen(database_url, "web-session-000003")
    assert len({first_text(chat, who, "en") for _ in range(8)}) == 1
