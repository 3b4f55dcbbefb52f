"""The assistant's replies as one short text message, and the TwiML that carries it.

SMS has no buttons: a survey question's answers are numbered as the survey reads them
(`civic.surveys.numbered_answers`), any other buttons 1, 2, 3 …, and these become a
numbered menu of the conversation, so a reply of "2" chooses the second. Images are left
out; the whole is cut to what one message may hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from civic.i18n import t
from civic.replies import BotMessage
from civic.surveys import numbered_answers

# The gateway's limit for one message's body (ten segments of GSM-7).
MAX_BODY = 1600


@dataclass
class SmsText:
    body: str
    # the numbered choices, in the shape of the conversation's numbered menu
    menu: list[dict[str, Any]] = field(default_factory=list)


def _survey_question(reply: BotMessage) -> bool:
    return any(b.payload.startswith("sv:") for b in reply.buttons)


def render(replies: list[BotMessage], language: str) -> SmsText:
    """All replies as one message: texts, then numbered choices."""
    lines: list[str] = []
    menu: list[dict[str, Any]] = []
    for reply in replies:
        if reply.text:
            lines.append(reply.text.strip())
        if _survey_question(reply):
            answers = numbered_answers(reply.buttons)
            lines += [f"{number}. {button.title}" for number, button in answers]
            several = any(b.payload.startswith("sv:m:") for b in reply.buttons)
            if answers:
                lines.append(t("sms.several" if several else "sms.reply_digit", language))
        elif reply.buttons:
            lines.append(t("sms.choices", language))
            for number, button in enumerate(reply.buttons, start=len(menu) + 1):
                lines.append(f"{number}. {button.title}")
                menu.append({"payload": button.payload, "replies": [str(number), button.title]})
    body = "\n".join(line for line in lines if line)
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 1] + "…"
    return SmsText(body, menu)


def twiml(body: str | None) -> str:
    """The gateway's answer: `<Response/>`, or one message back to the sender."""
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    if not body:
        return f"{head}<Response/>"
    return f"{head}<Response><Message>{escape(body)}</Message></Response>"
