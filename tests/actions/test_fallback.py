"""The two-stage fallback, with hand-built trackers (as rasa-sdk's own tests do)."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionHandleFallback, missed_before


def user_event(text: str, intent: str, ranking: list[tuple[str, float]]) -> dict[str, Any]:
    parse = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.2},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        "entities": [],
    }
    return {"event": "user", "text": text, "parse_data": parse}


def tracker(events: list[dict[str, Any]], lang: str = "en") -> Tracker:
    latest = events[-1]["parse_data"]
    return Tracker(
        "citizen-1", {"language": lang}, latest, events, False, None, {}, "action_listen"
    )


def run(events: list[dict[str, Any]], lang: str = "en") -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionHandleFallback().run(dispatcher, tracker(events, lang), {}))
    return dispatcher.messages


GIBBERISH = [("nlu_fallback", 0.25), ("help", 0.2), ("check_status", 0.15), ("greet", 0.1)]


def test_first_miss_asks_to_rephrase() -> None:
    [message] = run([user_event("qwrtz zzkp", "nlu_fallback", GIBBERISH)])
    assert message["text"].startswith("Sorry, I did not understand. Could you put it")
    assert message["buttons"] == []


def test_second_miss_in_a_row_offers_the_best_guesses_and_the_menu() -> None:
    events = [
        user_event("qwrtz zzkp", "nlu_fallback", GIBBERISH),
        user_event("blorp fnord", "nlu_fallback", GIBBERISH),
    ]
    assert missed_before(tracker(events)) is True
    [message] = run(events)
    assert message["text"] == "I still did not understand. Did you mean one of these?"
    assert [(b["title"], b["payload"]) for b in message["buttons"]] == [
        ("What can you do?", "/help"),
        ("My tickets", "/check_status"),
        ("Main menu", "/menu"),
    ]


def test_a_miss_after_an_understood_message_starts_again_at_stage_one() -> None:
    events = [
        user_event("hello", "greet", [("greet", 0.99)]),
        user_event("blorp fnord", "nlu_fallback", GIBBERISH),
    ]
    [message] = run(events, lang="zh")
    assert message["text"].startswith("抱歉,我没有理解您的意思。")


def test_an_unsure_complaint_starts_the_complaint_form() -> None:
    ranking = [("nlu_fallback", 0.25), ("complaint", 0.2), ("greet", 0.1)]
    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        ActionHandleFallback().run(
            dispatcher, tracker([user_event("it smells bad", "nlu_fallback", ranking)]), {}
        )
    )
    assert dispatcher.messages == []
    assert {"event": "followup", "timestamp": None, "name": "complaint_form"} in events
    assert {
        "event": "slot",
        "timestamp": None,
        "name": "complaint_text",
        "value": "it smells bad",
    } in events


KEYSMASH_AS_OUT_OF_SCOPE = [("out_of_scope", 0.2), ("nlu_fallback", 0.25), ("help", 0.1)]


def test_keysmash_ranked_out_of_scope_is_not_understood_rather_than_refused() -> None:
    [message] = run([user_event("qwrtz zzkp vvlm", "nlu_fallback", KEYSMASH_AS_OUT_OF_SCOPE)])
    assert message["text"].startswith("Sorry, I did not understand. Could you put it")


def test_a_real_question_ranked_out_of_scope_gets_the_out_of_scope_answer() -> None:
    [message] = run(
        [user_event("book me a table for two tonight", "nlu_fallback", KEYSMASH_AS_OUT_OF_SCOPE)]
    )
    assert message["text"].startswith("Sorry, that is not something I can help with")


def test_a_confident_out_of_scope_on_keysmash_still_counts_as_the_first_miss() -> None:
    events = [
        user_event("qwrtz zzkp vvlm", "out_of_scope", [("out_of_scope", 0.9)]),
        user_event("blorp fnord xyzzy", "nlu_fallback", GIBBERISH),
    ]
    [message] = run(events)
    assert message["text"] == "I still did not understand. Did you mean one of these?"
