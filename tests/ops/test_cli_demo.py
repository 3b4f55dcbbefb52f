"""`civicbot demo seed` on a new installation: the schema is made, the year is written
and summed up (with the truth to compare the published index to and the desk's
password, once), and a database with data is refused unless --force."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from civic.settings import get_settings
from ops.cli import main
from storage.db import session_scope
from storage.models import AgencyUser, Ticket

SMALL = ["demo", "seed", "--tickets", "300", "--responses", "60", "--ratings", "30"]


def tickets() -> int:
    with session_scope(get_settings().database_url) as session:
        return session.scalar(select(func.count()).select_from(Ticket)) or 0


def test_seed_writes_a_year_and_says_what_it_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SMALL, "--year", "2025", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("seeded 2025-01-01 to 2026-01-01 00:00 (city time), seed 4, in ")
    assert lines[1].startswith("  300 tickets (")
    assert "true satisfaction, which the published index should recover" in out
    assert "compare: civicbot campaign results annual_satisfaction --campaign 1" in out
    sign_in = next(i for i, line in enumerate(lines) if "sign in as demo-office" in line)
    assert len(lines[sign_in + 1].strip()) >= 16
    assert tickets() == 300
    with session_scope(get_settings().database_url) as session:
        office = session.scalars(select(AgencyUser)).one()
        assert (office.username, office.role, office.agency) == ("demo-office", "staff", None)


def test_a_database_with_data_is_refused_and_forced(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SMALL, "--year", "2025"]) == 0
    capsys.readouterr()
    assert main([*SMALL, "--year", "2025"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("the database already has data (300 tickets, ")
    assert "nothing was written" in out
    assert tickets() == 300
    assert main([*SMALL, "--year", "2025", "--force", "--seed", "2"]) == 0
    assert "demo-office was there already; its password is unchanged." in capsys.readouterr().out
    assert tickets() == 600


def test_a_year_that_has_not_begun_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SMALL, "--year", "2999"]) == 2
    assert capsys.readouterr().out.startswith("cannot seed: the year 2999 has 0 days so far")
    assert tickets() == 0
