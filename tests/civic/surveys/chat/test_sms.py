"""Surveys by SMS digits, below the webhook: what is an answer and what is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from civic.campaigns import Design, create_campaign, draw
from civic.city import Profile
from civic.replies import Button
from civic.surveys import SurveyChat, numbered_answers, sync_profile_surveys
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.models import FrameMember, Invitation

SECRET = "test-secret"
PHONE = "+8613900007777"


def test_numbered_answers_skip_navigation_and_keep_rating_codes() -> None:
    choice = [
        Button("好", "sv:a:1:aa:good"),
        Button("差", "sv:a:1:aa:poor"),
        Button("跳过", "sv:s:1:aa"),
    ]
    assert [(n, b.title) for n, b in numbered_answers(choice)] == [("1", "好"), ("2", "差")]
    rating = [Button(f"{n}★", f"sv:a:1:aa:{n}") for n in (1, 2, 3)]
    assert [n for n, _ in numbered_answers(rating)] == ["1", "2", "3"]
    # the "Done" of a multiple choice carries no code until something is ticked
    assert numbered_answers([Button("完成", "sv:a:1:aa:")]) == []


def test_only_digits_with_a_survey_behind_them_are_answers(
    database_url: str, profile: Profile
) -> None:
    sessions = session_factory(database_url)
    chat = SurveyChat(sessions=sessions, profile=profile, secret=SECRET)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        sync_profile_surveys(
            session=session, directory=profile.path / "surveys", agencies=profile.agencies
        )
        citizen = get_or_create_citizen(session=session, channel="sms", address=PHONE)

        def answer(text: str) -> list[str] | None:
            replies = chat.sms.handle(
                session=session, citizen=citizen, language="en", phone=PHONE, text=text
            )
            return None if replies is None else [r.text or "" for r in replies]

        assert answer("1") is None  # no invitation: the assistant's
        session.add(FrameMember(kind="household", external_id="H7", district="xihu", mobile=PHONE))
        session.flush()
        campaign = create_campaign(
            session=session,
            name="c",
            survey_key="service_window_followup",
            design=Design(strata=("district",), n=1, channels=("sms",)),
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
        )
        draw(session=session, campaign=campaign, now=now)
        assert answer("1") is None  # invited but not yet sent: nothing asked yet
        for invitation in session.query(Invitation):
            invitation.sent_at = now
        assert answer("the street light is out") is None
        started = answer("1")
        assert started is not None and started[-1].startswith("1/2 · Did you get done")
        assert answer("0") == ["Please reply with a number from 1 to 3.", started[-1]]
        assert answer("1 2") == ["Please reply with a number from 1 to 3.", started[-1]]
        # "No": the follow-up question applies, so there are three now
        assert (answer("3") or [""])[-1].startswith("2/3 · How would you rate the manner")
        # 4 is "Not sure", which this question adds; a text question takes digits as text
        assert (answer("4") or [""])[-1].startswith("3/3 · What kept it from getting done")
        assert (answer("42") or [""])[-1].startswith("🙏 Thank you")
