"""Circuit breaking: stop sending calls to a key (or a key's model) that keeps failing.

A `CircuitBreaker` moves through four states:

* ``closed``: calls flow; it opens after ``failure_threshold`` consecutive failures, or
  when the failure rate over the last ``window_s`` seconds reaches ``failure_rate`` with
  at least ``min_calls`` calls in that window;
* ``open``: nothing is admitted for a cooldown, which starts at ``cooldown_s`` and is
  multiplied by ``cooldown_multiplier`` on every further trip (capped at
  ``max_cooldown_s``); the trip count starts over once the breaker has stayed closed for
  ``max_cooldown_s``;
* ``half_open``: after the cooldown, at most ``half_open_probes`` calls are admitted at
  once as probes; a successful probe closes the breaker, a failed one opens it again
  (with the longer cooldown), a neutral one frees its probe slot;
* ``disabled``: the key's credentials were rejected (401/403); nothing is admitted until
  `CircuitBreaker.reset` is called by the user.

Calls report back through the `BreakerPermit` that admitted them; a result from a call
admitted before the last state change is ignored (a slow call started while closed
must not close a breaker that has opened since).

Like outlier ejection in service proxies, breakers in one *pool* share an
`EjectionGuard`: when opening one more breaker would put more than ``max_fraction`` of
the pool out of service (never fewer than ``min_ejections``), the failure is counted but
the breaker stays closed, so that a provider-wide blip cannot eject every key. Disabled
breakers count as ejected but are never refused.

`classify` maps an exception to the `Outcome` the gateway reports: success, failure,
rate_limited (with Retry-After: a cooldown on the key's limiter, not a breaker failure),
disable, or neutral (the request's own fault: does not trip anything).

State lives in a `StateBackend` as immutable `BreakerState` records updated with
compare-and-set loops, so that concurrent results never lose an update. When the backend
is shared between processes it also provides the clock the records are stamped with
(`StateBackend.shared_clock`), since each process's monotonic clock means nothing to the
others.
"""

from __future__ import annotations

import builtins
import math
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

from .. import errors
from ..errors import ConfigurationError
from .state import InMemoryState, StateBackend

Clock = Callable[[], float]

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"
DISABLED = "disabled"

SUCCESS = "success"
FAILURE = "failure"
RATE_LIMITED = "rate_limited"
DISABLE = "disable"
NEUTRAL = "neutral"


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Outcome:
    """What a call's result means for the key: one of the five kinds, with a Retry-After if any.

    ``kind`` is ``success``, ``failure`` (counts toward opening the breaker),
    ``rate_limited`` (cool the key down for ``retry_after`` seconds, when known),
    ``disable`` (the credentials are bad: take the key out until reset) or ``neutral``
    (the request's own fault, or no verdict: changes nothing).
    """

    kind: str
    retry_after: Optional[float] = None
    reason: str = ""


def classify(error: Optional[BaseException]) -> Outcome:
    """The `Outcome` of a call that raised ``error`` (None: it succeeded)."""
    if error is None:
        return Outcome(SUCCESS)
    name = type(error).__name__
    if isinstance(error, errors.StreamInterruptedError):
        return classify(error.cause) if error.cause is not None else Outcome(FAILURE, reason=name)
    if isinstance(error, (errors.AuthenticationError, errors.PermissionDeniedError)):
        return Outcome(DISABLE, reason=name)
    if isinstance(error, errors.RateLimitError):
        # A non-retryable 429 is an exhausted quota or billing problem: the key is done.
        if not error.retryable:
            return Outcome(DISABLE, reason=f"{name} (quota exhausted)")
        return Outcome(RATE_LIMITED, retry_after=error.retry_after, reason=name)
    if isinstance(error, (errors.OverloadedError, errors.ServerError, errors.TimeoutError, errors.ConnectionError)):
        return Outcome(FAILURE, reason=name)
    if isinstance(error, (errors.InvalidRequestError, errors.NotFoundError, errors.ResponseTooLargeError)):
        return Outcome(NEUTRAL, reason=name)
    if isinstance(error, errors.ProviderError):
        return _classify_status(error.status, error.retryable, error.retry_after, name)
    if isinstance(error, errors.ProviderStreamError):
        return _classify_status(error.status, error.status is None, None, name)
    if isinstance(error, (errors.TruncatedStreamError, errors.DecodeError)):
        # The provider broke the connection or sent something unreadable: its fault.
        return Outcome(FAILURE, reason=name)
    if isinstance(error, (builtins.TimeoutError, builtins.ConnectionError)):
        return Outcome(FAILURE, reason=name)
    # Cancellation, budget refusals, encoding errors, bugs: not the key's fault.
    return Outcome(NEUTRAL, reason=name)


def _classify_status(status: Optional[int], retryable: bool, retry_after: Optional[float], name: str) -> Outcome:
    if status is None:
        return Outcome(FAILURE if retryable else NEUTRAL, reason=name)
    if status in (401, 403):
        return Outcome(DISABLE, reason=f"{name} (HTTP {status})")
    if status == 429:
        return Outcome(RATE_LIMITED, retry_after=retry_after, reason=f"{name} (HTTP 429)")
    if status == 408 or status >= 500:
        return Outcome(FAILURE, reason=f"{name} (HTTP {status})")
    return Outcome(NEUTRAL, reason=f"{name} (HTTP {status})")


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class BreakerConfig:
    """Thresholds and timings of a `CircuitBreaker` (seconds; see the module docstring)."""

    failure_threshold: int = 5
    failure_rate: float = 0.5
    window_s: float = 60.0
    min_calls: int = 20
    cooldown_s: float = 5.0
    cooldown_multiplier: float = 2.0
    max_cooldown_s: float = 300.0
    half_open_probes: int = 1
    window_buckets: int = 10

    def __post_init__(self) -> None:
        def positive_int(name: str, value: int) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"BreakerConfig: {name} must be a positive integer, not {value!r}")

        def positive(name: str, value: float) -> None:
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigurationError(f"BreakerConfig: {name} must be a positive number, not {value!r}")

        positive_int("failure_threshold", self.failure_threshold)
        positive_int("min_calls", self.min_calls)
        positive_int("half_open_probes", self.half_open_probes)
        positive_int("window_buckets", self.window_buckets)
        positive("window_s", self.window_s)
        positive("cooldown_s", self.cooldown_s)
        positive("max_cooldown_s", self.max_cooldown_s)
        if not (0.0 < self.failure_rate <= 1.0):
            raise ConfigurationError(f"BreakerConfig: failure_rate must be in (0, 1], not {self.failure_rate!r}")
        if not (math.isfinite(self.cooldown_multiplier) and self.cooldown_multiplier >= 1.0):
            raise ConfigurationError(
                f"BreakerConfig: cooldown_multiplier must be >= 1, not {self.cooldown_multiplier!r}"
            )
        if self.max_cooldown_s < self.cooldown_s:
            raise ConfigurationError("BreakerConfig: max_cooldown_s must be at least cooldown_s")

    def cooldown_after(self, trips: int) -> float:
        """The open-state cooldown after the ``trips``-th trip in a row (1 = the first)."""
        try:
            value = self.cooldown_s * self.cooldown_multiplier ** max(0, trips - 1)
        except OverflowError:
            return self.max_cooldown_s
        return min(self.max_cooldown_s, value)


# --------------------------------------------------------------------------- state record


@dataclass(frozen=True)
class BreakerState:
    """One breaker's state, as stored in the backend: an immutable record replaced by CAS.

    ``epoch`` increases at every state change; ``window`` holds (bucket index, successes,
    failures) for the sliding window; ``ejected`` says whether the breaker holds a slot of
    its pool's `EjectionGuard`.
    """

    status: str = CLOSED
    epoch: int = 0
    consecutive_failures: int = 0
    window: Tuple[Tuple[int, int, int], ...] = ()
    trips: int = 0
    opened_at: float = 0.0
    cooldown_s: float = 0.0
    closed_at: float = -math.inf
    probes: int = 0
    ejected: bool = False
    reason: str = ""


def _evolve(state: BreakerState, **changes: Any) -> BreakerState:
    """``state`` with ``changes``: `dataclasses.replace` without its per-call field introspection.

    Breakers record every call's outcome, so this sits on the gateway's hot path.
    """
    new = object.__new__(BreakerState)
    values = dict(state.__dict__)
    values.update(changes)
    object.__setattr__(new, "__dict__", values)
    return new


def _windowed(window: Tuple[Tuple[int, int, int], ...], index: int, buckets: int) -> Tuple[Tuple[int, int, int], ...]:
    # Entries are kept in bucket order: when the oldest is still inside, nothing expires.
    if not window or window[0][0] > index - buckets:
        return window
    return tuple(entry for entry in window if entry[0] > index - buckets)


def _add(window: Tuple[Tuple[int, int, int], ...], index: int, ok: bool) -> Tuple[Tuple[int, int, int], ...]:
    if window and window[-1][0] == index:
        _, good, bad = window[-1]
        return (*window[:-1], (index, good + ok, bad + (not ok)))
    return (*window, (index, int(ok), int(not ok)))


# --------------------------------------------------------------------------- ejection guard


class EjectionGuard:
    """Caps how many breakers of one pool may be out of service (open, half-open, disabled) at once.

    The cap is ``max(min_ejections, floor(max_fraction * members))``. Slots are counted in
    the state backend (``slot_*``) under the pool's name.
    """

    def __init__(
        self,
        pool: str,
        *,
        max_fraction: float = 0.5,
        min_ejections: int = 1,
        state: Optional[StateBackend] = None,
    ) -> None:
        if not (0.0 <= max_fraction <= 1.0):
            raise ConfigurationError(f"EjectionGuard: max_fraction must be in [0, 1], not {max_fraction!r}")
        if isinstance(min_ejections, bool) or not isinstance(min_ejections, int) or min_ejections < 0:
            raise ConfigurationError(f"EjectionGuard: min_ejections must be >= 0, not {min_ejections!r}")
        self.pool = pool
        self.max_fraction = max_fraction
        self.min_ejections = min_ejections
        self._state: StateBackend = InMemoryState() if state is None else state
        self._lock = threading.Lock()
        self._members = 0

    @property
    def members(self) -> int:
        """How many breakers belong to the pool."""
        return self._members

    def add_member(self) -> None:
        """Count one more breaker in the pool."""
        with self._lock:
            self._members += 1

    @property
    def cap(self) -> int:
        """How many breakers of the pool may be ejected at once."""
        return max(self.min_ejections, math.floor(self.max_fraction * self._members + 1e-9))

    @property
    def ejected(self) -> int:
        """How many breakers of the pool are ejected now."""
        return self._state.slot_count(self.pool)

    def try_eject(self) -> bool:
        """Take an ejection slot if the cap allows; True if taken."""
        return self._state.slot_acquire(self.pool, self.cap)

    def force_eject(self) -> None:
        """Take an ejection slot regardless of the cap (a disabled key)."""
        self._state.slot_acquire(self.pool, None)

    def restore(self) -> None:
        """Give an ejection slot back."""
        self._state.slot_release(self.pool)


# --------------------------------------------------------------------------- breaker


class BreakerPermit:
    """Admission of one call by a `CircuitBreaker`; report its result exactly once.

    Later reports are ignored. Used as a context manager, a permit not reported by the end
    of the block reports ``neutral`` (so a half-open probe slot is never leaked).
    """

    def __init__(self, breaker: CircuitBreaker, epoch: int, probe: bool) -> None:
        self._breaker = breaker
        self.epoch = epoch
        self.probe = probe
        """True when the call is a half-open probe."""
        # Exactly-once without a lock per permit: list.pop is atomic, so only one report
        # (from whichever thread) gets the token.
        self._token = [True]

    def record(self, outcome: Outcome) -> bool:
        """Report the call's `Outcome`; False if a result was already reported."""
        try:
            self._token.pop()
        except IndexError:
            return False
        self._breaker._record(self, outcome.kind)
        return True

    def success(self) -> bool:
        """Report success."""
        return self.record(Outcome(SUCCESS))

    def failure(self) -> bool:
        """Report a failure that counts against the key."""
        return self.record(Outcome(FAILURE))

    def neutral(self) -> bool:
        """Report a result that says nothing about the key."""
        return self.record(Outcome(NEUTRAL))

    def __enter__(self) -> BreakerPermit:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.neutral()


@dataclass
class _Change:
    """A computed transition: the record to store and what it means for the ejection slot.

    ``fallback`` is stored instead of ``new`` when ``eject`` asks for a slot the guard
    refuses.
    """

    new: BreakerState
    eject: bool = False
    fallback: Optional[BreakerState] = None
    force_eject: bool = False
    restore: bool = False


class CircuitBreaker:
    """The breaker of one key (or one key and model); thread-safe, state in a `StateBackend`.

    ``guard`` is the `EjectionGuard` of the breaker's pool (None: no cap). ``may_eject``,
    when given, is asked before a trip takes an ejection slot and can refuse it (a cap
    that spans several pools; see `BreakerRegistry`). ``now`` is the monotonic clock,
    replaced by the backend's shared clock when it has one.
    """

    def __init__(
        self,
        name: str,
        config: Optional[BreakerConfig] = None,
        *,
        guard: Optional[EjectionGuard] = None,
        state: Optional[StateBackend] = None,
        now: Clock = time.monotonic,
        may_eject: Optional[Callable[[], bool]] = None,
    ) -> None:
        self.name = name
        self.config = BreakerConfig() if config is None else config
        self._guard = guard
        self._may_eject = may_eject
        self._state: StateBackend = InMemoryState() if state is None else state
        shared = self._state.shared_clock()
        self._now = now if shared is None else shared
        if guard is not None:
            guard.add_member()

    # ------------------------------------------------------------------ state access

    def _load(self) -> Tuple[Optional[object], BreakerState]:
        raw = self._state.breaker_get(self.name)
        if raw is None:
            return None, BreakerState()
        if not isinstance(raw, BreakerState):
            raise ConfigurationError(f"breaker {self.name!r}: the state backend holds a foreign record")
        return raw, raw

    def _apply(self, compute: Callable[[BreakerState, float], Optional[_Change]]) -> None:
        """Run ``compute`` in a compare-and-set loop; ejection slots follow the stored record."""
        while True:
            raw, current = self._load()
            change = compute(current, self._now())
            if change is None:
                return
            new = change.new
            took_slot = False
            if self._guard is not None and change.force_eject:
                self._guard.force_eject()
                took_slot = True
            elif self._guard is not None and change.eject:
                allowed = self._may_eject is None or self._may_eject()
                took_slot = allowed and self._guard.try_eject()
                if not took_slot and change.fallback is not None:
                    new = change.fallback
            if self._state.breaker_swap(self.name, raw, new):
                if change.restore and self._guard is not None:
                    self._guard.restore()
                return
            if took_slot and self._guard is not None:
                self._guard.restore()

    # ------------------------------------------------------------------ queries

    @property
    def status(self) -> str:
        """``closed``, ``open``, ``half_open`` or ``disabled``, as stored now."""
        return self._load()[1].status

    def time_until_probe(self) -> float:
        """Seconds until an open breaker admits a probe (0.0 if it would admit a call now; inf if disabled)."""
        state = self._load()[1]
        if state.status == DISABLED:
            return math.inf
        if state.status == OPEN:
            return max(0.0, state.opened_at + state.cooldown_s - self._now())
        if state.status == HALF_OPEN and state.probes >= self.config.half_open_probes:
            return math.inf
        return 0.0

    def available(self) -> bool:
        """True when `acquire` would admit a call now (without admitting one)."""
        return self.time_until_probe() == 0.0

    def snapshot(self) -> Dict[str, Any]:
        """The breaker's state for status pages (plain data)."""
        state = self._load()[1]
        out: Dict[str, Any] = {
            "name": self.name,
            "status": state.status,
            "consecutive_failures": state.consecutive_failures,
            "trips": state.trips,
        }
        if state.status == OPEN:
            out["retry_in_s"] = max(0.0, state.opened_at + state.cooldown_s - self._now())
            out["cooldown_s"] = state.cooldown_s
        if state.reason:
            out["reason"] = state.reason
        return out

    # ------------------------------------------------------------------ transitions

    def acquire(self) -> Optional[BreakerPermit]:
        """Admit one call, or return None (open, disabled, or every probe slot taken)."""
        probes = self.config.half_open_probes

        def admit(state: BreakerState, now: float) -> Optional[Tuple[BreakerState, bool]]:
            if state.status == CLOSED:
                return state, False
            if state.status == OPEN and now >= state.opened_at + state.cooldown_s:
                return _evolve(state, status=HALF_OPEN, epoch=state.epoch + 1, probes=1), True
            if state.status == HALF_OPEN and state.probes < probes:
                return _evolve(state, probes=state.probes + 1), True
            return None

        while True:
            raw, current = self._load()
            admitted = admit(current, self._now())
            if admitted is None:
                return None
            new, probe = admitted
            if new is current or self._state.breaker_swap(self.name, raw, new):
                return BreakerPermit(self, new.epoch, probe)

    def _record(self, permit: BreakerPermit, kind: str) -> None:
        config = self.config
        if kind == SUCCESS:
            # The common case, a success on a closed breaker, without the general machinery:
            # count it in the window and reset the failure run (one compare-and-set).
            raw, state = self._load()
            if state.status == CLOSED and permit.epoch == state.epoch:
                index = math.floor(self._now() / (config.window_s / config.window_buckets))
                window = _add(_windowed(state.window, index, config.window_buckets), index, True)
                if self._state.breaker_swap(self.name, raw, _evolve(state, consecutive_failures=0, window=window)):
                    return

        def compute(state: BreakerState, now: float) -> Optional[_Change]:
            if kind == DISABLE:
                # Bad credentials stay bad, whenever the call was admitted.
                return self._disable_change(state, "credentials rejected")
            if permit.epoch != state.epoch:
                return None
            if state.status == HALF_OPEN and permit.probe:
                if kind == SUCCESS:
                    new = BreakerState(epoch=state.epoch + 1, trips=state.trips, closed_at=now)
                    return _Change(new=new, restore=state.ejected)
                if kind == FAILURE:
                    trips = state.trips + 1
                    new = _evolve(
                        state,
                        status=OPEN,
                        epoch=state.epoch + 1,
                        trips=trips,
                        opened_at=now,
                        cooldown_s=config.cooldown_after(trips),
                        probes=0,
                        reason="probe failed",
                    )
                    return _Change(new=new)
                return _Change(new=_evolve(state, probes=max(0, state.probes - 1)))
            if state.status != CLOSED or kind not in (SUCCESS, FAILURE):
                return None
            bucket_s = config.window_s / config.window_buckets
            index = math.floor(now / bucket_s)
            window = _add(_windowed(state.window, index, config.window_buckets), index, kind == SUCCESS)
            if kind == SUCCESS:
                return _Change(new=_evolve(state, consecutive_failures=0, window=window))
            consecutive = state.consecutive_failures + 1
            calls = sum(good + bad for _, good, bad in window)
            failures = sum(bad for _, _, bad in window)
            counted = _evolve(state, consecutive_failures=consecutive, window=window)
            if consecutive >= config.failure_threshold:
                reason = f"{consecutive} consecutive failures"
            elif calls >= config.min_calls and failures >= config.failure_rate * calls:
                reason = f"{failures} of {calls} calls failed in {config.window_s:g}s"
            else:
                return _Change(new=counted)
            # Trips start over once the breaker has been closed for a full max cooldown.
            previous = state.trips if now - state.closed_at < config.max_cooldown_s else 0
            trips = previous + 1
            new = _evolve(
                counted,
                status=OPEN,
                epoch=state.epoch + 1,
                consecutive_failures=0,
                window=(),
                trips=trips,
                opened_at=now,
                cooldown_s=config.cooldown_after(trips),
                probes=0,
                ejected=self._guard is not None,
                reason=reason,
            )
            refused = _evolve(counted, reason=f"{reason}; stays closed: ejection cap of its pool reached")
            return _Change(new=new, eject=True, fallback=refused)

        self._apply(compute)

    def _disable_change(self, state: BreakerState, reason: str) -> Optional[_Change]:
        if state.status == DISABLED:
            return None
        new = _evolve(
            state, status=DISABLED, epoch=state.epoch + 1, probes=0, ejected=self._guard is not None, reason=reason
        )
        return _Change(new=new, force_eject=not state.ejected)

    def disable(self, reason: str = "disabled by the user") -> None:
        """Take the key out of service until `reset` (what a 401/403 does)."""
        self._apply(lambda state, now: self._disable_change(state, reason))

    def reset(self) -> None:
        """Close the breaker and forget its history (also re-enables a disabled key)."""

        def compute(state: BreakerState, now: float) -> Optional[_Change]:
            return _Change(new=BreakerState(epoch=state.epoch + 1, closed_at=now), restore=state.ejected)

        self._apply(compute)


class BreakerRegistry:
    """The breakers of one gateway: one per key (pool ``keys``) and one per (key, model).

    Each pool has its own `EjectionGuard`: per-key breakers share the pool ``keys``, and
    the breakers of one model across keys share the pool ``model:<model>``. Create the
    breakers of all keys before traffic starts, so that each pool's size is known.

    ``may_eject(label, model)`` (optional) is asked before the breaker of key ``label``
    (``model`` None) or of ``(label, model)`` trips, and can keep it closed: the gateway
    uses it to cap, per model, the keys out of service through *either* layer.
    """

    def __init__(
        self,
        config: Optional[BreakerConfig] = None,
        *,
        max_ejection_fraction: float = 0.5,
        min_ejections: int = 1,
        state: Optional[StateBackend] = None,
        now: Clock = time.monotonic,
        may_eject: Optional[Callable[[str, Optional[str]], bool]] = None,
    ) -> None:
        self.config = BreakerConfig() if config is None else config
        self._fraction = max_ejection_fraction
        self._min = min_ejections
        self._state: StateBackend = InMemoryState() if state is None else state
        self._now = now
        self._lock = threading.Lock()
        self._may_eject = may_eject
        self._guards: Dict[str, EjectionGuard] = {}
        self._breakers: Dict[str, CircuitBreaker] = {}
        # Validate the guard settings now rather than at the first breaker.
        EjectionGuard("", max_fraction=max_ejection_fraction, min_ejections=min_ejections, state=self._state)

    def breaker(
        self, name: str, pool: str = "keys", *, may_eject: Optional[Callable[[], bool]] = None
    ) -> CircuitBreaker:
        """The breaker called ``name`` in ``pool``, created on first use."""
        found = self._breakers.get(name)
        if found is not None:
            return found
        with self._lock:
            found = self._breakers.get(name)
            if found is not None:
                return found
            guard = self._guards.get(pool)
            if guard is None:
                guard = EjectionGuard(pool, max_fraction=self._fraction, min_ejections=self._min, state=self._state)
                self._guards[pool] = guard
            created = CircuitBreaker(
                name, self.config, guard=guard, state=self._state, now=self._now, may_eject=may_eject
            )
            self._breakers[name] = created
            return created

    def for_key(self, label: str) -> CircuitBreaker:
        """The breaker of key ``label``."""
        found = self._breakers.get(label)
        if found is not None:
            return found
        check = self._may_eject
        return self.breaker(label, "keys", may_eject=None if check is None else (lambda: check(label, None)))

    def for_model(self, label: str, model: str) -> CircuitBreaker:
        """The breaker of model ``model`` on key ``label``."""
        name = f"{label}/{model}"
        found = self._breakers.get(name)
        if found is not None:
            return found
        check = self._may_eject
        return self.breaker(name, f"model:{model}", may_eject=None if check is None else (lambda: check(label, model)))

    def find(self, name: str) -> Optional[CircuitBreaker]:
        """The breaker called ``name`` if it exists (never creates one)."""
        return self._breakers.get(name)

    def guard(self, pool: str = "keys") -> Optional[EjectionGuard]:
        """The ejection guard of ``pool``, once a breaker of it exists."""
        return self._guards.get(pool)

    def snapshot(self) -> List[Dict[str, Any]]:
        """Every breaker's `CircuitBreaker.snapshot`, by name."""
        with self._lock:
            breakers = sorted(self._breakers.items())
        return [b.snapshot() for _, b in breakers]


__all__ = [
    "CLOSED",
    "OPEN",
    "HALF_OPEN",
    "DISABLED",
    "SUCCESS",
    "FAILURE",
    "RATE_LIMITED",
    "DISABLE",
    "NEUTRAL",
    "Outcome",
    "classify",
    "BreakerConfig",
    "BreakerState",
    "BreakerPermit",
    "CircuitBreaker",
    "EjectionGuard",
    "BreakerRegistry",
]
