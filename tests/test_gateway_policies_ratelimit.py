"""KeyLimiter: request, token and concurrency buckets with a hand-driven clock; provider hints."""

from __future__ import annotations

import math
import threading

import pytest

from omnillm.errors import ConfigurationError
from omnillm.gateway import BucketSpec, InMemoryState, KeyConfig, KeyLimiter
from omnillm.ratelimit_info import RateLimitInfo


class FakeClock:
    """A monotonic clock moved by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def test_rpm_admits_a_burst_then_waits_for_refill() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", rpm=60, now=clock)
    permits = [limiter.try_acquire() for _ in range(60)]
    assert all(p is not None for p in permits)
    assert limiter.try_acquire() is None
    assert limiter.time_until_available() == pytest.approx(1.0)
    clock.advance(0.5)
    assert limiter.try_acquire() is None
    assert limiter.time_until_available() == pytest.approx(0.5)
    clock.advance(0.5)
    assert limiter.try_acquire() is not None


def test_waiting_exactly_the_time_asked_is_enough() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", rpm=7, tpm=1000, now=clock)
    while limiter.try_acquire(90) is not None:
        pass
    for _ in range(20):
        wait = limiter.time_until_available(90)
        assert wait > 0
        clock.advance(wait)
        assert limiter.try_acquire(90) is not None


def test_tpm_charges_the_estimate_then_corrects_with_actual_usage() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", tpm=1000, now=clock)
    permit = limiter.try_acquire(800)
    assert permit is not None
    assert limiter.try_acquire(300) is None
    assert limiter.time_until_available(300) == pytest.approx(100 / (1000 / 60))
    # The call used far fewer tokens than estimated: the difference comes back.
    assert permit.settle(200)
    assert limiter.try_acquire(300) is not None


def test_usage_above_the_estimate_puts_the_bucket_in_debt() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", tpm=600, now=clock)
    permit = limiter.try_acquire(100)
    assert permit is not None
    permit.settle(900)  # 300 over what the bucket held
    assert limiter.snapshot()["tokens_available"] == pytest.approx(-300)
    assert limiter.time_until_available(1) == pytest.approx(301 / 10)


def test_a_request_larger_than_tpm_runs_when_the_bucket_is_full() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", tpm=100, now=clock)
    assert limiter.time_until_available(5000) == 0.0
    big = limiter.try_acquire(5000)
    assert big is not None
    assert limiter.try_acquire(1) is None
    # It must wait until the debt is paid and the bucket is full again.
    assert limiter.time_until_available(5000) == pytest.approx((4900 + 100) / (100 / 60))


def test_release_refunds_tokens_but_not_the_sent_request() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", rpm=2, tpm=100, now=clock)
    first = limiter.try_acquire(100)
    assert first is not None
    assert first.release()  # failed after sending: tokens back, request still counted
    assert limiter.try_acquire(100) is not None
    assert limiter.try_acquire(0) is None  # both request units are used


def test_release_of_an_unsent_request_refunds_the_request_too() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", rpm=1, now=clock)
    permit = limiter.try_acquire()
    assert permit is not None
    assert permit.release(sent=False)
    assert limiter.try_acquire() is not None


def test_concurrency_cap_and_infinite_wait() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", max_concurrent=2, now=clock)
    a, b = limiter.try_acquire(), limiter.try_acquire()
    assert a is not None and b is not None
    assert limiter.in_flight == 2
    assert limiter.try_acquire() is None
    assert limiter.time_until_available() == math.inf
    clock.advance(3600)
    assert limiter.try_acquire() is None
    a.settle(0)
    assert limiter.in_flight == 1
    assert limiter.time_until_available() == 0.0
    assert limiter.try_acquire() is not None


def test_permit_finishes_once() -> None:
    limiter = KeyLimiter("k", max_concurrent=1, tpm=100, now=FakeClock())
    permit = limiter.try_acquire(50)
    assert permit is not None and permit.open
    assert permit.settle(10)
    assert not permit.open
    assert not permit.settle(10)
    assert not permit.release()
    assert limiter.in_flight == 0
    assert limiter.snapshot()["concurrency_available"] == 1


def test_permit_context_manager_releases_if_unsettled() -> None:
    limiter = KeyLimiter("k", max_concurrent=1, now=FakeClock())
    with pytest.raises(RuntimeError), limiter.try_acquire() as permit:  # type: ignore[union-attr]
        raise RuntimeError("call failed")
    assert not permit.open
    assert limiter.try_acquire() is not None


def test_cooldown_blocks_until_it_expires_and_keeps_the_longest() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", now=clock)
    limiter.cooldown(30)
    limiter.cooldown(5)
    assert limiter.try_acquire() is None
    assert limiter.time_until_available() == pytest.approx(30)
    clock.advance(30)
    assert limiter.try_acquire() is not None
    with pytest.raises(ConfigurationError):
        limiter.cooldown(-1)
    with pytest.raises(ConfigurationError):
        limiter.cooldown(math.nan)


def test_an_infinite_cooldown_lasts_until_reset() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", now=clock)
    limiter.cooldown(math.inf)
    clock.advance(10**9)
    assert limiter.try_acquire() is None
    assert limiter.time_until_available() == math.inf
    limiter.reset()
    assert limiter.try_acquire() is not None


def test_provider_hints_tighten_until_their_reset() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", rpm=1000, tpm=1_000_000, now=clock)
    limiter.observe(RateLimitInfo(remaining_requests=1, reset_requests_s=20, remaining_tokens=500, reset_tokens_s=10))
    assert limiter.try_acquire(600) is None  # the provider has only 500 tokens left
    assert limiter.time_until_available(600) == pytest.approx(10)
    assert limiter.try_acquire(400) is not None  # uses the last request
    assert limiter.try_acquire(1) is None
    assert limiter.time_until_available(1) == pytest.approx(20)
    clock.advance(20)
    assert limiter.try_acquire(600) is not None


def test_an_unsent_request_gives_its_provider_request_back() -> None:
    limiter = KeyLimiter("k", now=FakeClock())
    limiter.observe(RateLimitInfo(remaining_requests=1, reset_requests_s=30))
    permit = limiter.try_acquire()
    assert permit is not None and limiter.try_acquire() is None
    permit.release(sent=False)
    assert limiter.try_acquire() is not None


def test_provider_hint_without_reset_lasts_a_minute() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", now=clock)
    limiter.observe(RateLimitInfo(remaining_requests=0))
    assert limiter.time_until_available() == pytest.approx(60)
    limiter.reset()
    assert limiter.try_acquire() is not None


def test_settle_corrects_the_provider_token_hint() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", now=clock)
    limiter.observe(RateLimitInfo(remaining_tokens=1000, reset_tokens_s=60))
    permit = limiter.try_acquire(900)
    assert permit is not None
    assert limiter.try_acquire(500) is None
    permit.settle(100)
    assert limiter.try_acquire(500) is not None


def test_from_key_uses_label_and_limits() -> None:
    key = KeyConfig("openai", "sk-secret", label="prod", rpm=1, tpm=10, max_concurrent=5)
    limiter = KeyLimiter.from_key(key, now=FakeClock())
    assert limiter.name == "prod"
    assert limiter.try_acquire(5) is not None
    assert limiter.try_acquire(5) is None
    snapshot = limiter.snapshot()
    assert snapshot["key"] == "prod" and snapshot["requests_capacity"] == 1
    assert "sk-secret" not in repr(snapshot)


def test_limiters_sharing_a_state_backend_share_their_buckets() -> None:
    clock = FakeClock()
    state = InMemoryState()
    one = KeyLimiter("shared", rpm=2, state=state, now=clock)
    other = KeyLimiter("shared", rpm=2, state=state, now=clock)
    assert one.try_acquire() is not None
    assert other.try_acquire() is not None
    assert one.try_acquire() is None


def test_bad_token_counts_are_configuration_errors() -> None:
    limiter = KeyLimiter("k", now=FakeClock())
    with pytest.raises(ConfigurationError):
        limiter.try_acquire(-1)
    with pytest.raises(ConfigurationError):
        limiter.time_until_available(1.5)  # type: ignore[arg-type]
    permit = limiter.try_acquire(1)
    assert permit is not None
    with pytest.raises(ConfigurationError):
        permit.settle(-3)
    assert permit.open


def test_acquisition_is_atomic_under_threads() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", rpm=100, tpm=10_000, max_concurrent=1000, now=clock)
    got = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(50):
            permit = limiter.try_acquire(150)
            if permit is not None:
                with lock:
                    got.append(permit)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 10_000 tokens / 150 per request: exactly 66 fit, never one more.
    assert len(got) == 66
    assert limiter.in_flight == 66


def test_bucket_spec_validation() -> None:
    with pytest.raises(ConfigurationError):
        BucketSpec("b", 0, 1)
    with pytest.raises(ConfigurationError):
        BucketSpec("b", 1, -1)
    with pytest.raises(ConfigurationError):
        BucketSpec("b", math.inf, 1)


def test_in_flight_tokens_are_tracked_and_can_be_refunded() -> None:
    clock = FakeClock()
    limiter = KeyLimiter("k", tpm=1000, now=clock)
    first = limiter.try_acquire(300)
    second = limiter.try_acquire(200)
    assert first is not None and second is not None
    assert limiter.in_flight_tokens == 500
    first.settle(100)
    assert limiter.in_flight_tokens == 200
    limiter.refund_tokens(limiter.in_flight_tokens)  # what a forked child does for its parent's calls
    assert limiter.snapshot()["tokens_available"] == 1000 - 100
    second.release()
    assert limiter.in_flight_tokens == 0
