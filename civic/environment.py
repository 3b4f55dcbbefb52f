"""Where settings come from: the `.env` file in the project root and the environment,
and a reader that notes every problem with them instead of stopping at the first.

One `NAME=value` a line; blank lines and lines starting with `#` are skipped, `export `
before the name is allowed, and a value in matching single or double quotes is taken
literally without them (so it may hold `#` or spaces at its ends). A variable set in
the environment wins over the file, even when set to an empty value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def read_env_file(path: Path) -> tuple[dict[str, str], list[str]]:
    """The variables the file sets, and what is wrong with any of its lines.

    A problem names the line and what is wrong with it, never the line's text: it may
    hold a password.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        return {}, [f"{path} cannot be read: {reason}"]
    values: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parsed = _parse_line(stripped)
        if isinstance(parsed, str):
            problems.append(f"{path} line {number}: {parsed}")
        else:
            values[parsed[0]] = parsed[1]
    return values, problems


def _parse_line(line: str) -> tuple[str, str] | str:
    """(name, value), or what is wrong with the line."""
    if line.startswith("export "):
        line = line[len("export ") :].lstrip()
    name, equals, value = line.partition("=")
    name, value = name.strip(), value.strip()
    if not equals:
        return "expected NAME=value, found no '='"
    if not _NAME.match(name):
        return "the name before '=' must be letters, digits and _, not starting with a digit"
    if value[:1] in {"'", '"'}:
        if len(value) < 2 or value[-1] != value[0]:
            return f"{name}: the quote {value[0]} that opens the value is not closed at its end"
        value = value[1:-1]
    return name, value


def environment(path: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """The variables of the `.env` file overridden by the process environment, and the
    file's problems."""
    values, problems = read_env_file(ENV_FILE if path is None else path)
    return {**values, **os.environ}, problems


class SettingsError(ValueError):
    """Every problem found in the settings, all at once: one alone is the message."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        if len(problems) == 1:
            super().__init__(problems[0])
        else:
            listing = "\n".join(f"  - {problem}" for problem in problems)
            super().__init__(f"{len(problems)} problems in the settings:\n{listing}")


class VariableReader:
    """Reads the variables from one mapping, noting each problem instead of stopping at
    the first; a variable with a problem reads as its default meanwhile."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def text(self, name: str, default: str = "") -> str:
        return self.environ.get(name, "").strip() or default

    def optional(self, name: str) -> str | None:
        return self.text(name) or None

    def integer(self, name: str, default: int) -> int:
        raw = self.text(name)
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError:
            self.problems.append(f"{name} must be a whole number, got {raw!r}")
            return default

    def port(self, name: str, default: int) -> int:
        value = self.integer(name, default)
        if not 1 <= value <= 65535:
            self.problems.append(f"{name} must be a port number from 1 to 65535, got {value}")
            return default
        return value

    def number(self, name: str, default: float) -> float:
        raw = self.text(name)
        if not raw:
            return default
        try:
            return float(raw)
        except ValueError:
            self.problems.append(f"{name} must be a number, got {raw!r}")
            return default

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.text(name).lower()
        if not raw:
            return default
        if raw in {"1", "true", "yes", "on"}:
            return True
        if raw in {"0", "false", "no", "off"}:
            return False
        self.problems.append(f"{name} must be true or false, got {raw!r}")
        return default
