"""What every process does before it starts, whichever command started it."""

from __future__ import annotations

from civic.settings import Settings


def prepare(settings: Settings) -> None:
    """Checks shared by every process: the profile loads and the schema is current; and
    the outbox rows it commits are announced on Redis too when REDIS_URL is set."""
    from civic.city import get_profile
    from civic.surveys import sync_profile_surveys
    from storage.db import migrate, session_scope
    from storage.wakeups import announce_on_redis

    announce_on_redis(settings.redis_url)

    profile = get_profile(settings.profiles_dir, settings.profile)
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        sync_profile_surveys(
            session=session, directory=profile.path / "surveys", agencies=profile.agencies
        )
