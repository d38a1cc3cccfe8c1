"""Tests for the OpenAI Chat Completions stream codec.

The decoder is checked against hand-written streams, the real recorded streams and the
official SDK's own chunk accumulator (folded into a non-streaming body and decoded by the
non-streaming codec). The encoder is checked by serving its output over 127.0.0.1 to the
official ``openai`` client with streaming on and comparing the SDK's final completion with
the source.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdk_server import serve
from streams_open_ai_chat_completions import STREAMS

from omnillm.errors import DecodeError, EncodeError, OmniLLMError, TruncatedStreamError
from omnillm.model import LlmResponse, Message, OpaquePart, ReasoningPart, TextPart, ToolCallPart, Usage
from omnillm.protocols import open_ai_chat_completions as chat
from omnillm.protocols.open_ai_chat_completions_stream import PROTOCOL, StreamDecoder, StreamEncoder
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
REQUIRED = ("text", "tool_call", "parallel_tool_calls", "reasoning", "refusal", "usage")


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


def chunks_of(text: str) -> List[Dict[str, Any]]:
    """The JSON data of every event except ``[DONE]``."""
    return [json.loads(e.data) for e in sse_events(text) if e.data != "[DONE]"]


def sdk_snapshot_body(text: str) -> Dict[str, Any]:
    """The SDK's own accumulation of a stream, as a non-streaming response body."""
    from openai._models import construct_type
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    state = ChatCompletionStreamState()
    for sse in sse_events(text):
        if sse.data == "[DONE]":
            break
        data = json.loads(sse.data)
        if data.get("object") != "chat.completion.chunk":
            continue  # the SDK skips Azure's filter-result preamble the same way
        state.handle_chunk(construct_type(type_=ChatCompletionChunk, value=data))
    body: Dict[str, Any] = state.current_completion_snapshot.to_dict()
    return body


def sdk_final(text: str) -> Any:
    """Serve ``text`` to the official client and return its final completion."""
    with serve(text) as server:
        client = openai.OpenAI(api_key="x", base_url=server.base_url + "/v1", max_retries=0)
        with client.chat.completions.stream(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream_options={"include_usage": True}
        ) as stream:
            for _ in stream:
                pass
            try:
                return stream.get_final_completion()
            except openai.LengthFinishReasonError as exc:
                # The helper refuses to *parse* a cut-off completion; the snapshot is what it accumulated.
                return exc.completion


def essentials(response: LlmResponse) -> Tuple[Any, ...]:
    """What a stream must agree on with the non-streaming body: text, refusal, calls, stop, usage."""
    calls = [(c.id, c.name, c.arguments) for c in response.tool_calls]
    reasoning = [r.text for r in response.reasoning]
    return (response.text, response.refusal, calls, reasoning, response.stop_reason, response.raw_stop_reason,
            response.usage)  # fmt: skip


def assert_sdk_matches(completion: Any, response: LlmResponse, finish_reason: str) -> None:
    """The SDK's final completion carries the canonical response's essentials."""
    message = completion.choices[0].message
    assert (message.content or "") == response.text
    assert message.refusal == response.refusal
    calls = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
    assert calls == [(c.id, c.name, c.arguments) for c in response.tool_calls]
    assert completion.choices[0].finish_reason == finish_reason
    reasoning = "".join((r.text or "") + "\n\n".join(r.summary) for r in response.reasoning)
    assert (getattr(message, "reasoning_content", None) or "") == reasoning
    if response.usage is None:
        assert completion.usage is None
    else:
        assert completion.usage.prompt_tokens == response.usage.input_tokens
        assert completion.usage.completion_tokens == response.usage.output_tokens
        assert completion.usage.total_tokens == response.usage.total
        details = completion.usage.prompt_tokens_details
        assert (details.cached_tokens if details else None) == response.usage.cached_input_tokens


def assert_wire_shape(text: str) -> None:
    """Every chunk validates as a ChatCompletionChunk, with one id/created/model, role first."""
    from openai.types.chat import ChatCompletionChunk

    chunks = chunks_of(text)
    heads = {(c["id"], c["created"], c["model"], c["object"]) for c in chunks}
    assert len(heads) == 1 and next(iter(heads))[3] == "chat.completion.chunk"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
        for choice in chunk["choices"]:
            assert set(choice) == {"index", "delta", "finish_reason"}
            assert set(choice["delta"]) <= {"role", "content", "refusal", "tool_calls", "reasoning_content", "audio"}
    assert text.endswith("data: [DONE]\n\n")


# --------------------------------------------------------------------------- decoder: hand-written streams


def test_corpus_has_the_required_streams() -> None:
    assert set(REQUIRED) <= set(STREAMS)


def test_streams_are_valid_chunks() -> None:
    from openai.types.chat import ChatCompletionChunk

    for text in STREAMS.values():
        for chunk in chunks_of(text):
            ChatCompletionChunk.model_validate(chunk)


def test_text_events() -> None:
    events, decoder = decode(STREAMS["text"])
    assert decoder.terminated
    assert events == [
        ResponseStarted("chatcmpl-BnT4x2QeHf7Lk9", "gpt-4o-2024-08-06", 1741476542),
        OutputItemAdded(0, "message"),
        TextDelta(0, "The capital"),
        TextDelta(0, " of France"),
        TextDelta(0, " is Paris"),
        TextDelta(0, "."),
        OutputItemDone(0),
        ResponseCompleted("end_turn", "stop"),
    ]


def test_tool_call_events() -> None:
    events, _ = decode(STREAMS["tool_call"])
    assert events[1] == ToolCallStarted(0, "call_Jk3uF8wQm2", "get_weather")
    assert [e.delta for e in events if isinstance(e, ToolCallArgumentsDelta)] == [
        '{"ci', 'ty": "', "Paris", '", "unit": ', '"celsius"}'
    ]  # fmt: skip
    assert events[-2:] == [OutputItemDone(0), ResponseCompleted("tool_use", "tool_calls")]


def test_parallel_tool_calls_get_items_in_order_of_first_appearance() -> None:
    events, _ = decode(STREAMS["parallel_tool_calls"])
    starts = [e for e in events if isinstance(e, ToolCallStarted)]
    assert [(s.index, s.name) for s in starts] == [(0, "get_weather"), (1, "get_stock_price"), (2, "get_time")]
    response = accumulate(events)
    assert [json.loads(c.arguments) for c in response.tool_calls] == [
        {"city": "Edinburgh", "country": "UK"},
        {"ticker": "AAPL", "exchange": "NASDAQ"},
        {"timezone": "Europe/London"},
    ]
    done = [e.index for e in events if isinstance(e, OutputItemDone)]
    assert done == [0, 1, 2]
    # usage arrives after the finish chunk, before [DONE]: ResponseCompleted is last and carries it
    assert isinstance(events[-2], UsageUpdate) and isinstance(events[-1], ResponseCompleted)
    assert events[-1].usage == events[-2].usage


def test_reasoning_content_becomes_a_reasoning_item_before_the_message() -> None:
    events, _ = decode(STREAMS["reasoning"])
    assert events[1] == OutputItemAdded(0, "reasoning")
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == [
        "The user asks for", " 17 * 23. 17 * 20 = 340,", " 17 * 3 = 51, so 391."
    ]  # fmt: skip
    response = accumulate(events)
    assert response.output[0] == ReasoningPart(
        text="The user asks for 17 * 23. 17 * 20 = 340, 17 * 3 = 51, so 391.", source=PROTOCOL
    )
    assert response.text == "17 * 23 = **391**."
    assert response.usage is not None and response.usage.reasoning_tokens == 44


def test_reasoning_field_of_newer_servers_is_accepted_and_reasoning_content_wins() -> None:
    text = STREAMS["reasoning"].replace('"reasoning_content"', '"reasoning"')
    assert accumulate(decode(text)[0]).reasoning[0].text.startswith("The user asks for")
    both = 'data: {"id":"c","choices":[{"index":0,"delta":{"reasoning_content":"A","reasoning":"A"}}]}\n\n'
    events, _ = decode(both)
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["A"]


def test_refusal() -> None:
    response = accumulate(decode(STREAMS["refusal"])[0])
    assert response.refusal == "I'm sorry, but I can't help with that request."
    assert response.text == ""
    assert (response.stop_reason, response.raw_stop_reason) == ("refusal", "stop")


def test_usage_is_normalised() -> None:
    response = accumulate(decode(STREAMS["usage"])[0])
    assert response.usage is not None
    u = response.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens, u.cached_input_tokens) == (1536, 10, 1546, 1280)


def test_max_tokens() -> None:
    response = accumulate(decode(STREAMS["max_tokens"])[0])
    assert (response.stop_reason, response.raw_stop_reason, response.text) == (
        "max_tokens",
        "length",
        "Once upon a time",
    )


@pytest.mark.parametrize("name", list(STREAMS))
def test_stream_accumulates_like_the_non_streaming_body(name: str) -> None:
    """Accumulated stream == non-streaming decode of the body the SDK accumulates from the chunks."""
    streamed = accumulate(decode(STREAMS[name])[0])
    body = chat.decode_response(sdk_snapshot_body(STREAMS[name]))
    assert essentials(streamed) == essentials(body)
    assert (streamed.id, streamed.model, streamed.created) == (body.id, body.model, body.created)


@pytest.mark.parametrize("name", list(STREAMS))
def test_decoded_event_order(name: str) -> None:
    events, _ = decode(STREAMS[name])
    assert isinstance(events[0], ResponseStarted) and isinstance(events[-1], ResponseCompleted)
    opened: Dict[int, str] = {}
    closed = set()
    for event in events[1:-1]:
        assert not isinstance(event, (ResponseStarted, ResponseCompleted))
        if isinstance(event, (OutputItemAdded, ToolCallStarted)):
            assert event.index == len(opened), "indices are assigned sequentially"
            opened[event.index] = "open"
        elif isinstance(event, OutputItemDone):
            assert event.index in opened and event.index not in closed
            closed.add(event.index)
        elif isinstance(event, (TextDelta, RefusalDelta, ReasoningDelta, ToolCallArgumentsDelta)):
            assert event.index in opened and event.index not in closed
    assert closed == set(opened)


# --------------------------------------------------------------------------- decoder: wire variants


def _chunk(delta: Dict[str, Any], finish: Optional[str] = None, choice: int = 0, **top: Any) -> str:
    body = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 7, "model": "m", **top}
    body["choices"] = [{"index": choice, "delta": delta, "finish_reason": finish}]
    return f"data: {json.dumps(body)}\n\n"


def test_multiple_choices_decode_choice_zero_only() -> None:
    text = (
        _chunk({"role": "assistant", "content": "A"})
        + _chunk({"role": "assistant", "content": "B"}, choice=1)
        + _chunk({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "f"}}]}, choice=1)
        + _chunk({"content": "a"})
        + _chunk({}, "stop")
        + _chunk({}, "tool_calls", choice=1)
        + "data: [DONE]\n\n"
    )
    response = accumulate(decode(text)[0])
    assert response.text == "Aa" and response.tool_calls == []
    assert (response.stop_reason, response.raw_stop_reason) == ("end_turn", "stop")


def test_finish_reason_and_usage_in_the_last_content_chunk() -> None:
    """Many compatible servers put the last fragment, finish_reason and usage in one chunk."""
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    text = _chunk({"role": "assistant", "content": "Hi"}) + _chunk({"content": "!"}, "stop", usage=usage)
    events, decoder = decode(text + "data: [DONE]\n\n")
    assert decoder.terminated
    assert [type(e).__name__ for e in events[-4:]] == [
        "TextDelta",
        "OutputItemDone",
        "UsageUpdate",
        "ResponseCompleted",
    ]
    response = accumulate(events)
    assert response.text == "Hi!" and response.usage == Usage(5, 2, 7)


def test_tool_call_without_index_or_id_from_compatible_servers() -> None:
    text = (
        _chunk({"tool_calls": [{"type": "function", "function": {"name": "f", "arguments": '{"a":'}}]})
        + _chunk({"tool_calls": [{"function": {"arguments": "1}"}}]})
        + _chunk({}, "tool_calls")
        + "data: [DONE]\n\n"
    )
    events, _ = decode(text)
    assert events[1] == ToolCallStarted(0, "call_0", "f", synthetic_id=True)
    assert accumulate(events).tool_calls[0].arguments == '{"a":1}'


def test_legacy_function_call_delta() -> None:
    text = (
        _chunk({"role": "assistant", "function_call": {"name": "lookup", "arguments": ""}})
        + _chunk({"function_call": {"arguments": '{"q": "x"}'}})
        + _chunk({}, "function_call")
        + "data: [DONE]\n\n"
    )
    response = accumulate(decode(text)[0])
    assert response.tool_calls == [ToolCallPart("function_call_0", "lookup", '{"q": "x"}', synthetic_id=True)]
    assert (response.stop_reason, response.raw_stop_reason) == ("tool_use", "function_call")


def test_custom_tool_call_becomes_an_opaque_item() -> None:
    first = {"index": 0, "id": "call_c", "type": "custom", "custom": {"name": "grammar", "input": "SELECT"}}
    text = (
        _chunk({"tool_calls": [first]})
        + _chunk({"tool_calls": [{"index": 0, "custom": {"input": " 1"}}]})
        + _chunk({}, "tool_calls")
        + "data: [DONE]\n\n"
    )
    events, _ = decode(text)
    expected = OpaquePart(
        PROTOCOL, {"id": "call_c", "type": "custom", "custom": {"name": "grammar", "input": "SELECT 1"}}
    )
    assert OutputItemDone(0, expected) in events
    # and it is written back whole into Chat
    assert any(c["choices"] and c["choices"][0]["delta"].get("tool_calls") for c in chunks_of(encode(events)))
    assert accumulate(decode(encode(events))[0]).output == [expected]


def test_unknown_delta_fields_are_kept_on_the_message() -> None:
    audio1 = {"id": "audio_1", "data": "AAA", "transcript": "Hel"}
    text = (
        _chunk({"role": "assistant", "audio": audio1})
        + _chunk({"audio": {"data": "BBB", "transcript": "lo"}})
        + _chunk({"audio": {"expires_at": 99}}, "stop")
        + "data: [DONE]\n\n"
    )
    response = accumulate(decode(text)[0])
    message = response.output[0]
    assert isinstance(message, Message)
    merged = {"id": "audio_1", "data": "AAABBB", "transcript": "Hello", "expires_at": 99}
    assert message.extensions == {PROTOCOL: {"audio": merged}}
    # written back as one delta into Chat
    again = chunks_of(encode(decode(text)[0]))
    assert {"audio": merged} in [c["choices"][0]["delta"] for c in again if c["choices"]]


def test_azure_filter_preamble_and_unknown_fields_are_ignored() -> None:
    preamble = {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": []}
    text = f"data: {json.dumps(preamble)}\n\n" + _chunk({"content": "x"}, new_field=1) + "data: [DONE]\n\n"
    decoder = StreamDecoder()
    events = sse_events(text)
    assert decoder.feed(events[0]) == []
    assert decoder.feed(events[1])[0] == ResponseStarted("chatcmpl-x", "m", 7)


def test_done_without_finish_reason_and_empty_stream() -> None:
    events, decoder = decode(_chunk({"content": "x"}) + "data: [DONE]\n\n")
    assert decoder.terminated and events[-1] == ResponseCompleted("other", None)
    events, decoder = decode("data: [DONE]\n\n")
    assert decoder.terminated and events == [ResponseStarted("", ""), ResponseCompleted("other", None)]


def test_content_after_finish_opens_a_new_item_instead_of_being_dropped() -> None:
    text = _chunk({"content": "a"}) + _chunk({}, "stop") + _chunk({"content": "b"}) + "data: [DONE]\n\n"
    events, _ = decode(text)
    assert TextDelta(1, "b") in events and OutputItemDone(1) in events


def test_empty_data_and_events_after_done_are_ignored() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(SSEEvent("message", "  ")) == []
    decoder.feed(SSEEvent("message", "[DONE]"))
    assert decoder.terminated
    assert decoder.feed(SSEEvent("message", "not json")) == []


# --------------------------------------------------------------------------- decoder: errors and truncation


@pytest.mark.parametrize("name", list(STREAMS))
def test_truncated_at_every_event_boundary(name: str) -> None:
    events = sse_events(STREAMS[name])
    for cut in range(len(events)):
        decoder = StreamDecoder()
        out: List[StreamEvent] = []
        for sse in events[:cut]:
            out.extend(decoder.feed(sse))
        out.extend(decoder.finish())
        assert not decoder.terminated, cut
        assert not any(isinstance(e, ResponseCompleted) for e in out)


def test_truncated_stream_raises_with_the_partial_response() -> None:
    text = STREAMS["tool_call"].rsplit("data: [DONE]", 1)[0]
    with pytest.raises(TruncatedStreamError) as info:
        list(decode_stream([text.encode()], PROTOCOL))
    assert info.value.partial is not None
    assert info.value.partial.tool_calls[0].arguments == '{"city": "Paris", "unit": "celsius"}'


def test_error_event() -> None:
    error = {"message": "The server had an error", "type": "server_error", "param": None, "code": None}
    text = _chunk({"content": "partial"}) + f"data: {json.dumps({'error': error})}\n\n" + "data: [DONE]\n\n"
    events, decoder = decode(text)
    assert decoder.terminated
    assert events[-1] == ErrorEvent("The server had an error", "server_error", None)
    assert not any(isinstance(e, ResponseCompleted) for e in events)


def test_error_event_with_http_status_code_from_compatible_servers() -> None:
    error = {"object": "error", "message": "bad", "type": "BadRequestError", "param": None, "code": 400}
    events, _ = decode(f"data: {json.dumps({'error': error})}\n\n")
    assert events == [ErrorEvent("bad", "BadRequestError", "400", 400)]


def _replace(name: str, position: int, mutate: Any) -> str:
    events = sse_events(STREAMS[name])
    data = json.loads(events[position].data)
    mutate(data)
    events[position] = SSEEvent("message", json.dumps(data))
    return "".join(f"data: {e.data}\n\n" for e in events)


def _set(*path: Any, value: Any = None, delete: bool = False) -> Any:
    def mutate(data: Any) -> None:
        for step in path[:-1]:
            data = data[step]
        if delete:
            del data[path[-1]]
        else:
            data[path[-1]] = value

    return mutate


@pytest.mark.parametrize(
    ("name", "position", "mutate", "path"),
    [
        ("text", 0, _set("choices", value={}), "event[0].choices"),
        ("text", 1, _set("choices", 0, value="x"), "event[1].choices[0]"),
        ("text", 1, _set("choices", 0, "index", value="0"), "event[1].choices[0].index"),
        ("text", 1, _set("choices", 0, "delta", value=[]), "event[1].choices[0].delta"),
        ("text", 2, _set("choices", 0, "delta", "content", value=5), "event[2].choices[0].delta.content"),
        ("text", 5, _set("choices", 0, "finish_reason", value=1), "event[5].choices[0].finish_reason"),
        ("refusal", 1, _set("choices", 0, "delta", "refusal", value={}), "event[1].choices[0].delta.refusal"),
        (
            "tool_call",
            0,
            _set("choices", 0, "delta", "tool_calls", 0, "function", "name", delete=True),
            "event[0].choices[0].delta.tool_calls[0].function.name",
        ),
        (
            "tool_call",
            0,
            _set("choices", 0, "delta", "tool_calls", 0, "function", delete=True),
            "event[0].choices[0].delta.tool_calls[0].function",
        ),
        (
            "parallel_tool_calls",
            9,
            _set("choices", 0, "delta", "tool_calls", 1, "index", value=1.5),
            "event[9].choices[0].delta.tool_calls[1].index",
        ),
        (
            "tool_call",
            2,
            _set("choices", 0, "delta", "tool_calls", 0, "function", "arguments", value={}),
            "event[2].choices[0].delta.tool_calls[0].function.arguments",
        ),
        ("tool_call", 1, _set("choices", 0, "delta", "tool_calls", value="x"), "event[1].choices[0].delta.tool_calls"),
        ("usage", 5, _set("usage", "prompt_tokens", value="9"), "event[5].usage.prompt_tokens"),
        ("usage", 5, _set("usage", value=[]), "event[5].usage"),
        (
            "reasoning",
            1,
            _set("choices", 0, "delta", "reasoning_content", value=1),
            "event[1].choices[0].delta.reasoning_content",
        ),
        ("text", 0, _set("model", value=3), "event[0].model"),
    ],
)  # fmt: skip
def test_malformed_input_names_protocol_and_path(name: str, position: int, mutate: Any, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(_replace(name, position, mutate))
    assert (info.value.protocol, info.value.path) == (PROTOCOL, path)


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '"text"', "42"])
def test_bad_json_or_non_object_data(data: str) -> None:
    decoder = StreamDecoder()
    assert decoder.feed(SSEEvent("message", "{}")) == []
    with pytest.raises(DecodeError) as info:
        decoder.feed(SSEEvent("message", data))
    assert (info.value.protocol, info.value.path) == (PROTOCOL, "event[1]")


# --------------------------------------------------------------------------- decoder: real recorded streams


@pytest.mark.skipif(not FIXTURE_FILES, reason="shared fixtures not available")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_real_fixture_decodes_like_the_sdk(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    events, decoder = decode(text)
    assert decoder.terminated
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    if errors:
        assert errors[0].type == "server_error" and "server had an error" in errors[0].message
        return
    response = accumulate(events)
    body = chat.decode_response(sdk_snapshot_body(text))
    assert essentials(response) == essentials(body)
    assert response.id and response.model
    assert response.text or response.refusal or response.tool_calls
    for call in response.tool_calls:
        json.loads(call.arguments)


@pytest.mark.skipif(not FIXTURE_FILES, reason="shared fixtures not available")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_real_fixture_reencodes_for_the_sdk(path: Path) -> None:
    events, _ = decode(path.read_text(encoding="utf-8"))
    if any(isinstance(e, ErrorEvent) for e in events):
        pytest.skip("error stream: covered by test_encoded_error_reaches_the_sdk")
    losses = LossLog(PROTOCOL)
    text = encode(events, losses)
    assert not losses.entries
    assert_wire_shape(text)
    response = accumulate(events)
    assert_sdk_matches(sdk_final(text), response, response.raw_stop_reason or "stop")


# --------------------------------------------------------------------------- encoder: our own streams


@pytest.mark.parametrize("name", list(STREAMS))
def test_encoded_stream_is_accepted_by_the_sdk(name: str) -> None:
    events, _ = decode(STREAMS[name])
    losses = LossLog(PROTOCOL)
    text = encode(events, losses)
    assert not losses.entries, [str(x) for x in losses.entries]
    assert_wire_shape(text)
    response = accumulate(events)
    assert response.raw_stop_reason is not None
    assert_sdk_matches(sdk_final(text), response, response.raw_stop_reason)


@pytest.mark.parametrize("name", list(STREAMS))
def test_decode_encode_decode_is_stable(name: str) -> None:
    events, _ = decode(STREAMS[name])
    again, decoder = decode(encode(events))
    assert decoder.terminated
    assert again == events


@pytest.mark.parametrize("name", ["text", "refusal", "usage", "max_tokens"])
def test_encoder_reproduces_the_wire_chunks(name: str) -> None:
    """Same content, same chunks: only the API's padding and always-null fields differ."""

    def essential(chunk: Dict[str, Any]) -> Dict[str, Any]:
        out = {k: v for k, v in chunk.items() if k not in ("obfuscation", "system_fingerprint", "service_tier")}
        if out.get("usage", 0) is None:
            del out["usage"]
        out["choices"] = [{k: v for k, v in c.items() if k != "logprobs"} for c in out["choices"]]
        return out

    original = [essential(c) for c in chunks_of(STREAMS[name])]
    encoded = chunks_of(encode(decode(STREAMS[name])[0]))
    assert encoded == original


@pytest.mark.parametrize("name", ["tool_call", "parallel_tool_calls", "text_then_tool_call"])
def test_encoder_reproduces_the_tool_call_fragments(name: str) -> None:
    """One fragment per chunk (the API sometimes packs two), in the original order and shape."""

    def fragments(text: str) -> List[Dict[str, Any]]:
        return [f for c in chunks_of(text) for ch in c["choices"] for f in ch["delta"].get("tool_calls", [])]

    encoded = encode(decode(STREAMS[name])[0])
    assert fragments(encoded) == fragments(STREAMS[name])
    assert all(len(ch["delta"].get("tool_calls", [])) <= 1 for c in chunks_of(encoded) for ch in c["choices"])


# --------------------------------------------------------------------------- encoder: events from other protocols


def run(events: List[StreamEvent]) -> Tuple[str, LossLog]:
    losses = LossLog(PROTOCOL)
    return encode(events, losses), losses


USAGE = Usage(input_tokens=120, output_tokens=45, cached_input_tokens=100, reasoning_tokens=20)


def test_anthropic_like_thinking_text_and_tool_call() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("msg_01A", "claude-sonnet-4-5"),
        OutputItemAdded(0, "reasoning"),
        ReasoningDelta(0, "User wants weather; "),
        ReasoningDelta(0, "call the tool."),
        ReasoningSignatureDelta(0, signature="EqQBCkgI", source="anthropic_messages"),
        OutputItemDone(0),
        OutputItemAdded(1, "message"),
        TextDelta(1, "Checking "),
        TextDelta(1, "now."),
        OutputItemDone(1),
        ToolCallStarted(2, "toolu_01X", "get_weather"),
        ToolCallArgumentsDelta(2, ""),
        ToolCallArgumentsDelta(2, '{"city": "Pa'),
        ToolCallArgumentsDelta(2, 'ris"}'),
        OutputItemDone(2, ToolCallPart("toolu_01X", "get_weather", '{"city":"Paris"}')),
        UsageUpdate(USAGE),
        ResponseCompleted("tool_use", "tool_use", usage=USAGE),
    ]
    text, losses = run(events)
    assert [x.code for x in losses.entries] == ["L-REASONING-OPAQUE"]
    assert_wire_shape(text)
    first = chunks_of(text)[0]["choices"][0]["delta"]
    assert first == {"role": "assistant", "content": ""}
    completion = sdk_final(text)
    message = completion.choices[0].message
    assert message.content == "Checking now."
    assert message.reasoning_content == "User wants weather; call the tool."
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("toolu_01X", "get_weather", '{"city": "Paris"}')
    ]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (120, 45)
    assert completion.usage.prompt_tokens_details.cached_tokens == 100
    assert completion.usage.completion_tokens_details.reasoning_tokens == 20


def test_responses_like_summary_and_encrypted_reasoning() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("resp_1", "gpt-5", 1741476542),
        OutputItemAdded(0, "reasoning", "rs_1"),
        ReasoningDelta(0, "**Plan** ", "summary", 0),
        ReasoningDelta(0, "greet.", "summary", 0),
        ReasoningDelta(0, "**Answer** short.", "summary", 1),
        OutputItemDone(0, ReasoningPart(summary=["**Plan** greet.", "**Answer** short."], encrypted_content="gAAA",
                                        id="rs_1", source="open_ai_responses")),
        OutputItemAdded(1, "message", "msg_1"),
        TextDelta(1, "Hello!"),
        OutputItemDone(1),
        ResponseCompleted("end_turn", "completed", usage=Usage(9, 3, 12)),
    ]  # fmt: skip
    text, losses = run(events)
    assert sorted(x.code for x in losses.entries) == ["L-REASONING-OPAQUE", "L-REASONING-SUMMARY"]
    assert all(x.path == "output[0]" for x in losses.entries)
    completion = sdk_final(text)
    assert completion.choices[0].message.reasoning_content == "**Plan** greet.\n\n**Answer** short."
    assert completion.choices[0].message.content == "Hello!"
    assert completion.choices[0].finish_reason == "stop"
    assert chunks_of(text)[0]["created"] == 1741476542


def test_gemini_like_whole_items_without_deltas() -> None:
    call = ToolCallPart("call_synth_0", "get_weather", '{"city":"Paris"}', synthetic_id=True)
    events: List[StreamEvent] = [
        ResponseStarted("r2", "gemini-2.5-flash"),
        OutputItemDone(0, Message("assistant", [TextPart("Sure.")])),
        OutputItemDone(1, call),
        OutputItemDone(2, ReasoningPart(text="thought", signature="CiQB", source="gemini_generate_content")),
        ResponseCompleted("tool_use", "STOP"),
    ]
    text, losses = run(events)
    assert sorted(x.code for x in losses.entries) == ["L-REASONING-OPAQUE", "L-TOOL-ID-SYNTH"]
    assert_wire_shape(text)
    completion = sdk_final(text)
    message = completion.choices[0].message
    assert message.content == "Sure."
    assert [(c.id, c.function.arguments) for c in message.tool_calls] == [("call_synth_0", '{"city":"Paris"}')]
    assert message.reasoning_content == "thought"
    assert completion.usage is None
    assert "usage" not in chunks_of(text)[-1]


def test_tool_call_first_gets_a_null_content_role_chunk_and_full_first_fragment() -> None:
    text, _ = run(
        [
            ResponseStarted("c", "m"),
            ToolCallStarted(0, "call_1", "f"),
            ToolCallArgumentsDelta(0, "{}"),
            ResponseCompleted("tool_use"),
        ]
    )
    deltas = [c["choices"][0]["delta"] for c in chunks_of(text)]
    assert deltas[0] == {"role": "assistant", "content": None}
    assert deltas[1] == {
        "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]
    }
    assert deltas[2] == {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}


def test_interleaved_tool_calls_from_canonical_indices() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("c", "m"),
        OutputItemAdded(0, "message"),
        TextDelta(0, "Two calls."),
        ToolCallStarted(1, "call_a", "a"),
        ToolCallStarted(2, "call_b", "b"),
        ToolCallArgumentsDelta(2, '{"y":'),
        ToolCallArgumentsDelta(1, '{"x":'),
        ToolCallArgumentsDelta(1, "1}"),
        ToolCallArgumentsDelta(2, "2}"),
        OutputItemDone(0),
        OutputItemDone(1),
        OutputItemDone(2),
        ResponseCompleted("tool_use"),
    ]
    text, losses = run(events)
    assert not losses.entries
    completion = sdk_final(text)
    calls = completion.choices[0].message.tool_calls
    assert [(c.id, c.function.arguments) for c in calls] == [("call_a", '{"x":1}'), ("call_b", '{"y":2}')]
    assert accumulate(decode(text)[0]).tool_calls == [
        ToolCallPart("call_a", "a", '{"x":1}'),
        ToolCallPart("call_b", "b", '{"y":2}'),
    ]


@pytest.mark.parametrize(
    ("stop", "raw", "finish", "loss"),
    [
        ("end_turn", None, "stop", None),
        ("max_tokens", "max_tokens", "length", None),
        ("tool_use", None, "tool_calls", None),
        ("tool_use", "function_call", "function_call", None),
        ("content_filter", "SAFETY", "content_filter", None),
        ("stop_sequence", "stop_sequence", "stop", "L-FINISH-STOPSEQ"),
        ("pause", "pause_turn", "stop", "L-FINISH-PAUSE"),
        ("refusal", "refusal", "stop", "L-FINISH-GRANULARITY"),
        ("error", "failed", "stop", "L-FINISH-GRANULARITY"),
        ("other", "cancelled", "stop", "L-FINISH-GRANULARITY"),
    ],
)
def test_stop_reason_mapping(stop: str, raw: Optional[str], finish: str, loss: Optional[str]) -> None:
    text, losses = run([ResponseStarted("c", "m"), TextDelta(0, "x"), ResponseCompleted(stop, raw)])
    assert chunks_of(text)[-1]["choices"][0]["finish_reason"] == finish
    assert [x.code for x in losses.entries] == ([loss] if loss else [])


def test_refusal_stop_reason_with_refusal_text_is_faithful() -> None:
    events: List[StreamEvent] = [ResponseStarted("c", "m"), RefusalDelta(0, "No."), ResponseCompleted("refusal")]
    text, losses = run(events)
    assert not losses.entries
    completion = sdk_final(text)
    assert completion.choices[0].message.refusal == "No." and completion.choices[0].finish_reason == "stop"
    assert accumulate(decode(text)[0]).stop_reason == "refusal"


def test_stop_sequence_value_is_reported() -> None:
    _, losses = run([ResponseStarted("c", "m"), ResponseCompleted("end_turn", stop_sequence="###")])
    assert [x.code for x in losses.entries] == ["L-FINISH-STOPSEQ"]


def test_other_protocols_extensions_and_opaque_items_are_reported() -> None:
    cited = Message("assistant", [TextPart("x")], extensions={"anthropic_messages": {"citations": [{"a": 1}]}})
    events: List[StreamEvent] = [
        ResponseStarted("c", "m"),
        OutputItemAdded(0, "message"),
        TextDelta(0, "x"),
        OutputItemDone(0, cited),
        OutputItemDone(1, OpaquePart("anthropic_messages", {"type": "web_search_tool_result"})),
        ResponseCompleted("end_turn", usage=Usage(1, 1, extensions={"anthropic_messages": {"service_tier": "std"}})),
    ]
    text, losses = run(events)
    assert [(x.code, x.path) for x in losses.entries] == [
        ("L-EXTENSION", "output[0]"),
        ("L-OPAQUE", "output[1]"),
        ("L-EXTENSION", "usage"),
    ]
    assert_wire_shape(text)


def test_encoded_error_reaches_the_sdk() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("c", "m"),
        TextDelta(0, "par"),
        ErrorEvent("Overloaded", "overloaded_error", "529", 529),
    ]
    encoder = StreamEncoder()
    text = "".join(s for e in events for s in encoder.encode(e)) + "".join(encoder.finish())
    assert "[DONE]" not in text
    assert json.loads(sse_events(text)[-1].data) == {
        "error": {"message": "Overloaded", "type": "overloaded_error", "param": None, "code": "529"}
    }
    with pytest.raises(openai.APIError, match="Overloaded"):
        sdk_final(text)
    again, decoder = decode(text)
    assert decoder.terminated and again[-1] == ErrorEvent("Overloaded", "overloaded_error", "529")


def test_no_done_without_a_completed_response() -> None:
    encoder = StreamEncoder()
    encoder.encode(ResponseStarted("c", "m"))
    assert encoder.encode(TextDelta(0, "x"))
    assert encoder.finish() == []


def test_events_before_response_started_still_give_valid_chunks() -> None:
    text, _ = run([TextDelta(0, "x"), ResponseCompleted("end_turn")])
    assert_wire_shape(text)
    assert chunks_of(text)[0]["id"] == "chatcmpl-omnillm"


def test_protocol_order_violations_raise_encode_error() -> None:
    encoder = StreamEncoder()
    encoder.encode(ResponseStarted("c", "m"))
    with pytest.raises(EncodeError):
        encoder.encode(ToolCallArgumentsDelta(3, "{}"))
    encoder.encode(ResponseCompleted("end_turn"))
    with pytest.raises(EncodeError):
        encoder.encode(TextDelta(0, "late"))


def test_losses_default_to_a_fresh_log() -> None:
    encoder = StreamEncoder()
    encoder.encode(ReasoningSignatureDelta(0, signature="s", source="anthropic_messages"))
    assert [x.code for x in encoder.losses.entries] == ["L-REASONING-OPAQUE"]


def test_usage_update_without_completed_usage_is_used() -> None:
    text, _ = run([ResponseStarted("c", "m"), UsageUpdate(Usage(3, 4)), ResponseCompleted("end_turn")])
    assert chunks_of(text)[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


# --------------------------------------------------------------------------- property tests

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=4))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8,
)


def _paths(value: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_paths(v, (*prefix, i)))
    return found


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_streams_raise_only_omnillm_errors(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(STREAMS)))
    events = sse_events(STREAMS[name])
    position = data.draw(st.integers(0, len(events) - 2))  # not [DONE]
    doc = json.loads(events[position].data)
    path = data.draw(st.sampled_from(_paths(doc)))
    action = data.draw(st.sampled_from(["replace", "delete"]))
    replacement = data.draw(json_values)
    if not path:
        doc = replacement
    else:
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if action == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(replacement)
    events[position] = SSEEvent("message", json.dumps(doc))
    decoder = StreamDecoder()
    out: List[StreamEvent] = []
    try:
        for sse in events:
            out.extend(decoder.feed(sse))
    except OmniLLMError:
        return
    # whatever decoded must also encode without a crash other than EncodeError
    with contextlib.suppress(OmniLLMError):
        encode(out)


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(st.text(max_size=6), max_size=5),
    args=st.lists(st.text(max_size=6), max_size=5),
)
def test_encoded_text_and_arguments_survive_decoding(texts: List[str], args: List[str]) -> None:
    events: List[StreamEvent] = [ResponseStarted("c", "m"), OutputItemAdded(0, "message")]
    events += [TextDelta(0, t) for t in texts]
    events += [ToolCallStarted(1, "call_1", "f")] + [ToolCallArgumentsDelta(1, a) for a in args]
    events += [ResponseCompleted("tool_use")]
    response = accumulate(decode(encode(events))[0])
    assert response.text == "".join(texts)
    assert response.tool_calls[0].arguments == "".join(args)


# --------------------------------------------------------------------------- writer fidelity


def test_usage_chunk_only_when_the_request_asked_for_it() -> None:
    events, _ = decode(STREAMS["usage"])
    assert any(isinstance(e, UsageUpdate) for e in events)
    for include_usage, expect in ((True, True), (None, True), (False, False)):
        encoder = StreamEncoder(include_usage=include_usage)
        text = "".join(piece for e in events for piece in encoder.encode(e)) + "".join(encoder.finish())
        usage_chunks = [c for c in chunks_of(text) if c.get("usage") is not None]
        assert bool(usage_chunks) is expect, include_usage
        assert text.endswith("data: [DONE]\n\n")
    # Through the driver: a transcoding proxy that knows the request passes it on.
    out = "".join(str(f) for f in transcode_stream([STREAMS["usage"]], PROTOCOL, PROTOCOL, include_usage=False))
    assert all(c.get("usage") is None for c in chunks_of(out))


def test_chunks_are_compact_json_like_the_api() -> None:
    text = encode(decode(STREAMS["text"])[0])
    for line in text.splitlines():
        if line.startswith("data: {"):
            body = line[len("data: ") :]
            assert body == json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)
