"""Stream drivers: bytes in, canonical events or another protocol's wire frames out.

The per-protocol stream codecs are sans-I/O state machines; these functions wire them to
an iterable of chunks (a socket's ``iter_content``, a file, a list) and enforce the
error rules: every delta that arrived before a failure is yielded first, then a
`StreamError` carrying the partial response is raised. A stream that ends without its
protocol's terminal event is never reported as a normal completion.

Framing follows the wire format: SSE for every format but ``bedrock_converse``, whose
ConverseStream body is AWS event-stream binary framing (its codec's ``event_parser``
decodes it, and a stream cut inside a binary message is truncated). Encoders yield SSE
``str`` frames, or ``bytes`` frames for ``bedrock_converse``.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Iterable, Iterator, List, Optional, Union

from .errors import DecodeError, ProviderStreamError, TruncatedStreamError, WireFormatError
from .eventstream import EventStreamError
from .protocols import stream_codec
from .report import LossLog
from .sse import SSEEvent, SSEParser
from .stream import BoundedAccumulator, ErrorEvent, StreamAccumulator, StreamEvent
from .wire import WireFormat, wire_format

Chunk = Union[bytes, bytearray, str]
Frame = Union[str, bytes]
"""One encoded wire frame: SSE text, or an event-stream message for ``bedrock_converse``."""


class InvokeChunkParser:
    """Framing of Bedrock ``InvokeModelWithResponseStream``: event-stream ``chunk`` messages.

    Each ``chunk`` payload is ``{"bytes": "<base64 of one provider event as JSON>"}``
    (for Claude: one Anthropic Messages event). They come out as the `SSEEvent` s the
    provider's own stream decoder reads; an ``exception`` message becomes an ``error``
    event, so a throttling or model error mid-stream surfaces as a `ProviderStreamError`.
    """

    def __init__(self) -> None:
        from .eventstream import EventStreamDecoder

        self._frames = EventStreamDecoder()

    def feed(self, data: Chunk) -> List[SSEEvent]:
        """Parse more bytes; return the events completed so far."""
        raw = data.encode("latin-1") if isinstance(data, str) else bytes(data)
        return [self._event(m) for m in self._frames.feed(raw)]

    def close(self) -> List[SSEEvent]:
        """End of input (an unfinished frame raises `EventStreamError`)."""
        return [self._event(m) for m in self._frames.close()]

    @staticmethod
    def _event(message: Any) -> SSEEvent:
        kind = message.headers.get(":message-type")
        if kind == "exception":
            name = str(message.headers.get(":exception-type") or "exception")
            try:
                text = json.loads(message.payload or b"{}").get("message") or name
            except (ValueError, AttributeError):
                text = name
            error = {"type": "error", "error": {"type": _INVOKE_ERRORS.get(name, "api_error"), "message": text}}
            return SSEEvent("error", json.dumps(error))
        try:
            body = json.loads(message.payload)
            event = base64.b64decode(body["bytes"]).decode("utf-8")
            name = json.loads(event).get("type", "message")
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            raise DecodeError("bedrock_invoke_stream", "chunk.bytes", f"not a base64 JSON event ({exc})") from None
        return SSEEvent(str(name), event)


_INVOKE_ERRORS = {
    "throttlingException": "rate_limit_error",
    "serviceUnavailableException": "overloaded_error",
    "internalServerException": "api_error",
    "modelStreamErrorException": "api_error",
    "validationException": "invalid_request_error",
    "modelTimeoutException": "timeout_error",
}

#: Stream framings besides each format's own: ``bedrock_invoke`` (InvokeModel streams).
FRAMINGS = {"bedrock_invoke": InvokeChunkParser}


def decode_stream(
    chunks: Iterable[Chunk],
    source: Union[str, WireFormat],
    *,
    accumulator: Optional[StreamAccumulator] = None,
    framing: Optional[str] = None,
    lean: bool = False,
) -> Iterator[StreamEvent]:
    """Decode a wire stream into canonical events, one input chunk at a time.

    Raises `ProviderStreamError` on a provider error event and `TruncatedStreamError`
    when the input ends without the terminal event; both carry the partial response.
    Pass an ``accumulator`` to keep the folded response after the iterator ends.
    ``framing`` overrides the format's own framing (``bedrock_invoke``: a provider's
    events wrapped in Bedrock InvokeModel stream chunks). ``lean``: items close with lean
    final forms (`OutputItemDone.lean`), so that the decoder holds no streamed text; the
    accumulator still folds the whole response.
    """
    fmt = wire_format(source)
    module = stream_codec(fmt)
    decoder = module.StreamDecoder(lean=lean)
    acc = accumulator if accumulator is not None else StreamAccumulator()
    # A codec whose framing is not plain SSE provides its own parser.
    if framing is not None:
        if framing not in FRAMINGS:
            raise WireFormatError(f"unknown stream framing {framing!r}; known: {', '.join(FRAMINGS)}")
        parser: Any = FRAMINGS[framing]()
    else:
        parser = getattr(module, "event_parser", SSEParser)()
    feed, add = decoder.feed, acc.add
    try:
        for chunk in chunks:
            for sse in parser.feed(bytes(chunk) if isinstance(chunk, bytearray) else chunk):
                # `_emit`'s loop, inlined: this runs once per wire event and a generator per
                # event is measurable there.
                for event in feed(sse):
                    if isinstance(event, ErrorEvent):
                        raise _provider_error(event, acc, fmt)
                    add(event)
                    yield event
    except RecursionError:
        # An event nested deeper than the codec's recursion can follow.
        raise DecodeError(fmt.value, "", "an event is nested too deeply to decode") from None
    except EventStreamError as exc:
        # Binary framing broken mid-stream (a CRC mismatch, impossible lengths): the bytes
        # are unreadable, like malformed JSON in a text stream; the gateway counts it
        # against the key and retries it like any unreadable answer.
        raise DecodeError(fmt.value, "", f"corrupt event stream: {exc}") from exc
    try:
        tail = parser.close()
    except EventStreamError as exc:
        # Binary framing: the input ended inside a message, so the stream was cut.
        raise TruncatedStreamError(
            f"{exc}; the partial response is attached", acc.response(), protocol=fmt.value
        ) from exc
    for sse in tail:
        try:
            events = decoder.feed(sse)
        except DecodeError as exc:
            # Only end of input completed this event: it was cut, not malformed.
            raise TruncatedStreamError(
                f"stream ended inside an event ({exc.problem}); the partial response is attached",
                acc.response(),
                protocol=fmt.value,
            ) from exc
        yield from _emit(events, acc, fmt)
    yield from _emit(decoder.finish(), acc, fmt)
    if not decoder.terminated:
        raise TruncatedStreamError(
            "stream ended before its terminal event; the partial response is attached",
            acc.response(),
            protocol=fmt.value,
        )


def _emit(events: List[StreamEvent], acc: StreamAccumulator, fmt: WireFormat) -> Iterator[StreamEvent]:
    for event in events:
        if isinstance(event, ErrorEvent):
            raise _provider_error(event, acc, fmt)
        acc.add(event)
        yield event


def _provider_error(event: ErrorEvent, acc: StreamAccumulator, fmt: WireFormat) -> ProviderStreamError:
    return ProviderStreamError(
        event.message,
        acc.response(),
        protocol=fmt.value,
        error_type=event.type,
        code=event.code,
        status=event.status,
    )


def encode_stream(
    events: Iterable[StreamEvent],
    target: Union[str, WireFormat],
    *,
    losses: Optional[LossLog] = None,
    include_usage: Optional[bool] = None,
) -> Iterator[Frame]:
    """Encode canonical events as ``target`` frames (SSE text; bytes for Bedrock), yielding as each event arrives.

    ``include_usage``: the request's ``stream_options.include_usage`` for an
    ``open_ai_chat_completions`` target when known; False leaves out the usage chunk
    (None, unknown: it is sent whenever usage is known). Other targets ignore it.
    """
    fmt = wire_format(target)
    module = stream_codec(fmt)
    log = losses if losses is not None else LossLog(fmt.value)
    if include_usage is not None and fmt is WireFormat.OPEN_AI_CHAT_COMPLETIONS:
        encoder = module.StreamEncoder(log, include_usage=include_usage)
    else:
        encoder = module.StreamEncoder(log)
    # An encoder whose events can repeat a whole item (Responses) serialises them one at a time.
    encode = getattr(encoder, "encode_lazily", encoder.encode)
    for event in events:
        yield from encode(event)
    yield from encoder.finish()


def transcode_stream(
    chunks: Iterable[Chunk],
    source: Union[str, WireFormat],
    target: Union[str, WireFormat],
    *,
    losses: Optional[LossLog] = None,
    include_usage: Optional[bool] = None,
) -> Iterator[Frame]:
    """Convert a ``source`` wire stream into ``target`` frames (see `encode_stream`), incrementally.

    Output for an event is yielded before the next input chunk is read, and nothing
    grows with the stream: memory stays bounded by the largest single event, in or out
    (an ``open_ai_responses`` target's ``.done`` events and terminal response repeat each
    item whole, so there its encoder holds the text once). Losses go to ``losses`` when
    given. Errors as in `decode_stream`, except that the partial response keeps only the
    first `PARTIAL_LIMIT` characters of streamed content (ids, tool calls, usage and stop
    reason whole).
    """
    # Bounded partial: the yielded frames carry every delta, so the error's partial keeps
    # at most PARTIAL_LIMIT characters of content and memory stays O(largest event).
    partial = BoundedAccumulator(PARTIAL_LIMIT)
    # Lean decoding: item final forms leave out the text the deltas carried, so no decoder
    # holds an open item's text; encoders that need it (Responses) rebuild it from deltas.
    events = decode_stream(chunks, source, accumulator=partial, lean=True)
    return encode_stream(events, target, losses=losses, include_usage=include_usage)


#: Characters of streamed content (text, refusal, reasoning, tool arguments) that the
#: partial response of a `transcode_stream` error keeps; later content is only counted.
PARTIAL_LIMIT = 1 << 16
