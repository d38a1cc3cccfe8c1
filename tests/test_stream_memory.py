"""`transcode_stream` memory: bounded by the largest event, not by the length of the text.

Each source stream carries megabytes of real text in 20 kB deltas (and a reasoning item
where the source has one), written lazily by the source format's own stream encoder, so
that the stream is never materialised. The output is decoded again as it comes, so the
test also checks that every character arrived.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import tracemalloc
from dataclasses import replace
from typing import Iterator, List, Tuple

import pytest

from omnillm.errors import StreamError
from omnillm.model import LlmResponse, Message, OutputItem, ReasoningPart, ToolCallPart, Usage
from omnillm.protocols import stream_codec
from omnillm.sse import SSEParser
from omnillm.stream import (
    OutputItemAdded,
    OutputItemDone,
    ReasoningDelta,
    ReasoningSignatureDelta,
    ResponseCompleted,
    ResponseStarted,
    StreamAccumulator,
    StreamEvent,
    TextDelta,
    UsageUpdate,
)
from omnillm.streaming import Frame, decode_stream, encode_stream, transcode_stream
from omnillm.wire import GENERATION_FORMATS

FORMATS = [f.value for f in GENERATION_FORMATS]
LEAN_TARGETS = [f for f in FORMATS if f != "open_ai_responses"]
DELTA = 20_000
TEXT_DELTAS = 200  # 4 MB of text
REASONING_DELTAS = 50  # 1 MB of reasoning


def _piece(k: int, base: str) -> str:
    return chr(ord(base) + k % 26) * DELTA


def _events() -> Iterator[StreamEvent]:
    yield ResponseStarted("resp_1", "model-1", 1)
    yield OutputItemAdded(0, "reasoning")
    for k in range(REASONING_DELTAS):
        yield ReasoningDelta(0, _piece(k, "A"))
    yield ReasoningSignatureDelta(0, signature="sig", source="anthropic_messages")
    yield OutputItemDone(0)
    yield OutputItemAdded(1, "message")
    for k in range(TEXT_DELTAS):
        yield TextDelta(1, _piece(k, "a"))
    yield OutputItemDone(1)
    yield UsageUpdate(Usage(5, TEXT_DELTAS))
    yield ResponseCompleted("end_turn", usage=Usage(5, TEXT_DELTAS))


def _small_events() -> Iterator[StreamEvent]:
    yield ResponseStarted("resp_0", "model-1", 1)
    yield OutputItemAdded(0, "message")
    yield TextDelta(0, "hello")
    yield OutputItemDone(0)
    yield ResponseCompleted("end_turn")


class _Counter:
    """Decodes target frames as they come, keeping only character counts and the largest frame.

    A Responses target's own decoder would hold its text (its ``.done`` events repeat it),
    so for that target only the delta events are read.
    """

    def __init__(self, target: str) -> None:
        module = stream_codec(target)
        self.parser = getattr(module, "event_parser", SSEParser)()
        self.decoder = None if target == "open_ai_responses" else module.StreamDecoder(lean=True)
        self.text = self.reasoning = self.largest = 0
        self.completed = False

    def feed(self, frame: Frame) -> None:
        self.largest = max(self.largest, len(frame))
        for sse in self.parser.feed(frame):
            if self.decoder is None:
                self._responses_event(sse.event, sse.data)
                continue
            self._count(self.decoder.feed(sse))

    def close(self) -> None:
        if self.decoder is not None:
            self._count(self.decoder.finish())

    def _count(self, events: List[StreamEvent]) -> None:
        for event in events:
            if isinstance(event, TextDelta):
                self.text += len(event.text)
            elif isinstance(event, ReasoningDelta):
                self.reasoning += len(event.text)
            elif isinstance(event, ResponseCompleted):
                self.completed = True

    def _responses_event(self, name: str, data: str) -> None:
        if name == "response.output_text.delta":
            self.text += len(json.loads(data)["delta"])
        elif name in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
            self.reasoning += len(json.loads(data)["delta"])
        elif name == "response.completed":
            self.completed = True


def _transcode(source: str, target: str) -> Tuple[int, int, _Counter]:
    """Peak traced memory, the largest input chunk and the decoded output of one run."""
    # Load the codecs first: their import is not the transcoder's memory.
    for _ in transcode_stream(encode_stream(_small_events(), source), source, target):
        pass
    counter = _Counter(target)
    largest_in = 0

    # Written lazily, so that the stream is never held. A Responses stream repeats its
    # text in its events anyway, and the encoder writing it would hold that text in the
    # traced memory: it is written before tracing starts and handed out one chunk at a time.
    frames = encode_stream(_events(), source)
    written = list(frames) if source == "open_ai_responses" else []
    written.reverse()

    def chunks() -> Iterator[Frame]:
        nonlocal largest_in
        while written:
            frame = written.pop()
            largest_in = max(largest_in, len(frame))
            yield frame
        for frame in frames:
            largest_in = max(largest_in, len(frame))
            yield frame

    tracemalloc.start()
    try:
        for frame in transcode_stream(chunks(), source, target):
            counter.feed(frame)
        counter.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, largest_in, counter


@pytest.mark.parametrize("target", LEAN_TARGETS)
@pytest.mark.parametrize("source", FORMATS)
def test_memory_does_not_grow_with_the_text(source: str, target: str) -> None:
    """5 MB of text and reasoning: peak memory stays within a few of the largest events."""
    peak, largest_in, out = _transcode(source, target)
    assert out.completed
    assert out.text == TEXT_DELTAS * DELTA
    assert out.reasoning == REASONING_DELTAS * DELTA
    bound = 1_000_000 + 4 * max(largest_in, out.largest)
    assert peak < bound, f"peak {peak} bytes; largest event in {largest_in}, out {out.largest}"
    if source != "open_ai_responses":
        # Only a Responses source repeats the text in its events: elsewhere no event is big.
        assert peak < 1_000_000, f"peak {peak} bytes for {TEXT_DELTAS * DELTA} bytes of text"


@pytest.mark.parametrize("source", [f for f in FORMATS if f != "open_ai_responses"])
def test_a_responses_target_holds_the_text_about_once(source: str) -> None:
    """A Responses target repeats each item whole in its `.done` events and terminal response."""
    peak, _, out = _transcode(source, "open_ai_responses")
    assert out.completed and out.text == TEXT_DELTAS * DELTA
    assert out.reasoning == REASONING_DELTAS * DELTA
    # Held once, plus the event being written and the one before it (still held by the
    # caller's loop variable) and the copy serialising makes: about 4x the largest event,
    # response.completed, which repeats every item (before: 6x).
    size = (TEXT_DELTAS + REASONING_DELTAS) * DELTA
    assert peak < 1_000_000 + 4.5 * size, f"peak {peak} bytes for {size} bytes of text"


def _comparable(response: LlmResponse) -> LlmResponse:
    """Tool arguments as parsed JSON: a lean decoder passes them on as streamed, not re-serialised."""
    output: List[OutputItem] = []
    for item in response.output:
        if isinstance(item, ToolCallPart):
            with contextlib.suppress(ValueError):
                item = replace(item, arguments=json.dumps(json.loads(item.arguments), sort_keys=True))
        output.append(item)
    return replace(response, output=output)


CORPUS = [(fmt, name) for fmt in FORMATS for name in getattr(importlib.import_module(f"streams_{fmt}"), "STREAMS", {})]


@pytest.mark.parametrize(("source", "name"), CORPUS, ids=str)
def test_lean_decoding_folds_to_the_same_response(source: str, name: str) -> None:
    """`decode_stream(lean=True)` leaves streamed text out of final forms, yet folds the same response."""
    body = importlib.import_module(f"streams_{source}").STREAMS[name]
    full, lean = StreamAccumulator(), StreamAccumulator()
    full_events: List[StreamEvent] = []
    lean_events: List[StreamEvent] = []
    for accumulator, events, is_lean in ((full, full_events, False), (lean, lean_events, True)):
        with contextlib.suppress(StreamError):
            events.extend(decode_stream([body], source, accumulator=accumulator, lean=is_lean))
    assert _comparable(lean.response()) == _comparable(full.response())
    # Same events but the final forms: lean ones hold no streamed text.
    assert [type(e) for e in lean_events] == [type(e) for e in full_events]
    for event in lean_events:
        if isinstance(event, OutputItemDone) and event.lean:
            assert isinstance(event.item, (Message, ReasoningPart, ToolCallPart))
            assert not getattr(event.item, "arguments", "")
            assert not getattr(event.item, "text", None)
            if isinstance(event.item, Message):
                assert not any(getattr(part, "text", "") for part in event.item.content)
