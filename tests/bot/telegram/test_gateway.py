"""Telegram helpers: cutting long texts, and button payloads longer than callback_data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.telegram.gateway import CALLBACK_DATA_LIMIT, PayloadCodec, split_text
from storage.db import engine_for, migrate, session_factory

LIMIT = 4096


def test_short_text_is_one_part() -> None:
    assert split_text("路灯坏了") == ["路灯坏了"]


def test_empty_text_has_no_parts() -> None:
    assert split_text("") == []


def test_long_text_is_cut_at_line_breaks() -> None:
    lines = [f"{i:04d} " + "路" * 95 for i in range(100)]
    text = "\n".join(lines)
    parts = split_text(text)
    assert max(len(p) for p in parts) <= LIMIT
    assert "\n".join(parts) == text
    assert all(p.splitlines()[-1] in lines for p in parts)
    assert len(parts) == 3


def test_text_without_line_breaks_is_cut_at_the_limit() -> None:
    text = "".join(chr(0x4E00 + i % 500) for i in range(10_000))
    parts = split_text(text)
    assert [len(p) for p in parts] == [LIMIT, LIMIT, 10_000 - 2 * LIMIT]
    assert "".join(parts) == text


def test_text_of_exactly_the_limit_is_one_part() -> None:
    assert split_text("a" * LIMIT) == ["a" * LIMIT]


def test_smaller_limit() -> None:
    assert split_text("one\ntwo\nthree", limit=8) == ["one\ntwo", "three"]


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'payloads.db'}"
    migrate(url)
    yield session_factory(url)
    engine_for(url).dispose()


@pytest.mark.parametrize(
    "payload",
    [
        '/choose_category{"category":"street-light"}',
        '/inform_place{"place":"杭州东站东广场出租车上客区"}',  # exactly 64 bytes
    ],
)
def test_short_payload_is_unchanged(sessions: sessionmaker[Session], payload: str) -> None:
    codec = PayloadCodec(sessions)
    assert len(payload.encode()) <= CALLBACK_DATA_LIMIT
    assert codec.encode(payload) == payload
    assert codec.decode(payload) == payload


@pytest.mark.parametrize(
    "payload",
    [
        '/choose_category{"category":"garbage-collection","district":"binjiang","x":1}',
        '/inform_place{"place":"杭州东站东广场出租车上客区入口"}',
        "p:short",
    ],
)
def test_long_payload_goes_by_digest(sessions: sessionmaker[Session], payload: str) -> None:
    codec = PayloadCodec(sessions)
    data = codec.encode(payload)
    assert data.startswith("p:")
    assert len(data.encode()) <= CALLBACK_DATA_LIMIT
    assert codec.encode(payload) == data
    assert PayloadCodec(sessions).decode(data) == payload


def test_unknown_digest_decodes_to_none(sessions: sessionmaker[Session]) -> None:
    assert PayloadCodec(sessions).decode("p:" + "0" * 32) is None
