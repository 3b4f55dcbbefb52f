"""The Telegram channel: the citizens' gateway, the agencies' duty groups, the Bot API
transport and its errors, text splitting and the button payload codec."""

from bot.telegram._budgeted import BudgetLimiter
from bot.telegram._duty_group import DutyDesk
from bot.telegram._duty_posts import DutyReport, deliver_duty_messages
from bot.telegram._gateway import CALLBACK_DATA_LIMIT, PayloadCodec, TelegramGateway, split_text
from bot.telegram._scheduled import JOBS
from bot.telegram._transport import (
    ON_THE_WIRE,
    AiohttpRequest,
    BotApiUrls,
    bot_api_urls,
    budget_for,
    close_bot,
    make_bot,
    retry_after_seconds,
)

__all__ = [
    "CALLBACK_DATA_LIMIT",
    "JOBS",
    "ON_THE_WIRE",
    "AiohttpRequest",
    "BotApiUrls",
    "BudgetLimiter",
    "DutyDesk",
    "DutyReport",
    "PayloadCodec",
    "TelegramGateway",
    "bot_api_urls",
    "budget_for",
    "close_bot",
    "deliver_duty_messages",
    "make_bot",
    "retry_after_seconds",
    "split_text",
]
