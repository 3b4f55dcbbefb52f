"""How well the smart assistant's keyword search finds the right page.

Runs every held-out query of `benchmarks/data/site_search_heldout.tsv` (written the way people
ask, not copied from the pages) through `civic.city._search.SiteSearch` over the profile's
`site.yml`, and prints per language the share of queries whose expected page is in the top 3
and in first place, then the misses. A few off-topic queries check that the search answers
nothing rather than something random.

    .venv/bin/python benchmarks/site_search.py [--profile hangzhou]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic.city import SiteSearch, load_site  # noqa: E402

HELDOUT = ROOT / "benchmarks" / "data" / "site_search_heldout.tsv"
OFF_TOPIC = [
    "how to cook noodles",
    "今天天气怎么样",
    "帮我订一张去上海的高铁票",
    "what is the capital of france",
    "周末去哪里玩比较好",
    "recommend a good movie",
    "红烧肉怎么做",
    "top 10 things to do in hangzhou",
    "西湖边最好吃的餐厅",
    "best hotpot restaurant near the lake",
    "明天会下雨吗",
    "how do I buy stocks",
    "附近哪里有药店",
    "python tutorial for beginners",
    "我想买一部新手机",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="hangzhou")
    args = parser.parse_args()
    site = load_site(ROOT / "profiles" / args.profile)
    started = time.perf_counter()
    search = SiteSearch(site.pages.values())
    built = time.perf_counter() - started

    with HELDOUT.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    unknown = sorted({row["expected_page"] for row in rows} - set(site.pages))
    if unknown:
        print(f"unknown expected pages in {HELDOUT.name}: {', '.join(unknown)}")
        return 1

    started = time.perf_counter()
    misses: dict[str, list[str]] = {}
    for lang in sorted({row["lang"] for row in rows}):
        cases = [row for row in rows if row["lang"] == lang]
        top3 = first = 0
        for row in cases:
            keys = [hit.page.key for hit in search.search(row["query"], limit=3)]
            top3 += row["expected_page"] in keys
            first += bool(keys) and keys[0] == row["expected_page"]
            if keys[:1] != [row["expected_page"]]:
                got = ", ".join(keys) or "(nothing)"
                misses.setdefault(lang, []).append(
                    f"  {row['query']}  expected {row['expected_page']}, got {got}"
                )
        print(
            f"{lang}: {len(cases)} queries, top-3 {top3 / len(cases):.1%}, "
            f"first {first / len(cases):.1%}"
        )
    per_query = (time.perf_counter() - started) / max(len(rows), 1)

    silent = [q for q in OFF_TOPIC if not search.search(q)]
    print(f"off-topic queries answered with nothing: {len(silent)}/{len(OFF_TOPIC)}")
    print(f"index built in {built * 1000:.0f} ms (with jieba), {per_query * 1000:.2f} ms a query")
    for lang, lines in misses.items():
        print(f"\nnot first ({lang}):")
        print("\n".join(lines))
    for query in sorted(set(OFF_TOPIC) - set(silent)):
        hits = ", ".join(f"{h.page.key} {h.score}" for h in search.search(query))
        print(f"off-topic but answered: {query}  -> {hits}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
