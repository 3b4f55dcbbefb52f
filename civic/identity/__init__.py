"""Who is speaking, and how sure we are: assurance levels (a citizen's level only
rises), and the web chat's signed, server-issued sessions (the one channel with no
identity of its own)."""

from civic.identity._assurance import (
    ACCOUNT,
    ANONYMOUS,
    DEFAULT_COUNTED,
    INVITED,
    LEVELS,
    VERIFIED_PHONE,
    channel_level,
    parse_levels,
    raise_level,
)
from civic.identity._web_sessions import (
    SESSION_ID,
    SessionExpired,
    SessionInvalid,
    SessionPolicy,
    SessionRefused,
    WebSession,
    WebSessions,
    web_sessions,
)

__all__ = [
    "ACCOUNT",
    "ANONYMOUS",
    "DEFAULT_COUNTED",
    "INVITED",
    "LEVELS",
    "SESSION_ID",
    "VERIFIED_PHONE",
    "SessionExpired",
    "SessionInvalid",
    "SessionPolicy",
    "SessionRefused",
    "WebSession",
    "WebSessions",
    "channel_level",
    "parse_levels",
    "raise_level",
    "web_sessions",
]
