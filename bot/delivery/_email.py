"""The one client of the SMTP relay that carries survey invitations by e-mail.

`smtplib` runs in a worker thread, one connection per message: invitations go out at the
pace of a campaign, not in bulk bursts, and a fresh connection never inherits a broken one.
Failures become our own errors: `EmailRetryLater` (4xx replies, the relay down or
unreachable), `EmailRejected` (a 5xx refusal of this recipient or message: final) and
`EmailSenderMisconfigured` (login, STARTTLS or our sender address refused).

Addresses are personal data: they never go into a log line or an error, and the server's
reply text is dropped because it usually quotes the address.
"""

from __future__ import annotations

import asyncio
import html
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from civic.errors import CivicError
from civic.i18n import normalise_language, t
from civic.settings import Settings

log = logging.getLogger(__name__)

TEMPORARY_RETRY_AFTER = 300.0  # a 4xx reply; greylisting usually lifts within minutes
UNAVAILABLE_RETRY_AFTER = 60.0  # the relay is down or unreachable


class EmailError(CivicError):
    """The SMTP relay did not take a message."""


class EmailRetryLater(EmailError):
    def __init__(self, retry_after: float, reason: str) -> None:
        super().__init__(f"{reason}; retry after {retry_after:g}s")
        self.retry_after = retry_after


class EmailRejected(EmailError):
    """A permanent (5xx) refusal of this recipient or this message."""

    def __init__(self, code: int, stage: str) -> None:
        super().__init__(f"SMTP relay refused the {stage} with {code}")
        self.code, self.stage = code, stage


class EmailSenderMisconfigured(EmailError):
    """Login, STARTTLS or our sender address failed: no message can go out."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_invitation_email(
    lang: str | None,
    *,
    title: str,
    minutes: int,
    telegram_link: str,
    web_link: str,
    unsubscribe_url: str,
) -> RenderedEmail:
    """The invitation e-mail in `lang`: subject, plain text and HTML from the catalogue."""
    lang = normalise_language(lang)

    def text(key: str, **params: object) -> str:
        return t(f"invitations.{key}", lang, **params)

    body = text("email_body", title=title, minutes=minutes)
    plain = (
        f"{text('email_greeting')}\n\n{body}\n\n{text('email_how')}\n"
        f"{text('email_telegram')}: {telegram_link}\n{text('email_web')}: {web_link}\n\n"
        f"{text('email_signature')}\n\n-- \n"
        f"{text('email_unsubscribe', unsubscribe_url=unsubscribe_url)}\n"
    )
    marker = "\x00unsubscribe\x00"
    unsubscribe = html.escape(text("email_unsubscribe", unsubscribe_url=marker)).replace(
        html.escape(marker), _anchor(unsubscribe_url, unsubscribe_url, "color:#666")
    )
    button = "display:inline-block;padding:10px 18px;background:#1565c0;color:#fff;"
    button += "text-decoration:none;border-radius:4px"
    rich = (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"></head>'
        '<body style="font-family:sans-serif;line-height:1.6;max-width:36em">'
        f"<p>{html.escape(text('email_greeting'))}</p><p>{html.escape(body)}</p>"
        f"<p>{html.escape(text('email_how'))}</p>"
        f"<p>{_anchor(telegram_link, text('email_telegram'), button)}</p>"
        f"<p>{_anchor(web_link, text('email_web'), button)}</p>"
        f"<p>{html.escape(text('email_signature'))}</p>"
        f'<hr><p style="font-size:small;color:#666">{unsubscribe}</p></body></html>\n'
    )
    return RenderedEmail(text("email_subject", title=title), plain, rich)


def _anchor(url: str, label: str, style: str) -> str:
    return f'<a href="{html.escape(url)}" style="{style}">{html.escape(label)}</a>'


class EmailSender:
    def __init__(
        self,
        *,
        host: str,
        sender: str,
        port: int = 25,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30.0,
        local_hostname: str | None = None,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._user, self._password, self._starttls = user, password, starttls
        self._timeout, self._local_hostname = timeout, local_hostname
        address = parseaddr(sender)[1]
        if "@" not in address:
            raise EmailSenderMisconfigured("SMTP_FROM must be an e-mail address")
        self._domain = address.rpartition("@")[2]

    @classmethod
    def from_settings(cls, settings: Settings) -> EmailSender:
        if not (settings.smtp_host and settings.smtp_from):
            raise EmailSenderMisconfigured("SMTP_HOST and SMTP_FROM must both be set")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )

    async def send(
        self,
        to: str,
        subject: str,
        text_body: str,
        html_body: str | None,
        list_unsubscribe_url: str,
    ) -> str:
        """Hand one message to the relay; its Message-ID comes back."""
        message = self.build(to, subject, text_body, html_body, list_unsubscribe_url)
        try:
            await asyncio.to_thread(self._deliver, message)
        except (smtplib.SMTPException, OSError) as exc:
            raise _translate(exc) from (None if _may_quote_address(exc) else exc)
        message_id = str(message["Message-ID"])
        log.info("e-mail %s accepted by the SMTP relay", message_id)
        return message_id

    def build(
        self,
        to: str,
        subject: str,
        text_body: str,
        html_body: str | None,
        list_unsubscribe_url: str,
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self._domain)
        # RFC 8058 one-click unsubscribe: mail clients show an "Unsubscribe" button that
        # POSTs "List-Unsubscribe=One-Click" to the URL.
        message["List-Unsubscribe"] = f"<{list_unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(text_body)
        if html_body is not None:
            message.add_alternative(html_body, subtype="html")
        return message

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(
            self._host, self._port, timeout=self._timeout, local_hostname=self._local_hostname
        ) as smtp:
            if self._starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._user:
                smtp.login(self._user, self._password or "")
            smtp.send_message(message)


def _may_quote_address(exc: BaseException) -> bool:
    """Server replies (and smtplib's refused-recipients map) may hold the address."""
    return isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused)


def _translate(exc: BaseException) -> EmailError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = next(iter(exc.recipients.values()), (550, b""))[0]
        return _by_code(code, "recipient")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return EmailSenderMisconfigured(f"SMTP login refused ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLCertVerificationError):
        return EmailSenderMisconfigured(f"SMTP relay: {type(exc).__name__} (check SMTP_STARTTLS)")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        if exc.smtp_code >= 500:
            return EmailSenderMisconfigured(f"SMTP relay refused SMTP_FROM ({exc.smtp_code})")
        return _by_code(exc.smtp_code, "sender")
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
        reason = f"SMTP relay refused the session ({exc.smtp_code})"
        return EmailRetryLater(UNAVAILABLE_RETRY_AFTER, reason)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, "message")
    return EmailRetryLater(
        UNAVAILABLE_RETRY_AFTER, f"SMTP relay unreachable ({type(exc).__name__})"
    )


def _by_code(code: int, stage: str) -> EmailError:
    if 400 <= code < 500:
        return EmailRetryLater(TEMPORARY_RETRY_AFTER, f"SMTP relay deferred the {stage} ({code})")
    return EmailRejected(code, stage)
