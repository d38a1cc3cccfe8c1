"""All ordered pairs of generation formats, requests and responses.

For every corpus payload of every source format and every target format:
- the output validates against the target's official SDK types (the judges);
- each essential either survives or is named by a loss reason: texts in order, system
  prompt, tool names and schemas, tool-call ids paired with results, max tokens,
  temperature, stop sequences, stop-reason category, usage counts;
- the round trip source -> target -> source keeps the essentials, and when neither leg
  is lossy it keeps everything.
"""

from __future__ import annotations

import base64
import importlib
import json
from dataclasses import fields, is_dataclass
from typing import Any, List, Optional, Set, Tuple

import pytest

import omnillm
from omnillm import (
    ConversionError,
    FilePart,
    FunctionTool,
    LlmRequest,
    LlmResponse,
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from omnillm.protocols import codec
from omnillm.wire import GENERATION_FORMATS

FORMATS = [f.value for f in GENERATION_FORMATS]


def _corpus(fmt: str) -> Any:
    return importlib.import_module(f"corpus_{fmt}")


def _judge(fmt: str) -> Any:
    return importlib.import_module(f"judge_{fmt}")


def _cases(kind: str) -> List[Tuple[str, str, str]]:
    out = []
    for source in FORMATS:
        for name in getattr(_corpus(source), kind):
            for target in FORMATS:
                out.append((source, name, target))
    return out


def _codes(report: omnillm.ConversionReport) -> Set[str]:
    return {loss.code for loss in report.losses}


# --------------------------------------------------------------------------- essentials


def _system_text(req: LlmRequest) -> str:
    texts = [req.instructions] if req.instructions else []
    texts += [m.text for m in req.messages if m.role in ("system", "developer")]
    return "\n".join(t for t in texts if t)


def _conversation_texts(req: LlmRequest) -> List[str]:
    out: List[str] = []
    for m in req.messages:
        if m.role in ("system", "developer"):
            continue
        for p in m.content:
            if isinstance(p, (TextPart, FilePart)) and p.text:
                # A plain-text document may travel as text where the target has no document.
                out.append(p.text)
            elif isinstance(p, FilePart) and p.media_type == "text/plain" and p.data:
                # ... or as a base64 text/plain file: its text must still be there.
                out.append(base64.b64decode(p.data).decode("utf-8"))
            elif isinstance(p, ToolResultPart):
                out.extend(q.text for q in p.content if isinstance(q, TextPart) and q.text)
    return out


def _calls(items: List[Any]) -> List[Tuple[str, str, Any]]:
    out = []
    for p in items:
        if isinstance(p, ToolCallPart):
            out.append((p.id, p.name, json.loads(p.arguments) if p.arguments else {}))
    return out


def _request_calls(req: LlmRequest) -> List[Tuple[str, str, Any]]:
    return [c for m in req.messages for c in _calls(m.content)]


def _result_ids(req: LlmRequest) -> List[str]:
    return [p.call_id for m in req.messages for p in m.content if isinstance(p, ToolResultPart)]


def _tools(req: LlmRequest) -> List[Tuple[str, Any]]:
    return [(t.name, t.parameters) for t in req.tools if isinstance(t, FunctionTool)]


def _stop_category(resp: LlmResponse) -> str:
    # Categories that every protocol can express; finer reasons collapse here.
    return {"stop_sequence": "end_turn", "refusal": "refusal"}.get(resp.stop_reason, resp.stop_reason)


def _assert_request_essentials(before: LlmRequest, after: LlmRequest, codes: Set[str], target: str) -> None:
    assert _system_text(after).split() == _system_text(before).split() or "L-ROLE-SYSTEM-POSITION" in codes
    texts_before, texts_after = _conversation_texts(before), _conversation_texts(after)
    if texts_before != texts_after:
        # Merging adjacent turns may join texts; the words and their order must survive.
        assert " ".join(texts_before).split() == " ".join(texts_after).split(), (texts_before, texts_after)
    assert [n for n, _ in _tools(after)] == [n for n, _ in _tools(before)]
    for (name, schema_before), (_, schema_after) in zip(_tools(before), _tools(after)):
        if schema_before:
            assert schema_after == schema_before or "L-SCHEMA-KEYWORDS" in codes, name
    calls_before = [(i, n, a) for i, n, a in _request_calls(before)]
    calls_after = _request_calls(after)
    assert [(n, a) for _, n, a in calls_after] == [(n, a) for _, n, a in calls_before]
    ids_after = {i for i, _, _ in calls_after}
    for result_id in _result_ids(after):
        assert result_id in ids_after, f"tool result {result_id} lost its call"
    assert len(_result_ids(after)) == len(_result_ids(before))
    if before.max_output_tokens is not None:
        assert after.max_output_tokens == before.max_output_tokens
    if before.temperature is not None:
        assert after.temperature == before.temperature or "L-SAMPLING-CLAMP" in codes
    if before.stop:
        assert after.stop == before.stop or "L-STOP-UNSUPPORTED" in codes


def _assert_response_essentials(before: LlmResponse, after: LlmResponse, codes: Set[str]) -> None:
    # A refusal may become plain text where the target has no refusal slot.
    said_before = (before.text + " " + (before.refusal or "")).split()
    said_after = (after.text + " " + (after.refusal or "")).split()
    assert said_after == said_before
    assert [(n, a) for _, n, a in _calls(after.output)] == [(n, a) for _, n, a in _calls(before.output)]
    assert [i for i, _, _ in _calls(after.output)] == [i for i, _, _ in _calls(before.output)] or (
        codes & {"L-TOOL-ID-SYNTH", "L-TOOL-ID-REWRITE"}
    )
    if _stop_category(after) != _stop_category(before):
        assert codes & {"L-FINISH-GRANULARITY", "L-FINISH-PAUSE", "L-FINISH-STOPSEQ", "L-FINISH-REFUSAL-CATEGORY"}, (
            before.stop_reason,
            after.stop_reason,
        )
    if before.usage is not None:
        assert after.usage is not None
        assert after.usage.input_tokens == before.usage.input_tokens
        assert after.usage.output_tokens == before.usage.output_tokens
        if before.usage.cached_input_tokens:
            assert after.usage.cached_input_tokens == before.usage.cached_input_tokens


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize(("source", "name", "target"), _cases("REQUESTS"))
def test_request_pair(source: str, name: str, target: str) -> None:
    raw = _corpus(source).REQUESTS[name]
    report = omnillm.transcode_request_report(raw, source, target)
    out = json.loads(report.value)
    _judge(target).validate_request(out)
    assert report.bridged == (source != target)
    codes = _codes(report)
    if source == target:
        assert out == raw and not report.lossy, report.loss_reasons
    before = codec(source).decode_request(raw)
    after = codec(target).decode_request(out)
    _assert_request_essentials(before, after, codes, target)


@pytest.mark.parametrize(("source", "name", "target"), _cases("RESPONSES"))
def test_response_pair(source: str, name: str, target: str) -> None:
    raw = _corpus(source).RESPONSES[name]
    report = omnillm.transcode_response_report(raw, source, target)
    out = json.loads(report.value)
    _judge(target).validate_response(out)
    codes = _codes(report)
    if source == target:
        assert out == raw and not report.lossy, report.loss_reasons
    before = codec(source).decode_response(raw)
    after = codec(target).decode_response(out)
    _assert_response_essentials(before, after, codes)


def _strip(value: Any) -> Any:
    """A canonical object as plain data, without provenance (raw_message, extensions)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _strip(getattr(value, f.name))
            for f in fields(value)
            if f.name not in ("raw_message", "raw_format", "extensions", "item_id")
        }
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("source", "name", "target"), [c for c in _cases("REQUESTS") if c[0] != c[2]])
def test_request_round_trip(source: str, name: str, target: str) -> None:
    raw = _corpus(source).REQUESTS[name]
    there = omnillm.transcode_request_report(raw, source, target)
    back = omnillm.transcode_request_report(there.value, target, source)
    _judge(source).validate_request(json.loads(back.value))
    before = codec(source).decode_request(raw)
    after = codec(source).decode_request(json.loads(back.value))
    codes = _codes(there) | _codes(back)
    _assert_request_essentials(before, after, codes, source)
    if not there.lossy and not back.lossy:
        assert _strip(after) == _strip(before)


@pytest.mark.parametrize(("source", "name", "target"), [c for c in _cases("RESPONSES") if c[0] != c[2]])
def test_response_round_trip(source: str, name: str, target: str) -> None:
    raw = _corpus(source).RESPONSES[name]
    there = omnillm.transcode_response_report(raw, source, target)
    back = omnillm.transcode_response_report(there.value, target, source)
    _judge(source).validate_response(json.loads(back.value))
    before = codec(source).decode_response(raw)
    after = codec(source).decode_response(json.loads(back.value))
    _assert_response_essentials(before, after, _codes(there) | _codes(back))
    if not there.lossy and not back.lossy:
        assert _strip(after) == _strip(before)


# --------------------------------------------------------------------------- strict mode and reports


def test_strict_raises_with_every_reason() -> None:
    raw = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "seed": 7,
        "presence_penalty": 0.5,
        "tools": [{"type": "custom", "name": "grammar_tool"}],
    }
    with pytest.raises(ConversionError) as info:
        omnillm.transcode_request(raw, "open_ai_chat_completions", "anthropic_messages", strict=True)
    message = str(info.value)
    assert "seed" in message and "presence_penalty" in message and "grammar_tool" in message
    assert len(info.value.loss_reasons) >= 3
    assert isinstance(info.value, omnillm.OmniLLMError)


def test_lossless_strict_returns_the_same_as_lenient() -> None:
    raw = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 10}
    lenient = omnillm.transcode_request(raw, "open_ai_chat_completions", "anthropic_messages")
    strict = omnillm.transcode_request(raw, "open_ai_chat_completions", "anthropic_messages", strict=True)
    assert lenient == strict


def test_loss_reasons_name_path_and_target() -> None:
    raw = {
        "model": "gpt-5",
        "input": "find news",
        "tools": [
            {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}, "strict": None},
            {"type": "web_search"},
        ],
    }
    report = omnillm.transcode_request_report(raw, "open_ai_responses", "anthropic_messages")
    reasons = [r for r in report.loss_reasons if r.startswith("tools[1]")]
    assert reasons, report.loss_reasons
    assert "web_search" in reasons[0] and "anthropic_messages" in reasons[0]


@pytest.mark.parametrize("raw", [b"{not json", "[]", b"\xff\xfe", 42])
def test_bad_top_level_input_names_the_protocol(raw: Any) -> None:
    with pytest.raises(omnillm.DecodeError) as info:
        omnillm.transcode_request(raw, "anthropic_messages", "open_ai_responses")
    assert str(info.value).startswith("anthropic_messages")


def test_unknown_wire_format_is_a_clear_error() -> None:
    with pytest.raises(omnillm.WireFormatError) as info:
        omnillm.transcode_request("{}", "openai", "anthropic_messages")
    assert "openai" in str(info.value) and "open_ai_chat_completions" in str(info.value)


def test_wire_format_enum_and_strings_are_interchangeable() -> None:
    raw = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    wf = omnillm.WireFormat
    a = omnillm.transcode_request(raw, wf.OPEN_AI_CHAT_COMPLETIONS, wf.OPEN_AI_RESPONSES)
    b = omnillm.transcode_request(json.dumps(raw), "open_ai_chat_completions", "open_ai_responses")
    c = omnillm.transcode_request(json.dumps(raw).encode(), "open_ai_chat_completions", "open_ai_responses")
    assert a == b == c


def test_large_body_transcodes_in_linear_time() -> None:
    # Not a timing assertion: the work done must grow linearly, which we check by size.
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": "word " * 200} for i in range(2001)]
    raw = {"model": "m", "messages": turns}
    out = json.loads(omnillm.transcode_request(raw, "open_ai_chat_completions", "anthropic_messages"))
    assert len(out["messages"]) == 2001
    assert len(json.dumps(raw)) > 2_000_000


def _first_text(resp: LlmResponse) -> Optional[str]:
    for item in resp.output:
        if isinstance(item, Message):
            return item.text
    return None


def test_reasoning_signature_never_crosses_providers() -> None:
    raw = {
        "model": "claude-x",
        "max_tokens": 2048,
        "messages": [
            {"role": "user", "content": "think"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "SIG-SECRET-123"},
                    {"type": "text", "text": "done"},
                ],
            },
            {"role": "user", "content": "again"},
        ],
    }
    for target in FORMATS:
        if target == "anthropic_messages":
            continue
        report = omnillm.transcode_request_report(raw, "anthropic_messages", target)
        assert "SIG-SECRET-123" not in report.value, target
        assert "L-REASONING-OPAQUE" in _codes(report), (target, report.loss_reasons)
    same = omnillm.transcode_request_report(raw, "anthropic_messages", "anthropic_messages")
    assert "SIG-SECRET-123" in same.value and not same.lossy
    decoded = codec("anthropic_messages").decode_request(raw)
    assert isinstance(decoded.messages[1].content[0], ReasoningPart)
