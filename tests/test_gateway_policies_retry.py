"""RetryPolicy: what is retried, full-jitter backoff with a seeded RNG, Retry-After, deadlines."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnillm import errors
from omnillm.errors import ConfigurationError
from omnillm.gateway import RetryPolicy


class FixedRandom:
    """A random source that always returns the same value."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def server_error(retry_after: float | None = None) -> errors.ServerError:
    return errors.ServerError("boom", status=500, retry_after=retry_after)


def test_backoff_ceiling_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=8)
    assert [policy.backoff_ceiling(n) for n in range(7)] == [0.5, 1, 2, 4, 8, 8, 8]
    assert policy.backoff_ceiling(10_000) == 8


def test_full_jitter_with_a_seeded_rng_is_reproducible_and_in_range() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay_s=1, max_delay_s=30)
    first = [policy.backoff(n, random.Random(42)) for n in range(8)]
    again = [policy.backoff(n, random.Random(42)) for n in range(8)]
    assert first == again
    expected = [random.Random(42).random() * min(30, 2**n) for n in range(8)]
    assert first == expected
    rng = random.Random(7)
    for n in range(8):
        for _ in range(200):
            assert 0 <= policy.backoff(n, rng) <= min(30, 2**n)


def test_full_jitter_spreads_over_the_whole_range() -> None:
    rng = random.Random(1)
    samples = [RetryPolicy(base_delay_s=1, max_delay_s=4).backoff(2, rng) for _ in range(2000)]
    assert min(samples) < 0.2 and max(samples) > 3.8


def test_decide_retries_retryable_errors_with_the_jittered_delay() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay_s=1, max_delay_s=10)
    decision = policy.decide(server_error(), attempts=1, elapsed_s=0, rng=FixedRandom(0.5))
    assert decision.retry and decision.delay_s == 0.5
    decision = policy.decide(server_error(), attempts=2, elapsed_s=1, rng=FixedRandom(0.5))
    assert decision.retry and decision.delay_s == 1.0
    decision = policy.decide(server_error(), attempts=3, elapsed_s=2, rng=FixedRandom(0.5))
    assert not decision.retry and "3 of 3 attempts" in decision.reason


@pytest.mark.parametrize(
    "error",
    [
        errors.InvalidRequestError("bad", status=400),
        errors.AuthenticationError("bad key", status=401),
        errors.RateLimitError("quota", status=429, retryable=False),
        errors.StreamInterruptedError("mid-stream", cause=errors.ServerError("boom")),
        errors.CancelledError("stop"),
        ValueError("bug"),
    ],
)
def test_non_retryable_errors_stop_at_once(error: BaseException) -> None:
    decision = RetryPolicy(max_attempts=5).decide(error, attempts=1, elapsed_s=0, rng=FixedRandom(0))
    assert not decision.retry
    assert type(error).__name__ in decision.reason


@pytest.mark.parametrize(
    "error",
    [
        errors.RateLimitError("slow", status=429),
        errors.OverloadedError("busy", status=529),
        errors.TimeoutError("slow"),
        errors.ConnectionError("reset"),
        errors.ProviderError("forced", status=400, retryable=True),
    ],
)
def test_retryable_errors(error: errors.ProviderError) -> None:
    assert RetryPolicy().decide(error, attempts=1, elapsed_s=0, rng=FixedRandom(0)).retry


def test_retry_after_is_used_when_larger_than_the_backoff() -> None:
    policy = RetryPolicy(base_delay_s=1, max_delay_s=8)
    decision = policy.decide(server_error(retry_after=5), attempts=1, elapsed_s=0, rng=FixedRandom(0.9))
    assert decision.retry and decision.delay_s == 5
    decision = policy.decide(server_error(retry_after=0.1), attempts=1, elapsed_s=0, rng=FixedRandom(0.9))
    assert decision.retry and decision.delay_s == pytest.approx(0.9)


def test_retry_after_beyond_the_deadline_gives_up() -> None:
    policy = RetryPolicy(max_attempts=5, deadline_s=30)
    decision = policy.decide(server_error(retry_after=25), attempts=1, elapsed_s=10, rng=FixedRandom(0))
    assert not decision.retry
    assert "20s left" in decision.reason
    assert policy.decide(server_error(retry_after=19), attempts=1, elapsed_s=10, rng=FixedRandom(0)).retry


def test_backoff_beyond_the_deadline_gives_up() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay_s=4, max_delay_s=4, deadline_s=10)
    assert not policy.decide(server_error(), attempts=1, elapsed_s=7, rng=FixedRandom(1.0)).retry
    assert policy.decide(server_error(), attempts=1, elapsed_s=5, rng=FixedRandom(1.0)).retry
    assert policy.remaining_s(12) == 0.0
    assert RetryPolicy().remaining_s(1e9) is None


def test_max_retry_after_caps_what_is_honoured() -> None:
    policy = RetryPolicy(max_retry_after_s=60)
    assert not policy.decide(server_error(retry_after=120), attempts=1, elapsed_s=0, rng=FixedRandom(0)).retry
    assert policy.decide(server_error(retry_after=60), attempts=1, elapsed_s=0, rng=FixedRandom(0)).retry


def test_an_infinite_retry_after_gives_up() -> None:
    decision = RetryPolicy().decide(server_error(retry_after=math.inf), attempts=1, elapsed_s=0, rng=FixedRandom(0))
    assert not decision.retry and "unbounded" in decision.reason


def test_none_never_retries() -> None:
    assert not RetryPolicy.none().decide(server_error(), attempts=1, elapsed_s=0).retry


def test_default_rng_is_the_random_module() -> None:
    decision = RetryPolicy(base_delay_s=1, max_delay_s=1).decide(server_error(), attempts=1, elapsed_s=0)
    assert decision.retry and 0 <= decision.delay_s <= 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": 2.5},
        {"base_delay_s": -1},
        {"max_delay_s": float("nan")},
        {"deadline_s": 0},
        {"max_retry_after_s": -3},
    ],
)
def test_policy_validation(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**kwargs)


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy().decide(server_error(), attempts=0, elapsed_s=0)


@given(
    st.integers(1, 10),
    st.floats(0, 100),
    st.one_of(st.none(), st.floats(0, 100)),
    st.floats(0, 1, exclude_max=True),
)
def test_a_retry_always_fits_the_deadline(attempts: int, elapsed: float, retry_after: float | None, u: float) -> None:
    policy = RetryPolicy(max_attempts=10, base_delay_s=0.5, max_delay_s=8, deadline_s=60)
    decision = policy.decide(server_error(retry_after), attempts=attempts, elapsed_s=elapsed, rng=FixedRandom(u))
    if decision.retry:
        assert elapsed + decision.delay_s < 60
        assert decision.delay_s >= (retry_after or 0)
        assert decision.delay_s <= max(8, retry_after or 0)
