"""Shared timing rules for the benchmarks.

On a shared 2-core machine wall time is noise: we measure this process's CPU time
(user + sys, `time.process_time`), take the best of several batches, and alternate
the contenders batch by batch so that drift hits all of them alike.
"""

from __future__ import annotations

import time
from typing import Callable, Dict


def best_cpu_per_call(contenders: Dict[str, Callable[[], object]], calls: int, batches: int = 7) -> Dict[str, float]:
    """Microseconds of CPU per call for each contender: best batch, contenders alternated."""
    best = {name: float("inf") for name in contenders}
    for _ in range(batches):
        for name, fn in contenders.items():
            start = time.process_time()
            for _ in range(calls):
                fn()
            elapsed = time.process_time() - start
            best[name] = min(best[name], elapsed / calls * 1e6)
    return best
