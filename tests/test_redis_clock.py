"""The shared clock breakers stamp their records with: Redis server time, within a stated bound.

`RedisStateBackend.clock` measures the server's ``TIME`` every ``clock_sync_s`` and
carries it forward on the local monotonic clock; `clock_error_bound` says how far off it
may be (half the sync's round trip, plus 100 ppm of drift since). These tests check the
estimate against ``TIME`` read independently, with local clocks that disagree wildly.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Callable, Iterator

import pytest
from redis_server import RedisServer, backends, require_redis

require_redis()

from omnillm.gateway.redis_state import CLOCK_DRIFT, RedisStateBackend  # noqa: E402

_prefixes = itertools.count(1)


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as srv:
        yield srv


@pytest.fixture
def make(server: RedisServer) -> Iterator[Callable[..., RedisStateBackend]]:
    with backends(server.url, f"c{next(_prefixes)}:") as factory:
        yield factory


class SkewedClock:
    """A local monotonic clock that runs with real time but is off by ``offset`` seconds (moved by hand)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def server_time(server: RedisServer) -> float:
    seconds, micros = server.client().time()
    return int(seconds) + int(micros) / 1e6


def assert_within_bound(backend: RedisStateBackend, server: RedisServer) -> None:
    """Server time read between two readings of the estimate lies within the bound of both."""
    before = backend.clock()
    early = backend.clock_error_bound()  # a hold shrinks as time passes, drift grows
    truth = server_time(server)
    after = backend.clock()
    bound = max(early, backend.clock_error_bound())
    assert math.isfinite(bound)
    assert before - bound <= truth <= after + bound, (before, truth, after, bound)


def test_the_estimate_is_within_its_bound_of_the_servers_time(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    backend = make()
    assert backend.clock_error_bound() == math.inf  # nothing measured yet
    assert_within_bound(backend, server)
    # On 127.0.0.1 the round trip is well under the 0.2 s socket timeout that caps it.
    assert backend.clock_error_bound() < 0.1
    assert backend.status()["clock_error_bound_s"] == pytest.approx(backend.clock_error_bound(), abs=1e-3)


@pytest.mark.parametrize("skew", [-86_400.0, -3.5, 0.0, 3_600.0])
def test_a_worker_whose_own_clock_is_far_off_still_reads_the_servers_time(
    make: Callable[..., RedisStateBackend], server: RedisServer, skew: float
) -> None:
    assert_within_bound(make(now=SkewedClock(skew)), server)


def test_two_workers_with_clocks_a_day_apart_agree_within_the_sum_of_their_bounds(
    make: Callable[..., RedisStateBackend],
) -> None:
    first, second = make(now=SkewedClock(0.0)), make(now=SkewedClock(86_400.0))
    a1 = first.clock()
    b = second.clock()
    a2 = first.clock()
    slack = first.clock_error_bound() + second.clock_error_bound()
    assert a1 - slack <= b <= a2 + slack


def test_a_local_clock_that_leaps_is_corrected_at_the_next_sync(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    local = SkewedClock(0.0)
    backend = make(now=local, clock_sync_s=10.0)
    assert_within_bound(backend, server)
    # The local clock leaps 20 s ahead (far beyond any drift): the sync period has passed
    # on it, so the next reading measures the server again instead of carrying the leap.
    local.offset += 20.0
    assert_within_bound(backend, server)


def test_between_syncs_the_bound_grows_with_the_assumed_drift(make: Callable[..., RedisStateBackend]) -> None:
    local = SkewedClock(0.0)
    backend = make(now=local, clock_sync_s=3600.0)
    backend.clock()
    bound = backend.clock_error_bound()
    local.offset += 1000.0  # 1000 s on the local clock without a sync
    assert backend.clock_error_bound() == pytest.approx(bound + CLOCK_DRIFT * 1000.0, abs=1e-3)


def test_the_clock_never_goes_backwards_when_a_sync_moves_it_back(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    local = SkewedClock(0.0)
    backend = make(now=local, clock_sync_s=10.0)
    backend.clock()
    local.offset += 5.0  # ran 5 s fast without a sync: the estimate is 5 s ahead
    ahead = backend.clock()
    assert ahead > server_time(server) + 4.0
    local.offset += 6.0  # 11 s since the sync on the local clock: the next reading syncs
    # Synced, the estimate would jump back by some 11 s; the clock holds still instead.
    assert backend.clock() == ahead
    # ...and says so: the bound covers the hold, so it still contains the server's time.
    assert backend.clock_error_bound() > 4.0
    assert_within_bound(backend, server)
