"""Summarise the report of `rasa test nlu --cross-validation` (`make nlu-crossval`):
overall intent scores, and the complaint categories alone.

    .venv/bin/python benchmarks/crossval_summary.py var/crossval
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(report_dir: Path) -> int:
    report = json.loads((report_dir / "intent_report.json").read_text(encoding="utf-8"))
    overall = report["weighted avg"]
    print(
        f"intents (weighted): precision {overall['precision']:.3f}  recall {overall['recall']:.3f}"
        f"  f1 {overall['f1-score']:.3f}  accuracy {report['accuracy']:.3f}"
    )
    categories = {k: v for k, v in report.items() if k.startswith("complaint_")}
    f1 = sum(v["f1-score"] * v["support"] for v in categories.values())
    support = sum(v["support"] for v in categories.values())
    print(
        f"complaint categories ({len(categories)}): weighted f1 {f1 / support:.3f}"
        f" over {support} examples"
    )
    worst = sorted(categories.items(), key=lambda kv: kv[1]["f1-score"])[:5]
    for name, scores in worst:
        print(f"  lowest: {name} f1 {scores['f1-score']:.3f}")
    selector = report_dir / "response_selection_report.json"
    if selector.exists():
        rs = json.loads(selector.read_text(encoding="utf-8"))
        print(f"FAQ answers (ResponseSelector): weighted f1 {rs['weighted avg']['f1-score']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "var/crossval")))
