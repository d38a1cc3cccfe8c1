"""Ejection slots in Redis heal themselves: a worker that dies mid-transition does not hold a slot for good.

A breaker trip claims a slot of its pool (`EjectionGuard.try_eject`) and then stores the
ejected record (`breaker_swap`); a recovery stores the closed record and then gives the
slot back. A worker killed between the two steps used to leave the pool's counter one
too high forever, so that after enough deaths no key of the pool could be ejected any
more. Now a claim runs out unless the swap binds it to the stored record, and the swap
that un-ejects a breaker gives its slot back in the same script.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator, List

import pytest
from redis_server import RedisServer, backends, require_redis

require_redis()

from omnillm.gateway import BreakerConfig, BreakerRegistry, BreakerState  # noqa: E402
from omnillm.gateway.redis_state import RedisStateBackend  # noqa: E402

_prefixes = itertools.count(1)


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as srv:
        yield srv


@pytest.fixture
def make(server: RedisServer) -> Iterator[Callable[..., RedisStateBackend]]:
    """Backends ("workers") on the module's server sharing one prefix per test."""
    with backends(server.url, f"s{next(_prefixes)}:", read_cache_s=0) as factory:
        yield factory


class Killed(BaseException):
    """The worker died here (gunicorn's SIGKILL): nothing after this line of the transition runs."""


class DiesBeforeSwap:
    """A backend whose worker is killed between taking an ejection slot and storing the ejected record."""

    def __init__(self, backend: RedisStateBackend) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def breaker_swap(self, name: str, expected: Any, new: Any) -> bool:
        if isinstance(new, BreakerState) and new.ejected:
            raise Killed
        return self._backend.breaker_swap(name, expected, new)


class DiesAfterSwap(DiesBeforeSwap):
    """A backend whose worker is killed right after storing a record, before giving a slot back."""

    def breaker_swap(self, name: str, expected: Any, new: Any) -> bool:
        stored = self._backend.breaker_swap(name, expected, new)
        if stored and isinstance(expected, BreakerState) and expected.ejected and not new.ejected:
            raise Killed
        return stored

    def slot_release(self, pool: str) -> None:
        raise AssertionError("a dead worker gives nothing back")


CONFIG = BreakerConfig(failure_threshold=1, cooldown_s=0.001, max_cooldown_s=0.001)


def registry(state: Any) -> BreakerRegistry:
    """Two keys in the pool ``keys``: at most one may be ejected (half of two)."""
    breakers = BreakerRegistry(CONFIG, state=state)
    breakers.for_key("k1")
    breakers.for_key("k2")
    return breakers


def trip(breakers: BreakerRegistry, label: str) -> str:
    permit = breakers.for_key(label).acquire()
    assert permit is not None
    permit.failure()
    return breakers.for_key(label).status


def claims(server: RedisServer, backend: RedisStateBackend, pool: str) -> List[bytes]:
    return [m for m in server.client().zrange(f"{backend.prefix}slots:{pool}", 0, -1) if m.startswith(b"c:")]


def test_a_worker_killed_between_claiming_a_slot_and_storing_the_trip_frees_the_slot(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    dying = registry(DiesBeforeSwap(make()))
    with pytest.raises(Killed):
        trip(dying, "k1")
    alive_state = make()
    alive = registry(alive_state)
    assert alive_state.slot_count("keys") == 1  # the dead worker's claim, still within its lifetime
    assert trip(alive, "k2") == "closed"  # the cap of one is taken
    # The claim's lifetime (slot_claim_ttl_s) passes: move it into the past instead of waiting.
    (claim,) = claims(server, alive_state, "keys")
    server.client().zadd(f"{alive_state.prefix}slots:keys", {claim: 0})
    assert alive_state.slot_count("keys") == 0
    assert trip(alive, "k2") == "open"
    assert alive_state.slot_count("keys") == 1


def test_a_claim_lives_slot_claim_ttl_s_by_the_servers_clock(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    backend = make(slot_claim_ttl_s=7.5)
    assert backend.slot_acquire("keys", None)
    (claim,) = claims(server, backend, "keys")
    score = server.client().zscore(f"{backend.prefix}slots:keys", claim)
    seconds, micros = server.client().time()
    left_ms = score - (seconds * 1000 + micros / 1000)
    assert 7_000 < left_ms <= 7_500


def test_a_stored_trip_binds_its_slot_to_the_record_so_it_never_runs_out(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    state = make()
    breakers = registry(state)
    assert trip(breakers, "k1") == "open"
    holders = server.client().zrange(f"{state.prefix}slots:keys", 0, -1, withscores=True)
    assert holders == [(b"b:k1", float("inf"))]  # no claim left behind, no expiry
    assert server.client().get(f"{state.prefix}bind:k1") == b"keys"
    assert state.slot_count("keys") == 1


def test_a_worker_killed_between_closing_a_breaker_and_returning_its_slot_leaks_nothing(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    first = make()
    assert trip(registry(first), "k1") == "open"
    dying = registry(DiesAfterSwap(make()))
    probe = dying.for_key("k1").acquire()  # the cooldown is a millisecond: half-open now
    assert probe is not None and probe.probe
    with pytest.raises(Killed):
        probe.success()  # stored "closed", killed before `EjectionGuard.restore`
    # The swap itself gave the slot back (no later reconciliation needed).
    assert server.client().zcard(f"{first.prefix}slots:keys") == 0
    assert first.slot_count("keys") == 0
    assert server.client().get(f"{first.prefix}bind:k1") is None
    assert trip(registry(first), "k2") == "open"


def test_the_release_after_an_unejecting_swap_gives_back_nothing_more(
    make: Callable[..., RedisStateBackend],
) -> None:
    first, second = make(), make()
    one, two = registry(first), registry(second)
    assert trip(one, "k1") == "open"
    one.for_key("k1").reset()  # swap (gives the slot back) then restore (must not give another)
    assert first.slot_count("keys") == 0
    assert trip(two, "k2") == "open"
    one.for_key("k1").reset()  # no slot: nothing to give back
    assert second.slot_count("keys") == 1
    assert trip(one, "k1") == "closed"  # k2 holds the pool's only slot


def test_a_slot_whose_breaker_record_is_gone_is_dropped(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    state = make()
    assert trip(registry(state), "k1") == "open"
    server.client().delete(f"{state.prefix}breaker:k1")  # evicted, or deleted by an operator
    assert state.slot_count("keys") == 0
    assert server.client().get(f"{state.prefix}bind:k1") is None


def test_a_refused_swap_gives_its_claim_back_at_once(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    first, second = make(), make()
    stale = first.breaker_get("k1")
    assert first.slot_acquire("keys", 1)
    assert second.breaker_swap("k1", None, BreakerState(epoch=1))  # someone else changed the record
    assert not first.breaker_swap("k1", stale, BreakerState(status="open", epoch=1, ejected=True))
    first.slot_release("keys")  # what `CircuitBreaker` does after a refused swap
    assert claims(server, first, "keys") == []
    assert second.slot_count("keys") == 0


def test_one_workers_release_never_takes_another_workers_claim(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    first, second = make(), make()
    assert second.slot_acquire("keys", None)
    first.slot_release("keys")  # first holds nothing
    assert first.slot_count("keys") == 1
    second.slot_release("keys")
    assert first.slot_count("keys") == 0


def test_a_counter_left_by_an_older_version_is_replaced(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    state = make()
    server.client().set(f"{state.prefix}slots:keys", 5)  # the old INCR counter, possibly leaked
    assert state.slot_count("keys") == 0
    assert trip(registry(state), "k1") == "open"
    assert state.slot_count("keys") == 1
