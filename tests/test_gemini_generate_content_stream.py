"""Tests for the Gemini ``streamGenerateContent?alt=sse`` stream codec.

The decoder is checked against hand-written streams, the real recorded streams and the
non-streaming codec (the folded stream must equal `decode_response` of the body the chunks
add up to). The encoder is checked by serving its output over 127.0.0.1 to the official
``google-genai`` client with ``generate_content_stream`` and comparing what the SDK
delivers with the source, and by decode-encode-decode identity.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from judge_gemini_generate_content import validate_response
from sdk_server import CannedServer
from streams_gemini_generate_content import SIGNATURE_A, SIGNATURE_B, STREAMS

from omnillm.errors import DecodeError, EncodeError, OmniLLMError, ProviderStreamError, TruncatedStreamError
from omnillm.model import ImagePart, LlmResponse, Message, OpaquePart, ReasoningPart, TextPart, ToolCallPart, Usage
from omnillm.protocols import gemini_generate_content as gemini
from omnillm.protocols.gemini_generate_content_stream import PROTOCOL, StreamDecoder, StreamEncoder, event_parser
from omnillm.report import LossLog
from omnillm.sse import SSEEvent
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

genai = pytest.importorskip("google.genai")
from google.genai import errors as genai_errors  # noqa: E402
from google.genai import types as genai_types  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / PROTOCOL / "streams"
FIXTURE_FILES = sorted(FIXTURES.glob("*.sse")) if FIXTURES.is_dir() else []
REQUIRED = ("text", "tool_call", "parallel_tool_calls", "reasoning", "usage", "safety", "prompt_blocked", "error")
COMPLETE = [name for name in STREAMS if name != "error"]


# --------------------------------------------------------------------------- helpers


def sse_events(text: str) -> List[SSEEvent]:
    parser = event_parser()
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


def run(events: List[StreamEvent]) -> Tuple[str, LossLog]:
    losses = LossLog(PROTOCOL)
    return encode(events, losses), losses


def chunks_of(text: str) -> List[Dict[str, Any]]:
    return [json.loads(e.data) for e in sse_events(text)]


def _streamed_arguments(text: str) -> bool:
    """Vertex ``partialArgs`` streams: their equivalent body is checked by value instead."""
    return '"willContinue"' in text or '"partialArgs"' in text


def equivalent_body(text: str) -> Dict[str, Any]:
    """The non-streaming body for the same content: the chunks' parts concatenated.

    Merges as the API's non-streaming answer has them: adjacent plain text parts form one
    text, adjacent thought parts one thought (unless both are signed); empty text parts
    without a signature carry nothing. The last values of the repeated fields win.
    """
    parts: List[Dict[str, Any]] = []
    top: Dict[str, Any] = {}
    finish = None
    for chunk in chunks_of(text):
        for candidate in chunk.get("candidates") or []:
            if candidate.get("index", 0) != 0:
                continue
            for part in (candidate.get("content") or {}).get("parts") or []:
                _merge_part(parts, dict(part))
            finish = candidate.get("finishReason", finish)
        for key in ("usageMetadata", "modelVersion", "responseId", "createTime", "promptFeedback"):
            if key in chunk:
                top[key] = chunk[key]
    if parts or finish is not None:
        candidate: Dict[str, Any] = {}
        if parts:
            candidate["content"] = {"parts": parts, "role": "model"}
        if finish is not None:
            candidate["finishReason"] = finish
        top["candidates"] = [candidate]
    return top


def _merge_part(parts: List[Dict[str, Any]], part: Dict[str, Any]) -> None:
    prev = parts[-1] if parts else None
    if set(part) == {"text"}:
        if not part["text"]:
            return
        if prev is not None and "text" in prev and set(prev) <= {"text", "thoughtSignature"}:
            prev["text"] += part["text"]
            return
    elif part.get("thought") is True and set(part) <= {"text", "thought", "thoughtSignature"}:
        fits = prev is not None and prev.get("thought") is True and set(prev) <= {"text", "thought", "thoughtSignature"}
        if fits and prev is not None and not ("thoughtSignature" in prev and "thoughtSignature" in part):
            prev["text"] += part["text"]
            if "thoughtSignature" in part:
                prev["thoughtSignature"] = part["thoughtSignature"]
            return
    parts.append(part)


def essentials(response: LlmResponse) -> Tuple[Any, ...]:
    return (
        response.id,
        response.model,
        response.created,
        response.output,
        response.stop_reason,
        response.raw_stop_reason,
        response.stop_sequence,
        response.usage,
    )


@pytest.fixture(scope="module")
def gemini_server() -> Iterator[CannedServer]:
    server = CannedServer("")
    server.start()
    yield server
    server.stop()


def sdk_chunks(server: CannedServer, text: str) -> List[Any]:
    """Serve ``text`` to the official client's streaming call; return the chunks it yields."""
    server.body = text.encode("utf-8")
    client = genai.Client(api_key="x", http_options=genai_types.HttpOptions(base_url=server.base_url))
    return list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))


def sdk_summary(chunks: List[Any]) -> Tuple[str, str, List[Tuple[Optional[str], str, Any]], Optional[str], Any]:
    """(text, thought text, calls, finish reason, last usage) as an SDK user accumulates them."""
    text, thoughts, calls = [], [], []
    finish = usage = None
    for chunk in chunks:
        for candidate in chunk.candidates or []:
            if (candidate.index or 0) != 0:
                continue
            for part in (candidate.content.parts if candidate.content else None) or []:
                if part.function_call is not None:
                    calls.append((part.function_call.id, part.function_call.name, part.function_call.args))
                elif part.text is not None:
                    (thoughts if part.thought else text).append(part.text)
            if candidate.finish_reason is not None:
                finish = candidate.finish_reason.value
        usage = chunk.usage_metadata or usage
    return "".join(text), "".join(thoughts), calls, finish, usage


def assert_sdk_matches(chunks: List[Any], response: LlmResponse) -> None:
    text, thoughts, calls, finish, usage = sdk_summary(chunks)
    assert text == response.text + (response.refusal or "")
    assert thoughts == "".join((r.text or "") + "\n\n".join(r.summary) for r in response.reasoning)
    expected_calls = [
        (None if c.synthetic_id else c.id, c.name, json.loads(c.arguments) if c.arguments else None)
        for c in response.tool_calls
    ]
    assert calls == expected_calls
    assert finish is not None
    stop = gemini._stop_from_wire(finish, bool(calls))
    assert stop == response.stop_reason or (response.stop_reason, finish) in (("refusal", "SAFETY"),)
    if response.usage is None:
        assert usage is None
    else:
        assert usage.prompt_token_count == (response.usage.input_tokens or None)
        output = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
        assert output == response.usage.output_tokens
        assert usage.thoughts_token_count == response.usage.reasoning_tokens
        assert usage.cached_content_token_count == response.usage.cached_input_tokens


def assert_wire_shape(text: str) -> None:
    """Every chunk is a valid GenerateContentResponse; only the last one has a finishReason."""
    chunks = chunks_of(text)
    for chunk in chunks:
        if "error" in chunk:
            assert chunk is chunks[-1] and set(chunk["error"]) == {"code", "message", "status"}
            continue
        validate_response(chunk)
    finishing = [i for i, c in enumerate(chunks) if any("finishReason" in x for x in c.get("candidates", []))]
    assert finishing in ([], [len(chunks) - 1])
    # One data line per event, each ended by CRLF CRLF as the API's captures are.
    events = text.split("\r\n\r\n")
    assert events[-1] == "" and all(e.startswith("data: ") and "\n" not in e and "\r" not in e for e in events[:-1])


# --------------------------------------------------------------------------- decoder: hand-written streams


def test_corpus_has_the_required_streams() -> None:
    assert set(REQUIRED) <= set(STREAMS)


@pytest.mark.parametrize("name", COMPLETE)
def test_corpus_chunks_are_valid_responses(name: str) -> None:
    for chunk in chunks_of(STREAMS[name]):
        validate_response(chunk)


def _usage(prompt: int, candidates: int = 0, thoughts: Optional[int] = None, cached: Optional[int] = None) -> Usage:
    return Usage(
        input_tokens=prompt,
        output_tokens=candidates + (thoughts or 0),
        total_tokens=prompt + candidates + (thoughts or 0),
        cached_input_tokens=cached,
        reasoning_tokens=thoughts,
        extensions={PROTOCOL: {"promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}},
    )


def test_text_events() -> None:
    events, decoder = decode(STREAMS["text"])
    assert decoder.terminated
    final = _usage(8, 24)
    assert events == [
        ResponseStarted("qX7LaPnWBI2mz7IPpN3T8Qs", "gemini-2.5-flash"),
        UsageUpdate(_usage(8)),
        OutputItemAdded(0, "message"),
        TextDelta(0, "The capital"),
        TextDelta(0, " of France is Paris — a city of"),
        TextDelta(0, " cafés, museums and 2.1 million people"),
        UsageUpdate(final),
        TextDelta(0, ". 🥐"),
        OutputItemDone(0),
        ResponseCompleted("end_turn", "STOP", usage=final),
    ]


def test_tool_call_is_whole_and_its_signature_comes_first() -> None:
    events, _ = decode(STREAMS["tool_call"])
    call = ToolCallPart("call_0", "get_weather", '{"city":"Paris","unit":"celsius"}', synthetic_id=True)
    assert events[2:8] == [
        OutputItemAdded(0, "reasoning"),
        ReasoningSignatureDelta(0, signature=SIGNATURE_A, source=PROTOCOL),
        OutputItemDone(0, ReasoningPart(signature=SIGNATURE_A, source=PROTOCOL)),
        ToolCallStarted(1, "call_0", "get_weather", synthetic_id=True),
        ToolCallArgumentsDelta(1, '{"city":"Paris","unit":"celsius"}'),
        OutputItemDone(1, call),
    ]
    # the final empty text part opens nothing
    assert events[-1] == ResponseCompleted("tool_use", "STOP", usage=_usage(29, 15, 45))
    assert accumulate(events).output == [ReasoningPart(signature=SIGNATURE_A, source=PROTOCOL), call]


def test_parallel_tool_calls_get_synthetic_ids_in_order() -> None:
    response = accumulate(decode(STREAMS["parallel_tool_calls"])[0])
    assert [(c.id, c.name) for c in response.tool_calls] == [
        ("call_0", "get_weather"),
        ("call_1", "get_stock_price"),
        ("call_2", "get_time"),
    ]
    assert json.loads(response.tool_calls[2].arguments) == {
        "timezone": "Europe/London",
        "format": {"hour24": True, "seconds": None},
    }
    assert all(c.synthetic_id for c in response.tool_calls)
    assert response.stop_reason == "tool_use"


def test_thought_fragments_form_one_reasoning_item_and_a_trailing_signature_keeps_its_carrier() -> None:
    events, _ = decode(STREAMS["reasoning"])
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == [
        "**Working out 17 * 23**\n\nI split it: 17 * 20 = 340,",
        " and 17 * 3 = 51.\n\n",
        "**Checking the sum**\n\n340 + 51 = 391.",
    ]
    response = accumulate(events)
    first = "**Working out 17 * 23**\n\nI split it: 17 * 20 = 340, and 17 * 3 = 51.\n\n"
    thought = first + "**Checking the sum**\n\n340 + 51 = 391."
    assert response.output == [
        ReasoningPart(text=thought, source=PROTOCOL),
        Message("assistant", [TextPart("17 * 23 = **391**.")]),
        ReasoningPart(signature=SIGNATURE_B, source=PROTOCOL),
        Message("assistant", [TextPart("")]),
    ]
    assert response.usage is not None and response.usage.reasoning_tokens == 160


def test_signed_thought_keeps_its_signature() -> None:
    response = accumulate(decode(STREAMS["reasoning_signed_thought"])[0])
    assert response.output[0] == ReasoningPart(
        text="**Picking a greeting**\n\nA short, warm reply fits.", signature=SIGNATURE_A, source=PROTOCOL
    )
    assert response.text == "Hello! How can I help you today?"


def test_usage_is_normalised_and_repeats_are_dropped() -> None:
    events, _ = decode(STREAMS["usage"])
    updates = [e.usage for e in events if isinstance(e, UsageUpdate)]
    assert len(updates) == 3  # every chunk changes candidatesTokenCount
    final = updates[-1]
    assert (final.input_tokens, final.output_tokens, final.total_tokens) == (1536, 22, 1558)
    assert (final.cached_input_tokens, final.reasoning_tokens) == (1280, 12)
    text_events, _ = decode(STREAMS["text"])
    assert len([e for e in text_events if isinstance(e, UsageUpdate)]) == 2


@pytest.mark.parametrize(
    ("name", "stop", "raw", "text"),
    [
        ("max_tokens", "max_tokens", "MAX_TOKENS", "Once upon a time"),
        ("safety", "content_filter", "SAFETY", "I can't help with"),
        ("prompt_blocked", "content_filter", "PROHIBITED_CONTENT", ""),
    ],
)
def test_stop_reasons(name: str, stop: str, raw: str, text: str) -> None:
    events, decoder = decode(STREAMS[name])
    assert decoder.terminated
    response = accumulate(events)
    assert (response.stop_reason, response.raw_stop_reason, response.text) == (stop, raw, text)


def test_prompt_blocked_is_complete_with_no_output() -> None:
    events, _ = decode(STREAMS["prompt_blocked"])
    assert [type(e).__name__ for e in events] == ["ResponseStarted", "UsageUpdate", "ResponseCompleted"]


@pytest.mark.parametrize("name", COMPLETE)
def test_stream_accumulates_like_the_non_streaming_body(name: str) -> None:
    streamed = accumulate(decode(STREAMS[name])[0])
    body = gemini.decode_response(equivalent_body(STREAMS[name]))
    assert essentials(streamed) == essentials(body)
    # Whole objects but the response-level extensions (docs/architecture.rst).
    assert streamed == dataclasses.replace(body, extensions=streamed.extensions)


@pytest.mark.parametrize("name", list(STREAMS))
def test_decoded_event_order(name: str) -> None:
    events, _ = decode(STREAMS[name])
    assert isinstance(events[0], ResponseStarted)
    assert isinstance(events[-1], (ResponseCompleted, ErrorEvent))
    opened, closed = set(), set()
    for event in events[1:-1]:
        assert not isinstance(event, (ResponseStarted, ResponseCompleted, ErrorEvent))
        if isinstance(event, (OutputItemAdded, ToolCallStarted)):
            assert event.index == len(opened | closed), "indices are assigned sequentially"
            opened.add(event.index)
        elif isinstance(event, OutputItemDone):
            assert event.index not in closed
            opened.discard(event.index)
            closed.add(event.index)
        elif isinstance(event, (TextDelta, ReasoningDelta, ReasoningSignatureDelta, ToolCallArgumentsDelta)):
            assert event.index in opened
        assert len(opened) <= 1, "one item is open at a time"
    if isinstance(events[-1], ResponseCompleted):
        assert not opened


# --------------------------------------------------------------------------- decoder: wire variants


def _data(chunk: Dict[str, Any]) -> str:
    return f"data: {json.dumps(chunk)}\n\n"


def _cand(parts: List[Dict[str, Any]], finish: Optional[str] = None, **extra: Any) -> Dict[str, Any]:
    candidate: Dict[str, Any] = {"content": {"role": "model", "parts": parts}, **extra}
    if finish is not None:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "modelVersion": "m", "responseId": "r"}


def test_content_after_a_finish_reason_continues_the_stream() -> None:
    """Recorded Vertex streams repeat STOP on every chunk; the later text is not a new item."""
    text = _data(_cand([{"text": "First "}], "STOP")) + _data(_cand([{"text": "Second"}], "STOP"))
    events, decoder = decode(text)
    assert decoder.terminated
    assert accumulate(events).output == [Message("assistant", [TextPart("First Second")])]
    assert sum(isinstance(e, ResponseCompleted) for e in events) == 1


def test_only_candidate_zero_is_decoded() -> None:
    two = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "B"}]}, "index": 1},
            {"content": {"role": "model", "parts": [{"text": "A"}]}},
        ]
    }
    text = _data(two) + _data({"candidates": [{"finishReason": "STOP", "index": 1}]})
    events, decoder = decode(text)
    assert not decoder.terminated, "candidate 1 finishing does not finish candidate 0"
    assert accumulate(events).text == "A"
    events, decoder = decode(text + _data({"candidates": [{"finishReason": "STOP"}]}))
    assert decoder.terminated and accumulate(events).text == "A"


def test_created_time_and_missing_ids() -> None:
    chunk = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}]}
    chunk["createTime"] = "2026-05-04T20:01:02.264968Z"
    events, _ = decode(_data(chunk))
    assert events[0] == ResponseStarted("", "", 1777924862)


def test_media_and_opaque_parts() -> None:
    image = {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
    code = {"executableCode": {"language": "PYTHON", "code": "print(1)"}}
    text = (
        _data(_cand([{"text": "Here is"}]))
        + _data(_cand([{"text": " a cat"}, image]))
        + _data(_cand([code]))
        + _data(_cand([{"text": "Done."}], "STOP"))
    )
    events, _ = decode(text)
    message = Message("assistant", [TextPart("Here is a cat"), ImagePart(data="iVBORw0KGgo=", media_type="image/png")])
    assert OutputItemDone(0, message) in events
    assert OutputItemDone(1, OpaquePart(PROTOCOL, code)) in events
    body = gemini.decode_response(equivalent_body(text))
    assert essentials(accumulate(events)) == essentials(body)


def test_text_parts_with_unknown_fields_are_kept_apart() -> None:
    text = _data(_cand([{"text": "a"}, {"text": "b", "partMetadata": {"k": 1}}, {"text": "c"}], "STOP"))
    response = accumulate(decode(text)[0])
    assert response.output == [
        Message(
            "assistant",
            [TextPart("a"), TextPart("b", extensions={PROTOCOL: {"partMetadata": {"k": 1}}}), TextPart("c")],
        )
    ]
    assert essentials(response) == essentials(gemini.decode_response(equivalent_body(text)))


def test_done_sentinel_empty_data_and_events_after_an_error_are_ignored() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(SSEEvent("message", "  ")) == []
    assert decoder.feed(SSEEvent("message", "[DONE]")) == []
    assert decoder.feed(SSEEvent("message", json.dumps({"error": {"code": 500, "message": "x"}})))
    assert decoder.terminated
    assert decoder.feed(SSEEvent("message", "not json")) == []
    assert decoder.finish() == []


def test_finish_is_idempotent() -> None:
    decoder = StreamDecoder()
    decoder.feed(SSEEvent("message", json.dumps(_cand([{"text": "x"}], "STOP"))))
    assert isinstance(decoder.finish()[-1], ResponseCompleted)
    assert decoder.finish() == []


# --------------------------------------------------------------------------- decoder: Vertex streamed arguments


def _streamed(parts: List[Dict[str, Any]], finish: Optional[str] = None) -> str:
    return "".join(_data(_cand([part], finish if k == len(parts) - 1 else None)) for k, part in enumerate(parts))


def _piece(path: str, more: bool = False, **value: Any) -> Dict[str, Any]:
    piece: Dict[str, Any] = {"jsonPath": path, **value}
    if more:
        piece["willContinue"] = True
    return piece


def test_streamed_arguments_are_assembled_by_json_path() -> None:
    fc = "functionCall"
    parts = [
        {fc: {"name": "plan", "willContinue": True}, "thoughtSignature": SIGNATURE_A},
        {fc: {"partialArgs": [_piece("$.title", True, stringValue="Trip to ")], "willContinue": True}},
        {fc: {"partialArgs": [_piece("$.title", stringValue="Rome")], "willContinue": True}},
        {fc: {"partialArgs": [_piece("$.days", numberValue=3), _piece("$.budget.eur", numberValue=120.5)],
              "willContinue": True}},
        {fc: {"partialArgs": [_piece("$.stops[0]", stringValue="Colosseum"), _piece("$.stops[1]", stringValue="Forum")],
              "willContinue": True}},
        {fc: {"partialArgs": [_piece("$['with kids']", boolValue=False), _piece("$.notes", nullValue="NULL_VALUE")],
              "willContinue": True}},
        {fc: {}},
        {"text": "Planned."},
    ]  # fmt: skip
    events, decoder = decode(_streamed(parts, "STOP"))
    assert decoder.terminated
    deltas = [e for e in events if isinstance(e, ToolCallArgumentsDelta)]
    assert len(deltas) == 1, "one delta, when the call closes"
    response = accumulate(events)
    assert response.output[0] == ReasoningPart(signature=SIGNATURE_A, source=PROTOCOL)
    call = response.tool_calls[0]
    assert (call.id, call.name, call.synthetic_id) == ("call_0", "plan", True)
    assert json.loads(call.arguments) == {
        "title": "Trip to Rome",
        "days": 3,
        "budget": {"eur": 120.5},
        "stops": ["Colosseum", "Forum"],
        "with kids": False,
        "notes": None,
    }
    assert response.text == "Planned." and response.stop_reason == "tool_use"


def test_streamed_call_without_arguments_and_a_call_opening_the_next() -> None:
    fc = "functionCall"
    parts = [{fc: {"name": "a", "willContinue": True}}, {fc: {"name": "b", "willContinue": True}}, {fc: {}}]
    response = accumulate(decode(_streamed(parts, "STOP"))[0])
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [("call_0", "a", ""), ("call_1", "b", "")]


@pytest.mark.parametrize(
    ("piece", "problem"),
    [
        (_piece("title", stringValue="x"), "does not start with '$'"),
        (_piece("$", stringValue="x"), "must address a member"),
        (_piece("$[0]", stringValue="x"), "indexes the arguments object"),
        (_piece("$.a..b", stringValue="x"), "not a plain member/index path"),
        (_piece("$.a[2]", stringValue="x"), "does not fit"),
        (_piece("$.a"), "has no stringValue"),
        (_piece("$" + ".a" * 200, stringValue="x"), "nests deeper than 128 levels"),
    ],
)
def test_bad_partial_arguments_name_the_path(piece: Dict[str, Any], problem: str) -> None:
    parts = [{"functionCall": {"name": "f", "willContinue": True, "partialArgs": [piece]}}]
    with pytest.raises(DecodeError) as info:
        decode(_streamed(parts))
    assert info.value.protocol == PROTOCOL
    assert info.value.path.startswith("event[0].candidates[0].content.parts[0].functionCall.partialArgs[0]")
    assert problem in info.value.problem


def test_path_conflicts_are_decode_errors() -> None:
    parts = [
        {"functionCall": {"name": "f", "willContinue": True, "partialArgs": [_piece("$.a", stringValue="x")]}},
        {"functionCall": {"partialArgs": [_piece("$.a.b", stringValue="y")], "willContinue": True}},
    ]
    with pytest.raises(DecodeError, match="does not fit"):
        decode(_streamed(parts))


def test_close_marker_without_an_open_call_is_a_decode_error() -> None:
    with pytest.raises(DecodeError) as info:
        decode(_data(_cand([{"functionCall": {}}])))
    assert info.value.path == "event[0].candidates[0].content.parts[0].functionCall.name"


# --------------------------------------------------------------------------- decoder: errors, truncation, framing


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


def test_error_chunk() -> None:
    events, decoder = decode(STREAMS["error"])
    assert decoder.terminated
    assert events[-1] == ErrorEvent("The model is overloaded. Please try again later.", "UNAVAILABLE", "503", 503)
    assert not any(isinstance(e, (ResponseCompleted, OutputItemDone)) for e in events)


def test_error_mid_stream_raises_after_the_deltas_with_the_partial() -> None:
    seen: List[StreamEvent] = []
    with pytest.raises(ProviderStreamError) as info:
        for event in decode_stream([STREAMS["error"].encode()], PROTOCOL):
            seen.append(event)
    assert "".join(e.text for e in seen if isinstance(e, TextDelta)) == "Partial answer"
    error = info.value
    assert (error.status, error.error_type, error.code, error.protocol) == (503, "UNAVAILABLE", "503", PROTOCOL)
    assert error.partial is not None and error.partial.text == "Partial answer"
    assert error.partial.usage is not None and error.partial.usage.input_tokens == 9


def test_bare_json_error_lines_are_read_like_google_genai() -> None:
    lines = '{\n  "error": {\n    "code": 429,\n    "message": "Quota {exceeded} \\"now\\"",\n'
    text = _data(_cand([{"text": "So far"}], "STOP")) + lines + '    "status": "RESOURCE_EXHAUSTED"\n  }\n}\n'
    for size in (1, 3, 7, len(text)):
        chunks = [text[i : i + size].encode() for i in range(0, len(text), size)]
        with pytest.raises(ProviderStreamError) as info:
            list(decode_stream(chunks, PROTOCOL))
        assert info.value.status == 429 and 'Quota {exceeded} "now"' in str(info.value)
        assert info.value.partial is not None and info.value.partial.text == "So far"


def test_last_event_without_its_blank_line_is_dispatched() -> None:
    text = STREAMS["text"].rstrip("\r\n")
    response = StreamAccumulator()
    list(decode_stream([text], PROTOCOL, accumulator=response))
    assert response.completed and response.response().text.endswith("🥐")


def test_a_cut_inside_the_last_event_is_truncation_not_a_decode_error() -> None:
    text = STREAMS["text"].rstrip("\r\n")[:-20]
    with pytest.raises(TruncatedStreamError) as info:
        list(decode_stream([text], PROTOCOL))
    assert info.value.partial is not None and info.value.partial.text.endswith("2.1 million people")


def test_an_unbalanced_bare_json_object_at_the_end_is_truncation() -> None:
    text = _data(_cand([{"text": "x"}], "STOP")) + '{\n  "error": {\n    "code": 500,\n'
    with pytest.raises(TruncatedStreamError):
        list(decode_stream([text], PROTOCOL))


def test_truncated_stream_raises_with_the_partial_response() -> None:
    events = sse_events(STREAMS["text_then_tool_call"])
    text = "".join(f"data: {e.data}\n\n" for e in events[:-1])
    with pytest.raises(TruncatedStreamError) as info:
        list(decode_stream([text.encode()], PROTOCOL))
    partial = info.value.partial
    assert partial is not None and partial.text == "Let me look that up in the docs."
    assert json.loads(partial.tool_calls[0].arguments)["query"] == "refund policy"


def test_event_parser_framing() -> None:
    parser = event_parser()
    out = parser.feed(': keep-alive\r\ndata: {"a":\r\ndata: 1}\r\n\r\n{"error": {"x": "}"}}\r\n')
    assert [e.data for e in out] == ['{"a":\n1}', '{"error": {"x": "}"}}']
    assert parser.feed('data: {"b": 2}') == []
    assert [e.data for e in parser.close()] == ['{"b": 2}']


def test_event_parser_bounds_a_bare_json_object() -> None:
    from omnillm.sse import SSEError, SSEParser

    parser = SSEParser(bare_json=True, max_event_bytes=64)
    with pytest.raises(SSEError):
        parser.feed("{\n" + '"k": "' + "v" * 100 + '",\n')


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


_PART0 = ("candidates", 0, "content", "parts", 0)


@pytest.mark.parametrize(
    ("name", "position", "mutate", "path"),
    [
        ("text", 0, _set("candidates", value={}), "event[0].candidates"),
        ("text", 1, _set("candidates", 0, value="x"), "event[1].candidates[0]"),
        ("text", 1, _set("candidates", 0, "index", value="0"), "event[1].candidates[0].index"),
        ("text", 1, _set("candidates", 0, "content", value=[]), "event[1].candidates[0].content"),
        ("text", 1, _set("candidates", 0, "content", "role", value="user"), "event[1].candidates[0].content.role"),
        ("text", 1, _set("candidates", 0, "content", "parts", value={}), "event[1].candidates[0].content.parts"),
        ("text", 2, _set(*_PART0, value=7), "event[2].candidates[0].content.parts[0]"),
        ("text", 2, _set(*_PART0, "text", value=5), "event[2].candidates[0].content.parts[0].text"),
        ("text", 2, _set(*_PART0, value={}), "event[2].candidates[0].content.parts[0]"),
        ("text", 3, _set("candidates", 0, "finishReason", value=1), "event[3].candidates[0].finishReason"),
        ("text", 0, _set("usageMetadata", "promptTokenCount", value="8"), "event[0].usageMetadata.promptTokenCount"),
        ("text", 0, _set("usageMetadata", value=[]), "event[0].usageMetadata"),
        ("text", 0, _set("modelVersion", value=3), "event[0].modelVersion"),
        ("text", 0, _set("responseId", value=[]), "event[0].responseId"),
        ("tool_call", 0, _set(*_PART0, "functionCall", "name", delete=True),
         "event[0].candidates[0].content.parts[0].functionCall.name"),
        ("tool_call", 0, _set(*_PART0, "functionCall", "args", value=[1]),
         "event[0].candidates[0].content.parts[0].functionCall.args"),
        ("tool_call", 0, _set(*_PART0, "thoughtSignature", value=1),
         "event[0].candidates[0].content.parts[0].thoughtSignature"),
        ("prompt_blocked", 0, _set("promptFeedback", "blockReason", value=2), "event[0].promptFeedback.blockReason"),
        ("error", 2, _set("error", "code", value="503"), "event[2].error.code"),
    ],
)  # fmt: skip
def test_malformed_input_names_protocol_and_path(name: str, position: int, mutate: Any, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(_replace(name, position, mutate))
    assert (info.value.protocol, info.value.path) == (PROTOCOL, path)
    assert PROTOCOL in str(info.value) and path in str(info.value)


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '"text"', "42"])
def test_bad_json_or_non_object_data(data: str) -> None:
    decoder = StreamDecoder()
    assert decoder.feed(SSEEvent("message", "{}"))
    with pytest.raises(DecodeError) as info:
        decoder.feed(SSEEvent("message", data))
    assert (info.value.protocol, info.value.path) == (PROTOCOL, "event[1]")


# --------------------------------------------------------------------------- decoder: real recorded streams


def _real(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.skipif(not FIXTURE_FILES, reason="shared fixtures not available")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_real_fixture_decodes_like_the_non_streaming_body(path: Path) -> None:
    text = _real(path)
    acc = StreamAccumulator()
    try:
        list(decode_stream([text.encode()], PROTOCOL, accumulator=acc))
    except ProviderStreamError as exc:
        assert "error_mid_stream" in path.stem
        assert (exc.status, exc.error_type) == (499, "CANCELLED")
        assert exc.partial is not None and exc.partial.text == "First Second "
        return
    assert acc.completed
    response = acc.response()
    for call in response.tool_calls:
        if call.arguments:
            json.loads(call.arguments)
    if _streamed_arguments(text):
        assert response.tool_calls and all(json.loads(c.arguments or "{}") is not None for c in response.tool_calls)
        return
    assert essentials(response) == essentials(gemini.decode_response(equivalent_body(text)))


@pytest.mark.skipif(not FIXTURE_FILES, reason="shared fixtures not available")
def test_real_streamed_arguments_fixture_values() -> None:
    path = FIXTURES / "vercel_vertex_stream_tool_call_arguments_nested.sse"
    if not path.exists():
        pytest.skip("fixture not available")
    (call,) = accumulate(decode(_real(path))[0]).tool_calls
    args = json.loads(call.arguments)
    assert call.name == "cookRecipe" and args["recipe"]["name"] == "Lasagna"
    assert args["recipe"]["ingredients"][0] == {"amount": "16 oz", "name": "Lasagna noodles"}
    assert len(args["recipe"]["ingredients"]) == 10 and len(args["recipe"]["steps"]) == 10
    assert args["recipe"]["steps"][1].endswith("drain and set aside.")
    assert args["recipe"]["steps"][4] == "In a 9x13 baking dish, spread a thin layer of meat sauce."


@pytest.mark.skipif(not FIXTURE_FILES, reason="shared fixtures not available")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_real_fixture_decode_encode_decode_is_identity(path: Path) -> None:
    events, _ = decode(_real(path))
    losses = LossLog(PROTOCOL)
    encoded = encode(events, losses)
    assert not losses.entries, [str(x) for x in losses.entries]
    assert_wire_shape(encoded)
    again, _ = decode(encoded)
    if _streamed_arguments(_real(path)):
        # The encoder writes calls whole, as the Gemini API does: same content, other event order.
        assert essentials(accumulate(again)) == essentials(accumulate(events))
    else:
        assert again == events


@pytest.mark.skipif(not FIXTURE_FILES, reason="shared fixtures not available")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_real_fixture_reencodes_for_the_sdk(path: Path, gemini_server: CannedServer) -> None:
    events, _ = decode(_real(path))
    if isinstance(events[-1], ErrorEvent):
        pytest.skip("error stream: covered by test_encoded_error_reaches_the_sdk")
    assert_sdk_matches(sdk_chunks(gemini_server, encode(events)), accumulate(events))


# --------------------------------------------------------------------------- encoder: our own streams


@pytest.mark.parametrize("name", list(STREAMS))
def test_decode_encode_decode_is_identity(name: str) -> None:
    events, _ = decode(STREAMS[name])
    losses = LossLog(PROTOCOL)
    encoded = encode(events, losses)
    assert not losses.entries, [str(x) for x in losses.entries]
    assert_wire_shape(encoded)
    again, decoder = decode(encoded)
    assert decoder.terminated
    assert again == events


@pytest.mark.parametrize("name", COMPLETE)
def test_encoded_stream_is_accepted_by_the_sdk(name: str, gemini_server: CannedServer) -> None:
    events, _ = decode(STREAMS[name])
    assert_sdk_matches(sdk_chunks(gemini_server, encode(events)), accumulate(events))


def test_encoder_writes_each_fragment_at_once() -> None:
    encoder = StreamEncoder()
    assert encoder.encode(ResponseStarted("r", "gemini-2.5-flash", 1700000000)) == []
    assert encoder.encode(UsageUpdate(Usage(5, 0))) == []
    assert encoder.encode(OutputItemAdded(0, "message")) == []
    (chunk,) = encoder.encode(TextDelta(0, "Hel"))
    assert json.loads(chunk[len("data: ") :]) == {
        "candidates": [{"content": {"parts": [{"text": "Hel"}], "role": "model"}, "index": 0}],
        "usageMetadata": {"promptTokenCount": 5},
        "modelVersion": "gemini-2.5-flash",
        "createTime": "2023-11-14T22:13:20Z",
        "responseId": "r",
    }
    assert len(encoder.encode(TextDelta(0, "lo"))) == 1
    assert encoder.encode(TextDelta(0, "")) == []
    assert encoder.encode(OutputItemDone(0)) == []
    (last,) = encoder.encode(ResponseCompleted("end_turn", usage=Usage(5, 2)))
    assert json.loads(last[len("data: ") :])["candidates"] == [{"finishReason": "STOP", "index": 0}]
    assert encoder.finish() == []


def test_tool_call_is_written_whole_when_it_is_done() -> None:
    encoder = StreamEncoder()
    encoder.encode(ResponseStarted("r", "m"))
    assert encoder.encode(ToolCallStarted(0, "toolu_01", "get_weather")) == []
    assert encoder.encode(ToolCallArgumentsDelta(0, '{"city": ')) == []
    assert encoder.encode(ToolCallArgumentsDelta(0, '"Paris"}')) == []
    (chunk,) = encoder.encode(OutputItemDone(0))
    part = json.loads(chunk[len("data: ") :])["candidates"][0]["content"]["parts"][0]
    assert part == {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_01"}}


# --------------------------------------------------------------------------- encoder: events from other protocols


USAGE = Usage(input_tokens=120, output_tokens=45, cached_input_tokens=100, reasoning_tokens=20)


def test_anthropic_like_thinking_text_and_tool_call(gemini_server: CannedServer) -> None:
    events: List[StreamEvent] = [
        ResponseStarted("msg_01A", "claude-sonnet-4-5"),
        UsageUpdate(Usage(120, 1)),
        OutputItemAdded(0, "reasoning"),
        ReasoningDelta(0, "User wants weather; "),
        ReasoningDelta(0, "call the tool."),
        ReasoningSignatureDelta(0, signature="EqQBCkgI", source="anthropic_messages"),
        OutputItemDone(0, ReasoningPart(text="User wants weather; call the tool.", signature="EqQBCkgI",
                                        source="anthropic_messages")),
        OutputItemAdded(1, "message"),
        TextDelta(1, "Checking "),
        TextDelta(1, "now."),
        OutputItemDone(1),
        ToolCallStarted(2, "toolu_01X", "get_weather"),
        ToolCallArgumentsDelta(2, '{"city": "Pa'),
        ToolCallArgumentsDelta(2, 'ris"}'),
        OutputItemDone(2, ToolCallPart("toolu_01X", "get_weather", '{"city":"Paris"}')),
        UsageUpdate(USAGE),
        ResponseCompleted("tool_use", "tool_use", usage=USAGE),
    ]  # fmt: skip
    text, losses = run(events)
    assert [(x.code, x.path) for x in losses.entries] == [("L-REASONING-OPAQUE", "output[0]")]
    assert_wire_shape(text)
    chunks = sdk_chunks(gemini_server, text)
    assert sdk_summary(chunks)[:4] == (
        "Checking now.",
        "User wants weather; call the tool.",
        [("toolu_01X", "get_weather", {"city": "Paris"})],
        "STOP",
    )
    usage = sdk_summary(chunks)[4]
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.thoughts_token_count) == (120, 25, 20)
    assert usage.cached_content_token_count == 100


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
    assert sorted((x.code, x.path) for x in losses.entries) == [
        ("L-REASONING-OPAQUE", "output[0]"),
        ("L-REASONING-SUMMARY", "output[0]"),
    ]
    response = accumulate(decode(text)[0])
    assert response.reasoning[0].text == "**Plan** greet.\n\n**Answer** short."
    assert response.text == "Hello!" and response.created == 1741476542


def test_chat_like_interleaved_calls_are_written_in_order_of_completion() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("chatcmpl-1", "gpt-4o", 1),
        ToolCallStarted(0, "call_a", "a"),
        ToolCallStarted(1, "call_b", "b"),
        ToolCallArgumentsDelta(1, '{"y":'),
        ToolCallArgumentsDelta(0, '{"x":'),
        ToolCallArgumentsDelta(0, "1}"),
        ToolCallArgumentsDelta(1, "2}"),
        OutputItemDone(0),
        OutputItemDone(1),
        ResponseCompleted("tool_use", "tool_calls"),
    ]
    text, losses = run(events)
    assert not losses.entries
    calls = accumulate(decode(text)[0]).tool_calls
    assert [(c.id, c.name, c.arguments, c.synthetic_id) for c in calls] == [
        ("call_a", "a", '{"x":1}', False),
        ("call_b", "b", '{"y":2}', False),
    ]


def test_calls_without_done_are_written_at_completion() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("r", "m"),
        ToolCallStarted(0, "c", "f"),
        ToolCallArgumentsDelta(0, "{}"),
    ]
    text, _ = run([*events, ResponseCompleted("tool_use")])
    parts = [p for c in chunks_of(text) for x in c["candidates"] for p in (x.get("content") or {}).get("parts", [])]
    assert parts == [{"functionCall": {"name": "f", "args": {}, "id": "c"}}]


def test_whole_items_without_deltas() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("r", "m"),
        OutputItemDone(0, Message("assistant", [TextPart("See "), ImagePart(data="AAAA", media_type="image/png")])),
        OutputItemDone(1, ReasoningPart(signature=SIGNATURE_A, source=PROTOCOL)),
        OutputItemDone(2, ToolCallPart("call_0", "f", '{"a":1}', synthetic_id=True)),
        OutputItemDone(3, OpaquePart("anthropic_messages", {"type": "web_search_tool_result"})),
        OutputItemDone(4, OpaquePart(PROTOCOL, {"executableCode": {"language": "PYTHON", "code": "1"}})),
        ResponseCompleted("tool_use", "STOP"),
    ]
    text, losses = run(events)
    assert [(x.code, x.path) for x in losses.entries] == [("L-OPAQUE", "output[3]")]
    assert_wire_shape(text)
    parts = [p for c in chunks_of(text) for x in c["candidates"] for p in (x.get("content") or {}).get("parts", [])]
    assert parts == [
        {"text": "See "},
        {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
        {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": SIGNATURE_A},
        {"executableCode": {"language": "PYTHON", "code": "1"}},
    ]


@pytest.mark.parametrize(
    ("stop", "raw", "finish", "loss"),
    [
        ("end_turn", None, "STOP", None),
        ("end_turn", "STOP", "STOP", None),
        ("max_tokens", "length", "MAX_TOKENS", None),
        ("content_filter", "RECITATION", "RECITATION", None),
        ("content_filter", "content_filter", "SAFETY", None),
        ("stop_sequence", "stop_sequence", "STOP", "L-FINISH-STOPSEQ"),
        ("pause", "pause_turn", "OTHER", "L-FINISH-PAUSE"),
        ("refusal", "refusal", "SAFETY", "L-FINISH-GRANULARITY"),
        ("error", "failed", "OTHER", "L-FINISH-GRANULARITY"),
        ("other", "cancelled", "OTHER", "L-FINISH-GRANULARITY"),  # a Responses status finer than "other"
        ("other", "OTHER", "OTHER", None),
    ],
)
def test_stop_reason_mapping(stop: str, raw: Optional[str], finish: str, loss: Optional[str]) -> None:
    text, losses = run([ResponseStarted("r", "m"), TextDelta(0, "x"), ResponseCompleted(stop, raw)])
    assert chunks_of(text)[-1]["candidates"] == [{"finishReason": finish, "index": 0}]
    assert [x.code for x in losses.entries] == ([loss] if loss else [])


def test_refusal_text_is_text_with_a_safety_finish(gemini_server: CannedServer) -> None:
    events: List[StreamEvent] = [ResponseStarted("c", "m"), RefusalDelta(0, "No."), ResponseCompleted("refusal")]
    text, losses = run(events)
    assert [x.code for x in losses.entries] == ["L-REFUSAL-PART", "L-FINISH-GRANULARITY"]
    assert sdk_summary(sdk_chunks(gemini_server, text))[0::3] == ("No.", "SAFETY")


def test_stop_sequence_losses_and_usage_losses_once() -> None:
    usage = Usage(10, 2, cache_creation_input_tokens=4, extensions={"anthropic_messages": {"service_tier": "std"}})
    events: List[StreamEvent] = [
        ResponseStarted("r", "m"),
        UsageUpdate(usage),
        TextDelta(0, "a"),
        TextDelta(0, "b"),
        ResponseCompleted("stop_sequence", "stop_sequence", stop_sequence="###", usage=usage),
    ]
    _, losses = run(events)
    assert sorted(x.code for x in losses.entries) == [
        "L-EXTENSION",
        "L-FINISH-STOPSEQ",
        "L-FINISH-STOPSEQ",
        "L-USAGE-CACHE-WRITE",
    ]


def test_extensions_of_streamed_items_are_reported() -> None:
    cited = Message("assistant", [TextPart("x", extensions={"anthropic_messages": {"citations": [{"a": 1}]}})])
    events: List[StreamEvent] = [
        ResponseStarted("r", "m"),
        OutputItemAdded(0, "message"),
        TextDelta(0, "x"),
        OutputItemDone(0, cited),
        ResponseCompleted("end_turn"),
    ]
    _, losses = run(events)
    assert [(x.code, x.path) for x in losses.entries] == [("L-EXTENSION", "output[0].content[0]")]


def test_invalid_arguments_are_kept_and_reported() -> None:
    events: List[StreamEvent] = [
        ResponseStarted("r", "m"),
        ToolCallStarted(0, "c", "f"),
        ToolCallArgumentsDelta(0, '{"a": tru'),
        OutputItemDone(0),
        ResponseCompleted("max_tokens", "max_tokens"),
    ]
    text, losses = run(events)
    assert [x.code for x in losses.entries] == ["L-TOOL-ARGS-INVALID-JSON"]
    call = accumulate(decode(text)[0]).tool_calls[0]
    assert json.loads(call.arguments) == {"_raw": '{"a": tru'}


def test_encoded_error_reaches_the_sdk(gemini_server: CannedServer) -> None:
    events: List[StreamEvent] = [
        ResponseStarted("r", "m"),
        TextDelta(0, "par"),
        ErrorEvent("Overloaded", "overloaded_error", status=529),
    ]
    text, _ = run(events)
    assert chunks_of(text)[-1] == {"error": {"code": 529, "message": "Overloaded", "status": "INTERNAL"}}
    with pytest.raises(genai_errors.APIError) as info:
        sdk_chunks(gemini_server, text)
    assert info.value.code == 529 and "Overloaded" in str(info.value)
    again, decoder = decode(text)
    assert decoder.terminated and again[-1] == ErrorEvent("Overloaded", "INTERNAL", "529", 529)


@pytest.mark.parametrize(
    ("event", "wire"),
    [
        (ErrorEvent("Rate limited", "rate_limit_error", status=429), {"code": 429, "status": "RESOURCE_EXHAUSTED"}),
        (ErrorEvent("bad", "invalid_request_error", code="400"), {"code": 400, "status": "INVALID_ARGUMENT"}),
        (ErrorEvent("boom"), {"code": 500, "status": "INTERNAL"}),
        (ErrorEvent("gone", "NOT_FOUND", status=404), {"code": 404, "status": "NOT_FOUND"}),
        (ErrorEvent("odd", status=418), {"code": 418, "status": "UNKNOWN"}),
    ],
)
def test_error_mapping(event: ErrorEvent, wire: Dict[str, Any]) -> None:
    text, _ = run([ResponseStarted("r", "m"), event])
    assert chunks_of(text)[-1] == {"error": {**wire, "message": event.message}}


def test_no_finish_reason_without_a_completed_response() -> None:
    text, _ = run([ResponseStarted("r", "m"), TextDelta(0, "x")])
    assert all("finishReason" not in c for chunk in chunks_of(text) for c in chunk["candidates"])
    with pytest.raises(TruncatedStreamError):
        list(decode_stream([text], PROTOCOL))


def test_protocol_order_violations_raise_encode_error() -> None:
    encoder = StreamEncoder()
    encoder.encode(ResponseStarted("r", "m"))
    with pytest.raises(EncodeError):
        encoder.encode(ToolCallArgumentsDelta(3, "{}"))
    encoder.encode(ToolCallStarted(0, "c", "f"))
    with pytest.raises(EncodeError):
        encoder.encode(ToolCallStarted(0, "c", "f"))
    with pytest.raises(EncodeError):
        encoder.encode(OutputItemDone(1, Message("user", [TextPart("x")])))
    encoder.encode(ResponseCompleted("end_turn"))
    with pytest.raises(EncodeError):
        encoder.encode(TextDelta(0, "late"))


def test_losses_default_to_a_fresh_log() -> None:
    encoder = StreamEncoder()
    encoder.encode(ReasoningSignatureDelta(0, signature="s", source="anthropic_messages"))
    encoder.encode(ReasoningSignatureDelta(0, signature="t", source="anthropic_messages"))
    assert [x.code for x in encoder.losses.entries] == ["L-REASONING-OPAQUE"]


# --------------------------------------------------------------------------- property tests

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4)
)
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


_MUTABLE = {**STREAMS, "streamed_arguments": _streamed(
    [
        {"functionCall": {"name": "f", "willContinue": True}},
        {"functionCall": {"partialArgs": [_piece("$.a[0].b", True, stringValue="x")], "willContinue": True}},
        {"functionCall": {"partialArgs": [_piece("$.a[0].b", stringValue="y")], "willContinue": True}},
        {"functionCall": {}},
    ],
    "STOP",
)}  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_streams_raise_only_omnillm_errors(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(_MUTABLE)))
    events = sse_events(_MUTABLE[name])
    position = data.draw(st.integers(0, len(events) - 1))
    doc = json.loads(events[position].data)
    path = data.draw(st.sampled_from(_paths(doc)))
    replacement = data.draw(json_values)
    if not path:
        doc = replacement
    else:
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(replacement)
    events[position] = SSEEvent("message", json.dumps(doc))
    decoder = StreamDecoder()
    out: List[StreamEvent] = []
    try:
        for sse in events:
            out.extend(decoder.feed(sse))
        out.extend(decoder.finish())
    except OmniLLMError:
        return
    accumulate(out)
    with contextlib.suppress(OmniLLMError):
        encode(out)


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=300), name=st.sampled_from(sorted(STREAMS)), at=st.integers(0, 10_000))
def test_garbage_bytes_raise_only_omnillm_errors(raw: bytes, name: str, at: int) -> None:
    body = STREAMS[name].encode()
    at %= len(body) + 1
    with contextlib.suppress(OmniLLMError):
        list(decode_stream([body[:at], raw, body[at:]], PROTOCOL))


_BARE_ERROR = (
    STREAMS["text"].rsplit("data:", 1)[0]
    + '{\n  "error": {\n    "code": 500,\n    "message": "a \\"}\\" brace",\n    "status": "INTERNAL"\n  }\n}\n'
)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from([*sorted(STREAMS), "bare_error"]), data=st.data())
def test_rechunking_bare_json_and_data_events_never_changes_the_events(name: str, data: st.DataObject) -> None:
    body = (_BARE_ERROR if name == "bare_error" else STREAMS[name]).encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=10)))
    edges = [0, *cuts, len(body)]

    def run(chunks: List[bytes]) -> Tuple[List[StreamEvent], Optional[str]]:
        events: List[StreamEvent] = []
        try:
            events.extend(decode_stream(chunks, PROTOCOL))
        except OmniLLMError as exc:
            return events, str(exc)
        return events, None

    whole = run([body])
    assert run([body[a:b] for a, b in zip(edges, edges[1:])]) == whole
    if name == "bare_error":
        assert whole[1] is not None and 'a "}" brace' in whole[1]


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(st.text(max_size=6), max_size=5),
    thoughts=st.lists(st.text(max_size=6), max_size=3),
    args=st.dictionaries(st.text(max_size=4), json_scalars, max_size=3),
)
def test_encoded_content_survives_decoding(texts: List[str], thoughts: List[str], args: Dict[str, Any]) -> None:
    events: List[StreamEvent] = [ResponseStarted("r", "m"), OutputItemAdded(0, "reasoning")]
    events += [ReasoningDelta(0, t) for t in thoughts] + [OutputItemDone(0), OutputItemAdded(1, "message")]
    events += [TextDelta(1, t) for t in texts] + [OutputItemDone(1), ToolCallStarted(2, "c", "f")]
    events += [ToolCallArgumentsDelta(2, json.dumps(args)), OutputItemDone(2), ResponseCompleted("tool_use")]
    response = accumulate(decode(encode(events))[0])
    assert response.text == "".join(texts)
    assert "".join(r.text or "" for r in response.reasoning) == "".join(thoughts)
    assert json.loads(response.tool_calls[0].arguments) == args


def test_a_foreign_token_seen_in_deltas_and_final_form_is_reported_once() -> None:
    redacted = ReasoningPart(encrypted_content="EmwKAhgB", redacted=True, source="anthropic_messages")
    events: List[StreamEvent] = [
        ResponseStarted("r", "m"),
        OutputItemAdded(0, "reasoning"),
        ReasoningSignatureDelta(0, encrypted_content="EmwKAhgB", source="anthropic_messages"),
        OutputItemDone(0, redacted),
        OutputItemDone(1, ReasoningPart(text="t", signature="sig", source="anthropic_messages")),
        ResponseCompleted("end_turn"),
    ]
    text, losses = run(events)
    assert [(x.code, x.path) for x in losses.entries] == [
        ("L-REASONING-OPAQUE", "output[0]"),
        ("L-REASONING-OPAQUE", "output[1]"),
    ]
    assert accumulate(decode(text)[0]).reasoning == [ReasoningPart(text="t", source=PROTOCOL)]
