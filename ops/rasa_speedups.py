"""One adjustment to the Rasa server's own code, installed by ops/rasa_main.py before
Rasa starts. Runs inside the Rasa server (Python 3.10); imports nothing of ours.

Rasa 3.6 checks every answer of the action server with `jsonschema.validate`, which
first checks the schema itself against JSON Schema's meta-schema and builds a new
validator, on every call: profiled, about a quarter of the Rasa server's time in a turn
(two action calls a turn). The same check with the validator built once: the same
errors, with Rasa's own message.
"""

from __future__ import annotations

from typing import Any

# Rasa's wording, appended to the schema error (rasa/core/actions/action.py).
HINT = (
    ". Failed to validate Action server response from API, make sure your response from "
    "the Action endpoint is valid. For more information about the format visit "
    "https://rasa.com/docs/rasa/custom-actions"
)


def install() -> None:
    """Replace RemoteAction's response check with one using a validator built once."""
    from jsonschema import exceptions, validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator = validators.validator_for(schema)(schema)

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = exceptions.best_match(validator.iter_errors(result))
        if error is not None:
            error.message += HINT
            raise error
        return True

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
