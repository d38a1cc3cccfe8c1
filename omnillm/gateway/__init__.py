"""The gateway's policies: keys, balancing, rate limits, breakers, retries, budgets, prices.

Each policy is a small value in its own module, with its clock injected (``now``, a
monotonic clock; ``now_wall`` for calendar windows), no I/O, no threads of its own, and
its shared counters behind the `StateBackend` seam (`InMemoryState` in one process).
The `Gateway` composes them; nothing here imports a network library.
"""

from __future__ import annotations

from .balancing import (
    STRATEGIES,
    Candidate,
    LatencyTracker,
    LeastInFlight,
    LowestCost,
    LowestLatency,
    Strategy,
    WeightedRoundRobin,
    strategy_named,
)
from .budget import Budget, BudgetReservation, Budgets, Reservation
from .cancel import CancellationToken, CancelRegistration
from .circuit import (
    BreakerConfig,
    BreakerPermit,
    BreakerRegistry,
    BreakerState,
    CircuitBreaker,
    EjectionGuard,
    Outcome,
    classify,
)
from .gateway import (
    AttemptInfo,
    Gateway,
    GatewayBuilder,
    GatewayStream,
    KeyStatus,
    PoolConfig,
    PoolStatus,
    Target,
)
from .keys import KeyConfig
from .pricing import (
    EMBEDDED_PRICES,
    PRICES_AS_OF,
    MissingPriceWarning,
    Price,
    PriceTable,
    Pricing,
    cost_micros,
    estimate_request_micros,
    estimate_tokens,
)
from .ratelimit import KeyLimiter, Permit
from .retry import RetryDecision, RetryPolicy
from .state import AtomicInt, BucketSpec, BudgetTotals, InMemoryState, StateBackend

__all__ = [
    # the gateway
    "Gateway",
    "GatewayBuilder",
    "GatewayStream",
    "PoolConfig",
    "PoolStatus",
    "KeyStatus",
    "AttemptInfo",
    "Target",
    # keys and balancing
    "KeyConfig",
    "Candidate",
    "Strategy",
    "WeightedRoundRobin",
    "LeastInFlight",
    "LowestLatency",
    "LowestCost",
    "LatencyTracker",
    "STRATEGIES",
    "strategy_named",
    # rate limits
    "KeyLimiter",
    "Permit",
    # circuit breaking
    "Outcome",
    "classify",
    "BreakerConfig",
    "BreakerState",
    "BreakerPermit",
    "CircuitBreaker",
    "EjectionGuard",
    "BreakerRegistry",
    # retries
    "RetryPolicy",
    "RetryDecision",
    # budgets
    "Budget",
    "Budgets",
    "Reservation",
    "BudgetReservation",
    # pricing
    "Price",
    "PriceTable",
    "Pricing",
    "EMBEDDED_PRICES",
    "PRICES_AS_OF",
    "MissingPriceWarning",
    "cost_micros",
    "estimate_request_micros",
    "estimate_tokens",
    # cancellation
    "CancellationToken",
    "CancelRegistration",
    # state
    "StateBackend",
    "InMemoryState",
    "AtomicInt",
    "BucketSpec",
    "BudgetTotals",
]
