"""Budgets: reserve, settle, release; exactly-once reservations; windows; scopes; 16-thread invariants."""

from __future__ import annotations

import random
import sys
import threading
from datetime import datetime, timezone
from typing import Iterator, List

import pytest

from omnillm.errors import BudgetExceededError, ConfigurationError
from omnillm.gateway import AtomicInt, Budget, Budgets, InMemoryState


class WallClock:
    """A wall clock moved by hand."""

    def __init__(self, when: datetime) -> None:
        self.t = when.timestamp()

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def rapid_thread_switching() -> Iterator[None]:
    """Switch threads every microsecond so that interleavings are as dense as they get."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def test_atomic_int_compare_and_set() -> None:
    cell = AtomicInt(5)
    assert not cell.compare_and_set(4, 9)
    assert cell.get() == 5
    assert cell.compare_and_set(5, 9)
    assert cell.get() == 9
    assert cell.add(-2) == 7


def test_reserve_settle_release() -> None:
    budget = Budget(1_000)
    r1 = budget.reserve(600)
    assert (budget.spent, budget.reserved, budget.available) == (0, 600, 400)
    with pytest.raises(BudgetExceededError) as info:
        budget.reserve(500)
    assert (info.value.scope, info.value.needed, info.value.available) == ("gateway", 500, 400)
    assert "500" in str(info.value) and "400" in str(info.value)
    r2 = budget.reserve(400)
    assert budget.available == 0
    assert r1.settle(250)
    assert (budget.spent, budget.reserved, budget.available) == (250, 400, 350)
    assert r2.release()
    assert (budget.spent, budget.reserved, budget.available) == (250, 0, 750)


def test_a_reservation_takes_effect_exactly_once() -> None:
    budget = Budget(1_000)
    reservation = budget.reserve(300)
    assert reservation.open
    assert reservation.settle(100)
    assert not reservation.open
    assert not reservation.settle(100)
    assert not reservation.release()
    assert (budget.spent, budget.reserved) == (100, 0)
    released = budget.reserve(300)
    assert released.release()
    assert not released.settle(300)
    assert (budget.spent, budget.reserved) == (100, 0)


def test_context_manager_releases_an_unsettled_reservation() -> None:
    budget = Budget(1_000)
    with pytest.raises(RuntimeError), budget.reserve(700):
        raise RuntimeError("network failed")
    assert budget.reserved == 0
    with budget.reserve(700) as reservation:
        reservation.settle(650)
    assert (budget.spent, budget.reserved) == (650, 0)


def test_settling_above_the_reservation_is_spent_and_reported_as_overspend() -> None:
    budget = Budget(1_000)
    reservation = budget.reserve(900)
    reservation.settle(1_200)
    assert budget.spent == 1_200  # the money was spent
    assert budget.overspend == 300
    assert budget.overspend_count == 1
    assert budget.available == 0
    with pytest.raises(BudgetExceededError):
        budget.reserve(1)
    snapshot = budget.snapshot()
    assert snapshot["overspend_micros"] == 300 and snapshot["available_micros"] == 0


def test_zero_cost_calls_and_an_exactly_full_budget() -> None:
    budget = Budget(500)
    budget.reserve(500).settle(500)
    assert budget.available == 0
    budget.reserve(0).settle(0)
    with pytest.raises(BudgetExceededError):
        budget.reserve(1)


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True, 2**63])
def test_amounts_must_be_integer_micros(bad: object) -> None:
    budget = Budget(1_000)
    with pytest.raises(ConfigurationError):
        budget.reserve(bad)  # type: ignore[arg-type]
    reservation = budget.reserve(10)
    with pytest.raises(ConfigurationError):
        reservation.settle(bad)  # type: ignore[arg-type]
    assert reservation.open  # a rejected settle leaves the reservation to be finished properly
    with pytest.raises(ConfigurationError):
        Budget(bad)  # type: ignore[arg-type]


def test_bad_budget_configuration() -> None:
    with pytest.raises(ConfigurationError):
        Budget(10, window="week")
    with pytest.raises(ConfigurationError):
        Budget(10, name="")


def test_daily_window_resets_at_utc_midnight_and_settles_in_the_window_of_reservation() -> None:
    clock = WallClock(datetime(2026, 12, 1, 23, 59, 0, tzinfo=timezone.utc))
    budget = Budget(1_000, window="day", now_wall=clock)
    straddling = budget.reserve(800)
    assert budget.available == 200
    clock.t = datetime(2026, 12, 2, 0, 0, 1, tzinfo=timezone.utc).timestamp()
    assert budget.available == 1_000  # a new day
    straddling.settle(700)  # charged to the day it started
    assert budget.spent == 0
    clock.t = datetime(2026, 12, 1, 23, 59, 30, tzinfo=timezone.utc).timestamp()
    assert (budget.spent, budget.reserved) == (700, 0)
    assert budget.snapshot()["window_id"] == "2026-12-01"


def test_monthly_window() -> None:
    clock = WallClock(datetime(2026, 11, 30, 12, tzinfo=timezone.utc))
    budget = Budget(1_000, window="month", now_wall=clock)
    budget.reserve(1_000).settle(1_000)
    with pytest.raises(BudgetExceededError):
        budget.reserve(1)
    clock.t = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc).timestamp()
    budget.reserve(1_000).settle(10)
    assert budget.spent == 10


def test_budgets_reserve_across_scopes_and_roll_back_on_refusal() -> None:
    budgets = Budgets(total_micros=10_000, per_key={"k1": 3_000}, tag_limit_micros=1_000)
    reservation = budgets.reserve(800, key="k1", tag="alice")
    assert [p.budget.name for p in reservation.parts] == ["gateway", "key:k1", "tag:alice"]
    with pytest.raises(BudgetExceededError) as info:
        budgets.reserve(300, key="k1", tag="alice")  # alice has only 200 left
    assert info.value.scope == "tag:alice"
    # The gateway and key reservations made before the refusal were rolled back.
    assert budgets.total is not None and budgets.total.reserved == 800
    assert budgets.per_key["k1"].reserved == 800
    reservation.settle(500)
    assert budgets.total.spent == 500 and budgets.per_key["k1"].spent == 500
    tag = budgets.for_tag("alice")
    assert tag is not None and tag.spent == 500
    assert not reservation.settle(1)  # exactly once across all parts
    assert budgets.total.spent == 500


def test_budgets_without_an_applicable_scope() -> None:
    budgets = Budgets(per_tag={"vip": 5})
    reservation = budgets.reserve(10**9, key="any", tag="other")
    assert reservation.parts == [] and reservation.amount == 0
    assert reservation.release()
    with pytest.raises(BudgetExceededError):
        budgets.reserve(6, tag="vip")
    assert [s["name"] for s in budgets.snapshot()] == ["tag:vip"]


def test_budgets_share_one_state_backend() -> None:
    state = InMemoryState()
    one = Budgets(total_micros=100, state=state)
    other = Budgets(total_micros=100, state=state)
    one.reserve(60)
    with pytest.raises(BudgetExceededError):
        other.reserve(60)


def test_state_rejects_releasing_more_than_reserved() -> None:
    state = InMemoryState()
    with pytest.raises(ConfigurationError):
        state.budget_release("b", 5)
    with pytest.raises(ConfigurationError):
        state.budget_settle("b", 5, 5)


def test_sixteen_threads_keep_the_invariants(rapid_thread_switching: None) -> None:
    limit = 5_000_000
    budget = Budget(limit, name="stress")
    rng_seed = random.Random(2026)
    seeds = [rng_seed.random() for _ in range(16)]
    settled: List[int] = [0] * 16
    refused = [0] * 16
    violations: List[str] = []
    barrier = threading.Barrier(16)

    def worker(index: int) -> None:
        rng = random.Random(seeds[index])
        barrier.wait()
        for _ in range(1_500):
            amount = rng.randrange(0, 20_000)
            try:
                reservation = budget.reserve(amount)
            except BudgetExceededError:
                refused[index] += 1
                continue
            if budget.spent > limit:
                violations.append("spent above limit")
            if rng.random() < 0.3:
                reservation.release()
            else:
                actual = rng.randrange(0, amount + 1)
                reservation.settle(actual)
                settled[index] += actual

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert violations == []
    assert budget.reserved == 0
    assert budget.spent == sum(settled)
    assert budget.spent <= limit
    assert budget.overspend == 0
    assert sum(refused) > 0  # the limit was actually reached, so the test exercised refusals


def test_sixteen_threads_over_scoped_budgets_return_to_zero(rapid_thread_switching: None) -> None:
    budgets = Budgets(total_micros=2_000_000, per_key={f"k{i}": 400_000 for i in range(4)}, tag_limit_micros=300_000)
    settled: List[int] = [0] * 16
    barrier = threading.Barrier(16)

    def worker(index: int) -> None:
        rng = random.Random(index)
        barrier.wait()
        for _ in range(400):
            amount = rng.randrange(1, 5_000)
            try:
                reservation = budgets.reserve(amount, key=f"k{rng.randrange(4)}", tag=f"t{rng.randrange(8)}")
            except BudgetExceededError:
                continue
            if rng.random() < 0.25:
                reservation.release()
            else:
                cost = rng.randrange(0, amount + 1)
                reservation.settle(cost)
                settled[index] += cost

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snapshot = budgets.snapshot()
    assert all(s["reserved_micros"] == 0 for s in snapshot)
    assert all(s["spent_micros"] <= s["limit_micros"] for s in snapshot)
    assert budgets.total is not None and budgets.total.spent == sum(settled)
    assert sum(b.spent for b in budgets.per_key.values()) == sum(settled)
