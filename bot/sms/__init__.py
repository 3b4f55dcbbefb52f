"""Two-way SMS: the gateway's inbound webhook, its signature, and texts from citizens
answered as STOP, survey answers or the assistant's turn."""

from bot.sms._inbound import SmsInbound
from bot.sms._render import SmsText, render, twiml
from bot.sms._signature import signature, valid_signature
from bot.sms._webhook import PATH, sms_router

__all__ = [
    "PATH",
    "SmsInbound",
    "SmsText",
    "render",
    "signature",
    "sms_router",
    "twiml",
    "valid_signature",
]
