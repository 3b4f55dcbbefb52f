"""The trend queries of the desk's public-opinion pages at 2.5 million comments: two years
of comments (`--comments`, default 2,500,000, half a year each) with their codes in a
scratch PostgreSQL schema; the comment counts the trends read rebuilt from them, month by
month, timed; then each query the page `/desk/opinion/trends` runs, timed `--runs` times
(target: median under 500 ms), without and with each filter (an agency, a district, both);
and last what the first page after an analyst's coding pays: one cell (month, agency,
district) marked dirty, then refreshed by the trend table's query.

    .venv/bin/python benchmarks/opinion_trends.py --database-url postgresql+psycopg2://...
        [--comments 2500000] [--runs 9] [--keep]

The schema is created by the migrations, filled by COPY (`storage.bulk`), and dropped
afterwards unless `--keep` (then `--schema NAME --reuse` times the queries again without
filling). Every step shows its progress. Comments are generated, never real: a code per
comment drawn from the codebook (a few with two, some with none, one in ten accepted by
an analyst), hospital registration twice as frequent in the second year.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic.city import load_profile  # noqa: E402
from civic.opinion import (  # noqa: E402
    Cell,
    Codebook,
    codebook_path,
    comment_totals,
    load_codebook,
    mark_dirty,
    rebuild_counts,
    top_problems,
    trend_table,
    year_over_year,
)
from civic.settings import mask_url_password  # noqa: E402
from storage.bulk import BulkLoad  # noqa: E402
from storage.db import make_engine, migrate, session_factory  # noqa: E402
from storage.models import Comment, CommentCode  # noqa: E402

YEAR = 2026
BATCH = 50_000
LEVELS = ("anonymous", "account", "verified_phone", "invited")
LEVEL_WEIGHTS = (60, 20, 15, 5)
COMMENT_COLUMNS = (
    "id", "source", "source_id", "agency", "category", "district", "created_at", "month",
    "language", "assurance", "text", "collected_at",
)  # fmt: skip
CODE_COLUMNS = ("comment_id", "kind", "code")


def progress(step: str, done: int, total: int) -> None:
    filled = 30 * done // max(total, 1)
    end = "\n" if done >= total else ""
    sys.stderr.write(f"\r{step:<18} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}{end}")
    sys.stderr.flush()


def schema_url(server: str, schema: str) -> str:
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options=-csearch_path%3D{schema}"


def fill(url: str, codebook: Codebook, agencies: list[str], districts: list[str], n: int) -> None:
    """`n` comments over YEAR - 1 and YEAR, and their codes, by COPY in one transaction."""
    rng = random.Random(2026)
    codes = sorted(codebook.codes)
    weights = [4.0 if code == "hospital-registration" else 1.0 for code in codes]
    doubled = codes.index("hospital-registration")
    loaded = datetime(YEAR, 12, 31, tzinfo=UTC)
    engine = make_engine(url)
    with engine.begin() as connection, BulkLoad(connection) as load:
        for start in range(0, n, BATCH):
            size = min(BATCH, n - start)
            comments, coded = [], []
            for number, comment_id in enumerate(load.ids(Comment, size), start=start):
                year = YEAR - 1 if number < n // 2 else YEAR
                month = rng.randint(1, 12)
                comments.append(
                    (
                        comment_id, "complaint", comment_id, rng.choice(agencies), None,
                        rng.choice(districts), datetime(year, month, 15, tzinfo=UTC),
                        f"{year}-{month:02d}", "zh",
                        rng.choices(LEVELS, LEVEL_WEIGHTS)[0], "…", loaded,
                    )
                )  # fmt: skip
                weights[doubled] = 8.0 if year == YEAR else 4.0
                coded += _codes(rng, comment_id, codes, weights)
            load.insert(Comment, COMMENT_COLUMNS, comments)
            load.insert(CommentCode, CODE_COLUMNS, coded)
            progress("comments", start + size, n)
    # A bulk-loaded table needs its visibility map before an index-only scan pays.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE comments"))
        connection.execute(text("VACUUM ANALYZE comment_codes"))
    engine.dispose()


def _codes(
    rng: random.Random, comment_id: int, codes: list[str], weights: list[float]
) -> list[tuple[int, str, str]]:
    """A comment's codes: none (5%), one or two suggested, and one accepted in ten."""
    draw = rng.random()
    if draw < 0.05:
        return []
    suggested = set(rng.choices(codes, weights, k=2 if draw > 0.9 else 1))
    rows = [(comment_id, "suggested", code) for code in sorted(suggested)]
    if rng.random() < 0.1:
        rows.append((comment_id, "accepted", rng.choices(codes, weights)[0]))
    return rows


def count(url: str, codebook: Codebook) -> None:
    """Rebuild the comment counts of every month, one transaction a month, and time it."""
    sessions = session_factory(url)
    with sessions() as session:
        months = list(session.scalars(select(Comment.month).distinct().order_by(Comment.month)))
    started, times = time.perf_counter(), []
    for done, month in enumerate(months, start=1):
        began = time.perf_counter()
        with sessions() as session:
            rebuild_counts(session=session, months=[month], codebook=codebook)
            session.commit()
        times.append(time.perf_counter() - began)
        progress("counts", done, len(months))
    engine = make_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE comment_counts"))
        rows = connection.execute(text("SELECT count(*) FROM comment_counts")).scalar_one()
    engine.dispose()
    print(
        f"counted {len(months)} months into {rows:,} rows in "
        f"{time.perf_counter() - started:.0f} s (a month: median "
        f"{1000 * statistics.median(times):.0f} ms, slowest {1000 * max(times):.0f} ms)"
    )


def time_first_read(url: str, codebook: Codebook, runs: int) -> None:
    """The table's query right after an analyst coded a comment (its cell marked dirty):
    it rebuilds that cell before it reads."""
    sessions = session_factory(url)
    times = []
    for _ in range(runs):
        with sessions() as session:
            mark_dirty(session=session, cells=[Cell(f"{YEAR}-06", "health", "xihu")])
            session.commit()
            started = time.perf_counter()
            queries(codebook)["trend_table by month, code × agency"](session)
            times.append(time.perf_counter() - started)
            session.commit()
    print(
        f"\nfirst read after a coding: median "
        f"{1000 * statistics.median(times):.1f} ms, slowest {1000 * max(times):.1f} ms"
    )


def queries(codebook: Codebook) -> dict[str, Callable[..., Any]]:
    """The queries the trend page runs, by name; each takes a session and the filters."""
    return {
        "trend_table by month, code × agency": lambda s, **f: trend_table(
            session=s, codebook=codebook, year=YEAR, by=("code", "agency"), **f
        ),
        "trend_table by month, one code": lambda s, **f: trend_table(
            session=s,
            codebook=codebook,
            year=YEAR,
            by=("code",),
            code="hospital-registration",
            **f,
        ),
        "comment_totals by month": lambda s, **f: comment_totals(session=s, year=YEAR, **f),
        "year_over_year": lambda s, **f: year_over_year(
            session=s, codebook=codebook, year=YEAR, **f
        ),
        "top_problems": lambda s, **f: top_problems(session=s, codebook=codebook, year=YEAR, **f),
    }


SCOPES: dict[str, dict[str, str]] = {
    "all": {},
    "agency": {"agency": "health"},
    "district": {"district": "xihu"},
    "agency+district": {"agency": "health", "district": "xihu"},
}


def time_queries(url: str, codebook: Codebook, runs: int, label: str) -> None:
    sessions = session_factory(url)
    print(f"\n{label}: median and p95 of {runs} runs after one first run (target median < 500 ms)")
    for name, query in queries(codebook).items():
        for scope, filters in SCOPES.items():
            times = []
            with sessions() as session:
                query(session, **filters)
                for _ in range(runs):
                    started = time.perf_counter()
                    query(session, **filters)
                    times.append(time.perf_counter() - started)
            times.sort()
            p95 = times[int(0.95 * (len(times) - 1))]
            median = statistics.median(times)
            verdict = "met" if median < 0.5 else "NOT met"
            print(
                f"  {name:<38} {scope:<16} median {1000 * median:7.1f} ms, "
                f"p95 {1000 * p95:7.1f} ms  {verdict}",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server")
    parser.add_argument("--comments", type=int, default=2_500_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--schema", default=f"bench_trends_{secrets.token_hex(3)}")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--reuse", action="store_true", help="the schema is filled already")
    args = parser.parse_args()

    admin = make_engine(args.database_url)
    url = schema_url(args.database_url, args.schema)
    print(f"database: {mask_url_password(args.database_url)}, schema {args.schema}")
    profile = load_profile(ROOT / "profiles" / "hangzhou")
    codebook = load_codebook(codebook_path(profile), profile)
    try:
        if not args.reuse:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{args.schema}"'))
            migrate(url)
            started = time.perf_counter()
            fill(url, codebook, sorted(profile.agencies), sorted(profile.districts), args.comments)
            print(f"filled {args.comments:,} comments in {time.perf_counter() - started:.0f} s")
            count(url, codebook)
        engine = make_engine(url)
        with engine.connect() as conn:
            counts = conn.execute(
                text("SELECT (SELECT count(*) FROM comments), (SELECT count(*) FROM comment_codes)")
            ).one()
        print(f"{counts[0]:,} comments, {counts[1]:,} codes")
        time_queries(url, codebook, args.runs, "reading the comment counts")
        time_first_read(url, codebook, args.runs)
        engine.dispose()
    finally:
        if not args.keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
