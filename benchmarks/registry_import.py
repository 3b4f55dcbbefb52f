"""The household registry import at a city's scale: a synthetic registry of `--households`
(default 2,000,000) written to a temporary CSV file, then imported with the real command
(`civicbot frame import FILE`) in a child process into a scratch PostgreSQL schema, twice:
first every household is new, then every one is already there (all unchanged). For each
run: the child's peak memory (max RSS, from the kernel's accounting of the finished child,
os.wait4) and the rows per second over the whole command (start-up and migration
included). Target: 2 million households in under 2 GB.

    .venv/bin/python benchmarks/registry_import.py \\
        --database-url postgresql+psycopg2://postgres@127.0.0.1:5432/test [--households N]

The schema is created for the run and dropped afterwards, and so is the file. The registry
is generated, never real, and the same for the same `--seed`: ids, districts of the
Hangzhou profile, strata (age band, gender, income), a mobile number for most, an e-mail
address for some and a postal address for half.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic.city import load_profile  # noqa: E402
from civic.settings import mask_url_password  # noqa: E402
from storage.db import make_engine  # noqa: E402

AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
GENDERS = ("f", "m")
INCOMES = ("low", "middle", "high")
ROADS = ("文三路", "天目山路", "江南大道", "千岛湖镇新安大街", "解放路", "钱江路")
HEADER = ("id", "district", "age_band", "gender", "income", "mobile", "email", "postal_address")


def schema_url(server: str, schema: str) -> str:
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options=-csearch_path%3D{schema}"


def write_registry(path: Path, households: int, districts: list[str], seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n in range(1, households + 1):
            mobile = f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}" if rng.random() < 0.8 else ""
            email = f"h{n}@example.cn" if rng.random() < 0.3 else ""
            road = rng.choice(ROADS)
            address = (
                f"{road} {rng.randint(1, 999)} 号"
                if rng.random() < 0.5 or not (mobile or email)
                else ""
            )
            writer.writerow(
                (
                    f"HH{n:09d}",
                    rng.choice(districts),
                    rng.choice(AGE_BANDS),
                    rng.choice(GENDERS),
                    rng.choice(INCOMES),
                    mobile,
                    email,
                    address,
                )
            )
            if n % 500_000 == 0:
                print(f"  written {n:,} households", flush=True)


def run_import(path: Path, url: str, var_dir: Path) -> tuple[float, int, int]:
    """(seconds, peak memory in bytes, exit status) of `civicbot frame import`."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CIVIC_VAR_DIR": str(var_dir),
        "CIVIC_SECRET_KEY": secrets.token_urlsafe(48),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "ops.cli", "frame", "import", str(path), "--lang", "en"]
    started = time.monotonic()
    child = subprocess.Popen(command, env=env, cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)  # already reaped
    return time.monotonic() - started, usage.ru_maxrss * 1024, child.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server's database")
    parser.add_argument("--households", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    schema = f"bench_registry_{secrets.token_hex(3)}"
    districts = sorted(load_profile(ROOT / "profiles" / "hangzhou").districts)
    print(f"database: {mask_url_password(args.database_url)}, schema {schema}")
    admin = make_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with tempfile.TemporaryDirectory(prefix="registry-") as folder:
            path = Path(folder) / "households.csv"
            print(f"writing {args.households:,} households to {path}", flush=True)
            write_registry(path, args.households, districts, args.seed)
            print(f"  {path.stat().st_size / 2**20:,.0f} MiB", flush=True)
            results = []
            for run in ("new", "again"):
                print(f"import ({run}):", flush=True)
                seconds, peak, status = run_import(
                    path, schema_url(args.database_url, schema), Path(folder)
                )
                if status != 0:
                    print(f"the import failed (exit status {status})")
                    return 1
                results.append((run, seconds, peak))
        for run, seconds, peak in results:
            print(
                f"{run:<6} {args.households:,} households in {seconds:.1f} s: "
                f"{args.households / seconds:,.0f} rows/s, peak memory {peak / 2**20:,.0f} MiB"
            )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
