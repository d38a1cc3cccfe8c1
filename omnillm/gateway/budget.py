"""Spending limits in integer micro-dollars: reserve the worst case, then settle or release.

Before a call the gateway reserves the call's worst-case cost (`Budget.reserve`); a
reservation that does not fit under the limit raises `omnillm.errors.BudgetExceededError`
before any network I/O. After the call the `Reservation` is settled to the actual cost
(`Reservation.settle`), or released unspent when the call failed
(`Reservation.release`).

Invariants, with ``spent`` and ``reserved`` the budget's counters:

* ``spent + reserved <= limit`` after every reservation (a reservation that would break
  it is refused), hence ``spent <= limit`` as long as every settled cost is at most its
  reservation. The worst-case estimate includes ``max_output_tokens``, so that holds
  unless the price table or the provider's usage is off. Money spent beyond a reservation
  is still recorded as spent (it was spent) and also counted in ``overspend`` and
  ``overspend_count``, so the excess is visible rather than hidden.
* ``reserved`` returns to exactly 0 once every reservation is settled or released.
* ``spent`` equals the sum of settled costs.

The counters live in a `StateBackend`; `InMemoryState` keeps each budget in one
`AtomicInt` updated by compare-and-set loops (see its docstring for why one word).

Every reservation has an id (``Reservation.rid``) unique across processes and machines,
passed to the state backend with each operation, so that a shared backend can apply a
settlement it had to retry exactly once.

A `Reservation` takes effect exactly once: the first `settle` or `release` wins and every
later call is a no-op that returns False (so ``release`` in a ``finally`` after a
``settle`` is safe). Used as a context manager, a reservation still open at the end of the
block is released.

Windows: a budget may reset every UTC day or month (``window="day"``/``"month"``, wall
clock injected). A reservation is settled in the window it was made in, so a call that
straddles midnight is charged to the day it started.

`Budgets` combines a gateway-wide budget with optional per-key and per-tag ones (a tag is
a user or tenant id passed with the request) and reserves across all that apply.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import time
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Type

from ..errors import BudgetExceededError, ConfigurationError
from .state import MAX_MICROS, AtomicInt, BudgetTotals, InMemoryState, StateBackend

WallClock = Callable[[], float]

# Reservation ids: a random token and a counter, about ten times cheaper than a uuid4
# per call. A forked child would repeat its parent's sequence: it draws a new token.
_rid_prefix = f"{secrets.token_hex(8)}."
_rid_counter = itertools.count(1)


def _renew_rid_prefix() -> None:
    global _rid_prefix
    _rid_prefix = f"{secrets.token_hex(8)}."


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_rid_prefix)


def _new_rid() -> str:
    return _rid_prefix + str(next(_rid_counter))


WINDOWS = (None, "day", "month")
"""Budget windows: None (never resets), ``day`` or ``month`` (UTC)."""


def _window_id(window: Optional[str], wall: float) -> str:
    if window is None:
        return ""
    moment = datetime.fromtimestamp(wall, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d") if window == "day" else moment.strftime("%Y-%m")


def _micros(what: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MICROS:
        raise ConfigurationError(
            f"{what} must be an integer number of micro-dollars in [0, {MAX_MICROS}], not {value!r}"
        )
    return value


class Reservation:
    """Money held by one `Budget` for one call: settle it to the actual cost, or release it."""

    def __init__(self, budget: Budget, state_name: str, amount: int, rid: str = "") -> None:
        self.budget = budget
        self.amount = amount
        """The micro-dollars reserved."""
        self.rid = rid or _new_rid()
        """The reservation's id, unique across processes (the state backend's idempotency key)."""
        self.state_name = state_name
        """The name of the budget window the reservation was made in."""
        self._open = AtomicInt(1)
        self.settled_micros: Optional[int] = None
        """The actual cost, once settled."""

    @property
    def open(self) -> bool:
        """True until the reservation is settled or released."""
        return self._open.get() == 1

    def settle(self, actual_micros: int) -> bool:
        """Record ``actual_micros`` as spent and free the reservation; False if already finished."""
        _micros(f"budget {self.budget.name!r}: a settled cost", actual_micros)
        if not self._open.compare_and_set(1, 0):
            return False
        self.budget._state.budget_settle(self.state_name, self.amount, actual_micros, rid=self.rid)
        self.settled_micros = actual_micros
        return True

    def release(self) -> bool:
        """Give the reservation back unspent (the call failed); False if already finished."""
        if not self._open.compare_and_set(1, 0):
            return False
        self.budget._state.budget_release(self.state_name, self.amount, rid=self.rid)
        return True

    def __enter__(self) -> Reservation:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "open" if self.open else "closed"
        return f"Reservation(budget={self.budget.name!r}, amount={self.amount}, {state})"


class Budget:
    """A spending limit in micro-dollars (``limit_micros``), optionally reset every UTC day or month.

    ``name`` identifies the budget in the state backend and in errors (``scope``).
    ``now_wall`` is the wall clock (POSIX seconds), used only to find the window.
    """

    def __init__(
        self,
        limit_micros: int,
        *,
        name: str = "gateway",
        window: Optional[str] = None,
        state: Optional[StateBackend] = None,
        now_wall: WallClock = time.time,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigurationError("budget: name must be a non-empty string")
        self.limit_micros = _micros(f"budget {name!r}: limit_micros", limit_micros)
        if window not in WINDOWS:
            raise ConfigurationError(f"budget {name!r}: window must be None, 'day' or 'month', not {window!r}")
        self.name = name
        self.window = window
        self._state: StateBackend = InMemoryState() if state is None else state
        self._now_wall = now_wall

    def _state_name(self) -> str:
        window = _window_id(self.window, self._now_wall())
        return f"{self.name}@{window}" if window else self.name

    def reserve(self, amount_micros: int) -> Reservation:
        """Hold ``amount_micros`` for a call, or raise `BudgetExceededError` if it does not fit."""
        _micros(f"budget {self.name!r}: a reservation", amount_micros)
        state_name = self._state_name()
        rid = _new_rid()
        done, available = self._state.budget_reserve(state_name, amount_micros, self.limit_micros, rid=rid)
        if not done:
            raise BudgetExceededError(
                f"budget {self.name!r}: the call may cost up to {amount_micros} micro-USD but only {available} of "
                f"{self.limit_micros} are available",
                scope=self.name,
                needed=amount_micros,
                available=available,
            )
        return Reservation(self, state_name, amount_micros, rid)

    def _totals(self) -> BudgetTotals:
        return self._state.budget_totals(self._state_name())

    @property
    def spent(self) -> int:
        """Micro-dollars spent in the current window."""
        return self._totals().spent

    @property
    def reserved(self) -> int:
        """Micro-dollars held by open reservations made in the current window."""
        return self._totals().reserved

    @property
    def available(self) -> int:
        """Micro-dollars a new reservation may still take now (never negative)."""
        totals = self._totals()
        return max(0, self.limit_micros - totals.spent - totals.reserved)

    @property
    def overspend(self) -> int:
        """Micro-dollars settled beyond their reservations in the current window."""
        return self._totals().overspend

    @property
    def overspend_count(self) -> int:
        """How many settlements in the current window exceeded their reservation."""
        return self._totals().overspend_count

    def snapshot(self) -> Dict[str, Any]:
        """The budget's counters for status pages (plain data)."""
        totals = self._totals()
        out: Dict[str, Any] = {
            "name": self.name,
            "limit_micros": self.limit_micros,
            "spent_micros": totals.spent,
            "reserved_micros": totals.reserved,
            "available_micros": max(0, self.limit_micros - totals.spent - totals.reserved),
            "overspend_micros": totals.overspend,
            "overspend_count": totals.overspend_count,
        }
        if self.window is not None:
            out["window"] = self.window
            out["window_id"] = _window_id(self.window, self._now_wall())
        return out

    def __repr__(self) -> str:
        return f"Budget(name={self.name!r}, limit_micros={self.limit_micros}, window={self.window!r})"


class BudgetReservation:
    """The reservations one call holds across several budgets; settled or released together, once."""

    def __init__(self, parts: Sequence[Reservation]) -> None:
        self.parts: List[Reservation] = list(parts)
        self._open = AtomicInt(1)

    @property
    def amount(self) -> int:
        """The micro-dollars reserved (the same in every budget)."""
        return self.parts[0].amount if self.parts else 0

    @property
    def open(self) -> bool:
        """True until settled or released."""
        return self._open.get() == 1

    def settle(self, actual_micros: int) -> bool:
        """Settle every part to ``actual_micros``; False if already finished."""
        _micros("a settled cost", actual_micros)
        if not self._open.compare_and_set(1, 0):
            return False
        for part in self.parts:
            part.settle(actual_micros)
        return True

    def release(self) -> bool:
        """Release every part; False if already finished."""
        if not self._open.compare_and_set(1, 0):
            return False
        for part in self.parts:
            part.release()
        return True

    def __enter__(self) -> BudgetReservation:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        names = [p.budget.name for p in self.parts]
        return f"BudgetReservation(amount={self.amount}, budgets={names!r}, {'open' if self.open else 'closed'})"


class Budgets:
    """The budgets of one gateway: a total, and optional per-key and per-tag limits.

    ``total`` applies to every call; ``per_key`` maps key labels to their budgets;
    ``per_tag`` maps tags to theirs, and ``tag_limit_micros`` (with ``tag_window``) gives
    every other tag a budget of its own, created on first use. All budgets made here
    share ``state`` and ``now_wall``.

    `reserve` reserves in a fixed order (total, then key, then tag) and, when one
    refuses, releases the ones already made before raising: a concurrent caller may
    briefly see the earlier budgets fuller than they end up, never emptier, so no limit is
    ever crossed ("atomic enough").
    """

    def __init__(
        self,
        *,
        total_micros: Optional[int] = None,
        window: Optional[str] = None,
        per_key: Optional[Mapping[str, int]] = None,
        per_tag: Optional[Mapping[str, int]] = None,
        tag_limit_micros: Optional[int] = None,
        tag_window: Optional[str] = None,
        state: Optional[StateBackend] = None,
        now_wall: WallClock = time.time,
    ) -> None:
        self._state: StateBackend = InMemoryState() if state is None else state
        self._now_wall = now_wall
        self._tag_limit = None if tag_limit_micros is None else _micros("tag_limit_micros", tag_limit_micros)
        self._tag_window = tag_window
        self._lock = threading.Lock()
        self.total = None if total_micros is None else self._make("gateway", total_micros, window)
        self.per_key: Dict[str, Budget] = {
            label: self._make(f"key:{label}", limit, window) for label, limit in (per_key or {}).items()
        }
        self._per_tag: Dict[str, Budget] = {
            tag: self._make(f"tag:{tag}", limit, tag_window) for tag, limit in (per_tag or {}).items()
        }

    def _make(self, name: str, limit: int, window: Optional[str]) -> Budget:
        return Budget(limit, name=name, window=window, state=self._state, now_wall=self._now_wall)

    def for_tag(self, tag: str) -> Optional[Budget]:
        """The budget of ``tag`` (created from ``tag_limit_micros`` on first use), or None."""
        found = self._per_tag.get(tag)
        if found is not None or self._tag_limit is None:
            return found
        with self._lock:
            found = self._per_tag.get(tag)
            if found is None:
                found = self._make(f"tag:{tag}", self._tag_limit, self._tag_window)
                self._per_tag[tag] = found
            return found

    def applicable(self, *, key: Optional[str] = None, tag: Optional[str] = None) -> List[Budget]:
        """The budgets a call on key ``key`` for tag ``tag`` counts against, in reservation order."""
        out: List[Budget] = []
        if self.total is not None:
            out.append(self.total)
        if key is not None and key in self.per_key:
            out.append(self.per_key[key])
        if tag is not None:
            found = self.for_tag(tag)
            if found is not None:
                out.append(found)
        return out

    def reserve(self, amount_micros: int, *, key: Optional[str] = None, tag: Optional[str] = None) -> BudgetReservation:
        """Reserve ``amount_micros`` in every applicable budget, or in none (raising the first refusal)."""
        made: List[Reservation] = []
        try:
            for budget in self.applicable(key=key, tag=tag):
                made.append(budget.reserve(amount_micros))
        except BaseException:
            for reservation in reversed(made):
                reservation.release()
            raise
        return BudgetReservation(made)

    def snapshot(self) -> List[Dict[str, Any]]:
        """Every budget's `Budget.snapshot`."""
        budgets: List[Budget] = [] if self.total is None else [self.total]
        budgets.extend(self.per_key[k] for k in sorted(self.per_key))
        with self._lock:
            budgets.extend(self._per_tag[t] for t in sorted(self._per_tag))
        return [b.snapshot() for b in budgets]


__all__ = ["WINDOWS", "Budget", "Reservation", "BudgetReservation", "Budgets"]
