"""Which files the Rasa model is trained from, and their fingerprint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from civic.settings import PROJECT_ROOT
from ops import training


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "nlu", root / "nlu")
    for name in ("config.yml", "requirements-rasa.txt"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    monkeypatch.setattr(training, "PROJECT_ROOT", root)
    monkeypatch.setattr(training, "NLU_DIR", root / "nlu")
    monkeypatch.setattr(training, "CONFIG", root / "config.yml")
    monkeypatch.setattr(training, "DOMAIN", root / "nlu" / "domain.yml")
    monkeypatch.setattr(training, "RASA_REQUIREMENTS", root / "requirements-rasa.txt")
    return root


def test_training_files_exclude_the_domain(project: Path) -> None:
    names = [p.name for p in training.training_files()]
    assert "domain.yml" not in names
    assert names == sorted(
        p.name for p in (project / "nlu").glob("*.yml") if p.name != "domain.yml"
    )
    assert {"complaints.yml", "nlu.yml", "rules.yml"} <= set(names)


def test_fingerprint_is_stable(project: Path) -> None:
    first = training.fingerprint()
    assert training.fingerprint() == first
    assert len(first) == 16


def test_fingerprint_of_the_copy_matches_the_project(project: Path) -> None:
    copied = training.fingerprint()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, "PROJECT_ROOT", PROJECT_ROOT)
        mp.setattr(training, "NLU_DIR", PROJECT_ROOT / "nlu")
        mp.setattr(training, "CONFIG", PROJECT_ROOT / "config.yml")
        mp.setattr(training, "DOMAIN", PROJECT_ROOT / "nlu" / "domain.yml")
        mp.setattr(training, "RASA_REQUIREMENTS", PROJECT_ROOT / "requirements-rasa.txt")
        assert training.fingerprint() == copied


@pytest.mark.parametrize(
    "changed", ["nlu/nlu.yml", "nlu/rules.yml", "nlu/domain.yml", "config.yml"]
)
def test_fingerprint_changes_with_a_file(project: Path, changed: str) -> None:
    before = training.fingerprint()
    path = project / changed
    path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert training.fingerprint() != before


def test_fingerprint_changes_with_a_new_file(project: Path) -> None:
    before = training.fingerprint()
    (project / "nlu" / "stories.yml").write_text('version: "3.1"\n', encoding="utf-8")
    assert training.fingerprint() != before


def test_model_path_carries_the_fingerprint(project: Path, tmp_path: Path) -> None:
    path = training.model_path(tmp_path / "models")
    assert path == tmp_path / "models" / f"civic-{training.fingerprint()}.tar.gz"


def test_the_profile_faq_is_part_of_the_fingerprint(project: Path, tmp_path: Path) -> None:
    profile_dir = tmp_path / "hangzhou"
    shutil.copytree(PROJECT_ROOT / "profiles" / "hangzhou", profile_dir)
    before = training.fingerprint(profile_dir)
    faq = profile_dir / "faq.yml"
    faq.write_text(faq.read_text(encoding="utf-8").replace("50分", "五十分", 1), encoding="utf-8")
    assert training.fingerprint(profile_dir) != before


def test_faq_becomes_retrieval_examples_and_bilingual_answers() -> None:
    nlu, domain = training.faq_training_data(PROJECT_ROOT / "profiles" / "hangzhou")
    scoring = next(item for item in nlu["nlu"] if item["intent"] == "faq/how_scoring_works")
    assert "- 综合考评是怎么打分的\n" in scoring["examples"]
    assert "- how is the comprehensive evaluation scored\n" in scoring["examples"]
    [english, chinese] = domain["responses"]["utter_faq/how_scoring_works"]
    assert english["condition"] == training.EN_CONDITION
    assert chinese["text"].startswith("综合考评满分100分")


def test_validation_passes_the_project_data_and_fails_a_rule_with_an_unknown_action(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    if not training.RASA_BIN.exists():
        pytest.skip("the Rasa environment (.venv-rasa) is not installed")
    hangzhou = PROJECT_ROOT / "profiles" / "hangzhou"
    assert training.validate(hangzhou) == 0
    rules = project / "nlu" / "rules.yml"
    broken = "\n  - rule: broken\n    steps:\n      - intent: help\n      - action: action_nowhere"
    rules.write_text(rules.read_text(encoding="utf-8") + broken + "\n", encoding="utf-8")
    capfd.readouterr()
    assert training.validate(hangzhou) != 0
    output = capfd.readouterr()
    assert "'action_nowhere' is used in the 'broken' block" in output.out + output.err


def test_the_validate_command_says_how_to_use_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert training.main(["validate"]) == 2
    assert capsys.readouterr().out == "usage: python -m ops.training validate PROFILE_DIR…\n"
