"""Client CPU per `Gateway.call` and per streamed chunk, and 8-thread throughput (issue 6).

Against the canned server of `_server` in its own process (its CPU does not count), next
to the floor measured in the same run: urllib3 ``PoolManager.request`` + ``json.dumps``
body + ``json.loads`` answer; for a stream, urllib3's ``stream()``, SSE lines split by hand and
``json.loads`` per chunk. The official openai SDK runs beside them for scale.

CPU is this process's user + sys time (`time.process_time`), best of many small
batches, contenders alternated. Throughput is wall-clock calls per second of 8 threads
sharing one gateway, against 8 threads sharing one urllib3 ``PoolManager`` running the
floor's code, rounds alternated, best round kept. Budget reserve/settle contention is
measured by ``bench/bench_budget.py``.

Targets, as ratios to the floor: CPU per call <= 1.3x, CPU per streamed chunk <= 2x,
8-thread throughput >= 0.8x.

Run: ``python bench/bench_gateway.py [--results bench/RESULTS.md]``.
"""

from __future__ import annotations

import platform
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Callable, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _contenders as c
from _server import CannedServer, start_server
from _timing import best_cpu_per_call

HEADING = "## Gateway"
THREADS = 8
CALLS_PER_THREAD = 150
ROUNDS = 7

CALL_TARGET = 1.3
CHUNK_TARGET = 2.0
THROUGHPUT_TARGET = 0.8


def cpu(server: CannedServer) -> Tuple[Dict[str, float], Dict[str, float]]:
    """CPU microseconds per call and per streamed chunk, for every contender."""
    pool = c.raw_pool()
    gw = c.gateway(server)
    client = c.omnillm_client(server)
    sdk = c.openai_client(server)
    calls: Dict[str, Callable[[], object]] = {
        "floor": c.raw_call(server, pool),
        "omnillm Gateway.call": c.gateway_call(gw),
        "omnillm Client.execute": c.client_execute(client),
    }
    streams: Dict[str, Callable[[], object]] = {
        "floor": c.raw_stream(server, pool),
        "omnillm Gateway.stream": c.gateway_stream(gw),
        "omnillm Client.stream": c.client_stream(client),
    }
    if sdk is not None:
        calls["openai SDK"] = c.openai_call(sdk)
        streams["openai SDK"] = c.openai_stream(sdk)
    for fn in [*calls.values(), *streams.values()]:
        fn()  # connect and warm up before timing
    per_call = best_cpu_per_call(calls, 100, 30)
    per_stream = best_cpu_per_call(streams, 10, 30)
    chunks = c.stream_chunks()
    gw.close()
    client.close()
    return per_call, {name: value / chunks for name, value in per_stream.items()}


def wall_throughput(fn: Callable[[], object]) -> float:
    """Calls per wall-clock second of `THREADS` threads each making `CALLS_PER_THREAD` calls."""
    barrier = threading.Barrier(THREADS + 1)
    errors: List[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            for _ in range(CALLS_PER_THREAD):
                fn()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(THREADS)]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return THREADS * CALLS_PER_THREAD / elapsed


def throughput(server: CannedServer) -> Dict[str, float]:
    """Best-round calls per second for the shared gateway and the shared raw pool, rounds alternated."""
    gw = c.gateway(server, pool_maxsize=16)
    pool = c.raw_pool(16)
    contenders = {"floor": c.raw_call(server, pool), "omnillm Gateway.call": c.gateway_call(gw)}
    for fn in contenders.values():
        wall_throughput(fn)  # open the connections first
    best = {name: 0.0 for name in contenders}
    for _ in range(ROUNDS):
        for name, fn in contenders.items():
            best[name] = max(best[name], wall_throughput(fn))
    gw.close()
    return best


def verdict(name: str, ratio: float, target: float, higher_is_better: bool = False) -> str:
    met = ratio >= target if higher_is_better else ratio <= target
    sign = ">=" if higher_is_better else "<="
    return f"| {name} | {ratio:.2f}x | {sign} {target}x | {'met' if met else 'missed'} |"


def main() -> None:
    server = start_server()
    try:
        per_call, per_chunk = cpu(server)
        rates = throughput(server)
    finally:
        server.stop()
    call_ratio = per_call["omnillm Gateway.call"] / per_call["floor"]
    chunk_ratio = per_chunk["omnillm Gateway.stream"] / per_chunk["floor"]
    rate_ratio = rates["omnillm Gateway.call"] / rates["floor"]
    rate_rows = [f"| {THREADS} threads | calls/s (wall) | ratio to floor |", "| --- | ---: | ---: |"]
    rate_rows += [f"| {name} | {value:,.0f} | {value / rates['floor']:.2f}x |" for name, value in rates.items()]
    lines = [
        f"`python bench/bench_gateway.py` ({date.today().isoformat()}, Python {platform.python_version()},",
        "shared 2-core machine), against `bench/_server.py` in its own process (canned chat-completions",
        f"JSON, or a {c.stream_chunks()}-chunk SSE stream). A gateway with one key, no budget, no local",
        "limits; the same typical request (system prompt, three turns, one tool) for every contender.",
        "Client CPU time (user + sys) per call and per streamed chunk, best of 30 batches (100 calls,",
        "or 10 streams, each), contenders alternated.",
        "",
        *c.ratio_table("call", "CPU us per call", per_call),
        "",
        *c.ratio_table("stream", "CPU us per chunk", per_chunk),
        "",
        f"Throughput: {THREADS} threads x {CALLS_PER_THREAD} calls sharing one gateway, against {THREADS}",
        f"threads sharing one urllib3 `PoolManager` with the floor's code; wall clock, best of {ROUNDS}",
        "rounds, alternated (CPU-bound on 2 cores shared with the server process).",
        "",
        *rate_rows,
        "",
        "| target | measured | goal | status |",
        "| --- | ---: | ---: | --- |",
        verdict("CPU per `Gateway.call`", call_ratio, CALL_TARGET),
        verdict("CPU per chunk through `Gateway.stream`", chunk_ratio, CHUNK_TARGET),
        verdict(f"{THREADS}-thread throughput", rate_ratio, THROUGHPUT_TARGET, higher_is_better=True),
    ]
    print("\n".join(lines))
    if "--results" in sys.argv:
        c.write_section(Path(sys.argv[sys.argv.index("--results") + 1]), HEADING, lines)


if __name__ == "__main__":
    main()
