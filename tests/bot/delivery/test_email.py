"""The e-mail sender against a real SMTP server on a local port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from bot.delivery import (
    EmailRejected,
    EmailRetryLater,
    EmailSender,
    EmailSenderMisconfigured,
    RenderedEmail,
    render_invitation_email,
)
from bot.delivery._email import TEMPORARY_RETRY_AFTER, UNAVAILABLE_RETRY_AFTER
from civic.i18n import t
from civic.settings import load_settings
from tests.fakes.smtp import SmtpStandIn

CITIZEN = "li.lei@example.org"
FROM = "survey@kpb.example.gov.cn"
TELEGRAM = "https://t.me/civic_feedback_bot?start=iAAAAAAAAAAAAAAAA0123456789abcdefghij_"
WEB = "https://kpb.example.gov.cn/?start=iAAAAAAAAAAAAAAAA0123456789abcdefghij_"
UNSUBSCRIBE = "https://kpb.example.gov.cn/unsubscribe/iAAAAAAAAAAAAAAAA0123456789abcdefghij_"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[SmtpStandIn]:
    with SmtpStandIn() as server:
        yield server


@pytest.fixture
def smtp(stand_in: SmtpStandIn) -> SmtpStandIn:
    stand_in.reset()
    return stand_in


def _sender(port: int | None, **kwargs: object) -> EmailSender:
    assert port is not None
    options: dict = {"host": "127.0.0.1", "port": port, "sender": FROM, "timeout": 5.0}
    return EmailSender(**(options | kwargs))


def _render(lang: str, title: str = "2025 城市管理满意度调查") -> RenderedEmail:
    return render_invitation_email(
        lang,
        title=title,
        minutes=5,
        telegram_link=TELEGRAM,
        web_link=WEB,
        unsubscribe_url=UNSUBSCRIBE,
    )


async def _send(sender: EmailSender, mail: RenderedEmail, to: str = CITIZEN) -> str:
    return await sender.send(to, mail.subject, mail.text, mail.html, UNSUBSCRIBE)


def _parts(message: EmailMessage) -> tuple[str, str]:
    plain, rich = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and rich is not None
    return plain.get_content(), rich.get_content()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_invitation_is_delivered_with_one_click_unsubscribe(
    smtp: SmtpStandIn, lang: str
) -> None:
    rendered = _render(lang)
    message_id = await _send(_sender(smtp.port), rendered)
    [mail] = smtp.messages_to(CITIZEN)
    message = mail.message
    assert (mail.mail_from, mail.rcpt_tos) == (FROM, (CITIZEN,))
    assert message["Message-ID"] == message_id
    assert message_id.endswith("@kpb.example.gov.cn>")
    assert message["Subject"] == t(
        "invitations.email_subject", lang, title="2025 城市管理满意度调查"
    )
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain, rich = _parts(message)
    body = t("invitations.email_body", lang, title="2025 城市管理满意度调查", minutes=5)
    assert body in plain
    assert f"{t('invitations.email_telegram', lang)}: {TELEGRAM}" in plain
    assert t("invitations.email_unsubscribe", lang, unsubscribe_url=UNSUBSCRIBE) in plain
    assert f'<a href="{TELEGRAM}"' in rich and f'<a href="{WEB}"' in rich
    assert f'<a href="{UNSUBSCRIBE}"' in rich
    assert f'<html lang="{lang}">' in rich


def test_the_html_part_escapes_the_title() -> None:
    rendered = _render("en", title='Roads & "Parks" <2025>')
    assert "Roads &amp; &quot;Parks&quot; &lt;2025&gt;" in rendered.html
    assert 'Roads & "Parks" <2025>' in rendered.text


async def test_a_text_only_message_has_no_html_part(smtp: SmtpStandIn) -> None:
    await _sender(smtp.port).send(CITIZEN, "Subject", "Just text.\n", None, UNSUBSCRIBE)
    [mail] = smtp.messages
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message.get_content() == "Just text.\n"


async def test_a_refused_recipient_is_rejected_without_quoting_the_address(
    smtp: SmtpStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    smtp.refuse(CITIZEN)
    with pytest.raises(EmailRejected) as caught:
        await _send(_sender(smtp.port), _render("zh"))
    assert (caught.value.code, caught.value.stage) == (550, "recipient")
    assert CITIZEN not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert CITIZEN not in caplog.text
    assert smtp.messages == []


async def test_a_temporary_refusal_means_retry_later(smtp: SmtpStandIn) -> None:
    smtp.refuse(CITIZEN, temporary=True)
    with pytest.raises(EmailRetryLater) as caught:
        await _send(_sender(smtp.port), _render("zh"))
    assert caught.value.retry_after == TEMPORARY_RETRY_AFTER


async def test_a_relay_that_is_down_means_retry_later() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(EmailRetryLater) as caught:
        await _send(_sender(port), _render("en"))
    assert caught.value.retry_after == UNAVAILABLE_RETRY_AFTER
    assert "ConnectionRefusedError" in str(caught.value)


async def test_login_with_the_right_password_delivers_and_a_wrong_one_is_misconfigured() -> None:
    with SmtpStandIn(user="kpb", password="right horse") as smtp:
        await _send(_sender(smtp.port, user="kpb", password="right horse"), _render("zh"))
        with pytest.raises(EmailSenderMisconfigured, match="login refused"):
            await _send(_sender(smtp.port, user="kpb", password="wrong"), _render("zh"))
        assert len(smtp.messages) == 1


def test_from_settings_needs_a_host_and_a_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMTP_HOST", raising=False)
    monkeypatch.setenv("SMTP_FROM", FROM)
    with pytest.raises(EmailSenderMisconfigured, match="SMTP_HOST"):
        EmailSender.from_settings(load_settings())


def test_a_sender_that_is_not_an_address_is_misconfigured() -> None:
    with pytest.raises(EmailSenderMisconfigured, match="SMTP_FROM"):
        EmailSender(host="127.0.0.1", sender="survey office")


async def test_from_settings_sends_through_the_configured_relay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with SmtpStandIn(user="kpb", password="s3cret pass") as smtp:
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("SMTP_USER", "kpb")
        monkeypatch.setenv("SMTP_PASSWORD", "s3cret pass")
        monkeypatch.setenv("SMTP_STARTTLS", "false")
        monkeypatch.setenv("SMTP_FROM", f"市考评办 <{FROM}>")
        settings = load_settings()
        assert "s3cret" not in repr(settings)
        await _send(EmailSender.from_settings(settings), _render("zh"))
        [mail] = smtp.messages
    assert mail.message["From"].addresses[0].display_name == "市考评办"
    assert mail.mail_from == FROM


def test_smtp_starttls_must_be_a_yes_or_no(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_STARTTLS", "maybe")
    with pytest.raises(ValueError, match="SMTP_STARTTLS"):
        load_settings()
