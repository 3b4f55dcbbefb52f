"""How `civicbot run` looks after its processes, with tiny stand-in processes, a clock
the test moves by hand and a readiness the test decides."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from civic.settings import Settings, load_settings
from ops.process_care import FINISH_SECONDS, Backoff, Supervisor
from ops.supervisor import Service

EXITS = [sys.executable, "-c", "import sys; sys.exit(3)"]
SLEEPS = [sys.executable, "-c", "import time; time.sleep(120)"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Readiness:
    """Which services answer; a service not named here does not."""

    def __init__(self) -> None:
        self.answering: set[str] = set()

    def __call__(self, service: Service) -> bool:
        return service.name in self.answering


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ready() -> Readiness:
    return Readiness()


@pytest.fixture
def stopped_after() -> Iterator[list[Supervisor]]:
    """Supervisors to stop when the test ends, whatever happened."""
    made: list[Supervisor] = []
    yield made
    for supervisor in made:
        supervisor.stop()


def supervise(
    settings: Settings,
    planned: list[Service],
    clock: Clock,
    ready: Readiness,
    made: list[Supervisor],
) -> Supervisor:
    supervisor = Supervisor(settings, planned, clock=clock, ready=ready)
    made.append(supervisor)
    return supervisor


def process_of(service: Service) -> subprocess.Popen[str]:
    assert service.process is not None
    return service.process


def test_backoff_doubles_up_to_a_minute_and_starts_over_after_a_stable_run() -> None:
    backoff = Backoff()
    assert [backoff.after_exit(uptime=0.5) for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.after_exit(uptime=120.0) == 1
    assert backoff.after_exit(uptime=3.0) == 2


def test_a_crashed_process_is_restarted_with_growing_waits_and_it_is_said(
    settings: Settings,
    clock: Clock,
    ready: Readiness,
    stopped_after: list[Supervisor],
    capsys: pytest.CaptureFixture[str],
) -> None:
    crashy = Service("crashy", EXITS)
    supervisor = supervise(settings, [crashy], clock, ready, stopped_after)
    supervisor.start()
    first = process_of(crashy)
    first.wait(timeout=30)

    supervisor.tick()
    clock.now += 0.9
    supervisor.tick()
    assert crashy.process is first  # not before its second is up

    clock.now += 0.1
    supervisor.tick()
    second = process_of(crashy)
    assert second is not first
    second.wait(timeout=30)
    supervisor.tick()
    clock.now += 1.9
    supervisor.tick()
    assert crashy.process is second

    clock.now += 0.1
    supervisor.tick()
    process_of(crashy).wait(timeout=30)
    supervisor.tick()

    notes = [line for line in capsys.readouterr().out.splitlines() if "crashy" in line]
    restarts = [line for line in notes if not line.startswith("started")]
    assert restarts == [
        "crashy exited with code 3; restarting in 1 s",
        "restarted crashy",
        "crashy exited with code 3; restarting in 2 s",
        "restarted crashy",
        "crashy exited with code 3; restarting in 4 s",
    ]
    log = (settings.var_dir / "logs" / "crashy.log").read_text(encoding="utf-8")
    assert log.count("civicbot run: crashy exited with code 3; restarting in") == 3


def test_nothing_is_restarted_once_stopping(
    settings: Settings,
    clock: Clock,
    ready: Readiness,
    stopped_after: list[Supervisor],
    capsys: pytest.CaptureFixture[str],
) -> None:
    planned = [Service("first", SLEEPS), Service("second", SLEEPS), Service("third", SLEEPS)]
    supervisor = supervise(settings, planned, clock, ready, stopped_after)
    supervisor.start()
    before = [process_of(service) for service in planned]
    previous = signal.getsignal(signal.SIGTERM)
    try:
        supervisor.catch_signals()
        signal.raise_signal(signal.SIGTERM)
        assert supervisor.watch() == 0
        supervisor.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)

    for _ in range(3):
        supervisor.tick()
        clock.now += 3600
    assert [service.process for service in planned] == before
    assert all(process.poll() is not None for process in before)
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if not line.startswith("started")] == [
        "stopping…",
        "stopped third",
        "stopped second",
        "stopped first",
    ]


def test_the_gateway_waits_for_rasa_at_start_and_while_rasa_restarts(
    settings: Settings,
    clock: Clock,
    ready: Readiness,
    stopped_after: list[Supervisor],
    capsys: pytest.CaptureFixture[str],
) -> None:
    rasa = Service("rasa", SLEEPS, ready_url="http://127.0.0.1:9/")
    gateway = Service("gateway", SLEEPS, after=("rasa",))
    supervisor = supervise(settings, [rasa, gateway], clock, ready, stopped_after)
    supervisor.start()
    supervisor.tick()
    assert gateway.process is None  # Rasa runs but does not answer yet

    ready.answering.add("rasa")
    supervisor.tick()
    first_gateway = process_of(gateway)
    assert first_gateway.poll() is None

    ready.answering.clear()
    process_of(rasa).kill()
    process_of(rasa).wait(timeout=30)
    supervisor.tick()
    assert first_gateway.wait(timeout=30) == -signal.SIGTERM  # it must not fetch updates now

    clock.now += 1
    supervisor.tick()
    assert process_of(rasa).poll() is None  # Rasa again, still loading
    assert gateway.process is first_gateway
    clock.now += 60
    supervisor.tick()
    assert gateway.process is first_gateway

    ready.answering.add("rasa")
    supervisor.tick()
    assert process_of(gateway) is not first_gateway
    assert process_of(gateway).poll() is None
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if not line.startswith("started")] == [
        "rasa exited with code -9; restarting in 1 s",
        "stopping gateway until rasa answers again",
        "stopped gateway",
        "restarted rasa",
        "restarted gateway",
    ]


IGNORES_SIGTERM = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ignoring SIGTERM', flush=True); time.sleep(120)",
]


def _wait_for_line(path: Path, line: str) -> None:
    """Until the child has said `line` (it is then past what the line announces)."""
    for _ in range(600):
        if path.exists() and line in path.read_text(encoding="utf-8"):
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"{path} never said {line!r}")


def test_a_waiting_service_may_finish_its_turn_and_is_killed_only_after_a_while(
    settings: Settings,
    clock: Clock,
    ready: Readiness,
    stopped_after: list[Supervisor],
) -> None:
    rasa = Service("rasa", SLEEPS, ready_url="http://127.0.0.1:9/")
    gateway = Service("gateway", IGNORES_SIGTERM, after=("rasa",))
    supervisor = supervise(settings, [rasa, gateway], clock, ready, stopped_after)
    supervisor.start()
    ready.answering.add("rasa")
    supervisor.tick()
    finishing = process_of(gateway)
    _wait_for_line(settings.var_dir / "logs" / "gateway.log", "ignoring SIGTERM")

    process_of(rasa).kill()
    process_of(rasa).wait(timeout=30)
    supervisor.tick()  # the gateway is told to stop, and may finish its turn
    clock.now += 1
    supervisor.tick()  # Rasa again
    clock.now += FINISH_SECONDS - 1.5
    supervisor.tick()
    assert finishing.poll() is None
    assert gateway.process is finishing  # never two at once, though Rasa answers

    clock.now += 0.5
    supervisor.tick()
    assert finishing.wait(timeout=30) == -signal.SIGKILL
    supervisor.tick()
    assert process_of(gateway) is not finishing
    assert process_of(gateway).poll() is None


def test_a_signal_while_starting_stops_the_wait_and_starts_nothing_more(
    settings: Settings,
    clock: Clock,
    ready: Readiness,
    stopped_after: list[Supervisor],
) -> None:
    rasa = Service("rasa", SLEEPS, ready_url="http://127.0.0.1:9/")  # never answers
    gateway = Service("gateway", SLEEPS, after=("rasa",))
    supervisor = supervise(settings, [rasa, gateway], clock, ready, stopped_after)
    supervisor.start()
    previous = signal.getsignal(signal.SIGINT)
    try:
        supervisor.catch_signals()
        signal.raise_signal(signal.SIGINT)
        assert supervisor.wait_all_ready() == ["rasa"]
    finally:
        signal.signal(signal.SIGINT, previous)
    assert supervisor.stopping
    assert gateway.process is None
