"""Circuit breakers: the state machine, growing cooldowns, probe bounds, ejection cap, classify."""

from __future__ import annotations

import threading

import pytest

from omnillm import errors
from omnillm.errors import ConfigurationError
from omnillm.gateway import (
    BreakerConfig,
    BreakerRegistry,
    CircuitBreaker,
    EjectionGuard,
    InMemoryState,
    Outcome,
    classify,
)


class FakeClock:
    """A monotonic clock moved by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        permit = breaker.acquire()
        assert permit is not None, breaker.snapshot()
        permit.failure()


def succeed(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        permit = breaker.acquire()
        assert permit is not None, breaker.snapshot()
        permit.success()


CONFIG = BreakerConfig(
    failure_threshold=3,
    min_calls=10,
    failure_rate=0.5,
    window_s=60,
    cooldown_s=10,
    cooldown_multiplier=2,
    max_cooldown_s=60,
)


def test_opens_after_consecutive_failures_and_refuses_calls() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("k", CONFIG, now=clock)
    fail(breaker, 2)
    assert breaker.status == "closed"
    succeed(breaker)
    fail(breaker, 2)
    assert breaker.status == "closed"  # the success reset the consecutive count
    fail(breaker)
    assert breaker.status == "open"
    assert breaker.acquire() is None
    assert not breaker.available()
    assert breaker.time_until_probe() == pytest.approx(10)
    assert "3 consecutive failures" in breaker.snapshot()["reason"]


def test_opens_on_failure_rate_with_minimum_calls() -> None:
    clock = FakeClock()
    config = BreakerConfig(failure_threshold=100, min_calls=10, failure_rate=0.5, window_s=60)
    breaker = CircuitBreaker("k", config, now=clock)
    for _ in range(4):
        succeed(breaker)
        fail(breaker)
    assert breaker.status == "closed"  # 4 of 8: under min_calls
    succeed(breaker)
    fail(breaker)
    assert breaker.status == "open"  # 5 of 10 = 50%


def test_failure_rate_window_slides() -> None:
    clock = FakeClock()
    config = BreakerConfig(failure_threshold=100, min_calls=4, failure_rate=0.5, window_s=60, window_buckets=6)
    breaker = CircuitBreaker("k", config, now=clock)
    fail(breaker)
    succeed(breaker)
    clock.advance(61)  # those two calls have left the window
    succeed(breaker, 2)
    fail(breaker)
    assert breaker.status == "closed"  # 1 of 3 in the window
    fail(breaker)
    assert breaker.status == "open"  # 2 of 4


def test_half_open_admits_a_bounded_number_of_probes() -> None:
    clock = FakeClock()
    config = BreakerConfig(failure_threshold=1, cooldown_s=5, half_open_probes=2)
    breaker = CircuitBreaker("k", config, now=clock)
    fail(breaker)
    clock.advance(5)
    assert breaker.available()
    first, second = breaker.acquire(), breaker.acquire()
    assert first is not None and first.probe and second is not None and second.probe
    assert breaker.status == "half_open"
    assert breaker.acquire() is None
    assert not breaker.available()
    second.neutral()  # a neutral probe frees its slot without deciding
    third = breaker.acquire()
    assert third is not None
    first.success()
    assert breaker.status == "closed"
    third.failure()  # a late probe result from the old epoch changes nothing
    assert breaker.status == "closed"


def test_probe_failure_reopens_with_growing_capped_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("k", CONFIG, now=clock)
    fail(breaker, 3)
    cooldowns = []
    for _ in range(5):
        cooldowns.append(breaker.snapshot()["cooldown_s"])
        clock.advance(breaker.time_until_probe())
        probe = breaker.acquire()
        assert probe is not None and probe.probe
        probe.failure()
        assert breaker.status == "open"
    assert cooldowns == [10, 20, 40, 60, 60]


def test_trips_soon_after_closing_keep_growing_but_reset_after_a_stable_period() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("k", CONFIG, now=clock)
    fail(breaker, 3)
    clock.advance(10)
    succeed(breaker)  # probe closes it
    assert breaker.status == "closed"
    fail(breaker, 3)  # flapping: trips again at once
    assert breaker.snapshot()["cooldown_s"] == 20
    clock.advance(20)
    succeed(breaker)
    clock.advance(61)  # closed longer than max_cooldown_s
    fail(breaker, 3)
    assert breaker.snapshot()["cooldown_s"] == 10


def test_results_from_calls_admitted_before_a_transition_are_ignored() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("k", BreakerConfig(failure_threshold=1, cooldown_s=5), now=clock)
    slow = breaker.acquire()
    assert slow is not None
    fail(breaker)
    assert breaker.status == "open"
    slow.success()  # started while closed: must not close the now-open breaker
    assert breaker.status == "open"


def test_a_permit_reports_once_and_the_context_manager_reports_neutral() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("k", BreakerConfig(failure_threshold=1, cooldown_s=1), now=clock)
    fail(breaker)
    clock.advance(1)
    with breaker.acquire() as probe:  # type: ignore[union-attr]
        assert probe.probe
    assert breaker.status == "half_open"
    again = breaker.acquire()  # the slot came back
    assert again is not None
    assert again.success()
    assert not again.failure()
    assert breaker.status == "closed"


def test_disable_until_reset() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("k", CONFIG, now=clock)
    permit = breaker.acquire()
    assert permit is not None
    permit.record(Outcome("disable"))
    assert breaker.status == "disabled"
    clock.advance(10**6)
    assert breaker.acquire() is None
    assert breaker.time_until_probe() == float("inf")
    breaker.reset()
    assert breaker.status == "closed"
    assert breaker.acquire() is not None


def test_rate_limited_and_neutral_outcomes_do_not_trip() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("k", BreakerConfig(failure_threshold=1), now=clock)
    for kind in ("rate_limited", "neutral", "rate_limited"):
        permit = breaker.acquire()
        assert permit is not None
        permit.record(Outcome(kind, retry_after=3.0))
    assert breaker.status == "closed"


# --------------------------------------------------------------------------- ejection cap


def test_ejection_cap_keeps_part_of_the_pool_in_service() -> None:
    clock = FakeClock()
    registry = BreakerRegistry(BreakerConfig(failure_threshold=2, cooldown_s=30), max_ejection_fraction=0.5, now=clock)
    breakers = [registry.for_key(f"k{i}") for i in range(4)]
    for breaker in breakers:
        fail(breaker, 2)
    statuses = [b.status for b in breakers]
    assert statuses.count("open") == 2, statuses
    assert statuses.count("closed") == 2
    guard = registry.guard("keys")
    assert guard is not None and guard.ejected == 2 and guard.cap == 2
    still_closed = [b for b in breakers if b.status == "closed"]
    assert "ejection cap" in still_closed[0].snapshot()["reason"]
    # A failure on a held-back breaker asks again once a slot is free.
    opened = [b for b in breakers if b.status == "open"]
    clock.advance(30)
    succeed(opened[0])
    assert opened[0].status == "closed"
    fail(still_closed[0])
    assert still_closed[0].status == "open"
    assert guard.ejected == 2


def test_disabled_keys_count_against_the_cap_but_are_never_refused() -> None:
    clock = FakeClock()
    registry = BreakerRegistry(BreakerConfig(failure_threshold=1), max_ejection_fraction=0.5, now=clock)
    a, b, c, d = (registry.for_key(x) for x in "abcd")
    a.disable()
    b.disable()
    c.disable()
    assert [x.status for x in (a, b, c)] == ["disabled"] * 3
    fail(d)
    assert d.status == "closed"  # the last working key is not ejected
    a.reset()
    guard = registry.guard()
    assert guard is not None and guard.ejected == 2


def test_min_ejections_lets_a_single_key_open() -> None:
    clock = FakeClock()
    alone = BreakerRegistry(BreakerConfig(failure_threshold=1), now=clock).for_key("only")
    fail(alone)
    assert alone.status == "open"
    guarded = BreakerRegistry(BreakerConfig(failure_threshold=1), min_ejections=0, now=clock).for_key("only")
    fail(guarded)
    assert guarded.status == "closed"


def test_per_model_breakers_have_their_own_pool() -> None:
    clock = FakeClock()
    registry = BreakerRegistry(BreakerConfig(failure_threshold=1), now=clock)
    key = registry.for_key("k1")
    model = registry.for_model("k1", "gpt-4o")
    assert registry.for_model("k1", "gpt-4o") is model
    fail(model)
    assert model.status == "open" and key.status == "closed"
    assert [s["name"] for s in registry.snapshot()] == ["k1", "k1/gpt-4o"]


def test_guard_validation() -> None:
    with pytest.raises(ConfigurationError):
        EjectionGuard("p", max_fraction=1.5)
    with pytest.raises(ConfigurationError):
        BreakerRegistry(min_ejections=-1)


def test_concurrent_failures_never_exceed_the_cap() -> None:
    clock = FakeClock()
    state = InMemoryState()
    registry = BreakerRegistry(BreakerConfig(failure_threshold=3), max_ejection_fraction=0.25, state=state, now=clock)
    breakers = [registry.for_key(f"k{i}") for i in range(8)]
    barrier = threading.Barrier(8)

    def worker(breaker: CircuitBreaker) -> None:
        barrier.wait()
        for _ in range(50):
            permit = breaker.acquire()
            if permit is not None:
                permit.failure()

    threads = [threading.Thread(target=worker, args=(b,)) for b in breakers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [b.status for b in breakers].count("open") == 2
    guard = registry.guard()
    assert guard is not None and guard.ejected == 2


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_threshold": 0},
        {"failure_rate": 0},
        {"failure_rate": 1.5},
        {"cooldown_s": -1},
        {"cooldown_multiplier": 0.5},
        {"max_cooldown_s": 1, "cooldown_s": 5},
        {"half_open_probes": 0},
        {"window_s": float("inf")},
    ],
)
def test_breaker_config_validation(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        BreakerConfig(**kwargs)


def test_cooldown_arithmetic_does_not_overflow() -> None:
    config = BreakerConfig(cooldown_s=1, cooldown_multiplier=10, max_cooldown_s=100)
    assert [config.cooldown_after(n) for n in (1, 2, 3, 4)] == [1, 10, 100, 100]
    assert config.cooldown_after(10_000) == 100


# --------------------------------------------------------------------------- classify


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (None, "success"),
        (errors.AuthenticationError("bad key", status=401), "disable"),
        (errors.PermissionDeniedError("no", status=403), "disable"),
        (errors.RateLimitError("slow down", status=429, retry_after=7.0), "rate_limited"),
        (errors.RateLimitError("quota", status=429, retryable=False), "disable"),
        (errors.OverloadedError("busy", status=529), "failure"),
        (errors.ServerError("boom", status=500), "failure"),
        (errors.TimeoutError("slow"), "failure"),
        (errors.ConnectionError("reset"), "failure"),
        (errors.InvalidRequestError("bad", status=400), "neutral"),
        (errors.ContextWindowExceededError("too long", status=400), "neutral"),
        (errors.ContentPolicyError("no", status=400), "neutral"),
        (errors.NotFoundError("no model", status=404), "neutral"),
        (errors.ProviderError("odd", status=503), "failure"),
        (errors.ProviderError("odd", status=408), "failure"),
        (errors.ProviderError("odd", status=429, retry_after=2.0), "rate_limited"),
        (errors.ProviderError("odd", status=401), "disable"),
        (errors.ProviderError("odd", status=409), "neutral"),
        (errors.ProviderError("no response", retryable=True), "failure"),
        (errors.ProviderStreamError("overloaded", protocol="anthropic_messages"), "failure"),
        (errors.ProviderStreamError("bad", status=400), "neutral"),
        (errors.TruncatedStreamError("cut", protocol="open_ai_responses"), "failure"),
        (errors.StreamInterruptedError("x", cause=errors.ServerError("boom", status=500)), "failure"),
        (errors.StreamInterruptedError("x", cause=errors.InvalidRequestError("bad")), "neutral"),
        (errors.DecodeError("open_ai_chat_completions", "choices", "not a list"), "failure"),
        (errors.CancelledError("stop"), "neutral"),
        (errors.BudgetExceededError("broke"), "neutral"),
        (TimeoutError(), "failure"),
        (OSError("socket"), "neutral"),
        (ValueError("bug"), "neutral"),
    ],
)
def test_classify(error: BaseException, kind: str) -> None:
    outcome = classify(error)
    assert outcome.kind == kind
    if kind == "rate_limited":
        assert outcome.retry_after == getattr(error, "retry_after", None)


def test_a_forked_state_frees_the_probe_slots_of_the_parents_calls() -> None:
    clock = FakeClock()
    state = InMemoryState()
    config = BreakerConfig(failure_threshold=1, cooldown_s=5.0, half_open_probes=1)
    parent = CircuitBreaker("k", config, state=state, now=clock)
    fail(parent)
    clock.advance(5.0)
    probe = parent.acquire()
    assert probe is not None and probe.probe and parent.acquire() is None, "the one probe slot is taken"
    child = CircuitBreaker("k", config, state=state.forked(), now=clock)
    assert child.status == "half_open"
    assert child.acquire() is not None, "the parent's probe never reports in the child: its slot is free there"
    assert parent.acquire() is None, "the parent's own view is unchanged"
