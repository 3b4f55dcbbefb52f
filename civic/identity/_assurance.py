"""Assurance levels: how sure we are that a rating or an answer comes from one real person.

    anonymous       a web-chat session: anyone can open as many as they like
    account         a messaging account (Telegram): costs a phone number to make
    verified_phone  a phone number proven with a one-time code, or Telegram's own-contact
                    button
    invited         arrived with a personal invitation token (a sampled household)

A citizen's level only ever rises. Each rating and answer keeps the level its author had
at the time, so figures can be counted by level; the profile says which levels feed a
department's score (by default the verified ones), and the rest is shown apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.models import Citizen

ANONYMOUS = "anonymous"
ACCOUNT = "account"
VERIFIED_PHONE = "verified_phone"
INVITED = "invited"
LEVELS = (ANONYMOUS, ACCOUNT, VERIFIED_PHONE, INVITED)
# What counts towards a score unless the profile says otherwise.
DEFAULT_COUNTED = frozenset({VERIFIED_PHONE, INVITED})
_RANK = {level: rank for rank, level in enumerate(LEVELS)}
# The least a first message on each channel proves.
_CHANNEL_LEVEL = {"web": ANONYMOUS}


def channel_level(channel: str) -> str:
    """The level a citizen has from the channel they write on: a web session proves
    nothing; a messaging account is an account."""
    return _CHANNEL_LEVEL.get(channel, ACCOUNT)


def raise_level(citizen: Citizen, level: str) -> bool:
    """Raise the citizen's level to `level` if that is higher; True when it changed."""
    if level not in _RANK:
        raise ValueError(f"unknown assurance level {level!r}")
    if _RANK[level] > _RANK.get(citizen.assurance or ANONYMOUS, 0):
        citizen.assurance = level
        return True
    return False


def parse_levels(values: Iterable[object], where: str) -> frozenset[str]:
    """Levels named in a profile, checked; ValueError naming `where` otherwise."""
    levels = frozenset(str(v) for v in values)
    unknown = sorted(levels - set(LEVELS))
    if unknown:
        raise ValueError(f"{where}: unknown assurance level(s) {', '.join(unknown)}")
    if not levels:
        raise ValueError(f"{where}: name at least one assurance level")
    return levels
