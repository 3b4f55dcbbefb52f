"""A long conversation at rest starts a new Rasa session, with its slots carried over.

ops/rasa_tracker_store.py runs inside the Rasa server, so this runs it there: in the
Rasa environment, against Rasa's own SQL tracker store on a real SQLite file.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from civic.settings import PROJECT_ROOT
from ops.training import RASA_PYTHON, rasa_environment
from tests.conftest import REDIS_URL

# Plays turns into a BoundedSQLTrackerStore (at most 12 events a session) as Rasa would,
# saving after each, and prints what Rasa then loads and what it keeps.
SCRIPT = r"""
import asyncio, json, sys
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered)
from rasa.core.tracker_store import RedisTrackerStore
from ops.rasa_tracker_store import BoundedRedisTrackerStore, BoundedSQLTrackerStore

domain = Domain.from_yaml('''
version: "3.1"
intents: [greet, report]
slots:
  language:
    {type: text, initial_value: zh, influence_conversation: false, mappings: [{type: custom}]}
  location: {type: text, influence_conversation: false, mappings: [{type: custom}]}
forms:
  complaint_form: {required_slots: [location]}
responses:
  utter_greet: [{text: hi}]
session_config: {session_expiration_time: 60, carry_over_slots_to_new_session: true}
''')
if sys.argv[1] == "sql":
    store = BoundedSQLTrackerStore(domain=domain, dialect="sqlite", db=sys.argv[2],
                                   session_max_events=12)
else:
    host, port, db = sys.argv[2:5]
    redis = dict(host=host, port=int(port), db=int(db), key_prefix="bench")
    store = BoundedRedisTrackerStore(domain=domain, session_max_events=12, **redis)

async def turn(events):
    tracker = await store.get_or_create_tracker("citizen-1")
    tracker.update_with_events(events, domain)
    await store.save(tracker)
    return await store.retrieve("citizen-1")

def greet(n):
    return [UserUttered(f"hello {n}", {"name": "greet"}), SlotSet("language", "en"),
            ActionExecuted("utter_greet"), BotUttered(f"hi {n}"),
            ActionExecuted("action_listen")]

async def main():
    seen = []
    for n in range(3):
        tracker = await turn(greet(n))
        seen.append({"events": len(tracker.events), "slots": tracker.current_slot_values()})
    # a form under way: the session goes on however long it is
    form = [UserUttered("pothole", {"name": "report"}), ActionExecuted("complaint_form"),
            ActiveLoop("complaint_form"), SlotSet("location", "West Lake"),
            SlotSet("requested_slot", "location"), ActionExecuted("action_listen")]
    tracker = await turn(form)
    seen.append({"events": len(tracker.events), "loop": tracker.active_loop_name})
    tracker = await turn([UserUttered("done", {"name": "greet"}),
                          ActionExecuted("complaint_form"), ActiveLoop(None),
                          SlotSet("requested_slot", None), ActionExecuted("action_listen")])
    seen.append({"events": len(tracker.events), "loop": tracker.active_loop_name,
                 "slots": tracker.current_slot_values(),
                 "types": [e.type_name for e in tracker.events]})
    full = await store.retrieve_full_tracker("citizen-1")
    seen.append({"all": len(full.events),
                 "texts": [e.text for e in full.events if isinstance(e, UserUttered)]})
    if sys.argv[1] == "redis":  # Rasa's own Redis store reads what this one wrote
        rasa = RedisTrackerStore(domain=domain, **redis)
        own = await rasa.retrieve("citizen-1")
        seen.append({"events": [e.as_dict() for e in own.events] ==
                               [e.as_dict() for e in tracker.events]})
    if sys.argv[1] == "sql":
        with store.engine.connect() as connection:
            pragmas = [connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                       for name in ("journal_mode", "synchronous")]
        seen.append({"pragmas": pragmas, "pool": type(store.engine.pool).__name__})
    print(json.dumps(seen))

asyncio.run(main())
"""


def run_in_rasa(*store: str) -> list[dict[str, object]]:
    if not RASA_PYTHON.exists():
        pytest.skip("the Rasa environment (.venv-rasa) is not installed")
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", SCRIPT, *store],
        env=rasa_environment(),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen: list[dict[str, object]] = json.loads(result.stdout.strip().splitlines()[-1])
    return seen


def check(seen: list[dict[str, object]]) -> None:
    first, second, third, in_form, after_form, full = seen[:6]
    slots = {"language": "en", "location": None, "requested_slot": None}
    slots["session_started_metadata"] = None
    # a new conversation's action_listen, then 5 events a turn: within the bound for two
    # turns; the third ends the session, and Rasa loads only the new one: its 4 events
    # (action_session_start, session_started, the language, action_listen)
    assert first == {"events": 6, "slots": slots}
    assert second == {"events": 11, "slots": slots}
    assert third == {"events": 4, "slots": slots}
    # a form runs on past the bound; the session ends once it is over
    assert in_form == {"events": 10, "loop": "complaint_form"}
    assert after_form == {
        "events": 5,
        "loop": None,
        "slots": {**slots, "location": "West Lake"},
        "types": ["action", "session_started", "slot", "slot", "action"],
    }
    # nothing said is lost: the full conversation holds every message
    assert full == {"all": 36, "texts": ["hello 0", "hello 1", "hello 2", "pothole", "done"]}


def test_a_long_sql_session_at_rest_restarts_with_its_slots_and_keeps_its_history(
    tmp_path: Path,
) -> None:
    seen = run_in_rasa("sql", str(tmp_path / "tracker.db"))
    check(seen)
    # write-ahead log, synced at checkpoints (1: NORMAL), on one connection kept open
    assert seen[6] == {"pragmas": ["wal", 1], "pool": "SingletonThreadPool"}


def test_the_redis_store_loads_and_saves_the_current_session_in_rasas_format(
    redis_client: object,
) -> None:
    url = urlparse(REDIS_URL)
    seen = run_in_rasa("redis", url.hostname or "127.0.0.1", str(url.port or 6379), url.path[1:])
    check(seen)
    assert seen[6] == {"events": True}
