"""Client latency the Redis state backend adds to a gateway call, versus in-memory state, in one run.

Starts its own ``redis-server`` on 127.0.0.1 (a free port, a temporary directory, no
persistence) and a `MockProvider`, then alternates batches of calls between two
gateways that differ only in their state backend: `InMemoryState` and
`RedisStateBackend`. Both have a budget, an RPM limit and a concurrency cap, so every
call reserves and settles, takes and returns bucket units, and reads and updates its
breakers. Wall-clock time is the point here (round trips to Redis are waiting, not
computing), so this reports the median of per-batch means of wall time, and CPU time
per call beside it. Also reports the state operations alone.

Run: ``python bench/bench_redis.py`` (needs ``redis-server`` on the PATH and the
``redis`` client).
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from omnillm import LlmRequest, Message
from omnillm.gateway import Gateway, InMemoryState, KeyConfig, Price
from omnillm.gateway.redis_state import RedisStateBackend
from omnillm.gateway.state import BucketSpec
from omnillm.testing import MockProvider, MockReply

CALLS_PER_BATCH = 100
OPS_PER_BATCH = 1_000
BATCHES = 9


@contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="omnillm-bench-redis-")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", ""]
    proc = subprocess.Popen([*command, "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not start")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def measure(contenders: Dict[str, Callable[[], object]], per_batch: int) -> Dict[str, Tuple[float, float]]:
    """(median wall us, median CPU us) per call for each contender, batches alternated."""
    wall: Dict[str, List[float]] = {name: [] for name in contenders}
    cpu: Dict[str, List[float]] = {name: [] for name in contenders}
    for _ in range(BATCHES):
        for name, fn in contenders.items():
            w, c = time.perf_counter(), time.process_time()
            for _ in range(per_batch):
                fn()
            wall[name].append((time.perf_counter() - w) / per_batch * 1e6)
            cpu[name].append((time.process_time() - c) / per_batch * 1e6)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in contenders}


def gateway(mock: MockProvider, state: Any) -> Gateway:
    keys = [
        KeyConfig(
            "openai",
            f"sk-{label}",
            label=label,
            base_url=mock.base_url + "/v1",
            wire_format="open_ai_chat_completions",
            rpm=10**9,
            max_concurrent=64,
        )
        for label in ("a", "b")
    ]
    return Gateway(keys, state=state, prices={"m-1": Price.usd(1.0, 2.0)}, budget_limit_usd=10**6)


def state_ops(state: Any) -> Dict[str, Callable[[], object]]:
    """One budget reserve + settle; one bucket take + put over two buckets; one breaker read."""
    rpm = BucketSpec("k/rpm", 1e9, 1e7)
    slots = BucketSpec("k/concurrency", 1e6, 0.0)
    counter = iter(range(10**9))

    def budget() -> None:
        rid = f"bench-{next(counter)}"
        state.budget_reserve("bench", 10, 10**15, rid=rid)
        state.budget_settle("bench", 10, 7, rid=rid)

    def buckets() -> None:
        state.bucket_take([(rpm, 1.0), (slots, 1.0)], time.monotonic())
        state.bucket_put([(slots, 1.0)], time.monotonic())

    return {
        "budget reserve + settle": budget,
        "bucket take + put": buckets,
        "breaker read": lambda: state.breaker_get("k"),
    }


def main() -> None:
    request = LlmRequest(model="m-1", messages=[Message.user("hello")], max_output_tokens=50)
    with redis_server() as url, MockProvider(MockReply(text="Bonjour tout le monde")) as mock:
        memory, shared = InMemoryState(), RedisStateBackend(url, prefix="bench:")
        with gateway(mock, memory) as local_gw, gateway(mock, shared) as redis_gw:
            for gw in (local_gw, redis_gw):
                for _ in range(50):  # warm connections and caches
                    gw.call(request)
            calls = measure(
                {"in-memory": lambda: local_gw.call(request), "redis": lambda: redis_gw.call(request)},
                CALLS_PER_BATCH,
            )
        ops: Dict[str, Dict[str, Tuple[float, float]]] = {}
        for label, state in (("in-memory", memory), ("redis", RedisStateBackend(url, prefix="bench-ops:"))):
            ops[label] = measure(state_ops(state), OPS_PER_BATCH)
    print(f"Python {sys.version.split()[0]}; median of {BATCHES} alternated batches")
    print(f"\n{'gateway.call (mock provider)':<30} {'wall us':>9} {'CPU us':>9}")
    for name, (w, c) in calls.items():
        print(f"{name:<30} {w:>9.0f} {c:>9.0f}")
    added_wall = calls["redis"][0] - calls["in-memory"][0]
    added_cpu = calls["redis"][1] - calls["in-memory"][1]
    print(f"{'added by redis':<30} {added_wall:>9.0f} {added_cpu:>9.0f}")
    print(f"\n{'state operation':<30} {'in-memory wall us':>18} {'redis wall us':>14} {'redis CPU us':>13}")
    for name in ops["redis"]:
        local, shared = ops["in-memory"][name], ops["redis"][name]
        print(f"{name:<30} {local[0]:>18.1f} {shared[0]:>14.1f} {shared[1]:>13.1f}")


if __name__ == "__main__":
    main()
