"""What an update to the citizen who filed a ticket ends with: the link to their report page."""

from __future__ import annotations


def without_page_link(text: str | None, number: str | None) -> str:
    """The update's text, once checked that its last line links to the report page of
    ticket `number` (the notifier adds it to every update to the reporter)."""
    assert text is not None
    news, _, link = text.rpartition("\n")
    assert f"/my-report/{number}." in link, f"no report page link in {text!r}"
    return news
