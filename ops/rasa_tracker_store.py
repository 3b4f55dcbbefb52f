"""Rasa's tracker stores with a bounded conversation session.

On every turn Rasa loads every event of the conversation's current session, replays
them, sends them all to the action server with each custom action, and featurizes them
all for each prediction; a session ends only after the domain's
`session_expiration_time` of silence. So without a bound a turn costs more the longer a
citizen keeps talking. Here a session that has grown past `session_max_events` events
ends at the next turn that leaves the conversation at rest (waiting for the citizen, no
form running, not paused), exactly as Rasa ends an expired one: `action_session_start`,
`session_started`, the slots carried over (their values now), `action_listen`. The
dialogue already handles a new session (its rules look at the last turns only), and
earlier sessions stay stored (Rasa's full tracker, erasure).

Rasa's Redis store rebuilds the whole conversation, every session of it, event by event,
twice on each save and once on each load, and merges by comparing every new event with
every stored one once there is more than one session. The Redis store here keeps Rasa's
format (one JSON document per conversation, `{"events": [...], "name": ...}`) but loads
only the current session and appends what the turn added, as Rasa's SQL store does.

Runs inside the Rasa server (Python 3.10), named in the endpoints file that `civicbot
run` writes (ops/supervisor.py). Imports nothing of ours.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy
import sqlalchemy.orm
import sqlalchemy.pool
from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

NLU_FALLBACK = "nlu_fallback"
# About 8 ordinary turns (greeting, FAQ, small talk: 6 to 8 events each): fewer events
# to load, replay and send to the action server each turn (docs/benchmarks.md).
DEFAULT_SESSION_MAX_EVENTS = 60


def at_rest(tracker: DialogueStateTracker) -> bool:
    """Waiting for the citizen's next message, with nothing under way, after a message
    that was understood (a second miss in a row is answered differently)."""
    understood = (tracker.latest_message.intent or {}).get("name") not in (None, NLU_FALLBACK)
    return (
        tracker.latest_action_name == ACTION_LISTEN_NAME
        and tracker.active_loop_name is None
        and not tracker.is_paused()
        and tracker.followup_action is None
        and understood
    )


def new_session(tracker: DialogueStateTracker, domain: Domain) -> list[Event]:
    """The events with which Rasa starts a session, carrying over the slots' values."""
    started = SessionStarted()
    # In Rasa's order; `action_session_start` made after `session_started`, as Rasa logs
    # it once the action ran, so the new session holds it.
    events: list[Event] = [ActionExecuted(ACTION_SESSION_START_NAME), started]
    if domain.session_config.carry_over_slots:
        events += [
            SlotSet(name, slot.value)
            for name, slot in tracker.slots.items()
            if slot.value != slot.initial_value
        ]
    events.append(ActionExecuted(ACTION_LISTEN_NAME))
    return events


def end_long_session(tracker: DialogueStateTracker, domain: Domain, max_events: int) -> bool:
    """Start a new session in `tracker` if its session is long and at rest."""
    if max_events <= 0 or len(tracker.events) <= max_events or not at_rest(tracker):
        return False
    # Made after every event of the tracker, `session_started` first: Rasa's SQL store
    # loads a session from its latest `session_started` on, by timestamp.
    tracker.update_with_events(new_session(tracker, domain), domain, override_timestamp=False)
    return True


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    # A turn's save is one commit: in SQLite's default rollback-journal mode with full
    # sync that is several fsyncs, which profiled as a tenth of the Rasa server's time.
    # WAL with synchronous=NORMAL syncs at checkpoints; a power cut may lose the last
    # turns' history, never corrupt it.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class BoundedSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store, its sessions bounded to `session_max_events` events
    (0: unbounded). The tracker Rasa's SQL store loads is the current session only. On
    SQLite, in WAL mode."""

    def __init__(
        self, *args: Any, session_max_events: int = DEFAULT_SESSION_MAX_EVENTS, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.session_max_events = int(session_max_events)
        rasas: sqlalchemy.engine.Engine = self.engine  # type: ignore[has-type]
        if rasas.dialect.name == "sqlite":
            # One connection kept open (Rasa uses the store from its one event-loop
            # thread). Rasa's engine opens and closes a connection per load and save,
            # and closing the last connection to a WAL database checkpoints it.
            rasas.dispose()
            engine = sqlalchemy.create_engine(
                rasas.url, poolclass=sqlalchemy.pool.SingletonThreadPool
            )
            sqlalchemy.event.listen(engine, "connect", _sqlite_wal)
            self.engine = engine
            self.sessionmaker = sqlalchemy.orm.sessionmaker(bind=engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        end_long_session(tracker, self.domain, self.session_max_events)
        await super().save(tracker)


def session_start_index(events: list[dict[str, Any]]) -> int:
    """Where the latest session begins in serialised events: its `action_session_start`
    (where Rasa's Redis store splits sessions), or 0."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "action" and event.get("name") == ACTION_SESSION_START_NAME:
            return index
    return 0


class BoundedRedisTrackerStore(RedisTrackerStore):
    """Rasa's Redis tracker store, its sessions bounded as above, loading and saving the
    current session only. The tracker given to `save` is the current session as loaded
    (plus the turn's events), as Rasa's processor always passes it."""

    def __init__(
        self, *args: Any, session_max_events: int = DEFAULT_SESSION_MAX_EVENTS, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.session_max_events = int(session_max_events)

    def _stored_events(self, sender_id: str) -> list[dict[str, Any]]:
        stored = self.red.get(self.key_prefix + sender_id)
        return list(json.loads(stored).get("events") or []) if stored else []

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        events = self._stored_events(sender_id)
        if not events:
            return None
        current = events[session_start_index(events) :]
        return DialogueStateTracker.from_dict(sender_id, current, self.domain.slots)

    async def save(self, tracker: DialogueStateTracker, timeout: float | None = None) -> None:
        end_long_session(tracker, self.domain, self.session_max_events)
        await self.stream_events(tracker)
        stored = self._stored_events(tracker.sender_id)
        earlier = stored[: session_start_index(stored)]
        dialogue = {
            "events": earlier + [event.as_dict() for event in tracker.events],
            "name": tracker.sender_id,
        }
        self.red.set(
            self.key_prefix + tracker.sender_id,
            json.dumps(dialogue),
            ex=timeout or self.record_exp,
        )
