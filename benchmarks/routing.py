"""Routing accuracy on the held-out set (benchmarks/data/routing_heldout.tsv, never used
for training or tuning): category top-1, agency and district accuracy per language, and the
most frequent confusions. Uses the same model and rules as the assistant (`civicbot route`).
Tune on the development set (`--set dev`, benchmarks/data/routing_dev.tsv) instead.

    .venv/bin/python benchmarks/routing.py [--set dev] [--misses]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic.city import get_profile  # noqa: E402
from civic.settings import get_settings  # noqa: E402
from ops.route_command import route_lines  # noqa: E402

SETS = {
    "heldout": ROOT / "benchmarks" / "data" / "routing_heldout.tsv",
    "dev": ROOT / "benchmarks" / "data" / "routing_dev.tsv",
}


def load_rows(name: str = "heldout") -> list[dict[str, str]]:
    with SETS[name].open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def predict(rows: list[dict[str, str]]) -> list[dict[str, object]]:
    out = io.StringIO()
    code = asyncio.run(route_lines(get_settings(), [r["text"] for r in rows], out=out))
    if code:
        raise SystemExit(code)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def report(rows: list[dict[str, str]], predictions: list[dict[str, object]]) -> dict[str, object]:
    settings = get_settings()
    categories = get_profile(settings.profiles_dir, settings.profile).categories
    summary: dict[str, object] = {}
    confusions: Counter[tuple[str, str]] = Counter()
    for lang in ("zh", "en"):
        pairs = [(r, p) for r, p in zip(rows, predictions, strict=True) if r["lang"] == lang]
        cat = sum(p["category"] == r["category"] for r, p in pairs)
        agency = sum(p["agency"] == categories[r["category"]].agency for r, p in pairs)
        with_district = [(r, p) for r, p in pairs if r["district"]]
        district = sum(p["district"] == r["district"] for r, p in with_district)
        confusions.update(
            (r["category"], str(p["category"])) for r, p in pairs if p["category"] != r["category"]
        )
        summary[lang] = {
            "messages": len(pairs),
            "category_top1": round(cat / len(pairs), 4),
            "agency": round(agency / len(pairs), 4),
            "district": round(district / len(with_district), 4) if with_district else None,
            "district_messages": len(with_district),
        }
    summary["confusions"] = [f"{a} -> {b}: {n}" for (a, b), n in confusions.most_common(12)]
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", choices=sorted(SETS), default="heldout", dest="which")
    parser.add_argument("--misses", action="store_true", help="print every wrong category")
    args = parser.parse_args()
    rows = load_rows(args.which)
    print(f"routing {len(rows)} {args.which} messages ...", file=sys.stderr)
    predictions = predict(rows)
    summary = report(rows, predictions)
    if args.misses:
        for row, p in zip(rows, predictions, strict=True):
            if p["category"] != row["category"]:
                print(f"  {row['lang']} {row['category']} -> {p['category']}: {row['text']}")
    for lang in ("zh", "en"):
        s = summary[lang]
        print(
            f"{lang}: n={s['messages']}  category top-1 {s['category_top1']:.1%}  "  # type: ignore[index]
            f"agency {s['agency']:.1%}  district {s['district']:.1%} (n={s['district_messages']})"  # type: ignore[index]
        )
    print("most frequent confusions (expected -> predicted):")
    for line in summary["confusions"]:  # type: ignore[attr-defined]
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
