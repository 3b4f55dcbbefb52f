"""A stand-in for the Rasa server's REST channel, over real HTTP on this machine: it
answers `POST /webhooks/rest/webhook` with `echo:<message>` (a button when the
message is "offer buttons", the erasure's signal for "/erase_confirm"), answers
`POST /model/parse` with the parse set for that text in `parses` (see `complaint_parse`;
a text with none gets no intent and an empty ranking, as an untrained kind would), accepts
replacing a conversation's events, answers `GET /status` as a loaded server does, and
records every body.

Usage::

    with FakeRasa.running() as rasa:
        client = RasaClient(rasa.url)
        ...
        assert rasa.bodies[0]["sender"] == citizen.public_id
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeRasa(ThreadingHTTPServer):
    """Answers the REST channel with an echo and records what it was sent."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _EchoHandler)
        self.bodies: list[dict[str, Any]] = []
        self.replaced: list[str] = []
        self.parses: dict[str, dict[str, Any]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @classmethod
    @contextmanager
    def running(cls, port: int = 0) -> Iterator[FakeRasa]:
        server = cls(port)
        thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


class _EchoHandler(BaseHTTPRequestHandler):
    server: FakeRasa

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.split("?")[0] == "/model/parse":
            self.server.bodies.append(body)
            text = body.get("text")
            if not isinstance(text, str):  # Rasa answers a body without text so
                self._answer(400, {"status": "failure", "reason": "BadRequest"})
                return
            self._answer(200, self.server.parses.get(text) or complaint_parse(text, []))
            return
        status = 200 if self.path == "/webhooks/rest/webhook" else 404
        self.server.bodies.append(body)
        reply: dict[str, Any] = {"text": f"echo:{body['message']}"}
        if body["message"] == "offer buttons":  # a reply with a button to tap
            reply["buttons"] = [{"title": "Solved", "payload": '/answer_fixed{"fixed":true}'}]
        if body["message"] == "/erase_confirm":  # the erasure's signal
            reply = {"text": "deleted", "custom": {"erased": True}}
        self._answer(status, [reply])

    def do_GET(self) -> None:
        """`/status`: what Rasa reports about its loaded model."""
        if self.path.split("?")[0] != "/status":
            self._answer(404, {})
            return
        self._answer(200, {"model_file": "models/fake.tar.gz", "num_active_training_jobs": 0})

    def do_PUT(self) -> None:
        """Replacing a conversation's events (what forgetting a conversation asks)."""
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.replaced.append(self.path)
        self._answer(200, {})

    def _answer(self, status: int, body: object) -> None:
        answer = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def complaint_parse(text: str, ranking: list[tuple[str, float]]) -> dict[str, Any]:
    """What Rasa 3.6's `/model/parse` answers for a complaint: the `complaint` intent and
    its ResponseSelector's ranking of `complaint/<category>` keys, best first."""
    selector_ranking = [
        {"id": -(i + 1), "confidence": confidence, "intent_response_key": f"complaint/{key}"}
        for i, (key, confidence) in enumerate(ranking)
    ]
    best = selector_ranking[0] if selector_ranking else None
    intent = (
        {"name": "complaint", "confidence": 0.97} if ranking else {"name": None, "confidence": 0.0}
    )
    return {
        "text": text,
        "intent": intent,
        "entities": [],
        "intent_ranking": [intent] if ranking else [],
        "response_selector": {
            "all_retrieval_intents": ["complaint"],
            "complaint": {
                "response": {
                    "id": best["id"] if best else None,
                    "responses": None,
                    "response_templates": None,
                    "confidence": best["confidence"] if best else 0.0,
                    "intent_response_key": best["intent_response_key"] if best else None,
                    "utter_action": f"utter_{best['intent_response_key']}" if best else None,
                    "template_name": f"utter_{best['intent_response_key']}" if best else None,
                },
                "ranking": selector_ranking,
            },
        },
    }
