"""A local SMTP server for tests: aiosmtpd speaking real SMTP on a local port.

Each message that is accepted is parsed with the standard ``email`` package and kept with
its envelope. Options: refuse chosen recipients at RCPT TO (``550 5.1.1``, or a temporary
``450 4.2.1``), require AUTH LOGIN/PLAIN with one user (allowed without TLS here, since
nothing leaves the machine).

Usage::

    with SmtpStandIn() as smtp:                # or start()/stop(); reset() between tests
        sender = EmailSender(host="127.0.0.1", port=smtp.port, sender="survey@example.org")
        await sender.send(...)
        [mail] = smtp.messages_to("citizen@example.org")
        mail.message["List-Unsubscribe"]
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    timestamp: float


class _Handler:
    def __init__(self, stand_in: SmtpStandIn) -> None:
        self.stand_in = stand_in

    async def handle_RCPT(
        self,
        server: SmtpServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        with self.stand_in._lock:
            refusal = self.stand_in._refused.get(address.lower())
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        # Parsed with plain newlines, as a mail client shows it; `raw` keeps the CRLFs.
        parsed = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
        message = cast(EmailMessage, parsed)
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            message=message,
            raw=raw,
            timestamp=time.time(),
        )
        with self.stand_in._lock:
            self.stand_in._received.append(mail)
        return "250 2.0.0 Message accepted for delivery"


class _BoundController(Controller):
    """aiosmtpd's threaded controller on a socket bound beforehand to a free port (binding
    port 0 and asking afterwards would break the controller's start-up check)."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1], **kwargs)
        self._sock = sock

    def _create_server(self) -> Awaitable[Any]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class SmtpStandIn:
    def __init__(self, *, user: str | None = None, password: str | None = None) -> None:
        self.user, self.password = user, password
        self._lock = threading.RLock()
        self._received: list[ReceivedMail] = []
        self._refused: dict[str, str] = {}
        self._controller: _BoundController | None = None
        self.port: int | None = None

    def start(self) -> SmtpStandIn:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        auth: dict[str, Any] = {}
        if self.user is not None:
            auth = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = _BoundController(
            _Handler(self), sock, server_hostname="smtp.test", **auth
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _authenticate(
        self, server: SmtpServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    # ----------------------------------------------------------------- control API
    def refuse(self, address: str, *, temporary: bool = False) -> None:
        """RCPT TO `address` is answered 550 (unknown user) or, if temporary, 450."""
        reply = (
            "450 4.2.1 Mailbox temporarily unavailable"
            if temporary
            else f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        )
        with self._lock:
            self._refused[address.lower()] = reply

    def reset(self) -> None:
        with self._lock:
            self._received.clear()
            self._refused.clear()

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._received)

    def messages_to(self, address: str) -> list[ReceivedMail]:
        wanted = address.lower()
        with self._lock:
            return [m for m in self._received if wanted in (r.lower() for r in m.rcpt_tos)]
