"""The deployment files in deploy/: nginx accepts the shipped configuration, its body
limits are the app's, and Docker Compose accepts the compose file. nginx and openssl are
required when CIVIC_REQUIRE_SERVICES=1 (`make test` installs nginx as root); Compose is
checked where it is installed and skipped otherwise."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest

from bot.web._survey_admin import MAX_SURVEY_BYTES
from civic.settings import PROJECT_ROOT, Settings
from tests.browser.conftest import unavailable

DEPLOY = PROJECT_ROOT / "deploy"
NGINX_CONF = DEPLOY / "nginx" / "civic.conf"
COMPOSE_FILE = DEPLOY / "compose.yml"


def _tool(name: str, install: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        unavailable(f"{name} is not installed ({install})")
    assert found is not None
    return found


def _nginx_harness(folder: Path) -> Path:
    """A main configuration that includes the shipped one inside `http`, as Debian's
    /etc/nginx/nginx.conf does, with a throwaway certificate where it expects one."""
    openssl = _tool("openssl", "apt-get install openssl")
    (folder / "tls").mkdir()
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=civic.test",
         "-keyout", str(folder / "tls" / "civic.key"), "-out", str(folder / "tls" / "civic.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    main = folder / "nginx.conf"
    main.write_text(
        f"pid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'};\n"
        "events {}\n"
        "http {\n"
        f"    access_log {folder / 'access.log'};\n"
        f"    include {NGINX_CONF};\n"
        "}\n",
        encoding="utf-8",
    )
    return main


def test_nginx_accepts_the_shipped_configuration(tmp_path: Path) -> None:
    nginx = _tool("nginx", "apt-get install nginx")
    main = _nginx_harness(tmp_path)
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def _body_sizes() -> dict[str, int]:
    """client_max_body_size per location of the public server, in bytes."""
    units = {"k": 1024, "m": 1024 * 1024}
    text = NGINX_CONF.read_text(encoding="utf-8")
    start = text.index("listen 443 ssl http2;")
    public = text[start : text.index("\nserver {", start)]
    sizes: dict[str, int] = {}
    where = "server"
    for line in public.splitlines():
        if opened := re.match(r"\s*location (.+?) \{", line):
            where = opened.group(1)
        elif size := re.match(r"\s*client_max_body_size (\d+)([km])?;", line):
            sizes[where] = int(size.group(1)) * units.get(size.group(2) or "", 1)
    return sizes


def test_nginx_body_limits_are_the_apps() -> None:
    defaults = {f.name: f.default for f in fields(Settings)}
    assert _body_sizes() == {
        "server": defaults["max_body_bytes"],
        "~ ^/desk/tickets/[^/]+/rectify$": defaults["max_upload_bytes"],
        "~ ^/admin/surveys/[^/]+$": MAX_SURVEY_BYTES,
        "= /telegram": 1024 * 1024,
    }


def test_metrics_and_readiness_are_not_public() -> None:
    text = NGINX_CONF.read_text(encoding="utf-8")
    assert "location = /metrics { return 404; }" in text
    assert "location = /readyz  { return 404; }" in text


def test_docker_compose_accepts_the_compose_file(tmp_path: Path) -> None:
    # Compose is not among what `make test` installs (Debian's would bring a second Docker
    # engine), so without it this check is skipped, and docs/deploy.md says so.
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        command = [docker, "compose"]
    elif found := shutil.which("docker-compose"):
        command = [found]
    else:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    required = {
        "POSTGRES_PASSWORD": "example",
        "CIVIC_SECRET_KEY": "k" * 40,
        "CIVIC_PUBLIC_URL": "https://civic.example.org",
        "RASA_AUTH_TOKEN": "rasa-token",
        "ACTION_SERVER_TOKEN": "actions-token",
        "TELEGRAM_BOT_TOKEN": "1:token",
        "TELEGRAM_WEBHOOK_SECRET": "s" * 40,
    }
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}

    def config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "-f", str(COMPOSE_FILE), "config", "-q"],
            capture_output=True, text=True, cwd=tmp_path, env={**base, **env},
        )  # fmt: skip

    done = config(required)
    assert done.returncode == 0, done.stderr
    # A secret left unset stops it, by name, rather than starting with an empty one.
    missing = config({k: v for k, v in required.items() if k != "RASA_AUTH_TOKEN"})
    assert missing.returncode != 0
    assert "set RASA_AUTH_TOKEN" in missing.stderr
