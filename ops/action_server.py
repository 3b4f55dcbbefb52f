"""The action server: rasa-sdk's app with the project's actions, answering only Rasa.

rasa-sdk checks no caller: anyone who reaches its port could run any action for any
conversation (file a ticket in a citizen's name, read a citizen's tickets). Here every
request but the health check must carry ACTION_SERVER_TOKEN as `?token=`, which Rasa
sends from the `action_endpoint` that `civicbot run` writes (ops/supervisor.py). It
listens on 127.0.0.1 and allows no cross-origin calls from browsers.

Started by `civicbot run` as `python -m ops.action_server`.
"""

from __future__ import annotations

import hmac
import logging
import sys

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

from civic.settings import get_settings
from storage.wakeups import announce_on_redis

TOKEN_PARAMETER = "token"
OPEN_PATHS = frozenset({"/health"})  # the supervisor's readiness check; tells nothing
HOST = "127.0.0.1"

log = logging.getLogger("ops.action_server")


def create_action_app(token: str, *, package: str = "actions") -> Sanic:
    """rasa-sdk's Sanic app running `package`'s actions, refusing calls without `token`."""
    if not token:
        raise ValueError("the action server needs a token (ACTION_SERVER_TOKEN)")
    expected = token.encode()
    executor = ActionExecutor()
    executor.register_package(package)
    app = create_app(executor, cors_origins=None)

    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        provided = request.args.get(TOKEN_PARAMETER, "").encode()
        if hmac.compare_digest(provided, expected):
            return None
        log.warning("refused a %s %s without a valid token", request.method, request.path)
        return json({"error": "a valid token is required"}, status=401)

    app.on_request(require_token)
    return app


def main() -> int:
    settings = get_settings()
    if not settings.action_server_token:
        print("ACTION_SERVER_TOKEN is not set: the action server refuses to run unprotected.")
        return 2
    announce_on_redis(settings.redis_url)  # the outbox rows its actions commit
    utils.configure_colored_logging(settings.log_level)
    utils.update_sanic_log_level()
    app = create_action_app(settings.action_server_token)
    log.info("action server on http://%s:%s", HOST, settings.action_server_port)
    app.run(
        host=HOST,
        port=settings.action_server_port,
        single_process=True,
        access_log=False,
        motd=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
