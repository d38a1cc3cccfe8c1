"""Balancing strategies: in which order to try the keys that can serve a request.

A `Strategy` has one method, `Strategy.order`, that takes the eligible `Candidate` s
(keys that serve the model, are not disabled, open or limited) and returns all of them,
best first; the gateway tries them in that order until one call succeeds. A candidate
carries the per-request facts a strategy may need (calls in flight, recent latency, the
estimated cost of this request on that key), so strategies never look anything up.

Equal candidates are never piled on the first one: every strategy breaks ties by
rotating through the tied group, so N equal keys each get 1/N of the traffic.
Strategies keep only that rotation (and, for weighted round robin, the running
weights) as state, under a lock: one instance may serve many threads.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Protocol, Sequence

from ..errors import ConfigurationError
from .keys import KeyConfig


@dataclass(frozen=True)
class Candidate:
    """A key that can serve the request, with what is known about it right now.

    ``in_flight`` is the number of calls running on it, ``latency_s`` the smoothed recent
    latency (None: no sample yet), ``cost_micros`` the estimated cost of this request on
    this key (None: unknown price).
    """

    key: KeyConfig
    in_flight: int = 0
    latency_s: Optional[float] = None
    cost_micros: Optional[int] = None

    @property
    def label(self) -> str:
        """The key's label, which identifies the candidate."""
        return self.key.label


class Strategy(Protocol):
    """Orders the eligible candidates for one request, best first."""

    def order(self, candidates: Sequence[Candidate]) -> List[Candidate]:
        """All of ``candidates``, in the order the gateway should try them."""
        ...


class _Rotating:
    """Base of the scoring strategies: a turn counter that rotates each group of ties."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turn = 0

    def _next_turn(self) -> int:
        with self._lock:
            turn = self._turn
            self._turn += 1
            return turn


def _ordered_with_ties(
    candidates: Sequence[Candidate],
    score: Callable[[Candidate], float],
    turn: int,
    tolerance: float = 0.0,
    relative: float = 0.0,
) -> List[Candidate]:
    """Candidates by ascending score; each group within tolerance of its best is rotated by ``turn``.

    A score is tied with the group's best when it exceeds it by at most ``tolerance``
    or by at most ``relative`` times the best, whichever is larger.
    """
    ranked = sorted(candidates, key=lambda c: (score(c), c.label))
    out: List[Candidate] = []
    start = 0
    while start < len(ranked):
        best = score(ranked[start])
        end = start + 1
        slack = max(tolerance, relative * best) if best > 0 else tolerance
        while end < len(ranked) and _tied(score(ranked[end]), best, slack):
            end += 1
        group = sorted(ranked[start:end], key=lambda c: c.label)
        shift = turn % len(group)
        out.extend(group[shift:] + group[:shift])
        start = end
    return out


def _tied(value: float, best: float, tolerance: float) -> bool:
    if value == best:
        return True
    if math.isinf(value) or math.isinf(best):
        return False
    return value - best <= tolerance


class WeightedRoundRobin:
    """Smooth weighted round robin (the nginx scheme): exact proportions, evenly interleaved.

    Each pick adds every candidate's weight to its running score, picks the highest
    score and subtracts the total weight from it; over any run of ``sum(weights)`` picks
    each key is first exactly ``weight`` times, and a heavy key's turns are spread out
    rather than bunched. Keys absent from a call (not eligible) neither gain nor lose.
    The remaining candidates follow by running score, for failover.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: Dict[str, int] = {}

    def order(self, candidates: Sequence[Candidate]) -> List[Candidate]:
        """The candidate whose turn it is first, then the others by how soon their turn comes."""
        if not candidates:
            return []
        with self._lock:
            total = 0
            for c in candidates:
                self._current[c.label] = self._current.get(c.label, 0) + c.key.weight
                total += c.key.weight
            ranked = sorted(candidates, key=lambda c: (-self._current[c.label], c.label))
            self._current[ranked[0].label] -= total
            return ranked


class LeastInFlight(_Rotating):
    """Fewest calls in flight first; equal counts take turns."""

    def order(self, candidates: Sequence[Candidate]) -> List[Candidate]:
        """Candidates by ascending ``in_flight``."""
        turn = self._next_turn()
        return _ordered_with_ties(candidates, lambda c: float(c.in_flight), turn)


class LowestLatency(_Rotating):
    """Lowest smoothed latency first; keys without a sample come first so they get measured.

    Latencies within ``tolerance_s`` (default 5 ms) or within ``relative_tolerance``
    (default 20%) of the best, whichever is wider, count as tied and take turns, so
    that measurement noise does not pin all traffic on one of several equal keys. A key
    that has not been first for ``refresh_after`` orderings (default 50) goes first once,
    so that its average is re-measured rather than left stale after a slow spell; a
    clearly slower key thus gets about one call in ``refresh_after``.
    """

    def __init__(self, tolerance_s: float = 0.005, relative_tolerance: float = 0.2, refresh_after: int = 50) -> None:
        if not (isinstance(tolerance_s, (int, float)) and math.isfinite(tolerance_s) and tolerance_s >= 0):
            raise ConfigurationError(f"LowestLatency: tolerance_s must be >= 0, not {tolerance_s!r}")
        if not (isinstance(relative_tolerance, (int, float)) and 0 <= relative_tolerance <= 10):
            raise ConfigurationError(
                f"LowestLatency: relative_tolerance must be in [0, 10], not {relative_tolerance!r}"
            )
        if isinstance(refresh_after, bool) or not isinstance(refresh_after, int) or refresh_after < 0:
            raise ConfigurationError(f"LowestLatency: refresh_after must be an integer >= 0, not {refresh_after!r}")
        super().__init__()
        self._tolerance = float(tolerance_s)
        self._relative = float(relative_tolerance)
        self._refresh_after = refresh_after
        self._first_at: Dict[str, int] = {}  # label -> the last turn it was put first

    def order(self, candidates: Sequence[Candidate]) -> List[Candidate]:
        """Candidates by ascending ``latency_s`` (unmeasured first)."""
        turn = self._next_turn()
        ordered = _ordered_with_ties(
            candidates,
            lambda c: -1.0 if c.latency_s is None else c.latency_s,
            turn,
            self._tolerance,
            self._relative,
        )
        if not self._refresh_after or len(ordered) < 2:
            return ordered
        with self._lock:
            first_at = self._first_at
            stale: Optional[Candidate] = None
            for c in ordered[1:]:
                last = first_at.setdefault(c.label, turn)
                if turn - last >= self._refresh_after and (stale is None or last < first_at[stale.label]):
                    stale = c
            if stale is not None:
                ordered.remove(stale)
                ordered.insert(0, stale)
            first_at[ordered[0].label] = turn
        return ordered


class LowestCost(_Rotating):
    """Cheapest estimated cost for this request first; keys of unknown price come last."""

    def order(self, candidates: Sequence[Candidate]) -> List[Candidate]:
        """Candidates by ascending ``cost_micros`` (unknown last)."""
        turn = self._next_turn()
        return _ordered_with_ties(
            candidates, lambda c: math.inf if c.cost_micros is None else float(c.cost_micros), turn
        )


class LatencyTracker:
    """Exponentially weighted moving average of each key's latency (thread-safe).

    ``alpha`` is the weight of the newest sample: 0.3 means a new sample moves the average
    30% of the way to itself, so roughly the last few calls dominate.

    A key's first sample includes opening its connection (TCP and TLS, often more than
    the call itself) and the process's own warm-up, so the second sample replaces it
    instead of being averaged with it, and `measured` reports a key only from then on:
    one slow first call does not keep a key out of `LowestLatency` for good. Later, a
    sample counts for at most `SPIKE_FACTOR` times the current average, so one pause (a
    garbage collection, a busy host) barely moves it, while a lasting slowdown still
    multiplies it by ``1 + alpha * (SPIKE_FACTOR - 1)`` a call.
    """

    SPIKE_FACTOR = 3.0

    def __init__(self, alpha: float = 0.3) -> None:
        if not (0.0 < alpha <= 1.0):
            raise ConfigurationError(f"LatencyTracker: alpha must be in (0, 1], not {alpha!r}")
        self._alpha = alpha
        self._lock = threading.Lock()
        self._values: Dict[str, float] = {}
        self._settled: Dict[str, float] = {}  # keys with two samples or more

    def observe(self, label: str, seconds: float) -> float:
        """Fold one latency sample of key ``label`` into its average; return the new average."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ConfigurationError(f"LatencyTracker: latency must be a non-negative number, not {seconds!r}")
        with self._lock:
            previous = self._settled.get(label)
            if previous is None:
                # First sample: provisional; second: replaces it (see the class docstring).
                value = seconds
                if label in self._values:
                    self._settled[label] = value
            else:
                sample = min(seconds, previous * self.SPIKE_FACTOR) if previous > 0 else seconds
                value = previous + self._alpha * (sample - previous)
                self._settled[label] = value
            self._values[label] = value
            return value

    def get(self, label: str) -> Optional[float]:
        """The average latency of key ``label``, or None before its first sample."""
        return self._values.get(label)

    def measured(self, label: str) -> Optional[float]:
        """The average latency of key ``label`` once it has two samples, else None (still to measure)."""
        return self._settled.get(label)

    def forget(self, label: str) -> None:
        """Drop key ``label``'s history (after a reset, say)."""
        with self._lock:
            self._values.pop(label, None)
            self._settled.pop(label, None)


STRATEGIES: Dict[str, Callable[[], Strategy]] = {
    "weighted_round_robin": WeightedRoundRobin,
    "least_in_flight": LeastInFlight,
    "lowest_latency": LowestLatency,
    "lowest_cost": LowestCost,
}
"""Built-in strategies by name, as factories (each gateway needs its own instance)."""


def strategy_named(name: str) -> Strategy:
    """A new instance of the built-in strategy called ``name``."""
    factory = STRATEGIES.get(name)
    if factory is None:
        raise ConfigurationError(f"unknown balancing strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}")
    return factory()


__all__ = [
    "Candidate",
    "Strategy",
    "WeightedRoundRobin",
    "LeastInFlight",
    "LowestLatency",
    "LowestCost",
    "LatencyTracker",
    "STRATEGIES",
    "strategy_named",
]
