"""Property tests: random and mutated wire dicts into every decoder and encoder.

Whatever the input, only `OmniLLMError` subclasses may escape; never a bare
KeyError, TypeError, AttributeError, IndexError or ValueError, and never a hang.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
from typing import Any, Dict, List, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import omnillm
from omnillm.protocols import codec
from omnillm.wire import GENERATION_FORMATS

FORMATS = [f.value for f in GENERATION_FORMATS]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False), st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


def _payloads(kind: str) -> List[Tuple[str, Any]]:
    out = []
    for fmt in FORMATS:
        corpus = importlib.import_module(f"corpus_{fmt}")
        out.extend((fmt, payload) for payload in getattr(corpus, kind).values())
    return out


def _paths(value: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_paths(v, (*prefix, i)))
    return found


def _mutate(payload: Any, path: Tuple[Any, ...], action: str, replacement: Any) -> Any:
    doc = copy.deepcopy(payload)
    if not path:
        return replacement
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "delete":
        del parent[last]
    else:
        parent[last] = replacement
    return doc


def _exercise(fmt: str, kind: str, doc: Any) -> None:
    module = codec(fmt)
    decode = module.decode_request if kind == "REQUESTS" else module.decode_response
    try:
        decoded = decode(doc)
    except omnillm.OmniLLMError:
        return
    # Whatever decoded must encode into every format without a bare exception.
    for target in FORMATS:
        try:
            if kind == "REQUESTS":
                codec(target).encode_request(decoded)
            else:
                codec(target).encode_response(decoded)
        except omnillm.OmniLLMError:
            pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(FORMATS), kind=st.sampled_from(["REQUESTS", "RESPONSES"]), doc=json_values)
def test_random_json_only_raises_omnillm_errors(fmt: str, kind: str, doc: Any) -> None:
    if not isinstance(doc, dict):
        doc = {"model": "m", "messages": doc, "input": doc, "contents": doc, "output": doc, "choices": doc}
    _exercise(fmt, kind, doc)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kind=st.sampled_from(["REQUESTS", "RESPONSES"]))
def test_mutated_payloads_only_raise_omnillm_errors(data: st.DataObject, kind: str) -> None:
    fmt, payload = data.draw(st.sampled_from(_payloads(kind)))
    path = data.draw(st.sampled_from(_paths(payload)))
    action = data.draw(st.sampled_from(["delete", "replace"])) if path else "replace"
    replacement = data.draw(json_values)
    _exercise(fmt, kind, _mutate(payload, path, action, replacement))


@settings(max_examples=200, deadline=None)
@given(fmt=st.sampled_from(FORMATS), text=st.text(max_size=40))
def test_random_text_only_raises_omnillm_errors(fmt: str, text: str) -> None:
    for target in FORMATS:
        with contextlib.suppress(omnillm.OmniLLMError):
            omnillm.transcode_request(text, fmt, target)
        with contextlib.suppress(omnillm.OmniLLMError):
            omnillm.transcode_response(text.encode("utf-8", "surrogatepass"), fmt, target)


# --------------------------------------------------------------------------- deep nesting and NaN

import json  # noqa: E402
import math  # noqa: E402

import pytest  # noqa: E402

from omnillm.errors import DecodeError, EncodeError, StreamError  # noqa: E402
from omnillm.model import LlmResponse, Message, TextPart, Usage  # noqa: E402
from omnillm.report import LossLog  # noqa: E402
from omnillm.streaming import decode_stream, transcode_stream  # noqa: E402
from omnillm.transcode import dump_json  # noqa: E402

DEEP_TEXT = "[" * 100_000


def _deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"a": value}
    return value


# A request per format with a sampling temperature at that format's own path.
TEMPERATURE = {
    "open_ai_responses": ({"model": "m", "input": "hi", "temperature": 0.5}, ("temperature",)),
    "open_ai_chat_completions": (
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5},
        ("temperature",),
    ),
    "anthropic_messages": (
        {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5},
        ("temperature",),
    ),
    "gemini_generate_content": (
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"temperature": 0.5}},
        ("generationConfig", "temperature"),
    ),
    "bedrock_converse": (
        {
            "modelId": "m",
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "inferenceConfig": {"temperature": 0.5},
        },
        ("inferenceConfig", "temperature"),
    ),
}


@pytest.mark.parametrize("source", FORMATS)
@pytest.mark.parametrize("kind", ["request", "response"])
def test_json_text_nested_too_deeply_is_a_decode_error(source: str, kind: str) -> None:
    transcode = omnillm.transcode_request if kind == "request" else omnillm.transcode_response
    for raw in (DEEP_TEXT, DEEP_TEXT.encode(), '{"a":' * 50_000):
        with pytest.raises(DecodeError) as info:
            transcode(raw, source, "open_ai_chat_completions")
        assert info.value.protocol == source and "nested too deeply" in str(info.value)


def _tool_with_schema(fmt: str, schema: Any) -> Dict[str, Any]:
    """The request fields declaring one function tool whose parameters are ``schema``."""
    if fmt == "open_ai_responses":
        return {"tools": [{"type": "function", "name": "f", "parameters": schema}]}
    if fmt == "open_ai_chat_completions":
        return {"tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}]}
    if fmt == "anthropic_messages":
        return {"tools": [{"name": "f", "input_schema": schema}]}
    if fmt == "gemini_generate_content":
        return {"tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": schema}]}]}
    return {"toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": schema}}}]}}


@pytest.mark.parametrize("source", FORMATS)
@pytest.mark.parametrize("target", FORMATS)
def test_dict_bodies_nested_too_deeply_raise_with_protocol_and_path(source: str, target: str) -> None:
    """A dict body (no JSON text to reject) with one field nested 1800 levels deep."""
    raw, _ = TEMPERATURE[source]
    body = {**raw, **_tool_with_schema(source, _deep(1800))}
    with pytest.raises((DecodeError, EncodeError)) as info:
        omnillm.transcode_request(body, source, target)
    error = info.value
    assert error.protocol in (source, target)
    assert "nested" in str(error) and ".a.a.a" in error.path


@pytest.mark.parametrize("source", FORMATS)
@pytest.mark.parametrize("target", FORMATS)
def test_nan_and_infinity_raise_a_clear_encode_error(source: str, target: str) -> None:
    raw, path = TEMPERATURE[source]
    for bad in (float("nan"), float("inf"), float("-inf")):
        body = copy.deepcopy(raw)
        holder = body
        for step in path[:-1]:
            holder = holder[step]
        holder[path[-1]] = bad
        if math.isnan(bad):
            with pytest.raises(EncodeError) as info:
                omnillm.transcode_request(body, source, target)
            assert info.value.protocol == target and "temperature" in info.value.path
            assert "not a valid JSON number" in str(info.value)
            continue
        # An infinity may be clamped into the target's range (reported); never written.
        try:
            out = omnillm.transcode_request(body, source, target)
        except EncodeError as exc:
            assert "temperature" in exc.path
        else:
            json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} written"))
    # The same from JSON text: NaN is not JSON, so the text is refused as input (Python's
    # own parser would read it), naming the source protocol.
    text = json.dumps(raw).replace("0.5", "NaN")
    with pytest.raises(DecodeError) as decoding:
        omnillm.transcode_request(text, source, target)
    assert decoding.value.protocol == source and "NaN is not valid JSON" in str(decoding.value)


@pytest.mark.parametrize("target", FORMATS)
def test_a_nan_in_a_response_extension_is_an_encode_error(target: str) -> None:
    response = LlmResponse("r", "m", [Message("assistant", [TextPart("a")])], usage=Usage(1, 1))
    response.extensions = {target: {"score": math.nan}}
    out = codec(target).encode_response(response, LossLog(target))
    with pytest.raises(EncodeError) as info:
        dump_json(out, target)
    assert info.value.protocol == target and info.value.path.endswith("score")


@pytest.mark.parametrize("target", [f for f in FORMATS if f != "open_ai_chat_completions"])
def test_tool_arguments_nested_too_deeply_are_kept_raw_with_a_loss(target: str) -> None:
    for arguments in ("[" * 50_000, '{"a":' * 5_000 + "1" + "}" * 5_000):
        raw = {
            "model": "m",
            "messages": [
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "r"},
            ],
        }
        report = omnillm.transcode_request_report(raw, "open_ai_chat_completions", target)
        if target != "open_ai_responses":  # Responses carries argument text as text
            assert any("L-TOOL-ARGS-INVALID-JSON" in r for r in report.loss_reasons)


def _deep_event(fmt: str) -> Any:
    if fmt == "bedrock_converse":
        from streams_bedrock_converse import frame

        headers = [(":event-type", "messageStart"), (":content-type", "application/json"), (":message-type", "event")]
        return frame(headers, DEEP_TEXT.encode())
    names = {
        "open_ai_responses": "response.created",
        "anthropic_messages": "message_start",
    }
    head = f"event: {names[fmt]}\n" if fmt in names else ""
    return f"{head}data: {DEEP_TEXT}\n\n"


@pytest.mark.parametrize("fmt", FORMATS)
def test_stream_events_nested_too_deeply_are_decode_errors(fmt: str) -> None:
    with pytest.raises(DecodeError) as info:
        list(decode_stream([_deep_event(fmt)], fmt))
    assert info.value.protocol == fmt and "too deeply" in str(info.value)


def _nan_stream(fmt: str) -> Any:
    """A complete stream whose usage (or an unknown field) holds NaN read from the wire."""
    from omnillm.stream import OutputItemAdded, ResponseCompleted, ResponseStarted, TextDelta
    from omnillm.streaming import encode_stream

    events = [
        ResponseStarted("r", "m", 1),
        OutputItemAdded(0, "message"),
        TextDelta(0, "hi"),
        ResponseCompleted("end_turn"),
    ]
    frames = list(encode_stream(events, fmt))
    if fmt == "bedrock_converse":
        return b"".join(f for f in frames if isinstance(f, bytes))
    text = "".join(f for f in frames if isinstance(f, str))
    # An unknown numeric field with NaN on the first event carrying JSON data.
    return text.replace('data: {"', 'data: {"x_score":NaN,"', 1)


@pytest.mark.parametrize("source", [f for f in FORMATS if f != "bedrock_converse"])
def test_nan_in_a_stream_never_becomes_invalid_json(source: str) -> None:
    body = _nan_stream(source)
    for target in FORMATS:
        out: List[Any] = []
        try:
            for frame in transcode_stream([body], source, target):
                out.append(frame)
        except (DecodeError, EncodeError, StreamError):  # refused on the way in or out, never written
            pass
        text = "".join(f if isinstance(f, str) else "" for f in out)
        assert "NaN" not in text and "Infinity" not in text
