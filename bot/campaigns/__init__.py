"""Sending survey invitation campaigns: the sender, its channels and its crash journal."""

from bot.campaigns._channels import Channel, EmailChannel, SmsChannel, TelegramChannel, WebChannel
from bot.campaigns._deliveries import DeliveryFactory
from bot.campaigns._letters import print_letters
from bot.campaigns._runtime import make_sender, sender_lock
from bot.campaigns._scheduled import JOBS
from bot.campaigns._sender import CampaignSender, Pace, SenderOptions, SendReport

__all__ = [
    "JOBS",
    "CampaignSender",
    "Channel",
    "DeliveryFactory",
    "EmailChannel",
    "Pace",
    "SendReport",
    "SenderOptions",
    "SmsChannel",
    "TelegramChannel",
    "WebChannel",
    "make_sender",
    "print_letters",
    "sender_lock",
]
