"""Budget reserve/settle throughput: one thread, and 8 threads contending for one budget.

Each operation is one ``reserve`` followed by one ``settle`` (every tenth is a
``release`` instead). Throughput is operations per second of this process's CPU time
(user + sys over all threads, `time.process_time`): on a shared 2-core machine wall time
measures the neighbours. Best of several rounds. Run: ``python bench/bench_budget.py``.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from omnillm.gateway import Budget, Budgets

OPS_PER_THREAD = 20_000
ROUNDS = 5


def run(threads: int, reserve: Callable[[int], Any]) -> float:
    """Operations per CPU second for ``threads`` threads each doing `OPS_PER_THREAD` operations."""
    barrier = threading.Barrier(threads + 1)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        amounts = [rng.randrange(1, 1_000) for _ in range(OPS_PER_THREAD)]
        barrier.wait()
        for i, amount in enumerate(amounts):
            reservation = reserve(amount)
            if i % 10 == 9:
                reservation.release()
            else:
                reservation.settle(amount // 2)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    start = time.process_time()
    barrier.wait()
    for w in workers:
        w.join()
    elapsed = time.process_time() - start
    return threads * OPS_PER_THREAD / elapsed


LIMIT = 10**15  # never refuses: measure the accounting, not the refusals


def one_budget() -> Callable[[int], Any]:
    """Reservations against a single budget."""
    return Budget(LIMIT).reserve


def three_scopes() -> Callable[[int], Any]:
    """Reservations against a gateway, a key and a tag budget at once."""
    budgets = Budgets(total_micros=LIMIT, per_key={"k": LIMIT}, tag_limit_micros=LIMIT)
    return lambda amount: budgets.reserve(amount, key="k", tag="t")


def main() -> None:
    contenders: Dict[str, Callable[[], Callable[[int], Any]]] = {
        "Budget": one_budget,
        "Budgets (total + key + tag)": three_scopes,
    }
    rows: List[str] = []
    header = f"{'budget':<30} {'threads':>7} {'ops/s (CPU)':>12} {'us/op':>8}"
    rows.append(header)
    rows.append("-" * len(header))
    for name, make in contenders.items():
        for threads in (1, 8):
            best = max(run(threads, make()) for _ in range(ROUNDS))
            rows.append(f"{name:<30} {threads:>7} {best:>12,.0f} {1e6 / best:>8.2f}")
    print(f"Python {sys.version.split()[0]}, {OPS_PER_THREAD} ops per thread, best of {ROUNDS}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
