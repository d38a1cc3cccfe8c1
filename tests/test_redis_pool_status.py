"""pool_status() on Redis shows every worker's traffic per key, not only this worker's.

Two gateways on one Redis stand for two worker processes (each has its own backend
instance, so nothing is shared in memory).
"""

from __future__ import annotations

import itertools
from typing import Iterator, List

import pytest
from redis_server import RedisServer, require_redis

require_redis()

from omnillm import LlmRequest, Message  # noqa: E402
from omnillm.errors import ServerError  # noqa: E402
from omnillm.gateway import Gateway, KeyConfig, PoolConfig, Price, RetryPolicy  # noqa: E402
from omnillm.gateway.redis_state import RedisStateBackend  # noqa: E402
from omnillm.testing import Fault, MockProvider, MockReply  # noqa: E402

_prefixes = itertools.count(1)


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as srv:
        yield srv


@pytest.fixture
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="hello there")) as m:
        yield m


def _gateway(server: RedisServer, mock: MockProvider, prefix: str, made: List[Gateway]) -> Gateway:
    state = RedisStateBackend(server.url, prefix=prefix, read_cache_s=0, stats_flush_s=0.001)
    key = KeyConfig(
        "openai", "sk-shared", label="k1", base_url=mock.base_url + "/v1", wire_format="open_ai_chat_completions"
    )
    gw = Gateway(
        [key],
        state=state,
        prices={"m-1": Price.usd(1.0, 2.0)},
        pool_config=PoolConfig(retry=RetryPolicy(max_attempts=1)),
    )
    made.append(gw)
    return gw


def test_pool_status_adds_up_every_workers_calls(server: RedisServer, mock: MockProvider) -> None:
    prefix = f"ps{next(_prefixes)}:"
    made: List[Gateway] = []
    try:
        first = _gateway(server, mock, prefix, made)
        second = _gateway(server, mock, prefix, made)
        request = LlmRequest(model="m-1", messages=[Message.user("hi")], max_output_tokens=20)
        spent = 0
        for _ in range(3):
            spent += first.call(request).cost_micros or 0
        spent += second.call(request).cost_micros or 0
        mock.add_fault(Fault(status=500, times=1))
        with pytest.raises(ServerError):
            first.call(request)

        for gw in (first, second):
            gw.pool_status()  # each worker sends what it counted when it reads the shared view
        for gw in (first, second):
            (status,) = gw.pool_status().keys
            assert status.total_requests == 5  # 3 + 1 successes and the failure, whoever made them
            assert status.errors == {"ServerError": 1}
            assert status.spent_micros == spent > 0
            assert status.total_tokens > 0
            assert status.in_flight == 0
        # The sliding-window counts stay each worker's own.
        assert first.pool_status().keys[0].requests == 4
        assert second.pool_status().keys[0].requests == 1
    finally:
        for gw in made:
            gw.close()
            gw.state.close()  # type: ignore[attr-defined]
