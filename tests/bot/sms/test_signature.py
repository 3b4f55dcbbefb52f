"""The webhook signature against the gateway's published test vectors (auth token
"12345"), and what must make it fail."""

from __future__ import annotations

from bot.sms import signature, valid_signature

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]
PUBLISHED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_the_published_vector() -> None:
    assert signature(TOKEN, URL, PARAMS) == PUBLISHED
    # the order the parameters came in does not matter: they are sorted by name
    assert valid_signature(TOKEN, URL, list(reversed(PARAMS)), PUBLISHED)


def test_a_repeated_parameter_is_signed_with_its_distinct_values_sorted() -> None:
    repeated = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    assert signature(TOKEN, URL, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_anything_changed_fails() -> None:
    assert not valid_signature("54321", URL, PARAMS, PUBLISHED)
    assert not valid_signature(TOKEN, URL + "&baz=3", PARAMS, PUBLISHED)
    assert not valid_signature(
        TOKEN, URL, [*PARAMS[:2], ("Digits", "9999"), *PARAMS[3:]], PUBLISHED
    )
    assert not valid_signature(TOKEN, URL, PARAMS, PUBLISHED.lower())


def test_no_signature_or_no_token_never_passes() -> None:
    assert not valid_signature(TOKEN, URL, PARAMS, "")
    assert not valid_signature("", URL, PARAMS, signature("", URL, PARAMS))
