"""How `civicbot run` looks after its processes: start them in order, restart a crashed
one with backoff, stop them all in reverse order.

A service with `after` (the Telegram gateway after Rasa) starts only once those answer,
and is stopped while one of them restarts: Telegram keeps the updates nobody fetched, so
a citizen who writes meanwhile gets a late answer instead of "try again shortly".
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from bot.observability import RotatingLog
from civic.settings import PROJECT_ROOT, Settings
from ops.supervisor import STOP_TIMEOUT_SECONDS, Service, child_environment

READY_TIMEOUT_SECONDS = 300.0
POLL_SECONDS = 0.5
# How long a service stopped for a restarting one may take to finish: longer than a
# turn waits for Rasa (bot/assistant/_rasa_client.py), so the turn the gateway was
# handling when Rasa crashed can still be answered by the Rasa that comes back.
FINISH_SECONDS = 40.0


@dataclass
class Backoff:
    """Seconds to wait before restarting a crashed process: 1, 2, 4 … at most 60, and 1
    again once it had stayed up `stable` seconds (a crash then is news, not a loop)."""

    first: float = 1.0
    most: float = 60.0
    stable: float = 120.0
    _next: float = 0.0

    def after_exit(self, uptime: float) -> float:
        if uptime >= self.stable or not self._next:
            self._next = self.first
        delay = self._next
        self._next = min(self.most, delay * 2)
        return delay


@dataclass
class _Care:
    """What the supervisor knows of one service between its starts."""

    backoff: Backoff
    started_at: float = 0.0
    restart_at: float | None = None  # when a crashed process is due to start again
    kill_at: float | None = None  # when a process told to stop is killed if still there
    held: bool = True  # not running on purpose: not started yet, or waiting for `after`


def answers(service: Service) -> bool:
    """One look: does the service answer on its readiness URL (or has it none)?"""
    if service.ready_url is None:
        return True
    try:
        return httpx.get(service.ready_url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def wait_ready(
    service: Service,
    timeout: float = READY_TIMEOUT_SECONDS,
    stopping: threading.Event | None = None,
) -> bool:
    stopping = stopping or threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping.is_set():
        if service.process is not None and service.process.poll() is not None:
            return False
        if answers(service):
            return True
        stopping.wait(POLL_SECONDS)
    return False


def _pump(process: subprocess.Popen[str], name: str, log_path: Path, settings: Settings) -> None:
    """Copy a child's output to the console (prefixed) and to its log file, which is
    rotated by size (CIVIC_LOG_MAX_BYTES, CIVIC_LOG_BACKUPS kept)."""
    assert process.stdout is not None
    log_file = RotatingLog(log_path, max_bytes=settings.log_max_bytes, backups=settings.log_backups)
    try:
        for line in process.stdout:
            log_file.write(line)
            sys.stdout.write(f"[{name:9}] {line}")
    finally:
        log_file.close()


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        planned: list[Service],
        *,
        clock: Callable[[], float] = time.monotonic,
        ready: Callable[[Service], bool] = answers,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.services = planned
        self._settings = settings
        self._log_dir = settings.var_dir / "logs"
        self._clock = clock
        self._ready = ready
        self._care = {service.name: _Care(backoff()) for service in planned}
        self._stopping = threading.Event()

    def catch_signals(self) -> None:
        """SIGINT and SIGTERM stop everything (set here: a shell starting us in the
        background ignores SIGINT for us)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self._stopping.set())

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        """Start every service that waits for no other; `tick` starts the rest."""
        self._log_dir.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            if not service.after:
                self._spawn(service)

    def wait_all_ready(self) -> list[str]:
        """Wait for the first services, start those that waited for them, wait for these."""
        first = [s for s in self.services if not s.after]
        failed = [s.name for s in first if not wait_ready(s, stopping=self._stopping)]
        if failed or self._stopping.is_set():
            return failed
        self.tick()
        rest = [s for s in self.services if s.after]
        return [
            s.name for s in rest if s.process is None or not wait_ready(s, stopping=self._stopping)
        ]

    def watch(self) -> int:
        """Look after the processes until SIGINT or SIGTERM."""
        while not self._stopping.wait(POLL_SECONDS):
            self.tick()
        print("stopping…", flush=True)
        return 0

    def tick(self) -> None:
        """Notice crashes, see stopping services out, restart what is due, start what
        waited for others."""
        if self._stopping.is_set():
            return
        now = self._clock()
        for service in self.services:
            care = self._care[service.name]
            code = service.process.poll() if service.process else None
            if code is not None and not care.held and care.restart_at is None:
                self._crashed(service, code, now)
        for service in self.services:
            self._see_out(service, now)
        for service in self.services:
            care = self._care[service.name]
            if care.restart_at is not None and now >= care.restart_at:
                care.restart_at = None
                care.held = True
            if care.held and self._can_start(service):
                again = service.process is not None
                self._spawn(service)
                if again:
                    self._note(service, f"restarted {service.name}")

    def _see_out(self, service: Service, now: float) -> None:
        """A service told to stop: say when it has, kill it when it takes too long."""
        care = self._care[service.name]
        if care.kill_at is None or service.process is None:
            return
        if service.process.poll() is not None:
            care.kill_at = None
            self._note(service, f"stopped {service.name}")
        elif now >= care.kill_at:
            _kill_group(service.process, signal.SIGKILL)

    def stop(self) -> None:
        """Stop every process, last started first, none restarted meanwhile."""
        self._stopping.set()
        for service in reversed(self.services):
            if service.process is not None:
                self._terminate(service)
                print(f"stopped {service.name}", flush=True)

    def _crashed(self, service: Service, code: int, now: float) -> None:
        care = self._care[service.name]
        delay = care.backoff.after_exit(now - care.started_at)
        care.restart_at = now + delay
        self._note(service, f"{service.name} exited with code {code}; restarting in {delay:g} s")
        for waiting in self.services:
            if service.name in waiting.after and not self._care[waiting.name].held:
                # Told to stop, not waited for: the turn it is handling may finish once
                # the crashed service is back, which needs the watch to go on.
                self._care[waiting.name].held = True
                self._care[waiting.name].kill_at = now + FINISH_SECONDS
                assert waiting.process is not None
                _kill_group(waiting.process, signal.SIGTERM)
                self._note(waiting, f"stopping {waiting.name} until {service.name} answers again")

    def _can_start(self, service: Service) -> bool:
        if service.process is not None and service.process.poll() is None:
            return False  # still finishing
        for name in service.after:
            needed = next(s for s in self.services if s.name == name)
            care = self._care[name]
            running = needed.process is not None and needed.process.poll() is None
            if care.held or care.restart_at is not None or not running:
                return False
            if not self._ready(needed):
                return False
        return True

    def _spawn(self, service: Service) -> None:
        if service.process is not None:
            _kill_group(service.process, signal.SIGKILL)  # what the crash left behind
        process = subprocess.Popen(
            service.command,
            cwd=PROJECT_ROOT,
            env=child_environment(service),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        service.process = process
        care = self._care[service.name]
        care.held, care.kill_at, care.started_at = False, None, self._clock()
        log_path = self._log_dir / f"{service.name}.log"
        threading.Thread(
            target=_pump, args=(process, service.name, log_path, self._settings), daemon=True
        ).start()
        where = f"port {service.port}" if service.port else "no port"
        print(f"started {service.name:9} pid {process.pid:<7} {where}", flush=True)

    def _terminate(self, service: Service) -> None:
        assert service.process is not None
        if service.process.poll() is None:
            _kill_group(service.process, signal.SIGTERM)
        try:
            service.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _kill_group(service.process, signal.SIGKILL)
            service.process.wait()

    def _note(self, service: Service, message: str) -> None:
        """Tell the console, and the service's own log where its output would be read."""
        print(message, flush=True)
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")
        with (self._log_dir / f"{service.name}.log").open("a", encoding="utf-8") as log_file:
            log_file.write(f"{stamp} civicbot run: {message}\n")


def _kill_group(process: subprocess.Popen[str], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
