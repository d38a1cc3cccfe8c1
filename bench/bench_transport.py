"""Connection reuse and CPU per call of the transports, against a canned server in another process.

Issue 5: a call, and a stream read to its terminal event, give their connection back to
the pool. For each client the server counts the TCP connections accepted during 1,000
calls and during 1,000 streams, from one thread and from 8 threads sharing the client;
the target is no more than the client's pool size. Then the client process's CPU time
per call and per streamed chunk (`time.process_time`, best of many small batches,
contenders alternated), next to the floor measured in the same run: urllib3
``PoolManager.request`` + ``json.dumps`` + ``json.loads`` (for a stream: urllib3 ``stream()``,
SSE lines split by hand, ``json.loads`` per chunk).

Run: ``python bench/bench_transport.py [--results bench/RESULTS.md]``.
"""

from __future__ import annotations

import platform
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _contenders as c
from _server import CannedServer, start_server
from _timing import best_cpu_per_call

OPERATIONS = 1000
THREADS = 8
HEADING = "## Transport"


class Subject(NamedTuple):
    """A client under test: how to call, how to stream, its pool size, and how to close it."""

    call: Callable[[], object]
    stream: Callable[[], object]
    pool: int
    close: Callable[[], None]


def omnillm_urllib3(server: CannedServer) -> Subject:
    client = c.omnillm_client(server)
    return Subject(c.client_call(client), c.client_stream(client), 10, client.close)


def omnillm_requests(server: CannedServer) -> Subject:
    client = c.omnillm_client(server, requests_session=True)
    session = client.transport.session  # type: ignore[attr-defined]
    # requests keeps up to 10 connections per host (HTTPAdapter's default pool_maxsize).
    return Subject(c.client_call(client), c.client_stream(client), 10, session.close)


def omnillm_gateway(server: CannedServer) -> Subject:
    gw = c.gateway(server, pool_maxsize=16)
    return Subject(c.gateway_call(gw), c.gateway_stream(gw), 16, gw.close)


def raw_urllib3(server: CannedServer) -> Subject:
    pool = c.raw_pool(10)
    return Subject(c.raw_call(server, pool), c.raw_stream(server, pool), 10, pool.clear)


def openai_sdk(server: CannedServer) -> Optional[Subject]:
    sdk = c.openai_client(server)
    if sdk is None:
        return None
    # httpx keeps up to 100 idle connections per pool in the SDK's default limits.
    return Subject(c.openai_call(sdk), c.openai_stream(sdk), 100, sdk.close)


SUBJECTS: Dict[str, Callable[[CannedServer], Optional[Subject]]] = {
    "raw urllib3 (floor)": raw_urllib3,
    "omnillm Client (urllib3)": omnillm_urllib3,
    "omnillm Client (requests)": omnillm_requests,
    "omnillm Gateway": omnillm_gateway,
    "openai SDK": openai_sdk,
}


def run_threads(fn: Callable[[], object], total: int, threads: int) -> None:
    """``total`` calls of ``fn`` spread over ``threads`` threads; the first error is raised."""
    errors: List[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(total // threads):
                fn()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]


def connections(server: CannedServer, make: Callable[[CannedServer], Optional[Subject]]) -> Optional[List[int]]:
    """New connections per `OPERATIONS` calls and streams, 1 and `THREADS` threads, each on a fresh client."""
    out: List[int] = []
    for kind in ("call", "stream"):
        for threads in (1, THREADS):
            subject = make(server)
            if subject is None:
                return None
            before, _ = server.counters()
            run_threads(getattr(subject, kind), OPERATIONS, threads)
            after, _ = server.counters()
            subject.close()
            out.append(after - before)
    return out


def connection_rows(server: CannedServer) -> Tuple[List[str], List[str]]:
    """The connection table and the names of the clients that missed the target."""
    rows = [
        f"| client | pool size | calls, 1 thread | calls, {THREADS} threads | streams, 1 thread "
        f"| streams, {THREADS} threads |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    missed: List[str] = []
    for name, make in SUBJECTS.items():
        counts = connections(server, make)
        if counts is None:
            continue
        subject = make(server)
        assert subject is not None
        subject.close()
        rows.append(f"| {name} | {subject.pool} | " + " | ".join(f"{n:,}" for n in counts) + " |")
        if max(counts) > subject.pool:
            missed.append(name)
    return rows, missed


def cpu_rows(server: CannedServer) -> Tuple[List[str], List[str]]:
    """CPU per call and per streamed chunk for the floor and each transport."""
    named = {"floor": "raw urllib3 (floor)", **{n: n for n in SUBJECTS if "floor" not in n and "Gateway" not in n}}
    live = {short: SUBJECTS[full](server) for short, full in named.items()}
    subjects = {name: s for name, s in live.items() if s is not None}
    calls = {name: s.call for name, s in subjects.items()}
    streams = {name: s.stream for name, s in subjects.items()}
    for fn in [*calls.values(), *streams.values()]:
        fn()  # connect and warm up before timing
    per_call = best_cpu_per_call(calls, 100, 30)
    per_stream = best_cpu_per_call(streams, 10, 30)
    chunks = c.stream_chunks()
    for s in subjects.values():
        s.close()
    return (
        c.ratio_table("call", "CPU us per call", per_call),
        c.ratio_table("stream", "CPU us per chunk", {n: v / chunks for n, v in per_stream.items()}),
    )


def main() -> None:
    server = start_server()
    try:
        conn_rows, missed = connection_rows(server)
        call_rows, chunk_rows = cpu_rows(server)
    finally:
        server.stop()
    verdict = (
        "Every client stayed within its pool size."
        if not missed
        else f"Over the pool size (target missed): {', '.join(missed)}."
    )
    lines = [
        f"`python bench/bench_transport.py` ({date.today().isoformat()}, Python {platform.python_version()},",
        "shared 2-core machine), against `bench/_server.py` in its own process (canned chat-completions",
        f"JSON, or a {c.stream_chunks()}-chunk SSE stream, keep-alive, TCP_NODELAY).",
        "",
        f"New TCP connections accepted by the server per {OPERATIONS:,} operations, each run on a fresh",
        f"client (so the first connections count); with {THREADS} threads the client is shared.",
        "Target: no more than the pool size.",
        "",
        *conn_rows,
        "",
        verdict,
        "",
        "Client CPU time (user + sys, `time.process_time`) per call and per streamed chunk,",
        "best of 30 batches (100 calls, or 10 streams, each), contenders alternated.",
        "",
        *call_rows,
        "",
        *chunk_rows,
    ]
    print("\n".join(lines))
    if "--results" in sys.argv:
        c.write_section(Path(sys.argv[sys.argv.index("--results") + 1]), HEADING, lines)


if __name__ == "__main__":
    main()
