"""The message catalogues (the citizens', the duty officers', the surveys' and the agency
desk's, one per language) and language detection."""

from __future__ import annotations

import pytest

from civic.i18n import LANGUAGES, catalogue, detect_language, normalise_language, placeholders, t


def test_both_catalogues_have_the_same_keys() -> None:
    assert sorted(catalogue("en")) == sorted(catalogue("zh"))


def test_each_key_has_the_same_placeholders_in_both_languages() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    differing = {key for key in zh if placeholders(zh[key]) != placeholders(en.get(key, ""))}
    assert differing == set()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_is_written(lang: str) -> None:
    assert {key for key, text in catalogue(lang).items() if not text.strip()} == set()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    "feature",
    ["duty", "invitations", "survey", "desk", "web_session", "evaluation", "demo", "opendata"],
)
def test_the_features_texts_are_in_the_catalogue(lang: str, feature: str) -> None:
    assert any(key.startswith(f"{feature}.") for key in catalogue(lang))


def test_t_fills_in_placeholders() -> None:
    text = t("input.too_long", "en", length=5000, limit=4096)
    assert text == (
        "That message is too long (5000 characters). "
        "Please keep it under 4096 characters or send it in parts."
    )


def test_t_without_parameters_returns_the_catalogue_text() -> None:
    assert t("language.switched", "zh") == "已切换为中文。"


def test_t_falls_back_to_chinese_for_an_unknown_language() -> None:
    assert t("language.switched", "fr") == "已切换为中文。"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("小区垃圾三天没人收了", "zh"),
        ("garbage not collected", "en"),
        ("👍👍", None),
        ("/greet", None),
        ("", None),
        (None, None),
        ("12345", None),
        # mixed: the language most of the words are in (a Chinese word is ~2 characters)
        ("路灯坏了 street light", "zh"),
        ("路灯 street light", "en"),
        ("建议 more bilingual signs at the metro", "en"),
        ("我想查一下我上周的 report", "zh"),
        ("HZ-2026-000123 怎么样了", "zh"),
    ],
)
def test_detect_language(text: str | None, expected: str | None) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en", "en"),
        ("en-US", "en"),
        ("EN-gb", "en"),
        ("zh-hans", "zh"),
        ("zh-TW", "zh"),
        ("fr", "zh"),
    ],
)
def test_normalise_language(lang: str | None, expected: str) -> None:
    assert normalise_language(lang) == expected
