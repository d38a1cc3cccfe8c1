"""Per-key rate limiting: requests per minute, tokens per minute, calls in flight, provider hints.

A `KeyLimiter` answers two questions for one key: *when could it take a request of N
tokens* (`KeyLimiter.time_until_available`) and *take it now, atomically, or say no*
(`KeyLimiter.try_acquire`, which returns a `Permit`). Three token buckets live in the
`StateBackend`: requests (capacity ``rpm``, refilled at ``rpm/60`` per second), tokens
(capacity ``tpm``, refilled at ``tpm/60``) and concurrency (capacity ``max_concurrent``,
never refilled by time: a finished call gives its unit back). One all-or-nothing
``bucket_take`` over the three makes acquisition atomic.

Tokens are charged with the request's estimate before the call; the `Permit` corrects
the token bucket with the actual usage afterwards (a refund, or an extra charge that may
leave the bucket in debt, which later requests wait out). A request estimated at more
tokens than the whole ``tpm`` is admitted when the bucket is full, leaving it in debt,
rather than never.

Provider hints tighten this local view, never loosen it: `KeyLimiter.observe` takes the
`RateLimitInfo` parsed from a response (remaining requests and tokens until a reset),
and `KeyLimiter.cooldown` takes a 429's Retry-After. The remaining counts are kept per
process, since they describe this process's last response; a cooldown lives in the
`StateBackend` (entry ``<name>/cooldown``), since a 429 says the key is exhausted for
every process that shares it.
"""

from __future__ import annotations

import math
import threading
import time
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

from ..errors import ConfigurationError
from ..ratelimit_info import RateLimitInfo
from .keys import KeyConfig
from .state import BucketSpec, InMemoryState, StateBackend

Clock = Callable[[], float]

# How long a provider's "remaining" count is trusted when it gave no reset time: the
# providers that send these headers count per minute.
_DEFAULT_HINT_S = 60.0


def _check_tokens(name: str, tokens: int) -> None:
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
        raise ConfigurationError(f"rate limiter {name!r}: tokens must be a non-negative integer, not {tokens!r}")


class _Hint:
    """A provider-reported count that is valid until ``until`` (monotonic seconds)."""

    __slots__ = ("remaining", "until")

    def __init__(self, remaining: float, until: float) -> None:
        self.remaining = remaining
        self.until = until


class Permit:
    """Capacity taken from a `KeyLimiter` for one call: settle it with actual usage, or release it.

    Exactly one of `settle` and `release` takes effect; any later call is a no-op that
    returns False. Used as a context manager, a permit still open at the end of the
    block is released (as sent).
    """

    def __init__(self, limiter: KeyLimiter, tokens: int) -> None:
        self._limiter = limiter
        # Exactly-once without a lock per permit: list.pop is atomic, so only one of
        # several racing settle/release calls gets the token.
        self._token = [True]
        self.tokens = tokens
        """The estimated tokens charged at acquisition."""

    @property
    def open(self) -> bool:
        """True until the permit is settled or released."""
        return bool(self._token)

    def _close(self) -> bool:
        try:
            self._token.pop()
        except IndexError:
            return False
        return True

    def settle(self, actual_tokens: int) -> bool:
        """The call ran and used ``actual_tokens``: correct the token charge and free the slot."""
        _check_tokens(self._limiter.name, actual_tokens)
        if not self._close():
            return False
        self._limiter._finish(self.tokens - actual_tokens, refund_request=False, charged=self.tokens)
        return True

    def release(self, *, sent: bool = True) -> bool:
        """The call used no tokens: refund them and free the slot.

        ``sent=False`` says the request never reached the provider, so its request unit
        is refunded too; a request that was sent and failed still counted against the
        provider's request limit.
        """
        if not self._close():
            return False
        self._limiter._finish(self.tokens, refund_request=not sent, charged=self.tokens)
        return True

    def __enter__(self) -> Permit:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "open" if self._token else "closed"
        return f"Permit(key={self._limiter.name!r}, tokens={self.tokens}, {state})"


class KeyLimiter:
    """The request, token and concurrency limits of one key, plus what its provider reported.

    ``name`` identifies the key in the state backend (use the key's label); ``rpm``,
    ``tpm`` and ``max_concurrent`` None mean unlimited locally. ``now`` is the monotonic
    clock (injected so tests drive time by hand). Thread-safe.
    """

    def __init__(
        self,
        name: str,
        *,
        rpm: Optional[int] = None,
        tpm: Optional[int] = None,
        max_concurrent: Optional[int] = None,
        state: Optional[StateBackend] = None,
        now: Clock = time.monotonic,
    ) -> None:
        self.name = name
        self._now = now
        self._state: StateBackend = InMemoryState() if state is None else state
        self._requests = None if rpm is None else BucketSpec(f"{name}/rpm", float(rpm), rpm / 60.0)
        self._tokens = None if tpm is None else BucketSpec(f"{name}/tpm", float(tpm), tpm / 60.0)
        self._slots = None if max_concurrent is None else BucketSpec(f"{name}/concurrency", float(max_concurrent), 0.0)
        self._lock = threading.Lock()
        self._cooldown_name = f"{name}/cooldown"
        self._request_hint: Optional[_Hint] = None
        self._token_hint: Optional[_Hint] = None
        self._in_flight = 0
        self._in_flight_tokens = 0

    @classmethod
    def from_key(
        cls, key: KeyConfig, *, state: Optional[StateBackend] = None, now: Clock = time.monotonic
    ) -> KeyLimiter:
        """A limiter with ``key``'s label and limits."""
        return cls(key.label, rpm=key.rpm, tpm=key.tpm, max_concurrent=key.max_concurrent, state=state, now=now)

    # ------------------------------------------------------------------ queries

    @property
    def in_flight(self) -> int:
        """Calls holding an open permit from this limiter (in this process)."""
        return self._in_flight

    @property
    def in_flight_tokens(self) -> int:
        """Tokens charged to the token bucket by the calls still in flight (their estimates)."""
        return self._in_flight_tokens

    def refund_tokens(self, tokens: int) -> None:
        """Give ``tokens`` back to the token bucket (a forked child refunds its parent's calls in flight)."""
        _check_tokens(self.name, tokens)
        if self._tokens is not None and tokens > 0:
            self._state.bucket_put([(self._tokens, float(tokens))], self._now())

    def _takes(self, tokens: int) -> List[Tuple[BucketSpec, float]]:
        takes: List[Tuple[BucketSpec, float]] = []
        if self._requests is not None:
            takes.append((self._requests, 1.0))
        if self._tokens is not None and tokens > 0:
            takes.append((self._tokens, float(tokens)))
        if self._slots is not None:
            takes.append((self._slots, 1.0))
        return takes

    def _hint_wait(self, now: float, tokens: int) -> float:
        wait = self._state.cooldown_remaining(self._cooldown_name, now)
        hint = self._request_hint
        if hint is not None and now < hint.until and hint.remaining < 1:
            wait = max(wait, hint.until - now)
        hint = self._token_hint
        if hint is not None and now < hint.until and tokens > 0 and hint.remaining < tokens:
            wait = max(wait, hint.until - now)
        return wait

    def time_until_available(self, tokens: int = 0) -> float:
        """Seconds until a request estimated at ``tokens`` could be admitted (0.0: now).

        ``math.inf`` means time alone will not free the key: every concurrency slot is
        taken, and only a call finishing gives one back.
        """
        _check_tokens(self.name, tokens)
        now = self._now()
        with self._lock:
            wait = self._hint_wait(now, tokens)
        return max(wait, self._state.bucket_wait(self._takes(tokens), now))

    # ------------------------------------------------------------------ acquisition

    def try_acquire(self, tokens: int = 0) -> Optional[Permit]:
        """Take capacity for one request of ``tokens`` (estimated) now, or return None.

        The check and the take happen atomically: two threads can never both take the last
        unit.
        """
        _check_tokens(self.name, tokens)
        now = self._now()
        takes = self._takes(tokens)
        with self._lock:
            if self._hint_wait(now, tokens) > 0:
                return None
            if takes and self._state.bucket_take(takes, now) > 0:  # no local limit: no bucket to take from
                return None
            for hint, amount in ((self._request_hint, 1), (self._token_hint, tokens)):
                if hint is not None and now < hint.until:
                    hint.remaining -= amount
            self._in_flight += 1
            self._in_flight_tokens += tokens
        return Permit(self, tokens)

    def _finish(self, token_refund: int, *, refund_request: bool, charged: int = 0) -> None:
        now = self._now()
        puts: List[Tuple[BucketSpec, float]] = []
        if self._tokens is not None and token_refund != 0:
            # Positive: the estimate was too high (or nothing ran); negative: an extra charge.
            puts.append((self._tokens, float(token_refund)))
        if refund_request and self._requests is not None:
            puts.append((self._requests, 1.0))
        if self._slots is not None:
            puts.append((self._slots, 1.0))
        with self._lock:
            if puts:
                self._state.bucket_put(puts, now)
            hint = self._token_hint
            if hint is not None and now < hint.until:
                hint.remaining += token_refund
            hint = self._request_hint
            if refund_request and hint is not None and now < hint.until:
                hint.remaining += 1
            self._in_flight -= 1
            self._in_flight_tokens -= charged

    # ------------------------------------------------------------------ provider hints

    def cooldown(self, seconds: float) -> None:
        """Admit nothing for ``seconds`` (a 429's Retry-After); a longer cooldown in force stays.

        ``math.inf`` (a Retry-After too large to represent) lasts until `reset`.
        """
        if math.isnan(seconds) or seconds < 0:
            raise ConfigurationError(f"rate limiter {self.name!r}: cooldown must be a non-negative number")
        self._state.cooldown_set(self._cooldown_name, seconds, self._now())

    def observe(self, info: RateLimitInfo) -> None:
        """Take in the provider's view after a response: it can only make the key stricter.

        A remaining count is trusted until its reset time (60 s when none was given).
        """
        now = self._now()
        with self._lock:
            if info.remaining_requests is not None:
                reset = _DEFAULT_HINT_S if info.reset_requests_s is None else info.reset_requests_s
                self._request_hint = _Hint(float(info.remaining_requests), now + reset)
            if info.remaining_tokens is not None:
                reset = _DEFAULT_HINT_S if info.reset_tokens_s is None else info.reset_tokens_s
                self._token_hint = _Hint(float(info.remaining_tokens), now + reset)

    def reset(self) -> None:
        """Forget provider hints and any cooldown (the buckets keep their levels)."""
        self._state.cooldown_clear(self._cooldown_name)
        with self._lock:
            self._request_hint = None
            self._token_hint = None

    def snapshot(self) -> Dict[str, Any]:
        """Current levels and hints, for status pages (plain data, no secret)."""
        now = self._now()
        out: Dict[str, Any] = {"key": self.name, "in_flight": self._in_flight}
        for label, spec in (("requests", self._requests), ("tokens", self._tokens), ("concurrency", self._slots)):
            if spec is not None:
                out[f"{label}_available"] = self._state.bucket_level(spec, now)
                out[f"{label}_capacity"] = spec.capacity
        with self._lock:
            out["cooldown_s"] = self._state.cooldown_remaining(self._cooldown_name, now)
            for label, hint in (("requests", self._request_hint), ("tokens", self._token_hint)):
                if hint is not None and now < hint.until:
                    out[f"provider_remaining_{label}"] = hint.remaining
                    out[f"provider_reset_{label}_s"] = hint.until - now
        return out


__all__ = ["KeyLimiter", "Permit"]
