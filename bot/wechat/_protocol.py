"""The WeChat official-account server protocol: signatures, the AES ("safe") mode's
envelope, and the XML of messages and passive replies.

Plain mode: `signature` = sha1 of the sorted, joined [token, timestamp, nonce]. Safe mode
adds `msg_signature` = sha1 of the sorted [token, timestamp, nonce, Encrypt] and an
AES-256-CBC envelope keyed by the EncodingAESKey (43 base64 characters; the IV is the
key's first 16 bytes): 16 random bytes, the message's length as 4 big-endian bytes, the
message, the app id, padded PKCS#7-style to a multiple of 32.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class ProtocolError(ValueError):
    """A message we cannot read: malformed XML, a broken envelope, another app's."""


def signature(*parts: str) -> str:
    """sha1 of the parts sorted and joined, as WeChat signs both modes."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed(expected_parts: tuple[str, ...], given: str) -> bool:
    return hmac.compare_digest(signature(*expected_parts), given or "")


def parse_xml(body: bytes | str) -> dict[str, str]:
    """The child elements of a WeChat <xml> document as a flat dict.

    Entity declarations are refused outright: WeChat never sends them, and they are how
    an XML body is made to expand in memory."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if "<!DOCTYPE" in raw.upper() or "<!ENTITY" in raw.upper():
        raise ProtocolError("document type declarations are not accepted")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ProtocolError(f"malformed XML: {exc}") from None
    if root.tag != "xml":
        raise ProtocolError(f"the root element is <{root.tag}>, not <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def _element(name: str, value: str | int) -> str:
    if isinstance(value, int):
        return f"<{name}>{value}</{name}>"
    # CDATA cannot hold "]]>"; escaped text reads the same to WeChat
    return f"<{name}>{escape(value)}</{name}>"


def to_xml(fields: dict[str, str | int]) -> str:
    return "<xml>" + "".join(_element(k, v) for k, v in fields.items()) + "</xml>"


def text_reply(*, to_user: str, from_user: str, text: str, now: int) -> str:
    """A passive reply: one text message back to the user who wrote."""
    return to_xml(
        {
            "ToUserName": to_user,
            "FromUserName": from_user,
            "CreateTime": now,
            "MsgType": "text",
            "Content": text,
        }
    )


@dataclass(frozen=True)
class Crypto:
    """The safe mode's envelope for one account."""

    token: str
    aes_key: str  # the 43-character EncodingAESKey
    app_id: str

    @property
    def _key(self) -> bytes:
        try:
            key = base64.b64decode(self.aes_key + "=", validate=True)
        except binascii.Error:
            raise ValueError("WECHAT_AES_KEY is not 43 characters of base64") from None
        if len(key) != 32:
            raise ValueError("WECHAT_AES_KEY must decode to 32 bytes (43 characters)")
        return key

    def _cipher(self) -> Cipher[modes.CBC]:
        key = self._key
        return Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def encrypt(self, message: str, *, random: bytes | None = None) -> str:
        body = message.encode()
        plain = (random or secrets.token_bytes(16)) + struct.pack(">I", len(body))
        plain += body + self.app_id.encode()
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> str:
        """The message inside an envelope; ProtocolError for anything else, including a
        message sealed for another app id."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except binascii.Error:
            raise ProtocolError("Encrypt is not base64") from None
        if not data or len(data) % 16:
            raise ProtocolError("Encrypt is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise ProtocolError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise ProtocolError("the envelope is too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, app_id = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length or app_id.decode(errors="replace") != self.app_id:
            raise ProtocolError("the envelope is not for this app")
        try:
            return message.decode()
        except UnicodeDecodeError:
            raise ProtocolError("the message is not UTF-8") from None

    def seal(self, reply_xml: str, *, timestamp: str, nonce: str) -> str:
        """A passive reply in its envelope, signed."""
        encrypted = self.encrypt(reply_xml)
        return to_xml(
            {
                "Encrypt": encrypted,
                "MsgSignature": signature(self.token, timestamp, nonce, encrypted),
                "TimeStamp": timestamp,
                "Nonce": nonce,
            }
        )
