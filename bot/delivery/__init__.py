"""What the senders share: the send journal, the Telegram send budget (on the per-second
send meter without Redis), pace, SMS, e-mail, printed letters and agencies' webhooks."""

from bot.delivery._budget import Priority, SendBudget, make_budget
from bot.delivery._email import (
    EmailRejected,
    EmailRetryLater,
    EmailSender,
    EmailSenderMisconfigured,
    RenderedEmail,
    render_invitation_email,
)
from bot.delivery._journal import Journal
from bot.delivery._letters import Letter, letters_pdf
from bot.delivery._meter import SendMeter
from bot.delivery._pace import Clock, Sleep, TokenBucket
from bot.delivery._scheduled import JOBS
from bot.delivery._sms import (
    SmsError,
    SmsGateway,
    SmsGatewayMisconfigured,
    SmsRejected,
    SmsRetryLater,
    is_gsm7,
    sms_segments,
)
from bot.delivery._webhooks import deliver_alerts, sign, verify_signature

__all__ = [
    "JOBS",
    "Clock",
    "EmailRejected",
    "EmailRetryLater",
    "EmailSender",
    "EmailSenderMisconfigured",
    "Journal",
    "Letter",
    "Priority",
    "RenderedEmail",
    "SendBudget",
    "SendMeter",
    "Sleep",
    "SmsError",
    "SmsGateway",
    "SmsGatewayMisconfigured",
    "SmsRejected",
    "SmsRetryLater",
    "TokenBucket",
    "deliver_alerts",
    "is_gsm7",
    "letters_pdf",
    "make_budget",
    "render_invitation_email",
    "sign",
    "sms_segments",
    "verify_signature",
]
