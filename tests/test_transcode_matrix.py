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
from typing import Any, Dict, List, Optional, Set, Tuple

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


# Loss codes that concern only what the lossless check leaves out, and the top-level
# canonical field each one is about (docs/mapping.rst, "Benign losses"). L-EXTENSION is
# about extension fields, which `_strip` drops already; when its path is a top-level
# canonical field (Gemini and Bedrock report ``user`` / ``stream`` so), that field too.
BENIGN = {"L-EXTENSION": None, "L-CREATED": "created", "L-RESPONSE-ID": "id", "L-RESPONSE-MODEL": "model"}


def _benign_fields(*reports: Any) -> Optional[Set[str]]:
    """The canonical fields the losses of ``reports`` excuse, or None when one is not benign."""
    excused: Set[str] = set()
    for report in reports:
        for loss in report.losses:
            if loss.code not in BENIGN:
                return None
            excused.add(BENIGN[loss.code] or loss.path)
    return excused


def _assert_keeps_everything(before: Any, after: Any, *reports: Any) -> bool:
    """Where every loss is benign, the round trip keeps everything else; True when checked."""
    excused = _benign_fields(*reports)
    if excused is None:
        return False
    kept_before, kept_after = _normalised(_strip(before)), _normalised(_strip(after))
    for key in excused:
        kept_before.pop(key, None)
        kept_after.pop(key, None)
    assert kept_after == kept_before, [str(loss) for r in reports for loss in r.losses]
    return True


_USAGE_COUNTS = ("cached_input_tokens", "cache_creation_input_tokens", "reasoning_tokens")


def _normalised(plain: Dict[str, Any]) -> Dict[str, Any]:
    """Equivalent forms made equal (docs/mapping.rst, "Benign losses").

    * A usage count the source left unknown is written as 0 where the target's SDK
      requires the field, and reads back as 0: None and 0 compare equal.
    * The system prompt as ``instructions`` or as leading text-only system messages
      (Responses writes the latter as ``instructions``, mapping table 1.2).
    * ``raw_stop_reason`` is the provider's own word: a protocol with one word for a
      canonical reason gives it back as that word (Bedrock ``guardrail_intervened`` ->
      Chat ``content_filter`` -> Bedrock ``content_filtered``); ``stop_reason`` is compared.
    * A tool result's function ``name``, which Gemini and Bedrock need and fill in from
      the call the result answers: information gained, not lost.
    """
    out = dict(plain)
    out.pop("raw_stop_reason", None)
    for message in out.get("messages", []):
        for part in message["content"]:
            if isinstance(part, dict) and "call_id" in part and "is_error" in part:
                part.pop("name", None)
    usage = out.get("usage")
    if isinstance(usage, dict):
        out["usage"] = {k: (v or 0) if k in _USAGE_COUNTS else v for k, v in usage.items()}
    if "messages" in out:
        messages = list(out["messages"])
        system = [out["instructions"]] if out.get("instructions") else []
        while (
            messages
            and messages[0]["role"] == "system"
            and all(
                set(p) <= {"text", "cache_control"} and p.get("cache_control") is None for p in messages[0]["content"]
            )
        ):
            system.append("\n".join(p["text"] for p in messages.pop(0)["content"]))
        out["instructions"], out["messages"] = system, messages
    return out


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
    _assert_keeps_everything(before, after, there, back)


@pytest.mark.parametrize(("source", "name", "target"), [c for c in _cases("RESPONSES") if c[0] != c[2]])
def test_response_round_trip(source: str, name: str, target: str) -> None:
    raw = _corpus(source).RESPONSES[name]
    there = omnillm.transcode_response_report(raw, source, target)
    back = omnillm.transcode_response_report(there.value, target, source)
    _judge(source).validate_response(json.loads(back.value))
    before = codec(source).decode_response(raw)
    after = codec(source).decode_response(json.loads(back.value))
    _assert_response_essentials(before, after, _codes(there) | _codes(back))
    _assert_keeps_everything(before, after, there, back)


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


# --------------------------------------------------------------------------- loss is never silent


_FOREIGN = {"other_protocol": {"secret_field": 1}}


def _response_with_extensions_on(where: str) -> LlmResponse:
    from omnillm.model import Usage

    message = Message("assistant", [TextPart("hi")])
    call = ToolCallPart("c1", "f", "{}")
    usage = Usage(1, 1)
    response = LlmResponse("r", "m", [message, call], stop_reason="tool_use", usage=usage)
    target = {"message": message, "part": message.content[0], "tool_call": call, "usage": usage, "response": response}
    target[where].extensions = dict(_FOREIGN)
    return response


@pytest.mark.parametrize("target", FORMATS)
@pytest.mark.parametrize("where", ["message", "part", "tool_call", "usage", "response"])
def test_every_response_encoder_reports_foreign_extensions(target: str, where: str) -> None:
    """Fields of another protocol riding on any object are reported, never silently dropped."""
    from omnillm.report import LossLog

    losses = LossLog(target)
    out = codec(target).encode_response(_response_with_extensions_on(where), losses)
    assert "secret_field" not in json.dumps(out)
    assert any(loss.code == "L-EXTENSION" and "secret_field" in loss.detail for loss in losses.entries), (
        f"{target}: extensions on the {where} vanished without a loss"
    )


@pytest.mark.parametrize("target", [f for f in FORMATS if f != "open_ai_chat_completions"])
def test_chat_annotations_sent_elsewhere_are_reported(target: str) -> None:
    response = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "a",
                    "refusal": None,
                    "annotations": [
                        {
                            "type": "url_citation",
                            "url_citation": {"url": "http://x", "title": "t", "start_index": 0, "end_index": 1},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    report = omnillm.transcode_response_report(response, "open_ai_chat_completions", target)
    assert any("annotations" in reason for reason in report.loss_reasons), report.loss_reasons


@pytest.mark.parametrize("kind", ["REQUESTS", "RESPONSES"])
def test_the_keeps_everything_property_is_exercised_for_every_pair(kind: str) -> None:
    """Each ordered pair has corpus cases whose round trip has only benign losses."""
    transcode = omnillm.transcode_request_report if kind == "REQUESTS" else omnillm.transcode_response_report
    checked: Set[Tuple[str, str]] = set()
    for source, name, target in _cases(kind):
        if source == target or (source, target) in checked:
            continue
        raw = getattr(_corpus(source), kind)[name]
        there = transcode(raw, source, target)
        back = transcode(there.value, target, source)
        if _benign_fields(there, back) is not None:
            checked.add((source, target))
    missing = {(s, t) for s in FORMATS for t in FORMATS if s != t} - checked
    assert not missing, f"no lossless {kind.lower()} round trip for {sorted(missing)}"
