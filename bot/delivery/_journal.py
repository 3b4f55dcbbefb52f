"""A sender's write-ahead journal: one line before each send ("S id part attempt") and
one after ("D id part attempt outcome retry_after"), written straight to the file with
os.write. The campaign sender and the notifier each keep one in the var directory.

A `kill -9` loses what a process holds in memory, not what it has handed to the kernel, so
after a crash the journal tells exactly which sends had started and how those that
finished ended, at the cost of a system call per line instead of a commit per message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# (row id, which message of the row: a reminder's round or a text's part, attempts before)
Key = tuple[int, int, int]


@dataclass
class Replay:
    started: set[Key] = field(default_factory=set)
    finished: dict[Key, tuple[str, float | None]] = field(default_factory=dict)

    @property
    def unresolved(self) -> set[Key]:
        """Sends that started and never reported back: in flight at the crash."""
        return self.started - set(self.finished)


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def started(self, key: Key) -> None:
        os.write(self._fd, f"S {key[0]} {key[1]} {key[2]}\n".encode())

    def finished(self, key: Key, outcome: str, retry_after: float | None = None) -> None:
        after = "-" if retry_after is None else f"{retry_after:g}"
        os.write(self._fd, f"D {key[0]} {key[1]} {key[2]} {outcome} {after}\n".encode())

    def marker(self, key: Key) -> Marker:
        """A callable that writes the "S" line once: pass it to the transport (see
        bot.telegram._transport.ON_THE_WIRE) so the line is written as the request leaves."""
        return Marker(self, key)

    def clear(self) -> None:
        """Forget everything: called once the database holds every outcome."""
        os.ftruncate(self._fd, 0)

    def replay(self) -> Replay:
        return read_journal(self.path)

    def close(self) -> None:
        os.close(self._fd)


class Marker:
    def __init__(self, journal: Journal, key: Key) -> None:
        self.journal, self.key, self.fired = journal, key, False

    def __call__(self) -> None:
        if not self.fired:
            self.fired = True
            self.journal.started(self.key)

    def finish(self, outcome: str, retry_after: float | None = None) -> None:
        """The "D" line, for a send whose "S" line was written."""
        if self.fired:
            self.journal.finished(self.key, outcome, retry_after)


def read_journal(path: Path) -> Replay:
    replay = Replay()
    if not path.exists():
        return replay
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        parts = line.split()
        try:
            key = (int(parts[1]), int(parts[2]), int(parts[3]))
        except (IndexError, ValueError):
            continue  # a line cut short by the crash
        if parts[0] == "S":
            replay.started.add(key)
        elif parts[0] == "D" and len(parts) == 6:
            replay.finished[key] = (parts[4], None if parts[5] == "-" else float(parts[5]))
    return replay
