"""The conversation benchmark's judging (benchmarks/conversation.py): made-up replies
against the real catalogues, domain and FAQ; and how it seeds a status citizen's tickets
and reads back what a turn stored."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.conversation import (
    Case,
    Result,
    Seeded,
    SeedTicket,
    Seen,
    Texts,
    judge,
    load_set,
    observe,
    run_case,
    seed_status,
    table,
    write_misses,
)
from civic.city import Profile, load_site
from civic.feedback import record_feedback
from civic.handoffs import request_handoff
from civic.i18n import t
from civic.identity import WebSessions
from civic.settings import PROJECT_ROOT
from storage.citizens import get_or_create_citizen
from storage.db import session_scope
from storage.models import utcnow

# The domain's responses as the citizen reads them (nlu/domain.yml).
YOU_ARE_WELCOME_ZH = "不客气。还有什么可以帮您?"
IAMABOT_EN = "I am the city's automated smart assistant, not a person."
ASK_LOCATION_EN = (
    'Where is it? Type the district, road or a landmark (for example "Binjiang, Jiangnan '
    'Avenue"), or share a location pin.'
)
SEEDED = Seeded(
    own=[
        SeedTicket("HZ-2026-000011", "street-light", "Street lights", "submitted"),
        SeedTicket("HZ-2026-000012", "garbage-collection", "Garbage collection", "submitted"),
    ],
    other=SeedTicket("HZ-2026-000013", "water-outage", "Water outage", "submitted"),
)


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts(load_site(PROJECT_ROOT / "profiles" / "hangzhou"))


def right(
    texts: Texts, klass: str, expect: str, *shown: str, lang: str = "en", **stored: Any
) -> bool:
    """Is a reply of `shown` texts (and what `stored` says was stored) right?"""
    case = Case(lang, klass, "a message", expect)
    return judge(case, Seen(list(shown), **stored), texts, SEEDED)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_out_of_scope_is_right_only_with_its_own_text_in_the_language(
    texts: Texts, lang: str
) -> None:
    other = "en" if lang == "zh" else "zh"
    assert right(texts, "out_of_scope", "", t("conversation.out_of_scope", lang), lang=lang)
    assert not right(texts, "out_of_scope", "", t("conversation.out_of_scope", other), lang=lang)
    assert not right(texts, "out_of_scope", "", t("conversation.capabilities", lang), lang=lang)
    assert not right(texts, "out_of_scope", "", lang=lang)


def test_help_is_the_capabilities(texts: Texts) -> None:
    assert right(texts, "help", "", t("conversation.capabilities", "zh"), lang="zh")
    assert not right(texts, "help", "", t("conversation.out_of_scope", "zh"), lang="zh")


def test_small_talk_is_judged_by_the_catalogue_or_domain_reply(texts: Texts) -> None:
    greeting = t("assistant.greeting", "en", identities="1 Citizen\n2 Business")
    assert right(texts, "small_talk", "greet", greeting)
    assert not right(texts, "small_talk", "thanks", greeting)
    assert right(texts, "small_talk", "thanks", YOU_ARE_WELCOME_ZH, lang="zh")
    assert not right(texts, "small_talk", "thanks", YOU_ARE_WELCOME_ZH, lang="en")
    assert right(texts, "small_talk", "bot_challenge", IAMABOT_EN)
    assert right(texts, "small_talk", "how_are_you", t("conversation.how_are_you", "en"))
    assert not right(texts, "small_talk", "goodbye", IAMABOT_EN)


def test_faq_is_the_expected_entrys_answer(texts: Texts) -> None:
    answer = texts.faq["office_hours"].answer["en"]
    assert right(texts, "faq", "office_hours", answer)
    assert not right(texts, "faq", "sampling", answer)
    assert not right(texts, "faq", "office_hours", t("faq_unsure.text", "en"))


def test_praise_needs_the_thanks_and_a_row_for_the_named_agency(texts: Texts) -> None:
    thanks = t("feedback.praise_thanks", "en", agency="Water Affairs Bureau")
    recorded = [("praise", "water")]
    assert right(texts, "praise", "water", thanks, feedback=recorded)
    assert not right(texts, "praise", "urban-management", thanks, feedback=recorded)
    assert not right(texts, "praise", "water", thanks)  # thanked but nothing stored
    assert not right(texts, "praise", "water", thanks, feedback=[("suggestion", "water")])
    assert not right(texts, "praise", "water", thanks, feedback=recorded, new_tickets=1)
    assert not right(texts, "praise", "water", thanks, feedback=recorded, handoff=True)
    unnamed = t("feedback.praise_thanks_unnamed", "zh")
    assert right(texts, "praise", "", unnamed, lang="zh", feedback=[("praise", None)])
    # any agency will do when the message names none
    assert right(texts, "praise", "", thanks, feedback=recorded)


def test_suggestion_needs_its_own_thanks(texts: Texts) -> None:
    unrouted = t("feedback.suggestion_thanks_unrouted", "zh")
    assert right(texts, "suggestion", "", unrouted, lang="zh", feedback=[("suggestion", None)])
    praise = t("feedback.praise_thanks_unnamed", "zh")
    assert not right(texts, "suggestion", "", praise, lang="zh", feedback=[("suggestion", None)])


def test_complaint_is_a_next_question_of_the_form_and_nothing_else(texts: Texts) -> None:
    assert right(texts, "complaint", "street-light", ASK_LOCATION_EN)
    assert right(texts, "complaint", "street-light", t("complaint.which_category", "en"))
    assert right(texts, "complaint", "street-light", t("complaint.ask_contact", "en"))
    out = t("conversation.out_of_scope", "en")
    assert not right(texts, "complaint", "street-light", out, ASK_LOCATION_EN)
    faq = texts.faq["office_hours"].answer["en"]
    assert not right(texts, "complaint", "street-light", faq, ASK_LOCATION_EN)
    assert not right(texts, "complaint", "street-light", t("fallback.rephrase", "en"))


def test_handoff_is_a_queued_reply_or_an_opened_handoff(texts: Texts) -> None:
    closed = t("handoff.queued_closed", "en", when="2026-12-07 09:00")
    assert right(texts, "handoff", "", closed)
    assert right(texts, "handoff", "", "something else", handoff=True)
    assert not right(texts, "handoff", "", t("conversation.capabilities", "en"))


def test_status_is_judged_by_the_seeded_tickets_shown(texts: Texts) -> None:
    own, second = SEEDED.own
    both = f"Your reports:\n• {own.number} Street lights: submitted\n• {second.number} x: y"
    assert right(texts, "status", "list", both)
    assert not right(texts, "status", "list", f"Your reports:\n• {own.number} Street lights")
    only_light = f"Your reports:\n• {own.number} Street lights: submitted"
    assert right(texts, "status", "describe:street-light", only_light)
    assert not right(texts, "status", "describe:street-light", both)
    assert not right(texts, "status", "describe:garbage-collection", only_light)
    one = t("tickets_lookup.one", "en", number=own.number, category="x", status="submitted")
    assert right(texts, "status", "own_number", one)
    assert not right(texts, "status", "own_number", t("tickets.none", "en"))
    other = SEEDED.other.number
    assert right(texts, "status", "other_number", t("tickets_lookup.not_yours", "en", number=other))
    refused = t("tickets_lookup.not_yours", "en", number=other)
    assert not right(texts, "status", "other_number", refused, "Water outage: submitted")
    assert not right(texts, "status", "other_number", f"Your report {other} (Water outage)")
    assert not right(
        texts, "status", "other_number", t("tickets_lookup.not_yours", "en", number=own.number)
    )


def test_a_status_citizen_is_seeded_before_the_first_message_and_read_back(
    database_url: str, profile: Profile
) -> None:
    case = Case(
        "en", "status", "my complaint about the noisy neighbours", "describe:neighbour-noise"
    )
    seeded = seed_status(database_url, profile, "session-1", case)
    assert [ticket.category for ticket in seeded.own] == ["neighbour-noise", "street-light"]
    assert seeded.other.category == "water-outage"
    assert seeded.own[0].status == "submitted"
    numbers = {ticket.number for ticket in [*seeded.own, seeded.other]}
    assert len(numbers) == 3
    assert all(number.startswith(f"{profile.ticket_prefix}-") for number in numbers)
    assert observe(database_url, "session-1", ["hi"], seeded=2) == Seen(["hi"])
    with session_scope(database_url) as session:
        citizen = get_or_create_citizen(session=session, channel="web", address="session-1")
        record_feedback(
            session=session,
            kind="praise",
            citizen=citizen,
            text="thanks",
            language="en",
            agency="water",
        )
        request_handoff(session=session, citizen_id=citizen.id, language="en", transcript=[])
    seen = observe(database_url, "session-1", ["hi"], seeded=2)
    assert seen == Seen(["hi"], [("praise", "water")], 0, True)
    assert observe(database_url, "no-such-session", [], seeded=0) == Seen([])


def test_load_set_reads_the_format_and_refuses_a_wrong_one(tmp_path: Path) -> None:
    good = tmp_path / "good.tsv"
    good.write_text(
        "language\tclass\tmessage\texpect\nzh\tfaq\t办公时间?\toffice_hours\n\nen\thelp\thelp\t\n",
        encoding="utf-8",
    )
    assert load_set(good) == [
        Case("zh", "faq", "办公时间?", "office_hours"),
        Case("en", "help", "help", ""),
    ]
    bad = tmp_path / "bad.tsv"
    bad.write_text("language\tclass\tmessage\nzh\thelp\t帮助\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        load_set(bad)


def test_the_table_and_the_misses(tmp_path: Path) -> None:
    def result(lang: str, klass: str, ok: bool) -> Result:
        return Result(Case(lang, klass, "m", ""), "m", Seen(["shown\ntext"]), ok)

    results = [
        result("zh", "help", True),
        result("zh", "help", False),
        result("en", "help", True),
        result("en", "faq", False),
    ]
    assert table(results) == (
        "| class | zh | en |\n"
        "|---|---|---|\n"
        "| help | 1/2 (50%) | 1/1 (100%) |\n"
        "| faq | 0/0 (–) | 0/1 (0%) |\n"
        "| **all** | 1/2 (50%) | 1/2 (50%) |"
    )
    path = tmp_path / "misses.tsv"
    assert write_misses(results, path) == 2
    assert path.read_text(encoding="utf-8").splitlines() == [
        "language\tclass\texpect\tmessage\tshown",
        "zh\thelp\t\tm\tshown text",
        "en\tfaq\t\tm\tshown text",
    ]


def fake_web_app(database_url: str) -> httpx.MockTransport:
    """The web chat's two calls with real session tokens: the citizen is known by the
    session id, as the web channel knows them. It looks up a ticket number, and records
    anything else as praise for the water bureau."""
    sessions = WebSessions("fake-web-app-" + "k" * 32)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/chat/session":
            return httpx.Response(200, json={"token": sessions.issue(now=utcnow()).token})
        body = json.loads(request.content)
        session_id = sessions.verify(body["token"], now=utcnow()).session_id
        lang = body["language"]
        if number := re.search(r"HZ-\d{4}-\d{6}", body["text"]):
            text = t("tickets_lookup.not_yours", lang, number=number.group(0))
            return httpx.Response(200, json={"messages": [{"text": text, "buttons": []}]})
        with session_scope(database_url) as session:
            citizen = get_or_create_citizen(session=session, channel="web", address=session_id)
            record_feedback(
                session=session,
                kind="praise",
                citizen=citizen,
                text=body["text"],
                language=lang,
                agency="water",
            )
        text = t("feedback.praise_thanks", lang, agency="水务局")
        return httpx.Response(200, json={"messages": [{"text": text}, {"image": "x.png"}]})

    return httpx.MockTransport(answer)


async def test_a_turn_is_sent_seeded_and_judged_through_the_web_chat(
    database_url: str, profile: Profile, texts: Texts
) -> None:
    transport = fake_web_app(database_url)
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
        other = await run_case(
            client,
            database_url,
            profile,
            texts,
            Case("zh", "status", "查一下{other}", "other_number"),
        )
        praise = await run_case(
            client, database_url, profile, texts, Case("zh", "praise", "水务局的师傅好", "water")
        )
        wrong = await run_case(
            client, database_url, profile, texts, Case("zh", "praise", "城管好", "urban-management")
        )
    assert re.fullmatch(r"查一下HZ-\d{4}-\d{6}", other.sent)
    assert other.right
    assert praise.seen == Seen(
        [t("feedback.praise_thanks", "zh", agency="水务局")], [("praise", "water")]
    )
    assert praise.right
    assert not wrong.right
