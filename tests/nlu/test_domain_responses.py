"""The Rasa domain: every response in both languages, every action and intent declared."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from civic.city import COMPLAINT_INTENT, Profile
from civic.settings import PROJECT_ROOT

NLU_DIR = PROJECT_ROOT / "nlu"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
EN_CONDITION = [{"type": "slot", "name": "language", "value": "en"}]
SWITCH_TO = '/switch_language{{"language":"{other}"}}'


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


DOMAIN: dict[str, Any] = _load(NLU_DIR / "domain.yml")
RESPONSES: dict[str, list[dict[str, Any]]] = DOMAIN["responses"]
WITH_BUTTONS = sorted(
    name for name, variants in RESPONSES.items() if any(v.get("buttons") for v in variants)
)


def _variants(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(English variant, Chinese default) of one response."""
    variants = RESPONSES[name]
    english = [v for v in variants if v.get("condition") == EN_CONDITION]
    default = [v for v in variants if "condition" not in v]
    assert (len(english), len(default), len(variants)) == (1, 1, 2), name
    return english[0], default[0]


def _sent(payload: str) -> str:
    """A payload as Rasa sends it: the domain doubles braces to escape interpolation."""
    return payload.replace("{{", "{").replace("}}", "}")


def _payloads(variant: dict[str, Any], own_language: str) -> list[str]:
    """The button payloads, with the language-switch button (which offers the other
    language, so it differs by design) written as one placeholder."""
    switch = SWITCH_TO.format(other="zh" if own_language == "en" else "en")
    sent = [_sent(b["payload"]) for b in variant["buttons"]]
    return ["<switch>" if p == switch else p for p in sent]


def _rule_actions(path: Path) -> set[str]:
    actions: set[str] = set()
    for rule in _load(path)["rules"]:
        actions.update(step["action"] for step in rule["steps"] if "action" in step)
    return actions


def test_the_domain_has_responses() -> None:
    assert all(name.startswith("utter_") for name in RESPONSES)
    assert "utter_menu" in RESPONSES


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_response_has_one_english_and_one_chinese_default_variant(name: str) -> None:
    english, default = _variants(name)
    assert CJK.search(default["text"]) is not None
    assert CJK.search(english["text"]) is None


def test_greet_and_menu_have_buttons() -> None:
    assert {"utter_menu"} <= set(WITH_BUTTONS)


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_response_has_buttons_in_both_languages_or_in_neither(name: str) -> None:
    english, default = _variants(name)
    assert len(english.get("buttons", [])) == len(default.get("buttons", []))


@pytest.mark.parametrize("name", WITH_BUTTONS)
def test_response_buttons_have_the_same_payloads_in_both_languages(name: str) -> None:
    english, default = _variants(name)
    assert _payloads(english, "en") == _payloads(default, "zh")


@pytest.mark.parametrize("name", ["utter_menu"])
def test_language_switch_button_offers_the_other_language(name: str) -> None:
    english, default = _variants(name)
    assert SWITCH_TO.format(other="zh") in [_sent(b["payload"]) for b in english["buttons"]]
    assert SWITCH_TO.format(other="en") in [_sent(b["payload"]) for b in default["buttons"]]


def test_payloads_with_entities_are_escaped_against_interpolation() -> None:
    for name in WITH_BUTTONS:
        for variant in RESPONSES[name]:
            for button in variant["buttons"]:
                payload = button["payload"]
                assert "{" not in payload or "{{" in payload, (name, payload)


@pytest.mark.parametrize("rules_file", ["rules.yml", "rules_complaints.yml"])
def test_every_action_in_the_rules_is_declared(rules_file: str) -> None:
    # utter_faq answers from the responses generated out of the profile's faq.yml.
    generated = {"utter_faq"}
    declared = set(DOMAIN["actions"]) | set(RESPONSES) | set(DOMAIN.get("forms") or {}) | generated
    assert _rule_actions(NLU_DIR / rules_file) - declared == set()


def _trained_intents() -> set[str]:
    intents = set()
    for path in NLU_DIR.glob("*.yml"):
        for item in _load(path).get("nlu") or []:
            if "intent" in item:
                intents.add(item["intent"])
    return intents


def test_every_category_has_training_examples_and_no_other_kind_does(profile: Profile) -> None:
    kinds = {i for i in _trained_intents() if i.startswith(COMPLAINT_INTENT + "/")}
    assert kinds == {c.intent for c in profile.categories.values()}
    assert "complaint/garbage_collection" in kinds
    assert COMPLAINT_INTENT in DOMAIN["intents"]
    assert not [i for i in DOMAIN["intents"] if i.startswith("complaint_")]


def test_a_complaint_of_any_kind_starts_a_report() -> None:
    rules = _load(NLU_DIR / "rules_complaints.yml")["rules"]
    started = {
        rule["steps"][0]["intent"]
        for rule in rules
        if {"action": "action_start_complaint"} in rule["steps"]
    }
    assert started == {COMPLAINT_INTENT}


def test_every_category_gets_its_kind_response_when_training(profile: Profile) -> None:
    from ops.training import complaint_kinds_domain

    responses = complaint_kinds_domain(profile.path)["responses"]
    assert set(responses) == {f"utter_{c.intent}" for c in profile.categories.values()}
    street_light = responses["utter_complaint/street_light"]
    assert [v["text"] for v in street_light] == ["Street lights", "路灯故障"]
