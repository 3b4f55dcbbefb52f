"""The smart assistant every channel talks to: the channel-neutral conversation
(`Conversation`) and the one client of the Rasa server."""

from bot.assistant._conversation import Conversation, Incoming, is_emoji_only
from bot.assistant._rasa_client import RasaClient
from bot.assistant._scheduled import JOBS

__all__ = [
    "JOBS",
    "Conversation",
    "Incoming",
    "RasaClient",
    "is_emoji_only",
]
