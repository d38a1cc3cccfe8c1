"""Retries: whether to try a failed call again, and after how long.

`RetryPolicy` is a value in the style of urllib3's ``Retry``: configuration plus the
arithmetic, no I/O and no sleeping. The caller keeps the count of attempts made and
the time spent, and asks `RetryPolicy.decide` after each failure; the answer is a
`RetryDecision` saying whether to retry and after what delay, or why not.

Rules, in order:

1. Only retryable errors are retried: `omnillm.errors.ProviderError` with
   ``retryable`` true (429 except an exhausted quota, 5xx, 529, timeouts, broken
   connections). A stream that has already delivered output is never retried
   (`omnillm.errors.StreamInterruptedError` is not a ProviderError).
2. At most ``max_attempts`` attempts in all (the first call included).
3. The delay is exponential backoff with full jitter: a uniform random value in
   ``[0, min(max_delay_s, base_delay_s * 2**n)]`` for the n-th retry (n from 0), the
   random source injected.
4. A Retry-After from the provider (``error.retry_after``) is honoured: the delay is the
   larger of it and the backoff. A Retry-After longer than ``max_retry_after_s``, or
   infinite (a header value too large to represent), gives up.
5. With an overall ``deadline_s``, a retry whose delay would end at or after the deadline
   gives up instead of sleeping past it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Optional, Protocol

from ..errors import ConfigurationError, ProviderError


class RandomSource(Protocol):
    """What `RetryPolicy` needs from a random generator (`random.Random` is one)."""

    def random(self) -> float:
        """A float uniformly distributed in [0, 1)."""
        ...


@dataclass(frozen=True)
class RetryDecision:
    """The answer of `RetryPolicy.decide`: retry after ``delay_s`` seconds, or stop and why."""

    retry: bool
    delay_s: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts, exponential backoff with full jitter, Retry-After, an overall deadline.

    ``max_attempts`` counts every attempt (1 disables retries); ``base_delay_s`` and
    ``max_delay_s`` shape the backoff; ``deadline_s`` bounds the whole operation from the
    first attempt (None: no deadline); ``max_retry_after_s`` is the longest Retry-After
    the policy will wait for (None: any that fits the deadline).
    """

    max_attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    deadline_s: Optional[float] = None
    max_retry_after_s: Optional[float] = None

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ConfigurationError(f"RetryPolicy: max_attempts must be a positive integer, not {self.max_attempts!r}")
        for name in ("base_delay_s", "max_delay_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ConfigurationError(f"RetryPolicy: {name} must be a non-negative number, not {value!r}")
        for name in ("deadline_s", "max_retry_after_s"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigurationError(f"RetryPolicy: {name} must be a positive number or None, not {value!r}")

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def backoff_ceiling(self, retry_number: int) -> float:
        """The upper end of the jitter range before the ``retry_number``-th retry (0 = the first)."""
        if retry_number < 0:
            raise ConfigurationError(f"RetryPolicy: retry_number must be >= 0, not {retry_number!r}")
        if self.base_delay_s == 0:
            return 0.0
        # 2**n overflows float quickly; past the cap the answer is the cap anyway.
        if retry_number >= 64 or self.base_delay_s * 2.0**retry_number >= self.max_delay_s:
            return float(self.max_delay_s)
        return float(self.base_delay_s * 2.0**retry_number)

    def backoff(self, retry_number: int, rng: RandomSource) -> float:
        """A full-jitter delay before the ``retry_number``-th retry: uniform in [0, ceiling]."""
        return rng.random() * self.backoff_ceiling(retry_number)

    def remaining_s(self, elapsed_s: float) -> Optional[float]:
        """Seconds left before the deadline after ``elapsed_s`` (None: no deadline)."""
        if self.deadline_s is None:
            return None
        return max(0.0, self.deadline_s - elapsed_s)

    def decide(
        self,
        error: BaseException,
        *,
        attempts: int,
        elapsed_s: float,
        rng: Optional[RandomSource] = None,
    ) -> RetryDecision:
        """Whether to retry after ``error``, ``attempts`` having been made in ``elapsed_s`` seconds.

        ``rng`` supplies the jitter (a `random.Random` works; None uses the module's
        generator).
        """
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ConfigurationError(f"RetryPolicy: attempts must be a positive integer, not {attempts!r}")
        if not isinstance(error, ProviderError):
            return RetryDecision(False, reason=f"{type(error).__name__} is not a provider error")
        if not error.retryable:
            return RetryDecision(False, reason=f"{type(error).__name__} is not retryable")
        if attempts >= self.max_attempts:
            return RetryDecision(False, reason=f"{attempts} of {self.max_attempts} attempts made")
        source: RandomSource = random if rng is None else rng
        delay = self.backoff(attempts - 1, source)
        retry_after = error.retry_after
        if retry_after is not None and not math.isnan(retry_after) and retry_after > 0:
            if math.isinf(retry_after):
                return RetryDecision(False, reason="the provider asked for an unbounded wait")
            if self.max_retry_after_s is not None and retry_after > self.max_retry_after_s:
                return RetryDecision(
                    False, reason=f"Retry-After {retry_after:g}s exceeds the {self.max_retry_after_s:g}s allowed"
                )
            delay = max(delay, retry_after)
        remaining = self.remaining_s(elapsed_s)
        if remaining is not None and delay >= remaining:
            return RetryDecision(
                False, delay_s=delay, reason=f"a {delay:.3g}s wait does not fit the {remaining:.3g}s left"
            )
        return RetryDecision(True, delay_s=delay, reason=f"retry {attempts} of {self.max_attempts - 1}")


__all__ = ["RandomSource", "RetryDecision", "RetryPolicy"]
