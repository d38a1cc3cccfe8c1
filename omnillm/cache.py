"""Response caching: answers keyed by a canonical fingerprint of the request.

`request_fingerprint` hashes the normalised canonical request, so the key is the same
whatever the key order, and whichever wire format the request arrived in (a Chat
Completions body and the equivalent Anthropic body decode to the same key). Fields
that do not change the answer are left out: ``user``, ``metadata``, ``stream``,
``prompt_cache_key``, ``service_tier``, prompt-cache markers, and the provenance that
decoding leaves behind (``raw_message``, ``raw_format``, ``extensions``, item ids and
synthetic call ids). ``instructions`` count as a leading system message and the
``developer`` role as ``system``, as the protocols treat them.

`ResponseCache` is a `Middleware`: a hit answers without reaching the gateway's pool,
so it takes no rate-limit capacity, reserves no budget and costs nothing; the response
comes back with ``cached=True`` and ``cost_micros=0``. A cached stream is replayed as
canonical events. `CachePolicy` says what is cached and for how long. Storage is a
`CacheBackend`: `InMemoryCache` (LRU, TTL, bounded entry count, injected clock) by
default; any object with ``get``/``set``/``delete``/``clear`` works.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from .errors import ConfigurationError
from .middleware import ApiNext, CallContext, CallNext, Middleware, StreamNext
from .model import LlmRequest, LlmResponse, Message
from .stream import StreamAccumulator, StreamEvent, events_from_response

#: Bumped when the fingerprint's normal form changes, so old entries stop matching.
FINGERPRINT_VERSION = "1"

_IGNORED_REQUEST_FIELDS = frozenset({"user", "metadata", "stream", "prompt_cache_key", "service_tier", "instructions"})
_IGNORED_FIELDS = frozenset({"extensions", "raw_message", "raw_format", "cache_control", "item_id", "synthetic_id"})


# --------------------------------------------------------------------------- fingerprint


def _normal(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: Dict[str, Any] = {"_": type(value).__name__}
        synthetic = bool(getattr(value, "synthetic_id", False))
        for f in dataclasses.fields(value):
            if f.name in _IGNORED_FIELDS:
                continue
            if synthetic and f.name in ("id", "call_id"):  # made up locally; differs run to run
                continue
            item = _normal(getattr(value, f.name))
            if item is None or item == [] or item == {}:
                continue  # unset and empty are the same request
            out[f.name] = item
        return out
    if isinstance(value, dict):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # temperature 1 and 1.0 are one request
    return value


def _messages(request: LlmRequest) -> List[Message]:
    """The conversation with instructions as a system message and system turns up front merged."""
    messages = [dataclasses.replace(m, role="system") if m.role == "developer" else m for m in request.messages]
    if request.instructions:
        messages.insert(0, Message.system(request.instructions))
    merged: List[Message] = []
    for m in messages:
        leading = bool(merged) and all(x.role == "system" for x in merged)
        if m.role == "system" and leading:
            merged[-1] = dataclasses.replace(merged[-1], content=merged[-1].content + m.content)
        else:
            merged.append(m)
    return merged


def request_fingerprint(request: LlmRequest) -> str:
    """A stable hex digest of what in ``request`` can change the answer (see the module docstring)."""
    body = {
        name: _normal(getattr(request, name))
        for name in (f.name for f in dataclasses.fields(request))
        if name not in _IGNORED_REQUEST_FIELDS and name not in _IGNORED_FIELDS and name != "messages"
    }
    body["messages"] = _normal(_messages(request))
    body = {k: v for k, v in body.items() if v is not None and v != [] and v != {}}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    import hashlib  # loaded on first use: `import omnillm` stays light

    return f"v{FINGERPRINT_VERSION}:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- backends


class CacheBackend:
    """Where cached responses live: ``get``, ``set`` (with a TTL in seconds), ``delete``, ``clear``.

    Implementations must be thread-safe and return a response the caller may modify
    (a copy, or one freshly decoded).
    """

    def get(self, key: str) -> Optional[LlmResponse]:
        """The response stored under ``key``, or None (missing or expired)."""
        raise NotImplementedError

    def set(self, key: str, response: LlmResponse, ttl_s: Optional[float]) -> None:
        """Store ``response`` under ``key`` for ``ttl_s`` seconds (None: until evicted)."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        raise NotImplementedError

    def clear(self) -> None:
        """Forget everything."""
        raise NotImplementedError


class InMemoryCache(CacheBackend):
    """A thread-safe LRU of at most ``max_entries`` responses, each expiring after its TTL.

    ``now`` is the monotonic clock (injected in tests).
    """

    def __init__(self, max_entries: int = 1024, *, now: Callable[[], float] = time.monotonic) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError(f"max_entries must be a positive integer, not {max_entries!r}")
        self.max_entries = max_entries
        self._now = now
        self._items: OrderedDict[str, Tuple[Optional[float], LlmResponse]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, key: str) -> Optional[LlmResponse]:
        """The response under ``key`` (a copy), refreshing its LRU position; None when absent or expired."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            expires, response = entry
            if expires is not None and self._now() >= expires:
                del self._items[key]
                return None
            self._items.move_to_end(key)
        return copy.deepcopy(response)

    def set(self, key: str, response: LlmResponse, ttl_s: Optional[float]) -> None:
        """Store a copy of ``response``; the least recently used entry goes when full."""
        stored = copy.deepcopy(response)
        with self._lock:
            expires = None if ttl_s is None else self._now() + ttl_s
            self._items[key] = (expires, stored)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()

    def after_fork(self) -> None:
        """Replace the lock in a forked child (another thread may have held it at fork time)."""
        self._lock = threading.Lock()


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class CachePolicy:
    """What the cache keeps, and for how long.

    ``ttl_s`` is the lifetime of an entry (None: until evicted). With
    ``skip_nonzero_temperature`` a request whose temperature is not exactly 0 (unset
    counts as the provider's default, which samples) is neither served from nor stored
    in the cache. ``cache_streams`` extends caching to `stream` calls.
    """

    ttl_s: Optional[float] = 300.0
    skip_nonzero_temperature: bool = False
    cache_streams: bool = True

    def __post_init__(self) -> None:
        if self.ttl_s is not None and (
            isinstance(self.ttl_s, bool) or not isinstance(self.ttl_s, (int, float)) or self.ttl_s <= 0
        ):
            raise ConfigurationError(f"ttl_s must be a positive number of seconds or None, not {self.ttl_s!r}")

    def applies(self, request: LlmRequest) -> bool:
        """True when ``request`` may be answered from, and stored in, the cache."""
        return not (self.skip_nonzero_temperature and request.temperature != 0)


def _storable(response: LlmResponse) -> bool:
    return response.stop_reason != "error"


class ResponseCache(Middleware):
    """A middleware that answers repeated requests from a `CacheBackend`.

    ``backend`` defaults to an `InMemoryCache` of ``max_entries``; ``policy`` (a
    `CachePolicy`) decides what is cached. `hits`, `misses` and `stores` count what
    happened. Identical requests in flight at the same time are all sent (no
    single-flight).
    """

    def __init__(
        self,
        backend: Optional[CacheBackend] = None,
        *,
        policy: Optional[CachePolicy] = None,
        max_entries: int = 1024,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend: CacheBackend = backend if backend is not None else InMemoryCache(max_entries, now=now)
        self.policy = policy if policy is not None else CachePolicy()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.stores = 0

    def __repr__(self) -> str:
        return f"ResponseCache(backend={type(self.backend).__name__}, policy={self.policy!r})"

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def stats(self) -> Dict[str, int]:
        """``{"hits": ..., "misses": ..., "stores": ...}``."""
        with self._lock:
            return {"hits": self.hits, "misses": self.misses, "stores": self.stores}

    def lookup(self, request: LlmRequest) -> Optional[LlmResponse]:
        """The cached answer to ``request``, marked ``cached`` and free, or None."""
        found = self.backend.get(request_fingerprint(request))
        if found is None:
            return None
        found.cached = True
        found.cost_micros = 0
        return found

    def store(self, request: LlmRequest, response: LlmResponse) -> None:
        """Keep ``response`` as the answer to ``request`` (without its cost or parsed value)."""
        kept = dataclasses.replace(response, cost_micros=None, cached=False, parsed=None)
        self.backend.set(request_fingerprint(request), kept, self.policy.ttl_s)
        self._count("stores")

    def call(self, request: LlmRequest, next: CallNext, context: CallContext) -> LlmResponse:
        """Answer from the cache, or call on and keep the answer."""
        if not self.policy.applies(request):
            return next(request)
        found = self.lookup(request)
        if found is not None:
            self._count("hits")
            context.cached = True
            return found
        self._count("misses")
        response = next(request)
        if _storable(response) and not response.cached:
            self.store(request, response)
        return response

    def stream(self, request: LlmRequest, next: StreamNext, context: CallContext) -> Iterator[StreamEvent]:
        """Replay a cached answer as events, or stream on and keep the answer once complete."""
        if not (self.policy.cache_streams and self.policy.applies(request)):
            return next(request)
        found = self.lookup(request)
        if found is not None:
            self._count("hits")
            context.cached = True
            return iter(events_from_response(found))
        self._count("misses")
        return self._keep(request, next(request))

    def _keep(self, request: LlmRequest, inner: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
        accumulator = StreamAccumulator()
        try:
            for event in inner:
                accumulator.add(event)
                yield event
        finally:
            closer = getattr(inner, "close", None)
            if callable(closer):
                closer()
        # Only a stream that ended with its terminal event and no error is a whole answer.
        if accumulator.completed and accumulator.error is None:
            response = accumulator.response()
            if _storable(response):
                self.store(request, response)

    def call_api(self, request: Any, next: ApiNext, context: CallContext) -> Any:
        """Generation requests are cached like `call`; other families pass through."""
        if isinstance(request, LlmRequest):
            return self.call(request, next, context)
        return next(request)

    def after_fork(self) -> None:
        """Reset locks in a forked child."""
        self._lock = threading.Lock()
        hook = getattr(self.backend, "after_fork", None)
        if callable(hook):
            hook()
