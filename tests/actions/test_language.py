"""The `language` slot follows what the citizen writes, on every message."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ValidateSlotMappings

DOMAIN: dict[str, Any] = {
    "slots": {"language": {"type": "text", "mappings": [{"type": "custom"}]}},
    "forms": {},
}


def run(text: str, slot: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
    latest = {"text": text, "intent": {"name": "greet"}, "entities": [], "metadata": metadata}
    tracker = Tracker("citizen", {"language": slot}, latest, [], False, None, {}, "action_listen")
    events = asyncio.run(ValidateSlotMappings().run(CollectingDispatcher(), tracker, DOMAIN))
    return [{"name": e["name"], "value": e["value"]} for e in events if e["event"] == "slot"]


@pytest.mark.parametrize(
    ("text", "metadata", "expected"),
    [
        ("你好", {"language": "zh"}, "zh"),  # the script of the message
        ("123", {"language": "zh"}, "zh"),  # no script: the channel's language
    ],
)
def test_the_slot_is_set_on_every_message_without_a_warning(
    text: str, metadata: dict[str, Any], expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert run(text, "zh", metadata) == [{"name": "language", "value": expected}]
    assert not [r for r in caplog.records if "Skipping validation" in r.getMessage()]
