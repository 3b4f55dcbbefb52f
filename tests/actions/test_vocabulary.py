"""Which messages are made of words the assistant knows."""

from __future__ import annotations

import pytest

from actions.vocabulary import known_words, unreadable

VOCABULARY = frozenset({"pothole", "street", "light", "the", "weather", "tomorrow"})


@pytest.mark.parametrize(
    "text",
    ["qwrtz zzkp vvlm", "blorp fnord xyzzy", "asdfgh", "zzkp, vvlm!!"],
)
def test_keysmash_is_unreadable(text: str) -> None:
    assert unreadable(text, VOCABULARY) is True


@pytest.mark.parametrize(
    "text",
    [
        "the weather tomorrow",
        "pothole qwrtz",  # one known word is enough
        "ok",  # too short to judge
        "hi!",
        "12345",
        "",
        "路灯坏了 qwrtz zzkp",  # Chinese is always read by the model
        "啊啊啊啊",
    ],
)
def test_words_short_words_numbers_and_chinese_are_readable(text: str) -> None:
    assert unreadable(text, VOCABULARY) is False


def test_the_vocabulary_comes_from_the_training_data_and_the_faq() -> None:
    words = known_words()
    assert {"pothole", "streetlight", "weather", "joke"} <= words
    assert "qwrtz" not in words and "fnord" not in words
    # the annotation syntax of an example is not a word: [Binjiang](district) gives binjiang
    assert "binjiang" in words and "district" in words
