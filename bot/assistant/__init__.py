"""The smart assistant every channel talks to: the channel-neutral conversation
(`Conversation`), what it answers before Rasa (`PhoneVerification`) and the one client
of the Rasa server."""

from bot.assistant._commands import (
    COMMANDS,
    DEEP_LINK_LIMIT,
    UNKNOWN_COMMAND,
    as_typed,
    command_payload,
)
from bot.assistant._conversation import Conversation, Incoming, is_emoji_only
from bot.assistant._rasa_client import RasaClient
from bot.assistant._scheduled import JOBS
from bot.assistant._trackers import REDIS_KEY_PREFIX, redis_tracker_key, sqlite_tracker_path
from bot.assistant._verification import PhoneVerification, SmsSender

__all__ = [
    "COMMANDS",
    "DEEP_LINK_LIMIT",
    "JOBS",
    "REDIS_KEY_PREFIX",
    "UNKNOWN_COMMAND",
    "Conversation",
    "Incoming",
    "PhoneVerification",
    "RasaClient",
    "SmsSender",
    "as_typed",
    "command_payload",
    "is_emoji_only",
    "redis_tracker_key",
    "sqlite_tracker_path",
]
