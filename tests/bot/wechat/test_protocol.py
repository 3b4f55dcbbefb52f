"""The WeChat protocol: signatures, the safe mode's AES envelope byte by byte, and XML
that cannot be read."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.wechat import Crypto, ProtocolError, parse_xml, signature, text_reply

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx0123456789abcdef"


def test_signature_is_sha1_of_the_sorted_parts() -> None:
    # sorted: "1372623149" < "1409659813" < "QDG6eK"
    expected = hashlib.sha1(b"13726231491409659813QDG6eK").hexdigest()
    assert signature("QDG6eK", "1409659813", "1372623149") == expected
    assert signature("1372623149", "QDG6eK", "1409659813") == expected


def test_the_envelope_is_random_length_message_appid_padded_to_32() -> None:
    crypto = Crypto("token", AES_KEY, APP_ID)
    sealed = crypto.encrypt("<xml>你好</xml>", random=b"R" * 16)
    key = base64.b64decode(AES_KEY + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(sealed)) + decryptor.finalize()
    message = "<xml>你好</xml>".encode()
    body = b"R" * 16 + struct.pack(">I", len(message)) + message + APP_ID.encode()
    pad = 32 - len(body) % 32
    assert plain == body + bytes([pad]) * pad
    assert len(plain) % 32 == 0
    assert crypto.decrypt(sealed) == "<xml>你好</xml>"


def test_a_message_padded_to_a_full_block_gets_a_whole_block_of_padding() -> None:
    crypto = Crypto("token", AES_KEY, APP_ID)
    # 16 + 4 + 26 + 18 = 64 bytes: a whole extra block of 32 x 0x20
    message = "x" * 26
    sealed = crypto.encrypt(message)
    assert len(base64.b64decode(sealed)) == 96
    assert crypto.decrypt(sealed) == message


def test_an_envelope_for_another_app_is_refused() -> None:
    sealed = Crypto("token", AES_KEY, "wxsomebodyelse0000").encrypt("<xml/>")
    with pytest.raises(ProtocolError, match="not for this app"):
        Crypto("token", AES_KEY, APP_ID).decrypt(sealed)


@pytest.mark.parametrize(
    ("encrypted", "reason"),
    [
        ("not base64!", "not base64"),
        (base64.b64encode(b"short").decode(), "whole number"),
        (base64.b64encode(b"\0" * 32).decode(), "padding"),
    ],
)
def test_a_broken_envelope_is_a_protocol_error(encrypted: str, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        Crypto("token", AES_KEY, APP_ID).decrypt(encrypted)


def test_a_key_that_is_not_43_base64_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="WECHAT_AES_KEY"):
        Crypto("token", "tooshort", APP_ID).encrypt("x")


def test_seal_signs_what_it_encrypts() -> None:
    crypto = Crypto("token", AES_KEY, APP_ID)
    sealed = parse_xml(crypto.seal("<xml><a>1</a></xml>", timestamp="100", nonce="n"))
    assert sealed["MsgSignature"] == signature("token", "100", "n", sealed["Encrypt"])
    assert crypto.decrypt(sealed["Encrypt"]) == "<xml><a>1</a></xml>"


def test_parse_reads_cdata_and_plain_fields() -> None:
    fields = parse_xml(
        b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><CreateTime>1348831860</CreateTime>"
        b"<Content><![CDATA[a <b> & c]]></Content></xml>"
    )
    assert fields == {"ToUserName": "gh_1", "CreateTime": "1348831860", "Content": "a <b> & c"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<xml><Content>open", "malformed XML"),
        (b"", "malformed XML"),
        (b"<html><body/></html>", "not <xml>"),
        (
            b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
            "declarations",
        ),
    ],
)
def test_unreadable_xml_is_a_protocol_error(body: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        parse_xml(body)


def test_a_text_reply_escapes_what_xml_would_misread() -> None:
    reply = text_reply(to_user="o1", from_user="gh_1", text="a <b> & ]]> c", now=5)
    assert parse_xml(reply) == {
        "ToUserName": "o1",
        "FromUserName": "gh_1",
        "CreateTime": "5",
        "MsgType": "text",
        "Content": "a <b> & ]]> c",
    }
