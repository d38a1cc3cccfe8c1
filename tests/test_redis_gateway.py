"""Gateways in several processes sharing one `RedisStateBackend`, against one mock provider.

Every worker is a fresh interpreter (``multiprocessing`` spawn) that builds its own
`Gateway` with its own backend pointed at the test's redis-server, so nothing is shared
except what goes through Redis and the mock provider's sockets.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from typing import Any, Dict, Iterator, List

import pytest
from redis_server import RedisServer, require_redis

require_redis()

from omnillm import LlmRequest, Message  # noqa: E402
from omnillm.errors import BudgetExceededError, RateLimitError, StateBackendError  # noqa: E402
from omnillm.gateway import BreakerConfig, Gateway, KeyConfig, PoolConfig, Price, RetryPolicy  # noqa: E402
from omnillm.gateway.redis_state import RedisStateBackend  # noqa: E402
from omnillm.testing import Fault, MockProvider, MockReply  # noqa: E402

PRICES = {"m-1": Price.usd(1.0, 2.0)}
SPAWN = multiprocessing.get_context("spawn")
_prefixes = itertools.count(1)


def request() -> LlmRequest:
    return LlmRequest(model="m-1", messages=[Message.user("hello")], max_output_tokens=50)


def build(cfg: Dict[str, Any], labels: List[str]) -> Gateway:
    """The gateway a worker (or the test itself) builds from plain settings."""
    state = RedisStateBackend(
        cfg["redis"],
        prefix=cfg["prefix"],
        on_unavailable=cfg.get("policy", "fail_closed"),
        probe_interval_s=cfg.get("probe_interval_s", 1.0),
        socket_timeout=cfg.get("socket_timeout", 0.2),
    )
    keys = [
        KeyConfig(
            "openai",
            f"sk-{label}",
            label=label,
            base_url=cfg["mock"] + "/v1",
            wire_format="open_ai_chat_completions",
            rpm=cfg.get("rpm"),
        )
        for label in labels
    ]
    pool = PoolConfig(
        rate_limit_wait_s=cfg.get("wait_s", 0.0),
        retry=RetryPolicy(max_attempts=1),
        breaker=BreakerConfig(failure_threshold=2, cooldown_s=60.0, min_calls=100),
    )
    return Gateway(
        keys, state=state, pool_config=pool, prices=PRICES, budget_limit_usd=cfg.get("budget_usd"), request_timeout=10
    )


# --------------------------------------------------------------------------- worker processes


def budget_worker(cfg: Dict[str, Any], out: Any) -> None:
    """Threads calling until the shared budget refuses; reports what each call cost."""
    gateway = build(cfg, ["a", "b"])
    costs: List[int] = []
    errors: List[str] = []
    lock = threading.Lock()

    def loop() -> None:
        while True:
            try:
                response = gateway.call(request())
            except BudgetExceededError:
                return
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                return
            with lock:
                costs.append(response.cost_micros or 0)

    threads = [threading.Thread(target=loop) for _ in range(cfg["threads"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gateway.close()
    out.put({"costs": costs, "errors": errors})


def rpm_worker(cfg: Dict[str, Any], start: Any, out: Any) -> None:
    """Threads calling as fast as they can, never waiting for capacity, for the given seconds."""
    gateway = build(cfg, ["a"])
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    start.wait(30)
    until = time.monotonic() + cfg["seconds"]

    def loop() -> None:
        while time.monotonic() < until:
            try:
                gateway.call(request())
                outcome = "ok"
            except RateLimitError:
                outcome = "limited"
                time.sleep(0.01)
            except Exception as exc:
                outcome = type(exc).__name__
            with lock:
                counts[outcome] += 1

    threads = [threading.Thread(target=loop) for _ in range(cfg["threads"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gateway.close()
    out.put(dict(counts))


def breaker_worker(cfg: Dict[str, Any], out: Any) -> None:
    """Calls on key ``a`` alone until its breaker opens (the mock fails every call on it)."""
    gateway = build(cfg, ["a"])
    kinds = []
    for _ in range(10):
        try:
            gateway.call(request())
            kinds.append("ok")
        except Exception as exc:
            kinds.append(type(exc).__name__)
        if gateway.pool_status().keys[0].circuit == "open":
            break
    out.put({"kinds": kinds, "circuit": gateway.pool_status().keys[0].circuit})
    gateway.close()


class _OutageLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.outages = 0
        self.recoveries = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        self.outages += "unreachable" in text
        self.recoveries += "answers again" in text


def outage_worker(cfg: Dict[str, Any], phase: Any, stop: Any, ready: Any, out: Any) -> None:
    """Threads calling in a loop while the test kills and restarts redis-server; outcomes by phase.

    ``ready`` is released once when the first call succeeds before the kill and once when
    the first succeeds after the restart, so the test moves on by events, not by guesses
    of how long a loaded machine needs.
    """
    log = _OutageLog()
    logging.getLogger("omnillm").addHandler(log)
    gateway = build(cfg, ["a", "b"])
    outcomes: Dict[int, Counter[str]] = {0: Counter(), 1: Counter(), 2: Counter()}
    costs: List[int] = []
    slowest = [0.0]
    lock = threading.Lock()
    signalled = {0: False, 2: False}

    def loop() -> None:
        while not stop.is_set():
            began = time.monotonic()
            try:
                response = gateway.call(request())
                outcome = "ok"
            except Exception as exc:
                outcome = type(exc).__name__
                response = None
            # By the phase at the end: the test moves to 1 before it kills the server.
            now = phase.value
            with lock:
                slowest[0] = max(slowest[0], time.monotonic() - began)
                outcomes[now][outcome] += 1
                if response is not None:
                    costs.append(response.cost_micros or 0)
                if outcome == "ok" and now in signalled and not signalled[now]:
                    signalled[now] = True
                    ready.release()
            time.sleep(0.005)

    threads = [threading.Thread(target=loop) for _ in range(cfg["threads"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gateway.close()
    out.put(
        {
            "outcomes": {k: dict(v) for k, v in outcomes.items()},
            "costs": costs,
            "slowest_s": slowest[0],
            "outages_logged": log.outages,
            "recoveries_logged": log.recoveries,
        }
    )


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="Bonjour tout le monde")) as m:
        yield m


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()


def settings(url: str, mock: MockProvider, **kw: Any) -> Dict[str, Any]:
    return {"redis": url, "prefix": f"gw{next(_prefixes)}:", "mock": mock.base_url, **kw}


def collect(processes: List[Any], out: Any, timeout: float = 120.0) -> List[Any]:
    results = [out.get(timeout=timeout) for _ in processes]
    for p in processes:
        p.join(timeout=30)
        assert p.exitcode == 0
    return results


# --------------------------------------------------------------------------- tests


@pytest.mark.slow
def test_four_processes_sharing_one_budget_never_overspend(server: RedisServer, mock: MockProvider) -> None:
    cfg = settings(server.url, mock, budget_usd=0.005, threads=4)
    out = SPAWN.Queue()
    processes = [SPAWN.Process(target=budget_worker, args=(cfg, out)) for _ in range(4)]
    for p in processes:
        p.start()
    results = collect(processes, out)
    assert [r["errors"] for r in results] == [[]] * 4
    settled = sum(sum(r["costs"]) for r in results)
    calls = sum(len(r["costs"]) for r in results)
    with build(cfg, ["a", "b"]) as observer:
        shared = observer.pool_status().budget
    assert shared is not None
    assert shared["spent_micros"] == settled  # every settlement counted once, none lost
    # Each process alone would have spent up to the limit: together they stayed under one.
    assert settled <= 5_000
    assert shared["reserved_micros"] == 0 and shared["overspend_micros"] == 0
    assert len(mock.requests) == calls
    assert all(r["costs"] for r in results)  # every process got a share before the limit


@pytest.mark.slow
def test_a_global_rpm_holds_across_processes(server: RedisServer, mock: MockProvider) -> None:
    rpm = 12
    cfg = settings(server.url, mock, rpm=rpm, threads=3, seconds=1.5)
    out, start = SPAWN.Queue(), SPAWN.Event()
    processes = [SPAWN.Process(target=rpm_worker, args=(cfg, start, out)) for _ in range(4)]
    for p in processes:
        p.start()
    began = time.monotonic()
    start.set()
    results = collect(processes, out)
    elapsed = time.monotonic() - began
    admitted = sum(r.get("ok", 0) for r in results)
    assert all(set(r) <= {"ok", "limited"} for r in results), results
    # The bucket starts full and refills at rpm/60 per second while the test runs.
    assert admitted <= rpm + int(elapsed * rpm / 60) + 1
    assert admitted >= rpm
    assert len(mock.requests) == admitted
    assert sum(r.get("limited", 0) for r in results) > 0


@pytest.mark.slow
def test_a_breaker_opened_in_one_process_routes_traffic_away_in_another(
    server: RedisServer, mock: MockProvider
) -> None:
    cfg = settings(server.url, mock)
    mock.add_fault(Fault(status=500, key="sk-a"))
    out = SPAWN.Queue()
    opener = SPAWN.Process(target=breaker_worker, args=(cfg, out))
    opener.start()
    (result,) = collect([opener], out)
    assert result["circuit"] == "open", result
    mock.reset()  # key a would answer again, if anyone sent it anything
    with build(cfg, ["a", "b"]) as other:
        status = {k.label: k.circuit for k in other.pool_status().keys}
        assert status == {"a": "open", "b": "closed"}
        for _ in range(10):
            other.call(request())
    assert Counter(r.key for r in mock.requests) == {"sk-b": 10}


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["fail_closed", "fail_open"])
def test_killing_and_restarting_redis_mid_run_follows_the_policy(mock: MockProvider, policy: str) -> None:
    with RedisServer(appendonly=True) as srv:
        # A timeout longer than the default: on a loaded machine a slow answer must not look like an outage.
        cfg = settings(
            srv.url,
            mock,
            policy=policy,
            probe_interval_s=0.2,
            socket_timeout=1.0,
            rpm=100_000,
            budget_usd=100.0,
            threads=3,
        )
        phase, stop, ready, out = SPAWN.Value("i", 0), SPAWN.Event(), SPAWN.Semaphore(0), SPAWN.Queue()
        processes = [SPAWN.Process(target=outage_worker, args=(cfg, phase, stop, ready, out)) for _ in range(4)]
        for p in processes:
            p.start()
        for _ in processes:
            assert ready.acquire(timeout=60)  # every worker has had a call succeed
        time.sleep(0.3)
        phase.value = 1
        srv.kill()
        time.sleep(1.0)
        srv.start()
        phase.value = 2
        for _ in processes:
            assert ready.acquire(timeout=60)  # every worker is back on Redis
        time.sleep(0.3)
        stop.set()
        results = collect(processes, out)
        with build(cfg, ["a", "b"]) as observer:
            shared = observer.pool_status().budget
    assert shared is not None
    before: Counter[str] = Counter()
    during: Counter[str] = Counter()
    after_restart: Counter[str] = Counter()
    for r in results:
        before.update(r["outcomes"][0])
        during.update(r["outcomes"][1])
        after_restart.update(r["outcomes"][2])
        assert r["slowest_s"] < 5.0  # no call hung on the dead server
        assert r["outages_logged"] == 1 and r["recoveries_logged"] == 1  # loud, but once per outage
    assert set(before) == {"ok"}
    if policy == "fail_closed":
        assert during["StateBackendError"] > 0
        assert set(during) <= {"ok", "StateBackendError"}
    else:
        assert set(during) == {"ok"} and during["ok"] > 0
    assert after_restart["ok"] > 0
    assert set(after_restart) <= {"ok", "StateBackendError"}
    # Reservations made before the kill and settled during the outage were replayed once;
    # spending during a fail_open outage reached the shared total.
    assert shared["spent_micros"] == sum(sum(r["costs"]) for r in results)
    assert shared["reserved_micros"] == 0


def test_the_refusal_names_the_cause(server: RedisServer, mock: MockProvider) -> None:
    with RedisServer() as srv:
        cfg = settings(srv.url, mock, rpm=1000)
        gateway = build(cfg, ["a"])
        gateway.call(request())
        srv.kill()
        with pytest.raises(StateBackendError, match=r"unreachable.*fail_closed"):
            gateway.call(request())
        gateway.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_gateway_forked_after_construction_shares_the_budget(server: RedisServer, mock: MockProvider) -> None:
    cfg = settings(server.url, mock, budget_usd=1.0)
    with build(cfg, ["a"]) as gateway:
        first = gateway.call(request()).cost_micros
        parent_owner = gateway.state.owner  # type: ignore[attr-defined]
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            code = 1
            try:
                # The fork hook rebuilt the gateway on a fresh backend: new connections, new owner.
                fresh = gateway.state.owner != parent_owner  # type: ignore[attr-defined]
                code = 0 if fresh and gateway.call(request()).cost_micros == first else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        shared = gateway.pool_status().budget
    assert first and shared is not None
    assert shared["spent_micros"] == 2 * first and shared["reserved_micros"] == 0
