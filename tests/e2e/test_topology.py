"""The production topology in its short form (benchmarks/topology.py runs the full one):
two Rasa servers, two action servers and two Telegram gateways in webhook mode behind
nginx, two notifiers, on PostgreSQL and Redis, with twenty Telegram citizens talking at
once through the Bot API stand-in's webhooks; halfway through, one Rasa server and one
gateway are killed with SIGKILL. Every message is answered once, with its own answer, and
the bot never sends faster than Telegram allows."""

from __future__ import annotations

import pytest

from benchmarks.topology import run
from civic.settings import PROJECT_ROOT
from ops.training import train
from tests.conftest import POSTGRES_URL, REDIS_URL

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def test_two_of_each_behind_nginx_carry_on_when_a_rasa_and_a_gateway_are_killed(
    redis_client: object,  # Redis is there (and its test database emptied)
) -> None:
    train(PROJECT_ROOT / "models", profile_dir=PROJECT_ROOT / "profiles" / "hangzhou")
    result = run(POSTGRES_URL, REDIS_URL, citizens=20, turns=4, kill=True)
    outcome = result.outcome
    assert outcome.killed == ["rasa-0", "gateway-0"]
    assert sum(outcome.asked.values()) == 80, result.table
    assert (outcome.lost, result.duplicated, outcome.wrong) == (0, 0, 0), (
        result.table,
        dict(outcome.wrong_texts),
    )
    assert len(outcome.seconds) == 80
    # Telegram's limit: 30 messages a second for the bot, and no 429 from the stand-in
    assert result.most_in_a_second <= 30, result.table
    assert result.rate_limited == 0, result.table
