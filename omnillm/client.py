"""`Client`: one provider, one credential, every endpoint family; the path the gateway builds on.

A call goes down the layers once: the codec emits a provider-neutral `TransportRequest`
(``omnillm.endpoints``), the provider layer joins the base URL and signs it
(``omnillm.providers``), the `Transport` sends it, and the answer comes back up as a
canonical response or a typed `ProviderError`. `Client.execute` returns the whole
`Exchange` (response, rate-limit headers, request id, latency, conversion losses) for
callers such as the gateway; `call`, `call_api` and `stream` return just the payload.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from .api import ApiRequest, ApiResponse, family_of
from .endpoints import emit_transport_request, parse_transport_response
from .errors import (
    CancelledError,
    ConfigurationError,
    ConversionError,
    OmniLLMError,
    ProviderError,
    ResponseTooLargeError,
)
from .http import ByteStream, TransportRequest, TransportResponse, request_id_of
from .middleware import CallContext, Middleware, MiddlewareChain, MiddlewareStream
from .model import LlmRequest, LlmResponse
from .provider_errors import error_from_response
from .providers import (
    Adapter,
    ApiKey,
    AwsCredentials,
    Credential,
    ProviderRegistry,
    ProviderSettings,
    ProviderSpec,
    SupportLevel,
    credentials_from_env,
    embedded_provider_registry,
    prepare_request,
    settings_from_env,
)
from .ratelimit_info import RateLimitInfo, parse_rate_limit_headers
from .report import Loss, LossLog
from .stream import StreamAccumulator, StreamEvent
from .transport import Timeout, Transport, accepts_cancel
from .wire import EndpointFamily, WireFormat, wire_format

logger = logging.getLogger("omnillm")

CancelToken = Any
"""A `omnillm.gateway.CancellationToken` (anything with ``on_cancel`` and ``cancelled``)."""


@dataclass
class Exchange:
    """One completed request: the canonical response and what the HTTP answer said about it.

    ``losses`` lists what the request's wire format could not carry; ``rate_limit`` the
    provider's rate-limit headers; ``latency`` the seconds from send to the full body.
    """

    response: ApiResponse
    status: int
    wire_format: WireFormat
    request_id: Optional[str] = None
    rate_limit: Optional[RateLimitInfo] = None
    latency: float = 0.0
    losses: List[Loss] = field(default_factory=list)


class ResponseStream:
    """An iterator (and context manager) of canonical stream events from one provider stream.

    Closing it (or leaving the ``with`` block, or dropping it) closes the connection.
    `response` gives what has been accumulated so far; after the stream ended normally
    it is the complete response. A mid-stream failure raises a `StreamError` carrying the
    partial response, after every event that arrived before it was yielded.
    """

    def __init__(
        self,
        body: ByteStream,
        fmt: WireFormat,
        *,
        status: int,
        request_id: Optional[str],
        rate_limit: Optional[RateLimitInfo],
        losses: List[Loss],
        started: float,
        cancel: Optional[CancelToken] = None,
        now: Callable[[], float] = time.monotonic,
        framing: Optional[str] = None,
        provider: Optional[str] = None,
    ) -> None:
        from .streaming import decode_stream

        self.wire_format = fmt
        self.status = status
        self.request_id = request_id
        self.rate_limit = rate_limit
        self.losses = losses
        self.provider = provider
        self.accumulator = StreamAccumulator()
        self._body = body
        self._now = now
        self._started = started
        self.first_event_latency: Optional[float] = None
        self._cancel = cancel
        self._unregister: Optional[Callable[[], None]] = None
        if cancel is not None:
            self._unregister = cancel.on_cancel(body.close)
        self._events = decode_stream(body, fmt, accumulator=self.accumulator, framing=framing)

    def __iter__(self) -> Iterator[StreamEvent]:
        return self

    def __next__(self) -> StreamEvent:
        try:
            event = next(self._events)
        except StopIteration:
            self.close()
            raise
        except OmniLLMError as exc:
            self.close()
            if self._cancel is not None and self._cancel.cancelled:
                raise CancelledError("the stream was cancelled") from None
            if isinstance(exc, ProviderError):  # a transport failure mid-body: say where it came from
                exc.attribute(self.provider, self.request_id)
            raise
        except BaseException:
            self.close()
            raise
        if self.first_event_latency is None:
            self.first_event_latency = self._now() - self._started
        return event

    @property
    def completed(self) -> bool:
        """True once the protocol's terminal event arrived."""
        return self.accumulator.completed

    def response(self) -> LlmResponse:
        """The response accumulated so far."""
        return self.accumulator.response()

    def close(self) -> None:
        """Close the stream (idempotent); after the terminal event its connection goes back to the pool."""
        self._close(finish=self.accumulator.completed)

    def _close(self, *, finish: bool) -> None:
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        if finish:
            # The content is complete, only the end of the body (``[DONE]``, the chunked
            # terminator) may be unread: reading it keeps the connection (issue 5).
            self._body.finish()
        else:
            self._body.close()

    def __enter__(self) -> ResponseStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._close(finish=False)  # no network reads in a finalizer
        except Exception:
            return


def _default_transport(options: Mapping[str, Any]) -> Transport:
    from .transport.urllib3_transport import Urllib3Transport

    return Urllib3Transport(**options)


class Client:
    """A client for one provider with one credential.

    ``provider`` is a registry id (``openai``, ``anthropic``, ``gemini``, ``vertex_ai``,
    ``azure_openai``, ``bedrock``, ``groq``, ...). ``api_key`` (or ``credentials``: an
    `ApiKey`, a `TokenSource`, `AwsCredentials`) defaults to the provider's environment
    variables. ``base_url`` overrides the provider's; further provider settings
    (``deployment``, ``api_version``, ``project``, ``location``, ``region``, ...) go in
    ``settings`` or as keyword arguments. ``wire_format`` picks the generation format
    when the provider speaks several. ``transport`` defaults to a pooled urllib3
    transport; ``session`` (a ``requests.Session``) selects the requests transport.
    ``proxy_url``, ``ca_certs``, ``verify``, ``max_response_bytes`` and ``max_stream_bytes``
    configure that default transport (see `Urllib3Transport`; the size bounds also apply
    to the requests transport); they cannot be combined with ``transport``.
    ``strict=True`` refuses a request its wire format cannot carry without loss.
    ``middleware`` (`Middleware` s, first = outermost) wrap `call`, `stream` and
    `call_api`; ``cache`` (a `ResponseCache`) answers repeated requests, innermost.
    """

    def __init__(
        self,
        provider: str = "openai",
        *,
        api_key: Optional[str] = None,
        credentials: Optional[Credential] = None,
        base_url: Optional[str] = None,
        wire_format: Union[str, WireFormat, None] = None,
        settings: Optional[ProviderSettings] = None,
        transport: Optional[Transport] = None,
        session: Any = None,
        timeout: Union[Timeout, float, None] = None,
        proxy_url: Optional[str] = None,
        ca_certs: Optional[str] = None,
        verify: Optional[bool] = None,
        max_response_bytes: Optional[int] = None,
        max_stream_bytes: Optional[int] = None,
        strict: bool = False,
        registry: Optional[ProviderRegistry] = None,
        environ: Optional[Mapping[str, str]] = None,
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        middleware: Sequence[Middleware] = (),
        cache: Optional[Middleware] = None,
        **provider_settings: Any,
    ) -> None:
        self.registry = registry if registry is not None else embedded_provider_registry()
        self.spec: ProviderSpec = self.registry.get(provider)
        env = os.environ if environ is None else environ
        chosen = settings if settings is not None else ProviderSettings()
        if base_url is not None or provider_settings:
            changes = dict(provider_settings)
            if base_url is not None:
                changes["base_url"] = base_url
            try:
                chosen = dataclasses.replace(chosen, **changes)
            except TypeError as exc:
                raise ConfigurationError(f"{provider}: unknown provider setting ({exc})") from None
        self.settings = settings_from_env(self.spec, chosen, env)
        if api_key is not None and credentials is not None:
            raise ConfigurationError("give api_key or credentials, not both")
        self.credentials: Optional[Credential] = (
            ApiKey(api_key) if api_key is not None else credentials or credentials_from_env(self.spec, env)
        )
        self._generation_format = self._pick_format(EndpointFamily.GENERATION, wire_format)
        if transport is not None and session is not None:
            raise ConfigurationError("give transport or session, not both")
        sizes: Dict[str, Any] = {
            k: v for k, v in (("max_response_bytes", max_response_bytes), ("max_stream_bytes", max_stream_bytes)) if v
        }
        network: Dict[str, Any] = {k: v for k, v in (("proxy_url", proxy_url), ("ca_certs", ca_certs)) if v}
        if verify is not None:
            network["verify"] = verify
        if transport is not None and (sizes or network):
            raise ConfigurationError(
                f"{', '.join([*sizes, *network])}: configure the transport you pass instead (Client got transport=)"
            )
        if session is not None:
            from .transport.requests_transport import RequestsTransport

            if network:
                raise ConfigurationError(
                    f"{', '.join(network)}: configure the requests.Session you pass instead (Client got session=)"
                )
            transport = RequestsTransport(session, **sizes)
        self._owns_transport = transport is None
        self.transport: Transport = transport if transport is not None else _default_transport({**network, **sizes})
        self._transport_cancels = accepts_cancel(self.transport)
        self.timeout = Timeout(read=timeout, total=None) if isinstance(timeout, (int, float)) else timeout
        self.strict = strict
        self._now = now
        self._wall = wall
        self.middleware = MiddlewareChain([*middleware, *([cache] if cache is not None else [])])

    def __repr__(self) -> str:
        return (
            f"Client(provider={self.spec.id!r}, base_url={self.settings.base_url!r}, credentials={self.credentials!r})"
        )

    # ------------------------------------------------------------------ formats

    def _pick_format(self, family: EndpointFamily, requested: Union[str, WireFormat, None]) -> Optional[WireFormat]:
        if requested is not None:
            fmt = wire_format(requested)
            self.spec.endpoint(fmt)  # raises UnsupportedError if absent or planned
            return fmt
        rows = self.spec.families().get(family, [])
        usable = [e for e in rows if e.level is not SupportLevel.PLANNED]
        return usable[0].wire_format if usable else (rows[0].wire_format if rows else None)

    def wire_format_for(self, request: ApiRequest) -> WireFormat:
        """The wire format this client speaks for ``request``'s endpoint family."""
        family = family_of(request)
        if family is None:
            raise ConfigurationError(f"not an omnillm request: {type(request).__name__}")
        fmt = self._generation_format if family is EndpointFamily.GENERATION else self._pick_format(family, None)
        if fmt is None:
            from .errors import UnsupportedError

            raise UnsupportedError(f"{self.spec.id} offers no {family.value} endpoint")
        self.spec.endpoint(fmt)  # a planned-only family raises UnsupportedError here
        return fmt

    # ------------------------------------------------------------------ the request path

    def prepare(
        self, request: ApiRequest, *, stream: bool = False, headers: Optional[Mapping[str, str]] = None
    ) -> Tuple[TransportRequest, WireFormat, LossLog]:
        """Emit and sign the HTTP request for ``request`` (no I/O apart from a token refresh).

        ``headers`` are added to the provider's own (set by middleware for one call).
        """
        fmt = self.wire_format_for(request)
        if isinstance(request, LlmRequest) and bool(request.stream) != stream:
            request = dataclasses.replace(request, stream=stream or None)
        losses = LossLog(fmt.value)
        emitted = emit_transport_request(request, fmt, losses=losses)
        if losses and self.strict:
            raise ConversionError("canonical", fmt.value, [str(x) for x in losses.entries])
        prepared = prepare_request(
            self.spec,
            emitted,
            wire_format=fmt,
            credentials=self.credentials,
            model=getattr(request, "model", None),
            settings=dataclasses.replace(self.settings, headers={**self.settings.headers, **headers})
            if headers
            else self.settings,
        )
        return prepared, fmt, losses

    def _secrets(self) -> List[str]:
        cred = self.credentials
        if isinstance(cred, ApiKey):
            return [cred.reveal()]
        if isinstance(cred, AwsCredentials):
            return [s for s in (cred.secret_access_key, cred.session_token) if s]
        current = getattr(cred, "_current", None)  # a RefreshingToken's cached token, if any
        token = getattr(current, "token", None)
        return [token] if isinstance(token, str) else []

    def _send(
        self, prepared: TransportRequest, *, stream: bool, timeout: Optional[Timeout], cancel: Optional[CancelToken]
    ) -> TransportResponse:
        try:
            if cancel is None:
                response = self.transport.send(prepared, stream=stream, timeout=timeout or self.timeout)
            else:
                cancel.raise_if_cancelled()
                if self._transport_cancels:  # the transport aborts even the wait for the headers
                    cancellable: Any = self.transport
                    response = cancellable.send(prepared, stream=stream, timeout=timeout or self.timeout, cancel=cancel)
                else:  # only the body can be interrupted: read it here, as a stream
                    response = self.transport.send(prepared, stream=True, timeout=timeout or self.timeout)
        except ProviderError as exc:
            exc.attribute(self.spec.id)  # a transport error does not know the provider
            raise
        if response.status >= 400:
            self._read(response, cancel)
            raise error_from_response(response, provider=self.spec.id, secrets=self._secrets(), now_wall=self._wall)
        return response

    def _read(self, response: TransportResponse, cancel: Optional[CancelToken]) -> bytes:
        """The whole body; with a cancel token, reading stops when the token fires."""
        if response.stream is None:
            return response.body
        limit = int(getattr(self.transport, "max_response_bytes", 64 * 1024 * 1024))
        unregister = cancel.on_cancel(response.stream.close) if cancel is not None else None
        parts: List[bytes] = []
        size = 0
        try:
            for piece in response.stream:
                size += len(piece)
                if size > limit:
                    raise ResponseTooLargeError(
                        f"response body passed the maximum of {limit} bytes",
                        status=response.status,
                        provider=self.spec.id,
                        request_id=_request_id(response),
                    )
                parts.append(piece)
        except OmniLLMError as exc:
            if cancel is not None and cancel.cancelled:
                raise CancelledError("the call was cancelled") from None
            if isinstance(exc, ProviderError):
                exc.attribute(self.spec.id, _request_id(response))
            raise
        finally:
            response.stream.close()
            if unregister is not None:
                unregister()
        if cancel is not None and cancel.cancelled:
            raise CancelledError("the call was cancelled")
        response.body = b"".join(parts)
        response.stream = None
        return response.body

    def execute(
        self,
        request: ApiRequest,
        *,
        timeout: Optional[Timeout] = None,
        cancel: Optional[CancelToken] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Exchange:
        """Send ``request`` and return the whole `Exchange`; errors are typed `OmniLLMError` s."""
        prepared, fmt, losses = self.prepare(request, headers=headers)
        started = self._now()
        response = self._send(prepared, stream=False, timeout=timeout, cancel=cancel)
        self._read(response, cancel)
        parsed = parse_transport_response(response, fmt, request)
        latency = self._now() - started
        request_id = _request_id(response)
        if logger.isEnabledFor(logging.DEBUG):  # the arguments cost more than the disabled call
            logger.debug(
                "%s %s -> %d in %.3fs%s",
                prepared.method,
                prepared.url.split("?", 1)[0],
                response.status,
                latency,
                f" (request id {request_id})" if request_id else "",
            )
        return Exchange(
            parsed,
            response.status,
            fmt,
            request_id=request_id,
            rate_limit=parse_rate_limit_headers(response.headers, self._wall()),
            latency=latency,
            losses=list(losses.entries),
        )

    def open_stream(
        self,
        request: LlmRequest,
        *,
        timeout: Optional[Timeout] = None,
        cancel: Optional[CancelToken] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> ResponseStream:
        """Start streaming ``request``; the HTTP status is checked before this returns."""
        prepared, fmt, losses = self.prepare(request, stream=True, headers=headers)
        started = self._now()
        response = self._send(prepared, stream=True, timeout=timeout, cancel=cancel)
        if response.stream is None:  # a transport that could not stream: serve the whole body
            response.stream = ByteStream(iter([response.body]))
        request_id = _request_id(response)
        return ResponseStream(
            response.stream,
            fmt,
            status=response.status,
            request_id=request_id,
            rate_limit=parse_rate_limit_headers(response.headers, self._wall()),
            losses=list(losses.entries),
            started=started,
            cancel=cancel,
            now=self._now,
            framing=self._framing(fmt),
            provider=self.spec.id,
        )

    def _framing(self, fmt: WireFormat) -> Optional[str]:
        # Claude on Bedrock (InvokeModel) streams Anthropic events inside event-stream chunks.
        if self.spec.adapter is Adapter.BEDROCK and fmt is WireFormat.ANTHROPIC_MESSAGES:
            return "bedrock_invoke"
        return None

    # ------------------------------------------------------------------ the user-facing calls

    def call(
        self,
        request: LlmRequest,
        *,
        timeout: Optional[Timeout] = None,
        output_type: Any = None,
        cancel: Optional[CancelToken] = None,
    ) -> LlmResponse:
        """Generate a response for ``request``.

        ``cancel`` (a `omnillm.gateway.CancellationToken`) aborts the call at any stage,
        including while the provider has not sent its headers yet: `CancelledError`.

        With ``output_type`` (a dataclass, ``TypedDict``, `Enum`, ``List[X]``, ... or an
        `OutputSpec`) the provider is asked for structured output of that type and
        ``response.parsed`` holds the validated value; `StructuredOutputError` (with the
        raw text) when the answer does not fit.
        """
        spec = None
        if output_type is not None:
            from .structured import output_spec

            spec = output_spec(output_type)
            request = spec.request(request)
        if not self.middleware:
            response = self._generate(request, timeout, spec, None, cancel)
        else:
            context = CallContext("call")
            response = self.middleware.call(
                request, context, lambda r: self._generate(r, timeout, spec, context.headers, cancel)
            )
        if spec is not None and (response.cached or response.parsed is None):
            response.parsed = spec.parse(response)  # a cache or a middleware answered without parsing
        return response

    def _generate(
        self,
        request: LlmRequest,
        timeout: Optional[Timeout],
        spec: Any,
        headers: Optional[Mapping[str, str]],
        cancel: Optional[CancelToken],
    ) -> LlmResponse:
        if spec is not None:
            fmt = self.wire_format_for(request)
            request, adapted = spec.adapt(request, fmt)
            if adapted and self.strict:
                raise ConversionError("canonical", fmt.value, [str(x) for x in adapted])
            for loss in adapted:
                logger.debug("omnillm: structured output for %s: %s", fmt.value, loss)
        response = self.execute(request, timeout=timeout, headers=headers, cancel=cancel).response
        assert isinstance(response, LlmResponse)
        if spec is not None:  # here, inside the chain, so an answer that does not parse is never cached
            response.parsed = spec.parse(response)
        return response

    def call_api(
        self, request: ApiRequest, *, timeout: Optional[Timeout] = None, cancel: Optional[CancelToken] = None
    ) -> ApiResponse:
        """Send any `ApiRequest` (embeddings, images, audio, rerank or generation); ``cancel`` as in `call`."""
        if not self.middleware:
            return self.execute(request, timeout=timeout, cancel=cancel).response
        context = CallContext("call_api")
        return self.middleware.call_api(  # type: ignore[no-any-return]
            request,
            context,
            lambda r: self.execute(r, timeout=timeout, headers=context.headers, cancel=cancel).response,
        )

    def stream(
        self, request: LlmRequest, *, timeout: Optional[Timeout] = None, cancel: Optional[CancelToken] = None
    ) -> Union[ResponseStream, MiddlewareStream]:
        """Stream ``request`` as canonical events; use it as an iterator and a context manager.

        With middleware the events pass through them (a `MiddlewareStream`, which
        offers the same ``response()``, ``completed`` and ``close()``). ``cancel`` aborts
        the stream before its headers arrived and while it is read: `CancelledError`.
        """
        if not self.middleware:
            return self.open_stream(request, timeout=timeout, cancel=cancel)
        context = CallContext("stream")
        opened: List[ResponseStream] = []

        def terminal(r: LlmRequest) -> Iterator[StreamEvent]:
            inner = self.open_stream(r, timeout=timeout, headers=context.headers, cancel=cancel)
            opened.append(inner)
            return inner

        return MiddlewareStream(self.middleware.stream(request, context, terminal), context, opened)

    def close(self) -> None:
        """Release the transport's pooled connections (if this client made the transport)."""
        if self._owns_transport:
            self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _request_id(response: TransportResponse) -> Optional[str]:
    return request_id_of(response.headers)
