"""Agency users, desk sessions, API keys and channels, and who may see and act on
which ticket."""

from civic.agencies._service import (
    ROLES,
    SESSION_TTL,
    Viewer,
    actor_of,
    api_key_for,
    authenticate,
    can_access,
    can_act,
    create_api_key,
    create_user,
    digest,
    disable_user,
    end_session,
    revoke_api_key,
    set_channel,
    start_session,
    ticket_scope,
    user_for_session,
)

__all__ = [
    "ROLES",
    "SESSION_TTL",
    "Viewer",
    "actor_of",
    "api_key_for",
    "authenticate",
    "can_access",
    "can_act",
    "create_api_key",
    "create_user",
    "digest",
    "disable_user",
    "end_session",
    "revoke_api_key",
    "set_channel",
    "start_session",
    "ticket_scope",
    "user_for_session",
]
