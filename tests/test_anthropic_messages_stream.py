"""Anthropic Messages streaming codec: decoder, encoder, and the official SDK as the judge."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdk_server import serve
from streams_anthropic_messages import STREAMS

from omnillm.errors import DecodeError, EncodeError, OmniLLMError, ProviderStreamError, TruncatedStreamError
from omnillm.model import LlmResponse, Message, OpaquePart, ReasoningPart, RefusalPart, TextPart, ToolCallPart, Usage
from omnillm.protocols.anthropic_messages_stream import PROTOCOL, StreamDecoder, StreamEncoder
from omnillm.report import LossLog
from omnillm.sse import SSEEvent, SSEParser
from omnillm.stream import (
    ErrorEvent,
    OutputItemAdded,
    OutputItemDone,
    ReasoningDelta,
    ReasoningSignatureDelta,
    RefusalDelta,
    ResponseCompleted,
    ResponseStarted,
    StreamAccumulator,
    StreamEvent,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStarted,
    UsageUpdate,
)
from omnillm.streaming import decode_stream

anthropic = pytest.importorskip("anthropic")

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / PROTOCOL / "streams"
FIXTURE_FILES = sorted(FIXTURES.glob("*.sse")) if FIXTURES.is_dir() else []
COMPLETE = [name for name in STREAMS if name != "error"]


# --------------------------------------------------------------------------- helpers


def sse_events(text: str, *, flush_partial: bool = False) -> List[SSEEvent]:
    parser = SSEParser(flush_partial=flush_partial)
    return parser.feed(text) + parser.close()


def decode(text: str, *, flush_partial: bool = False) -> Tuple[List[StreamEvent], StreamDecoder]:
    decoder = StreamDecoder()
    events: List[StreamEvent] = []
    for sse in sse_events(text, flush_partial=flush_partial):
        events.extend(decoder.feed(sse))
    events.extend(decoder.finish())
    return events, decoder


def accumulate(events: List[StreamEvent]) -> LlmResponse:
    acc = StreamAccumulator()
    for event in events:
        acc.add(event)
    return acc.response()


def encode(events: List[StreamEvent], losses: Optional[LossLog] = None) -> str:
    encoder = StreamEncoder(losses)
    out: List[str] = []
    for event in events:
        out.extend(encoder.encode(event))
    out.extend(encoder.finish())
    return "".join(out)


def wire_events(text: str) -> List[Dict[str, Any]]:
    return [json.loads(e.data) for e in sse_events(text)]


def sdk_final(text: str) -> Any:
    with serve(text) as server:
        client = anthropic.Anthropic(api_key="x", base_url=server.base_url, max_retries=0)
        with client.messages.stream(
            model="claude-sonnet-4-6", max_tokens=1024, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            return stream.get_final_message()


def canonical_text(response: LlmResponse) -> str:
    """Text and refusal parts in order: what an Anthropic text block must hold."""
    return "".join(
        part.text
        for item in response.output
        if isinstance(item, Message)
        for part in item.content
        if isinstance(part, (TextPart, RefusalPart))
    )


def assert_sdk_matches(message: Any, response: LlmResponse, stop_reason: str) -> None:
    """The SDK's accumulated message carries the canonical response's essentials.

    Tool inputs cut short by max_tokens are not JSON; the SDK parses such a prefix leniently,
    so only the call's id and name are compared then.
    """
    assert "".join(b.text for b in message.content if b.type == "text") == canonical_text(response)
    sdk_calls = [b for b in message.content if b.type == "tool_use"]
    assert [(b.id, b.name) for b in sdk_calls] == [(c.id, c.name) for c in response.tool_calls]
    for block, call in zip(sdk_calls, response.tool_calls):
        if _is_json(call.arguments):
            assert block.input == json.loads(call.arguments)
    assert message.stop_reason == stop_reason
    if response.usage is not None:
        u = message.usage
        total_in = u.input_tokens + (u.cache_read_input_tokens or 0) + (u.cache_creation_input_tokens or 0)
        assert total_in == response.usage.input_tokens
        assert u.output_tokens == response.usage.output_tokens
        assert (u.cache_read_input_tokens or 0) == (response.usage.cached_input_tokens or 0)
        assert (u.cache_creation_input_tokens or 0) == (response.usage.cache_creation_input_tokens or 0)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def assert_wire_shape(text: str, *, complete: bool = True) -> None:
    """Every event validates against the SDK's event types; blocks open 0..n one at a time."""
    adapter = anthropic._models.TypeAdapter(anthropic.types.RawMessageStreamEvent)
    events = wire_events(text)
    names = [e.event for e in sse_events(text)]
    assert names == [e["type"] for e in events]
    if events and events[0]["type"] == "error":
        return
    assert events[0]["type"] == "message_start"
    open_block: Optional[int] = None
    next_index = 0
    for event in events:
        adapter.validate_python(event)
        if event["type"] == "content_block_start":
            assert open_block is None, "a block was opened while another one is open"
            assert event["index"] == next_index
            open_block, next_index = event["index"], next_index + 1
        elif event["type"] == "content_block_stop":
            assert event["index"] == open_block
            open_block = None
    assert open_block is None or not complete


# --------------------------------------------------------------------------- decoder


def test_corpus_has_the_required_streams() -> None:
    assert {"text", "tool_call", "parallel_tool_calls", "reasoning", "refusal", "usage"} <= set(STREAMS)


@pytest.mark.parametrize("name", COMPLETE)
def test_decoded_event_order(name: str) -> None:
    events, decoder = decode(STREAMS[name])
    assert decoder.terminated
    assert isinstance(events[0], ResponseStarted)
    assert isinstance(events[-1], ResponseCompleted)
    opened, closed = set(), set()
    for event in events[1:-1]:
        assert not isinstance(event, (ResponseStarted, ResponseCompleted, ErrorEvent))
        if isinstance(event, (OutputItemAdded, ToolCallStarted)):
            assert event.index not in opened and event.index == len(opened | closed)
            opened.add(event.index)
        elif isinstance(event, OutputItemDone):
            assert event.index not in closed
            closed.add(event.index)
        elif hasattr(event, "index"):
            assert event.index in opened and event.index not in closed
    assert opened <= closed


def test_text_events() -> None:
    events, _ = decode(STREAMS["text"])
    usage_start = Usage(
        input_tokens=14,
        output_tokens=1,
        total_tokens=15,
        cached_input_tokens=0,
        cache_creation_input_tokens=0,
        extensions={
            PROTOCOL: {
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "service_tier": "standard",
            }
        },
    )
    usage_end = Usage(
        input_tokens=14,
        output_tokens=15,
        total_tokens=29,
        cached_input_tokens=0,
        cache_creation_input_tokens=0,
        extensions=usage_start.extensions,
    )
    assert events == [
        ResponseStarted(id="msg_01XFDUDYJgAACzvnptvVoYEL", model="claude-sonnet-4-5-20250929"),
        UsageUpdate(usage_start),
        OutputItemAdded(0, "message"),
        TextDelta(0, "Bonjour"),
        TextDelta(0, " ! Comment puis-je"),
        TextDelta(0, " vous aider aujourd'hui ?"),
        OutputItemDone(0),
        UsageUpdate(usage_end),
        ResponseCompleted("end_turn", "end_turn", None, usage_end),
    ]


def test_tool_call_arguments_stream_and_normalise() -> None:
    events, _ = decode(STREAMS["tool_call"])
    deltas = [e.delta for e in events if isinstance(e, ToolCallArgumentsDelta)]
    assert deltas == ['{"city": "Pa', 'ris", "unit', '": "celsius"}']  # the empty first fragment is skipped
    response = accumulate(events)
    assert response.text == "I'll look up the current weather in Paris."
    (call,) = response.tool_calls
    assert (call.id, call.name) == ("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather")
    assert call.arguments == '{"city":"Paris","unit":"celsius"}'  # as the non-streaming codec writes it
    assert response.stop_reason == "tool_use"
    assert [type(item) for item in response.output] == [Message, ToolCallPart]


def test_parallel_tool_calls() -> None:
    response = accumulate(decode(STREAMS["parallel_tool_calls"])[0])
    assert [(c.id, c.name, json.loads(c.arguments)) for c in response.tool_calls] == [
        ("toolu_01Weather0Paris000000000", "get_weather", {"city": "Paris", "unit": "celsius"}),
        ("toolu_01Weather1Tokyo000000000", "get_weather", {"city": "Tokyo", "unit": "fahrenheit"}),
        (
            "toolu_01Time2Tokyo00000000000",
            "get_time",
            {"timezone": "Asia/Tokyo", "format": {"hour12": False, "seconds": True}},
        ),
    ]
    assert response.usage is not None and (response.usage.input_tokens, response.usage.output_tokens) == (610, 171)


def test_reasoning_thinking_and_redacted() -> None:
    events, _ = decode(STREAMS["reasoning"])
    response = accumulate(events)
    thinking, redacted = response.reasoning
    assert thinking.text == "The user asks for 27 * 453. 27 * 453 = 27 * 400 + 27 * 53 = 10800 + 1431 = 12231."
    assert thinking.signature is not None and thinking.signature.startswith("EqQB")
    assert thinking.source == PROTOCOL
    assert redacted.redacted and redacted.encrypted_content == "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlx"
    assert redacted.source == PROTOCOL and redacted.text is None
    assert response.text == "27 x 453 = **12,231**"
    assert response.usage is not None and response.usage.reasoning_tokens == 150
    assert [e.kind for e in events if isinstance(e, OutputItemAdded)] == ["reasoning", "reasoning", "message"]


def test_refusal_stop_reason() -> None:
    response = accumulate(decode(STREAMS["refusal"])[0])
    assert (response.stop_reason, response.raw_stop_reason) == ("refusal", "refusal")
    assert response.text == "I can't help with building malware."


def test_usage_is_normalised_and_merged() -> None:
    events, _ = decode(STREAMS["usage"])
    updates = [e.usage for e in events if isinstance(e, UsageUpdate)]
    assert [(u.input_tokens, u.output_tokens) for u in updates] == [(21 + 1830 + 412, 1), (21 + 1830 + 412, 19)]
    final = accumulate(events).usage
    assert final is not None
    assert (final.cached_input_tokens, final.cache_creation_input_tokens) == (1830, 412)
    assert final.extensions[PROTOCOL]["inference_geo"] == "not_available"  # kept from message_start


def test_message_delta_usage_overrides_start() -> None:
    stream = STREAMS["text"].replace('"usage":{"output_tokens":15}', '"usage":{"output_tokens":15,"input_tokens":20}')
    usage = accumulate(decode(stream)[0]).usage
    assert usage is not None and (usage.input_tokens, usage.output_tokens) == (20, 15)


def test_stop_sequence() -> None:
    response = accumulate(decode(STREAMS["stop_sequence"])[0])
    assert (response.stop_reason, response.stop_sequence) == ("stop_sequence", "3.")


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("end_turn", "end_turn"),
        ("max_tokens", "max_tokens"),
        ("stop_sequence", "stop_sequence"),
        ("tool_use", "tool_use"),
        ("pause_turn", "pause"),
        ("refusal", "refusal"),
        ("model_context_window_exceeded", "max_tokens"),
        ("some_future_reason", "other"),
    ],
)
def test_every_stop_reason(raw: str, canonical: str) -> None:
    stream = STREAMS["text"].replace('"stop_reason":"end_turn"', f'"stop_reason":"{raw}"')
    response = accumulate(decode(stream)[0])
    assert (response.stop_reason, response.raw_stop_reason) == (canonical, raw)


def test_unclosed_block_is_closed_by_message_delta() -> None:
    events, decoder = decode(STREAMS["max_tokens_tool"])
    assert decoder.terminated
    done = [e for e in events if isinstance(e, OutputItemDone)]
    assert len(done) == 1 and events.index(done[0]) < next(
        i for i, e in enumerate(events) if isinstance(e, UsageUpdate) and i > 1
    )
    (call,) = accumulate(events).tool_calls
    assert call.arguments == '{"path": "notes.md", "content": "# Notes\\n\\nFirst'  # incomplete: kept as received
    assert accumulate(events).stop_reason == "max_tokens"


def test_server_blocks_become_opaque_and_citations_are_kept() -> None:
    events, _ = decode(STREAMS["server_tool"])
    response = accumulate(events)
    tool_use, result, message = response.output
    assert isinstance(tool_use, OpaquePart) and tool_use.source == PROTOCOL
    assert tool_use.data["type"] == "server_tool_use"
    assert tool_use.data["input"] == {"query": "Apple Ginza reopening date"}
    assert isinstance(result, OpaquePart) and result.data["type"] == "web_search_tool_result"
    assert isinstance(message, Message)
    (part,) = message.content
    assert isinstance(part, TextPart) and part.text == "Apple Ginza reopens on Friday, September 26."
    assert part.extensions[PROTOCOL]["citations"][0]["type"] == "web_search_result_location"
    assert response.usage is not None
    assert response.usage.extensions[PROTOCOL]["server_tool_use"] == {"web_search_requests": 1, "web_fetch_requests": 0}


def test_tool_without_arguments_gets_an_empty_object() -> None:
    stream = STREAMS["tool_call"].replace('"partial_json":"{\\"city\\": \\"Pa"', '"partial_json":""')
    for fragment in ('ris\\", \\"unit', '\\": \\"celsius\\"}'):
        stream = stream.replace(f'"partial_json":"{fragment}"', '"partial_json":""')
    events, _ = decode(stream)
    assert [e.delta for e in events if isinstance(e, ToolCallArgumentsDelta)] == ["{}"]
    assert accumulate(events).tool_calls[0].arguments == "{}"


def test_unknown_events_fields_and_block_types_are_tolerated() -> None:
    base, _ = decode(STREAMS["text"])
    extra = (
        STREAMS["text"]
        .replace(
            "event: ping\n",
            'event: content_block_future\ndata: {"type":"content_block_future","index":0}\n\nevent: ping\n',
        )
        .replace('"text":"Bonjour"}', '"text":"Bonjour","confidence":0.9},"novel":true')
    )
    assert decode(extra)[0] == base
    future = STREAMS["text"].replace(
        "event: message_delta\n",
        'event: content_block_start\ndata: {"type":"content_block_start","index":1,'
        '"content_block":{"type":"hologram","frames":3}}\n\n'
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,'
        '"delta":{"type":"frame_delta","frame":"x"}}\n\n'
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n'
        "event: message_delta\n",
    )
    events, decoder = decode(future)
    assert decoder.terminated
    assert OutputItemDone(1, OpaquePart(PROTOCOL, {"type": "hologram", "frames": 3})) in events


def test_done_sentinel_and_events_after_message_stop_are_ignored() -> None:
    base, _ = decode(STREAMS["text"])
    assert decode(STREAMS["text"] + 'data: [DONE]\n\nevent: ping\ndata: {"type":"ping"}\n\n')[0] == base


# --------------------------------------------------------------------------- errors and truncation


def test_error_event() -> None:
    events, decoder = decode(STREAMS["error"])
    assert decoder.terminated
    assert events[-1] == ErrorEvent(message="Overloaded", type="overloaded_error", status=529)
    with pytest.raises(ProviderStreamError) as info:
        list(decode_stream([STREAMS["error"].encode()], PROTOCOL))
    assert info.value.error_type == "overloaded_error"
    assert info.value.partial is not None and info.value.partial.text == "Once upon"


@pytest.mark.parametrize("name", COMPLETE)
def test_truncated_at_every_event_boundary(name: str) -> None:
    raw = sse_events(STREAMS[name])
    for cut in range(len(raw) - 1):
        decoder = StreamDecoder()
        for sse in raw[:cut]:
            decoder.feed(sse)
        decoder.finish()
        assert not decoder.terminated, f"cut after {cut} events"
    text = STREAMS[name]
    cut_at = text.rindex("event: message_stop")
    with pytest.raises(TruncatedStreamError) as info:
        list(decode_stream([text[:cut_at].encode()], PROTOCOL))
    assert info.value.partial is not None
    assert canonical_text(info.value.partial) == canonical_text(accumulate(decode(text)[0]))


def _replace_event(name: str, position: int, payload: Any) -> str:
    raw = sse_events(STREAMS[name])
    data = payload if isinstance(payload, str) else json.dumps(payload)
    raw[position] = SSEEvent(event=raw[position].event, data=data, id=None, retry=None)
    return "".join(f"event: {e.event}\ndata: {e.data}\n\n" for e in raw)


def _event(name: str, position: int) -> Dict[str, Any]:
    return dict(json.loads(sse_events(STREAMS[name])[position].data))


@pytest.mark.parametrize(
    ("position", "mutate", "path"),
    [
        (0, lambda e: "{not json", "event[0]"),
        (0, lambda e: [1, 2], "event[0]"),
        (0, lambda e: {**e, "type": 5}, "event[0].type"),
        (0, lambda e: {**e, "message": "msg"}, "event[0].message"),
        (0, lambda e: {**e, "message": {**e["message"], "id": 7}}, "event[0].message.id"),
        (
            0,
            lambda e: {**e, "message": {**e["message"], "usage": {"input_tokens": "14"}}},
            "event[0].message.usage.input_tokens",
        ),
        (1, lambda e: {**e, "index": "0"}, "event[1].index"),
        (1, lambda e: {k: v for k, v in e.items() if k != "content_block"}, "event[1].content_block"),
        (1, lambda e: {**e, "content_block": {"text": ""}}, "event[1].content_block.type"),
        (3, lambda e: {**e, "delta": {"type": "text_delta", "text": None}}, "event[3].delta.text"),
        (3, lambda e: {**e, "delta": {"type": "text_delta", "text": ["a"]}}, "event[3].delta.text"),
        (3, lambda e: {**e, "delta": {"type": "input_json_delta", "partial_json": "{"}}, "event[3].delta.type"),
        (3, lambda e: {**e, "index": 5}, "event[3].index"),
        (3, lambda e: {**e, "delta": 3}, "event[3].delta"),
        (6, lambda e: {**e, "index": 9}, "event[6].index"),
        (7, lambda e: {**e, "usage": {"output_tokens": "many"}}, "event[7].usage.output_tokens"),
        (7, lambda e: {**e, "delta": {"stop_reason": 1}}, "event[7].delta.stop_reason"),
        (7, lambda e: {k: v for k, v in e.items() if k != "delta"}, "event[7].delta"),
    ],
)
def test_malformed_input_names_protocol_and_path(position: int, mutate: Any, path: str) -> None:
    stream = _replace_event("text", position, mutate(_event("text", position)))
    with pytest.raises(DecodeError) as info:
        decode(stream)
    assert info.value.protocol == PROTOCOL
    assert info.value.path == path


def test_event_name_stands_in_for_a_missing_type() -> None:
    base, _ = decode(STREAMS["text"])
    assert decode(STREAMS["text"].replace('{"type":"message_start",', "{"))[0] == base
    with pytest.raises(DecodeError) as info:
        decode(STREAMS["text"].replace('event: message_start\ndata: {"type":"message_start",', "data: {"))
    assert info.value.path == "event[0].type"


def test_protocol_order_violations() -> None:
    body = STREAMS["text"]
    first_block = body.index("event: content_block_start")
    with pytest.raises(DecodeError) as info:
        decode(body[first_block:])
    assert info.value.path == "event[0].type"
    with pytest.raises(DecodeError) as info:
        decode(body[:first_block] + body)
    assert info.value.path == "event[1].type"  # a second message_start
    tool = STREAMS["tool_call"]
    with pytest.raises(DecodeError) as info:
        decode(tool.replace('"index":1,"content_block"', '"index":0,"content_block"'))
    assert info.value.path.endswith(".index")


# --------------------------------------------------------------------------- real recorded streams


@pytest.mark.skipif(not FIXTURE_FILES, reason="shared fixtures not available")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_real_fixture_decodes_like_the_sdk(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    # Some SDK fixture files end without the final blank line; the SSE end-of-file rule then
    # drops message_stop (the SDK's own decoder does too), so they read as truncated.
    terminated_strictly = decode(text)[1].terminated
    assert terminated_strictly == text.endswith("\n\n")
    events, decoder = decode(text, flush_partial=True)
    assert decoder.terminated
    response = accumulate(events)
    if isinstance(events[-1], ErrorEvent):
        assert events[-1].type == "overloaded_error" and events[-1].status == 529
        return
    assert response.id.startswith("msg_") and response.model
    assert response.output or response.stop_reason == "refusal"
    message = sdk_final(text if text.endswith("\n\n") else text + "\n\n")
    assert message.id == response.id
    assert "".join(b.text for b in message.content if b.type == "text") == response.text
    assert message.stop_reason == response.raw_stop_reason
    sdk_calls = [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"]
    ours = []
    for call in response.tool_calls:
        try:
            ours.append((call.id, call.name, json.loads(call.arguments)))
        except ValueError:  # cut by max_tokens: the SDK parses the prefix leniently
            ours.append((call.id, call.name, sdk_calls[len(ours)][2]))
    assert sdk_calls == ours
    usage = response.usage
    assert usage is not None
    u = message.usage
    assert usage.input_tokens == u.input_tokens + (u.cache_read_input_tokens or 0) + (
        u.cache_creation_input_tokens or 0
    )
    assert usage.output_tokens == u.output_tokens
    assert len(response.output) == len(message.content)


# --------------------------------------------------------------------------- encoder


@pytest.mark.parametrize("name", COMPLETE)
def test_encoded_stream_is_accepted_by_the_sdk(name: str) -> None:
    events, _ = decode(STREAMS[name])
    losses = LossLog(PROTOCOL)
    text = encode(events, losses)
    assert not losses, [str(x) for x in losses.entries]
    assert_wire_shape(text)
    response = accumulate(events)
    message = sdk_final(text)
    assert_sdk_matches(message, response, response.raw_stop_reason or "")


@pytest.mark.parametrize("name", list(STREAMS))
def test_decode_encode_decode_is_stable(name: str) -> None:
    events, _ = decode(STREAMS[name])
    losses = LossLog(PROTOCOL)
    again, _ = decode(encode(events, losses))
    assert again == events
    assert not losses


def test_encoder_reproduces_the_wire_events() -> None:
    original = wire_events(STREAMS["tool_call"])
    produced = wire_events(encode(decode(STREAMS["tool_call"])[0]))
    # The empty first input_json_delta and the ping carry nothing and are not reproduced.
    expected = [e for e in original if e["type"] != "ping" and e.get("delta", {}).get("partial_json") != ""]
    assert produced == expected


@pytest.mark.skipif(not FIXTURE_FILES, reason="shared fixtures not available")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_real_fixture_reencodes_for_the_sdk(path: Path) -> None:
    events, _ = decode(path.read_text(encoding="utf-8"), flush_partial=True)
    losses = LossLog(PROTOCOL)
    text = encode(events, losses)
    assert_wire_shape(text)
    assert decode(text)[0] == [_without_late_extensions(e) for e in events]
    codes = {x.code for x in losses.entries}
    assert codes <= {"L-EXTENSION", "L-TOOL-ARGS-INVALID-JSON"}
    if isinstance(events[-1], ErrorEvent):
        with pytest.raises(anthropic.APIStatusError):
            sdk_final(text)
        return
    response = accumulate(events)
    assert_sdk_matches(sdk_final(text), response, response.raw_stop_reason or "")


def _without_late_extensions(event: StreamEvent) -> StreamEvent:
    """Start-time tool_use fields (``caller``) cannot be re-sent: ToolCallStarted has no slot for them."""
    if isinstance(event, OutputItemDone) and isinstance(event.item, ToolCallPart) and event.item.extensions:
        item = event.item
        return OutputItemDone(event.index, ToolCallPart(id=item.id, name=item.name, arguments=item.arguments))
    return event


def test_caller_field_is_reported_as_lost() -> None:
    stream = STREAMS["tool_call"].replace('"input":{}}', '"input":{},"caller":{"type":"direct"}}')
    events, _ = decode(stream)
    done = [e for e in events if isinstance(e, OutputItemDone) and isinstance(e.item, ToolCallPart)]
    assert done[0].item is not None and done[0].item.extensions == {PROTOCOL: {"caller": {"type": "direct"}}}
    losses = LossLog(PROTOCOL)
    encode(events, losses)
    assert [(x.code, x.path) for x in losses.entries] == [("L-EXTENSION", "output[1]")]


# --------------------------------------------------------------------------- encoder: other protocols' events

USAGE = Usage(input_tokens=100, output_tokens=20, total_tokens=120, cached_input_tokens=40)


def run(events: List[StreamEvent]) -> Tuple[str, LossLog]:
    losses = LossLog(PROTOCOL)
    text = encode(events, losses)
    assert_wire_shape(text)
    return text, losses


def test_chat_like_text_then_tool_calls() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("chatcmpl-9a8b", "gpt-4o", created=1741476542),
        OutputItemAdded(0, "message"),
        TextDelta(0, ""),
        TextDelta(0, "Checking "),
        TextDelta(0, "both cities."),
        ToolCallStarted(1, "call_abc", "get_weather"),
        ToolCallArgumentsDelta(1, ""),
        ToolCallArgumentsDelta(1, '{"city":'),
        ToolCallArgumentsDelta(1, '"Paris"}'),
        ToolCallStarted(2, "call_def", "get_weather"),
        ToolCallArgumentsDelta(2, '{"city":"Oslo"}'),
        OutputItemDone(0),
        OutputItemDone(1),
        OutputItemDone(2),
        ResponseCompleted("tool_use", "tool_calls"),
        UsageUpdate(USAGE),
    ]
    events = [*events[:-2], events[-1], events[-2]]  # Chat: the usage chunk may precede completion
    text, losses = run(events)
    assert not losses
    message = sdk_final(text)
    assert_sdk_matches(message, accumulate(events), "tool_use")
    assert message.id == "chatcmpl-9a8b" and message.model == "gpt-4o"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (60, 40)


def test_interleaved_tool_arguments_still_complete() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("chatcmpl-2", "gpt-4o"),
        ToolCallStarted(0, "call_a", "f"),
        ToolCallArgumentsDelta(0, '{"a":'),
        ToolCallStarted(1, "call_b", "g"),
        ToolCallArgumentsDelta(1, '{"b":'),
        ToolCallArgumentsDelta(0, "1}"),
        ToolCallArgumentsDelta(1, "2}"),
        ResponseCompleted("tool_use", "tool_calls"),
    ]
    text = encode(events)
    message = sdk_final(text)
    assert [(b.id, b.input) for b in message.content] == [("call_a", {"a": 1}), ("call_b", {"b": 2})]
    # The wire stays valid for a strict reader too: no delta after a block's stop.
    decoded, _ = decode(text)
    calls = [(e.id, e.name) for e in decoded if isinstance(e, ToolCallStarted)]
    assert calls == [("call_a", "f"), ("call_b", "g")]


def test_interleaved_text_opens_a_continuation_block() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("c", "m"),
        TextDelta(0, "Let me "),
        ToolCallStarted(1, "call_a", "f"),
        ToolCallArgumentsDelta(1, "{}"),
        TextDelta(0, "check."),
        ResponseCompleted("tool_use"),
    ]
    text, losses = run(events)
    assert not losses
    message = sdk_final(text)
    assert [b.type for b in message.content] == ["text", "tool_use", "text"]
    assert "".join(b.text for b in message.content if b.type == "text") == "Let me check."


def test_responses_reasoning_summary_becomes_unsigned_thinking() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("resp_1", "gpt-5"),
        OutputItemAdded(0, "reasoning", item_id="rs_1"),
        ReasoningDelta(0, "**Plan** greet", kind="summary", summary_index=0),
        ReasoningDelta(0, "**Then** answer", kind="summary", summary_index=1),
        ReasoningSignatureDelta(0, encrypted_content="gAAAA", source="open_ai_responses"),
        OutputItemDone(
            0,
            ReasoningPart(
                summary=["**Plan** greet", "**Then** answer"],
                encrypted_content="gAAAA",
                id="rs_1",
                source="open_ai_responses",
            ),
        ),
        OutputItemAdded(1, "message", item_id="msg_1"),
        TextDelta(1, "Hello!"),
        OutputItemDone(1),
        ResponseCompleted("end_turn", "completed", usage=USAGE),
    ]
    text, losses = run(events)
    assert sorted(x.code for x in losses.entries) == ["L-REASONING-OPAQUE", "L-REASONING-SUMMARY"]
    message = sdk_final(text)
    thinking, answer = message.content
    assert thinking.type == "thinking" and thinking.thinking == "**Plan** greet\n\n**Then** answer"
    assert thinking.signature == ""  # never forged
    assert answer.text == "Hello!" and message.stop_reason == "end_turn"


def test_chat_reasoning_text_without_signature() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("c3", "qwen3"),
        ReasoningDelta(0, "The user wants"),
        ReasoningDelta(0, " a greeting."),
        TextDelta(1, "Hello!"),
        ResponseCompleted("end_turn", "stop"),
    ]
    text, losses = run(events)
    assert [(x.code, x.path) for x in losses.entries] == [("L-REASONING-OPAQUE", "output[0]")]
    message = sdk_final(text)
    assert message.content[0].thinking == "The user wants a greeting."


def test_encrypted_only_reasoning_is_dropped() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("resp_2", "o4-mini"),
        OutputItemAdded(0, "reasoning"),
        OutputItemDone(0, ReasoningPart(encrypted_content="gAAAA", source="open_ai_responses")),
        OutputItemAdded(1, "message"),
        TextDelta(1, "Done."),
        OutputItemDone(1),
        ResponseCompleted("end_turn", "completed"),
    ]
    text, losses = run(events)
    assert [(x.code, x.path) for x in losses.entries] == [("L-REASONING-OPAQUE", "output[0]")]
    starts = [e for e in wire_events(text) if e["type"] == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [(0, "text")]


def test_refusal_becomes_text_with_refusal_stop_reason() -> None:
    for stop, raw in (("refusal", "stop"), ("end_turn", "stop")):
        events: List[StreamEvent] = [
            ResponseStarted("chatcmpl-r", "gpt-4o"),
            OutputItemAdded(0, "message"),
            RefusalDelta(0, "I'm sorry, "),
            RefusalDelta(0, "I can't help with that."),
            OutputItemDone(0),
            ResponseCompleted(stop, raw),
        ]
        text, losses = run(events)
        assert not losses
        message = sdk_final(text)
        assert_sdk_matches(message, accumulate(events), "refusal")


@pytest.mark.parametrize(
    ("stop", "raw", "wire", "loss"),
    [
        ("end_turn", "stop", "end_turn", None),
        ("max_tokens", "length", "max_tokens", None),
        ("max_tokens", "model_context_window_exceeded", "model_context_window_exceeded", None),
        ("stop_sequence", None, "stop_sequence", None),
        ("tool_use", "tool_calls", "tool_use", None),
        ("pause", "pause_turn", "pause_turn", None),
        ("refusal", None, "refusal", None),
        ("content_filter", "SAFETY", "refusal", "L-FINISH-GRANULARITY"),
        ("error", "failed", "end_turn", "L-FINISH-GRANULARITY"),
        ("other", "OTHER", "end_turn", "L-FINISH-GRANULARITY"),
    ],
)
def test_stop_reason_mapping(stop: str, raw: Optional[str], wire: str, loss: Optional[str]) -> None:
    events: List[StreamEvent] = [ResponseStarted("r", "m"), TextDelta(0, "x"), ResponseCompleted(stop, raw)]
    text, losses = run(events)
    (delta,) = [e for e in wire_events(text) if e["type"] == "message_delta"]
    assert delta["delta"]["stop_reason"] == wire
    assert [x.code for x in losses.entries] == ([loss] if loss else [])
    assert sdk_final(text).stop_reason == wire


def test_gemini_like_whole_items_from_done() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("", "gemini-2.5-flash"),
        UsageUpdate(Usage(input_tokens=30, output_tokens=5)),
        OutputItemDone(0, Message("assistant", [TextPart("Calling the tool.")])),
        OutputItemDone(1, ToolCallPart(id="call_0", name="lookup", arguments='{"q":"x"}', synthetic_id=True)),
        UsageUpdate(Usage(input_tokens=30, output_tokens=12, reasoning_tokens=4)),
        ResponseCompleted("tool_use", "STOP"),
    ]
    text, losses = run(events)
    assert not losses
    message = sdk_final(text)
    assert_sdk_matches(message, accumulate(events), "tool_use")
    assert message.usage.output_tokens_details.thinking_tokens == 4
    start = wire_events(text)[0]
    assert start["message"]["id"] and start["message"]["usage"]["input_tokens"] == 30


def test_opaque_items() -> None:
    foreign = OpaquePart("open_ai_responses", {"type": "web_search_call", "id": "ws_1", "status": "completed"})
    ours = OpaquePart(
        PROTOCOL, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}}
    )
    events: List[StreamEvent] = [
        ResponseStarted("r", "m"),
        OutputItemDone(0, foreign),
        OutputItemDone(1, ours),
        TextDelta(2, "Found it."),
        ResponseCompleted("end_turn"),
    ]
    text, losses = run(events)
    assert [(x.code, x.path) for x in losses.entries] == [("L-OPAQUE", "output[0]")]
    message = sdk_final(text)
    assert [b.type for b in message.content] == ["server_tool_use", "text"]
    assert message.content[0].input == {"query": "q"}


def test_error_event_encoding() -> None:
    for event, wire_type in (
        (ErrorEvent("Overloaded", type="overloaded_error", status=529), "overloaded_error"),
        (ErrorEvent("The server had an error", type="server_error", status=503), "overloaded_error"),
        (ErrorEvent("Rate limit reached", type="rate_limit_exceeded", status=429), "rate_limit_error"),
        (ErrorEvent("boom"), "api_error"),
    ):
        text = encode([ResponseStarted("r", "m"), TextDelta(0, "par"), event, TextDelta(0, "ignored")])
        assert_wire_shape(text[: text.index("event: error")], complete=False)
        last = wire_events(text)[-1]
        assert last == {"type": "error", "error": {"type": wire_type, "message": event.message}}
        with pytest.raises(anthropic.APIStatusError) as info:
            sdk_final(text)
        assert wire_type in str(info.value)


def test_usage_from_other_protocols() -> None:
    usage = Usage(
        input_tokens=500,
        output_tokens=80,
        cached_input_tokens=200,
        cache_creation_input_tokens=100,
        reasoning_tokens=30,
        extensions={"gemini_generate_content": {"toolUsePromptTokenCount": 3}},
    )
    events: List[StreamEvent] = [
        ResponseStarted("r", "m"),
        TextDelta(0, "ok"),
        ResponseCompleted("end_turn", usage=usage),
    ]
    text, losses = run(events)
    assert [(x.code, x.path) for x in losses.entries] == [("L-EXTENSION", "usage")]
    (delta,) = [e for e in wire_events(text) if e["type"] == "message_delta"]
    assert delta["usage"] == {
        "output_tokens": 80,
        "input_tokens": 200,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 200,
        "output_tokens_details": {"thinking_tokens": 30},
    }
    assert_sdk_matches(sdk_final(text), accumulate(events), "end_turn")


def test_no_completion_means_no_message_stop() -> None:
    text = encode([ResponseStarted("r", "m"), TextDelta(0, "cut")])
    types = [e["type"] for e in wire_events(text)]
    assert types == ["message_start", "content_block_start", "content_block_delta"]
    assert encode([ResponseStarted("r", "m")]).startswith("event: message_start\n")


def test_invalid_tool_arguments_are_reported() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("r", "m"),
        ToolCallStarted(0, "call_1", "f"),
        ToolCallArgumentsDelta(0, "[1, 2]"),
        ResponseCompleted("tool_use"),
    ]
    losses = LossLog(PROTOCOL)
    encode(events, losses)
    assert [(x.code, x.path) for x in losses.entries] == [("L-TOOL-ARGS-INVALID-JSON", "output[0].arguments")]


def test_arguments_without_a_started_call_cannot_be_encoded() -> None:
    with pytest.raises(EncodeError) as info:
        encode([ResponseStarted("r", "m"), ToolCallArgumentsDelta(3, "{}")])
    assert info.value.path == "output[3]"


def test_encoder_is_incremental() -> None:
    encoder = StreamEncoder()
    assert encoder.encode(ResponseStarted("r", "m")) == []
    first = encoder.encode(OutputItemAdded(0, "message"))
    assert [json.loads(e.data)["type"] for e in sse_events("".join(first))] == ["message_start", "content_block_start"]
    (delta,) = encoder.encode(TextDelta(0, "Hi"))
    assert json.loads(sse_events(delta)[0].data)["delta"] == {"type": "text_delta", "text": "Hi"}
    (args_start,) = [json.loads(e.data) for e in sse_events("".join(encoder.encode(ToolCallStarted(1, "t", "f"))))][1:]
    assert args_start["content_block"]["type"] == "tool_use"
    assert len(encoder.encode(ToolCallArgumentsDelta(1, '{"a"'))) == 1


# --------------------------------------------------------------------------- non-streaming equivalence


@pytest.mark.parametrize("name", COMPLETE)
def test_accumulated_equals_non_streaming_decode(name: str) -> None:
    codec = pytest.importorskip("omnillm.protocols.anthropic_messages")
    events, _ = decode(STREAMS[name])
    streamed = accumulate(events)
    body = sdk_final(STREAMS[name]).to_dict()  # the SDK's own non-streaming equivalent
    whole = codec.decode_response(body)
    if all(_is_json(c.arguments) for c in streamed.tool_calls):
        # Whole objects but the response-level extensions (docs/architecture.rst).
        assert streamed == dataclasses.replace(whole, extensions=streamed.extensions)
    assert streamed.text == whole.text
    assert streamed.stop_reason == whole.stop_reason
    assert streamed.stop_sequence == whole.stop_sequence
    if all(_is_json(c.arguments) for c in streamed.tool_calls):
        assert [(c.id, c.name, c.arguments) for c in streamed.tool_calls] == [
            (c.id, c.name, c.arguments) for c in whole.tool_calls
        ]
    assert streamed.usage is not None and whole.usage is not None
    for attr in ("input_tokens", "output_tokens", "cached_input_tokens", "cache_creation_input_tokens"):
        assert getattr(streamed.usage, attr) == getattr(whole.usage, attr), attr


# --------------------------------------------------------------------------- property tests


def _paths(value: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _mutate(value: Any, path: Tuple[Any, ...], replacement: Any, delete: bool) -> Any:
    if not path:
        return replacement
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        if delete and not rest:
            copy.pop(head, None)
        else:
            copy[head] = _mutate(value[head], rest, replacement, delete)
        return copy
    copy_list = list(value)
    if delete and not rest:
        copy_list.pop(head)
    else:
        copy_list[head] = _mutate(value[head], rest, replacement, delete)
    return copy_list


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(STREAMS)),
    position=st.integers(min_value=0, max_value=200),
    choice=st.integers(min_value=0, max_value=10_000),
    replacement=JUNK,
    delete=st.booleans(),
)
def test_mutated_streams_raise_only_omnillm_errors(
    name: str, position: int, choice: int, replacement: Any, delete: bool
) -> None:
    raw = sse_events(STREAMS[name])
    position %= len(raw)
    payload = json.loads(raw[position].data)
    paths = _paths(payload)
    path = paths[choice % len(paths)]
    mutated = _mutate(payload, path, replacement, delete and bool(path))
    raw[position] = SSEEvent(event=raw[position].event, data=json.dumps(mutated), id=None, retry=None)
    decoder = StreamDecoder()
    events: List[StreamEvent] = []
    try:
        for sse in raw:
            events.extend(decoder.feed(sse))
        events.extend(decoder.finish())
    except OmniLLMError:
        return
    accumulate(events)
    encode(events)
