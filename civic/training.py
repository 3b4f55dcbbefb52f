"""Training the Rasa model, skipped when neither `config.yml` nor `nlu/` changed.

The model's file name carries a fingerprint of everything it was trained from, so the
newest matching file is always the right one and a changed example retrains."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from civic.settings import PROJECT_ROOT

RASA_VENV = PROJECT_ROOT / ".venv-rasa"
RASA_BIN = RASA_VENV / "bin" / "rasa"
CONFIG = PROJECT_ROOT / "config.yml"
NLU_DIR = PROJECT_ROOT / "nlu"
DOMAIN = NLU_DIR / "domain.yml"
RASA_REQUIREMENTS = PROJECT_ROOT / "requirements-rasa.txt"


def training_files() -> list[Path]:
    """The NLU data, rules and stories: every YAML file in nlu/ except the domain."""
    return sorted(p for p in NLU_DIR.rglob("*.yml") if p != DOMAIN)


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in [CONFIG, DOMAIN, RASA_REQUIREMENTS, *training_files()]:
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(models_dir: Path) -> Path:
    return models_dir / f"civic-{fingerprint()}.tar.gz"


def rasa_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONWARNINGS="ignore",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    return env


def train(models_dir: Path, *, force: bool = False) -> tuple[Path, bool]:
    """Train if needed; returns (model file, whether it trained now)."""
    target = model_path(models_dir)
    if target.exists() and not force:
        return target, False
    if not RASA_BIN.exists():
        raise FileNotFoundError(
            f"{RASA_BIN} not found: run `make install` to create the Rasa environment"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(RASA_BIN), "train",
        "--config", str(CONFIG),
        "--domain", str(DOMAIN),
        "--data", *map(str, training_files()),
        "--out", str(models_dir),
        "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=PROJECT_ROOT, env=rasa_environment())
    for stale in models_dir.glob("civic-*.tar.gz"):
        if stale != target:
            stale.unlink()
    return target, True
