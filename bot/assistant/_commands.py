"""What a citizen may send that is not plain text, on any channel.

A command (`/menu`, `/start <link>`) is something anyone may type: it maps to a fixed
payload, and a deep link's argument is checked by whoever reads it (an invitation or a
window code is signed). A button's payload is different: the client sends it, so on the
web it is whatever a script likes. `Conversation` accepts a tapped payload only if it was
offered to that citizen (civic.identity) or authenticates itself; anything else is read as
typed text, with a leading "/" defused so Rasa cannot take it as `/intent{entities}`.
"""

from __future__ import annotations

import re

# Telegram's command menu and the web chat's typed commands: command → payload.
COMMANDS = {
    "start": "/greet",
    "menu": "/menu",
    "help": "/help",
    "tickets": "/check_status",
    "language": "/switch_language",
    "bot": "/bot_return",
    # Surveys (civic.surveys' chat answers these before the assistant does).
    "subscribe": "/subscribe",
    "stop": "/stop",
    "survey": "/survey",
    # Proving a phone number (bot.assistant's PhoneVerification answers it).
    "verify": "/verify",
}
UNKNOWN_COMMAND = "/help"
# A deep link's argument, as Telegram allows it after ?start=.
DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEEP_LINK_LIMIT = 64
# Payloads that carry their own proof or choose nothing a citizen could abuse: an
# invitation's start button and a notice follow-up's answer (their tokens are signed and
# checked) and the widget's own language switch.
_SELF_AUTHENTICATING = (
    re.compile(r"^sv:i:[A-Za-z0-9_-]{1,64}$"),
    # a notice follow-up's one-tap answer: signed, and checked against the citizen
    re.compile(r"^nt:[A-Za-z0-9_-]{1,64}:(?:better|same|worse)$"),
    re.compile(r'^/switch_language\{"language":"(?:zh|en)"\}$'),
)
_TYPED_COMMAND = re.compile(r"^/([A-Za-z_]{1,32})(?:@\w+)?(?:\s+(\S.*))?$", re.DOTALL)


def command_payload(text: str) -> str | None:
    """The payload a typed command stands for, or None when `text` is not one of ours.

    '/menu' → '/menu'; '/start w_12_…' → '/start w_12_…'; '/start' → '/greet'.
    """
    match = _TYPED_COMMAND.match(text.strip())
    if match is None or match.group(1).lower() not in COMMANDS:
        return None
    command, argument = match.group(1).lower(), (match.group(2) or "").strip()
    if command == "start" and DEEP_LINK.match(argument):
        return f"/start {argument}"
    return COMMANDS[command]


def authenticates_itself(payload: str) -> bool:
    return any(pattern.match(payload) for pattern in _SELF_AUTHENTICATING)


def as_typed(text: str) -> str:
    """Text that cannot be read as a payload: a leading '/' becomes a full-width '／'."""
    stripped = text.lstrip()
    return "／" + stripped[1:] if stripped.startswith("/") else text
