"""A year's scorecard at New York's scale: `--tickets` (default 2,500,000, New York's
yearly 311 volume) and `--responses` (default 12,000) of the demo generator in a
PostgreSQL database, then `compute` for every agency timed (target: under 60 s), the
result frozen, and the public results pages asked `--requests` times each (target:
median under 200 ms).

    .venv/bin/python benchmarks/evaluation.py --database-url postgresql+psycopg2://...
        [--tickets 2500000] [--responses 12000] [--requests 50] [--keep]

A scratch schema is created on the server for the run and dropped afterwards unless
`--keep` (then `--schema NAME --reuse` times compute and the pages again on the kept
data without seeding). Seeding at this size takes a while: every step shows progress.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from bot.web import create_app  # noqa: E402
from civic.city import load_profile  # noqa: E402
from civic.demo import SeedOptions, seed_demo  # noqa: E402
from civic.evaluation import compute, freeze, load_scheme, scheme_path  # noqa: E402
from civic.settings import mask_url_password  # noqa: E402
from civic.surveys import sync_profile_surveys  # noqa: E402
from storage.db import make_engine, migrate, session_factory  # noqa: E402

YEAR = 2026
NOW = datetime(2026, 12, 31, 12, tzinfo=UTC)


def progress(step: str, done: int, total: int) -> None:
    filled = 30 * done // max(total, 1)
    end = "\n" if done >= total else ""
    sys.stderr.write(f"\r{step:<18} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}{end}")
    sys.stderr.flush()


def schema_url(server: str, schema: str) -> str:
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options=-csearch_path%3D{schema}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server")
    parser.add_argument("--tickets", type=int, default=2_500_000)
    parser.add_argument("--responses", type=int, default=12_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--schema", default=f"bench_eval_{secrets.token_hex(3)}")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--reuse", action="store_true", help="the schema is seeded already")
    args = parser.parse_args()

    admin = make_engine(args.database_url)
    url = schema_url(args.database_url, args.schema)
    print(f"database: {mask_url_password(args.database_url)}, schema {args.schema}")
    profile = load_profile(ROOT / "profiles" / "hangzhou")
    try:
        if not args.reuse:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{args.schema}"'))
            migrate(url)
            sessions = session_factory(url)
            with sessions() as session:
                sync_profile_surveys(
                    session=session, directory=profile.path / "surveys", agencies=profile.agencies
                )
                session.commit()
            started = time.perf_counter()
            with sessions() as session:
                options = SeedOptions(year=YEAR, tickets=args.tickets, responses=args.responses)
                seed_demo(
                    session=session, profile=profile, options=options, now=NOW, progress=progress
                )
                session.commit()
            print(
                f"seeded {args.tickets:,} tickets, {args.responses:,} responses "
                f"in {time.perf_counter() - started:.0f} s"
            )
            with admin.begin() as conn:
                conn.execute(text(f'ANALYZE "{args.schema}".tickets'))
        sessions = session_factory(url)
        scheme = load_scheme(scheme_path(profile, YEAR), profile)
        with sessions() as session:
            tickets = session.execute(text("SELECT count(*) FROM tickets")).scalar_one()
            started = time.perf_counter()
            result = compute(
                session=session, scheme=scheme, profile=profile, as_of=NOW, progress=progress
            )
            took = time.perf_counter() - started
            ranked = len(result.ranking)
            print(
                f"compute: {took:.1f} s for {len(result.agencies)} agencies ({ranked} ranked) "
                f"and {len(result.districts)} districts from {tickets:,} tickets (target < 60 s)"
            )
            freeze(session=session, result=result, created_by="benchmark", reason="benchmark")
            session.commit()

        app = create_app(None, sessions=sessions, profile=profile)  # type: ignore[arg-type]
        leader = result.ranking[0] if result.ranking else result.agencies[0].agency
        pages = {
            "overview": f"/evaluation/{YEAR}/",
            "agency": f"/evaluation/{YEAR}/agencies/{leader}",
            "district": f"/evaluation/{YEAR}/districts/xihu",
            "method": f"/evaluation/{YEAR}/method",
            "scorecard.json": f"/evaluation/{YEAR}/scorecard.json",
        }
        with TestClient(app) as client:
            for name, path in pages.items():
                first = time.perf_counter()
                assert client.get(path).status_code == 200, path
                cold = time.perf_counter() - first
                times = []
                for number in range(args.requests):
                    lang = "zh" if number % 2 else "en"
                    begun = time.perf_counter()
                    answer = client.get(f"{path}?lang={lang}")
                    times.append(time.perf_counter() - begun)
                    assert answer.status_code == 200, (path, answer.status_code)
                times.sort()
                p95 = times[int(0.95 * (len(times) - 1))]
                print(
                    f"page {name:<15} first {1000 * cold:6.1f} ms, median "
                    f"{1000 * statistics.median(times):6.1f} ms, p95 {1000 * p95:6.1f} ms "
                    f"({args.requests} requests; target median < 200 ms)"
                )
    finally:
        if not args.keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
