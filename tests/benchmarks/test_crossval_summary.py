"""The cross-validation summary: every intent on its own, complaint kinds and FAQ apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.crossval_summary import main


def _scores(f1: float, n: int) -> dict[str, float]:
    return {"precision": f1, "recall": f1, "f1-score": f1, "support": n}


def test_summary_lists_small_intents_and_splits_the_selectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    intents = {
        "greet": _scores(0.9, 90),
        "suggestion": _scores(0.6, 180),
        "complaint": _scores(0.95, 2300),
        "accuracy": 0.91,
        "weighted avg": _scores(0.91, 2570),
        "macro avg": _scores(0.8, 2570),
    }
    selection = {
        "complaint/street_light": _scores(1.0, 100),
        "complaint/road_damage": _scores(0.5, 100),
        "faq/privacy": _scores(0.4, 30),
        "weighted avg": _scores(0.7, 230),
    }
    (tmp_path / "intent_report.json").write_text(json.dumps(intents), encoding="utf-8")
    (tmp_path / "response_selection_report.json").write_text(
        json.dumps(selection), encoding="utf-8"
    )
    assert main(tmp_path) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "intent" not in line]
    assert [row.split(" | ")[0] for row in rows] == ["| suggestion", "| greet", "| complaint"]
    assert "complaint kinds (2): weighted f1 0.750 over 200 examples" in out
    assert "lowest: complaint/road_damage f1 0.500 (n=100)" in out
    assert "FAQ answers (1): weighted f1 0.400 over 30 examples" in out
