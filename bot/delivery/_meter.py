"""How many messages each process sent to Telegram in the current second, shared through
small files in the var directory, so bulk campaign sends can use only what replies to
citizens leave of the bot's overall rate."""

from __future__ import annotations

import os
import time
from pathlib import Path


class SendMeter:
    def __init__(self, directory: Path, role: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._dir = directory
        self._path = directory / f"{role}-{os.getpid()}"
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        self._second, self._count = 0, 0

    def record(self, messages: int = 1) -> None:
        second = int(time.time())
        if second != self._second:
            self._second, self._count = second, 0
        self._count += messages
        os.pwrite(self._fd, f"{self._second} {self._count}".ljust(32).encode(), 0)

    def mine(self) -> int:
        """Messages this process sent in the current second."""
        return self._count if self._second == int(time.time()) else 0

    def others(self) -> int:
        """Messages other processes sent in the current and the previous second."""
        now = int(time.time())
        total = 0
        for path in self._dir.iterdir():
            if path == self._path:
                continue
            try:
                second, count = path.read_text().split()
            except (OSError, ValueError):
                continue
            if int(second) >= now - 1:
                total += int(count)
        return total

    def close(self) -> None:
        if self._fd < 0:
            return
        os.close(self._fd)
        self._fd = -1
        self._path.unlink(missing_ok=True)
