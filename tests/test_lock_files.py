"""The lock files `make` installs from with --require-hashes: every package pinned and
hashed, and everything declared (pyproject.toml, requirements-rasa.txt) locked, so a
dependency changed without `make lock` fails here instead of at someone's install."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from civic.settings import PROJECT_ROOT

ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?P<rest>.*)$")
LOCKS = ["requirements.lock", "requirements-rasa.lock"]
# The interpreter each lock is installed for, to read its entries' markers with.
PYTHON = {"requirements.lock": "3.11.9", "requirements-rasa.lock": "3.10.14"}


def locked(lock: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) for each entry that applies to this interpreter
    (continued lines joined). A universal lock may pin a package twice under exclusive
    markers (one version below Python 3.12, another from it); only one may apply."""
    text = (PROJECT_ROOT / lock).read_text(encoding="utf-8").replace("\\\n", " ")
    entries: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = ENTRY.match(line)
        assert match, f"{lock}: not a pinned requirement: {line[:80]}"
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})\b", match["rest"])
        marker = match["rest"].split("--hash")[0].partition(";")[2].strip()
        python = PYTHON[lock]
        where = {"python_version": python[:4], "python_full_version": python}
        if marker and not Marker(marker).evaluate(where):
            continue
        name = canonicalize_name(match["name"])
        assert name not in entries, f"{lock}: {name} twice"
        entries[name] = (match["version"], hashes)
    return entries


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_is_pinned_with_hashes(lock: str) -> None:
    entries = locked(lock)
    assert len(entries) > 50
    unhashed = sorted(name for name, (_version, hashes) in entries.items() if not hashes)
    assert unhashed == []


def declared(requirements: list[str], lock: str) -> list[str]:
    """Requirements not satisfied by the lock: missing, or outside the declared range."""
    entries = locked(lock)
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        entry = entries.get(canonicalize_name(requirement.name))
        if entry is None or not requirement.specifier.contains(entry[0], prereleases=True):
            problems.append(f"{text} (locked: {entry[0] if entry else 'missing'})")
    return problems


def test_the_application_lock_covers_pyproject() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    assert declared(wanted, "requirements.lock") == []


def test_the_rasa_lock_covers_requirements_rasa() -> None:
    lines = (PROJECT_ROOT / "requirements-rasa.txt").read_text().splitlines()
    wanted = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]
    assert "rasa==3.6.21" in wanted
    assert declared(wanted, "requirements-rasa.lock") == []


def test_a_requirement_outside_the_lock_is_reported() -> None:
    assert declared(["rasa==3.6.20", "no-such-package>=1"], "requirements-rasa.lock") == [
        "rasa==3.6.20 (locked: 3.6.21)",
        "no-such-package>=1 (locked: missing)",
    ]
