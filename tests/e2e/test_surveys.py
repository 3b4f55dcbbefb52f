"""Surveys end to end: the running stack (real Rasa, gateway, scheduler), campaigns made
and sent with `civicbot`, households reached by SMS through the gateway stand-in, and
citizens answering on Telegram through the Bot API stand-in.

Each test samples from its own district (or registry cohort), so the campaigns of one
test never draw the people of another.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from civic.settings import PROJECT_ROOT
from storage.models import (
    Campaign,
    ChannelAddress,
    FrameMember,
    Invitation,
    ServiceWindow,
    WindowRating,
)
from tests.e2e.conftest import BOT_TOKEN, Stack, TelegramUser, titles
from tests.fakes.sms_gateway import SmsGatewayStandIn

pytestmark = pytest.mark.e2e

TOKEN_IN_LINK = re.compile(r"start=(i[A-Za-z0-9_-]{38})")


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsGatewayStandIn]:
    with SmsGatewayStandIn(rate_per_second=None) as server:
        yield server


def civicbot(
    stack: Stack, *args: str, sms: SmsGatewayStandIn | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a `civicbot` command against the stack's database, as the office would."""
    env = {
        **os.environ,
        "CIVIC_VAR_DIR": str(stack.var_dir),
        "DATABASE_URL": stack.database_url,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_BASE_URL": stack.telegram.base_url,
    }
    if sms is not None:
        env |= {
            "SMS_GATEWAY_URL": sms.base_url,
            "SMS_ACCOUNT_SID": sms.account_sid,
            "SMS_AUTH_TOKEN": sms.auth_token,
            "SMS_FROM": "+8610690000",
        }
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def create_campaign(
    stack: Stack,
    *,
    survey: str,
    n: int,
    population: str,
    channels: str = "telegram",
    window: str = "00:00-24:00",
) -> int:
    start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    end = (datetime.now(UTC) + timedelta(days=20)).isoformat()
    out = civicbot(
        stack,
        "campaign",
        "create",
        "--name",
        f"e2e {population}",
        "--survey",
        survey,
        "--n",
        str(n),
        "--start",
        start,
        "--end",
        end,
        "--window",
        window,
        "--population",
        population,
        "--channels",
        channels,
    ).stdout
    match = re.search(r"campaign (\d+): (\d+) people sampled", out)
    assert match and int(match.group(2)) == n, out
    return int(match.group(1))


def send_now(stack: Stack, sms: SmsGatewayStandIn | None = None) -> None:
    """Send what is due; if the scheduler's sender is busy, it sends it instead."""
    done = civicbot(stack, "campaign", "send", sms=sms, ok=False)
    assert done.returncode == 0 or "another campaign sender" in done.stdout, done.stdout


def verify_by_contact(user: TelegramUser, lang: str = "zh") -> None:
    """Only a verified number may join the panel: /verify, then Telegram's own-contact
    button (this stack has no SMS gateway, so the button is the way offered)."""
    [ask] = user.say("/verify")
    assert ask.reply_markup["keyboard"][0][0]["request_contact"] is True
    [done] = user.share_phone(f"+86139{user.id:08d}")
    assert done.text.startswith("✅ 您的手机号已验证" if lang == "zh" else "✅ Your phone")


def subscribe(user: TelegramUser, district_title: str, lang: str = "zh") -> None:
    verify_by_contact(user, lang)
    user.say("/subscribe", expect=2)
    user.tap(district_title)
    user.tap("30-44")
    user.tap("不愿透露" if lang == "zh" else "Prefer not to say")


def invitation_for(user: TelegramUser, start: str = "开始答题") -> None:
    """Wait until the invitation with its Start button is in the user's chat."""
    deadline = time.monotonic() + 90
    while not any(start in titles(m) for m in user.api.messages(user.id)):
        assert time.monotonic() < deadline, "no invitation arrived"
        time.sleep(0.2)


def test_household_from_the_registry_gets_an_sms_and_answers_in_chat(
    stack: Stack, sms: SmsGatewayStandIn, tmp_path: Path
) -> None:
    cohort = f"c{secrets.token_hex(4)}"
    mobile = f"+86139{secrets.randbelow(10**8):08d}"
    registry = tmp_path / "households.csv"
    registry.write_text(
        f"id,district,age_band,cohort,mobile\nH-{cohort},fuyang,45-59,{cohort},{mobile}\n",
        encoding="utf-8",
    )
    imported = civicbot(stack, "frame", "import", "--lang", "en", str(registry)).stdout
    assert "imported: 1 added, 0 updated, 0 unchanged" in imported
    create_campaign(
        stack, survey="service_window_followup", n=1, population=f"cohort={cohort}", channels="sms"
    )
    send_now(stack, sms)
    texts = [m.body for m in sms.messages_to(mobile)]
    assert len(texts) == 1 and "/u/" in texts[0]
    token = TOKEN_IN_LINK.search(texts[0])
    assert token, texts[0]
    # the household opens the personal link in Telegram
    user = TelegramUser(stack)
    first = user.say(f"/start {token.group(1)}", expect=2)
    assert "政务服务窗口回访" in first[0].text
    user.tap("没有办成")
    user.tap("一般")
    thanks = user.say("取号后等了一个多小时，希望增加窗口")
    assert "谢谢您的评价" in thanks[0].text
    with stack.db() as session:
        invitation = session.scalars(
            select(Invitation).join(FrameMember).where(FrameMember.external_id == f"H-{cohort}")
        ).one()
        assert invitation.state == "sent" and invitation.completed_at is not None


def answer_annual_in_chinese(user: TelegramUser) -> None:
    user.tap("开始答题", expect=2)
    user.tap("基本满意")
    user.tap("☐ 城市管理局")
    user.tap("✅ 完成")
    question = user.tap("不满意")
    assert "城市管理局最需要改进" in question[0].text  # only after 不满意
    user.say("夜间施工噪音太大")
    nps = user.tap("8")
    assert "最近一次联系" in nps[0].text
    ease = user.tap("从未联系过")
    assert "还有什么意见" in ease[0].text  # the ease question is skipped for "never"
    thanks = user.tap("跳过")
    assert "感谢您的参与" in thanks[0].text


def test_invited_subscriber_completes_the_survey_with_skip_logic_in_chinese(
    stack: Stack,
) -> None:
    user = TelegramUser(stack, language_code="zh")
    subscribe(user, "桐庐县")
    create_campaign(stack, survey="annual_satisfaction", n=1, population="district=tonglu")
    send_now(stack)
    invitation_for(user)
    answer_annual_in_chinese(user)
    with stack.db() as session:
        invitation = session.scalars(
            select(Invitation).where(Invitation.stratum == "district=tonglu")
        ).one()
        assert invitation.completed_at is not None


def test_subscriber_switches_to_english_halfway_and_resumes_after_a_pause(
    stack: Stack,
) -> None:
    user = TelegramUser(stack, language_code="zh")
    subscribe(user, "建德市")
    create_campaign(stack, survey="annual_satisfaction", n=1, population="district=jiande")
    send_now(stack)
    invitation_for(user)
    user.tap("开始答题", expect=2)
    user.tap("满意")
    english = user.tap("🌐 English")
    assert "which of these departments" in english[0].text
    paused = user.tap("⏸ Continue later")
    assert "/survey" in paused[0].text
    # something else meanwhile goes to the assistant (real Rasa), not to the survey
    user.say("hello")
    resumed = user.say("/survey", expect=2)
    assert "carry on" in resumed[0].text and resumed[1].text.startswith("2/")
    user.tap("Skip")  # no departments
    user.tap("10")
    user.tap("I have never contacted one")
    thanks = user.tap("Skip")
    assert "Thank you for taking part" in thanks[0].text


def test_forged_and_reused_invitations_are_refused(stack: Stack) -> None:
    owner = TelegramUser(stack, language_code="en")
    subscribe(owner, "Chun'an", lang="en")
    create_campaign(stack, survey="service_window_followup", n=1, population="district=chunan")
    send_now(stack)
    invitation_for(owner, "Start the survey")
    start = dict(
        (title, data)
        for title, data in [
            (b["text"], b["callback_data"])
            for row in owner.api.messages(owner.id)[-1].reply_markup["inline_keyboard"]
            for b in row
        ]
    )
    token = next(iter(start.values())).removeprefix("sv:i:")
    stranger = TelegramUser(stack, language_code="en")
    forged = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    assert "not valid" in stranger.say(f"/start {forged}")[0].text
    owner.say(f"/start {token}", expect=2)
    assert "already been used" in stranger.say(f"/start {token}")[0].text


def test_window_rating_through_the_qr_code_deep_link(stack: Stack, tmp_path: Path) -> None:
    """The printed code is signed: scanning it rates the window; a bare window id, a
    forged rating button (sent as callback data by a modified client) and yesterday's
    button change nothing; a revoked code is refused with the reason."""
    out = civicbot(
        stack,
        "window",
        "add",
        "--agency",
        "market-regulation",
        "--hall",
        "市民之家",
        "--number",
        "7",
    ).stdout
    window_id = int(re.search(r"window (\d+)", out).group(1))  # type: ignore[union-attr]
    qr = tmp_path / "window.png"
    link = civicbot(stack, "window", "qr", str(window_id), str(qr)).stdout
    assert qr.read_bytes().startswith(b"\x89PNG")
    payload = re.search(r"t\.me/\w+\?start=([A-Za-z0-9_-]+)", link).group(1)  # type: ignore[union-attr]
    assert payload.startswith(f"w_{window_id}_")
    attacker = TelegramUser(stack)
    assert "不是有效的服务窗口二维码" in attacker.say(f"/start w_{window_id}")[0].text
    today = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    forged = f"wr:{window_id}:{today}:stars:1"
    # read as text: the assistant answers something, and nothing is rated
    attacker._after(lambda: attacker.api.send_callback(attacker.id, forged), 1)
    user = TelegramUser(stack)
    asked = user.say(f"/start {payload}")
    assert "7号窗口" in asked[0].text
    user.tap("★★★★")
    user.say("办事很快，态度很好")
    again = user.say(f"/start {payload}")
    assert "今天已经评价过" in again[0].text
    with stack.db() as session:
        ratings = session.scalars(
            select(WindowRating).join(ServiceWindow).where(ServiceWindow.id == window_id)
        ).all()
        assert [(r.score, r.comment, r.assurance) for r in ratings] == [
            ("4", "办事很快，态度很好", "account")
        ]
    civicbot(stack, "window", "revoke", str(window_id))
    assert "已更换" in TelegramUser(stack).say(f"/start {payload}")[0].text


def test_stop_during_a_campaign_stops_the_reminders(stack: Stack) -> None:
    stays, leaves = TelegramUser(stack), TelegramUser(stack)
    subscribe(stays, "临安区")
    subscribe(leaves, "临安区")
    campaign_id = create_campaign(
        stack, survey="service_window_followup", n=2, population="district=linan"
    )
    send_now(stack)
    invitation_for(stays)
    invitation_for(leaves)
    assert "已退出所有调查" in leaves.say("/stop")[0].text
    before = {u.id: len(u.api.messages(u.id)) for u in (stays, leaves)}
    with stack.db() as session:  # three days pass without an answer
        session.execute(
            update(Invitation)
            .where(Invitation.campaign_id == campaign_id)
            .values(sent_at=datetime.now(UTC) - timedelta(days=3))
        )
        session.commit()
    send_now(stack)
    stays.api.wait_for_messages(stays.id, before[stays.id] + 1, timeout=90)
    assert "还没有收到您的意见" in stays.api.messages(stays.id)[-1].text
    assert len(leaves.api.messages(leaves.id)) == before[leaves.id]
    with stack.db() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        states = {
            i.reminders_sent
            for i in session.scalars(
                select(Invitation).where(Invitation.campaign_id == campaign_id)
            )
        }
    assert states == {0, 1}


def test_a_campaign_sample_matches_its_design(stack: Stack, tmp_path: Path) -> None:
    cohort = f"d{secrets.token_hex(4)}"
    sizes = {"xiaoshan": 40, "yuhang": 30, "linping": 20, "qiantang": 10}
    rows = ["id,district,cohort,email"]
    for district, size in sizes.items():
        rows += [
            f"{cohort}-{district}-{i},{district},{cohort},p{i}@{district}.example.org"
            for i in range(size)
        ]
    registry = tmp_path / "frame.csv"
    registry.write_text("\n".join(rows) + "\n", encoding="utf-8")
    civicbot(stack, "frame", "import", str(registry))
    campaign_id = create_campaign(
        stack,
        survey="service_window_followup",
        n=50,
        population=f"cohort={cohort}",
        channels="email",
    )
    with stack.db() as session:
        strata = Counter(
            session.scalars(select(Invitation.stratum).where(Invitation.campaign_id == campaign_id))
        )
    # proportional allocation: half of each district
    assert strata == {f"district={d}": size // 2 for d, size in sizes.items()}
    status = civicbot(stack, "campaign", "status", str(campaign_id)).stdout
    assert "invited 50" in status and "district=xiaoshan" in status


def test_invitations_wait_for_the_daily_send_window(stack: Stack) -> None:
    user = TelegramUser(stack)
    subscribe(user, "滨江区")
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    start = (local.hour + 2) % 24  # a window that has not begun today
    window = f"{start:02d}:00-{'24:00' if start == 23 else f'{start + 1:02d}:00'}"
    campaign_id = create_campaign(
        stack, survey="service_window_followup", n=1, population="district=binjiang", window=window
    )
    before = len(user.api.messages(user.id))
    send_now(stack)
    assert len(user.api.messages(user.id)) == before
    with stack.writer() as session:
        assert (
            session.scalars(
                select(Invitation.state).where(Invitation.campaign_id == campaign_id)
            ).one()
            == "pending"
        )
        # the clock reaches the window
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(window_start="00:00", window_end="24:00")
        )
        session.commit()
    send_now(stack)
    invitation_for(user)


def test_an_unverified_account_is_pointed_to_verify_before_joining(stack: Stack) -> None:
    user = TelegramUser(stack, language_code="en")
    [refused] = user.say("/subscribe")
    assert refused.text.startswith("Only people with a verified mobile number")
    assert "/verify" in refused.text and "share this Telegram account's number" in refused.text
    with stack.db() as session:
        joined = session.scalars(
            select(FrameMember)
            .join(ChannelAddress, ChannelAddress.citizen_id == FrameMember.citizen_id)
            .where(ChannelAddress.channel == "telegram", ChannelAddress.address == str(user.id))
        ).all()
    assert joined == []
