"""OpenAI Responses streaming codec: decoder, encoder, and the official SDK as the judge."""

from __future__ import annotations

import dataclasses
import importlib
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdk_server import serve
from streams_open_ai_responses import ENCRYPTED, STREAMS

from omnillm.errors import DecodeError, EncodeError, OmniLLMError, ProviderStreamError, TruncatedStreamError
from omnillm.model import LlmResponse, Message, OpaquePart, ReasoningPart, RefusalPart, TextPart, ToolCallPart, Usage
from omnillm.protocols.open_ai_responses_stream import PROTOCOL, StreamDecoder, StreamEncoder
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
from omnillm.streaming import decode_stream, transcode_stream

openai = pytest.importorskip("openai")

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / PROTOCOL / "streams"
FIXTURE_FILES = sorted(FIXTURES.glob("*.sse")) if FIXTURES.is_dir() else []
COMPLETE = [name for name in STREAMS if name not in ("error", "failed")]
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


# --------------------------------------------------------------------------- helpers


def sse_events(text: str) -> List[SSEEvent]:
    parser = SSEParser()
    return parser.feed(text) + parser.close()


def decode(text: str) -> Tuple[List[StreamEvent], StreamDecoder]:
    decoder = StreamDecoder()
    events: List[StreamEvent] = []
    for sse in sse_events(text):
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
    """The SDK's accumulated response: `get_final_response`, or the incomplete/failed event's response."""
    with serve(text) as server:
        client = openai.OpenAI(api_key="x", base_url=server.base_url + "/v1", max_retries=0)
        with client.responses.stream(model="gpt-5", input="hi") as stream:
            last = None
            for event in stream:
                last = event
            if last is not None and last.type in ("response.incomplete", "response.failed"):
                return last.response
            return stream.get_final_response()


def canonical_text(response: LlmResponse) -> str:
    return "".join(
        p.text for i in response.output if isinstance(i, Message) for p in i.content if isinstance(p, TextPart)
    )


def assert_sdk_matches(final: Any, response: LlmResponse) -> None:
    """The SDK's final response carries the canonical response's text, calls, stop reason and usage."""
    texts = [c.text for o in final.output if o.type == "message" for c in o.content if c.type == "output_text"]
    assert "".join(texts) == canonical_text(response)
    refusals = [c.refusal for o in final.output if o.type == "message" for c in o.content if c.type == "refusal"]
    assert ("".join(refusals) or None) == response.refusal
    calls = [(o.call_id, o.name, o.arguments) for o in final.output if o.type == "function_call"]
    assert calls == [(c.id, c.name, c.arguments) for c in response.tool_calls]
    expected_status = {"max_tokens": "incomplete", "content_filter": "incomplete", "error": "failed"}
    assert final.status == expected_status.get(response.stop_reason, "completed")
    if response.stop_reason == "max_tokens":
        assert final.incomplete_details.reason == "max_output_tokens"
    if response.usage is None:
        assert final.usage is None
    else:
        u = final.usage
        assert (u.input_tokens, u.output_tokens, u.total_tokens) == (
            response.usage.input_tokens,
            response.usage.output_tokens,
            response.usage.total,
        )
        assert u.input_tokens_details.cached_tokens == (response.usage.cached_input_tokens or 0)
        assert u.input_tokens_details.cache_write_tokens == (response.usage.cache_creation_input_tokens or 0)
        assert u.output_tokens_details.reasoning_tokens == (response.usage.reasoning_tokens or 0)


def assert_wire_shape(text: str) -> None:
    """Every event validates as the SDK's event type; numbering, indices and ids are consistent."""
    adapter = openai._models.TypeAdapter(openai.types.responses.ResponseStreamEvent)
    events = wire_events(text)
    assert [e.event for e in sse_events(text)] == [e["type"] for e in events]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert [e["type"] for e in events[:2]] == ["response.created", "response.in_progress"]
    ids: Dict[int, Tuple[str, Optional[str]]] = {}
    done: set = set()
    for event in events:
        adapter.validate_python(event)
        kind = event["type"]
        if kind == "response.output_item.added":
            assert event["output_index"] == len(ids), "output indices are 0..n in opening order"
            ids[event["output_index"]] = (event["item"]["type"], event["item"].get("id"))
        elif kind == "response.output_item.done":
            assert event["output_index"] in ids and event["output_index"] not in done
            assert ids[event["output_index"]] == (event["item"]["type"], event["item"].get("id"))
            done.add(event["output_index"])
        elif "item_id" in event:
            assert event["output_index"] in ids and event["output_index"] not in done
            assert ids[event["output_index"]][1] == event["item_id"]
    if events[-1]["type"] in TERMINAL:
        assert done == set(ids), "every item is done before the terminal event"
        final = openai.types.responses.Response.model_validate(events[-1]["response"])
        assert [(o.type, getattr(o, "id", None)) for o in final.output] == [ids[i] for i in sorted(ids)]


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
    assert opened == closed


def test_text_events() -> None:
    events, _ = decode(STREAMS["text"])
    usage = Usage(12, 11, total_tokens=23, cached_input_tokens=0, cache_creation_input_tokens=0, reasoning_tokens=0)
    assert events[:2] == [
        ResponseStarted("resp_68f1a0c3b2e48190a1", "gpt-5-2025-08-07", 1763474589),
        OutputItemAdded(0, "message", item_id="msg_68f1a0c4d5f08190b2"),
    ]
    assert [e.text for e in events if isinstance(e, TextDelta)] == [
        "Hello", "!", " How", " can", " I", " help", " you", " today", "?",
    ]  # fmt: skip
    assert events[-2:] == [UsageUpdate(usage), ResponseCompleted("end_turn", "completed", usage=usage)]
    done = events[-3]
    assert isinstance(done, OutputItemDone) and isinstance(done.item, Message)
    # The non-streaming codec's form: item fields ride on the first part (``~item``).
    assert [p.text for p in done.item.content if isinstance(p, TextPart)] == ["Hello! How can I help you today?"]
    assert done.item.content[0].extensions[f"{PROTOCOL}~item"] == {
        "id": "msg_68f1a0c4d5f08190b2",
        "status": "completed",
    }
    assert done.item.raw_format == PROTOCOL and done.item.raw_message is not None


def test_tool_call_events() -> None:
    events, _ = decode(STREAMS["tool_call"])
    assert events[1] == ToolCallStarted(0, "call_k3J9xQeWm2", "get_weather", item_id="fc_68f1a1e8a1b48190d4")
    assert "".join(e.delta for e in events if isinstance(e, ToolCallArgumentsDelta)) == '{"city":"Paris"}'
    response = accumulate(events)
    assert response.tool_calls == [
        ToolCallPart(
            "call_k3J9xQeWm2",
            "get_weather",
            '{"city":"Paris"}',
            item_id="fc_68f1a1e8a1b48190d4",
            extensions={PROTOCOL: {"status": "completed"}},
        )
    ]
    assert response.stop_reason == "tool_use" and response.raw_stop_reason == "completed"


def test_parallel_tool_calls_accumulate_arguments() -> None:
    events, _ = decode(STREAMS["parallel_tool_calls"])
    deltas: Dict[int, int] = {}
    for e in events:
        if isinstance(e, ToolCallArgumentsDelta):
            deltas[e.index] = deltas.get(e.index, 0) + 1
    assert deltas == {0: 10, 1: 6, 2: 6}
    calls = accumulate(events).tool_calls
    assert [(c.id, json.loads(c.arguments)) for c in calls] == [
        ("call_Pq81", {"city": "Paris", "unit": "celsius"}),
        ("call_Rt92", {"city": "Tokyo", "unit": "celsius"}),
        ("call_Sv03", {"city": "New York", "unit": "fahrenheit"}),
    ]


def test_reasoning_summary_and_encrypted_content() -> None:
    events, _ = decode(STREAMS["reasoning"])
    assert OutputItemAdded(0, "reasoning", item_id="rs_68f1a3c5a3e08190da") in events
    summary = [e for e in events if isinstance(e, ReasoningDelta)]
    assert {e.kind for e in summary} == {"summary"} and {e.summary_index for e in summary} == {0, 1}
    # The encrypted content of output_item.added is provisional: only the done item's is kept.
    assert not any(isinstance(e, ReasoningSignatureDelta) for e in events)
    response = accumulate(events)
    reasoning = response.reasoning[0]
    assert reasoning.summary == [
        "**Comparing numbers**\n\n9.11 has fewer tenths than 9.9.",
        "**Answering**\n\nSo 9.9 is larger.",
    ]
    assert reasoning.encrypted_content == ENCRYPTED and reasoning.source == PROTOCOL
    assert reasoning.id == "rs_68f1a3c5a3e08190da"
    assert response.text == "9.9 is larger than 9.11."
    assert response.usage is not None and response.usage.reasoning_tokens == 384


def test_reasoning_text_content() -> None:
    events, _ = decode(STREAMS["reasoning_text"])
    assert [e.kind for e in events if isinstance(e, ReasoningDelta)] == ["text"] * 4
    reasoning = accumulate(events).reasoning[0]
    assert reasoning.text == "The user asks for a greeting. Keep it short." and reasoning.summary == []
    assert reasoning.source is None  # no opaque token to tie it to OpenAI


def test_refusal_stop_reason() -> None:
    events, _ = decode(STREAMS["refusal"])
    assert [type(e) for e in events if isinstance(e, (TextDelta, RefusalDelta))] == [RefusalDelta] * 4
    response = accumulate(events)
    assert response.refusal == "I'm sorry, but I can't help with that."
    assert (response.stop_reason, response.raw_stop_reason) == ("refusal", "completed")


def test_usage_is_normalised() -> None:
    response = accumulate(decode(STREAMS["usage"])[0])
    assert response.usage == Usage(
        input_tokens=6047,
        output_tokens=1623,
        total_tokens=7670,
        cached_input_tokens=2944,
        cache_creation_input_tokens=512,
        reasoning_tokens=1408,
    )


def test_incomplete_maps_to_max_tokens() -> None:
    response = accumulate(decode(STREAMS["max_tokens"])[0])
    assert (response.stop_reason, response.raw_stop_reason) == ("max_tokens", "incomplete:max_output_tokens")
    assert response.text == "Once upon a time, in a"


def test_message_phase_is_kept() -> None:
    response = accumulate(decode(STREAMS["text_and_tool"])[0])
    message = response.output[0]
    assert isinstance(message, Message)
    assert message.content[0].extensions[f"{PROTOCOL}~item"]["phase"] == "commentary"
    assert response.stop_reason == "tool_use"


@pytest.mark.parametrize("name", COMPLETE)
def test_accumulated_equals_non_streaming_decode(name: str) -> None:
    codec = importlib.import_module("omnillm.protocols.open_ai_responses")
    terminal = wire_events(STREAMS[name])[-1]["response"]
    expected = codec.decode_response(terminal)
    got = accumulate(decode(STREAMS[name])[0])
    # Whole objects: items with their ids, status, annotations and shape markers, usage,
    # stop reason. Only the response-level extensions (the request echo of the terminal
    # response) have no canonical stream event (docs/architecture.rst, "What a stream carries").
    assert got.output == expected.output
    assert got == dataclasses.replace(expected, extensions={})
    assert [type(i) for i in got.output] == [type(i) for i in expected.output]


def test_error_event_is_terminal() -> None:
    events, decoder = decode(STREAMS["error"])
    assert decoder.terminated
    assert events[-1] == ErrorEvent(
        "The server had an error while processing your request. Sorry about that!", code="server_error", status=500
    )
    with pytest.raises(ProviderStreamError) as info:
        list(decode_stream([STREAMS["error"]], PROTOCOL))
    assert info.value.partial is not None and info.value.partial.text == "Partial"
    assert info.value.code == "server_error"


def test_nested_error_event_and_following_failed_event() -> None:
    text = (
        'event: error\ndata: {"type":"error","sequence_number":2,"error":{"type":"insufficient_quota",'
        '"code":"insufficient_quota","message":"You exceeded your current quota.","param":null}}\n\n'
        'event: response.failed\ndata: {"type":"response.failed","sequence_number":3,"response":{"id":"r"}}\n\n'
    )
    events, decoder = decode(text)
    assert events == [ErrorEvent("You exceeded your current quota.", "insufficient_quota", "insufficient_quota", 429)]
    assert decoder.terminated


def test_failed_response_is_a_provider_error_with_the_partial_response() -> None:
    events = wire_events(STREAMS["text"])[:5]
    assert events[-1]["type"] == "response.output_text.delta"
    events.append(
        {
            "type": "response.failed",
            "sequence_number": 2,
            "response": {
                **events[0]["response"],
                "status": "failed",
                "error": {"code": "server_error", "message": "x"},
                "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
            },
        }
    )
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    decoded, decoder = decode(text)
    assert decoder.terminated and decoded[-1] == ErrorEvent("x", "response.failed", "server_error", 500)
    assert not any(isinstance(e, ResponseCompleted) for e in decoded)
    with pytest.raises(ProviderStreamError) as info:
        list(decode_stream([text], PROTOCOL))
    partial = info.value.partial
    assert partial is not None and partial.text == events[4]["delta"]
    assert partial.usage is not None and partial.usage.input_tokens == 3
    assert info.value.code == "server_error" and info.value.status == 500
    # Transcoded, the failure stays a failure: never a clean end_turn / finish_reason stop.
    for target in ("anthropic_messages", "open_ai_chat_completions", "gemini_generate_content"):
        frames: List[str] = []
        with pytest.raises(ProviderStreamError):
            for frame in transcode_stream([text], PROTOCOL, target):
                frames.append(str(frame))
        assert events[4]["delta"] in "".join(frames)
        assert "end_turn" not in "".join(frames) and "[DONE]" not in "".join(frames)


@pytest.mark.parametrize(
    ("reason", "stop"), [("max_output_tokens", "max_tokens"), ("content_filter", "content_filter")]
)
def test_incomplete_response_is_a_stop_reason_not_an_error(reason: str, stop: str) -> None:
    events = wire_events(STREAMS["text"])[:5]
    events.append(
        {
            "type": "response.incomplete",
            "sequence_number": 6,
            "response": {**events[0]["response"], "status": "incomplete", "incomplete_details": {"reason": reason}},
        }
    )
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    acc = StreamAccumulator()
    decoded = list(decode_stream([text], PROTOCOL, accumulator=acc))
    assert decoded[-1] == ResponseCompleted(stop, f"incomplete:{reason}")
    assert acc.response().stop_reason == stop


@pytest.mark.parametrize("name", COMPLETE)
def test_truncated_streams_are_not_terminated(name: str) -> None:
    sse = sse_events(STREAMS[name])
    for cut in range(len(sse)):
        decoder = StreamDecoder()
        for event in sse[:cut]:
            decoder.feed(event)
        decoder.finish()
        assert not decoder.terminated, f"cut at event {cut}"
    with pytest.raises(TruncatedStreamError) as info:
        list(decode_stream([STREAMS[name].rsplit("event: ", 1)[0]], PROTOCOL))
    assert info.value.partial is not None


def test_only_done_events_still_give_complete_deltas() -> None:
    """A server that skips deltas: the .done texts and the final item fill them in."""
    events = [
        e
        for e in wire_events(STREAMS["text_and_tool"])
        if e["type"] not in ("response.output_text.delta", "response.function_call_arguments.delta")
    ]
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    decoded, _ = decode(text)
    assert "".join(e.text for e in decoded if isinstance(e, TextDelta)) == "Let me check the weather."
    assert "".join(e.delta for e in decoded if isinstance(e, ToolCallArgumentsDelta)) == '{"city":"Lyon"}'


def test_unknown_events_and_items() -> None:
    wire = wire_events(STREAMS["text"])
    extra = [
        {"type": "response.web_search_call.searching", "sequence_number": 2, "output_index": 0, "item_id": "ws_1"},
        {"type": "response.output_item.added", "sequence_number": 2, "output_index": 0,
         "item": {"type": "web_search_call", "id": "ws_1", "status": "in_progress"}},
        {"type": "response.output_item.done", "sequence_number": 2, "output_index": 0,
         "item": {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}}},
    ]  # fmt: skip
    shifted = []
    for e in wire[2:]:
        if "output_index" in e:
            e = {**e, "output_index": e["output_index"] + 1}
        shifted.append(e)
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in [*wire[:2], *extra, *shifted])
    text += "data: [DONE]\n\n"
    events, decoder = decode(text)
    assert decoder.terminated
    response = accumulate(events)
    assert isinstance(response.output[0], OpaquePart) and response.output[0].data["action"] == {"type": "search"}
    assert response.text == "Hello! How can I help you today?"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda e: {**e, "delta": 5} if e["type"] == "response.output_text.delta" else e, "event[4].delta"),
        (lambda e: {k: v for k, v in e.items() if k != "output_index"}
         if e["type"] == "response.output_item.added" else e, "event[2].output_index"),
        (lambda e: {**e, "output_index": 7} if e["type"] == "response.content_part.added" else e,
         "event[3].output_index"),
        (lambda e: {**e, "response": []} if e["type"] == "response.created" else e, "event[0].response"),
        (lambda e: {**e, "sequence_number": "4"} if e["type"] == "response.output_text.delta" else e,
         "event[4].sequence_number"),
        (lambda e: {**e, "response": {**e["response"], "usage": {"input_tokens": "12"}}}
         if e["type"] == "response.completed" else e, "event[16].response.usage.input_tokens"),
        (lambda e: {**e, "item": {**e["item"], "content": [{"type": "output_text"}]}}
         if e["type"] == "response.output_item.done" else e, "event[15].item.content[0].text"),
    ],
)  # fmt: skip
def test_bad_shapes_name_the_path(mutate: Any, path: str) -> None:
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(mutate(e))}\n\n" for e in wire_events(STREAMS["text"]))
    with pytest.raises(DecodeError) as info:
        decode(text)
    assert info.value.protocol == PROTOCOL and info.value.path == path


def test_bad_call_item_and_wrong_item_kind() -> None:
    wire = wire_events(STREAMS["tool_call"])
    bad = [*wire[:2], {**wire[2], "item": {k: v for k, v in wire[2]["item"].items() if k != "call_id"}}]
    with pytest.raises(DecodeError) as info:
        decode("".join(f"data: {json.dumps(e)}\n\n" for e in bad))
    assert info.value.path == "event[2].item.call_id"
    wrong = [*wire[:3], {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "x"}]
    with pytest.raises(DecodeError) as info:
        decode("".join(f"data: {json.dumps(e)}\n\n" for e in wrong))
    assert info.value.path == "event[3].output_index" and "tool_call item" in info.value.problem


def test_malformed_json_and_events_before_created() -> None:
    decoder = StreamDecoder()
    with pytest.raises(DecodeError) as info:
        decoder.feed(SSEEvent("response.created", '{"type": "response.created", ', None, None))
    assert (info.value.protocol, info.value.path) == (PROTOCOL, "event[0]")
    assert "invalid JSON" in str(info.value)
    with pytest.raises(DecodeError) as info:
        StreamDecoder().feed(SSEEvent("message", "[1, 2]", None, None))
    assert info.value.path == "event[0]"
    with pytest.raises(DecodeError) as info:
        StreamDecoder().feed(sse_events(STREAMS["text"])[4])
    assert info.value.path == "event[0].type" and "before response.created" in info.value.problem


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_real_streams_decode(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    events, decoder = decode(text)
    assert decoder.terminated
    assert isinstance(events[0], ResponseStarted)
    response = accumulate(events)
    wire = wire_events(text)
    terminal = next(e for e in wire if e["type"] in TERMINAL or e["type"] == "error")
    if terminal["type"] == "error":
        assert isinstance(events[-1], ErrorEvent) and events[-1].message == terminal["error"]["message"]
        return
    output = terminal["response"]["output"]
    expected_text = "".join(
        c["text"] for o in output if o["type"] == "message" for c in o["content"] if c["type"] == "output_text"
    )
    assert response.text == expected_text
    assert [(c.id, c.arguments) for c in response.tool_calls] == [
        (o["call_id"], o["arguments"]) for o in output if o["type"] == "function_call"
    ]
    assert len(response.output) == len(output)
    assert response.usage is not None and response.usage.input_tokens == terminal["response"]["usage"]["input_tokens"]
    codec = importlib.import_module("omnillm.protocols.open_ai_responses")
    expected = codec.decode_response(terminal["response"])
    assert response.stop_reason == expected.stop_reason


# --------------------------------------------------------------------------- encoder


@pytest.mark.parametrize("name", COMPLETE)
def test_encoded_streams_satisfy_the_sdk(name: str) -> None:
    events, _ = decode(STREAMS[name])
    losses = LossLog(PROTOCOL)
    text = encode(events, losses)
    assert not losses, losses.entries
    assert_wire_shape(text)
    assert_sdk_matches(sdk_final(text), accumulate(events))


@pytest.mark.parametrize("name", list(STREAMS))
def test_decode_encode_decode_is_identity(name: str) -> None:
    events, _ = decode(STREAMS[name])
    again, decoder = decode(encode(events))
    assert again == events
    assert decoder.terminated


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_real_streams_reencode_for_the_sdk(path: Path) -> None:
    events, _ = decode(path.read_text(encoding="utf-8"))
    text = encode(events)
    assert_wire_shape(text)
    if isinstance(events[-1], ErrorEvent):
        assert wire_events(text)[-1] == {
            "type": "error",
            "sequence_number": 2,
            "code": "insufficient_quota",
            "message": events[-1].message,
            "param": None,
        }
        return
    assert_sdk_matches(sdk_final(text), accumulate(events))
    # Same events back, except that an unknown cache-write count is sent as the 0 the SDK requires.
    again, _ = decode(text)
    for a, b in zip(events, again):
        if isinstance(a, (UsageUpdate, ResponseCompleted)) and a.usage is not None and b.usage is not None:
            assert a.usage.cache_creation_input_tokens in (None, b.usage.cache_creation_input_tokens)
            b.usage.cache_creation_input_tokens = a.usage.cache_creation_input_tokens
        assert a == b


def started() -> List[StreamEvent]:
    return [ResponseStarted("resp_x", "some-model", 1700000000)]


def test_hand_built_stream_gets_derived_ids() -> None:
    usage = Usage(30, 20, cached_input_tokens=10)
    events: List[StreamEvent] = [
        *started(),
        OutputItemAdded(0, "reasoning"),
        ReasoningDelta(0, "Think", kind="text"),
        ReasoningDelta(0, "ing.", kind="text"),
        OutputItemDone(0),
        OutputItemAdded(1, "message"),
        TextDelta(1, "Calling "),
        TextDelta(1, "tools."),
        ToolCallStarted(2, "call_a", "f"),
        ToolCallStarted(3, "call_b", "g"),
        ToolCallArgumentsDelta(2, '{"x":'),
        ToolCallArgumentsDelta(3, '{"y":2}'),
        ToolCallArgumentsDelta(2, "1}"),
        OutputItemDone(1),
        OutputItemDone(3),
        OutputItemDone(2),
        UsageUpdate(usage),
        ResponseCompleted("tool_use"),
    ]
    losses = LossLog(PROTOCOL)
    text = encode(events, losses)
    assert not losses
    assert_wire_shape(text)
    added = [e["item"] for e in wire_events(text) if e["type"] == "response.output_item.added"]
    assert [(i["type"], i["id"]) for i in added] == [
        ("reasoning", "rs_0"),
        ("message", "msg_1"),
        ("function_call", "fc_call_a"),
        ("function_call", "fc_call_b"),
    ]
    final = sdk_final(text)
    assert final.id == "resp_x" and final.model == "some-model"
    assert final.output[0].content[0].text == "Thinking."
    assert_sdk_matches(final, accumulate(events))
    assert [(e.id, e.arguments) for e in accumulate(decode(text)[0]).tool_calls] == [
        ("call_a", '{"x":1}'),
        ("call_b", '{"y":2}'),
    ]


def test_each_delta_is_written_at_once() -> None:
    encoder = StreamEncoder()
    assert [e["type"] for t in encoder.encode(ResponseStarted("r", "m")) for e in wire_events(t)] == [
        "response.created",
        "response.in_progress",
    ]
    assert [json.loads(sse_events(t)[0].data)["type"] for t in encoder.encode(OutputItemAdded(0, "message"))] == [
        "response.output_item.added"
    ]
    out = encoder.encode(TextDelta(0, "Hi"))
    assert [wire_events(t)[0]["type"] for t in out] == ["response.content_part.added", "response.output_text.delta"]
    out = encoder.encode(TextDelta(0, " there"))
    assert [wire_events(t)[0] for t in out] == [
        {"type": "response.output_text.delta", "sequence_number": 5, "item_id": "msg_0", "output_index": 0,
         "content_index": 0, "delta": " there", "logprobs": []}
    ]  # fmt: skip


def test_final_items_without_deltas_are_streamed() -> None:
    events: List[StreamEvent] = [
        *started(),
        OutputItemDone(
            0, ReasoningPart(summary=["Plan.", "Act."], encrypted_content="enc", id="rs_9", source=PROTOCOL)
        ),
        OutputItemDone(1, Message("assistant", [TextPart("Hello"), RefusalPart("No.")])),
        OutputItemDone(2, ToolCallPart("call_q", "lookup", '{"q":"x"}')),
        ResponseCompleted("tool_use", usage=Usage(5, 6)),
    ]
    text = encode(events)
    assert_wire_shape(text)
    types = [e["type"] for e in wire_events(text)]
    assert types.count("response.reasoning_summary_text.delta") == 2
    assert types.count("response.content_part.added") == 2
    assert "response.refusal.delta" in types and "response.function_call_arguments.delta" in types
    final = sdk_final(text)
    assert final.output[0].id == "rs_9" and final.output[0].encrypted_content == "enc"
    assert [s.text for s in final.output[0].summary] == ["Plan.", "Act."]
    assert final.output_text == "Hello"
    assert_sdk_matches(final, accumulate(events))


def test_foreign_opaque_data_is_reported() -> None:
    events: List[StreamEvent] = [
        *started(),
        OutputItemAdded(0, "reasoning"),
        ReasoningDelta(0, "Hmm."),
        ReasoningSignatureDelta(0, signature="sig", source="anthropic_messages"),
        OutputItemDone(0, ReasoningPart(text="Hmm.", signature="sig", source="anthropic_messages")),
        OutputItemAdded(1, "reasoning"),
        ReasoningSignatureDelta(1, encrypted_content="redacted", source="anthropic_messages"),
        OutputItemDone(1, ReasoningPart(encrypted_content="redacted", redacted=True, source="anthropic_messages")),
        OutputItemDone(2, OpaquePart("anthropic_messages", {"type": "server_tool_use", "id": "srv"})),
        OutputItemDone(3, Message("assistant", [TextPart("Hi", extensions={"anthropic_messages": {"citations": []}})])),
        ResponseCompleted("stop_sequence", "stop_sequence", stop_sequence="END"),
    ]
    losses = LossLog(PROTOCOL)
    text = encode(events, losses)
    assert_wire_shape(text)
    assert sorted((loss.code, loss.path) for loss in losses.entries) == [
        ("L-EXTENSION", "output[3].content[0]"),
        ("L-FINISH-STOPSEQ", "stop_sequence"),
        ("L-OPAQUE", "output[2]"),
        ("L-REASONING-OPAQUE", "output[0]"),
        ("L-REASONING-OPAQUE", "output[1]"),
    ]
    final = sdk_final(text)
    # The redacted reasoning and the foreign server item leave no empty items behind.
    assert [o.type for o in final.output] == ["reasoning", "message"]
    assert final.output[0].encrypted_content is None and final.output[0].content[0].text == "Hmm."


@pytest.mark.parametrize(
    ("stop", "raw", "status", "reason", "code"),
    [
        ("max_tokens", None, "incomplete", "max_output_tokens", None),
        ("content_filter", None, "incomplete", "content_filter", None),
        ("other", "incomplete:max_messages", "incomplete", "max_messages", None),
        ("other", None, "incomplete", None, "L-FINISH-GRANULARITY"),
        ("pause", None, "incomplete", None, "L-FINISH-PAUSE"),
        ("error", None, "failed", None, None),
        ("refusal", None, "completed", None, "L-FINISH-GRANULARITY"),
        ("end_turn", None, "completed", None, None),
    ],
)
def test_stop_reasons(stop: str, raw: Optional[str], status: str, reason: Optional[str], code: Optional[str]) -> None:
    losses = LossLog(PROTOCOL)
    events = [*started(), OutputItemAdded(0, "message"), TextDelta(0, "x"), ResponseCompleted(stop, raw)]
    text = encode(events, losses)
    assert_wire_shape(text)
    terminal = wire_events(text)[-1]
    assert terminal["type"] == f"response.{status}"
    assert terminal["response"]["status"] == status
    assert (terminal["response"]["incomplete_details"] or {}).get("reason") == reason
    assert [loss.code for loss in losses.entries] == ([code] if code else [])
    final = sdk_final(text)
    assert final.status == status and final.output[0].status == (
        "incomplete" if reason in ("max_output_tokens", "content_filter") else "completed"
    )
    again = accumulate(decode(text)[0])
    if code is None:
        assert again.stop_reason == stop


def test_error_event_is_encoded_after_the_start() -> None:
    text = encode([ErrorEvent("Overloaded", type="overloaded_error", status=529)])
    assert [e["type"] for e in wire_events(text)] == ["response.created", "response.in_progress", "error"]
    assert wire_events(text)[-1] == {
        "type": "error", "sequence_number": 2, "code": "overloaded_error", "message": "Overloaded", "param": None,
    }  # fmt: skip
    assert_wire_shape(text)
    assert wire_events(encode([*started(), ErrorEvent("boom", status=429)]))[-1]["code"] == "rate_limit_exceeded"


def test_usage_extensions() -> None:
    usage = Usage(
        100, 10, extensions={PROTOCOL: {"input_tokens_details": {"cache_write_tokens_details": {"ttl_30m_tokens": 4,
                                                                                                 "ttl_12h_tokens": 0}}},
                             "anthropic_messages": {"service_tier": "standard"}},
    )  # fmt: skip
    losses = LossLog(PROTOCOL)
    text = encode([*started(), ResponseCompleted("end_turn", usage=usage)], losses)
    assert_wire_shape(text)
    details = wire_events(text)[-1]["response"]["usage"]["input_tokens_details"]
    assert details["cache_write_tokens_details"] == {"ttl_30m_tokens": 4, "ttl_12h_tokens": 0}
    assert [(loss.code, loss.path) for loss in losses.entries] == [("L-EXTENSION", "usage")]


def test_encoder_rejects_impossible_sequences() -> None:
    encoder = StreamEncoder()
    with pytest.raises(EncodeError) as info:
        encoder.encode(ToolCallArgumentsDelta(0, "{}"))
    assert info.value.path == "output[0]"
    encoder = StreamEncoder()
    encoder.encode(TextDelta(0, "a"))
    encoder.encode(OutputItemDone(0))
    with pytest.raises(EncodeError):
        encoder.encode(TextDelta(0, "late"))


def test_without_completion_no_terminal_event() -> None:
    text = encode([*started(), OutputItemAdded(0, "message"), TextDelta(0, "cut")])
    assert not any(e["type"] in TERMINAL for e in wire_events(text))
    assert not decode(text)[1].terminated
    assert [e["type"] for e in wire_events(encode([]))] == ["response.created", "response.in_progress"]


def _other_streams() -> List[Tuple[str, str, str]]:
    cases = []
    for protocol in ("anthropic_messages", "open_ai_chat_completions", "gemini_generate_content"):
        try:
            streams = importlib.import_module(f"streams_{protocol}").STREAMS
            importlib.import_module(f"omnillm.protocols.{protocol}_stream")
        except ImportError:
            continue
        cases.extend((protocol, name, text) for name, text in streams.items())
    return cases


@pytest.mark.parametrize(("protocol", "name", "text"), _other_streams(), ids=lambda v: str(v)[:30])
def test_other_protocols_streams_satisfy_the_sdk(protocol: str, name: str, text: str) -> None:
    module = importlib.import_module(f"omnillm.protocols.{protocol}_stream")
    decoder = module.StreamDecoder()
    events: List[StreamEvent] = []
    for sse in sse_events(text):
        events.extend(decoder.feed(sse))
    events.extend(decoder.finish())
    encoded = encode(events)
    assert_wire_shape(encoded)
    if not isinstance(events[-1], ResponseCompleted):
        return
    source = accumulate(events)
    final = sdk_final(encoded)
    texts = [c.text for o in final.output if o.type == "message" for c in o.content if c.type == "output_text"]
    assert "".join(texts) == canonical_text(source)
    assert [(o.call_id, o.name, o.arguments) for o in final.output if o.type == "function_call"] == [
        (c.id, c.name, c.arguments) for c in source.tool_calls
    ]
    if source.usage is not None:
        assert (final.usage.input_tokens, final.usage.output_tokens) == (
            source.usage.input_tokens,
            source.usage.output_tokens,
        )


# --------------------------------------------------------------------------- fuzz


def _mutations(value: Any) -> st.SearchStrategy[Any]:
    junk = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.booleans(), st.just([]), st.just({}))
    return junk


@st.composite
def mutated_stream(draw: Any) -> str:
    name = draw(st.sampled_from(COMPLETE))
    events = wire_events(STREAMS[name])
    n = draw(st.integers(0, len(events) - 1))
    event = events[n]
    # Walk to a random nested object and change or delete one of its keys.
    target: Any = event
    for _ in range(draw(st.integers(0, 3))):
        children = [v for v in (target.values() if isinstance(target, dict) else target) if isinstance(v, (dict, list))]
        children = [c for c in children if c]
        if not children:
            break
        target = draw(st.sampled_from(children))
    if isinstance(target, dict) and target:
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(_mutations(target[key]))
    elif isinstance(target, list) and target:
        target[draw(st.integers(0, len(target) - 1))] = draw(_mutations(None))
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_stream())
def test_mutated_streams_raise_only_omnillm_errors(text: str) -> None:
    try:
        events, _ = decode(text)
        accumulate(events)
        encode(events)
    except OmniLLMError:
        pass


def test_a_completed_item_whose_type_is_not_a_string_is_no_bare_error() -> None:
    """Found by the mutation test above on a fresh machine: ``"type": []`` on an item of
    ``response.completed`` raised a bare TypeError (an unhashable set lookup)."""
    events = [json.loads(line[6:]) for line in STREAMS["text"].splitlines() if line.startswith("data: ")]
    completed = next(e for e in events if e["type"] == "response.completed")
    for item in completed["response"]["output"]:
        item["type"] = []
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    try:
        decoded, _ = decode(text)
        accumulate(decoded)
    except OmniLLMError:
        pass  # refusing the item is fine; any other exception type fails the test
