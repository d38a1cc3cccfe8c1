"""`RedisStateBackend` against a real redis-server on 127.0.0.1: semantics, keys, outages."""

from __future__ import annotations

import itertools
import logging
import math
import threading
from typing import Any, Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis_server import ManualClock, RedisServer, backends, free_port, require_redis

require_redis()

import redis  # noqa: E402

from omnillm.errors import ConfigurationError, StateBackendError  # noqa: E402
from omnillm.gateway import BreakerConfig, BreakerState, Budget, CircuitBreaker, KeyLimiter  # noqa: E402
from omnillm.gateway.redis_state import RedisStateBackend, decode_breaker, encode_breaker  # noqa: E402
from omnillm.gateway.state import BucketSpec, BudgetTotals, InMemoryState  # noqa: E402

_prefixes = itertools.count(1)


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as srv:
        yield srv


@pytest.fixture
def make(server: RedisServer) -> Iterator[Callable[..., RedisStateBackend]]:
    """Backends on the module's server, each test with a prefix of its own."""
    with backends(server.url, f"t{next(_prefixes)}:") as factory:
        yield factory


@pytest.fixture(params=["memory", "redis"])
def state(request: Any, make: Callable[..., RedisStateBackend]) -> Any:
    """The same contract, checked on both backends."""
    return InMemoryState() if request.param == "memory" else make()


# --------------------------------------------------------------------------- same semantics as in memory


def test_budget_reserve_settle_release_keep_the_invariants(state: Any) -> None:
    assert state.budget_totals("b") == BudgetTotals(0, 0, 0, 0)
    assert state.budget_reserve("b", 600, 1000, rid="r1") == (True, 1000)
    assert state.budget_reserve("b", 500, 1000, rid="r2") == (False, 400)
    assert state.budget_reserve("b", 400, 1000, rid="r3") == (True, 400)
    state.budget_settle("b", 600, 650, rid="r1")  # 50 beyond its reservation
    state.budget_release("b", 400, rid="r3")
    totals = state.budget_totals("b")
    assert totals == BudgetTotals(650, 0, 50, 1)


def test_settling_more_than_is_reserved_without_an_id_is_refused(state: Any) -> None:
    state.budget_reserve("b", 10, 100)
    with pytest.raises(ConfigurationError, match="settling a reservation of 20 micros but only 10"):
        state.budget_settle("b", 20, 5)
    with pytest.raises(ConfigurationError, match="releasing a reservation of 20 micros but only 10"):
        state.budget_release("b", 20)


def test_a_budget_through_the_policy_object_refuses_what_does_not_fit(state: Any) -> None:
    budget = Budget(1_000, state=state)
    with budget.reserve(700) as held:
        held.settle(300)
    assert budget.available == 700
    with pytest.raises(Exception, match="only 700 of 1000"):
        budget.reserve(701)
    assert budget.reserved == 0 and budget.spent == 300


def test_a_multi_bucket_take_is_all_or_nothing(state: Any) -> None:
    # Refill rates so slow that the seconds a test takes cannot matter.
    requests = BucketSpec("k/rpm", 3, 1e-6)
    slots = BucketSpec("k/concurrency", 2, 0.0)
    assert state.bucket_take([(requests, 1), (slots, 1)], 0.0) == 0.0
    assert state.bucket_take([(requests, 1), (slots, 1)], 0.0) == 0.0
    assert state.bucket_take([(requests, 1), (slots, 1)], 0.0) == math.inf
    assert state.bucket_level(requests, 0.0) == pytest.approx(1.0, abs=1e-3)  # the refused take took nothing
    state.bucket_put([(slots, 1)], 0.0)
    assert state.bucket_take([(requests, 1), (slots, 1)], 0.0) == 0.0
    wait = state.bucket_take([(requests, 1)], 0.0)
    assert 0 < wait <= 1e6
    assert state.bucket_wait([(requests, 1)], 0.0) > 0
    assert state.bucket_wait([(slots, 1)], 0.0) == math.inf


def test_puts_never_exceed_capacity_and_a_large_take_leaves_debt(state: Any) -> None:
    tokens = BucketSpec("k/tpm", 100, 1e-6)
    state.bucket_put([(tokens, 50)], 0.0)
    assert state.bucket_level(tokens, 0.0) == pytest.approx(100)
    assert state.bucket_take([(tokens, 250)], 0.0) == 0.0  # bigger than the bucket: admitted when full
    assert state.bucket_level(tokens, 0.0) == pytest.approx(-150, abs=1e-3)
    state.bucket_put([(tokens, -10)], 0.0)  # an extra charge
    assert state.bucket_level(tokens, 0.0) == pytest.approx(-160, abs=1e-3)


def test_slots_count_up_to_the_cap_and_never_below_zero(state: Any) -> None:
    assert state.slot_acquire("pool", 2) and state.slot_acquire("pool", 2)
    assert not state.slot_acquire("pool", 2)
    assert state.slot_acquire("pool", None)  # forced: no cap
    assert state.slot_count("pool") == 3
    for _ in range(5):
        state.slot_release("pool")
    assert state.slot_count("pool") == 0


def test_breaker_records_are_swapped_only_from_the_current_one(state: Any) -> None:
    first = BreakerState(status="open", epoch=1, opened_at=5.0, cooldown_s=2.0, trips=1)
    assert state.breaker_get("k") is None
    assert state.breaker_swap("k", None, first)
    assert not state.breaker_swap("k", None, BreakerState())
    current = state.breaker_get("k")
    assert current == first
    assert state.breaker_swap("k", current, BreakerState(epoch=2))
    assert not state.breaker_swap("k", current, BreakerState(epoch=3))  # stale
    assert state.breaker_get("k") == BreakerState(epoch=2)


def test_cooldowns_keep_the_longest_and_an_endless_one_lasts_until_cleared(state: Any) -> None:
    assert state.cooldown_remaining("k", 0.0) == 0.0
    state.cooldown_set("k", 30.0, 0.0)
    state.cooldown_set("k", 5.0, 0.0)
    assert 20.0 < state.cooldown_remaining("k", 0.0) <= 30.0
    state.cooldown_set("k", math.inf, 0.0)
    assert state.cooldown_remaining("k", 0.0) == math.inf
    state.cooldown_set("k", 1.0, 0.0)
    assert state.cooldown_remaining("k", 0.0) == math.inf
    state.cooldown_clear("k")
    assert state.cooldown_remaining("k", 0.0) == 0.0


def test_a_breaker_and_a_limiter_run_on_either_backend(state: Any) -> None:
    breaker = CircuitBreaker("key-a", BreakerConfig(failure_threshold=2, cooldown_s=60.0), state=state)
    for _ in range(2):
        permit = breaker.acquire()
        assert permit is not None
        permit.failure()
    assert breaker.status == "open" and breaker.acquire() is None
    limiter = KeyLimiter("key-a", rpm=2, state=state)
    assert limiter.try_acquire() is not None and limiter.try_acquire() is not None
    assert limiter.try_acquire() is None
    limiter.cooldown(30)
    assert limiter.snapshot()["cooldown_s"] > 20


# --------------------------------------------------------------------------- Redis specifics


def test_settling_or_releasing_an_id_twice_applies_once(make: Callable[..., RedisStateBackend]) -> None:
    backend = make()
    backend.budget_reserve("b", 100, 1000, rid="x1")
    backend.budget_settle("b", 100, 80, rid="x1")
    backend.budget_settle("b", 100, 80, rid="x1")  # a replay after a timeout whose first attempt landed
    backend.budget_release("b", 100, rid="x1")
    assert backend.budget_totals("b") == BudgetTotals(80, 0, 0, 0)


def test_an_expired_lease_gives_the_money_back_and_a_late_settlement_is_overspend(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    backend = make()
    backend.budget_reserve("b", 300, 1000, rid="dead-worker")
    # The worker died mid-call: move its lease into the past instead of waiting an hour.
    server.client().zadd(f"{backend.prefix}budget-lease:b", {"dead-worker": 0})
    assert backend.budget_totals("b").reserved == 0
    assert backend.budget_reserve("b", 1000, 1000, rid="next") == (True, 1000)
    backend.budget_release("b", 1000, rid="next")
    backend.budget_settle("b", 300, 120, rid="dead-worker")  # it was alive after all
    assert backend.budget_totals("b") == BudgetTotals(120, 0, 120, 1)


def test_processes_share_a_concurrency_cap_and_a_dead_owners_units_come_back(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    first, second = make(), make()
    slots = BucketSpec("k/concurrency", 2, 0.0)
    assert first.bucket_take([(slots, 1)], 0.0) == 0.0
    assert second.bucket_take([(slots, 1)], 0.0) == 0.0
    assert first.bucket_take([(slots, 1)], 0.0) == math.inf
    assert second.bucket_level(slots, 0.0) == 0.0
    server.client().delete(f"{first.prefix}owner:{first.owner}")  # first was killed: its liveness key lapses
    assert second.bucket_take([(slots, 1)], 0.0) == 0.0
    assert second.bucket_level(slots, 0.0) == 0.0
    second.bucket_put([(slots, 1)], 0.0)
    second.bucket_put([(slots, 1)], 0.0)
    second.bucket_put([(slots, 1)], 0.0)  # more than it holds: no effect
    assert first.bucket_level(slots, 0.0) == 2.0


def test_bucket_operations_use_the_server_clock_not_the_callers(make: Callable[..., RedisStateBackend]) -> None:
    backend = make()
    spec = BucketSpec("k/rpm", 1, 1 / 60)
    assert backend.bucket_take([(spec, 1)], 0.0) == 0.0
    # A caller whose clock says a day has passed gets nothing refilled.
    assert backend.bucket_take([(spec, 1)], 86_400.0) > 50


def test_keys_carry_the_prefix_and_expire_where_they_should(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    backend = make()
    other = make(prefix=backend.prefix + "other:")
    raw = server.client()
    backend.budget_reserve("gateway", 1, 10, rid="r")
    backend.budget_reserve("gateway@2030-01-02", 1, 10, rid="d")
    backend.budget_reserve("gateway@2030-01", 1, 10, rid="m")
    backend.bucket_take([(BucketSpec("k/rpm", 10, 1.0), 1)], 0.0)
    backend.bucket_take([(BucketSpec("k/concurrency", 10, 0.0), 1)], 0.0)
    backend.cooldown_set("k/cooldown", 30.0, 0.0)
    backend.breaker_swap("closed", None, BreakerState())
    backend.breaker_swap("open", None, BreakerState(status="open", epoch=1))
    p = backend.prefix
    assert all(key.startswith(p.encode()) for key in raw.keys(f"{p}*"))
    assert raw.pttl(f"{p}budget:gateway") == -1  # all-time spending never expires
    assert 0 < raw.pttl(f"{p}budget:gateway@2030-01-02") <= 3 * 86_400_000
    assert 3 * 86_400_000 < raw.pttl(f"{p}budget:gateway@2030-01") <= 63 * 86_400_000
    assert 0 < raw.pttl(f"{p}bucket:k/rpm") <= 3_000
    assert 0 < raw.pttl(f"{p}sem:k/concurrency") <= 600_000
    assert 0 < raw.pttl(f"{p}cooldown:k/cooldown") <= 30_000
    assert raw.pttl(f"{p}breaker:closed") > 0
    assert raw.pttl(f"{p}breaker:open") == -1  # an open breaker holds until it closes
    assert other.budget_totals("gateway") == BudgetTotals(0, 0, 0, 0)  # another prefix shares nothing


def test_amounts_beyond_lua_precision_are_refused(make: Callable[..., RedisStateBackend]) -> None:
    with pytest.raises(ConfigurationError, match="Redis"):
        make().budget_reserve("b", 2**53, 2**60, rid="big")


def test_two_backends_agree_on_the_shared_clock(make: Callable[..., RedisStateBackend]) -> None:
    first, second = make(), make()
    a = first.clock()
    b = second.clock()
    c = first.clock()
    assert a <= c
    assert abs(b - a) < 5.0  # both read the one server's TIME
    assert first.shared_clock() is not None and InMemoryState().shared_clock() is None


@settings(max_examples=60, deadline=None)
@given(
    status=st.sampled_from(["closed", "open", "half_open", "disabled"]),
    epoch=st.integers(0, 2**40),
    window=st.lists(st.tuples(st.integers(0, 2**40), st.integers(0, 99), st.integers(0, 99)), max_size=5),
    opened_at=st.floats(allow_nan=False, allow_infinity=False),
    closed_at=st.one_of(st.just(-math.inf), st.floats(allow_nan=False, allow_infinity=False)),
    ejected=st.booleans(),
    reason=st.text(max_size=20),
)
def test_breaker_records_serialize_canonically(
    status: str, epoch: int, window: Any, opened_at: float, closed_at: float, ejected: bool, reason: str
) -> None:
    record = BreakerState(
        status=status,
        epoch=epoch,
        window=tuple(window),
        opened_at=opened_at,
        closed_at=closed_at,
        ejected=ejected,
        reason=reason,
    )
    encoded = encode_breaker(record)
    decoded = decode_breaker("k", encoded.encode())
    assert decoded == record
    assert encode_breaker(decoded) == encoded


def test_an_unreadable_breaker_record_is_a_clear_error(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    backend = make()
    server.client().set(f"{backend.prefix}breaker:k", b"not json")
    with pytest.raises(StateBackendError, match="breaker 'k' holds an unreadable record"):
        backend.breaker_get("k")
    with pytest.raises(ConfigurationError, match="BreakerState"):
        backend.breaker_swap("k", None, object())


def test_a_password_never_shows_in_repr_status_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()

    url = f"redis://user:hunter2-secret@127.0.0.1:{free_port()}/0"
    backend = RedisStateBackend(url, now=clock)
    with caplog.at_level(logging.WARNING, logger="omnillm"), pytest.raises(StateBackendError) as caught:
        backend.bucket_take([(BucketSpec("k/rpm", 1, 1.0), 1)], 0.0)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(backend) and "hunter2" not in repr(backend.status())
    assert "hunter2" not in caplog.text and "***" in caplog.text


# --------------------------------------------------------------------------- outages


@pytest.fixture
def restartable() -> Iterator[RedisServer]:
    """A server of the test's own, with an append-only file so a SIGKILL loses nothing."""
    with RedisServer(appendonly=True) as srv:
        yield srv


def test_fail_closed_refuses_admission_quickly_and_recovers_after_a_probe(restartable: RedisServer) -> None:
    clock = ManualClock()
    backend = RedisStateBackend(restartable.url, on_unavailable="fail_closed", probe_interval_s=2.0, now=clock)
    spec = BucketSpec("k/rpm", 100, 1.0)
    assert backend.bucket_take([(spec, 1)], 0.0) == 0.0
    restartable.kill()
    with pytest.raises(StateBackendError, match="fail_closed") as caught:
        backend.bucket_take([(spec, 1)], 0.0)
    assert caught.value.retry_after == pytest.approx(2.0)
    with pytest.raises(StateBackendError, match="budget 'b'"):
        backend.budget_reserve("b", 1, 10, rid="r")
    restartable.start()
    with pytest.raises(StateBackendError):  # no probe before the interval: not one round trip per call
        backend.bucket_take([(spec, 1)], 0.0)
    assert not backend.available
    clock.advance(2.0)
    assert backend.bucket_take([(spec, 1)], 0.0) == 0.0
    assert backend.available and backend.status()["outages"] == 1


def test_a_settlement_during_an_outage_is_replayed_exactly_once(restartable: RedisServer) -> None:
    clock = ManualClock()
    backend = RedisStateBackend(restartable.url, now=clock)
    budget = Budget(1_000, state=backend)
    made_before = budget.reserve(400)
    released_before = budget.reserve(200)
    restartable.kill()
    assert made_before.settle(250)  # never raises: the call already happened
    assert released_before.release()
    assert backend.status()["journal"] == 2
    restartable.start()
    clock.advance(1.0)
    assert budget.snapshot()["spent_micros"] == 250
    assert budget.reserved == 0 and backend.status()["journal"] == 0
    assert not made_before.settle(250)  # a second settle of the same reservation is a no-op
    assert budget.spent == 250


class LosesReplies:
    """A redis client whose script calls land on the server but whose replies are lost (a timeout)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lose = False

    def register_script(self, source: str) -> Any:
        script = self.inner.register_script(source)
        owner = self

        def call(keys: Any = None, args: Any = None, client: Any = None) -> Any:
            result = script(keys=keys, args=args, client=client)
            if owner.lose and client is None:
                raise redis.TimeoutError("Timeout reading from socket")
            return result

        return call

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_an_operation_whose_reply_was_lost_is_neither_lost_nor_doubled(server: RedisServer) -> None:
    clock = ManualClock()
    client = LosesReplies(server.client())
    backend = RedisStateBackend(prefix=f"t{next(_prefixes)}:", client=client, now=clock)
    budget = Budget(1_000, state=backend)
    held = budget.reserve(500)
    client.lose = True
    held.settle(300)  # landed, but the reply timed out: journaled and replayed later
    with pytest.raises(StateBackendError):
        budget.reserve(100)  # refused, and its reservation may have landed too
    client.lose = False
    clock.advance(1.0)
    totals = backend.budget_totals("gateway")
    assert (totals.spent, totals.reserved) == (300, 0)


def test_fail_open_uses_local_limits_warns_once_and_sends_the_spending_back(
    restartable: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    backend = RedisStateBackend(restartable.url, on_unavailable="fail_open", local_share=0.5, now=clock)
    budget = Budget(1_000, state=backend)
    budget.reserve(200).settle(200)
    spec = BucketSpec("k/rpm", 10, 1e-6)
    restartable.kill()
    with caplog.at_level(logging.WARNING, logger="omnillm"):
        # Half of what was left (800) may be spent locally: 400.
        spent_locally = [budget.reserve(100) for _ in range(4)]
        with pytest.raises(Exception, match="only 0"):
            budget.reserve(100)
        for reservation in spent_locally:
            reservation.settle(90)
        # Half of the 10 requests per minute, in this process alone.
        assert [backend.bucket_take([(spec, 1)], 0.0) for _ in range(6)].count(0.0) == 5
        outage = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(outage) == 1 and outage[0].levelno == logging.WARNING
        assert "fail_open" in outage[0].getMessage()
        restartable.start()
        clock.advance(1.0)
        assert budget.spent == 200 + 4 * 90
        assert budget.reserved == 0
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_a_frozen_server_costs_one_short_timeout_not_a_hang(restartable: RedisServer) -> None:
    clock = ManualClock()
    backend = RedisStateBackend(restartable.url, socket_timeout=0.1, now=clock)
    spec = BucketSpec("k/rpm", 100, 1.0)
    backend.bucket_take([(spec, 1)], 0.0)
    restartable.freeze()
    try:
        for _ in range(20):
            with pytest.raises(StateBackendError):
                backend.bucket_take([(spec, 1)], 0.0)
    finally:
        restartable.thaw()
    clock.advance(1.0)
    assert backend.bucket_take([(spec, 1)], 0.0) == 0.0


def test_concurrency_units_taken_before_an_outage_are_returned_after_it(restartable: RedisServer) -> None:
    clock = ManualClock()
    backend = RedisStateBackend(restartable.url, on_unavailable="fail_open", now=clock)
    slots = BucketSpec("k/concurrency", 2, 0.0)
    assert backend.bucket_take([(slots, 1)], 0.0) == 0.0
    restartable.kill()
    assert backend.bucket_take([(slots, 1)], 0.0) == 0.0  # local
    backend.bucket_put([(slots, 1)], 0.0)  # back to the local stand-in
    backend.bucket_put([(slots, 1)], 0.0)  # the Redis one: Redis is told when it answers
    restartable.start()
    clock.advance(1.0)
    assert backend.bucket_level(slots, 0.0) == 2.0


def test_threads_sharing_one_backend_never_overspend(make: Callable[..., RedisStateBackend]) -> None:
    backend = make()
    budget = Budget(5_000, state=backend)
    refused = []

    def worker() -> None:
        for _ in range(40):
            try:
                reservation = budget.reserve(100)
            except Exception:
                refused.append(1)
                continue
            reservation.settle(100)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert budget.spent == 5_000 and budget.reserved == 0
    assert len(refused) == 6 * 40 - 50


def test_reads_are_cached_briefly_and_a_refused_swap_drops_the_cache(make: Callable[..., RedisStateBackend]) -> None:
    clock = ManualClock()
    mine, theirs = make(now=clock), make()
    assert mine.breaker_swap("k", None, BreakerState())
    theirs.breaker_swap("k", theirs.breaker_get("k"), BreakerState(status="open", epoch=1))
    assert mine.breaker_get("k") == BreakerState()  # read less than read_cache_s ago
    assert not mine.breaker_swap("k", BreakerState(), BreakerState(epoch=9))  # the server compares, not the cache
    opened = mine.breaker_get("k")
    assert isinstance(opened, BreakerState) and opened.status == "open"
    theirs.breaker_swap("k", theirs.breaker_get("k"), BreakerState(epoch=2))
    assert mine.breaker_get("k") == opened
    clock.advance(0.06)
    assert mine.breaker_get("k") == BreakerState(epoch=2)
    uncached = make(read_cache_s=0)
    theirs.cooldown_set("k/cooldown", 30.0, 0.0)
    assert uncached.cooldown_remaining("k/cooldown", 0.0) > 20
    theirs.cooldown_clear("k/cooldown")
    assert uncached.cooldown_remaining("k/cooldown", 0.0) == 0.0


def test_bad_settings_are_configuration_errors(server: RedisServer) -> None:
    for kw in ({"on_unavailable": "fail_sometimes"}, {"local_share": 0}, {"socket_timeout": 0}, {"read_cache_s": -1}):
        with pytest.raises(ConfigurationError, match="RedisStateBackend"):
            RedisStateBackend(server.url, **kw)


def test_limits_may_fail_open_while_budgets_fail_closed(restartable: RedisServer) -> None:
    clock = ManualClock()
    backend = RedisStateBackend(
        restartable.url, on_unavailable="fail_open", budgets_on_unavailable="fail_closed", now=clock
    )
    spec = BucketSpec("k/rpm", 10, 1.0)
    restartable.kill()
    assert backend.bucket_take([(spec, 1)], 0.0) == 0.0
    with pytest.raises(StateBackendError, match="budget 'b'"):
        backend.budget_reserve("b", 1, 10, rid="r")
    status = backend.status()
    assert status["reachable"] is False and status["budgets_on_unavailable"] == "fail_closed"


def test_a_bucket_that_refills_over_ages_still_expires(
    make: Callable[..., RedisStateBackend], server: RedisServer
) -> None:
    backend = make()
    glacial = BucketSpec("k/tpm", 1e12, 1e-9)
    assert backend.bucket_take([(glacial, 1e11)], 0.0) == 0.0
    assert 0 < server.client().pttl(f"{backend.prefix}bucket:k/tpm") <= 31_536_000_000
