"""Bedrock ConverseStream codec: decoder, encoder, and botocore's event-stream client as the judge."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from judge_bedrock_converse import sdk_final, sdk_stream, validate_event, validate_response
from streams_bedrock_converse import STREAMS, event, frame

from omnillm.errors import DecodeError, EncodeError, OmniLLMError, ProviderStreamError, TruncatedStreamError
from omnillm.eventstream import EventStreamDecoder, EventStreamError, EventStreamMessage
from omnillm.model import LlmResponse, Message, OpaquePart, ReasoningPart, TextPart, ToolCallPart, Usage
from omnillm.protocols import bedrock_converse as codec
from omnillm.protocols.bedrock_converse_stream import PROTOCOL, StreamDecoder, StreamEncoder, event_parser
from omnillm.report import LossLog
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
from omnillm.streaming import decode_stream, transcode_stream

botocore = pytest.importorskip("botocore")

COMPLETE = [name for name in STREAMS if name != "error"]
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / PROTOCOL / "streams"
FIXTURE_FILES = sorted(p for p in FIXTURES.glob("*") if not p.name.endswith(".json")) if FIXTURES.is_dir() else []


# --------------------------------------------------------------------------- helpers


def frames(body: bytes) -> List[EventStreamMessage]:
    decoder = event_parser()
    return decoder.feed(body) + decoder.close()


def decode(body: bytes) -> Tuple[List[StreamEvent], StreamDecoder]:
    decoder = StreamDecoder()
    events: List[StreamEvent] = []
    for message in frames(body):
        events.extend(decoder.feed(message))
    events.extend(decoder.finish())
    return events, decoder


def accumulate(events: List[StreamEvent]) -> LlmResponse:
    acc = StreamAccumulator()
    for e in events:
        acc.add(e)
    return acc.response()


def encode(events: List[StreamEvent], losses: Optional[LossLog] = None) -> bytes:
    encoder = StreamEncoder(losses)
    out: List[bytes] = []
    for e in events:
        out.extend(encoder.encode(e))
    out.extend(encoder.finish())
    return b"".join(out)


def run(events: List[StreamEvent]) -> Tuple[bytes, LossLog]:
    losses = LossLog(PROTOCOL)
    return encode(events, losses), losses


def wire(body: bytes) -> List[Tuple[str, Dict[str, Any]]]:
    """(event or exception type, payload) per frame."""
    out = []
    for m in frames(body):
        kind = m.headers.get(":event-type") or m.headers.get(":exception-type")
        assert isinstance(kind, str)
        out.append((kind, json.loads(m.payload)))
    return out


def assert_wire_shape(body: bytes, *, complete: bool = True) -> None:
    """Every frame is a ConverseStream event botocore's model accepts, in Bedrock's order."""
    events = wire(body)
    for kind, payload in events:
        validate_event(kind, payload)
    kinds = [k for k, _ in events]
    assert kinds[0] == "messageStart" and kinds.count("messageStart") == 1
    started, stopped = set(), set()
    for kind, payload in events:
        if kind in ("contentBlockStart", "contentBlockDelta"):
            assert payload["contentBlockIndex"] not in stopped
            started.add(payload["contentBlockIndex"])
        elif kind == "contentBlockStop":
            assert payload["contentBlockIndex"] in started and payload["contentBlockIndex"] not in stopped
            stopped.add(payload["contentBlockIndex"])
    assert sorted(started) == list(range(len(started))), "block indices are 0..n"
    if complete:
        assert kinds[-2:] == ["messageStop", "metadata"] and started == stopped


def canonical_summary(response: LlmResponse) -> Dict[str, Any]:
    return {
        "text": response.text,
        "calls": [(c.id, c.name, json.loads(c.arguments)) for c in response.tool_calls if _is_json(c.arguments)],
        "reasoning": [r.text for r in response.reasoning if not r.redacted],
    }


def sdk_summary(final: Dict[str, Any]) -> Dict[str, Any]:
    content = final["content"]
    return {
        "text": "".join(b.get("text", "") for b in content),
        "calls": [
            (b["toolUse"]["toolUseId"], b["toolUse"]["name"], b["toolUse"]["input"])
            for b in content
            if "toolUse" in b and not isinstance(b["toolUse"]["input"], str)
        ],
        "reasoning": [
            b["reasoningContent"].get("text", "")
            for b in content
            if "reasoningContent" in b and "redactedContent" not in b["reasoningContent"]
        ],
    }


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def assert_sdk_matches(body: bytes, response: LlmResponse, stop: str) -> Dict[str, Any]:
    final = sdk_final(sdk_stream(body))
    assert sdk_summary(final) == canonical_summary(response)
    assert final["stopReason"] == stop
    if response.usage is not None:
        usage = final["usage"]
        total_in = usage["inputTokens"] + usage.get("cacheReadInputTokens", 0) + usage.get("cacheWriteInputTokens", 0)
        assert total_in == response.usage.input_tokens
        assert usage["outputTokens"] == response.usage.output_tokens
    return final


# --------------------------------------------------------------------------- decoder


def test_corpus_has_the_required_streams() -> None:
    assert {"text", "tool_call", "parallel_tool_calls", "reasoning", "usage", "error"} <= set(STREAMS)


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_botocore_reads_the_corpus_as_we_do(name: str) -> None:
    buffer = botocore.eventstream.EventStreamBuffer()
    buffer.add_data(STREAMS[name])
    assert [(m.headers, m.payload) for m in buffer] == [(m.headers, m.payload) for m in frames(STREAMS[name])]
    if name == "error":
        with pytest.raises(botocore.exceptions.EventStreamError):
            sdk_stream(STREAMS[name])
        return
    events, _ = decode(STREAMS[name])
    response = accumulate(events)
    assert_sdk_matches(STREAMS[name], response, str(response.raw_stop_reason))


@pytest.mark.parametrize("name", COMPLETE)
def test_decoded_event_order(name: str) -> None:
    events, decoder = decode(STREAMS[name])
    assert decoder.terminated
    assert isinstance(events[0], ResponseStarted)
    assert isinstance(events[-2], UsageUpdate) and isinstance(events[-1], ResponseCompleted)
    opened, closed = set(), set()
    for e in events[1:-2]:
        assert not isinstance(e, (ResponseStarted, ResponseCompleted, ErrorEvent, UsageUpdate))
        if isinstance(e, (OutputItemAdded, ToolCallStarted)):
            assert e.index not in opened and e.index == len(opened | closed)
            opened.add(e.index)
        elif isinstance(e, OutputItemDone):
            assert e.index not in closed
            closed.add(e.index)
        else:
            assert e.index in opened and e.index not in closed  # type: ignore[union-attr]
    assert opened == closed


def test_text_events() -> None:
    events, _ = decode(STREAMS["text"])
    usage = Usage(
        input_tokens=14,
        output_tokens=15,
        total_tokens=29,
        extensions={PROTOCOL: {"metrics": {"latencyMs": 310}}},
    )
    assert events == [
        ResponseStarted(id="", model=""),
        OutputItemAdded(0, "message"),
        TextDelta(0, "Bonjour"),
        TextDelta(0, " ! Comment puis-je"),
        TextDelta(0, " vous aider aujourd'hui ?"),
        OutputItemDone(0),
        UsageUpdate(usage),
        ResponseCompleted("end_turn", "end_turn", None, usage),
    ]


def test_tool_call_arguments_stream_and_normalise() -> None:
    events, _ = decode(STREAMS["tool_call"])
    assert [e.delta for e in events if isinstance(e, ToolCallArgumentsDelta)] == [
        '{"city": "Pa',
        'ris", "unit',
        '": "celsius"}',
    ]
    response = accumulate(events)
    (call,) = response.tool_calls
    assert (call.id, call.name) == ("tooluse_T1x1fJ34qAmk2tNTrN7Up6", "get_weather")
    assert call.arguments == '{"city":"Paris","unit":"celsius"}'  # as the non-streaming codec writes it
    assert [type(i) for i in response.output] == [Message, ToolCallPart]
    assert response.stop_reason == "tool_use"


def test_parallel_tool_calls() -> None:
    response = accumulate(decode(STREAMS["parallel_tool_calls"])[0])
    assert [(c.name, json.loads(c.arguments)) for c in response.tool_calls] == [
        ("get_weather", {"city": "Paris", "unit": "celsius"}),
        ("get_weather", {"city": "Tokyo", "unit": "fahrenheit"}),
        ("get_time", {"timezone": "Asia/Tokyo", "format": {"hour12": False, "seconds": True}}),
    ]
    assert response.usage is not None and (response.usage.input_tokens, response.usage.output_tokens) == (610, 171)


def test_reasoning_signed_and_redacted() -> None:
    events, _ = decode(STREAMS["reasoning"])
    response = accumulate(events)
    signed, redacted = response.reasoning
    assert signed.text == "The user asks for 27 * 453. 27 * 453 = 27 * 400 + 27 * 53 = 10800 + 1431 = 12231."
    assert (signed.signature, signed.source) == ("EqQBCkgIARABGAIiQJsig0003", PROTOCOL)
    assert redacted.redacted and redacted.text is None and redacted.source == PROTOCOL
    assert base64.b64decode(redacted.encrypted_content or "") == b"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlx"
    assert response.text == "27 x 453 = **12,231**"
    assert [e.kind for e in events if isinstance(e, OutputItemAdded)] == ["reasoning", "reasoning", "message"]


def test_usage_is_normalised() -> None:
    usage = accumulate(decode(STREAMS["usage"])[0]).usage
    assert usage is not None
    assert (usage.input_tokens, usage.cached_input_tokens, usage.cache_creation_input_tokens) == (
        21 + 1830 + 412,
        1830,
        412,
    )


def test_stop_sequence_and_guardrail() -> None:
    response = accumulate(decode(STREAMS["stop_sequence"])[0])
    assert (response.stop_reason, response.stop_sequence) == ("stop_sequence", "3.")
    guardrail = accumulate(decode(STREAMS["guardrail"])[0])
    assert (guardrail.stop_reason, guardrail.raw_stop_reason) == ("content_filter", "guardrail_intervened")


def test_unstopped_block_is_closed_by_message_stop() -> None:
    events, decoder = decode(STREAMS["max_tokens_tool"])
    assert decoder.terminated
    (call,) = accumulate(events).tool_calls
    assert call.arguments == '{"path": "notes.md", "content": "# Notes\\n\\nFirst'  # incomplete: kept as received
    assert accumulate(events).stop_reason == "max_tokens"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("end_turn", "end_turn"),
        ("tool_use", "tool_use"),
        ("max_tokens", "max_tokens"),
        ("stop_sequence", "stop_sequence"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("malformed_tool_use", "error"),
        ("model_context_window_exceeded", "max_tokens"),
    ],
)
def test_every_stop_reason(raw: str, canonical: str) -> None:
    def stop_with(events: List[Tuple[str, Dict[str, Any]]]) -> List[Tuple[str, Dict[str, Any]]]:
        return [(k, {"stopReason": raw} if k == "messageStop" else p) for k, p in events]

    response = accumulate(decode(_reframe(STREAMS["text"], stop_with))[0])
    assert (response.stop_reason, response.raw_stop_reason) == (canonical, raw)


def _reframe(body: bytes, edit: Any) -> bytes:
    """Re-frame a corpus stream after editing its list of (type, payload) events."""
    events = edit(wire(body))
    return b"".join(event(k, p) for k, p in events)


def test_unknown_events_fields_and_empty_starts_are_tolerated() -> None:
    base, _ = decode(STREAMS["text"])

    def noisy(events: List[Tuple[str, Dict[str, Any]]]) -> List[Tuple[str, Dict[str, Any]]]:
        out: List[Tuple[str, Dict[str, Any]]] = [
            events[0],
            ("contentBlockStart", {"contentBlockIndex": 0, "start": {}}),
        ]
        for kind, payload in events[1:]:
            out.append((kind, {**payload, "p": "abcdefghij"}))  # random padding some deployments add
        out.insert(3, ("hologramDelta", {"frames": 3}))
        return out

    assert decode(_reframe(STREAMS["text"], noisy))[0] == base
    with_message = STREAMS["text"] + frame([(":message-type", "telemetry")], b"\x00")
    assert decode(with_message)[0] == base  # messages after the terminal event are ignored


def test_citation_deltas_are_kept_like_citations_content() -> None:
    citation = {
        "title": "Report",
        "sourceContent": [{"text": "12%"}],
        "location": {"documentPage": {"documentIndex": 0, "start": 1, "end": 2}},
    }

    def cite(events: List[Tuple[str, Dict[str, Any]]]) -> List[Tuple[str, Dict[str, Any]]]:
        events.insert(2, ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"citation": citation}}))
        return events

    response = accumulate(decode(_reframe(STREAMS["text"], cite))[0])
    (message,) = response.output
    assert isinstance(message, Message) and message.content[0].extensions[PROTOCOL] == {"citations": [citation]}
    body = codec.encode_response(response)
    block = body["output"]["message"]["content"][0]
    assert block["citationsContent"]["citations"] == [citation]
    validate_response(body)


def test_blocks_without_canonical_meaning_are_opaque_and_re_encode() -> None:
    def add_image(events: List[Tuple[str, Dict[str, Any]]]) -> List[Tuple[str, Dict[str, Any]]]:
        start = ("contentBlockStart", {"contentBlockIndex": 1, "start": {"image": {"format": "png"}}})
        delta = ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"image": {"source": {"bytes": "iVBO"}}}})
        return [*events[:-2], start, delta, ("contentBlockStop", {"contentBlockIndex": 1}), *events[-2:]]

    body = _reframe(STREAMS["text"], add_image)
    events, _ = decode(body)
    opaque = accumulate(events).output[1]
    assert isinstance(opaque, OpaquePart) and opaque.data["start"] == {"image": {"format": "png"}}
    again, losses = run(events)
    assert not losses
    assert accumulate(decode(again)[0]) == accumulate(events)


# --------------------------------------------------------------------------- errors and truncation


def test_exception_event() -> None:
    events, decoder = decode(STREAMS["error"])
    assert decoder.terminated
    assert events[-1] == ErrorEvent(
        message="Too many tokens, please wait before trying again.", type="throttlingException", status=429
    )
    with pytest.raises(ProviderStreamError) as info:
        list(decode_stream([STREAMS["error"]], PROTOCOL))
    assert (info.value.error_type, info.value.status) == ("throttlingException", 429)
    assert info.value.partial is not None and info.value.partial.text == "Once upon"


def test_error_message_type_and_odd_exception_payloads() -> None:
    start = event("messageStart", {"role": "assistant"})
    error = frame([(":message-type", "error"), (":error-code", "InternalFailure"), (":error-message", "boom")], b"")
    assert decode(start + error)[0][-1] == ErrorEvent(message="boom", code="InternalFailure")
    odd = frame([(":message-type", "exception"), (":exception-type", "modelStreamErrorException")], b"not json")
    assert decode(start + odd)[0][-1] == ErrorEvent(
        message="modelStreamErrorException", type="modelStreamErrorException", status=424
    )


@pytest.mark.parametrize("name", COMPLETE)
def test_truncated_at_every_message_boundary(name: str) -> None:
    messages = frames(STREAMS[name])
    for cut in range(len(messages)):
        decoder = StreamDecoder()
        for m in messages[:cut]:
            decoder.feed(m)
        assert not decoder.terminated, f"cut after {cut} messages"
    body = STREAMS[name]
    last = len(body) - len(event(*wire(body)[-1]))
    with pytest.raises(TruncatedStreamError) as info:
        list(decode_stream([body[:last]], PROTOCOL))  # ends after messageStop, without metadata
    assert info.value.partial is not None and info.value.partial.text == accumulate(decode(body)[0]).text


def test_cut_inside_a_frame_is_truncation_and_corruption_is_an_error() -> None:
    body = STREAMS["tool_call"]
    for cut in (5, 40, len(body) // 2, len(body) - 1):
        with pytest.raises(TruncatedStreamError) as info:
            list(decode_stream([body[:cut]], PROTOCOL))
        assert "ended inside message" in str(info.value) and info.value.partial is not None
    damaged = bytearray(body)
    damaged[len(body) // 2] ^= 0x10
    # Corrupt bytes are unreadable input, a DecodeError naming the protocol (the gateway
    # counts it against the key and fails over, as for malformed JSON in a text stream).
    with pytest.raises(DecodeError) as error:
        list(decode_stream([bytes(damaged)], PROTOCOL))
    assert "CRC mismatch" in str(error.value) and error.value.protocol == PROTOCOL
    assert isinstance(error.value.__cause__, EventStreamError)
    with pytest.raises(DecodeError):
        list(decode_stream(["data: {}\n\n"], PROTOCOL))  # SSE text is not this format's framing


def _edit(name: str, position: int, payload: Any) -> bytes:
    events = wire(STREAMS[name])
    kind, _ = events[position]
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    framed = [event(k, p) for k, p in events]
    framed[position] = frame(
        [(":event-type", kind), (":content-type", "application/json"), (":message-type", "event")], raw
    )
    return b"".join(framed)


@pytest.mark.parametrize(
    ("position", "payload", "path"),
    [
        (0, b"{not json", "event[0]"),
        (0, b"\xff", "event[0]"),
        (0, [1], "event[0]"),
        (0, {"role": "user"}, "event[0].role"),
        (1, {"contentBlockIndex": "0", "delta": {"text": "x"}}, "event[1].contentBlockIndex"),
        (1, {"contentBlockIndex": -1, "delta": {"text": "x"}}, "event[1].contentBlockIndex"),
        (1, {"contentBlockIndex": 0}, "event[1].delta"),
        (1, {"contentBlockIndex": 0, "delta": {"text": "a", "toolUse": {}}}, "event[1].delta"),
        (1, {"contentBlockIndex": 0, "delta": {"text": None}}, "event[1].delta.text"),
        (1, {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{"}}}, "event[1].delta"),
        (2, {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "x"}}}, "event[2].delta.reasoningContent"),
        (
            2,
            {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "x", "signature": "s"}}},
            "event[2].delta.reasoningContent",
        ),
        (4, {"contentBlockIndex": 7}, "event[4].contentBlockIndex"),
        (5, {}, "event[5].stopReason"),
        (6, {"metrics": {"latencyMs": 1}}, "event[6].usage"),
        (6, {"usage": {"inputTokens": "many", "outputTokens": 1}}, "event[6].usage.inputTokens"),
        (
            6,
            {"usage": {"inputTokens": 1, "outputTokens": 1}, "metrics": {"latencyMs": "x"}},
            "event[6].metrics.latencyMs",
        ),
    ],
)
def test_malformed_payloads_name_protocol_and_path(position: int, payload: Any, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(_edit("text", position, payload))
    assert info.value.protocol == PROTOCOL and info.value.path == path


def test_protocol_order_and_header_violations() -> None:
    body = STREAMS["text"]
    first = len(event("messageStart", {"role": "assistant"}))
    with pytest.raises(DecodeError) as info:
        decode(body[first:])
    assert info.value.path == "event[0].headers.:event-type"  # a delta before messageStart
    with pytest.raises(DecodeError) as info:
        decode(body[:first] + body)
    assert info.value.path == "event[1].headers.:event-type"  # a second messageStart
    events = wire(body)
    early = b"".join(event(k, p) for k, p in [events[0], events[-1]])
    with pytest.raises(DecodeError) as info:
        decode(early)
    assert info.value.path == "event[1].headers.:event-type"  # metadata before messageStop
    with pytest.raises(DecodeError) as info:
        decode(frame([(":event-type", "messageStart")], b"{}"))
    assert info.value.path == "event[0].headers.:message-type"
    with pytest.raises(DecodeError) as info:
        decode(frame([(":message-type", "event")], b"{}"))
    assert info.value.path == "event[0].headers.:event-type"
    tool = wire(STREAMS["tool_call"])
    doubled = b"".join(event(k, p) for k, p in [*tool[:4], tool[3], *tool[4:]])
    with pytest.raises(DecodeError) as info:
        decode(doubled)
    assert info.value.path == "event[4].contentBlockIndex"  # the tool block started twice


@pytest.mark.skipif(not FIXTURE_FILES, reason="no recorded ConverseStream bodies in the shared fixtures")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_real_fixture_decodes_like_botocore(path: Path) -> None:
    body = path.read_bytes()
    events, decoder = decode(body)
    response = accumulate(events)
    if isinstance(events[-1], ErrorEvent):
        with pytest.raises(botocore.exceptions.EventStreamError):
            sdk_stream(body)
        return
    assert decoder.terminated
    assert_sdk_matches(body, response, str(response.raw_stop_reason))


# --------------------------------------------------------------------------- encoder


@pytest.mark.parametrize("name", COMPLETE)
def test_decode_encode_decode_is_identity_and_botocore_agrees(name: str) -> None:
    events, _ = decode(STREAMS[name])
    body, losses = run(events)
    assert not losses, [str(x) for x in losses.entries]
    assert_wire_shape(body)
    again, _ = decode(body)
    assert accumulate(again) == accumulate(events)
    response = accumulate(events)
    assert_sdk_matches(body, response, str(response.raw_stop_reason))


def test_chat_like_interleaved_tool_arguments() -> None:
    usage = Usage(input_tokens=100, output_tokens=20, cached_input_tokens=40)
    events: List[StreamEvent] = [
        ResponseStarted("chatcmpl-9a8b", "gpt-4o", created=1741476542),
        ToolCallStarted(0, "call_abc", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city":'),
        ToolCallStarted(1, "call/def", "get_weather"),
        ToolCallArgumentsDelta(1, '{"city":"Oslo"}'),
        ToolCallArgumentsDelta(0, '"Paris"}'),
        OutputItemDone(0),
        OutputItemDone(1),
        UsageUpdate(usage),
        ResponseCompleted("tool_use", "tool_calls"),
    ]
    body, losses = run(events)
    assert sorted(x.code for x in losses.entries) == [
        "L-CREATED",
        "L-RESPONSE-ID",
        "L-RESPONSE-MODEL",
        "L-TOOL-ID-REWRITE",
    ]
    assert_wire_shape(body)
    final = sdk_final(sdk_stream(body))
    calls = [b["toolUse"] for b in final["content"]]
    assert [(c["name"], c["input"]) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Oslo"}),
    ]
    assert calls[1]["toolUseId"] == codec.wire_tool_id("call/def")
    assert final["usage"] == {"inputTokens": 60, "outputTokens": 20, "totalTokens": 120, "cacheReadInputTokens": 40}


def test_gemini_like_whole_items_from_done() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("", ""),
        OutputItemDone(0, Message("assistant", [TextPart("Calling the tool.")])),
        OutputItemDone(1, ToolCallPart(id="call_0", name="lookup", arguments='{"q":"x"}', synthetic_id=True)),
        UsageUpdate(Usage(input_tokens=30, output_tokens=12, reasoning_tokens=4)),
        ResponseCompleted("tool_use", "STOP"),
    ]
    body, losses = run(events)
    assert sorted(x.code for x in losses.entries) == ["L-TOOL-ID-SYNTH", "L-USAGE-REASONING"]
    assert_wire_shape(body)
    assert_sdk_matches(body, accumulate(events), "tool_use")


def test_responses_reasoning_summary_with_encrypted_content() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("", ""),
        OutputItemAdded(0, "reasoning", item_id="rs_1"),
        ReasoningDelta(0, "**Plan** greet", kind="summary", summary_index=0),
        ReasoningDelta(0, "**Then** answer", kind="summary", summary_index=1),
        ReasoningSignatureDelta(0, encrypted_content="gAAAA", source="open_ai_responses"),
        OutputItemDone(
            0,
            ReasoningPart(
                summary=["**Plan** greet", "**Then** answer"], encrypted_content="gAAAA", source="open_ai_responses"
            ),
        ),
        OutputItemAdded(1, "message"),
        TextDelta(1, "Hello!"),
        OutputItemDone(1),
        ResponseCompleted("end_turn", "completed"),
    ]
    body, losses = run(events)
    assert sorted(x.code for x in losses.entries) == ["L-REASONING-OPAQUE", "L-REASONING-SUMMARY"]
    assert "gAAAA" not in body.decode("latin-1")
    final = sdk_final(sdk_stream(body))
    assert final["content"][0] == {"reasoningContent": {"text": "**Plan** greet\n\n**Then** answer"}}
    assert final["content"][1] == {"text": "Hello!"}


def test_own_reasoning_from_done_only() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("", ""),
        OutputItemDone(0, ReasoningPart(text="think", signature="SIG", source=PROTOCOL)),
        OutputItemDone(1, ReasoningPart(encrypted_content="UkVEQUNURUQ=", redacted=True, source=PROTOCOL)),
        TextDelta(2, "ok"),
        ResponseCompleted("end_turn"),
    ]
    body, losses = run(events)
    assert not losses
    final = sdk_final(sdk_stream(body))
    assert final["content"][0] == {"reasoningContent": {"text": "think", "signature": "SIG"}}
    assert final["content"][1] == {"reasoningContent": {"redactedContent": b"REDACTED"}}
    assert accumulate(decode(body)[0]).reasoning[1].redacted


def test_refusal_becomes_text() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("", ""),
        RefusalDelta(0, "I can't "),
        RefusalDelta(0, "help with that."),
        OutputItemDone(0),
        ResponseCompleted("refusal", "stop"),
    ]
    body, losses = run(events)
    assert sorted(x.code for x in losses.entries) == ["L-FINISH-GRANULARITY", "L-REFUSAL-PART"]
    final = sdk_final(sdk_stream(body))
    assert final["content"] == [{"text": "I can't help with that."}] and final["stopReason"] == "content_filtered"


@pytest.mark.parametrize(
    ("stop", "raw", "expected", "loss"),
    [
        ("end_turn", "stop", "end_turn", None),
        ("max_tokens", "length", "max_tokens", None),
        ("max_tokens", "model_context_window_exceeded", "model_context_window_exceeded", None),
        ("stop_sequence", None, "stop_sequence", None),
        ("tool_use", "tool_calls", "tool_use", None),
        ("content_filter", "SAFETY", "content_filtered", None),
        ("pause", "pause_turn", "end_turn", "L-FINISH-PAUSE"),
        ("error", "failed", "end_turn", "L-FINISH-GRANULARITY"),
    ],
)
def test_stop_reason_mapping(stop: str, raw: Optional[str], expected: str, loss: Optional[str]) -> None:
    body, losses = run([ResponseStarted("", ""), TextDelta(0, "x"), ResponseCompleted(stop, raw)])
    assert dict(wire(body))["messageStop"]["stopReason"] == expected
    assert [x.code for x in losses.entries] == ([loss] if loss else [])
    assert sdk_final(sdk_stream(body))["stopReason"] == expected


def test_stop_sequence_and_foreign_usage() -> None:
    usage = Usage(input_tokens=5, output_tokens=2, extensions={"anthropic_messages": {"service_tier": "standard"}})
    body, losses = run(
        [
            ResponseStarted("", ""),
            TextDelta(0, "1. "),
            ResponseCompleted("stop_sequence", usage=usage, stop_sequence="2."),
        ]
    )
    assert dict(wire(body))["messageStop"] == {
        "stopReason": "stop_sequence",
        "additionalModelResponseFields": {"stop_sequence": "2."},
    }
    assert [(x.code, x.path) for x in losses.entries] == [("L-EXTENSION", "usage")]
    assert accumulate(decode(body)[0]).stop_sequence == "2."


@pytest.mark.parametrize(
    ("error", "wire_type"),
    [
        (ErrorEvent("Overloaded", type="overloaded_error", status=529), "serviceUnavailableException"),
        (ErrorEvent("Rate limit reached", type="rate_limit_exceeded", status=429), "throttlingException"),
        (ErrorEvent("bad", type="validationException", status=400), "validationException"),
        (ErrorEvent("boom"), "internalServerException"),
    ],
)
def test_error_event_encoding(error: ErrorEvent, wire_type: str) -> None:
    body = encode([ResponseStarted("", ""), TextDelta(0, "par"), error, TextDelta(0, "ignored")])
    kind, payload = wire(body)[-1]
    assert (kind, payload) == (wire_type, {"message": error.message})
    validate_event(kind, payload)
    with pytest.raises(botocore.exceptions.EventStreamError) as info:
        sdk_stream(body)
    assert wire_type in str(info.value) and error.message in str(info.value)
    with pytest.raises(ProviderStreamError) as decoded:
        list(decode_stream([body], PROTOCOL))
    assert decoded.value.error_type == wire_type and decoded.value.partial is not None


def test_no_completion_means_no_metadata() -> None:
    body = encode([ResponseStarted("r", "m"), TextDelta(0, "cut")])
    assert [k for k, _ in wire(body)] == ["messageStart", "contentBlockDelta"]
    assert [k for k, _ in wire(encode([]))] == ["messageStart"]


def test_invalid_and_early_tool_arguments() -> None:
    losses = LossLog(PROTOCOL)
    encode(
        [
            ResponseStarted("", ""),
            ToolCallStarted(0, "c", "f"),
            ToolCallArgumentsDelta(0, "[1, 2"),
            ResponseCompleted("tool_use"),
        ],
        losses,
    )
    assert [(x.code, x.path) for x in losses.entries] == [("L-TOOL-ARGS-INVALID-JSON", "output[0].arguments")]
    cut = LossLog(PROTOCOL)
    encode([ToolCallStarted(0, "c", "f"), ToolCallArgumentsDelta(0, '{"a'), ResponseCompleted("max_tokens")], cut)
    assert not cut.entries  # max_tokens explains the cut
    with pytest.raises(EncodeError) as info:
        encode([ResponseStarted("", ""), ToolCallArgumentsDelta(3, "{}")])
    assert info.value.path == "output[3]"


def test_foreign_opaque_items_and_extensions_are_reported() -> None:
    cited = Message("assistant", [TextPart("x", extensions={"anthropic_messages": {"citations": [{"a": 1}]}})])
    events: List[StreamEvent] = [
        ResponseStarted("", ""),
        OutputItemAdded(0, "message"),
        TextDelta(0, "x"),
        OutputItemDone(0, cited),
        OutputItemDone(1, OpaquePart("anthropic_messages", {"type": "web_search_tool_result"})),
        ResponseCompleted("end_turn"),
    ]
    _, losses = run(events)
    assert [(x.code, x.path) for x in losses.entries] == [
        ("L-CITATIONS", "output[0].content[0]"),
        ("L-OPAQUE", "output[1]"),
    ]


def test_encoder_is_incremental() -> None:
    encoder = StreamEncoder()
    (start,) = encoder.encode(ResponseStarted("", ""))
    assert wire(start) == [("messageStart", {"role": "assistant"})]
    assert encoder.encode(OutputItemAdded(0, "message")) == []
    (delta,) = encoder.encode(TextDelta(0, "Hi"))
    assert wire(delta) == [("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}})]
    (tool_start,) = encoder.encode(ToolCallStarted(1, "t", "f"))
    assert wire(tool_start)[0][1]["start"] == {"toolUse": {"toolUseId": "t", "name": "f"}}
    assert all(isinstance(f, bytes) for f in encoder.encode(ResponseCompleted("tool_use")))


# --------------------------------------------------------------------------- drivers and equivalence


def test_transcode_stream_switches_framing() -> None:
    anthropic_sse = "".join(transcode_stream([STREAMS["tool_call"]], PROTOCOL, "anthropic_messages"))  # type: ignore[arg-type]
    assert anthropic_sse.startswith("event: message_start\n")
    back = b"".join(transcode_stream([anthropic_sse.encode()], "anthropic_messages", PROTOCOL))  # type: ignore[arg-type]
    assert_wire_shape(back)
    original = accumulate(decode(STREAMS["tool_call"])[0])
    assert canonical_summary(accumulate(decode(back)[0])) == canonical_summary(original)


def _sdk_body(final: Dict[str, Any]) -> Dict[str, Any]:
    """botocore's assembled stream as a Converse response body (blobs as base64 again)."""
    content = []
    for block in final["content"]:
        if "reasoningContent" in block:
            reasoning = block["reasoningContent"]
            if "redactedContent" in reasoning:
                content.append(
                    {"reasoningContent": {"redactedContent": base64.b64encode(reasoning["redactedContent"]).decode()}}
                )
            else:
                content.append({"reasoningContent": {"reasoningText": reasoning}})
        else:
            content.append(block)
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": final["stopReason"],
        "usage": final["usage"],
        "metrics": {"latencyMs": 0},
    }


@pytest.mark.parametrize("name", [n for n in COMPLETE if n != "max_tokens_tool"])
def test_accumulated_equals_non_streaming_decode(name: str) -> None:
    streamed = accumulate(decode(STREAMS[name])[0])
    body = _sdk_body(sdk_final(sdk_stream(STREAMS[name])))
    validate_response(body)
    whole = codec.decode_response(body)
    assert streamed.text == whole.text
    assert (streamed.stop_reason, streamed.raw_stop_reason) == (whole.stop_reason, whole.raw_stop_reason)
    assert [(c.id, c.name, c.arguments) for c in streamed.tool_calls] == [
        (c.id, c.name, c.arguments) for c in whole.tool_calls
    ]
    assert [(r.text, r.signature, r.encrypted_content, r.redacted) for r in streamed.reasoning] == [
        (r.text, r.signature, r.encrypted_content, r.redacted) for r in whole.reasoning
    ]
    assert streamed.usage is not None and whole.usage is not None
    for attr in ("input_tokens", "output_tokens", "total_tokens", "cached_input_tokens", "cache_creation_input_tokens"):
        assert getattr(streamed.usage, attr) == getattr(whole.usage, attr), attr


# --------------------------------------------------------------------------- property tests


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(STREAMS)), cuts=st.lists(st.integers(0, 4000), max_size=12))
def test_rechunking_gives_identical_events(name: str, cuts: List[int]) -> None:
    body = STREAMS[name]
    points = sorted({c % (len(body) + 1) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)])]
    reference: List[StreamEvent] = []
    got: List[StreamEvent] = []
    for target, pieces in ((reference, [body]), (got, chunks)):
        with contextlib.suppress(ProviderStreamError):
            target.extend(decode_stream(pieces, PROTOCOL))
    assert got == reference


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
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    if delete and not rest:
        copy.pop(head)
    else:
        copy[head] = _mutate(value[head], rest, replacement, delete)
    return copy


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
    events = wire(STREAMS[name])
    position %= len(events)
    kind, payload = events[position]
    paths = _paths(payload)
    path = paths[choice % len(paths)]
    events[position] = (kind, _mutate(payload, path, replacement, delete and bool(path)))
    body = b"".join(event(k, p) for k, p in events)
    decoder = StreamDecoder()
    decoded: List[StreamEvent] = []
    try:
        for m in frames(body):
            decoded.extend(decoder.feed(m))
    except OmniLLMError:
        return
    accumulate(decoded)
    with contextlib.suppress(EncodeError):
        encode(decoded)
    codec.encode_response(accumulate(decoded))


def test_decoder_input_is_the_event_stream_framing() -> None:
    assert isinstance(event_parser(), EventStreamDecoder)
