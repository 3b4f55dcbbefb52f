"""Training the Rasa model, skipped when nothing it is trained from changed.

The model is trained from `config.yml`, `nlu/` and the city profile's FAQ (`faq.yml`,
turned into the ResponseSelector's `faq/<key>` examples and `utter_faq/<key>` answers).
The model's file name carries a fingerprint of all of it, so the newest matching file is
always the right one and a changed example retrains.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from civic.settings import PROJECT_ROOT

RASA_VENV = PROJECT_ROOT / ".venv-rasa"
RASA_BIN = RASA_VENV / "bin" / "rasa"
RASA_PYTHON = RASA_VENV / "bin" / "python"
RASA_TOKEN_VARIABLE = "RASA_AUTH_TOKEN"
CONFIG = PROJECT_ROOT / "config.yml"
NLU_DIR = PROJECT_ROOT / "nlu"
DOMAIN = NLU_DIR / "domain.yml"
RASA_REQUIREMENTS = PROJECT_ROOT / "requirements-rasa.txt"
EN_CONDITION = [{"type": "slot", "name": "language", "value": "en"}]


def training_files() -> list[Path]:
    """The NLU data, rules and stories: every YAML file in nlu/ except the domain."""
    return sorted(p for p in NLU_DIR.rglob("*.yml") if p != DOMAIN)


def faq_training_data(profile_dir: Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(NLU data, domain part) for the profile's FAQ; empty when it has none."""
    from civic.city import load_site

    if profile_dir is None or not (profile_dir / "faq.yml").exists():
        return {"version": "3.1", "nlu": []}, {"version": "3.1", "responses": {}}
    faq = load_site(profile_dir).faq.values()
    nlu = [
        {
            "intent": entry.intent,
            "examples": "".join(f"- {q}\n" for lang in ("zh", "en") for q in entry.questions[lang]),
        }
        for entry in faq
    ]
    responses = {
        f"utter_{entry.intent}": [
            {"condition": EN_CONDITION, "text": entry.answer["en"]},
            {"text": entry.answer["zh"]},
        ]
        for entry in faq
    }
    return {"version": "3.1", "nlu": nlu}, {"version": "3.1", "responses": responses}


def complaint_kinds_domain(profile_dir: Path | None) -> dict[str, Any]:
    """The domain part for the retrieval intent `complaint/<category>`: Rasa wants a
    response per kind, though the assistant never says it (a complaint starts the form).
    Without a profile, every kind in the training data gets a neutral one."""
    from civic.city import load_profile

    if profile_dir is None:
        return {"version": "3.1", "responses": {}}
    categories = load_profile(profile_dir).categories.values()
    responses = {
        f"utter_{category.intent}": [
            {"condition": EN_CONDITION, "text": category.label("en")},
            {"text": category.label("zh")},
        ]
        for category in categories
    }
    return {"version": "3.1", "responses": responses}


def fingerprint(profile_dir: Path | None = None) -> str:
    digest = hashlib.sha256()
    for path in [CONFIG, DOMAIN, RASA_REQUIREMENTS, *training_files()]:
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    for part in [*faq_training_data(profile_dir), complaint_kinds_domain(profile_dir)]:
        digest.update(yaml.safe_dump(part, allow_unicode=True, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def model_path(models_dir: Path, profile_dir: Path | None = None) -> Path:
    return models_dir / f"civic-{fingerprint(profile_dir)}.tar.gz"


def rasa_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONWARNINGS="ignore",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    return env


def rasa_command(*arguments: str) -> list[str]:
    """`rasa ARGUMENTS…` through ops.rasa_main, which adds `--auth-token` from
    RASA_AUTH_TOKEN inside the process, where `ps` does not show it."""
    return [str(RASA_PYTHON), "-m", "ops.rasa_main", *arguments]


def _write_build(build_dir: Path, profile_dir: Path | None) -> tuple[Path, list[Path]]:
    """The domain folder and data files Rasa trains from, with the FAQ generated in."""
    shutil.rmtree(build_dir, ignore_errors=True)
    (build_dir / "domain").mkdir(parents=True)
    shutil.copy(DOMAIN, build_dir / "domain" / "domain.yml")
    nlu, domain = faq_training_data(profile_dir)

    def dump(data: dict[str, Any]) -> str:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)

    (build_dir / "domain" / "faq.yml").write_text(dump(domain), "utf-8")
    complaints = complaint_kinds_domain(profile_dir)
    (build_dir / "domain" / "complaint_kinds.yml").write_text(dump(complaints), "utf-8")
    faq_nlu = build_dir / "faq_nlu.yml"
    faq_nlu.write_text(dump(nlu), "utf-8")
    return build_dir / "domain", [*training_files(), faq_nlu]


def train(
    models_dir: Path, *, profile_dir: Path | None = None, force: bool = False
) -> tuple[Path, bool]:
    """Train if needed; returns (model file, whether it trained now)."""
    target = model_path(models_dir, profile_dir)
    if target.exists() and not force:
        return target, False
    if not RASA_BIN.exists():
        raise FileNotFoundError(
            f"{RASA_BIN} not found: run `make install` to create the Rasa environment"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    domain_dir, data = _write_build(models_dir / ".build", profile_dir)
    command = [
        str(RASA_BIN), "train",
        "--config", str(CONFIG),
        "--domain", str(domain_dir),
        "--data", *map(str, data),
        "--out", str(models_dir),
        "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=PROJECT_ROOT, env=rasa_environment())
    for stale in models_dir.glob("civic-*.tar.gz"):
        if stale != target:
            stale.unlink()
    return target, True


def validate(profile_dir: Path | None) -> int:
    """`rasa data validate` on exactly what `train` trains from (the profile's FAQ
    generated in); returns Rasa's exit code."""
    with tempfile.TemporaryDirectory(prefix="civic-validate-") as build:
        domain_dir, data = _write_build(Path(build), profile_dir)
        command = [
            str(RASA_BIN), "data", "validate",
            "--config", str(CONFIG),
            "--domain", str(domain_dir),
            "--data", *map(str, data),
        ]  # fmt: skip
        return subprocess.run(command, cwd=PROJECT_ROOT, env=rasa_environment()).returncode


def main(argv: list[str]) -> int:
    """`python -m ops.training validate PROFILE_DIR…`: each city profile's training data,
    for `make lint` (no settings needed)."""
    if argv[:1] != ["validate"] or len(argv) < 2:
        print("usage: python -m ops.training validate PROFILE_DIR…")
        return 2
    for profile_dir in map(Path, argv[1:]):
        print(f"validating the training data with {profile_dir}", flush=True)
        if code := validate(profile_dir):
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
