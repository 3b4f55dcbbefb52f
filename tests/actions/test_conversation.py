"""The actions for what is not a complaint, with hand-built trackers: an FAQ answer only
when the ResponseSelector is sure; a ticket number shows only one's own ticket; praise
and suggestions recorded for the agency they name or are about."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.complaints import ActionStartComplaint
from actions.conversation import ActionAnswerFaq, ActionRecordPraise, ActionRecordSuggestion
from actions.tickets import ActionMyTickets
from civic.i18n import t
from civic.routing import RoutingDecision
from civic.settings import get_settings
from civic.tickets import create_ticket
from storage.citizens import get_or_create_citizen
from storage.db import engine_for, migrate, session_factory
from storage.models import Feedback, Ticket


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'actions.db'}"
    migrate(url)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    engine_for(url).dispose()


def run(action: Action, sender: str, latest: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    tracker = Tracker(sender, {"language": lang}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages


def faq(ranking: list[tuple[str, float]]) -> dict[str, Any]:
    entries = [{"intent_response_key": f"faq/{k}", "confidence": c} for k, c in ranking]
    return {"text": "?", "response_selector": {"faq": {"ranking": entries}}}


def test_an_faq_answer_only_when_sure_else_the_two_closest_questions() -> None:
    sure = run(ActionAnswerFaq(), "x", faq([("how_scoring_works", 0.9)]), "en")
    assert [m.get("response") for m in sure] == ["utter_faq/how_scoring_works"]
    unsure = run(
        ActionAnswerFaq(), "x", faq([("how_scoring_works", 0.3), ("complaint_process", 0.2)]), "en"
    )
    assert unsure[0]["text"] == t("faq_unsure.text", "en")
    titles = [b["title"] for b in unsure[0]["buttons"]]
    assert titles == [
        "how is the comprehensive evaluation scored",
        "what happens after I file a complaint",
        t("faq_unsure.search", "en"),
    ]


def _citizen_with_ticket(url: str, address: str, category: str) -> tuple[str, str]:
    with session_factory(url).begin() as session:
        citizen = get_or_create_citizen(session=session, channel="telegram", address=address)
        ticket = create_ticket(
            session=session,
            citizen_id=citizen.id,
            description="x",
            language="zh",
            decision=RoutingDecision(category, "urban-management", "binjiang", 0.9),
            ticket_prefix="HZ",
            due_at=None,
        )
        return citizen.public_id, str(ticket.number)


def test_a_ticket_number_shows_ones_own_ticket_and_nothing_of_anyone_elses(
    database: str,
) -> None:
    me, mine = _citizen_with_ticket(database, "1", "street-light")
    _, theirs = _citizen_with_ticket(database, "2", "garbage-collection")
    [own] = run(ActionMyTickets(), me, {"text": f"{mine.lower()} 怎么样了", "entities": []}, "zh")
    assert own["text"].startswith(f"您反映的问题 {mine}")
    entity = {"entity": "ticket", "value": theirs}
    [other] = run(ActionMyTickets(), me, {"text": f"{theirs}呢", "entities": [entity]}, "zh")
    assert other["text"] == t("tickets_lookup.not_yours", "zh", number=theirs)


def test_a_description_picks_the_matching_ticket(database: str) -> None:
    me, light = _citizen_with_ticket(database, "3", "street-light")
    with session_factory(database).begin() as session:
        citizen = get_or_create_citizen(session=session, channel="telegram", address="3")
        bins = create_ticket(
            session=session,
            citizen_id=citizen.id,
            description="y",
            language="en",
            decision=RoutingDecision("garbage-collection", "urban-management", None, 0.9),
            ticket_prefix="HZ",
            due_at=None,
        ).number
    [reply] = run(ActionMyTickets(), me, {"text": "is the street light one fixed yet"}, "en")
    assert light in reply["text"] and str(bins) not in reply["text"]


def start(sender: str, text: str, lang: str) -> tuple[list[dict[str, Any]], list[dict]]:
    """What action_start_complaint shows and returns for `text` read as a complaint."""
    latest = {"text": text, "intent": {"name": "complaint", "confidence": 0.9}}
    tracker = Tracker(sender, {"language": lang}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionStartComplaint().run(dispatcher, tracker, {}))
    return dispatcher.messages, events


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("did they patch the pothole i told you about", "en"),  # refers to one's own report
        ("update on the road i reported?", "en"),
        ("马路上那个坑我报过的 补了吗", "zh"),
        ("路面塌了那个投诉怎么样了", "zh"),
        ("the road damage, whats the status", "en"),  # asks and names one's ticket's subject
    ],
)
def test_a_complaint_about_ones_own_report_shows_it_instead_of_a_new_form(
    database: str, text: str, lang: str
) -> None:
    me, road = _citizen_with_ticket(database, "5", "road-damage")
    shown, events = start(me, text, lang)
    assert [road in m["text"] for m in shown] == [True]
    assert [(e["event"], e.get("name")) for e in events] == [("followup", "action_listen")]


@pytest.mark.parametrize(
    "text",
    [
        "the road outside no 5 is full of potholes",  # a new complaint
        "the street light, whats the status",  # asks, but about nothing of theirs
    ],
)
def test_a_new_complaint_starts_the_form_even_for_a_citizen_with_tickets(
    database: str, text: str
) -> None:
    me, _ = _citizen_with_ticket(database, "6", "road-damage")
    shown, events = start(me, text, "en")
    assert shown == []
    assert {"event": "slot", "timestamp": None, "name": "complaint_text", "value": text} in events


def test_without_tickets_a_reference_to_a_report_is_a_complaint(database: str) -> None:
    shown, events = start("nobody-yet", "the pothole i reported last week is still there", "en")
    assert shown == [] and any(e.get("name") == "complaint_text" for e in events)


def test_praise_and_suggestions_are_recorded_for_the_agency(database: str) -> None:
    me, _ = _citizen_with_ticket(database, "4", "street-light")
    [praise] = run(ActionRecordPraise(), me, {"text": "我要表扬一下西湖区城管的工作人员"}, "zh")
    assert praise["text"] == t("feedback.praise_thanks", "zh", agency="城市管理局")
    [idea] = run(ActionRecordSuggestion(), me, {"text": "建议多开几条夜间公交线路"}, "zh")
    assert idea["text"] == t("feedback.suggestion_thanks", "zh", agency="交通运输局")
    with session_factory(database)() as session:
        rows = session.scalars(select(Feedback).order_by(Feedback.id)).all()
        tickets = session.scalars(select(Ticket)).all()
    assert [(r.kind, r.agency, r.district) for r in rows] == [
        ("praise", "urban-management", "xihu"),
        ("suggestion", "transport", None),
    ]
    assert len(tickets) == 1  # neither is a complaint


@pytest.mark.parametrize(
    ("text", "lang"),
    [("腰疼贴什么膏药好", "zh"), ("will it be sunny on sunday", "en")],
)
def test_a_suggestion_about_nothing_the_city_does_is_out_of_scope(
    database: str, text: str, lang: str
) -> None:
    """Read as a suggestion, but it proposes nothing and no agency does what it is about."""
    [reply] = run(ActionRecordSuggestion(), "s1", {"text": text, "intent": {}}, lang)
    assert reply["text"] == t("conversation.out_of_scope", lang)
    with session_factory(database)() as session:
        assert session.scalars(select(Feedback)).all() == []


def test_an_unrouted_proposal_is_still_a_suggestion(database: str) -> None:
    text = "it would be nice if there were more free community events"
    [reply] = run(ActionRecordSuggestion(), "s2", {"text": text, "intent": {}}, "en")
    assert reply["text"] == t("feedback.suggestion_thanks_unrouted", "en")
    with session_factory(database)() as session:
        assert [f.kind for f in session.scalars(select(Feedback))] == ["suggestion"]


def test_keysmash_read_as_a_complaint_is_not_understood_and_starts_no_form(
    database: str,
) -> None:
    messages, events = start("k1", "blorp fnord xyzzy", "en")
    assert [m["text"] for m in messages] == [t("fallback.rephrase", "en")]
    assert events == [{"event": "followup", "name": "action_listen", "timestamp": None}]
