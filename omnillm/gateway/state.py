"""The seam between the gateway's policies and the shared state they count in.

Every policy that counts something shared between calls (budgets, rate-limit
buckets, breaker states, ejection slots) does so through a `StateBackend`: a handful of
narrow, atomic operations on *named* entries, each taking all the configuration it needs
as arguments, so that no backend stores policy configuration. `InMemoryState` is the
in-process implementation; a multi-process one can implement the same methods as
server-side scripts (one script per method) without the policies changing.

Operations:

* budgets: ``budget_reserve`` / ``budget_settle`` / ``budget_release`` / ``budget_totals``;
* buckets: ``bucket_take`` (all-or-nothing over several buckets), ``bucket_wait``,
  ``bucket_put`` (refund or extra charge), ``bucket_level``;
* ejection slots (a counting semaphore per pool): ``slot_acquire`` / ``slot_release`` /
  ``slot_count``;
* breaker records (opaque immutable values): ``breaker_get`` / ``breaker_swap``
  (compare-and-set);
* cooldowns (a key refusing calls for a while after a 429): ``cooldown_set`` /
  ``cooldown_remaining`` / ``cooldown_clear``;
* ``shared_clock``: the clock every process sharing the state agrees on, when the state
  is shared at all (breakers stamp their records with it).

Budget operations carry the reservation's id (``rid``): a backend that may have to
replay a settlement after a network failure uses it to apply each one exactly once;
`InMemoryState` has no use for it. Operations that take ``now`` get the caller's clock; a
shared backend may use its own (a server clock) instead, since the callers' clocks do not
agree.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Protocol, Sequence, Tuple

from ..errors import ConfigurationError

# Budget totals are packed into one integer: spent in the high bits, reserved in the low
# 64, so that one compare-and-set moves both together (see `InMemoryState`).
_PACK = 1 << 64
MAX_MICROS = (1 << 63) - 1
"""The largest amount (micro-dollars) a single budget operation accepts: about 9.2 trillion USD."""

# Float slack when comparing a refilled level with a need: waiting exactly the time a
# bucket asked for must make the take succeed.
_EPSILON = 1e-9


class AtomicInt:
    """An integer cell with an atomic read and compare-and-set, like a hardware CAS word.

    Python exposes no CAS instruction; a lock held only for the comparison and the store
    gives the same contract, and the code built on it is written as retry loops that would
    run unchanged on a real CAS.
    """

    __slots__ = ("_lock", "_value")

    def __init__(self, value: int = 0) -> None:
        self._value = value
        self._lock = threading.Lock()

    def get(self) -> int:
        """The current value."""
        return self._value

    def compare_and_set(self, expected: int, new: int) -> bool:
        """Store ``new`` if the value is still ``expected``; True when it was stored."""
        with self._lock:
            if self._value != expected:
                return False
            self._value = new
            return True

    def add(self, delta: int) -> int:
        """Add ``delta`` with a compare-and-set loop; return the new value."""
        while True:
            current = self._value
            if self.compare_and_set(current, current + delta):
                return current + delta

    def __repr__(self) -> str:
        return f"AtomicInt({self._value})"


@dataclass(frozen=True)
class BucketSpec:
    """A named token bucket: ``capacity`` units, refilled continuously at ``refill_per_s``.

    A bucket with ``refill_per_s == 0`` never refills by itself: it is a counting semaphore
    whose units come back only through ``bucket_put`` (the concurrency cap uses this).
    """

    name: str
    capacity: float
    refill_per_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.capacity) and self.capacity > 0):
            raise ConfigurationError(f"bucket {self.name!r}: capacity must be a positive number, not {self.capacity!r}")
        if not (math.isfinite(self.refill_per_s) and self.refill_per_s >= 0):
            raise ConfigurationError(
                f"bucket {self.name!r}: refill_per_s must be a non-negative number, not {self.refill_per_s!r}"
            )


@dataclass(frozen=True)
class BudgetTotals:
    """A budget's counters in micro-dollars: spent, reserved, and spending beyond reservations."""

    spent: int
    reserved: int
    overspend: int
    overspend_count: int


class StateBackend(Protocol):
    """Atomic operations on named counters; the only place gateway policies keep shared state."""

    def budget_reserve(self, name: str, amount: int, limit: int, *, rid: str = "") -> Tuple[bool, int]:
        """Reserve ``amount`` if spent + reserved + amount <= ``limit``; return (done, available before)."""
        ...

    def budget_settle(self, name: str, reserved: int, actual: int, *, rid: str = "") -> None:
        """Turn a reservation of ``reserved`` into ``actual`` spent (recording any overspend)."""
        ...

    def budget_release(self, name: str, reserved: int, *, rid: str = "") -> None:
        """Give back a reservation of ``reserved`` unspent."""
        ...

    def budget_totals(self, name: str) -> BudgetTotals:
        """The counters of budget ``name`` (all zero for one never used)."""
        ...

    def bucket_take(self, takes: Sequence[Tuple[BucketSpec, float]], now: float) -> float:
        """Take every amount from its bucket, or none; return 0.0 if taken, else seconds to wait."""
        ...

    def bucket_wait(self, takes: Sequence[Tuple[BucketSpec, float]], now: float) -> float:
        """Seconds until `bucket_take` of the same amounts would succeed (0.0: now; inf: never by itself)."""
        ...

    def bucket_put(self, puts: Sequence[Tuple[BucketSpec, float]], now: float) -> None:
        """Add each amount to its bucket (negative: an extra charge), never above capacity."""
        ...

    def bucket_level(self, spec: BucketSpec, now: float) -> float:
        """The units currently in the bucket (negative while in debt)."""
        ...

    def slot_acquire(self, pool: str, cap: Optional[int]) -> bool:
        """Take one slot of ``pool`` if fewer than ``cap`` are taken (None: no cap); True if taken."""
        ...

    def slot_release(self, pool: str) -> None:
        """Give back one slot of ``pool``."""
        ...

    def slot_count(self, pool: str) -> int:
        """How many slots of ``pool`` are taken."""
        ...

    def breaker_get(self, name: str) -> Optional[object]:
        """The breaker record stored under ``name``, or None."""
        ...

    def breaker_swap(self, name: str, expected: Optional[object], new: object) -> bool:
        """Store ``new`` if the record is still ``expected``; True when stored."""
        ...

    def cooldown_set(self, name: str, seconds: float, now: float) -> None:
        """Refuse ``name`` for ``seconds`` from now (inf: until cleared); a longer cooldown in force stays."""
        ...

    def cooldown_remaining(self, name: str, now: float) -> float:
        """Seconds left of ``name``'s cooldown (0.0: none; inf: until cleared)."""
        ...

    def cooldown_clear(self, name: str) -> None:
        """End ``name``'s cooldown now."""
        ...

    def shared_clock(self) -> Optional[Callable[[], float]]:
        """The clock (seconds) all processes sharing this state agree on, or None for process-local state."""
        ...


def _without_probes(record: object) -> object:
    """A breaker record with no probe in flight (records are opaque here: any dataclass with ``probes``)."""
    if getattr(record, "probes", 0) and dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.replace(record, probes=0)
    return record


class InMemoryState:
    """`StateBackend` for one process: lock-free-style CAS loops on `AtomicInt` cells.

    Budgets: each budget is one `AtomicInt` holding ``spent * 2**64 + reserved``.
    Because both counters live in one word, a reservation checks ``spent + reserved +
    amount <= limit`` and adds to ``reserved`` in the same compare-and-set, and a
    settlement moves an amount from ``reserved`` to ``spent`` in one step: no interleaving
    of threads can observe or produce a state where the pair is inconsistent, so
    ``spent + reserved <= limit`` holds after every operation except a settlement whose
    actual cost exceeds its reservation (that excess is added to the overspend
    counters). Buckets are updated under one lock so that a multi-bucket take is all or
    nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budgets: Dict[str, AtomicInt] = {}
        self._overspend: Dict[str, Tuple[AtomicInt, AtomicInt]] = {}
        self._buckets: Dict[str, List[float]] = {}
        self._slots: Dict[str, AtomicInt] = {}
        self._breakers: Dict[str, object] = {}
        self._cooldowns: Dict[str, float] = {}

    def forked(self) -> InMemoryState:
        """A copy for a forked child: what was spent stays, nothing is in flight.

        Reservations, concurrency slots and half-open probe slots held at fork time
        belong to the parent's calls, which never report back in the child: the child
        starts with them empty, and with fresh locks. (Token-bucket charges of calls in
        flight are refunded by the gateway, which knows them: `KeyLimiter.in_flight_tokens`.)
        """
        child = InMemoryState()
        for name, cell in list(self._budgets.items()):
            spent = cell.get() // _PACK
            child._budgets[name] = AtomicInt(spent * _PACK)
            amount, count = self._overspend.get(name, (AtomicInt(0), AtomicInt(0)))
            child._overspend[name] = (AtomicInt(amount.get()), AtomicInt(count.get()))
        child._buckets = {
            name: list(entry) for name, entry in list(self._buckets.items()) if not name.endswith("/concurrency")
        }
        child._slots = {pool: AtomicInt(cell.get()) for pool, cell in list(self._slots.items())}
        child._breakers = {name: _without_probes(record) for name, record in list(self._breakers.items())}
        child._cooldowns = dict(self._cooldowns)
        return child

    # ------------------------------------------------------------------ budgets

    def _budget(self, name: str) -> AtomicInt:
        cell = self._budgets.get(name)
        if cell is None:
            with self._lock:
                # Overspend cells first: a thread that finds the budget cell without the
                # lock must also find these.
                self._overspend.setdefault(name, (AtomicInt(0), AtomicInt(0)))
                cell = self._budgets.setdefault(name, AtomicInt(0))
        return cell

    @staticmethod
    def _check_amount(name: str, what: str, amount: int) -> None:
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_MICROS:
            raise ConfigurationError(
                f"budget {name!r}: {what} must be an integer of micro-dollars in [0, {MAX_MICROS}], not {amount!r}"
            )

    def budget_reserve(self, name: str, amount: int, limit: int, *, rid: str = "") -> Tuple[bool, int]:
        """Reserve ``amount`` if spent + reserved + amount <= ``limit``; return (done, available before)."""
        self._check_amount(name, "a reservation", amount)
        cell = self._budget(name)
        while True:
            packed = cell.get()
            spent, reserved = divmod(packed, _PACK)
            available = limit - spent - reserved
            if amount > available:
                return False, max(0, available)
            if reserved + amount >= _PACK:
                return False, max(0, available)
            if cell.compare_and_set(packed, packed + amount):
                return True, available

    def budget_settle(self, name: str, reserved: int, actual: int, *, rid: str = "") -> None:
        """Turn a reservation of ``reserved`` into ``actual`` spent (recording any overspend)."""
        self._check_amount(name, "a settled cost", actual)
        self._check_amount(name, "a reservation", reserved)
        cell = self._budget(name)
        while True:
            packed = cell.get()
            spent, held = divmod(packed, _PACK)
            if held < reserved:
                raise ConfigurationError(
                    f"budget {name!r}: settling a reservation of {reserved} micros but only {held} are reserved"
                )
            if cell.compare_and_set(packed, (spent + actual) * _PACK + (held - reserved)):
                break
        if actual > reserved:
            amount, count = self._overspend[name]
            amount.add(actual - reserved)
            count.add(1)

    def budget_release(self, name: str, reserved: int, *, rid: str = "") -> None:
        """Give back a reservation of ``reserved`` unspent."""
        self._check_amount(name, "a reservation", reserved)
        cell = self._budget(name)
        while True:
            packed = cell.get()
            held = packed % _PACK
            if held < reserved:
                raise ConfigurationError(
                    f"budget {name!r}: releasing a reservation of {reserved} micros but only {held} are reserved"
                )
            if cell.compare_and_set(packed, packed - reserved):
                return

    def budget_totals(self, name: str) -> BudgetTotals:
        """The counters of budget ``name`` (all zero for one never used)."""
        cell = self._budgets.get(name)
        if cell is None:
            return BudgetTotals(0, 0, 0, 0)
        spent, reserved = divmod(cell.get(), _PACK)
        amount, count = self._overspend[name]
        return BudgetTotals(spent, reserved, amount.get(), count.get())

    # ------------------------------------------------------------------ buckets

    def _level(self, spec: BucketSpec, now: float) -> float:
        entry = self._buckets.get(spec.name)
        if entry is None:
            return float(spec.capacity)
        level, updated = entry
        elapsed = max(0.0, now - updated)
        return min(float(spec.capacity), level + elapsed * spec.refill_per_s)

    @staticmethod
    def _wait(spec: BucketSpec, level: float, amount: float) -> float:
        # A request larger than the whole bucket is admitted when the bucket is full and
        # leaves it in debt; otherwise it could never run at all.
        need = min(float(amount), float(spec.capacity))
        if level + _EPSILON >= need:
            return 0.0
        if spec.refill_per_s == 0:
            return math.inf
        return (need - level) / spec.refill_per_s

    def bucket_wait(self, takes: Sequence[Tuple[BucketSpec, float]], now: float) -> float:
        """Seconds until `bucket_take` of the same amounts would succeed (0.0: now; inf: never by itself)."""
        with self._lock:
            return max((self._wait(spec, self._level(spec, now), amount) for spec, amount in takes), default=0.0)

    def bucket_take(self, takes: Sequence[Tuple[BucketSpec, float]], now: float) -> float:
        """Take every amount from its bucket, or none; return 0.0 if taken, else seconds to wait."""
        with self._lock:
            levels = [self._level(spec, now) for spec, _ in takes]
            wait = max(
                (self._wait(spec, level, amount) for (spec, amount), level in zip(takes, levels)),
                default=0.0,
            )
            if wait > 0:
                return wait
            for (spec, amount), level in zip(takes, levels):
                self._buckets[spec.name] = [level - float(amount), now]
            return 0.0

    def bucket_put(self, puts: Sequence[Tuple[BucketSpec, float]], now: float) -> None:
        """Add each amount to its bucket (negative: an extra charge), never above capacity."""
        with self._lock:
            for spec, amount in puts:
                level = min(float(spec.capacity), self._level(spec, now) + float(amount))
                self._buckets[spec.name] = [level, now]

    def bucket_level(self, spec: BucketSpec, now: float) -> float:
        """The units currently in the bucket (negative while in debt)."""
        with self._lock:
            return self._level(spec, now)

    # ------------------------------------------------------------------ slots

    def _slot(self, pool: str) -> AtomicInt:
        cell = self._slots.get(pool)
        if cell is None:
            with self._lock:
                cell = self._slots.setdefault(pool, AtomicInt(0))
        return cell

    def slot_acquire(self, pool: str, cap: Optional[int]) -> bool:
        """Take one slot of ``pool`` if fewer than ``cap`` are taken (None: no cap); True if taken."""
        cell = self._slot(pool)
        while True:
            taken = cell.get()
            if cap is not None and taken >= cap:
                return False
            if cell.compare_and_set(taken, taken + 1):
                return True

    def slot_release(self, pool: str) -> None:
        """Give back one slot of ``pool``."""
        cell = self._slot(pool)
        while True:
            taken = cell.get()
            if taken <= 0:
                return
            if cell.compare_and_set(taken, taken - 1):
                return

    def slot_count(self, pool: str) -> int:
        """How many slots of ``pool`` are taken."""
        return self._slot(pool).get()

    # ------------------------------------------------------------------ breakers

    def breaker_get(self, name: str) -> Optional[object]:
        """The breaker record stored under ``name``, or None."""
        return self._breakers.get(name)

    def breaker_swap(self, name: str, expected: Optional[object], new: object) -> bool:
        """Store ``new`` if the record is still ``expected`` (identity); True when stored."""
        with self._lock:
            if self._breakers.get(name) is not expected:
                return False
            self._breakers[name] = new
            return True

    # ------------------------------------------------------------------ cooldowns

    def cooldown_set(self, name: str, seconds: float, now: float) -> None:
        """Refuse ``name`` for ``seconds`` from now (inf: until cleared); a longer cooldown in force stays."""
        with self._lock:
            self._cooldowns[name] = max(self._cooldowns.get(name, -math.inf), now + seconds)

    def cooldown_remaining(self, name: str, now: float) -> float:
        """Seconds left of ``name``'s cooldown (0.0: none; inf: until cleared)."""
        return max(0.0, self._cooldowns.get(name, -math.inf) - now)

    def cooldown_clear(self, name: str) -> None:
        """End ``name``'s cooldown now."""
        with self._lock:
            self._cooldowns.pop(name, None)

    def shared_clock(self) -> Optional[Callable[[], float]]:
        """None: this state lives in one process, whose callers bring their own clock."""
        return None


__all__ = ["MAX_MICROS", "AtomicInt", "BucketSpec", "BudgetTotals", "InMemoryState", "StateBackend"]
