"""Middleware: an ordered chain of small objects around ``call``, ``stream`` and ``call_api``.

Each `Middleware` sees the canonical request and a ``next`` function that runs the rest
of the chain. It can rewrite the request before passing it on, answer without calling
``next`` (short-circuit), look at the response or the error coming back, and wrap the
stream of events. The first middleware given is the outermost: it sees the request
first and the response last.

A `CallContext` travels with the call: the operation, the gateway budget ``tag``,
``headers`` to add to the HTTP request, and free-form ``attributes``. Middleware change
it before calling ``next``; the client or gateway at the end of the chain reads it.

Built-ins: `LoggingMiddleware` (one redacted line per call), `HeaderMiddleware`
(fixed headers on every request) and `TagMiddleware` (a budget tag and metadata).
The response cache (`omnillm.cache.ResponseCache`) is a middleware too.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence

from .errors import ConfigurationError
from .model import LlmRequest, LlmResponse
from .stream import StreamAccumulator, StreamEvent

CallNext = Callable[[LlmRequest], LlmResponse]
StreamNext = Callable[[LlmRequest], Iterator[StreamEvent]]
ApiNext = Callable[[Any], Any]


@dataclass
class CallContext:
    """Per-call state shared along the chain.

    ``operation`` is ``call``, ``stream`` or ``call_api``. ``tag`` is the gateway budget
    tag, ``headers`` extra HTTP headers for the provider request, ``attributes`` free
    for middleware to pass things to each other. ``cached`` is set by a cache that
    answered the call.
    """

    operation: str
    tag: Optional[str] = None
    headers: Dict[str, str] = field(default_factory=dict)
    attributes: Dict[str, Any] = field(default_factory=dict)
    cached: bool = False


class Middleware:
    """Base class: every method passes the call on unchanged; override what you need.

    ``call(request, next, context)`` returns an `LlmResponse`; ``stream(request, next,
    context)`` returns an iterator of stream events; ``call_api(request, next,
    context)`` handles the other endpoint families (embeddings, images, audio, rerank)
    sent through ``call_api``. A generation request goes through ``call`` however it
    was sent (``call``, ``call_api``, a gateway's ``submit`` or ``map``), so a
    middleware written for ``call`` sees every generation; ``context.operation`` says which
    entry point it came through.
    """

    def call(self, request: LlmRequest, next: CallNext, context: CallContext) -> LlmResponse:
        """Handle a generation call; ``next(request)`` runs the rest of the chain."""
        return next(request)

    def stream(self, request: LlmRequest, next: StreamNext, context: CallContext) -> Iterator[StreamEvent]:
        """Handle a streamed generation; ``next(request)`` returns the inner event iterator."""
        return next(request)

    def call_api(self, request: Any, next: ApiNext, context: CallContext) -> Any:
        """Handle a `call_api` request of any endpoint family."""
        return next(request)


class MiddlewareChain:
    """Middleware in order (first = outermost), applied around a terminal function."""

    def __init__(self, middleware: Sequence[Middleware] = ()) -> None:
        items = list(middleware)
        for m in items:
            if not all(callable(getattr(m, name, None)) for name in ("call", "stream", "call_api")):
                raise ConfigurationError(
                    f"middleware must have call, stream and call_api methods (subclass Middleware): {m!r}"
                )
        self.middleware = items

    def __bool__(self) -> bool:
        return bool(self.middleware)

    def __len__(self) -> int:
        return len(self.middleware)

    def call(self, request: LlmRequest, context: CallContext, terminal: CallNext) -> LlmResponse:
        """Run ``request`` through every middleware's ``call``, then ``terminal``."""
        return self._link("call", terminal, context)(request)  # type: ignore[no-any-return]

    def stream(self, request: LlmRequest, context: CallContext, terminal: StreamNext) -> Iterator[StreamEvent]:
        """Run ``request`` through every middleware's ``stream``, then ``terminal``."""
        return self._link("stream", terminal, context)(request)  # type: ignore[no-any-return]

    def call_api(self, request: Any, context: CallContext, terminal: ApiNext) -> Any:
        """Run ``request`` through every middleware's ``call_api`` (``call`` for generation), then ``terminal``."""
        method = "call" if isinstance(request, LlmRequest) else "call_api"
        return self._link(method, terminal, context)(request)

    def _link(self, method: str, terminal: Callable[[Any], Any], context: CallContext) -> Callable[[Any], Any]:
        step = terminal
        for m in reversed(self.middleware):
            step = _bind(getattr(m, method), step, context)
        return step


def _bind(handler: Callable[..., Any], nxt: Callable[[Any], Any], context: CallContext) -> Callable[[Any], Any]:
    def run(request: Any) -> Any:
        return handler(request, nxt, context)

    return run


class MiddlewareStream:
    """The events of a stream that went through middleware; like a `GatewayStream`.

    Iterate it (or use it as a context manager). The first event is read when it is
    created, so a stream that cannot open fails there, as without middleware.
    `response` folds what was delivered; ``cost_micros`` is what the provider streams
    behind it cost once they ended (0 for a stream served from cache). Closing it
    closes the middleware iterators and every provider stream opened for it.
    """

    def __init__(
        self,
        events: Iterator[StreamEvent],
        context: CallContext,
        opened: List[Any],
    ) -> None:
        self._events = events
        self._context = context
        self._opened = opened
        self.accumulator = StreamAccumulator()
        self._closed = False
        self._first: List[StreamEvent] = []
        try:
            self._first = [next(self._events)]
        except StopIteration:
            self._exhausted = True
            self.close()
        except BaseException:
            self.close()
            raise
        else:
            self._exhausted = False

    def __iter__(self) -> Iterator[StreamEvent]:
        return self

    def __next__(self) -> StreamEvent:
        if self._first:
            event = self._first.pop()
        elif self._exhausted or self._closed:
            raise StopIteration
        else:
            try:
                event = next(self._events)
            except StopIteration:
                self._exhausted = True
                self.close()
                raise
            except BaseException:
                self.close()
                raise
        self.accumulator.add(event)
        return event

    @property
    def completed(self) -> bool:
        """True once the terminal event was delivered."""
        return self.accumulator.completed

    @property
    def cached(self) -> bool:
        """True when a response cache served this stream."""
        return self._context.cached

    @property
    def cost_micros(self) -> Optional[int]:
        """What the provider streams cost (None until they are settled; 0 from cache)."""
        if not self._opened:  # served from cache or by a middleware: no provider was paid
            return 0
        costs = [getattr(s, "cost_micros", None) for s in self._opened]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    def response(self) -> LlmResponse:
        """The response folded from the delivered events (complete once the stream ended)."""
        response = self.accumulator.response()
        response.cached = self._context.cached
        response.cost_micros = self.cost_micros
        return response

    def close(self) -> None:
        """Stop reading: close the middleware iterators and the provider streams (idempotent)."""
        if self._closed:
            return
        self._closed = True
        closer = getattr(self._events, "close", None)
        try:
            if callable(closer):
                closer()
        finally:
            for inner in self._opened:
                inner.close()

    def __enter__(self) -> MiddlewareStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            return


# --------------------------------------------------------------------------- built-ins

_SECRETISH = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]{8,}"
    r"|AKIA[0-9A-Z]{12,}|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]*)"
)


def redact(text: str) -> str:
    """``text`` with anything shaped like a credential (API keys, bearer tokens, JWTs) masked."""
    return _SECRETISH.sub("[REDACTED]", text)


class LoggingMiddleware(Middleware):
    """Logs one line per call: model, sizes, outcome, usage and latency; never a secret.

    Message content is left out unless ``include_content`` is true; then the last user
    message and the answer are logged, cut to ``max_chars`` and with credential-shaped
    strings masked. ``now`` is the clock used for latency.
    """

    def __init__(
        self,
        logger: Optional[logging.Logger] = None,
        *,
        level: int = logging.INFO,
        include_content: bool = False,
        max_chars: int = 200,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger if logger is not None else logging.getLogger("omnillm.calls")
        self.level = level
        self.include_content = include_content
        self.max_chars = max_chars
        self._now = now

    def _clip(self, text: str) -> str:
        text = redact(text)
        return text if len(text) <= self.max_chars else text[: self.max_chars] + "..."

    def _describe(self, request: LlmRequest) -> str:
        parts = [f"model={request.model}", f"messages={len(request.messages)}"]
        if request.tools:
            parts.append(f"tools={len(request.tools)}")
        if self.include_content:
            last = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
            parts.append(f"prompt={self._clip(last)!r}")
        return " ".join(parts)

    def _outcome(self, response: LlmResponse, context: CallContext) -> str:
        parts = [f"stop={response.stop_reason}"]
        if response.usage is not None:
            parts.append(f"tokens={response.usage.input_tokens}+{response.usage.output_tokens}")
        if response.tool_calls:
            parts.append("tool_calls=" + ",".join(c.name for c in response.tool_calls))
        if response.cached or context.cached:
            parts.append("cached")
        if self.include_content:
            parts.append(f"answer={self._clip(response.text)!r}")
        return " ".join(parts)

    def _failed(self, what: str, started: float, error: BaseException) -> None:
        self.logger.log(
            self.level,
            "omnillm %s failed in %.3fs: %s: %s",
            what,
            self._now() - started,
            type(error).__name__,
            redact(str(error)),
        )

    def call(self, request: LlmRequest, next: CallNext, context: CallContext) -> LlmResponse:
        """Log the call and its outcome."""
        started = self._now()
        try:
            response = next(request)
        except Exception as error:
            self._failed(f"call {self._describe(request)}", started, error)
            raise
        self.logger.log(
            self.level,
            "omnillm call %s -> %s in %.3fs",
            self._describe(request),
            self._outcome(response, context),
            self._now() - started,
        )
        return response

    def stream(self, request: LlmRequest, next: StreamNext, context: CallContext) -> Iterator[StreamEvent]:
        """Log the stream when it ends, with what it produced."""
        started = self._now()
        what = f"stream {self._describe(request)}"
        accumulator = StreamAccumulator()
        try:
            inner = next(request)
        except Exception as error:
            self._failed(what, started, error)
            raise
        return self._watch(inner, accumulator, what, started, context)

    def _watch(
        self,
        inner: Iterator[StreamEvent],
        accumulator: StreamAccumulator,
        what: str,
        started: float,
        context: CallContext,
    ) -> Iterator[StreamEvent]:
        try:
            for event in inner:
                accumulator.add(event)
                yield event
        except Exception as error:
            self._failed(what, started, error)
            raise
        finally:
            closer = getattr(inner, "close", None)
            if callable(closer):
                closer()
        if accumulator.completed:
            self.logger.log(
                self.level,
                "omnillm %s -> %s in %.3fs",
                what,
                self._outcome(accumulator.response(), context),
                self._now() - started,
            )

    def call_api(self, request: Any, next: ApiNext, context: CallContext) -> Any:
        """Log the request type, model and outcome."""
        started = self._now()
        what = f"call_api {type(request).__name__} model={getattr(request, 'model', '')}"
        try:
            response = next(request)
        except Exception as error:
            self._failed(what, started, error)
            raise
        self.logger.log(self.level, "omnillm %s -> %s in %.3fs", what, type(response).__name__, self._now() - started)
        return response


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class HeaderMiddleware(Middleware):
    """Adds fixed HTTP headers to every provider request (a trace id, a proxy's routing key).

    Headers already in the context (set by an outer middleware) win. Values are never
    logged by omnillm.
    """

    def __init__(self, headers: Mapping[str, str]) -> None:
        for name, value in headers.items():
            if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
                raise ConfigurationError(f"invalid HTTP header name {name!r}")
            if not isinstance(value, str) or "\r" in value or "\n" in value:
                raise ConfigurationError(f"header {name!r}: the value must be a string without line breaks")
        self.headers = dict(headers)

    def __repr__(self) -> str:
        return f"HeaderMiddleware(headers={sorted(self.headers)!r})"

    def _apply(self, context: CallContext) -> None:
        present = {k.lower() for k in context.headers}
        for name, value in self.headers.items():
            if name.lower() not in present:
                context.headers[name] = value

    def call(self, request: LlmRequest, next: CallNext, context: CallContext) -> LlmResponse:
        """Add the headers, then call on."""
        self._apply(context)
        return next(request)

    def stream(self, request: LlmRequest, next: StreamNext, context: CallContext) -> Iterator[StreamEvent]:
        """Add the headers, then stream on."""
        self._apply(context)
        return next(request)

    def call_api(self, request: Any, next: ApiNext, context: CallContext) -> Any:
        """Add the headers, then call on."""
        self._apply(context)
        return next(request)


class TagMiddleware(Middleware):
    """Tags every request: a gateway budget ``tag`` (when the caller gave none) and metadata.

    ``metadata`` entries are added to `LlmRequest.metadata` without replacing the
    caller's own keys; they reach providers that carry request metadata (OpenAI) and are
    reported as a loss elsewhere, like any metadata.
    """

    def __init__(self, tag: Optional[str] = None, *, metadata: Optional[Mapping[str, str]] = None) -> None:
        self.tag = tag
        self.metadata = dict(metadata or {})

    def _apply(self, request: LlmRequest, context: CallContext) -> LlmRequest:
        if self.tag is not None and context.tag is None:
            context.tag = self.tag
        if not self.metadata:
            return request
        merged = {**self.metadata, **(request.metadata or {})}
        return dataclasses.replace(request, metadata=merged)

    def call(self, request: LlmRequest, next: CallNext, context: CallContext) -> LlmResponse:
        """Tag, then call on."""
        return next(self._apply(request, context))

    def stream(self, request: LlmRequest, next: StreamNext, context: CallContext) -> Iterator[StreamEvent]:
        """Tag, then stream on."""
        return next(self._apply(request, context))

    def call_api(self, request: Any, next: ApiNext, context: CallContext) -> Any:
        """Tag generation requests; other families get the budget tag only."""
        if isinstance(request, LlmRequest):
            return next(self._apply(request, context))
        if self.tag is not None and context.tag is None:
            context.tag = self.tag
        return next(request)
