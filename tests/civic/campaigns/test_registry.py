"""The registry import: checks, all or nothing, streaming through the staging table and
progress, concurrent imports, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from civic.campaigns import ImportReport, import_households, opt_out
from storage.db import session_factory
from storage.models import FrameMember

DISTRICTS = {"xihu", "binjiang", "chunan"}
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GOOD = (
    "id,district,age_band,gender,mobile,email,postal_address\n"
    "H1,xihu,30-44,f,13800138000,,\n"
    "H2,binjiang,60+,m,,li@example.cn,\n"
    'H3,chunan,18-29,,+86 139-0013-9000,,"千岛湖镇 1 号"\n'
)


def members(session: Session) -> dict[str, FrameMember]:
    return {m.external_id or "": m for m in session.scalars(select(FrameMember))}


def frame(session: Session) -> list[tuple[object, ...]]:
    """Everything the registry writes, per household, in id order."""
    columns = (
        FrameMember.external_id,
        FrameMember.district,
        FrameMember.strata,
        FrameMember.mobile,
        FrameMember.email,
        FrameMember.postal_address,
        FrameMember.opted_out_at,
    )
    return [tuple(row) for row in session.execute(select(*columns).order_by(FrameMember.id))]


def registry(count: int, *, start: int = 1, prefix: str = "R", district: str = "xihu") -> str:
    """A registry file of `count` households, each with a mobile number and an address."""
    rows = [
        f"{prefix}{n},{district},{n % 5},1390000{n:04d},,Road {n}\n"
        for n in range(start, start + count)
    ]
    return "id,district,age_band,mobile,email,postal_address\n" + "".join(rows)


def test_import_adds_households_with_their_strata(session: Session) -> None:
    report = import_households(session=session, csv_text=GOOD, profile_districts=DISTRICTS)
    session.commit()
    assert (report.added, report.updated, report.errors) == (3, 0, [])
    stored = members(session)
    assert sorted(stored) == ["H1", "H2", "H3"]
    h1, h3 = stored["H1"], stored["H3"]
    assert (h1.kind, h1.district, h1.mobile, h1.email) == (
        "household",
        "xihu",
        "+8613800138000",
        None,
    )
    assert json.loads(h1.strata) == {"age_band": "30-44", "gender": "f"}
    assert json.loads(h3.strata) == {"age_band": "18-29"}
    assert (h3.mobile, h3.postal_address) == ("+8613900139000", "千岛湖镇 1 号")


def test_reimport_updates_and_is_idempotent(session: Session) -> None:
    import_households(session=session, csv_text=GOOD, profile_districts=DISTRICTS)
    session.commit()
    h1 = members(session)["H1"]
    opt_out(session=session, member=h1, now=NOW)
    session.commit()
    again = import_households(session=session, csv_text=GOOD, profile_districts=DISTRICTS)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    moved = GOOD.replace("H1,xihu,30-44", "H1,binjiang,45-59") + "H4,xihu,,,,h4@example.cn,\n"
    report = import_households(session=session, csv_text=moved, profile_districts=DISTRICTS)
    session.commit()
    assert (report.added, report.updated, report.unchanged) == (1, 1, 2)
    stored = members(session)
    assert len(stored) == 4
    assert (stored["H1"].district, json.loads(stored["H1"].strata)["age_band"]) == (
        "binjiang",
        "45-59",
    )
    # The registry does not undo an opt-out.
    assert stored["H1"].opted_out_at is not None


def test_one_bad_row_writes_nothing_and_every_error_is_listed(session: Session) -> None:
    text = (
        "id,district,age_band,mobile,email,postal_address\n"
        "H1,xihu,30-44,13800138000,,\n"
        "H2,nowhere,60+,12345,,\n"
        ",xihu,60+,,bad@address,\n"
        "H4,binjiang,,,,\n"
        "H1,chunan,18-29,,,Road 1\n"
        "H6,xihu,a|b,,,Road 2\n"
    )
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert (report.added, report.updated) == (0, 0)
    assert [str(error) for error in report.errors] == [
        "line 3: district is not a known district code",
        "line 3: mobile is not a valid mobile number",
        "line 4: id is required",
        "line 4: email is not a valid e-mail address",
        "line 5: needs a mobile, email or postal_address",
        "line 6: id repeats the id on line 2",
        "line 7: age_band must not contain '|' or '='",
    ]
    assert session.scalars(select(FrameMember)).all() == []


def test_errors_never_quote_personal_data(session: Session) -> None:
    text = (
        "id,district,mobile,email,postal_address\n"
        "H1,xihu,1380013800,zhang.san@example,西湖区文三路 90 号\n"
        "H2,13912345678,+8613912345678,,\n"
    )
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    written = " ".join(str(error) for error in report.errors)
    assert written == (
        "line 2: mobile is not a valid mobile number "
        "line 2: email is not a valid e-mail address "
        "line 3: district is not a known district code"
    )
    for personal in ("1380013800", "zhang.san", "文三路", "13912345678"):
        assert personal not in written


def test_line_numbers_count_quoted_line_breaks_and_blank_lines(session: Session) -> None:
    text = 'id,district,postal_address\nH1,xihu,"Line one\nLine two"\n\nH2,somewhere,Road 3\n'
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert [str(error) for error in report.errors] == [
        "line 5: district is not a known district code"
    ]


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("", ["line 1: is empty: a header line is required"]),
        (
            "district,email\nxihu,a@b.cn\n",
            ["line 1: id is required"],
        ),
        (
            "id,district,age_band\nH1,xihu,60+\n",
            ["line 1: needs a mobile, email or postal_address column"],
        ),
        (
            "id,district,email,Age Band,email\n",
            [
                "line 1: column 4 name must be lower-case letters, digits, _",
                "line 1: email appears twice",
            ],
        ),
    ],
)
def test_header_problems_are_reported(session: Session, text: str, errors: list[str]) -> None:
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert [str(error) for error in report.errors] == errors


def test_a_row_with_the_wrong_number_of_cells_is_an_error(session: Session) -> None:
    text = "id,district,email\nH1,xihu\n"
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert [str(error) for error in report.errors] == ["line 2: has 2 cells, the header 3"]


def test_unreadable_csv_is_reported_without_its_content(session: Session) -> None:
    # An unclosed quote swallows the rest of the file into one over-long cell.
    text = 'id,district,email\nH1,xihu,a@example.cn\nH2,xihu,"' + "13800138000 " * 20_000
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert [str(error) for error in report.errors] == ["line 3: is not valid CSV (read no further)"]
    assert session.scalars(select(FrameMember)).all() == []


def test_byte_order_mark_and_header_case_are_tolerated(session: Session) -> None:
    text = "\ufeffID,District,Email\nH1,xihu,a@example.cn\n"
    report = import_households(session=session, csv_text=text, profile_districts=DISTRICTS)
    assert (report.added, report.errors) == (1, [])


def test_a_file_is_read_as_a_stream_in_batches(session: Session) -> None:
    consumed: list[int] = []
    seen: list[tuple[str, int, int, int]] = []

    def lines() -> Iterator[str]:
        for number, line in enumerate(io.StringIO(registry(7), newline=""), start=1):
            consumed.append(number)
            yield line

    def progress(step: str, rows: int) -> None:
        staged = session.scalar(text("SELECT count(*) FROM frame_import_staging"))
        in_frame = session.scalar(select(func.count()).select_from(FrameMember))
        seen.append((step, rows, len(consumed), staged * 10 + in_frame))

    report = import_households(
        session=session,
        lines=lines(),
        profile_districts=DISTRICTS,
        progress=progress,
        batch_rows=3,
    )
    session.commit()
    # (step, rows read, lines taken from the file, 10 × staged + in the frame): the file is
    # taken a batch at a time, and nothing reaches the frame before the whole file is read.
    assert seen == [
        ("read", 3, 4, 30),
        ("read", 6, 7, 60),
        ("read", 7, 8, 70),
        ("merge", 7, 8, 70),
    ]
    assert (report.rows, report.added, report.errors) == (7, 7, [])
    stored = members(session)
    assert sorted(stored) == [f"R{n}" for n in range(1, 8)]
    assert (stored["R7"].mobile, stored["R7"].postal_address) == ("+8613900000007", "Road 7")
    assert json.loads(stored["R7"].strata) == {"age_band": "2"}
    assert inspect(session.connection()).get_temp_table_names() == []


def test_a_binary_file_is_decoded_line_by_line(session: Session) -> None:
    data = ("\ufeff" + registry(3)).encode("utf-8")
    report = import_households(session=session, lines=io.BytesIO(data), profile_districts=DISTRICTS)
    assert (report.added, report.errors) == (3, [])


@pytest.mark.parametrize(
    ("last", "error"),
    [
        (b"R12,xihu,1,1390000001X,,Road 12\n", "line 14: mobile is not a valid mobile number"),
        (b"R2,chunan,1,13900000012,,Road 12\n", "line 14: id repeats the id on line 3"),
        (b"R12,xihu,1,13900000012,,Road \xff\n", "line 14: is not UTF-8 (read no further)"),
    ],
)
def test_a_bad_row_late_in_the_file_leaves_the_frame_as_it_was(
    session: Session, caplog: pytest.LogCaptureFixture, last: bytes, error: str
) -> None:
    import_households(session=session, csv_text=GOOD, profile_districts=DISTRICTS)
    session.commit()
    opt_out(session=session, member=members(session)["H1"], now=NOW)
    session.commit()
    before = frame(session)
    # Eleven good rows (three batches staged), H1 moved to another district, then one bad.
    data = registry(11).encode("utf-8") + b"H1,chunan,4,,,Road 1\n" + last
    caplog.set_level(logging.DEBUG)
    report = import_households(
        session=session, lines=io.BytesIO(data), profile_districts=DISTRICTS, batch_rows=3
    )
    session.rollback()
    assert [str(problem) for problem in report.errors] == [error]
    assert (report.added, report.updated, report.unchanged) == (0, 0, 0)
    assert frame(session) == before
    written = " ".join([str(problem) for problem in report.errors] + [caplog.text])
    for personal in ("1390000001", "13900000012", "Road"):
        assert personal not in written


def test_only_the_first_problems_are_listed_and_all_are_counted(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("civic.campaigns._registry.MAX_LISTED_ERRORS", 3)
    registry_text = registry(3) + "R9,nowhere,1,,,Road 9\nR1,xihu,1,,,Road 1\nR11,,1,,,Road 11\n"
    report = import_households(
        session=session, csv_text=registry_text, profile_districts=DISTRICTS, batch_rows=2
    )
    assert [str(problem) for problem in report.errors] == [
        "line 5: district is not a known district code",
        "line 6: id repeats the id on line 2",
        "line 7: district is required",
    ]
    assert (report.unlisted, report.error_count) == (0, 3)
    worse = registry_text + "R12,nowhere,1,,,Road 12\nR2,xihu,1,,,Road 2\n"
    report = import_households(
        session=session, csv_text=worse, profile_districts=DISTRICTS, batch_rows=2
    )
    assert [problem.line for problem in report.errors] == [5, 6, 7]
    assert (report.unlisted, report.error_count) == (2, 5)
    assert session.scalars(select(FrameMember)).all() == []


def test_two_imports_at_once_do_not_mix_their_rows(postgres_url: str) -> None:
    """Both imports have staged rows when either merges; a household in both files is
    added by one and updated by the other, never twice. (PostgreSQL: on SQLite a writing
    session holds the write lock from its start, so imports take turns.)"""
    files = {
        "A": registry(5, prefix="A", district="xihu") + "S,xihu,1,,,Road S\n",
        "B": registry(5, prefix="B", district="binjiang") + "S,binjiang,1,,,Road S\n",
    }
    both_staged = threading.Barrier(2, timeout=30)
    reports: dict[str, ImportReport] = {}
    failures: list[BaseException] = []

    def progress(step: str, rows: int) -> None:
        if (step, rows) == ("read", 2):
            both_staged.wait()

    def run(name: str) -> None:
        try:
            with session_factory(postgres_url, writes=True)() as own:
                reports[name] = import_households(
                    session=own,
                    csv_text=files[name],
                    profile_districts=DISTRICTS,
                    progress=progress,
                    batch_rows=2,
                )
                own.commit()
        except BaseException as exc:  # handed to the test below
            failures.append(exc)
            both_staged.abort()

    threads = [threading.Thread(target=run, args=(name,)) for name in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    counts = sorted((r.rows, r.added, r.updated, r.unchanged) for r in reports.values())
    assert counts == [(6, 5, 1, 0), (6, 6, 0, 0)]
    with session_factory(postgres_url)() as check:
        stored = {m.external_id: m.district for m in check.scalars(select(FrameMember))}
    assert len(stored) == 11
    assert {k: v for k, v in stored.items() if k != "S"} == {
        **{f"A{n}": "xihu" for n in range(1, 6)},
        **{f"B{n}": "binjiang" for n in range(1, 6)},
    }
    assert stored["S"] in ("xihu", "binjiang")
