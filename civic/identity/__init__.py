"""Who a citizen is on a channel that has no identity of its own: the web chat's signed,
server-issued sessions."""

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
    "SESSION_ID",
    "SessionExpired",
    "SessionInvalid",
    "SessionPolicy",
    "SessionRefused",
    "WebSession",
    "WebSessions",
    "web_sessions",
]
