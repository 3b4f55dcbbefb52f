"""bot.observability._metrics: a process without a web server serves its registry on
the port its setting names; 0 serves nothing."""

from __future__ import annotations

import socket

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import bot.observability._metrics as metrics
from bot.observability import count_refusal, count_sends, serve_metrics


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def value(text: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_a_metrics_port_serves_the_counters() -> None:
    port = free_port()
    serve_metrics(port, "notifier")
    url = f"http://127.0.0.1:{port}/metrics"
    refused = {"code": "429", "kind": "notification"}
    sent = {"channel": "telegram", "kind": "notification"}
    before = httpx.get(url).text
    count_refusal(429, "notification")
    count_sends("telegram", "notification", 3)
    after = httpx.get(url).text
    assert value(after, "civic_telegram_refusals_total", refused) == (
        value(before, "civic_telegram_refusals_total", refused) + 1
    )
    assert value(after, "civic_sends_total", sent) == value(before, "civic_sends_total", sent) + 3


def test_port_zero_serves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    monkeypatch.setattr(metrics, "start_http_server", lambda port, addr: started.append(port))
    serve_metrics(0, "gateway")
    assert started == []
