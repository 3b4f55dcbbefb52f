"""Summarise the report of `rasa test nlu --cross-validation` (`make nlu-crossval`): the
intents (each conversational intent on its own, since the small ones are the weak ones),
the complaint kinds and the FAQ answers of the two ResponseSelectors.

    .venv/bin/python benchmarks/crossval_summary.py var/crossval
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SUMMARY_ROWS = ("accuracy", "macro avg", "weighted avg", "micro avg")


def _weighted_f1(rows: dict[str, Any]) -> tuple[float, int]:
    support = sum(v["support"] for v in rows.values())
    f1 = sum(v["f1-score"] * v["support"] for v in rows.values())
    return (f1 / support if support else 0.0), support


def _group(title: str, rows: dict[str, Any], lowest: int = 5) -> None:
    f1, support = _weighted_f1(rows)
    print(f"{title} ({len(rows)}): weighted f1 {f1:.3f} over {support} examples")
    for name, scores in sorted(rows.items(), key=lambda kv: kv[1]["f1-score"])[:lowest]:
        print(f"  lowest: {name} f1 {scores['f1-score']:.3f} (n={scores['support']})")


def main(report_dir: Path) -> int:
    report = json.loads((report_dir / "intent_report.json").read_text(encoding="utf-8"))
    overall = report["weighted avg"]
    print(
        f"intents (weighted): precision {overall['precision']:.3f}  recall {overall['recall']:.3f}"
        f"  f1 {overall['f1-score']:.3f}  accuracy {report['accuracy']:.3f}"
    )
    intents = {k: v for k, v in report.items() if k not in SUMMARY_ROWS and isinstance(v, dict)}
    print("| intent | precision | recall | f1 | n |")
    print("|---|---|---|---|---|")
    for name, v in sorted(intents.items(), key=lambda kv: kv[1]["f1-score"]):
        print(
            f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1-score']:.3f}"
            f" | {v['support']} |"
        )
    selector = report_dir / "response_selection_report.json"
    if selector.exists():
        rs = json.loads(selector.read_text(encoding="utf-8"))
        for prefix, title in (("complaint/", "complaint kinds"), ("faq/", "FAQ answers")):
            rows = {k: v for k, v in rs.items() if k.startswith(prefix)}
            if rows:
                _group(title, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "var/crossval")))
