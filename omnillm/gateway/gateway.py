"""`Gateway`: many keys, one thread-safe entry point with balancing, limits, breakers, retries, budgets.

Create one per process and share it between threads (Django views, worker threads).
Each call goes through the same steps:

1. the logical model is resolved to targets (provider, provider model) through the
   routes; every key that serves a target is a candidate;
2. candidates whose breaker is open, that are disabled, cooling down after a 429 or out
   of local rate limit are skipped; the strategy orders the rest; capacity is taken
   atomically from the first that admits the call (when none can, the gateway waits up
   to ``PoolConfig.rate_limit_wait_s``, cancellably, then raises `RateLimitError`);
3. the worst-case cost is reserved in every applicable budget *before any network I/O*
   (`BudgetExceededError` otherwise);
4. the call goes out through that key's `Client`; its outcome feeds the breaker, the
   limiter (actual tokens, provider rate-limit headers, Retry-After cooldowns) and the
   latency average; the reservation is settled to the actual cost, or released;
5. a retryable failure is retried with backoff on the next best key or target (failover
   across providers for the same logical model), within the attempt bound and the
   request timeout.

Streams fail over the same way until the first content event reaches the caller; after
that a failure raises `StreamInterruptedError` carrying the partial response, and the
budget is settled for what was produced, also when the consumer stops early.

All configuration and state live on the instance: two gateways share nothing unless
they are given the same shared `StateBackend` (Redis), which is how many processes
share budgets, limits and breakers.
The only threads started are those of the pool behind `Gateway.submit` / `Gateway.map`,
created on first use and shut down by `Gateway.close`. After ``os.fork`` a child
rebuilds its pools, locks and limiter state from the configuration.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import itertools
import logging
import math
import os
import random
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    NoReturn,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

from ..api import ApiRequest, ApiResponse
from ..client import Client, ResponseStream
from ..errors import (
    BudgetExceededError,
    CancelledError,
    ConfigurationError,
    NoKeyAvailableError,
    OmniLLMError,
    ProviderError,
    RateLimitError,
    StreamError,
    StreamInterruptedError,
    TimeoutError,
)
from ..middleware import CallContext, Middleware, MiddlewareChain, MiddlewareStream
from ..model import LlmRequest, LlmResponse, Usage
from ..providers import ProviderRegistry, ProviderSettings, embedded_provider_registry
from ..stream import (
    OutputItemAdded,
    ResponseStarted,
    StreamEvent,
    UsageUpdate,
)
from ..transport import Timeout, Transport
from .balancing import (
    Candidate,
    LatencyTracker,
    LeastInFlight,
    LowestLatency,
    Strategy,
    WeightedRoundRobin,
    strategy_named,
)
from .budget import WINDOWS, BudgetReservation, Budgets
from .cancel import CancellationToken
from .circuit import (
    DISABLE,
    FAILURE,
    RATE_LIMITED,
    SUCCESS,
    BreakerConfig,
    BreakerPermit,
    BreakerRegistry,
    Outcome,
    classify,
)
from .keys import KeyConfig
from .pricing import (
    Price,
    PriceTable,
    Pricing,
    api_cost_micros,
    estimate_api_micros,
    estimate_request_micros,
    estimate_tokens,
    request_has_cache_breakpoints,
)
from .ratelimit import KeyLimiter, Permit
from .retry import RetryPolicy
from .state import InMemoryState, StateBackend

logger = logging.getLogger("omnillm")

#: Cooldown after a 429 that named no Retry-After, in seconds.
DEFAULT_RATE_LIMIT_COOLDOWN_S = 1.0

#: Bound on one sleep while waiting for capacity; the wait loop re-checks after it.
_PAUSE_SLICE_S = 0.25

#: Bound on the per-model memo tables (callers may name any model).
_MEMO_LIMIT = 4096

#: How often a wait re-checks shared (multi-process) state, in seconds.
SHARED_STATE_POLL_S = 0.05

#: Output tokens assumed for a request that sets no ``max_output_tokens``, when reserving.
DEFAULT_MAX_OUTPUT_TOKENS = 4096

HOOK_EVENTS = ("request_start", "success", "failure", "retry")


@dataclass(frozen=True)
class Target:
    """Where a logical model can be served: a provider id and the model name it knows."""

    provider: str
    model: str


@dataclass(frozen=True)
class PoolConfig:
    """How a gateway uses its pool of keys.

    ``strategy`` is a `Strategy` or a built-in name (``weighted_round_robin``,
    ``least_in_flight``, ``lowest_latency``, ``lowest_cost``). ``rate_limit_wait_s``
    bounds the wait when every eligible key is limited. ``retry`` and ``breaker``
    configure retries and circuit breakers; ``max_ejection_fraction`` caps the share of
    keys whose breakers may be open at once; ``per_model_breakers`` adds a breaker per
    (key, model). ``max_workers`` sizes the thread pool of `Gateway.submit`;
    ``pool_maxsize`` the connections kept per host; ``latency_alpha`` the EWMA weight.
    """

    strategy: Union[str, Strategy] = "weighted_round_robin"
    rate_limit_wait_s: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    max_ejection_fraction: float = 0.5
    per_model_breakers: bool = True
    max_workers: int = 8
    pool_maxsize: int = 16
    latency_alpha: float = 0.3

    def __post_init__(self) -> None:
        if not (isinstance(self.rate_limit_wait_s, (int, float)) and self.rate_limit_wait_s >= 0):
            raise ConfigurationError(f"PoolConfig: rate_limit_wait_s must be >= 0, not {self.rate_limit_wait_s!r}")
        for name in ("max_workers", "pool_maxsize"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"PoolConfig: {name} must be a positive integer, not {value!r}")


@dataclass(frozen=True)
class AttemptInfo:
    """What observability hooks receive for one attempt (never a secret).

    ``call_id`` numbers the gateway call; ``attempt`` counts from 1; ``key`` is the key's
    label. ``latency_s``, ``cost_micros`` and ``error`` are set on completion;
    ``delay_s`` on a retry.
    """

    call_id: int
    attempt: int
    key: str
    provider: str
    model: str
    stream: bool = False
    latency_s: Optional[float] = None
    cost_micros: Optional[int] = None
    error: Optional[BaseException] = None
    delay_s: Optional[float] = None


@dataclass(frozen=True)
class KeyStatus:
    """One key in `Gateway.pool_status`: health, breaker, traffic, limits, latency, errors, spend.

    ``requests`` and ``tokens`` count the current window: the last `STATUS_WINDOW_S`
    seconds, the span the RPM and TPM limits refer to (a sliding-window estimate: the
    current minute plus the previous one weighted by how much of it is still inside).
    ``total_requests`` and ``total_tokens`` count since the gateway was built.
    ``model_circuits`` gives the state of each (key, model) breaker that is not closed;
    ``health`` is ``degraded`` when the key is fine but one of its models is ejected.
    On a shared state backend that keeps per-key counters (Redis), ``in_flight``,
    ``errors``, ``spent_micros``, ``total_requests`` and ``total_tokens`` are every
    worker's together; the window counts and the latency average are this worker's.
    """

    provider: str
    label: str
    health: str
    circuit: str
    in_flight: int
    requests: int
    tokens: int
    limits: Dict[str, Any]
    latency_ewma_s: Optional[float]
    errors: Dict[str, int]
    spent_micros: int
    total_requests: int = 0
    total_tokens: int = 0
    model_circuits: Dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PoolStatus:
    """A snapshot of the gateway: one `KeyStatus` per key and the budgets."""

    keys: List[KeyStatus]
    budget: Optional[Dict[str, Any]]
    budgets: List[Dict[str, Any]]
    state: Optional[Dict[str, Any]] = None
    """The state backend's own health (shared backends: reachability, outage, journal)."""

    def table(self) -> str:
        """The snapshot as a fixed-width text table."""
        head = (
            "key",
            "provider",
            "health",
            "circuit",
            "in flight",
            "requests",
            "tokens",
            "latency",
            "errors",
            "spent $",
        )
        rows = [head]
        for k in self.keys:
            latency = "-" if k.latency_ewma_s is None else f"{k.latency_ewma_s * 1000:.0f} ms"
            errs = ", ".join(f"{n}={c}" for n, c in sorted(k.errors.items())) or "-"
            rows.append(
                (
                    k.label,
                    k.provider,
                    k.health,
                    k.circuit,
                    str(k.in_flight),
                    str(k.requests),
                    str(k.tokens),
                    latency,
                    errs,
                    f"{k.spent_micros / 1e6:.6f}",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        if self.budget is not None:
            b = self.budget
            lines.append(
                f"budget: limit ${b['limit_micros'] / 1e6:.6f}, spent ${b['spent_micros'] / 1e6:.6f}, "
                f"reserved ${b['reserved_micros'] / 1e6:.6f}"
            )
        return "\n".join(lines)


#: The span of the per-key request and token counts in `Gateway.pool_status` (the RPM/TPM minute).
STATUS_WINDOW_S = 60.0


class _KeyRuntime:
    """A key with its client, limiter and counters (one per key per gateway).

    Besides lifetime totals it counts requests and tokens per `STATUS_WINDOW_S` slot
    (this slot and the previous one), which is all a sliding-window estimate needs.
    """

    def __init__(self, key: KeyConfig, client: Client, limiter: KeyLimiter, now: Callable[[], float]) -> None:
        self.key = key
        self.client = client
        self.limiter = limiter
        self.lock = threading.Lock()
        self.requests = 0
        self.tokens = 0
        self.spent_micros = 0
        self.errors: Dict[str, int] = {}
        self.models_seen: Set[str] = set()
        self._now = now
        self._slot = 0
        self._slot_counts = [0, 0]  # requests, tokens in the current slot
        self._previous = [0, 0]  # ... and in the one before
        # A shared state backend's per-key counters (`RedisStateBackend.key_stats_add`), if any.
        self.stats_add: Optional[Callable[..., None]] = None

    def _roll(self, now: float) -> None:
        slot = int(now // STATUS_WINDOW_S)
        if slot != self._slot:
            self._previous = self._slot_counts if slot == self._slot + 1 else [0, 0]
            self._slot_counts = [0, 0]
            self._slot = slot

    def count(self, *, tokens: int = 0, spent: int = 0, error: Optional[str] = None) -> None:
        now = self._now()
        with self.lock:
            self.requests += 1
            self.tokens += tokens
            self.spent_micros += spent
            self._roll(now)
            counts = self._slot_counts
            counts[0] += 1
            counts[1] += tokens
            if error is not None:
                self.errors[error] = self.errors.get(error, 0) + 1
        if self.stats_add is not None:
            self.stats_add(
                self.key.label,
                requests=1,
                tokens=tokens,
                spent_micros=spent,
                error=error,
            )

    def report_in_flight(self) -> None:
        """Tell a shared backend this worker's calls in flight on the key (after each change)."""
        if self.stats_add is not None:
            self.stats_add(self.key.label, in_flight=self.limiter.in_flight)

    def window_counts(self) -> Tuple[int, int]:
        """(requests, tokens) over the last `STATUS_WINDOW_S` seconds, estimated; call with ``lock`` held."""
        now = self._now()
        self._roll(now)
        inside = 1.0 - (now % STATUS_WINDOW_S) / STATUS_WINDOW_S  # share of the previous slot still inside
        requests = self._slot_counts[0] + round(self._previous[0] * inside)
        tokens = self._slot_counts[1] + round(self._previous[1] * inside)
        return requests, tokens


@dataclass
class _Lease:
    """What one attempt holds: a key, its capacity and breaker admissions, and the money."""

    runtime: _KeyRuntime
    target: Target
    permit: Permit
    breaker_permits: List[Any]
    reservation: Optional[BudgetReservation]
    estimate_micros: int
    input_tokens: int
    max_output: int = 0
    api_request: Any = None
    """The request when it is not an `LlmRequest` (images, audio, embeddings, ...), for its pricing."""

    def settle(self, gateway: Gateway, usage: Optional[Usage], produced_chars: int = 0, response: Any = None) -> int:
        tokens = usage.total if usage is not None else self.input_tokens + math.ceil(produced_chars / 4)
        cost = gateway._cost(self, usage, produced_chars, response)
        if self.reservation is not None:
            self.reservation.settle(cost)
        self.permit.settle(tokens)
        self.runtime.report_in_flight()
        gateway._released()
        return cost

    def release(self, gateway: Gateway, *, sent: bool) -> None:
        if self.reservation is not None:
            self.reservation.release()
        self.permit.release(sent=sent)
        self.runtime.report_in_flight()
        gateway._released()

    def record(self, outcome: Outcome) -> None:
        # Bad credentials and 429s are about the key, not about one model on it: only the
        # key's breaker hears them (the limiter handles the cooldown).
        for n, permit in enumerate(self.breaker_permits):
            if n > 0 and outcome.kind in (DISABLE, RATE_LIMITED):
                permit.record(Outcome("neutral", reason=outcome.reason))
            else:
                permit.record(outcome)


class Gateway:
    """A thread-safe pool of provider keys behind `call`, `stream`, `call_api`, `submit` and `map`.

    ``keys`` are `KeyConfig` s. ``routes`` maps a logical model name to its targets
    (`Target` or ``(provider, model)`` pairs, or ``"provider/model"`` strings); a model
    without a route is served by every key that serves it under that name.
    ``budget_limit_usd`` sets a gateway-wide budget; ``key_budgets_usd`` and
    ``tag_budgets_usd`` add per-key and per-tag ones (``tag_budget_usd`` gives every
    other tag its own); ``budget_window`` (None, ``day`` or ``month``, UTC) makes every
    one of them reset each window. A key whose own budget cannot take a call is skipped
    like a limited key; the call is refused only when every candidate key refuses, or at
    once when the gateway or tag budget does. ``request_timeout`` (seconds) bounds a
    whole call including retries; ``connect_timeout`` each connection attempt. ``prices``
    extends or overrides the embedded price table (`set_prices` changes it later);
    ``missing_price`` is ``refuse`` or ``zero`` for unpriced models under a budget.
    ``max_audio_seconds`` caps the duration a transcription is assumed to last when its
    cost is reserved (see `omnillm.gateway.pricing.transcription_seconds_bound`).
    ``hooks`` maps events (``request_start``, ``success``, ``failure``, ``retry``) to
    lists of callables receiving an `AttemptInfo`. ``state`` is the state backend
    (in-memory by default). ``transport`` is shared by every key (a pooled urllib3
    transport by default). ``now``/``wall``/``rng`` are injectable for tests.
    ``middleware`` (`Middleware` s, first = outermost) wrap `call`, `stream`,
    `call_api`, `submit` and `map`; ``cache`` (a `ResponseCache`) is the innermost,
    so a hit takes no rate-limit capacity and no budget.
    """

    def __init__(
        self,
        keys: Sequence[KeyConfig],
        *,
        routes: Optional[Mapping[str, Sequence[Union[Target, Tuple[str, str], str]]]] = None,
        budget_limit_usd: Optional[float] = None,
        budget_window: Optional[str] = None,
        key_budgets_usd: Optional[Mapping[str, float]] = None,
        tag_budgets_usd: Optional[Mapping[str, float]] = None,
        tag_budget_usd: Optional[float] = None,
        pool_config: Optional[PoolConfig] = None,
        request_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        prices: Union[PriceTable, Mapping[str, Any], None] = None,
        missing_price: str = "refuse",
        hooks: Optional[Mapping[str, Iterable[Callable[[AttemptInfo], None]]]] = None,
        state: Optional[StateBackend] = None,
        transport: Optional[Transport] = None,
        registry: Optional[ProviderRegistry] = None,
        environ: Optional[Mapping[str, str]] = None,
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rng: Optional[random.Random] = None,
        middleware: Sequence[Middleware] = (),
        cache: Optional[Middleware] = None,
        max_audio_seconds: Optional[float] = None,
    ) -> None:
        self._config: Dict[str, Any] = dict(
            keys=list(keys),
            routes=routes,
            budget_limit_usd=budget_limit_usd,
            budget_window=budget_window,
            key_budgets_usd=key_budgets_usd,
            tag_budgets_usd=tag_budgets_usd,
            tag_budget_usd=tag_budget_usd,
            pool_config=pool_config,
            request_timeout=request_timeout,
            connect_timeout=connect_timeout,
            prices=prices,
            missing_price=missing_price,
            hooks=hooks,
            state=state,
            transport=transport,
            registry=registry,
            environ=environ,
            now=now,
            wall=wall,
            rng=rng,
            max_audio_seconds=max_audio_seconds,
        )
        self._build(**self._config)
        self.middleware = MiddlewareChain([*middleware, *([cache] if cache is not None else [])])
        _forked.add(self)

    # ------------------------------------------------------------------ construction

    def _build(
        self,
        *,
        keys: List[KeyConfig],
        routes: Optional[Mapping[str, Sequence[Union[Target, Tuple[str, str], str]]]],
        budget_limit_usd: Optional[float],
        budget_window: Optional[str],
        key_budgets_usd: Optional[Mapping[str, float]],
        tag_budgets_usd: Optional[Mapping[str, float]],
        tag_budget_usd: Optional[float],
        pool_config: Optional[PoolConfig],
        request_timeout: float,
        connect_timeout: float,
        prices: Union[PriceTable, Mapping[str, Any], None],
        missing_price: str,
        hooks: Optional[Mapping[str, Iterable[Callable[[AttemptInfo], None]]]],
        state: Optional[StateBackend],
        transport: Optional[Transport],
        registry: Optional[ProviderRegistry],
        environ: Optional[Mapping[str, str]],
        now: Callable[[], float],
        wall: Callable[[], float],
        rng: Optional[random.Random],
        max_audio_seconds: Optional[float],
    ) -> None:
        if not keys:
            raise ConfigurationError("a gateway needs at least one key")
        for key in keys:
            if not isinstance(key, KeyConfig):
                raise ConfigurationError(f"keys must be KeyConfig values, not {type(key).__name__}")
        labels = [k.label for k in keys]
        duplicate = next((label for label in labels if labels.count(label) > 1), None)
        if duplicate is not None:
            raise ConfigurationError(f"two keys share the label {duplicate!r}; labels identify keys")
        if not (isinstance(request_timeout, (int, float)) and request_timeout > 0):
            raise ConfigurationError(f"request_timeout must be a positive number of seconds, not {request_timeout!r}")
        if not _non_negative(connect_timeout):
            raise ConfigurationError(f"connect_timeout must be a number of seconds >= 0, not {connect_timeout!r}")
        if max_audio_seconds is not None and not _non_negative(max_audio_seconds):
            raise ConfigurationError(f"max_audio_seconds must be a number of seconds >= 0, not {max_audio_seconds!r}")
        if budget_window not in WINDOWS:
            raise ConfigurationError(f"budget_window must be None, 'day' or 'month', not {budget_window!r}")
        self.max_audio_seconds = None if max_audio_seconds is None else float(max_audio_seconds)
        self.pool_config = pool_config if pool_config is not None else PoolConfig()
        self.request_timeout = float(request_timeout)
        self.connect_timeout = float(connect_timeout)
        self._now = now
        self._wall = wall
        self._rng = rng if rng is not None else random.Random()
        self.registry = registry if registry is not None else embedded_provider_registry()
        self.state: StateBackend = state if state is not None else InMemoryState()
        shared_clock = getattr(self.state, "shared_clock", None)
        self._shared_state = callable(shared_clock) and shared_clock() is not None
        strategy = self.pool_config.strategy
        self.strategy: Strategy = strategy_named(strategy) if isinstance(strategy, str) else strategy
        self.latency = LatencyTracker(self.pool_config.latency_alpha)
        self.breakers = BreakerRegistry(
            self.pool_config.breaker,
            max_ejection_fraction=self.pool_config.max_ejection_fraction,
            state=self.state,
            now=now,
            may_eject=self._may_eject if self.pool_config.per_model_breakers else None,
        )
        table = prices if isinstance(prices, PriceTable) else None
        overrides = prices if isinstance(prices, Mapping) else None
        self.pricing = (
            Pricing(table, overrides=overrides, missing=missing_price)
            if table
            else Pricing(overrides=overrides, missing=missing_price)
        )
        self._hooks: Dict[str, List[Callable[[AttemptInfo], None]]] = {event: [] for event in HOOK_EVENTS}
        given: Mapping[str, Any] = hooks or {}
        for event, fns in given.items():
            if callable(fns) or isinstance(fns, (str, bytes)) or not isinstance(fns, Iterable):
                raise ConfigurationError(f"hooks[{event!r}] must be a list of callables, not {type(fns).__name__}")
            for fn in fns:
                self.add_hook(event, fn)
        if transport is None:
            from ..transport.urllib3_transport import Urllib3Transport

            transport = Urllib3Transport(pool_maxsize=self.pool_config.pool_maxsize)
            self._owns_transport = True
        else:
            self._owns_transport = False
        self.transport = transport
        self._runtimes: Dict[str, _KeyRuntime] = {}
        for key in keys:
            if key.provider not in self.registry:
                raise ConfigurationError(f"key {key.label!r}: unknown provider {key.provider!r}")
            settings = key.settings if key.settings is not None else ProviderSettings()
            if key.base_url is not None:
                settings = dataclasses.replace(settings, base_url=key.base_url)
            secret = key.secret
            client = Client(
                key.provider,
                api_key=secret if isinstance(secret, str) else None,
                credentials=None if isinstance(secret, str) else secret,  # type: ignore[arg-type]
                settings=settings,
                wire_format=key.wire_format,
                transport=transport,
                registry=self.registry,
                environ=environ if environ is not None else {},
                now=now,
                wall=wall,
            )
            limiter = KeyLimiter.from_key(key, state=self.state, now=now)
            runtime = _KeyRuntime(key, client, limiter, now)
            shared_stats = getattr(self.state, "key_stats_add", None)
            runtime.stats_add = shared_stats if callable(shared_stats) else None
            self._runtimes[key.label] = runtime
            self.breakers.for_key(key.label)  # register every key's breaker before traffic (ejection cap)
        self.routes: Dict[str, List[Target]] = {}
        for model, targets in (routes or {}).items():
            parsed = [_target(t, model) for t in targets]
            if not parsed:
                raise ConfigurationError(f"route {model!r} has no targets")
            for t in parsed:
                if not any(rt.key.provider == t.provider and rt.key.serves(t.model) for rt in self._runtimes.values()):
                    raise ConfigurationError(f"route {model!r}: no key serves {t.provider}/{t.model}")
            self.routes[model] = parsed
        self.budgets = Budgets(
            total_micros=_usd("budget_limit_usd", budget_limit_usd),
            window=budget_window,
            per_key={k: _usd(f"key_budgets_usd[{k!r}]", v) or 0 for k, v in (key_budgets_usd or {}).items()},
            per_tag={k: _usd(f"tag_budgets_usd[{k!r}]", v) or 0 for k, v in (tag_budgets_usd or {}).items()},
            tag_limit_micros=_usd("tag_budget_usd", tag_budget_usd),
            tag_window=budget_window,
            state=self.state,
            now_wall=wall,
        )
        for label in key_budgets_usd or {}:
            if label not in self._runtimes:
                raise ConfigurationError(f"key_budgets_usd names {label!r}, which is not a key label")
        self._has_budget = bool(budget_limit_usd is not None or key_budgets_usd or tag_budgets_usd or tag_budget_usd)
        if self._has_budget:
            # Refuse at construction, not at the first call, when a served model has no price.
            for model in self._priced_models():
                self.pricing.require(model)
        self._released_cond = threading.Condition()
        self._waiting = 0
        self._served: Dict[str, List[Target]] = {}
        known_strategies = (WeightedRoundRobin, LeastInFlight, LowestLatency)
        self._needs_estimate = (
            self._has_budget
            or any(rt.key.tpm is not None for rt in self._runtimes.values())
            or not isinstance(self.strategy, known_strategies)  # a cost-aware or custom strategy may use it
        )
        self._executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._executor_lock = threading.Lock()
        self._calls = itertools.count(1)  # next() on a count is atomic: no lock per call
        self._closed = False

    def _priced_models(self) -> List[str]:
        models = {t.model for ts in self.routes.values() for t in ts}
        for rt in self._runtimes.values():
            if rt.key.models is not None:
                models.update(rt.key.provider_model(m) for m in rt.key.models)
        return sorted(models)

    @staticmethod
    def builder() -> GatewayBuilder:
        """A `GatewayBuilder` for step-by-step construction."""
        return GatewayBuilder()

    def add_hook(self, event: str, fn: Callable[[AttemptInfo], None]) -> None:
        """Call ``fn(AttemptInfo)`` on ``event`` (``request_start``, ``success``, ``failure``, ``retry``)."""
        if event not in self._hooks:
            raise ConfigurationError(f"unknown hook event {event!r}; events: {', '.join(HOOK_EVENTS)}")
        if not callable(fn):
            raise ConfigurationError(f"hooks[{event!r}]: a hook must be callable, not {type(fn).__name__}")
        self._hooks[event].append(fn)

    def set_prices(self, prices: Mapping[str, Price], *, as_of: Optional[str] = None) -> None:
        """Add or replace model prices on a live gateway (thread-safe; affects calls reserved from now on)."""
        if not isinstance(prices, Mapping):
            raise ConfigurationError("set_prices takes a mapping of model names to Price values")
        self.pricing.set_prices(prices, as_of=as_of)

    def _hooked(self) -> bool:
        """True when any observability hook is registered."""
        return any(self._hooks.values())

    def _emit(self, event: str, info: AttemptInfo) -> None:
        for fn in self._hooks[event]:
            try:
                fn(info)
            except Exception:
                logger.exception("omnillm gateway hook %s raised; the call goes on", event)

    def __repr__(self) -> str:
        return f"Gateway(keys={list(self._runtimes)!r}, routes={list(self.routes)!r})"

    # ------------------------------------------------------------------ selection

    def _targets(self, model: str) -> List[Target]:
        routed = self.routes.get(model)
        if routed is not None:
            return routed
        known = self._served.get(model)
        if known is not None:
            return known
        providers = sorted({rt.key.provider for rt in self._runtimes.values() if rt.key.serves(model)})
        if not providers:
            raise NoKeyAvailableError(f"no key serves model {model!r} and no route names it")
        if len(self._served) >= _MEMO_LIMIT:  # callers may name any model: stay bounded
            self._served.clear()
        targets = self._served[model] = [Target(p, model) for p in providers]
        return targets

    def _candidates(self, targets: List[Target]) -> List[Tuple[_KeyRuntime, Target]]:
        seen: Dict[str, Tuple[_KeyRuntime, Target]] = {}
        for target in targets:
            for rt in self._runtimes.values():
                if rt.key.provider == target.provider and rt.key.serves(target.model) and rt.key.label not in seen:
                    seen[rt.key.label] = (rt, target)
        return list(seen.values())

    def _estimate(self, model: str, input_tokens: int, max_output: int, cache_writes: bool, api_request: Any) -> int:
        """The worst-case cost to reserve; an unpriced model under a budget refuses or warns per policy."""
        if not self._has_budget:
            return 0
        if api_request is not None:
            price = self.pricing.require(model)
            if price is None:
                return 0
            found = estimate_api_micros(
                api_request, price, input_tokens=input_tokens, max_audio_seconds=self.max_audio_seconds
            )
            if found is not None:
                return found
        return self.pricing.estimate_micros(model, input_tokens, max_output, cache_writes=cache_writes)

    def _input_tokens(self, request: ApiRequest) -> int:
        """The prompt estimate, computed only when a budget, a token limit or the strategy needs it."""
        if not self._needs_estimate:
            return 0
        return estimate_tokens(request) if isinstance(request, LlmRequest) else _api_tokens(request)

    def _cost(self, lease: _Lease, usage: Optional[Usage], produced_chars: int, response: Any) -> int:
        model = lease.target.model
        price = self.pricing.price(model)
        if price is None and not self._has_budget:
            return 0
        if lease.api_request is not None and price is not None:
            found = api_cost_micros(lease.api_request, response, price, lease.estimate_micros)
            if found is not None:
                return found
        if usage is None:
            # No usage reported: the produced text, at most the output bound the provider kept to.
            output = math.ceil(produced_chars / 4)
            if lease.max_output:
                output = min(output, lease.max_output)
            usage = Usage(input_tokens=lease.input_tokens, output_tokens=output)
        return self.pricing.cost_micros(model, usage)

    def _may_eject(self, label: str, model: Optional[str]) -> bool:
        """Whether the breaker of key ``label`` (or of ``label`` and ``model``) may open now.

        The ejection cap counts both layers: for each model the key has served, a key is
        out of service if its key breaker or its (key, model) breaker is not closed, and
        at most ``max_ejection_fraction`` of the keys serving the model (never fewer than
        one) may be out at once. Each layer's own pool cap still applies as well.
        """
        rt = self._runtimes.get(label)
        if rt is None:
            return True
        # A key breaker tripping matters for every model it serves that is not already out.
        models = [model] if model is not None else [m for m in list(rt.models_seen) if not self._model_out(label, m)]
        fraction = self.pool_config.max_ejection_fraction
        for m in models:
            serving = [other for other in self._runtimes.values() if other.key.serves(m)]
            out = sum(1 for other in serving if other.key.label != label and self._out_for(other.key.label, m))
            if out + 1 > max(1, math.floor(fraction * len(serving) + 1e-9)):
                return False
        return True

    def _model_out(self, label: str, model: str) -> bool:
        found = self.breakers.find(f"{label}/{model}")
        return found is not None and found.status != "closed"

    def _out_for(self, label: str, model: str) -> bool:
        found = self.breakers.find(label)
        return (found is not None and found.status != "closed") or self._model_out(label, model)

    def _released(self) -> None:
        # Waking waiters costs a lock round trip per call; skip it when nobody waits (a
        # waiter that slips past this check re-checks within _PAUSE_SLICE_S anyway).
        if self._waiting:
            with self._released_cond:
                self._released_cond.notify_all()

    def _lease(
        self,
        request: LlmRequest,
        targets: List[Target],
        input_tokens: int,
        *,
        avoid: Iterable[str],
        tag: Optional[str],
        deadline: float,
        cancel: Optional[CancellationToken],
        api_request: Any = None,
    ) -> _Lease:
        """Choose a key and take its capacity, breaker admission and budget reservation.

        A key whose own budget refuses the reservation is skipped like a limited key; the
        `BudgetExceededError` is raised when every candidate refuses. A refusal by the
        gateway or tag budget concerns every key, so it is raised at once.
        """
        max_output = request.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS
        cache_writes = self._has_budget and request_has_cache_breakpoints(request)
        over_budget: Dict[str, BudgetExceededError] = {}
        wait_until = real_until = math.nan  # set when a first look finds no key free
        avoided = set(avoid)
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled()
            pairs = [
                (rt, t)
                for rt, t in self._candidates(targets)
                if self.breakers.for_key(rt.key.label).status != "disabled"
            ]
            if not pairs:
                raise NoKeyAvailableError(
                    f"every key for model {request.model!r} is disabled (bad credentials or exhausted quota); "
                    "reset them with Gateway.reset_key"
                )
            if over_budget:
                pairs = [p for p in pairs if p[0].key.label not in over_budget]
                if not pairs:
                    raise _every_key_over_budget(request.model, over_budget)
            fresh = [p for p in pairs if p[0].key.label not in avoided] or pairs
            tokens = input_tokens + max_output
            refused_here = False
            ordered = fresh if len(fresh) == 1 else self._ordered(fresh, input_tokens, max_output, cache_writes)
            for rt, target in ordered:
                lease = self._try(rt, target, tokens, input_tokens, max_output, cache_writes, api_request)
                if lease is not None:
                    try:
                        lease.reservation = self._reserve(lease, tag)
                    except BudgetExceededError as refusal:
                        lease.record(Outcome("neutral"))
                        lease.release(self, sent=False)
                        if refusal.scope != f"key:{rt.key.label}":
                            raise
                        over_budget[rt.key.label] = refusal
                        refused_here = True
                        continue
                    except BaseException:
                        lease.record(Outcome("neutral"))
                        lease.release(self, sent=False)
                        raise
                    return lease
            if refused_here:
                continue  # look again without the keys that are out of budget
            # Nobody admits the call now: wait for the earliest key, within the bound.
            if math.isnan(wait_until):
                wait_until = min(deadline, self._now() + self.pool_config.rate_limit_wait_s)
                # The same bound on the real clock, so an injected clock that stands still cannot spin forever.
                real_until = time.monotonic() + self.pool_config.rate_limit_wait_s
            waits = []
            for rt, t in fresh:
                breaker_wait = self.breakers.for_key(rt.key.label).time_until_probe()
                if self.pool_config.per_model_breakers:
                    model_wait = self.breakers.for_model(rt.key.label, t.model).time_until_probe()
                    breaker_wait = max(breaker_wait, model_wait)
                waits.append(max(rt.limiter.time_until_available(tokens), breaker_wait))
            earliest = min(waits)
            now = self._now()
            out_of_time = now >= wait_until or time.monotonic() >= real_until
            if out_of_time or (not math.isinf(earliest) and now + earliest > wait_until):
                self._raise_unavailable(request.model, fresh, tokens, earliest)
            # A concurrency slot (inf) frees only when a call ends: wait for that signal.
            pause = wait_until - now if math.isinf(earliest) else max(earliest, 0.001)
            self._pause(min(pause, wait_until - now), cancel)

    def _ordered(
        self, pairs: List[Tuple[_KeyRuntime, Target]], input_tokens: int, max_output: int, cache_writes: bool
    ) -> List[Tuple[_KeyRuntime, Target]]:
        """``pairs`` in the order the strategy prefers (one pair needs no ordering)."""
        candidates = []
        by_label: Dict[str, Tuple[_KeyRuntime, Target]] = {}
        for rt, t in pairs:
            price = self.pricing.price(t.model)
            cost = (
                estimate_request_micros(input_tokens, max_output, price, cache_writes=cache_writes)
                if price is not None
                else None
            )
            latency = self.latency.measured(rt.key.label)
            candidates.append(Candidate(rt.key, rt.limiter.in_flight, latency, cost))
            by_label[rt.key.label] = (rt, t)
        return [by_label[candidate.label] for candidate in self.strategy.order(candidates)]

    def _raise_unavailable(
        self, model: str, pairs: List[Tuple[_KeyRuntime, Target]], tokens: int, earliest: float
    ) -> None:
        limited = [rt for rt, _ in pairs if rt.limiter.time_until_available(tokens) > 0]
        if limited:
            when = "when a call in flight finishes" if math.isinf(earliest) else f"in {earliest:.3f}s"
            raise RateLimitError(
                f"every key for model {model!r} is at its rate or concurrency limit; the earliest frees up {when}",
                retry_after=None if math.isinf(earliest) else earliest,
                retryable=True,
            )
        when = "never (disabled)" if math.isinf(earliest) else f"in {earliest:.3f}s"
        raise NoKeyAvailableError(
            f"every key for model {model!r} has an open circuit breaker; the earliest probe is {when}",
            details={"retry_in_s": earliest},
        )

    def _pause(self, seconds: float, cancel: Optional[CancellationToken]) -> None:
        """Wait ``seconds`` or until a call releases capacity; cancellable."""
        registration = cancel.on_cancel(self._released) if cancel is not None else None
        if self._shared_state:
            # Capacity freed by another process sends no signal here: look again soon.
            seconds = min(seconds, SHARED_STATE_POLL_S)
        seconds = min(seconds, _PAUSE_SLICE_S)
        try:
            with self._released_cond:
                self._waiting += 1
                try:
                    self._released_cond.wait(timeout=max(0.0, seconds))
                finally:
                    self._waiting -= 1
        finally:
            if registration is not None:
                registration.unregister()
        if cancel is not None:
            cancel.raise_if_cancelled()

    def _try(
        self,
        rt: _KeyRuntime,
        target: Target,
        tokens: int,
        input_tokens: int,
        max_output: int,
        cache_writes: bool,
        api_request: Any,
    ) -> Optional[_Lease]:
        # Breakers first (admission of a closed breaker is one read), then capacity: a key
        # whose breaker refuses takes no rate-limit units.
        key_permit = self.breakers.for_key(rt.key.label).acquire()
        if key_permit is None:
            return None
        admitted: List[BreakerPermit] = [key_permit]
        if self.pool_config.per_model_breakers:
            if target.model not in rt.models_seen:
                rt.models_seen.add(target.model)
            model_permit = self.breakers.for_model(rt.key.label, target.model).acquire()
            if model_permit is None:
                key_permit.neutral()
                return None
            admitted.append(model_permit)
        permit = rt.limiter.try_acquire(tokens)
        if permit is None:
            for taken in admitted:
                taken.neutral()
            return None
        rt.report_in_flight()  # a long call shows in the shared in-flight count at once
        try:
            estimate = self._estimate(target.model, input_tokens, max_output, cache_writes, api_request)
        except BaseException:
            for taken in admitted:
                taken.neutral()
            permit.release(sent=False)
            raise
        return _Lease(rt, target, permit, admitted, None, estimate, input_tokens, max_output, api_request)

    def _reserve(self, lease: _Lease, tag: Optional[str]) -> Optional[BudgetReservation]:
        if not self._has_budget:
            return None
        return self.budgets.reserve(lease.estimate_micros, key=lease.runtime.key.label, tag=tag)

    # ------------------------------------------------------------------ outcomes

    def _observe_failure(self, lease: _Lease, error: BaseException) -> Outcome:
        outcome = classify(error)
        rt = lease.runtime
        lease.record(outcome)
        if outcome.kind == RATE_LIMITED:
            # Retry-After, or for a 429 without one the reset of its exhausted rate-limit
            # window (read from the headers by `omnillm.provider_errors`).
            retry_after = outcome.retry_after
            rt.limiter.cooldown(retry_after if retry_after is not None else DEFAULT_RATE_LIMIT_COOLDOWN_S)
        elif outcome.kind == DISABLE:
            self.breakers.for_key(rt.key.label).disable(outcome.reason or type(error).__name__)
            logger.warning("omnillm: key %s disabled after %s", rt.key.label, outcome.reason or type(error).__name__)
        rt.count(error=type(error).__name__)
        return outcome

    def _observe_success(self, lease: _Lease, latency: float, rate_limit: Any) -> None:
        lease.record(Outcome(SUCCESS))
        self.latency.observe(lease.runtime.key.label, max(0.0, latency))
        if lease.runtime.stats_add is not None:
            lease.runtime.stats_add(lease.runtime.key.label, latency_s=max(0.0, latency))
        if rate_limit is not None:
            lease.runtime.limiter.observe(rate_limit)

    def _next_call_id(self) -> int:
        return next(self._calls)

    def _retry_delay(
        self, error: BaseException, attempts: int, started: float, deadline: float, *, elsewhere: bool = False
    ) -> Optional[float]:
        """Seconds to wait before the next attempt, or None to stop.

        ``elsewhere`` says another key can take the next attempt: a Retry-After then
        concerns only the key that sent it (which is cooling down), so the next attempt
        waits just the backoff.
        """
        policy = self.pool_config.retry
        remaining = deadline - self._now()
        if remaining <= 0:
            return None
        if elsewhere and isinstance(error, ProviderError) and error.retry_after is not None:
            if not error.retryable or attempts >= policy.max_attempts:
                return None
            delay = policy.backoff(attempts - 1, self._rng)
            return delay if delay < remaining else None
        decision = policy.decide(error, attempts=attempts, elapsed_s=self._now() - started, rng=self._rng)
        if not decision.retry:
            return None
        return decision.delay_s if decision.delay_s < remaining else None

    def _elsewhere(self, targets: List[Target], avoid: Sequence[str]) -> bool:
        """True when a key outside ``avoid`` could serve one of ``targets`` right now."""
        for rt, _ in self._candidates(targets):
            label = rt.key.label
            if label not in avoid and self.breakers.for_key(label).available() and self._limiter_free(rt):
                return True
        return False

    @staticmethod
    def _limiter_free(rt: _KeyRuntime) -> bool:
        return rt.limiter.time_until_available(0) == 0

    def _timeout(self, deadline: float) -> Timeout:
        remaining = max(0.001, deadline - self._now())
        return Timeout(connect=min(self.connect_timeout, remaining), read=remaining, total=remaining)

    # ------------------------------------------------------------------ calls

    def call(
        self,
        request: LlmRequest,
        *,
        tag: Optional[str] = None,
        cancel: Optional[CancellationToken] = None,
        timeout: Optional[float] = None,
        output_type: Any = None,
    ) -> LlmResponse:
        """Generate a response, with balancing, limits, breakers, retries, failover and budget.

        With ``output_type`` (a dataclass, ``TypedDict``, `Enum`, ``List[X]``, ... or an
        `OutputSpec`) each attempt asks its provider for structured output in that
        provider's form, and ``response.parsed`` holds the validated value;
        `StructuredOutputError` (with the raw text) when the answer does not fit.
        """
        if not isinstance(request, LlmRequest):
            raise ConfigurationError(f"Gateway.call takes an LlmRequest, not {type(request).__name__}; use call_api")
        spec = None
        if output_type is not None:
            from ..structured import output_spec

            spec = output_spec(output_type)
            request = spec.request(request)
        if not self.middleware:
            response = self._execute(request, tag=tag, cancel=cancel, timeout=timeout, spec=spec)
        else:
            context = CallContext("call", tag=tag)
            response = self.middleware.call(
                request,
                context,
                lambda r: self._execute(  # type: ignore[arg-type,return-value]
                    r, tag=context.tag, cancel=cancel, timeout=timeout, headers=context.headers, spec=spec
                ),
            )
        assert isinstance(response, LlmResponse)
        if spec is not None and (response.cached or response.parsed is None):
            response.parsed = spec.parse(response)  # a cache or a middleware answered without parsing
        return response

    def call_api(
        self,
        request: ApiRequest,
        *,
        tag: Optional[str] = None,
        cancel: Optional[CancellationToken] = None,
        timeout: Optional[float] = None,
    ) -> ApiResponse:
        """Send any `ApiRequest` (embeddings, images, audio, rerank, generation) through the pool."""
        if not self.middleware:
            return self._execute(request, tag=tag, cancel=cancel, timeout=timeout)
        context = CallContext("call_api", tag=tag)
        return self.middleware.call_api(  # type: ignore[no-any-return]
            request,
            context,
            lambda r: self._execute(r, tag=context.tag, cancel=cancel, timeout=timeout, headers=context.headers),
        )

    def _execute(
        self,
        request: ApiRequest,
        *,
        tag: Optional[str],
        cancel: Optional[CancellationToken],
        timeout: Optional[float],
        headers: Optional[Mapping[str, str]] = None,
        spec: Any = None,
    ) -> ApiResponse:
        self._check_open()
        started = self._now()
        deadline = started + (timeout if timeout is not None else self.request_timeout)
        model = getattr(request, "model", "")
        targets = self._targets(model)
        generation = isinstance(request, LlmRequest)
        input_tokens = self._input_tokens(request)
        probe = request if generation else LlmRequest(model=model, max_output_tokens=1)
        assert isinstance(probe, LlmRequest)
        call_id = self._next_call_id()
        attempts = 0
        avoid: List[str] = []
        while True:
            lease = self._lease(
                probe,
                targets,
                input_tokens,
                avoid=avoid,
                tag=tag,
                deadline=deadline,
                cancel=cancel,
                api_request=None if generation else request,
            )
            attempts += 1
            rt = lease.runtime
            provider_model = rt.key.provider_model(lease.target.model)
            sent = request if provider_model == model else dataclasses.replace(request, model=provider_model)
            # Built only when a hook listens (a frozen dataclass per attempt is not free).
            info = (
                AttemptInfo(call_id, attempts, rt.key.label, rt.key.provider, lease.target.model)
                if self._hooked()
                else None
            )
            if spec is not None:  # each key may speak another protocol: fit the schema to this one
                try:
                    sent = _adapted(spec, sent, rt.client)
                except BaseException:
                    lease.record(Outcome("neutral"))
                    lease.release(self, sent=False)
                    raise
            if info is not None:
                self._emit("request_start", info)
            began = self._now()
            try:
                exchange = rt.client.execute(sent, timeout=self._timeout(deadline), cancel=cancel, headers=headers)
            except OmniLLMError as error:
                cancelled = cancel is not None and cancel.cancelled
                if not cancelled:
                    self._observe_failure(lease, error)
                else:
                    lease.record(Outcome("neutral"))
                lease.release(self, sent=not isinstance(error, CancelledError))
                if info is not None:
                    self._emit("failure", dataclasses.replace(info, latency_s=self._now() - began, error=error))
                if cancelled or isinstance(error, CancelledError):
                    raise CancelledError("the call was cancelled") from None
                avoid.append(rt.key.label)  # the next attempt prefers another key or target
                elsewhere = self._elsewhere(targets, avoid)
                delay = self._retry_delay(_as_retryable(error), attempts, started, deadline, elsewhere=elsewhere)
                if delay is None:
                    if self._now() >= deadline and isinstance(error, ProviderError) and error.retryable:
                        raise TimeoutError(
                            f"request_timeout of {deadline - started:.1f}s passed after {attempts} attempt(s); "
                            f"last error: {error}",
                            retryable=True,
                        ) from error
                    raise
                if info is not None:
                    self._emit("retry", dataclasses.replace(info, error=error, delay_s=delay))
                logger.info(
                    "omnillm: retrying call %d after %s on %s in %.3fs",
                    call_id,
                    type(error).__name__,
                    rt.key.label,
                    delay,
                )
                self._pause_exact(delay, cancel)
                continue
            except BaseException:
                lease.record(Outcome("neutral"))
                lease.release(self, sent=True)
                raise
            response = exchange.response
            usage = getattr(response, "usage", None)
            usage = usage if isinstance(usage, Usage) else _usage_of(response)
            cost = lease.settle(self, usage, response=response)
            self._observe_success(lease, exchange.latency, exchange.rate_limit)
            rt.count(tokens=usage.total if usage is not None else 0, spent=cost)
            if isinstance(response, LlmResponse):
                response.cost_micros = cost
            if info is not None:
                self._emit("success", dataclasses.replace(info, latency_s=exchange.latency, cost_micros=cost))
            if spec is not None and isinstance(response, LlmResponse):
                # Parsed inside the middleware chain, so an answer that does not fit is never cached.
                response.parsed = spec.parse(response)
            return response

    def _pause_exact(self, seconds: float, cancel: Optional[CancellationToken]) -> None:
        if seconds <= 0:
            return
        if cancel is not None:
            if cancel.wait(seconds):
                cancel.raise_if_cancelled()
        else:
            time.sleep(seconds)

    def stream(
        self,
        request: LlmRequest,
        *,
        tag: Optional[str] = None,
        cancel: Optional[CancellationToken] = None,
        timeout: Optional[float] = None,
    ) -> Union[GatewayStream, MiddlewareStream]:
        """Stream ``request`` as canonical events; an iterator and a context manager.

        Failures before the first content event fail over like `call`; after it, a
        failure raises `StreamInterruptedError` with the partial response. The budget is
        settled for what was produced when the stream ends, is closed or is cancelled.
        With middleware the events pass through them (a `MiddlewareStream`, with the
        same ``response()``, ``completed``, ``cost_micros`` and ``close()``).
        """
        self._check_open()
        if not self.middleware:
            return GatewayStream(self, request, tag=tag, cancel=cancel, timeout=timeout)
        context = CallContext("stream", tag=tag)
        opened: List[GatewayStream] = []

        def terminal(r: LlmRequest) -> Iterator[StreamEvent]:
            inner = GatewayStream(self, r, tag=context.tag, cancel=cancel, timeout=timeout, headers=context.headers)
            opened.append(inner)
            return inner

        return MiddlewareStream(self.middleware.stream(request, context, terminal), context, opened)

    # ------------------------------------------------------------------ pool

    def submit(self, request: ApiRequest, **kwargs: Any) -> concurrent.futures.Future[ApiResponse]:
        """Run `call_api` on the gateway's thread pool; returns a `concurrent.futures.Future`."""
        self._check_open()
        return self._pool().submit(
            self.call_api, request, tag=kwargs.get("tag"), cancel=kwargs.get("cancel"), timeout=kwargs.get("timeout")
        )

    def map(
        self, requests: Iterable[ApiRequest], *, return_exceptions: bool = False, **kwargs: Any
    ) -> Iterator[Union[ApiResponse, BaseException]]:
        """Run many requests on the pool; yields results in input order.

        The first failure is raised when reached, unless ``return_exceptions`` is true,
        in which case the exception is yielded in its place. At most twice
        ``PoolConfig.max_workers`` requests are submitted ahead of the one being
        yielded, so a long or endless iterable is consumed as results are taken, not
        all at once; the first window is submitted before this returns.
        """
        self._check_open()
        window = 2 * self.pool_config.max_workers
        source = iter(requests)
        pending: collections.deque[concurrent.futures.Future[ApiResponse]] = collections.deque()
        for r in source:
            pending.append(self.submit(r, **kwargs))
            if len(pending) >= window:
                break

        def results() -> Iterator[Union[ApiResponse, BaseException]]:
            while pending:
                future = pending.popleft()
                if len(pending) < window:
                    for r in source:
                        pending.append(self.submit(r, **kwargs))
                        break
                if return_exceptions:
                    error = future.exception()
                    yield error if error is not None else future.result()
                else:
                    yield future.result()

        return results()

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self.pool_config.max_workers, thread_name_prefix="omnillm-gateway"
                )
            return self._executor

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError("the gateway is closed")

    def reset_key(self, label: str) -> None:
        """Re-enable a key after its credentials were fixed: breaker closed, cooldowns forgotten."""
        rt = self._runtimes.get(label)
        if rt is None:
            raise ConfigurationError(f"no key labelled {label!r}")
        self.breakers.for_key(label).reset()
        for model in list(rt.models_seen):
            self.breakers.for_model(label, model).reset()
        rt.limiter.reset()
        self._released()

    def pool_status(self) -> PoolStatus:
        """One `KeyStatus` per key plus the budgets (plain data; no secret)."""
        keys = []
        shared_stats = getattr(self.state, "key_stats", None)
        shared = shared_stats(list(self._runtimes)) if callable(shared_stats) else None
        for label, rt in self._runtimes.items():
            breaker = self.breakers.for_key(label)
            circuit = breaker.status
            limits = rt.limiter.snapshot()
            wait = rt.limiter.time_until_available(0)
            cooling = wait > 0 and not math.isinf(wait)
            model_circuits = {}
            for model in sorted(rt.models_seen):
                found = self.breakers.find(f"{label}/{model}")
                if found is not None and found.status != "closed":
                    model_circuits[model] = found.status
            health = {"open": "ejected", "half_open": "probing", "disabled": "disabled"}.get(circuit, "healthy")
            if health == "healthy" and model_circuits:
                health = "degraded"
            if health == "healthy" and cooling:
                health = "cooling down"
            with rt.lock:
                requests, tokens = rt.window_counts()
                counts: Dict[str, Any] = {
                    "in_flight": rt.limiter.in_flight,
                    "errors": dict(rt.errors),
                    "spent_micros": rt.spent_micros,
                    "total_requests": rt.requests,
                    "total_tokens": rt.tokens,
                }
            seen = shared.get(label) if shared is not None else None
            if seen is not None:
                # Every worker's totals from the shared backend; the sliding-window counts
                # and the latency average stay this worker's own.
                counts = {
                    "in_flight": int(seen.get("in_flight", counts["in_flight"])),
                    "errors": dict(seen.get("errors", counts["errors"])),
                    "spent_micros": int(seen.get("spent_micros", counts["spent_micros"])),
                    "total_requests": int(seen.get("requests", counts["total_requests"])),
                    "total_tokens": int(seen.get("tokens", counts["total_tokens"])),
                }
            keys.append(
                KeyStatus(
                    provider=rt.key.provider,
                    label=label,
                    health=health,
                    circuit=circuit,
                    requests=requests,
                    tokens=tokens,
                    limits=limits,
                    latency_ewma_s=self.latency.get(label),
                    model_circuits=model_circuits,
                    **counts,
                )
            )
        total = self.budgets.total.snapshot() if self.budgets.total is not None else None
        backend_status = getattr(self.state, "status", None)
        state = backend_status() if callable(backend_status) else None
        return PoolStatus(keys, total, self.budgets.snapshot(), state)

    def close(self) -> None:
        """Shut down the thread pool and release pooled connections; the gateway refuses new calls."""
        self._closed = True
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        if self._owns_transport:
            self.transport.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ fork

    def _after_fork_in_child(self) -> None:
        # Locks held by other threads at fork time stay locked in the child, the thread
        # pool's threads do not exist there, and in-flight reservations belong to the
        # parent: rebuild every piece of runtime state from the configuration.
        spent = {label: rt.spent_micros for label, rt in self._runtimes.items()}
        in_flight_tokens = {label: rt.limiter.in_flight_tokens for label, rt in self._runtimes.items()}
        config = dict(self._config)
        state = self.state
        # In-memory state is copied with nothing in flight; a shared backend is reconnected.
        config["state"] = state.forked() if hasattr(state, "forked") else state
        self._config = config
        closed = self._closed
        self._build(**config)
        self._closed = closed
        for m in self.middleware.middleware:
            hook = getattr(m, "after_fork", None)
            if callable(hook):
                hook()
        for label, value in spent.items():
            self._runtimes[label].spent_micros = value
        if isinstance(state, InMemoryState):  # a private copy: refund the parent's in-flight token charges
            for label, tokens in in_flight_tokens.items():
                self._runtimes[label].limiter.refund_tokens(tokens)


def _target(value: Union[Target, Tuple[str, str], str], model: str) -> Target:
    if isinstance(value, Target):
        return value
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return Target(value[0], value[1])
    if isinstance(value, str) and "/" in value:
        provider, _, name = value.partition("/")
        return Target(provider, name)
    raise ConfigurationError(f"route {model!r}: a target is Target(provider, model), a pair or 'provider/model'")


def _every_key_over_budget(model: str, refusals: Mapping[str, BudgetExceededError]) -> BudgetExceededError:
    """One error for a call that every candidate key's own budget refused (the roomiest is reported)."""
    roomiest = max(refusals.values(), key=lambda e: e.available)
    labels = ", ".join(sorted(refusals))
    return BudgetExceededError(
        f"every key for model {model!r} is over its own budget ({labels}); the call may cost up to "
        f"{roomiest.needed} micro-USD and the most any key has left is {roomiest.available}",
        scope=roomiest.scope,
        needed=roomiest.needed,
        available=roomiest.available,
    )


def _non_negative(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _usd(name: str, value: Optional[float]) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"{name} must be a non-negative number of US dollars, not {value!r}")
    return round(value * 1_000_000)


def _api_tokens(request: ApiRequest) -> int:
    text = getattr(request, "query", "") or ""
    for name in ("inputs", "documents"):
        for item in getattr(request, name, None) or []:
            text += item if isinstance(item, str) else str(item)
    for name in ("prompt", "input"):
        value = getattr(request, name, None)
        if isinstance(value, str):
            text += value
    return max(1, len(text) // 4)


def _usage_of(response: ApiResponse) -> Optional[Usage]:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    inputs = getattr(usage, "input_tokens", None) or getattr(usage, "prompt_tokens", None) or 0
    outputs = getattr(usage, "output_tokens", None) or 0
    return Usage(input_tokens=int(inputs), output_tokens=int(outputs))


# --------------------------------------------------------------------------- streams

_PREAMBLE = (ResponseStarted, OutputItemAdded, UsageUpdate)


class GatewayStream:
    """Canonical events of one gateway stream; iterate it, use it as a context manager.

    The stream opens (with failover) when created and holds back the events that carry
    no content until the first one that does, so that a failure before any content
    reached the caller can still move to another key. `response` gives what has been
    produced so far; `cost_micros` what was settled once the stream is over.
    """

    def __init__(
        self,
        gateway: Gateway,
        request: LlmRequest,
        *,
        tag: Optional[str],
        cancel: Optional[CancellationToken],
        timeout: Optional[float],
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self._gw = gateway
        self._request = request
        self._tag = tag
        self._headers = headers
        self._cancel = cancel
        self._started = gateway._now()
        self._deadline = self._started + (timeout if timeout is not None else gateway.request_timeout)
        self._lease: Optional[_Lease] = None
        self._inner: Optional[ResponseStream] = None
        self._held: List[StreamEvent] = []
        self._delivered = False
        self._done = False
        self._info: Optional[AttemptInfo] = None
        self.cost_micros: Optional[int] = None
        self._lock = threading.Lock()
        self._registration = cancel.on_cancel(self._on_cancel) if cancel is not None else None
        self._open_with_failover()

    # The first content event is read here, with failover, so a stream that breaks before
    # producing anything is retried on another key like a call.
    def _open_with_failover(self) -> None:
        gw = self._gw
        request = self._request
        targets = gw._targets(request.model)
        input_tokens = gw._input_tokens(request)
        call_id = gw._next_call_id()
        attempts = 0
        avoid: List[str] = []
        while True:
            lease = gw._lease(
                request, targets, input_tokens, avoid=avoid, tag=self._tag, deadline=self._deadline, cancel=self._cancel
            )
            attempts += 1
            rt = lease.runtime
            info = AttemptInfo(call_id, attempts, rt.key.label, rt.key.provider, lease.target.model, stream=True)
            gw._emit("request_start", info)
            began = gw._now()
            provider_model = rt.key.provider_model(lease.target.model)
            sent = request if provider_model == request.model else dataclasses.replace(request, model=provider_model)
            try:
                inner = rt.client.open_stream(
                    sent, timeout=gw._timeout(self._deadline), cancel=self._cancel, headers=self._headers
                )
                held: List[StreamEvent] = []
                for event in inner:
                    held.append(event)
                    if not isinstance(event, _PREAMBLE):
                        break
            except OmniLLMError as error:
                cancelled = self._cancel is not None and self._cancel.cancelled
                if not cancelled:
                    gw._observe_failure(lease, error)
                else:
                    lease.record(Outcome("neutral"))
                lease.release(gw, sent=True)
                gw._emit("failure", dataclasses.replace(info, latency_s=gw._now() - began, error=error))
                if cancelled or isinstance(error, CancelledError):
                    self._finish_registration()
                    raise CancelledError("the stream was cancelled") from None
                retry_error = _as_retryable(error)
                avoid.append(rt.key.label)
                elsewhere = gw._elsewhere(targets, avoid)
                delay = gw._retry_delay(retry_error, attempts, self._started, self._deadline, elsewhere=elsewhere)
                if delay is None:
                    self._finish_registration()
                    raise
                gw._emit("retry", dataclasses.replace(info, error=error, delay_s=delay))
                gw._pause_exact(delay, self._cancel)
                continue
            except BaseException:
                lease.record(Outcome("neutral"))
                lease.release(gw, sent=True)
                self._finish_registration()
                raise
            self._lease, self._inner, self._held, self._info = lease, inner, held, info
            self._began = began
            if inner.completed:
                self._end(None)
            return

    def __iter__(self) -> Iterator[StreamEvent]:
        # A for loop runs this generator: per event it costs a resumption, not a call of
        # `__next__` and its checks. Both read and move the same state, so a consumer may
        # take some events with next() and loop over the rest.
        return self._events()

    def _events(self) -> Iterator[StreamEvent]:
        while self._held:
            self._delivered = True
            yield self._held.pop(0)
        inner = self._inner
        if self._done or inner is None:
            return
        accumulator = inner.accumulator
        try:
            for event in inner:
                self._delivered = True
                if accumulator.stop_reason is not None:  # the terminal event: settle now
                    self._end(None)
                yield event
        except OmniLLMError as error:
            self._interrupted(error)
        self._end(None)

    def __next__(self) -> StreamEvent:
        if self._held:
            self._delivered = True
            return self._held.pop(0)
        if self._done or self._inner is None:
            raise StopIteration
        try:
            event = next(self._inner)
        except StopIteration:
            self._end(None)
            raise
        except OmniLLMError as error:
            self._interrupted(error)
        self._delivered = True
        if self._inner.completed:
            self._end(None)
        return event

    def _interrupted(self, error: OmniLLMError) -> NoReturn:
        """Settle a stream that broke after output reached the caller, and raise for it."""
        assert self._inner is not None
        partial = self._inner.response()
        if self._cancel is not None and self._cancel.cancelled:
            self._end(None, cancelled=True)
            raise CancelledError("the stream was cancelled; what arrived is settled") from None
        self._end(error)
        raise StreamInterruptedError(
            f"the stream broke after output reached the caller: {error}",
            partial,
            cause=error,
            protocol=self._inner.wire_format.value,
        ) from error

    def response(self) -> LlmResponse:
        """What has been produced so far (the complete response once the stream ended)."""
        if self._inner is None:
            raise StreamError("the stream never opened")
        response = self._inner.response()
        response.cost_micros = self.cost_micros
        return response

    @property
    def completed(self) -> bool:
        """True once the provider's terminal event arrived."""
        return self._inner is not None and self._inner.completed

    def _on_cancel(self) -> None:
        if self._inner is not None:
            self._inner.close()

    def _finish_registration(self) -> None:
        if self._registration is not None:
            self._registration.unregister()
            self._registration = None

    def _end(self, error: Optional[BaseException], *, cancelled: bool = False) -> None:
        """Settle the money and the key once: for what was produced, whatever the ending."""
        with self._lock:
            if self._done:
                return
            self._done = True
        self._finish_registration()
        lease, inner, info, gw = self._lease, self._inner, self._info, self._gw
        if lease is None or inner is None or info is None:
            return
        inner.close()
        partial = inner.response()
        produced = sum(len(getattr(item, "text", None) or "") for item in partial.output)
        produced += sum(len(c.arguments) for c in partial.tool_calls)
        usage = partial.usage
        if usage is not None and not inner.completed:
            # Usage seen mid-stream may predate most of the output: charge the larger view.
            produced_tokens = math.ceil(produced / 4)
            if lease.max_output:
                produced_tokens = min(produced_tokens, lease.max_output)  # the provider stops there
            estimated = Usage(
                input_tokens=max(usage.input_tokens, lease.input_tokens),
                output_tokens=max(usage.output_tokens, produced_tokens),
            )
            usage = estimated
        cost = lease.settle(gw, usage, produced)
        self.cost_micros = cost
        latency = gw._now() - self._began
        if error is None and not cancelled:
            gw._observe_success(lease, inner.first_event_latency or latency, inner.rate_limit)
            gw._emit("success", dataclasses.replace(info, latency_s=latency, cost_micros=cost))
        elif cancelled:
            lease.record(Outcome("neutral"))
            gw._emit("failure", dataclasses.replace(info, latency_s=latency, error=CancelledError("cancelled")))
        else:
            assert error is not None
            gw._observe_failure(lease, error)
            gw._emit("failure", dataclasses.replace(info, latency_s=latency, error=error, cost_micros=cost))
        lease.runtime.count(tokens=partial.usage.total if partial.usage else 0, spent=cost)

    def close(self) -> None:
        """Stop reading: the connection closes and the budget is settled for what was produced."""
        if self._done:
            return
        delivered_all = self._inner is not None and self._inner.completed
        self._end(None, cancelled=not delivered_all)

    def __enter__(self) -> GatewayStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            return


def _adapted(spec: Any, request: ApiRequest, client: Client) -> ApiRequest:
    if not isinstance(request, LlmRequest):
        return request
    fmt = client.wire_format_for(request)
    adapted, losses = spec.adapt(request, fmt)
    for loss in losses:
        logger.debug("omnillm: structured output for %s: %s", fmt.value, loss)
    return adapted  # type: ignore[no-any-return]


def _as_retryable(error: OmniLLMError) -> BaseException:
    """Errors that are the provider's fault but not `ProviderError` s (a truncated stream, an
    unreadable body) are retried like the provider errors they stand for."""
    if isinstance(error, ProviderError):
        return error
    outcome = classify(error)
    if outcome.kind in (FAILURE, RATE_LIMITED):
        return ProviderError(str(error), retryable=True, retry_after=outcome.retry_after)
    return error


# --------------------------------------------------------------------------- builder


class GatewayBuilder:
    """Builds a `Gateway` step by step: ``Gateway.builder().add_key(...).budget_limit_usd(5).build()``."""

    def __init__(self) -> None:
        self._keys: List[KeyConfig] = []
        self._options: Dict[str, Any] = {}
        self._routes: Dict[str, List[Union[Target, Tuple[str, str], str]]] = {}
        self._hooks: Dict[str, List[Callable[[AttemptInfo], None]]] = {}

    def add_key(self, key: Union[KeyConfig, str, None] = None, secret: Any = None, **fields: Any) -> GatewayBuilder:
        """Add a key: a `KeyConfig`, or its fields (``add_key("openai", "sk-...", label="main", rpm=500)``)."""
        if isinstance(key, KeyConfig):
            self._keys.append(key)
        else:
            provider = key if key is not None else fields.pop("provider", None)
            self._keys.append(
                KeyConfig(
                    provider=provider, secret=secret if secret is not None else fields.pop("secret", None), **fields
                )
            )
        return self

    def route(self, model: str, *targets: Union[Target, Tuple[str, str], str]) -> GatewayBuilder:
        """Serve the logical ``model`` from ``targets`` (in failover order)."""
        self._routes[model] = list(targets)
        return self

    def budget_limit_usd(self, limit: float, *, window: Optional[str] = None) -> GatewayBuilder:
        """A gateway-wide budget in US dollars (``window``: reset every budget each UTC ``day`` or ``month``)."""
        self._options["budget_limit_usd"] = limit
        if window is not None or "budget_window" not in self._options:
            self._options["budget_window"] = window
        return self

    def budget_window(self, window: Optional[str]) -> GatewayBuilder:
        """Reset every budget (gateway, key and tag) each UTC ``day`` or ``month`` (None: never)."""
        self._options["budget_window"] = window
        return self

    def key_budget_usd(self, label: str, limit: float) -> GatewayBuilder:
        """A budget for one key."""
        self._options.setdefault("key_budgets_usd", {})[label] = limit
        return self

    def tag_budget_usd(self, limit: float, tag: Optional[str] = None) -> GatewayBuilder:
        """A budget for one tag, or (no ``tag``) for every tag separately."""
        if tag is None:
            self._options["tag_budget_usd"] = limit
        else:
            self._options.setdefault("tag_budgets_usd", {})[tag] = limit
        return self

    def pool_config(self, config: PoolConfig) -> GatewayBuilder:
        """Balancing, limits, breakers and retries (`PoolConfig`)."""
        self._options["pool_config"] = config
        return self

    def request_timeout(self, seconds: float) -> GatewayBuilder:
        """Bound on a whole call, retries included."""
        self._options["request_timeout"] = seconds
        return self

    def prices(self, prices: Union[PriceTable, Mapping[str, Any]], *, missing: str = "refuse") -> GatewayBuilder:
        """Extend or override the price table; ``missing`` is ``refuse`` or ``zero``."""
        self._options["prices"] = prices
        self._options["missing_price"] = missing
        return self

    def hook(self, event: str, fn: Callable[[AttemptInfo], None]) -> GatewayBuilder:
        """Add an observability hook."""
        self._hooks.setdefault(event, []).append(fn)
        return self

    def option(self, name: str, value: Any) -> GatewayBuilder:
        """Set any other `Gateway` keyword argument (``transport``, ``state``, ``now``, ...)."""
        self._options[name] = value
        return self

    def build(self) -> Gateway:
        """The configured `Gateway` (validated; errors are `ConfigurationError`)."""
        return Gateway(self._keys, routes=self._routes or None, hooks=self._hooks or None, **self._options)


# --------------------------------------------------------------------------- fork safety


class _ForkRegistry:
    """Gateways to rebuild in a forked child; weak, so gateways are still collected."""

    def __init__(self) -> None:
        self._items: weakref.WeakSet[Gateway] = weakref.WeakSet()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def add(self, gateway: Gateway) -> None:
        self._items.add(gateway)

    def _reset(self) -> None:
        for gateway in list(self._items):
            gateway._after_fork_in_child()


_forked = _ForkRegistry()
