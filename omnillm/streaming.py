"""Stream drivers: bytes in, canonical events or another protocol's SSE text out.

The per-protocol stream codecs are sans-I/O state machines; these functions wire them to
an iterable of chunks (a socket's ``iter_content``, a file, a list) and enforce the
error rules: every delta that arrived before a failure is yielded first, then a
`StreamError` carrying the partial response is raised. A stream that ends without its
protocol's terminal event is never reported as a normal completion.
"""

from __future__ import annotations

from typing import Iterable, Iterator, List, Optional, Union

from .errors import ProviderStreamError, TruncatedStreamError
from .protocols import stream_codec
from .report import LossLog
from .sse import SSEParser
from .stream import ErrorEvent, StreamAccumulator, StreamEvent
from .wire import WireFormat, wire_format

Chunk = Union[bytes, bytearray, str]


def decode_stream(
    chunks: Iterable[Chunk],
    source: Union[str, WireFormat],
    *,
    accumulator: Optional[StreamAccumulator] = None,
) -> Iterator[StreamEvent]:
    """Decode a wire stream into canonical events, one input chunk at a time.

    Raises `ProviderStreamError` on a provider error event and `TruncatedStreamError`
    when the input ends without the terminal event; both carry the partial response.
    Pass an ``accumulator`` to keep the folded response after the iterator ends.
    """
    fmt = wire_format(source)
    decoder = stream_codec(fmt).StreamDecoder()
    acc = accumulator if accumulator is not None else StreamAccumulator()
    parser = SSEParser()
    for chunk in chunks:
        for sse in parser.feed(bytes(chunk) if isinstance(chunk, bytearray) else chunk):
            yield from _emit(decoder.feed(sse), acc, fmt)
    for sse in parser.close():
        yield from _emit(decoder.feed(sse), acc, fmt)
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
            raise ProviderStreamError(
                event.message,
                acc.response(),
                protocol=fmt.value,
                error_type=event.type,
                code=event.code,
            )
        acc.add(event)
        yield event


def encode_stream(
    events: Iterable[StreamEvent],
    target: Union[str, WireFormat],
    *,
    losses: Optional[LossLog] = None,
) -> Iterator[str]:
    """Encode canonical events as ``target`` SSE text, yielding as each event arrives."""
    fmt = wire_format(target)
    encoder = stream_codec(fmt).StreamEncoder(losses if losses is not None else LossLog(fmt.value))
    for event in events:
        yield from encoder.encode(event)
    yield from encoder.finish()


def transcode_stream(
    chunks: Iterable[Chunk],
    source: Union[str, WireFormat],
    target: Union[str, WireFormat],
    *,
    losses: Optional[LossLog] = None,
) -> Iterator[str]:
    """Convert a ``source`` wire stream into ``target`` SSE text, incrementally.

    Output for an event is yielded before the next input chunk is read. Losses go to
    ``losses`` when given. Errors as in `decode_stream`.
    """
    return encode_stream(decode_stream(chunks, source), target, losses=losses)
