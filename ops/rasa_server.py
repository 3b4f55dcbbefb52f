"""A Rasa server for one command: the running one at RASA_URL if it answers, else a
temporary one on a free loopback port with the current model (for `civicbot route` and
the benchmarks), stopped afterwards."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.assistant import RasaClient
from civic.settings import PROJECT_ROOT, Settings
from ops.training import RASA_TOKEN_VARIABLE, rasa_command, rasa_environment

STARTUP_TIMEOUT_SECONDS = 280


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def rasa_for_parsing(settings: Settings, model: Path) -> AsyncIterator[RasaClient]:
    running = RasaClient(settings.rasa_url, token=settings.rasa_auth_token)
    if await running.ready():
        yield running
        await running.aclose()
        return
    await running.aclose()
    port = _free_port()
    token = secrets.token_urlsafe(32)
    command = rasa_command(
        "run", "--model", str(model), "--enable-api",
        "--interface", "127.0.0.1", "--port", str(port),
    )  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**rasa_environment(), RASA_TOKEN_VARIABLE: token},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    client = RasaClient(f"http://127.0.0.1:{port}", token=token)
    try:
        await _wait_ready(client, process)
        yield client
    finally:
        await client.aclose()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


async def _wait_ready(client: RasaClient, process: subprocess.Popen[bytes]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT_SECONDS
    while loop.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Rasa server exited with code {process.returncode}")
        if await client.ready():
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the Rasa server did not start within {STARTUP_TIMEOUT_SECONDS}s")
