"""What every process talking to the Bot API shares: its address under TELEGRAM_BASE_URL,
the Bot made with it, and the wait a 429 asks for. (The aiohttp transport itself is
exercised by the campaign sender's tests.)"""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import timedelta

import pytest
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.telegram import AiohttpRequest, BotApiUrls, bot_api_urls, make_bot, retry_after_seconds
from civic.settings import Settings, get_settings


def _settings(base_url: str | None, token: str | None = "123:abc") -> Settings:
    return replace(get_settings(), telegram_base_url=base_url, telegram_bot_token=token)


@pytest.mark.parametrize(
    "given",
    ["http://127.0.0.1:8081", "http://127.0.0.1:8081/", "http://127.0.0.1:8081/bot"],
)
def test_the_base_url_is_taken_with_or_without_bot(given: str) -> None:
    assert bot_api_urls(_settings(given)) == BotApiUrls(
        base_url="http://127.0.0.1:8081/bot",
        base_file_url="http://127.0.0.1:8081/file/bot",
    )


def test_without_a_base_url_telegrams_own_is_used() -> None:
    assert bot_api_urls(_settings(None)) is None
    bot = make_bot(settings=_settings(None), request=AiohttpRequest())
    assert bot.base_url == "https://api.telegram.org/bot123:abc"


def test_a_bot_talks_to_the_configured_api() -> None:
    request = AiohttpRequest()
    bot = make_bot(settings=_settings("http://127.0.0.1:8081/"), request=request)
    assert (bot.token, bot.base_url, bot.base_file_url) == (
        "123:abc",
        "http://127.0.0.1:8081/bot123:abc",
        "http://127.0.0.1:8081/file/bot123:abc",
    )
    assert bot.request is request


def _flood(seconds: int | timedelta) -> RetryAfter:
    with warnings.catch_warnings():  # PTB's own constructor reads the deprecated attribute
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return RetryAfter(seconds)


@pytest.mark.parametrize("opt_in", [False, True])
def test_retry_after_is_read_in_seconds_without_a_warning(
    opt_in: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether python-telegram-bot hands out seconds or (opted in) a timedelta."""
    if opt_in:
        monkeypatch.setenv("PTB_TIMEDELTA", "1")
    else:
        monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert retry_after_seconds(_flood(7)) == 7.0
        assert retry_after_seconds(_flood(timedelta(seconds=2.5))) == 2.5
