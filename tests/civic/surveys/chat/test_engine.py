"""Surveys, window ratings and subscriptions in chat (bot/survey_chat), on SQLite and the
real PostgreSQL, without Rasa: these messages are answered before the assistant."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from civic.campaigns import Design, create_campaign, draw, sign, sign_window_code, subscribe
from civic.city import Integrity, Profile
from civic.i18n import t
from civic.identity import ACCOUNT, VERIFIED_PHONE, PhoneCodes, raise_level
from civic.replies import BotMessage
from civic.surveys import SurveyChat, sync_profile_surveys
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.models import (
    Citizen,
    FrameMember,
    Invitation,
    SurveyAnswer,
    SurveyResponse,
    WindowRating,
)
from storage.windows import add_window, revoke_codes

SECRET = "test-secret"
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 11:00 in Hangzhou


@pytest.fixture
def chat(database_url: str, profile: Profile) -> SurveyChat:
    with session_factory(database_url).begin() as session:
        sync_profile_surveys(
            session=session, directory=profile.path / "surveys", agencies=profile.agencies
        )
    return SurveyChat(sessions=session_factory(database_url), profile=profile, secret=SECRET)


def citizen(database_url: str, address: str, language: str = "zh") -> int:
    with session_factory(database_url).begin() as session:
        return get_or_create_citizen(
            session=session, channel="telegram", address=address, language=language
        ).id


def invite(database_url: str, citizen_id: int) -> str:
    """A running one-person campaign of the annual survey; the invitation's token."""
    with session_factory(database_url).begin() as session:
        subscribe(
            session=session,
            citizen_id=citizen_id,
            district="xihu",
            strata={"age_band": "30-44", "gender": "female"},
            now=NOW,
        )
        campaign = create_campaign(
            session=session,
            name="annual",
            survey_key="annual_satisfaction",
            design=Design(strata=("district",), n=1, channels=("telegram",)),
            starts_at=NOW - timedelta(days=1),
            ends_at=NOW + timedelta(days=30),
        )
        draw(session=session, campaign=campaign, now=NOW)
        invitation = session.scalars(
            select(Invitation).where(Invitation.campaign_id == campaign.id)
        ).one()
        return sign(secret=SECRET, nonce=invitation.nonce)


def tap(chat: SurveyChat, who: int, payload: str, lang: str = "zh") -> list[BotMessage]:
    replies = chat.handle(who, lang, "payload", payload, now=NOW)
    assert replies is not None
    return replies


def button(replies: list[BotMessage], title: str) -> str:
    for reply in replies:
        for b in reply.buttons:
            if title in b.title:
                return b.payload
    raise AssertionError(f"no button {title!r} in {[b.title for r in replies for b in r.buttons]}")


def test_invited_survey_with_skip_logic_back_and_language_switch(
    chat: SurveyChat, database_url: str
) -> None:
    who = citizen(database_url, "1001")
    replies = tap(chat, who, f"/start {invite(database_url, who)}")
    assert "约需 5 分钟" in replies[0].text
    assert replies[-1].text.startswith("1/")
    replies = tap(chat, who, button(replies, "基本满意"))
    assert replies[-1].text.startswith("2/")  # which agencies
    replies = tap(chat, who, button(replies, "城市管理"))
    replies = tap(chat, who, button(replies, "完成"))
    assert "城市管理" in replies[-1].text
    replies = tap(chat, who, button(replies, "不满意"))
    # only after 不满意: what should this agency improve? (typed)
    assert "改进" in replies[-1].text
    replies = chat.handle(who, "zh", "text", "夜里施工太吵", now=NOW) or []
    # back to the previous question, then switch to English halfway
    replies = tap(chat, who, button(replies, "上一题"))
    assert "改进" in replies[-1].text
    replies = tap(chat, who, button(replies, "English"))
    assert "improve" in replies[-1].text
    replies = chat.handle(who, "en", "text", "Less noise at night", now=NOW) or []
    while replies and replies[-1].buttons:
        titles = [b.title for b in replies[-1].buttons]
        choice = next(t for t in titles if t not in {"↩ Back", "🌐 中文", "⏸ Continue later"})
        replies = tap(chat, who, button(replies, choice), "en")
    assert "Thank you" in replies[-1].text
    with session_factory(database_url)() as session:
        response = session.scalars(select(SurveyResponse)).one()
        assert response.status == "completed" and not response.self_selected
        answers = {a.step: a.value for a in session.scalars(select(SurveyAnswer))}
        invitation = session.get(Invitation, response.invitation_id)
        assert invitation is not None and invitation.completed_at is not None
    assert answers["overall"] == "basically_satisfied"
    assert answers["agency_improve@urban-management"] == "Less noise at night"


def test_satisfied_answer_skips_the_improvement_question(
    chat: SurveyChat, database_url: str
) -> None:
    who = citizen(database_url, "1002")
    replies = tap(chat, who, f"/start {invite(database_url, who)}")
    replies = tap(chat, who, button(replies, "基本满意"))
    replies = tap(chat, who, button(replies, "城市管理"))
    replies = tap(chat, who, button(replies, "完成"))
    replies = tap(chat, who, button(replies, "满意"))
    assert "改进" not in replies[-1].text


def test_pause_and_resume_where_they_left_off(chat: SurveyChat, database_url: str) -> None:
    who = citizen(database_url, "1003")
    replies = tap(chat, who, f"/start {invite(database_url, who)}")
    replies = tap(chat, who, button(replies, "满意"))
    paused = tap(chat, who, button(replies, "稍后继续"))
    assert "/survey" in paused[0].text
    # something else in between goes to the assistant, not the survey
    assert chat.handle(who, "zh", "text", "我想投诉路灯坏了", now=NOW) is None
    resumed = tap(chat, who, "/survey")
    assert resumed[-1].text.startswith("2/")


def test_forged_and_reused_tokens_are_rejected(chat: SurveyChat, database_url: str) -> None:
    first = citizen(database_url, "1004")
    token = invite(database_url, first)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert "无效" in tap(chat, first, f"/start {forged}")[0].text
    tap(chat, first, f"/start {token}")
    other = citizen(database_url, "1005")
    assert "已被使用" in tap(chat, other, f"/start {token}")[0].text
    assert "无效" in tap(chat, other, "/start not-a-token")[0].text


def test_window_rating_once_a_day_with_a_comment(chat: SurveyChat, database_url: str) -> None:
    with session_factory(database_url).begin() as session:
        window_id = add_window(
            session=session, agency="market-regulation", hall="市民之家", number="12"
        ).id
    who = citizen(database_url, "1006", "en")
    code = sign_window_code(secret=SECRET, window_id=window_id, serial=1, until=None)
    asked = tap(chat, who, f"/start {code}", "en")
    assert "window 12" in asked[0].text
    assert "Thank you for rating" in tap(chat, who, button(asked, "★★★★★"), "en")[0].text
    assert "recorded" in (chat.handle(who, "en", "text", "Quick and kind", now=NOW) or [])[0].text
    again = tap(chat, who, f"/start {code}", "en")
    assert "already rated" in again[0].text
    with session_factory(database_url)() as session:
        rating = session.scalars(select(WindowRating)).one()
    assert (rating.score, rating.comment, rating.held) == ("5", "Quick and kind", False)


def test_a_window_needs_a_valid_signed_code(chat: SurveyChat, database_url: str) -> None:
    """A bare id, a forged MAC, a revoked serial or a past day are each refused with the
    reason; a code for today only works today."""
    with session_factory(database_url).begin() as session:
        window = add_window(
            session=session, agency="market-regulation", hall="市民之家", number="5"
        )
        window_id = window.id
        revoke_codes(session=session, window=window)  # serial 2 from now on
    who = citizen(database_url, "1011", "en")
    old = sign_window_code(secret=SECRET, window_id=window_id, serial=1, until=None)
    forged = sign_window_code(secret="not-the-key", window_id=window_id, serial=2, until=None)
    yesterday = sign_window_code(
        secret=SECRET, window_id=window_id, serial=2, until=date(2026, 11, 29)
    )
    today = sign_window_code(secret=SECRET, window_id=window_id, serial=2, until=date(2026, 11, 30))
    assert (
        "not a valid service-window code" in tap(chat, who, f"/start w_{window_id}", "en")[0].text
    )
    assert "not a valid service-window code" in tap(chat, who, f"/start {forged}", "en")[0].text
    assert "has been replaced" in tap(chat, who, f"/start {old}", "en")[0].text
    assert "no longer valid" in tap(chat, who, f"/start {yesterday}", "en")[0].text
    asked = tap(chat, who, f"/start {today}", "en")
    assert "Please rate the service" in asked[0].text
    # a button kept from another day does not rate without scanning again
    stale = button(asked, "★").replace(":20261130:", ":20261129:")
    assert "scan the QR code" in tap(chat, who, stale, "en")[0].text
    with session_factory(database_url)() as session:
        assert session.scalars(select(WindowRating)).all() == []


def test_ratings_beyond_the_hourly_limit_are_held(database_url: str, profile: Profile) -> None:
    strict = replace(profile, integrity=Integrity(window_ratings_per_hour=2))
    chat = SurveyChat(sessions=session_factory(database_url), profile=strict, secret=SECRET)
    with session_factory(database_url).begin() as session:
        window_id = add_window(
            session=session, agency="market-regulation", hall="大厅", number="9"
        ).id
    code = sign_window_code(secret=SECRET, window_id=window_id, serial=1, until=None)
    for n in range(4):
        who = citizen(database_url, f"20{n}", "en")
        asked = tap(chat, who, f"/start {code}", "en")
        # the citizen is thanked either way: a flood learns nothing from the answer
        assert "Thank you for rating" in tap(chat, who, button(asked, "★"), "en")[0].text
    with session_factory(database_url)() as session:
        held = [r.held for r in session.scalars(select(WindowRating).order_by(WindowRating.id))]
    assert held == [False, False, True, True]


def verify_phone(database_url: str, citizen_id: int, phone: str) -> None:
    """The citizen proves their number with a code, as /verify does."""
    codes = PhoneCodes(SECRET)
    with session_factory(database_url).begin() as session:
        person = session.get(Citizen, citizen_id)
        assert person is not None
        codes.begin(session=session, citizen_id=citizen_id)
        issued = codes.issue(session=session, citizen=person, phone=phone)
        assert codes.check(session=session, citizen=person, typed=issued.code).outcome == "verified"


def test_subscribe_then_stop(chat: SurveyChat, database_url: str) -> None:
    who = citizen(database_url, "1007", "en")
    verify_phone(database_url, who, "+8613800001007")
    replies = tap(chat, who, "/subscribe", "en")
    assert "never given to any department" in replies[0].text
    replies = tap(chat, who, replies[1].buttons[0].payload, "en")
    replies = tap(chat, who, button(replies, "30-44"), "en")
    assert "Subscribed" in tap(chat, who, button(replies, "Prefer not"), "en")[0].text
    assert "left all surveys" in tap(chat, who, "/stop", "en")[0].text
    assert "not subscribed" in tap(chat, who, "/stop", "en")[0].text


def test_an_anonymous_web_citizen_may_not_join_the_panel(
    chat: SurveyChat, database_url: str
) -> None:
    with session_factory(database_url).begin() as session:
        who = get_or_create_citizen(session=session, channel="web", address="w" * 24).id
    [refused] = tap(chat, who, "/subscribe", "en")
    assert refused.text == t("subscribe.needs_verification", "en")
    assert "/verify" in refused.text and refused.buttons == []
    # the last step's button, replayed from an earlier offer, is refused too
    [refused] = tap(chat, who, "sub:g:xihu:30-44:female", "en")
    assert refused.text == t("subscribe.needs_verification", "en")
    with session_factory(database_url)() as session:
        assert session.scalars(select(FrameMember)).all() == []


def test_a_telegram_account_is_pointed_to_the_share_button(
    chat: SurveyChat, database_url: str
) -> None:
    who = citizen(database_url, "1009")
    with session_factory(database_url).begin() as session:
        person = session.get(Citizen, who)
        assert person is not None
        raise_level(person, ACCOUNT)
    [refused] = tap(chat, who, "/subscribe")
    assert refused.text == t("subscribe.needs_verification_telegram", "zh")
    assert "/verify" in refused.text and "分享" in refused.text


def test_one_number_is_in_the_panel_once(chat: SurveyChat, database_url: str) -> None:
    first, second = citizen(database_url, "1010"), citizen(database_url, "1011")
    verify_phone(database_url, first, "+8613800001010")
    replies = tap(chat, first, "/subscribe")
    replies = tap(chat, first, replies[1].buttons[0].payload)
    replies = tap(chat, first, button(replies, "30-44"))
    assert tap(chat, first, button(replies, "不愿透露"))[0].text == t("subscribe.done", "zh")
    # the same number, verified from another chat (Telegram gives it without the "+")
    with session_factory(database_url).begin() as session:
        person = session.get(Citizen, second)
        assert person is not None
        person.phone = "8613800001010"
        raise_level(person, VERIFIED_PHONE)
    [refused] = tap(chat, second, "/subscribe")
    assert refused.text == t("subscribe.number_taken", "zh")
    tap(chat, first, "/stop")
    assert len(tap(chat, second, "/subscribe")) == 2  # free again


def test_erasure_removes_the_subscription_and_unlinks_answers(
    chat: SurveyChat, database_url: str
) -> None:
    from civic.privacy import erase_citizen
    from storage.models import Citizen, FrameMember

    who = citizen(database_url, "1008")
    replies = tap(chat, who, f"/start {invite(database_url, who)}")
    tap(chat, who, button(replies, "满意"))
    with session_factory(database_url).begin() as session:
        person = session.get(Citizen, who)
        assert person is not None
        erase_citizen(session=session, citizen=person)
    with session_factory(database_url)() as session:
        assert session.scalars(select(FrameMember)).all() == []
        response = session.scalars(select(SurveyResponse)).one()
        invitation = session.scalars(select(Invitation)).one()
        answers = session.scalars(select(SurveyAnswer)).all()
    assert response.citizen_id is None and len(answers) == 1
    assert invitation.member_id is None and invitation.stratum == "district=xihu"


def test_a_household_is_erased_on_request(database_url: str, profile: Profile) -> None:
    from civic.campaigns import erase_household, import_households

    with session_factory(database_url).begin() as session:
        import_households(
            session=session,
            csv_text="id,district,mobile\nH1,xihu,13912345678\n",
            profile_districts=set(profile.districts),
        )
    with session_factory(database_url).begin() as session:
        assert erase_household(session=session, external_id="H1")
        assert not erase_household(session=session, external_id="H1")
    with session_factory(database_url)() as session:
        assert session.scalars(select(FrameMember)).all() == []


def test_forged_or_malformed_buttons_change_nothing(chat: SurveyChat, database_url: str) -> None:
    who = citizen(database_url, "1009")
    other = citizen(database_url, "1010")
    replies = tap(chat, who, f"/start {invite(database_url, who)}")
    answer = button(replies, "满意")
    # another citizen replaying the button, a made-up verb, a missing response
    assert "不属于您" in tap(chat, other, answer)[0].text
    assert tap(chat, who, answer.replace("sv:a:", "sv:z:"))[-1].text.startswith("1/")
    assert "不属于您" in tap(chat, who, "sv:a:not-a-number:x:y")[0].text
    assert "没有找到" in tap(chat, who, "wr:999999:20261130:stars:5")[0].text
    assert "扫描窗口上展示的二维码" in tap(chat, who, "wr:999999:stars:5")[0].text
    assert "哪个区" in tap(chat, who, "sub:g:nowhere:18-29:male")[1].text
    with session_factory(database_url)() as session:
        assert session.scalars(select(SurveyAnswer)).all() == []
