"""`RedisStateBackend`: the gateway's shared state in Redis, for many processes on many machines.

With `InMemoryState` every worker process has its own budget, rate limits and breakers;
pointing every worker's `Gateway` at one `RedisStateBackend` makes them one: a budget
holds across processes, a key's RPM is global, a breaker opened by one worker is seen
by all, and a 429's cooldown applies to every worker using the key. Install the extra:
``pip install omnillm[redis]`` (the `redis` client, imported only when a backend is made).

Every operation that changes state is one Lua script (`omnillm.gateway.redis_lua`),
atomic on the server (most reads are single commands), and every script that needs the
time reads the server's clock, so the callers' clocks (``now`` arguments) are ignored.
Breaker records and cooldowns read within the last ``read_cache_s`` (50 ms) are served
from memory; a compare-and-set the server refuses drops the cached record. Breaker
records are stamped with `shared_clock`: Redis
server time, measured once every ``clock_sync_s`` and carried forward on the local
monotonic clock in between. Keys are ``<prefix><kind>:<name>``; those that can go
stale expire: token buckets once they would be full again, concurrency holdings after
``holder_ttl_s`` without their owner refreshing them, closed breakers after
``breaker_ttl_s``, daily and monthly budget windows a while after the window ends,
cooldowns when they run out, an ejection slot claimed for a trip after
``slot_claim_ttl_s`` unless the trip's record was stored (the slot then lasts exactly as
long as the record says ejected), per-key traffic counters ``stats_ttl_s`` after the
key's last call. All-time budgets never expire.

Per-key traffic (`key_stats_add`, `key_stats`): requests, tokens, spending, errors,
latency and calls in flight, counted in the process and sent at most every
``stats_flush_s`` with a breaker read that goes to Redis anyway, so that a status page
can show what every worker did.

Budgets: each reservation is stored under its id with a lease (``lease_ttl_s``): a
worker killed mid-call cannot hold its money forever; a lease that runs out is
reclaimed and a settlement arriving after that is counted as overspend. Settling or
releasing marks the id done for ``replay_window_s``, which makes a settlement applied
twice (a retry after a timeout whose first attempt did land) count once.

Redis unreachable or slow: every command has a short timeout (``socket_timeout``, 0.2 s
by default); after a failure the backend stops talking to Redis and probes it again at
most every ``probe_interval_s``, so a dead Redis costs one timeout per probe, not one per
call. Meanwhile ``on_unavailable`` decides:

* ``"fail_closed"`` (the default): admission refuses calls with `StateBackendError`
  (taking rate-limit capacity, and reserving budget unless ``budgets_on_unavailable``
  says otherwise);
* ``"fail_open"``: admission uses per-process state (`InMemoryState`): each process
  applies ``local_share`` of every limit (say 1 / number of workers), budgets seeded
  with the spending this process last saw in Redis. One WARNING on the ``omnillm``
  logger when the outage starts and one when it ends; nothing per call.

In both modes breaker, cooldown and status reads fall back to the per-process view, and
nothing that finishes a call is lost: settlements and releases of reservations made in
Redis, and the spending of reservations made locally during the outage, go to a journal
replayed (idempotently, by reservation id) by the probe that finds Redis back, before
it is used again; concurrency units are reconciled by setting this process's holding to what it
knows it holds. See ``docs/deployment.rst``.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, TypeVar

from ..errors import ConfigurationError, OmniLLMError, StateBackendError
from .circuit import BreakerState
from .redis_lua import SCRIPTS
from .state import MAX_MICROS, BucketSpec, BudgetTotals, InMemoryState

logger = logging.getLogger("omnillm")

Clock = Callable[[], float]
T = TypeVar("T")

FAIL_CLOSED = "fail_closed"
FAIL_OPEN = "fail_open"
POLICIES = (FAIL_CLOSED, FAIL_OPEN)
"""What a `RedisStateBackend` does while Redis is unreachable."""

REDIS_MAX_MICROS = (1 << 53) - 1
"""The largest amount (micro-dollars) the Redis backend accepts: Lua numbers are doubles (about 9 billion USD)."""

# A windowed budget's entry lives this long after its last use: long enough for status
# pages to show yesterday's or last month's spending.
_WINDOW_TTL_S = {re.compile(r"@\d{4}-\d{2}-\d{2}$"): 3 * 86400.0, re.compile(r"@\d{4}-\d{2}$"): 63 * 86400.0}

# Replies Redis gives while it cannot serve (loading, a replica, out of memory, a
# failover): an outage, not a bug.
_UNAVAILABLE_CODES = ("OOM", "READONLY", "LOADING", "MASTERDOWN", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS")

CLOCK_DRIFT = 1e-4
"""The rate error assumed between a worker's monotonic clock and the Redis server's (100 ppm) in `clock_error_bound`."""

# Journal entries replayed per pipeline round trip.
_REPLAY_BATCH = 200

_EPSILON = 1e-9


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"RedisStateBackend: {name} must be a positive number of seconds, not {value!r}")
    return float(value)


def _check_policy(name: str, value: str) -> str:
    if value not in POLICIES:
        raise ConfigurationError(f"RedisStateBackend: {name} must be 'fail_closed' or 'fail_open', not {value!r}")
    return value


def _check_micros(name: str, what: str, amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= REDIS_MAX_MICROS:
        raise ConfigurationError(
            f"budget {name!r}: {what} must be an integer of micro-dollars in [0, {REDIS_MAX_MICROS}] "
            f"with the Redis state backend, not {amount!r}"
        )


def _window_ttl_ms(name: str) -> int:
    for pattern, seconds in _WINDOW_TTL_S.items():
        if pattern.search(name):
            return _ms(seconds)
    return 0


def _redacted(url: str) -> str:
    """``url`` without its password (``redis://user:***@host:port/db``)."""
    return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)


# --------------------------------------------------------------------------- breaker records

_BREAKER_INTS = ("epoch", "consecutive_failures", "trips", "probes")
_BREAKER_FLOATS = ("opened_at", "cooldown_s")


def encode_breaker(record: object) -> str:
    """A `BreakerState` as canonical JSON: equal records give equal strings (the CAS compares them)."""
    if not isinstance(record, BreakerState):
        raise ConfigurationError(f"RedisStateBackend stores BreakerState records, not {type(record).__name__}")
    data: Dict[str, Any] = {
        "status": str(record.status),
        "window": [[int(i), int(good), int(bad)] for i, good, bad in record.window],
        "closed_at": None if math.isinf(record.closed_at) else float(record.closed_at),
        "ejected": bool(record.ejected),
        "reason": str(record.reason),
    }
    for name in _BREAKER_INTS:
        data[name] = int(getattr(record, name))
    for name in _BREAKER_FLOATS:
        data[name] = float(getattr(record, name))
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def decode_breaker(name: str, raw: bytes) -> BreakerState:
    """The `BreakerState` stored as ``raw``; `StateBackendError` when it is not one."""
    try:
        data = json.loads(raw)
        closed_at = data["closed_at"]
        return BreakerState(
            status=str(data["status"]),
            window=tuple((int(i), int(good), int(bad)) for i, good, bad in data["window"]),
            closed_at=-math.inf if closed_at is None else float(closed_at),
            ejected=bool(data["ejected"]),
            reason=str(data["reason"]),
            epoch=int(data["epoch"]),
            consecutive_failures=int(data["consecutive_failures"]),
            trips=int(data["trips"]),
            probes=int(data["probes"]),
            opened_at=float(data["opened_at"]),
            cooldown_s=float(data["cooldown_s"]),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise StateBackendError(
            f"redis state backend: breaker {name!r} holds an unreadable record ({type(exc).__name__})",
            backend="redis",
        ) from None


# --------------------------------------------------------------------------- journal


@dataclass(frozen=True)
class _Entry:
    """A finishing operation that could not reach Redis; replayed when it answers again."""

    kind: str  # settle | spend | release | slot_release | cooldown_clear
    name: str
    rid: str = ""
    reserved: int = 0
    actual: int = 0


@dataclass
class _KeyCounts:
    """One key's traffic since the last flush, and this process's calls in flight on it."""

    requests: int = 0
    tokens: int = 0
    spent_micros: int = 0
    latency_us: int = 0
    latencies: int = 0
    errors: Optional[Dict[str, int]] = None
    in_flight: Optional[int] = None

    def merge(self, other: _KeyCounts) -> None:
        self.requests += other.requests
        self.tokens += other.tokens
        self.spent_micros += other.spent_micros
        self.latency_us += other.latency_us
        self.latencies += other.latencies
        for name, count in (other.errors or {}).items():
            self.errors = self.errors or {}
            self.errors[name] = self.errors.get(name, 0) + count
        if self.in_flight is None:
            self.in_flight = other.in_flight


class RedisStateBackend:
    """`StateBackend` on a Redis server shared by every worker process; see the module docstring.

    ``url`` is a ``redis://`` (or ``rediss://``, ``unix://``) URL; or pass a ready
    ``client`` (a ``redis.Redis``, for Sentinel or custom pools: its timeouts are then
    yours to set short). ``prefix`` namespaces every key. ``on_unavailable`` is
    ``"fail_closed"`` or ``"fail_open"``; ``budgets_on_unavailable`` overrides it for
    budget reservations (default: the same). ``now`` is the local monotonic clock, used
    for probe scheduling and to carry the server clock between syncs.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "omnillm:",
        on_unavailable: str = FAIL_CLOSED,
        budgets_on_unavailable: Optional[str] = None,
        socket_timeout: float = 0.2,
        connect_timeout: Optional[float] = None,
        probe_interval_s: float = 1.0,
        local_share: float = 1.0,
        lease_ttl_s: float = 3600.0,
        replay_window_s: float = 86400.0,
        holder_ttl_s: float = 600.0,
        breaker_ttl_s: float = 86400.0,
        slot_claim_ttl_s: float = 30.0,
        stats_flush_s: float = 1.0,
        stats_ttl_s: float = 7 * 86400.0,
        clock_sync_s: float = 10.0,
        read_cache_s: float = 0.05,
        client: Any = None,
        now: Clock = time.monotonic,
    ) -> None:
        if not isinstance(prefix, str):
            raise ConfigurationError("RedisStateBackend: prefix must be a string")
        if not (isinstance(local_share, (int, float)) and 0 < local_share <= 1):
            raise ConfigurationError(f"RedisStateBackend: local_share must be in (0, 1], not {local_share!r}")
        self.prefix = prefix
        self.on_unavailable = _check_policy("on_unavailable", on_unavailable)
        self.budgets_on_unavailable = _check_policy(
            "budgets_on_unavailable", on_unavailable if budgets_on_unavailable is None else budgets_on_unavailable
        )
        self.probe_interval_s = _positive("probe_interval_s", probe_interval_s)
        self.local_share = float(local_share)
        self._lease_ms = _ms(_positive("lease_ttl_s", lease_ttl_s))
        self._done_ms = _ms(_positive("replay_window_s", replay_window_s))
        self._holder_ms = _ms(_positive("holder_ttl_s", holder_ttl_s))
        self._breaker_ms = _ms(_positive("breaker_ttl_s", breaker_ttl_s))
        self._claim_ms = _ms(_positive("slot_claim_ttl_s", slot_claim_ttl_s))
        self._clock_sync_s = _positive("clock_sync_s", clock_sync_s)
        if isinstance(read_cache_s, bool) or not isinstance(read_cache_s, (int, float)) or not 0 <= read_cache_s < 60:
            raise ConfigurationError(
                f"RedisStateBackend: read_cache_s must be in [0, 60) seconds, not {read_cache_s!r}"
            )
        self._read_cache_s = float(read_cache_s)
        self._socket_timeout = _positive("socket_timeout", socket_timeout)
        self._connect_timeout = _positive(
            "connect_timeout", socket_timeout if connect_timeout is None else connect_timeout
        )
        self._now = now
        self._url = url
        self._given_client = client
        self._config: Dict[str, Any] = dict(
            prefix=prefix,
            on_unavailable=on_unavailable,
            budgets_on_unavailable=budgets_on_unavailable,
            socket_timeout=socket_timeout,
            connect_timeout=connect_timeout,
            probe_interval_s=probe_interval_s,
            local_share=local_share,
            lease_ttl_s=lease_ttl_s,
            replay_window_s=replay_window_s,
            holder_ttl_s=holder_ttl_s,
            breaker_ttl_s=breaker_ttl_s,
            slot_claim_ttl_s=slot_claim_ttl_s,
            stats_flush_s=stats_flush_s,
            stats_ttl_s=stats_ttl_s,
            clock_sync_s=clock_sync_s,
            read_cache_s=read_cache_s,
            now=now,
        )
        self._client = client if client is not None else self._connect(url)
        self._where = _redacted(url) if client is None else "a caller-supplied client"
        self._scripts = {name: self._client.register_script(source) for name, source in SCRIPTS.items()}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        """This backend's identity in Redis: concurrency units it holds are counted under it."""
        self._owner_key = f"{prefix}owner:{self.owner}"
        # Ejection slots this thread claimed and has not yet bound to a breaker record or
        # given back, and slots a swap of this thread already gave back (see `slot_release`).
        self._slot_thread = threading.local()
        self._claims = itertools.count(1)

        # Outage bookkeeping.
        self._mode_lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._down = False
        self._down_since = 0.0
        self._next_probe = 0.0
        self._outages = 0
        self._last_error = ""
        # The per-process stand-in while Redis is away, and what it needs to start from.
        self._local = InMemoryState()
        self._seed_lock = threading.Lock()
        self._seeds: Dict[str, int] = {}
        self._committed: Dict[str, int] = {}
        self._breakers_seen: Dict[str, bytes] = {}
        # Recent reads of breaker records and cooldowns (local time of the read, value).
        self._breaker_cache: Dict[str, Tuple[float, Optional[BreakerState]]] = {}
        self._cooldown_cache: Dict[str, Tuple[float, float]] = {}
        self._local_rids: Dict[str, Tuple[str, bool]] = {}
        self._scaled: Dict[BucketSpec, BucketSpec] = {}
        # Finishing operations waiting for Redis.
        self._journal_lock = threading.RLock()
        self._journal: List[_Entry] = []
        # Concurrency units this owner holds in Redis and locally, by bucket name.
        self._sem_lock = threading.Lock()
        self._held: Dict[str, float] = {}
        self._local_held: Dict[str, float] = {}
        self._dirty: Set[str] = set()
        self._owner_touched = -math.inf
        # The server clock: local monotonic time plus an offset measured with TIME.
        self._clock_lock = threading.Lock()
        self._offset = time.time() - now()
        self._synced_at = -math.inf
        self._sync_rtt = math.inf
        self._clock_last = -math.inf
        # Per-key traffic counters waiting to be sent (see `key_stats_add`).
        self._stats_lock = threading.Lock()
        self._stats: Dict[str, _KeyCounts] = {}
        self._stats_flushed = now()
        self._stats_flush_s = _positive("stats_flush_s", stats_flush_s)
        self._stats_ms = _ms(_positive("stats_ttl_s", stats_ttl_s))

    def _connect(self, url: str) -> Any:
        try:
            import redis
        except ImportError:
            raise ConfigurationError("RedisStateBackend needs the redis client: pip install 'omnillm[redis]'") from None
        options: Dict[str, Any] = dict(
            socket_timeout=self._socket_timeout,
            socket_connect_timeout=self._connect_timeout,
            retry_on_timeout=False,
        )
        try:
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            # The client's own retries would multiply the timeout; this backend has its own policy.
            options["retry"] = Retry(NoBackoff(), 0)
        except ImportError:
            pass
        try:
            return redis.Redis.from_url(url, **options)
        except ValueError as exc:
            raise ConfigurationError(f"RedisStateBackend: bad url {_redacted(url)!r}: {exc}") from None

    def forked(self) -> RedisStateBackend:
        """A backend for a forked child: same server and settings, a new owner, nothing in flight."""
        return RedisStateBackend(self._url, client=self._given_client, **self._config)

    def close(self) -> None:
        """Send the per-key counters still waiting, then close the connections this backend opened.

        A caller-supplied client is left open.
        """
        self._flush_stats()
        if self._given_client is None:
            self._client.close()

    def __repr__(self) -> str:
        return (
            f"RedisStateBackend({self._where!r}, prefix={self.prefix!r}, on_unavailable={self.on_unavailable!r}, "
            f"budgets_on_unavailable={self.budgets_on_unavailable!r})"
        )

    # ------------------------------------------------------------------ outages

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    @staticmethod
    def _is_outage(exc: BaseException) -> bool:
        try:
            import redis.exceptions as rx
        except ImportError:  # pragma: no cover - a caller-supplied client without the package
            return isinstance(exc, OSError)
        # The client turns some error codes into classes (and drops the code from the message).
        names = ("ReadOnlyError", "OutOfMemoryError", "TryAgainError", "ClusterDownError")
        unavailable = tuple(getattr(rx, name) for name in names if hasattr(rx, name))
        if isinstance(exc, (rx.ConnectionError, rx.TimeoutError, OSError, *unavailable)):
            return True
        return isinstance(exc, rx.ResponseError) and str(exc).split(" ", 1)[0] in _UNAVAILABLE_CODES

    def _failed(self, exc: BaseException) -> None:
        """Redis just failed: stop using it until the next probe; warn once per outage."""
        with self._mode_lock:
            self._next_probe = self._now() + self.probe_interval_s
            self._last_error = type(exc).__name__
            if self._down:
                return
            self._down = True
            self._down_since = self._now()
            self._outages += 1
            self._breaker_cache.clear()
            self._cooldown_cache.clear()
        if self.on_unavailable == self.budgets_on_unavailable:
            policy = self.on_unavailable
        else:
            policy = f"{self.on_unavailable} (budgets: {self.budgets_on_unavailable})"
        meaning = {
            FAIL_CLOSED: "refusing calls that need shared limits",
            FAIL_OPEN: "falling back to per-process limits",
        }
        logger.warning(
            "omnillm: Redis state backend at %s is unreachable (%s: %s); policy %s: %s until it answers "
            "(probing every %.1fs)",
            self._where,
            type(exc).__name__,
            exc,
            policy,
            meaning[self.on_unavailable],
            self.probe_interval_s,
        )

    def _usable(self) -> bool:
        """True when Redis should be tried now: it is up, or it is time to probe it and the probe succeeds."""
        if not self._down:
            return True
        if self._now() < self._next_probe or not self._probe_lock.acquire(blocking=False):
            return False
        try:
            if self._recovered():
                return True
            try:
                self._client.ping()
                replayed = self._replay()
                self._sync_semaphores()
            except Exception as exc:
                # Whatever the probe ran into, Redis is not back yet: try again at the next probe.
                with self._mode_lock:
                    self._next_probe = self._now() + self.probe_interval_s
                    self._last_error = type(exc).__name__
                return False
            with self._mode_lock:
                self._down = False
                lasted = self._now() - self._down_since
            logger.warning(
                "omnillm: Redis state backend at %s answers again after %.1fs; %d journaled operation(s) replayed",
                self._where,
                lasted,
                replayed,
            )
            return True
        finally:
            self._probe_lock.release()

    def _recovered(self) -> bool:
        # Another thread's probe may have brought Redis back while this one waited for the lock.
        return not self._down

    def _attempt(self, run: Callable[[], T]) -> Tuple[bool, Optional[T], bool]:
        """Run ``run`` on Redis: (succeeded, result, attempted) where attempted means it may have landed."""
        if not self._usable():
            return False, None, False
        try:
            result = run()
        except Exception as exc:
            if self._is_outage(exc):
                self._failed(exc)
                return False, None, True
            if type(exc).__module__.startswith("redis"):
                raise self._translate(exc) from None
            raise
        if self._journal:
            self._drain()
        return True, result, True

    def _drain(self) -> None:
        """Replay what was journaled after the last probe's replay (a race with the recovery)."""
        if not self._probe_lock.acquire(blocking=False):
            return
        try:
            self._replay()
        except Exception as exc:
            if not self._is_outage(exc):
                raise
            self._failed(exc)
        finally:
            self._probe_lock.release()

    def _translate(self, exc: BaseException) -> OmniLLMError:
        text = str(exc)
        if text.startswith("OMNILLM "):
            # A broken budget invariant, reported by the script in the words InMemoryState uses.
            return ConfigurationError(text[len("OMNILLM ") :])
        return StateBackendError(f"redis state backend ({self._where}): {type(exc).__name__}: {exc}", backend="redis")

    def _refuse(self, what: str) -> StateBackendError:
        wait = max(0.0, self._next_probe - self._now())
        return StateBackendError(
            f"redis state backend ({self._where}) is unreachable ({self._last_error}); refusing to {what} "
            f"because the policy is fail_closed; next attempt in {wait:.2f}s",
            backend="redis",
            retry_after=wait,
        )

    @property
    def available(self) -> bool:
        """False while the backend considers Redis unreachable (between a failure and a good probe)."""
        return not self._down

    def status(self) -> Dict[str, Any]:
        """The backend's health for status pages (plain data, no secret)."""
        with self._journal_lock:
            journal = len(self._journal)
        out: Dict[str, Any] = {
            "backend": "redis",
            "where": self._where,
            "prefix": self.prefix,
            "reachable": not self._down,
            "on_unavailable": self.on_unavailable,
            "budgets_on_unavailable": self.budgets_on_unavailable,
            "outages": self._outages,
            "journal": journal,
            "clock_error_bound_s": self.clock_error_bound(),
        }
        if self._down:
            out["down_for_s"] = max(0.0, self._now() - self._down_since)
            out["last_error"] = self._last_error
        return out

    # ------------------------------------------------------------------ journal

    def _finish(self, entry: _Entry) -> None:
        """Apply a finishing operation now, or journal it if Redis does not answer."""
        done, _, _ = self._attempt(lambda: self._apply(entry, self._client))
        if not done:
            # Replayed by the probe that finds Redis back, or by the first operation after it.
            with self._journal_lock:
                self._journal.append(entry)

    def _apply(self, entry: _Entry, client: Any) -> Any:
        """Send ``entry`` through ``client`` (the connection, or a pipeline)."""
        if entry.kind in ("settle", "spend"):
            return self._scripts["budget_settle"](
                keys=self._budget_keys(entry.name, entry.rid),
                args=[
                    entry.rid,
                    entry.reserved,
                    entry.actual,
                    self._done_ms,
                    _window_ttl_ms(entry.name),
                    entry.kind,
                ],
                client=client,
            )
        if entry.kind == "release":
            return self._scripts["budget_release"](
                keys=self._budget_keys(entry.name, entry.rid),
                args=[entry.rid, entry.reserved, self._done_ms, _window_ttl_ms(entry.name)],
                client=client,
            )
        if entry.kind == "slot_release":
            return self._scripts["slot_release"](
                keys=[self._key("slots", entry.name)], args=[entry.rid, self._claim_prefix], client=client
            )
        return client.delete(self._key("cooldown", entry.name))

    def _replay(self) -> int:
        """Send the journal to Redis in pipelined batches; every entry is idempotent or harmless to repeat."""
        replayed = 0
        with self._journal_lock:
            while self._journal:
                batch = self._journal[:_REPLAY_BATCH]
                pipe = self._client.pipeline(transaction=False)
                for entry in batch:
                    self._apply(entry, pipe)
                results = pipe.execute(raise_on_error=False)
                for entry, result in zip(batch, results):
                    if isinstance(result, Exception):
                        if self._is_outage(result):
                            raise result
                        # A replay Redis rejects for good (a broken invariant) would block every later one.
                        logger.error(
                            "omnillm: dropping journaled %s of %r, which Redis rejected: %s",
                            entry.kind,
                            entry.name,
                            result,
                        )
                del self._journal[: len(batch)]
                replayed += len(batch)
        return replayed

    # ------------------------------------------------------------------ budgets

    def _budget_keys(self, name: str, rid: str) -> List[str]:
        return [
            self._key("budget", name),
            self._key("budget-res", name),
            self._key("budget-lease", name),
            self._key("budget-done", f"{name}:{rid}"),
        ]

    def budget_reserve(self, name: str, amount: int, limit: int, *, rid: str = "") -> Tuple[bool, int]:
        """Reserve ``amount`` if spent + reserved + amount <= ``limit``; return (done, available before)."""
        _check_micros(name, "a reservation", amount)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ConfigurationError(f"budget {name!r}: the limit must be a non-negative integer, not {limit!r}")
        capped = min(limit, REDIS_MAX_MICROS)

        def run() -> Tuple[bool, int]:
            done, available, committed = self._scripts["budget_reserve"](
                keys=self._budget_keys(name, rid),
                args=[rid, amount, capped, self._lease_ms, _window_ttl_ms(name)],
            )
            self._committed[name] = int(committed)
            return bool(done), int(available)

        ok, result, attempted = self._attempt(run)
        if ok and result is not None:
            return result
        if self.budgets_on_unavailable == FAIL_CLOSED:
            if attempted and rid:
                # The reservation may have landed before the connection failed: undo it once Redis is back.
                self._finish(_Entry("release", name, rid, amount))
            raise self._refuse(f"reserve {amount} micro-USD in budget {name!r}")
        return self._reserve_locally(name, amount, capped, rid, attempted)

    def _reserve_locally(self, name: str, amount: int, limit: int, rid: str, attempted: bool) -> Tuple[bool, int]:
        local = f"{name}#{self._outages}"
        with self._seed_lock:
            seed = self._seeds.get(local)
            if seed is None:
                # Start from what this process last saw spent and reserved in Redis.
                seed = min(self._committed.get(name, 0), MAX_MICROS)
                self._seeds[local] = seed
                if seed:
                    self._local.budget_reserve(local, seed, MAX_MICROS)
                    self._local.budget_settle(local, seed, seed)
        local_limit = limit if self.local_share >= 1 else seed + math.floor(max(0, limit - seed) * self.local_share)
        done, available = self._local.budget_reserve(local, amount, local_limit)
        if done and rid:
            self._local_rids[rid] = (local, attempted)
        elif attempted and rid:
            self._finish(_Entry("release", name, rid, amount))
        return done, available

    def budget_settle(self, name: str, reserved: int, actual: int, *, rid: str = "") -> None:
        """Turn a reservation of ``reserved`` into ``actual`` spent; journaled while Redis is away.

        Exactly once needs the reservation's ``rid`` (`Budget` always passes one); without
        it a replayed settlement is plain arithmetic, and one reserved locally during a
        fail-open outage is not found in Redis.
        """
        _check_micros(name, "a settled cost", actual)
        _check_micros(name, "a reservation", reserved)
        local = self._local_rids.pop(rid, None) if rid else None
        if local is not None:
            self._local.budget_settle(local[0], reserved, actual)
            # Money spent during the outage must reach the shared total: replayed under the same id.
            self._finish(_Entry("spend", name, rid, reserved, actual))
            return
        self._finish(_Entry("settle", name, rid, reserved, actual))

    def budget_release(self, name: str, reserved: int, *, rid: str = "") -> None:
        """Give back a reservation of ``reserved`` unspent; journaled while Redis is away."""
        _check_micros(name, "a reservation", reserved)
        local = self._local_rids.pop(rid, None) if rid else None
        if local is not None:
            self._local.budget_release(local[0], reserved)
            if local[1]:
                # The Redis reservation attempted for this id may have landed: release it there too.
                self._finish(_Entry("release", name, rid, reserved))
            return
        self._finish(_Entry("release", name, rid, reserved))

    def budget_totals(self, name: str) -> BudgetTotals:
        """The shared counters of budget ``name``; this process's stand-in while Redis is away."""

        def run() -> BudgetTotals:
            spent, reserved, overspend, count, _ = self._scripts["budget_totals"](
                keys=self._budget_keys(name, ""), args=[]
            )
            self._committed[name] = int(spent) + int(reserved)
            return BudgetTotals(int(spent), int(reserved), int(overspend), int(count))

        ok, result, _ = self._attempt(run)
        if ok and result is not None:
            return result
        local = f"{name}#{self._outages}"
        if local in self._seeds:
            return self._local.budget_totals(local)
        return BudgetTotals(self._committed.get(name, 0), 0, 0, 0)

    # ------------------------------------------------------------------ buckets

    def _bucket_args(self, op: str, items: Sequence[Tuple[BucketSpec, float]]) -> Tuple[List[str], List[Any]]:
        keys = [self._key("sem" if spec.refill_per_s == 0 else "bucket", spec.name) for spec, _ in items]
        keys.append(self._owner_key)
        args: List[Any] = [op, self.owner, self._holder_ms, f"{self.prefix}owner:"]
        for spec, amount in items:
            args.extend((repr(float(spec.capacity)), repr(float(spec.refill_per_s)), repr(float(amount))))
        return keys, args

    def _buckets(self, op: str, items: Sequence[Tuple[BucketSpec, float]]) -> float:
        keys, args = self._bucket_args(op, items)
        return float(self._scripts["buckets"](keys=keys, args=args))

    def _local_spec(self, spec: BucketSpec) -> BucketSpec:
        if self.local_share >= 1:
            return spec
        found = self._scaled.get(spec)
        if found is None:
            found = BucketSpec(spec.name, spec.capacity * self.local_share, spec.refill_per_s * self.local_share)
            self._scaled[spec] = found
        return found

    def _localized(self, items: Sequence[Tuple[BucketSpec, float]]) -> List[Tuple[BucketSpec, float]]:
        return [(self._local_spec(spec), amount) for spec, amount in items]

    def _touch_owner(self) -> None:
        """Keep this owner's liveness key fresh while it holds units (a call may outlast many takes)."""
        now = self._now()
        if now - self._owner_touched < self._holder_ms / 3000:
            return
        if not any(v > _EPSILON for v in list(self._held.values())):
            return
        self._owner_touched = now
        self._attempt(lambda: self._client.set(self._owner_key, "1", px=self._holder_ms))

    def bucket_take(self, takes: Sequence[Tuple[BucketSpec, float]], now: float) -> float:
        """Take every amount from its bucket, or none, in Redis (server time; ``now`` is ignored there)."""
        if not takes:
            if self.on_unavailable == FAIL_CLOSED and not self._usable():
                raise self._refuse("admit a call")
            return 0.0
        semaphores = [(spec, amount) for spec, amount in takes if spec.refill_per_s == 0]

        def run() -> float:
            if not semaphores:
                return self._buckets("take", takes)
            with self._sem_lock:
                wait = self._buckets("take", takes)
                if wait == 0:
                    for spec, amount in semaphores:
                        self._held[spec.name] = self._held.get(spec.name, 0.0) + float(amount)
                return wait

        ok, result, attempted = self._attempt(run)
        if ok and result is not None:
            return result
        if attempted and semaphores:
            with self._sem_lock:
                self._dirty.update(spec.name for spec, _ in semaphores)
        if self.on_unavailable == FAIL_CLOSED:
            raise self._refuse("take rate-limit capacity for " + ", ".join(repr(spec.name) for spec, _ in takes))
        wait = self._local.bucket_take(self._localized(takes), now)
        if wait == 0 and semaphores:
            with self._sem_lock:
                for spec, amount in semaphores:
                    self._local_held[spec.name] = self._local_held.get(spec.name, 0.0) + float(amount)
        return wait

    def bucket_wait(self, takes: Sequence[Tuple[BucketSpec, float]], now: float) -> float:
        """Seconds until `bucket_take` of the same amounts would succeed, by the server's clock."""
        if not takes:
            return 0.0
        self._touch_owner()
        ok, result, _ = self._attempt(lambda: self._buckets("wait", takes))
        if ok and result is not None:
            return result
        return self._local.bucket_wait(self._localized(takes), now)

    def bucket_put(self, puts: Sequence[Tuple[BucketSpec, float]], now: float) -> None:
        """Add each amount to its bucket; units are returned where they were taken (Redis or local)."""
        shared: List[Tuple[BucketSpec, float]] = []
        local: List[Tuple[BucketSpec, float]] = []
        with self._sem_lock:
            for spec, amount in puts:
                if spec.refill_per_s != 0:
                    (local if self._down else shared).append((spec, amount))
                    continue
                on_redis = self._held.get(spec.name, 0.0) + _EPSILON >= amount
                on_local = self._local_held.get(spec.name, 0.0) + _EPSILON >= amount
                if on_local and (self._down or not on_redis):
                    self._local_held[spec.name] -= float(amount)
                    local.append((spec, amount))
                elif on_redis:
                    shared.append((spec, amount))
                else:
                    # Not taken by this process (a refund on a fresh backend): harmless in Redis, capped there.
                    shared.append((spec, amount))
        if local:
            self._local.bucket_put(self._localized(local), now)
        if not shared:
            return
        semaphores = [(spec, amount) for spec, amount in shared if spec.refill_per_s == 0]

        def run() -> float:
            if not semaphores:
                return self._buckets("put", shared)
            with self._sem_lock:
                self._buckets("put", shared)
                for spec, amount in semaphores:
                    self._held[spec.name] = max(0.0, self._held.get(spec.name, 0.0) - float(amount))
            return 0.0

        ok, _, _ = self._attempt(run)
        if not ok and semaphores:
            # The units are back as far as this process knows; Redis learns it when it answers.
            with self._sem_lock:
                for spec, amount in semaphores:
                    self._held[spec.name] = max(0.0, self._held.get(spec.name, 0.0) - float(amount))
                    self._dirty.add(spec.name)
        # A refund of rate tokens that cannot reach Redis is dropped: the bucket refills anyway.

    def _sync_semaphores(self) -> None:
        """Tell Redis exactly how many units this owner holds of every bucket an unknown outcome touched."""
        with self._sem_lock:
            for name in sorted(self._dirty):
                self._scripts["semaphore_sync"](
                    keys=[self._key("sem", name), self._owner_key],
                    args=[self.owner, repr(self._held.get(name, 0.0)), self._holder_ms],
                )
                self._dirty.discard(name)

    def bucket_level(self, spec: BucketSpec, now: float) -> float:
        """The units currently in the bucket, in Redis (this process's stand-in while it is away)."""
        ok, result, _ = self._attempt(lambda: self._buckets("level", [(spec, 0.0)]))
        if ok and result is not None:
            return result
        return self._local.bucket_level(self._local_spec(spec), now)

    # ------------------------------------------------------------------ slots

    @property
    def _claim_prefix(self) -> str:
        return f"c:{self.owner}:"

    def _slot_claims(self) -> Tuple[List[Tuple[str, str]], Dict[str, int]]:
        """This thread's open claims (pool, claim id), oldest first, and the slots its last swap gave back."""
        local = self._slot_thread
        if not hasattr(local, "claims"):
            local.claims = []
            local.returned = {}
        return local.claims, local.returned

    def slot_acquire(self, pool: str, cap: Optional[int]) -> bool:
        """Claim one slot of ``pool`` if fewer than ``cap`` are held (None: no cap); True if claimed.

        The claim runs out after ``slot_claim_ttl_s`` unless a `breaker_swap` of this
        thread stores the breaker as ejected first, which binds the slot to that record
        (`EjectionGuard` takes the slot right before that swap): a worker killed between
        the two does not hold the slot for good.
        """
        claim = f"{self._claim_prefix}{next(self._claims)}"
        ok, result, _ = self._attempt(
            lambda: self._scripts["slot_acquire"](
                keys=[self._key("slots", pool)],
                args=[pool, "" if cap is None else cap, claim, self._claim_ms, self.prefix],
            )
        )
        if ok:
            if result:
                self._slot_claims()[0].append((pool, claim))
            return bool(result)
        # Taken locally: an older claim of this thread is not the one to give back for it.
        self._slot_claims()[0].clear()
        return self._local.slot_acquire(pool, cap)

    def slot_release(self, pool: str) -> None:
        """Give back one slot of ``pool``: this thread's latest claim, or where it was taken.

        After a swap that stored a breaker as no longer ejected, the slot is already back
        (the swap gave it back atomically): the release that follows it does nothing.
        """
        claims, returned = self._slot_claims()
        if returned.get(pool, 0) > 0:
            returned[pool] -= 1
            return
        for n in range(len(claims) - 1, -1, -1):
            if claims[n][0] == pool:
                self._finish(_Entry("slot_release", pool, claims.pop(n)[1]))
                return
        if self._down and self._local.slot_count(pool) > 0:
            self._local.slot_release(pool)
            return
        self._finish(_Entry("slot_release", pool))

    def slot_count(self, pool: str) -> int:
        """How many slots of ``pool`` are held (stale holders dropped first)."""
        ok, result, _ = self._attempt(
            lambda: self._scripts["slot_count"](keys=[self._key("slots", pool)], args=[pool, self.prefix])
        )
        if ok:
            return int(result or 0)
        return self._local.slot_count(pool)

    # ------------------------------------------------------------------ breakers

    def breaker_get(self, name: str) -> Optional[object]:
        """The breaker record stored under ``name`` in Redis (read at most ``read_cache_s`` ago), or None."""
        self._touch_owner()
        cached = self._breaker_cache.get(name)
        if cached is not None and not self._down and self._now() - cached[0] < self._read_cache_s:
            return cached[1]
        fetched = self._now()
        ok, raw, _ = self._attempt(lambda: self._get_with_stats(self._key("breaker", name)))
        if ok:
            record = None if raw is None else decode_breaker(name, raw)
            if raw is None:
                self._breakers_seen.pop(name, None)
            else:
                self._breakers_seen[name] = raw
            if self._read_cache_s > 0:
                self._breaker_cache[name] = (fetched, record)
            return record
        found = self._local.breaker_get(name)
        seen = self._breakers_seen.get(name)
        if found is None and seen is not None:
            # Carry the last shared record into the outage: an open breaker stays open.
            self._local.breaker_swap(name, None, decode_breaker(name, seen))
            found = self._local.breaker_get(name)
        return found

    def breaker_swap(self, name: str, expected: Optional[object], new: object) -> bool:
        """Store ``new`` if the stored record still serializes like ``expected``; True when stored."""
        encoded = encode_breaker(new)
        # Only a closed record that holds no ejection slot may expire: it is the same as no record.
        idle = isinstance(new, BreakerState) and new.status == "closed" and not new.ejected
        ttl = self._breaker_ms if idle else 0
        before = "" if expected is None else encode_breaker(expected)
        was_ejected = isinstance(expected, BreakerState) and expected.ejected
        now_ejected = isinstance(new, BreakerState) and new.ejected
        claims, returned = self._slot_claims()
        returned.clear()
        # `EjectionGuard` claims a slot right before the swap that uses it: only the
        # latest claim can be this swap's; older ones were abandoned (they run out in Redis).
        del claims[:-1]
        keys = [self._key("breaker", name), self._key("bind", name)]
        action, pool, claim = "", "", ""
        if now_ejected and not was_ejected:
            action = "bind"
            if claims:
                pool, claim = claims[0]
                keys.append(self._key("slots", pool))
        elif was_ejected and not now_ejected:
            action = "unbind"
        args = [before, encoded, ttl, name, action, claim, pool, self.prefix]
        written = self._now()
        ok, result, _ = self._attempt(lambda: self._scripts["breaker_swap"](keys=keys, args=args))
        if ok and result and claim:
            claims.clear()
        if ok and isinstance(result, (bytes, str)):
            returned[result.decode() if isinstance(result, bytes) else result] = 1
        if ok:
            if result and self._read_cache_s > 0 and isinstance(new, BreakerState):
                self._breaker_cache[name] = (written, new)
                self._breakers_seen[name] = encoded.encode()
            else:
                # Someone else changed the record: the next read must see theirs, not the cache.
                self._breaker_cache.pop(name, None)
            return bool(result)
        return self._local.breaker_swap(name, expected, new)

    # ------------------------------------------------------------------ cooldowns

    def cooldown_set(self, name: str, seconds: float, now: float) -> None:
        """Refuse ``name`` for ``seconds`` in every process (a key with that expiry); a longer one stays."""
        if math.isnan(seconds) or seconds < 0:
            raise ConfigurationError(f"cooldown {name!r}: seconds must be a non-negative number")
        self._local.cooldown_set(name, seconds, now)
        if seconds == 0:
            return
        # Beyond about 4,000 years a cooldown is as good as endless (and PX would overflow).
        ms = "inf" if seconds > 2**47 / 1000 else str(_ms(seconds))
        self._cooldown_cache.pop(name, None)
        self._attempt(lambda: self._scripts["cooldown_set"](keys=[self._key("cooldown", name)], args=[ms]))

    def cooldown_remaining(self, name: str, now: float) -> float:
        """Seconds left of ``name``'s cooldown in Redis (0.0: none; inf: until cleared), cached ``read_cache_s``."""
        local = self._now()
        cached = self._cooldown_cache.get(name)
        if cached is not None and not self._down and local - cached[0] < self._read_cache_s:
            return max(0.0, cached[1] - (local - cached[0]))
        ok, left, _ = self._attempt(lambda: self._client.pttl(self._key("cooldown", name)))
        if not ok or left is None:
            return self._local.cooldown_remaining(name, now)
        left = int(left)
        remaining = 0.0 if left == -2 else math.inf if left == -1 else left / 1000.0
        if self._read_cache_s > 0:
            self._cooldown_cache[name] = (local, remaining)
        return remaining

    def cooldown_clear(self, name: str) -> None:
        """End ``name``'s cooldown in every process."""
        self._local.cooldown_clear(name)
        self._cooldown_cache.pop(name, None)
        self._finish(_Entry("cooldown_clear", name))

    # ------------------------------------------------------------------ per-key traffic

    def key_stats_add(
        self,
        label: str,
        *,
        requests: int = 0,
        tokens: int = 0,
        spent_micros: int = 0,
        error: Optional[str] = None,
        latency_s: Optional[float] = None,
        in_flight: Optional[int] = None,
    ) -> None:
        """Count traffic on key ``label`` in the shared view (`key_stats`); no round trip of its own.

        The counts wait in the process and travel with the next breaker read that goes
        to Redis at least ``stats_flush_s`` after the last flush (one pipeline, one round
        trip), or on their own once twice that has passed without one. ``in_flight`` is
        this process's current number of calls on the key (a gauge: the last value wins).
        """
        for field, value in (("requests", requests), ("tokens", tokens), ("spent_micros", spent_micros)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"key_stats_add({label!r}): {field} must be a non-negative integer")
        if in_flight is not None and (isinstance(in_flight, bool) or not isinstance(in_flight, int) or in_flight < 0):
            raise ConfigurationError(f"key_stats_add({label!r}): in_flight must be a non-negative integer or None")
        with self._stats_lock:
            counts = self._stats.get(label)
            if counts is None:
                counts = self._stats[label] = _KeyCounts()
            counts.requests += requests
            counts.tokens += tokens
            counts.spent_micros += spent_micros
            if error is not None:
                counts.errors = counts.errors or {}
                counts.errors[error] = counts.errors.get(error, 0) + 1
            if latency_s is not None and math.isfinite(latency_s):
                counts.latency_us += max(0, round(latency_s * 1e6))
                counts.latencies += 1
            if in_flight is not None:
                counts.in_flight = in_flight
            overdue = self._now() - self._stats_flushed >= 2 * self._stats_flush_s
        if overdue:
            self._flush_stats()

    def _take_stats(self, *, due_only: bool) -> Optional[Dict[str, _KeyCounts]]:
        now = self._now()
        with self._stats_lock:
            if not self._stats or (due_only and now - self._stats_flushed < self._stats_flush_s):
                return None
            batch, self._stats = self._stats, {}
            self._stats_flushed = now
            return batch

    def _restore_stats(self, batch: Dict[str, _KeyCounts]) -> None:
        """Put back counts that did not reach Redis (a batch whose reply was lost may count twice)."""
        with self._stats_lock:
            for label, counts in batch.items():
                current = self._stats.get(label)
                if current is None:
                    self._stats[label] = counts
                else:
                    current.merge(counts)

    def _queue_stats(self, pipe: Any, batch: Dict[str, _KeyCounts]) -> None:
        for label, c in batch.items():
            key = self._key("keystats", label)
            fields = {
                "requests": c.requests,
                "tokens": c.tokens,
                "spent_micros": c.spent_micros,
                "latency_us": c.latency_us,
                "latencies": c.latencies,
            }
            fields.update({f"error:{name}": count for name, count in (c.errors or {}).items()})
            for field, amount in fields.items():
                if amount:
                    pipe.hincrby(key, field, amount)
            pipe.pexpire(key, self._stats_ms)
            if c.in_flight is not None:
                live = self._key("inflight", label)
                pipe.hset(live, self.owner, c.in_flight)
                pipe.pexpire(live, self._stats_ms)
        # In-flight counts are summed over owners whose liveness key is there.
        pipe.set(self._owner_key, "1", px=self._holder_ms)

    def _get_with_stats(self, key: str) -> Any:
        """GET ``key``, carrying the waiting per-key counts in the same round trip when they are due."""
        batch = self._take_stats(due_only=True)
        if batch is None:
            return self._client.get(key)
        pipe = self._client.pipeline(transaction=False)
        pipe.get(key)
        self._queue_stats(pipe, batch)
        try:
            # Counter replies are not checked: a bad one must not fail the read it rides on.
            value = pipe.execute(raise_on_error=False)[0]
        except Exception:
            self._restore_stats(batch)
            raise
        if isinstance(value, Exception):
            raise value
        return value

    def _flush_stats(self) -> None:
        batch = self._take_stats(due_only=False)
        if batch is None:
            return

        def run() -> None:
            pipe = self._client.pipeline(transaction=False)
            self._queue_stats(pipe, batch)
            pipe.execute(raise_on_error=False)

        ok, _, _ = self._attempt(run)
        if not ok:
            self._restore_stats(batch)

    def key_stats(self, labels: Sequence[str]) -> Optional[Dict[str, Dict[str, Any]]]:
        """Every process's traffic on each key in ``labels`` (this process's counts sent first); None while away.

        Per label: ``requests``, ``tokens``, ``spent_micros``, ``errors`` (by error class),
        ``latency_mean_s`` (None before the first success) and ``in_flight`` (summed over
        the processes still alive). Counters are kept ``stats_ttl_s`` after a key's last
        call; another process's counts arrive within about ``stats_flush_s``.
        """
        self._flush_stats()
        keys: List[str] = []
        for label in labels:
            keys += [self._key("keystats", label), self._key("inflight", label)]

        def run() -> Any:
            return self._scripts["key_stats"](keys=keys, args=[f"{self.prefix}owner:"])

        ok, reply, _ = self._attempt(run)
        if not ok or reply is None:
            return None
        out: Dict[str, Dict[str, Any]] = {}
        for n, label in enumerate(labels):
            flat, in_flight = reply[2 * n], reply[2 * n + 1]
            fields = {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in zip(flat[::2], flat[1::2])}
            latencies = fields.get("latencies", 0)
            out[label] = {
                "requests": fields.get("requests", 0),
                "tokens": fields.get("tokens", 0),
                "spent_micros": fields.get("spent_micros", 0),
                "errors": {k[len("error:") :]: v for k, v in sorted(fields.items()) if k.startswith("error:")},
                "latency_mean_s": fields.get("latency_us", 0) / 1e6 / latencies if latencies else None,
                "in_flight": int(in_flight),
            }
        return out

    # ------------------------------------------------------------------ clock

    def shared_clock(self) -> Optional[Clock]:
        """Redis server time (seconds since the epoch), carried on the local monotonic clock between syncs."""
        return self.clock

    def clock(self) -> float:
        """The server's time now, as this process best knows it; never goes backwards, never blocks long."""
        local = self._now()
        if not self._down and local - self._synced_at >= self._clock_sync_s and self._clock_lock.acquire(False):
            try:
                before = self._now()
                ok, reply, _ = self._attempt(self._client.time)
                after = self._now()
                if ok and reply is not None:
                    seconds, micros = reply
                    # The reply was made somewhere in the round trip: assume its middle.
                    self._offset = int(seconds) + int(micros) / 1e6 - (before + after) / 2
                    self._synced_at = after
                    self._sync_rtt = max(0.0, after - before)
            finally:
                self._clock_lock.release()
        value = local + self._offset
        with self._mode_lock:
            if value < self._clock_last:
                return self._clock_last
            self._clock_last = value
        return value

    def clock_error_bound(self) -> float:
        """How far (seconds) `clock` may now be from the server's clock: inf before the first sync.

        The server answered ``TIME`` somewhere within the last sync's round trip, so the
        estimate was within half of it; since then the local monotonic clock may have
        drifted by `CLOCK_DRIFT` of the time elapsed. A clock held still after a sync
        moved the estimate back (it never goes backwards) is off by the hold on top.
        See ``docs/deployment.rst``.
        """
        if math.isinf(self._synced_at):
            return math.inf
        local = self._now()
        held = max(0.0, self._clock_last - (local + self._offset))
        return held + self._sync_rtt / 2 + CLOCK_DRIFT * max(0.0, local - self._synced_at)


__all__ = [
    "FAIL_CLOSED",
    "FAIL_OPEN",
    "POLICIES",
    "REDIS_MAX_MICROS",
    "RedisStateBackend",
    "decode_breaker",
    "encode_breaker",
]
