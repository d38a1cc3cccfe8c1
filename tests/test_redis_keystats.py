"""Per-key traffic counters shared through Redis: the data behind a pool_status() that shows every worker.

`RedisStateBackend.key_stats_add` counts in the process and sends the counts along with
a breaker read that goes to Redis anyway (one pipeline), at most every ``stats_flush_s``;
`key_stats` reads the sum over all workers.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator

import pytest
import redis
from redis_server import ManualClock, RedisServer, backends, require_redis

require_redis()

from omnillm.errors import ConfigurationError  # noqa: E402
from omnillm.gateway.redis_state import RedisStateBackend  # noqa: E402

_prefixes = itertools.count(1)


class CountingRedis(redis.Redis):
    """A client that counts round trips: single commands and pipeline executions."""

    round_trips = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        CountingRedis.round_trips += 1
        return super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        pipe = super().pipeline(transaction, shard_hint)
        execute = pipe.execute

        def counted(raise_on_error: bool = True) -> Any:
            CountingRedis.round_trips += 1
            return execute(raise_on_error)

        pipe.execute = counted
        return pipe


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as srv:
        yield srv


@pytest.fixture
def make(server: RedisServer) -> Iterator[Callable[..., RedisStateBackend]]:
    with backends(server.url, f"k{next(_prefixes)}:", read_cache_s=0) as factory:
        yield factory


def test_every_workers_traffic_adds_up_in_the_shared_view(make: Callable[..., RedisStateBackend]) -> None:
    first, second = make(), make()
    first.key_stats_add("k1", requests=1, tokens=100, spent_micros=250, latency_s=0.2, in_flight=2)
    first.key_stats_add("k1", requests=1, error="ServerError", in_flight=1)
    second.key_stats_add("k1", requests=1, tokens=50, spent_micros=100, latency_s=0.4, in_flight=3)
    second.key_stats_add("k2", requests=1, error="RateLimitError")
    second.key_stats_add("k2", requests=1, error="RateLimitError")
    first.close()  # a worker shutting down sends what it counted
    stats = second.key_stats(["k1", "k2", "k3"])
    assert stats is not None
    assert stats["k1"] == {
        "requests": 3,
        "tokens": 150,
        "spent_micros": 350,
        "errors": {"ServerError": 1},
        "latency_mean_s": pytest.approx(0.3),
        "in_flight": 4,  # first's last report (1) plus second's (3)
    }
    assert stats["k2"]["errors"] == {"RateLimitError": 2} and stats["k2"]["latency_mean_s"] is None
    assert stats["k3"] == {
        "requests": 0,
        "tokens": 0,
        "spent_micros": 0,
        "errors": {},
        "latency_mean_s": None,
        "in_flight": 0,
    }


def test_counts_ride_on_a_breaker_read_and_cost_no_round_trip_of_their_own(server: RedisServer) -> None:
    clock = ManualClock()
    client = CountingRedis.from_url(server.url, socket_timeout=5)
    backend = RedisStateBackend(client=client, prefix="ride:", read_cache_s=0, stats_flush_s=1.0, now=clock)
    raw = server.client()
    before = CountingRedis.round_trips
    for _ in range(50):
        backend.key_stats_add("k1", requests=1, tokens=10)
    assert CountingRedis.round_trips == before  # counting never talks to Redis
    backend.breaker_get("k1")  # within stats_flush_s of the last flush: a plain GET
    assert raw.hgetall("ride:keystats:k1") == {}
    clock.advance(1.0)
    before = CountingRedis.round_trips
    backend.breaker_get("k1")
    assert CountingRedis.round_trips == before + 1  # the GET and the counts in one pipeline
    assert raw.hgetall("ride:keystats:k1") == {b"requests": b"50", b"tokens": b"500"}
    assert 0 < raw.pttl("ride:keystats:k1") <= 7 * 86_400_000


def test_counts_go_on_their_own_when_no_read_carries_them(server: RedisServer) -> None:
    clock = ManualClock()
    backend = RedisStateBackend(server.url, prefix="alone:", stats_flush_s=1.0, now=clock)
    raw = server.client()
    backend.key_stats_add("k1", requests=1)
    clock.advance(1.5)
    backend.key_stats_add("k1", requests=1)
    assert raw.hgetall("alone:keystats:k1") == {}  # due, but a read may still carry them
    clock.advance(0.5)  # twice stats_flush_s without a flush
    backend.key_stats_add("k1", requests=1)
    assert raw.hget("alone:keystats:k1", "requests") == b"3"
    backend.close()


def test_a_dead_workers_calls_in_flight_stop_counting(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    dead, alive = make(), make()
    dead.key_stats_add("k1", requests=1, in_flight=3)
    alive.key_stats_add("k1", requests=1, in_flight=1)
    dead.key_stats(["k1"])  # sends dead's counts
    both = alive.key_stats(["k1"])
    assert both is not None and both["k1"]["in_flight"] == 4
    server.client().delete(f"{dead.prefix}owner:{dead.owner}")  # killed: its liveness key lapses
    shared = alive.key_stats(["k1"])
    assert shared is not None
    assert shared["k1"]["in_flight"] == 1 and shared["k1"]["requests"] == 2  # counted traffic stays


def test_while_redis_is_away_the_counts_wait_and_arrive_after_it(tmp_path: Any) -> None:
    clock = ManualClock()
    with RedisServer(appendonly=True) as srv:
        backend = RedisStateBackend(srv.url, prefix="away:", probe_interval_s=1.0, now=clock)
        backend.key_stats_add("k1", requests=1, tokens=5)
        srv.kill()
        backend.key_stats_add("k1", requests=1, tokens=5, error="ServerError")
        assert backend.key_stats(["k1"]) is None  # no shared view: the caller shows its own
        srv.restart()
        clock.advance(1.0)  # the next probe finds Redis back
        stats = backend.key_stats(["k1"])
        assert stats is not None
        assert (stats["k1"]["requests"], stats["k1"]["tokens"], stats["k1"]["errors"]) == (2, 10, {"ServerError": 1})
        backend.close()


@pytest.mark.parametrize(
    "bad", [{"requests": -1}, {"tokens": 1.5}, {"spent_micros": True}, {"in_flight": -2}, {"in_flight": "3"}]
)
def test_bad_counts_are_configuration_errors(make: Callable[..., RedisStateBackend], bad: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"key_stats_add\('k1'\): "):
        make().key_stats_add("k1", **bad)
