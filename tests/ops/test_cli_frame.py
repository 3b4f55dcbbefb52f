"""`civicbot frame import` and `erase`: what the office's staff see (the progress, the
problems by line and column, never a cell's content) and what is stored."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from civic.settings import get_settings
from ops.cli import main
from ops.cli_frame import ImportProgress
from storage.db import session_scope
from storage.models import FrameMember

REGISTRY = (
    "id,district,age_band,mobile,email,postal_address\n"
    "H1,xihu,30-44,13800138000,,\n"
    "H2,binjiang,60+,,li@example.cn,\n"
    'H3,chunan,18-29,,,"千岛湖镇 1 号"\n'
)


def stored() -> dict[str, str | None]:
    with session_scope(get_settings().database_url) as session:
        return {m.external_id or "": m.district for m in session.scalars(select(FrameMember))}


def test_import_prints_progress_and_the_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "households.csv"
    path.write_text(REGISTRY, encoding="utf-8")
    assert main(["frame", "import", str(path), "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"read 3 rows \(\d[\d,]* rows/s\)", lines[0])
    assert lines[1:] == [
        "all 3 rows are valid: merging them into the sample frame",
        "imported: 3 added, 0 updated, 0 unchanged",
    ]
    assert stored() == {"H1": "xihu", "H2": "binjiang", "H3": "chunan"}

    path.write_text(REGISTRY.replace("H2,binjiang", "H2,xihu"), encoding="utf-8")
    assert main(["frame", "import", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"已读取 3 行（每秒 \d[\d,]* 行）", lines[0])
    assert lines[1:] == ["全部 3 行有效：正在并入抽样框", "已导入：新增 0，更新 1，未变 2"]


def test_a_bad_row_is_named_by_line_and_column_and_nothing_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "households.csv"
    path.write_text(REGISTRY + "H4,xihu,60+,1380013800,zhang.san@example,文三路 90 号\n", "utf-8")
    assert main(["frame", "import", str(path), "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[1:] == [
        "line 5: mobile is not a valid mobile number",
        "line 5: email is not a valid e-mail address",
        "nothing was imported; problems found: 2",
    ]
    for personal in ("1380013800", "zhang.san", "文三路"):
        assert personal not in out
    assert stored() == {}
    assert main(["frame", "import", str(path)]) == 1
    assert capsys.readouterr().out.splitlines()[1:] == [
        "第 5 行：mobile 不是有效的手机号码",
        "第 5 行：email 不是有效的电子邮件地址",
        "未导入任何数据；发现 2 个问题",
    ]


def test_a_file_that_is_not_utf8_is_named_by_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "households.csv"
    path.write_bytes(REGISTRY.encode("utf-8") + "H4,xihu,,,,文三路\n".encode("gb18030"))
    assert main(["frame", "import", str(path), "--lang", "en"]) == 1
    assert capsys.readouterr().out.splitlines()[1:] == [
        "line 5: is not UTF-8 (read no further)",
        "nothing was imported; problems found: 1",
    ]
    assert stored() == {}


def test_an_unreadable_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.csv"
    assert main(["frame", "import", str(missing), "--lang", "en"]) == 1
    assert capsys.readouterr().out == f"cannot read {missing}: FileNotFoundError\n"


def test_erase_a_household(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "households.csv"
    path.write_text(REGISTRY, encoding="utf-8")
    assert main(["frame", "import", str(path)]) == 0
    capsys.readouterr()
    assert main(["frame", "erase", "H2", "--lang", "en"]) == 0
    assert main(["frame", "erase", "H2"]) == 1
    assert capsys.readouterr().out.splitlines() == ["household H2 erased", "没有住户 H2"]
    assert sorted(stored()) == ["H1", "H3"]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_in_a_log_is_a_line_every_ten_seconds_and_the_last_count() -> None:
    clock, out = Clock(), io.StringIO()
    progress = ImportProgress("en", out=out, clock=clock)
    for rows, now in ((5_000, 102.0), (10_000, 104.0), (15_000, 112.0), (20_000, 116.0)):
        clock.now = now
        progress("read", rows)
    clock.now = 120.0
    progress("read", 22_000)
    progress("merge", 22_000)
    progress.finish()
    assert out.getvalue().splitlines() == [
        "read 15,000 rows (1,250 rows/s)",
        "read 22,000 rows (1,100 rows/s)",
        "all 22,000 rows are valid: merging them into the sample frame",
    ]


def test_progress_on_a_terminal_is_redrawn_in_place() -> None:
    clock, out = Clock(), Terminal()
    progress = ImportProgress("zh", out=out, clock=clock)
    for rows, now in ((5_000, 101.0), (10_000, 104.0)):
        clock.now = now
        progress("read", rows)
    progress.finish()
    assert (
        out.getvalue() == "\r已读取 5,000 行（每秒 5,000 行）\r已读取 10,000 行（每秒 2,500 行）\n"
    )
