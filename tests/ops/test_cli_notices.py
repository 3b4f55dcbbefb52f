"""`civicbot notices propose` and `civicbot notices list` on SQLite, over the generated two
years (tests/civic/notices/support.py): one proposal for the Health Commission, nothing
more the second time, and the list in English and Chinese."""

from __future__ import annotations

import pytest

from civic.settings import get_settings
from ops.cli import main
from storage.db import session_factory
from tests.civic.notices.support import add_comments


@pytest.fixture
def seeded(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    with session_factory(get_settings().database_url)() as session:
        add_comments(session)
        session.commit()
    capsys.readouterr()


def test_propose_then_propose_again_then_list(
    seeded: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notices", "propose", "--year", "2026", "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "1 new proposals from 2026's figures.",
        "GZ-2026-001  Health Commission  code-growth  Long waits for registration",
    ]
    assert main(["notices", "propose", "--year", "2026", "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines() == ["0 new proposals from 2026's figures."]
    assert main(["notices", "list", "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "GZ-2026-001  Proposed  Health Commission  Long waits for registration  2026"
    ]
    assert main(["notices", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "GZ-2026-001  待审核  卫生健康委员会  挂号排队时间长  2026"
    ]
    assert main(["notices", "list", "--status", "issued", "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines() == ["No notices."]
