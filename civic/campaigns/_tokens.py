"""Signed invitation tokens that fit Telegram's `/start` payload (1-64 characters of
`A-Za-z0-9_-`).

A token is a kind letter, a random nonce that names the invitation, and a truncated
HMAC-SHA256 of both under CIVIC_SECRET_KEY:

    i  Wq3v0X2bJ9rT4mZk  t1nS8yQ0bVx5cR2dP7eL_w
    |  nonce (16)        MAC (22, 128 bits)

Anyone can read the nonce; nobody without the key can make a MAC for another one, and the
MAC is compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

INVITATION = "i"
NONCE_LENGTH = 16
MAC_LENGTH = 22
TOKEN_LENGTH = 1 + NONCE_LENGTH + MAC_LENGTH
_SHAPE = re.compile(rf"^[A-Za-z][A-Za-z0-9_-]{{{NONCE_LENGTH + MAC_LENGTH}}}$")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def new_nonce() -> str:
    """A random nonce of NONCE_LENGTH URL-safe characters (96 bits)."""
    return _b64(secrets.token_bytes(12))


def _mac(secret: str, kind: str, nonce: str) -> str:
    digest = hmac.new(secret.encode(), f"{kind}{nonce}".encode(), hashlib.sha256).digest()
    return _b64(digest[:16])


def sign(*, secret: str, nonce: str, kind: str = INVITATION) -> str:
    if len(nonce) != NONCE_LENGTH:
        raise ValueError(f"a nonce has {NONCE_LENGTH} characters")
    return f"{kind}{nonce}{_mac(secret, kind, nonce)}"


def verify(*, secret: str, token: str, kind: str = INVITATION) -> str | None:
    """The nonce when `token` is well formed and signed with `secret`, else None."""
    if not _SHAPE.match(token) or not token.startswith(kind):
        return None
    nonce, mac = token[1 : 1 + NONCE_LENGTH], token[1 + NONCE_LENGTH :]
    if not hmac.compare_digest(mac, _mac(secret, kind, nonce)):
        return None
    return nonce


def looks_like_token(payload: str) -> bool:
    """True for a payload shaped like a token (signed or not): worth checking."""
    return bool(_SHAPE.match(payload))
