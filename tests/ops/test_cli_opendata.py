"""`civicbot opendata publish` and `validate` on a demo year: the progress and the
result printed, the files in the folder asked for, and a spoiled file reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from civic.opendata import FILES
from civic.settings import get_settings
from ops.cli import main
from storage.db import session_scope
from storage.models import ChannelAddress, Citizen, Ticket

SMALL = ["demo", "seed", "--tickets", "300", "--responses", "60", "--ratings", "30"]


def test_publish_then_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SMALL, "--year", "2025", "--seed", "4"]) == 0
    capsys.readouterr()
    out = tmp_path / "files"
    assert main(["opendata", "publish", "--out", str(out), "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "tickets: 300 rows"
    assert lines[-1] == f"{out}: every file matches the dictionary"
    assert (out / "tickets.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with session_scope(get_settings().database_url) as session:
        phones = session.scalars(select(Citizen.phone).where(Citizen.phone.is_not(None))).all()
        chats = session.scalars(select(ChannelAddress.address)).all()
        descriptions = session.scalars(select(Ticket.description).limit(50)).all()
    assert len(descriptions) == 50
    published = "".join((out / name).read_text("utf-8") for name in FILES)
    assert [p for p in [*phones, *chats] if p and p in published] == []
    assert [d for d in descriptions if d in published] == []

    path = out / "tickets.json"
    path.write_text(path.read_text("utf-8").replace('"status": "', '"status": "x', 1), "utf-8")
    assert main(["opendata", "validate", "--out", str(out), "--lang", "zh"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == f"{out}：1 个问题"
