"""storage/db.py: several processes migrating one PostgreSQL schema at once (as every
process does when it starts) all succeed, and the schema ends at head once."""

from __future__ import annotations

import subprocess
import sys
import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from civic.settings import PROJECT_ROOT
from storage.db import MIGRATION_LOCK, advisory_key, alembic_config, engine_for, migrate
from storage.models import Base

MIGRATE = "import sys; from storage.db import migrate; migrate(sys.argv[1])"


def _head(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def _versions(url: str) -> list[str]:
    with engine_for(url).connect() as connection:
        return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_processes_starting_together_all_migrate_a_fresh_schema(empty_postgres_url: str) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, empty_postgres_url],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    # and threads of this process at the same time, on one engine
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(empty_postgres_url)
        except BaseException as exc:  # reported below, with the processes' output
            errors.append(exc)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    outputs = [p.communicate(timeout=120)[0].decode() for p in processes]
    for thread in threads:
        thread.join(timeout=120)

    assert [p.returncode for p in processes] == [0, 0, 0, 0], outputs
    assert errors == []
    assert _versions(empty_postgres_url) == [_head(empty_postgres_url)]
    with engine_for(empty_postgres_url).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_a_migration_waits_while_another_holds_the_lock(empty_postgres_url: str) -> None:
    engine = engine_for(empty_postgres_url)
    holder = engine.connect()
    holder.execute(
        text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(holder, MIGRATION_LOCK)}
    )
    waiting = threading.Thread(target=migrate, args=(empty_postgres_url,), daemon=True)
    try:
        waiting.start()
        waiting.join(timeout=1.5)
        assert waiting.is_alive()
        assert inspect(engine).get_table_names() == []
        holder.commit()  # the transaction ends, and the lock with it
    finally:
        holder.close()
    waiting.join(timeout=60)
    assert not waiting.is_alive()
    assert _versions(empty_postgres_url) == [_head(empty_postgres_url)]
