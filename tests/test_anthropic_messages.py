"""The Anthropic Messages codec: round trips, canonical content, losses, malformed input."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pytest
from corpus_anthropic_messages import REQUESTS, RESPONSES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from judge_anthropic_messages import validate_request, validate_response

from omnillm import (
    AudioPart,
    BuiltinTool,
    CacheControl,
    Choice,
    DecodeError,
    EncodeError,
    FilePart,
    FunctionTool,
    ImagePart,
    LlmRequest,
    LlmResponse,
    LossLog,
    Message,
    OpaquePart,
    OutputFormat,
    ReasoningConfig,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    Usage,
)
from omnillm.protocols import anthropic_messages as am

P = "anthropic_messages"
FIXTURES = Path(__file__).parents[1].parent / "shared" / "fixtures" / "real" / P


def _encode_request(request: LlmRequest) -> Tuple[Dict[str, Any], Set[str], LossLog]:
    losses = LossLog(P)
    out = am.encode_request(request, losses)
    validate_request(out)
    return out, {loss.code for loss in losses.entries}, losses


def _encode_response(response: LlmResponse) -> Tuple[Dict[str, Any], Set[str], LossLog]:
    losses = LossLog(P)
    out = am.encode_response(response, losses)
    validate_response(out)
    return out, {loss.code for loss in losses.entries}, losses


def _request(*messages: Message, **fields: Any) -> LlmRequest:
    fields.setdefault("max_output_tokens", 1000)
    return LlmRequest(model="claude-sonnet-4-5", messages=list(messages), **fields)


# --------------------------------------------------------------------------- corpus round trips


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_corpus_request_round_trips_exactly(name: str) -> None:
    raw = REQUESTS[name]
    validate_request(raw)
    before = copy.deepcopy(raw)
    out, _, losses = _encode_request(am.decode_request(raw))
    assert out == raw
    assert not losses, [str(e) for e in losses.entries]
    assert raw == before, "decoding mutated its input"


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_corpus_response_round_trips_exactly(name: str) -> None:
    raw = RESPONSES[name]
    validate_response(raw)
    before = copy.deepcopy(raw)
    out, _, losses = _encode_response(am.decode_response(raw))
    assert out == raw
    assert not losses, [str(e) for e in losses.entries]
    assert raw == before


def test_encoding_does_not_mutate_the_canonical_request() -> None:
    request = am.decode_request(REQUESTS["tool_results"])
    snapshot = copy.deepcopy(request)
    am.encode_request(request)
    assert request == snapshot


# --------------------------------------------------------------------------- real fixtures

# Recorded bodies whose re-encoding differs, and exactly how (top-level key -> (recorded, re-encoded)).
# - "stop_details": null is the SDK default; it is not kept because a null field carried in
#   extensions would be reported as lost by every other codec.
# - "stop_sequence" is always sent (null unless a sequence matched), as the API does; this
#   recorded body lacks it.
KNOWN_FIXTURE_DIFFS: Dict[str, Dict[str, Tuple[Any, Any]]] = {
    "vercel_claude_opus_5_reasoning_high.json": {"stop_details": (None, "<absent>")},
    "vercel_refusal_no_details.json": {"stop_details": (None, "<absent>")},
    "vercel_json_tool.json": {"stop_sequence": ("<absent>", None)},
}


def _fixture_files(kind: str) -> List[Path]:
    folder = FIXTURES / kind
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".meta.json"))


def _top_level_diff(raw: Dict[str, Any], out: Dict[str, Any]) -> Dict[str, Tuple[Any, Any]]:
    keys = set(raw) | set(out)
    return {
        k: (raw.get(k, "<absent>"), out.get(k, "<absent>"))
        for k in keys
        if raw.get(k, "<absent>") != out.get(k, "<absent>")
    }


@pytest.mark.parametrize("kind", ["requests", "responses"])
def test_real_fixtures_round_trip(kind: str) -> None:
    files = _fixture_files(kind)
    if not files:
        pytest.skip(f"no recorded {kind} under {FIXTURES}")
    for path in files:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if kind == "requests":
            validate_request(raw)
            out, _, losses = _encode_request(am.decode_request(raw))
        else:
            validate_response(raw)
            out, _, losses = _encode_response(am.decode_response(raw))
        assert not losses, (path.name, [str(e) for e in losses.entries])
        assert _top_level_diff(raw, out) == KNOWN_FIXTURE_DIFFS.get(path.name, {}), path.name


def test_real_fixture_usage_and_server_blocks_decode() -> None:
    path = FIXTURES / "responses" / "anthropic_sdk_rec_test_runners__TestSyncRunTools_0_b05a67.json"
    if not path.exists():
        pytest.skip("fixture absent")
    response = am.decode_response(json.loads(path.read_text(encoding="utf-8")))
    kinds = [item.data["type"] for item in response.output if isinstance(item, OpaquePart)]
    assert kinds == ["server_tool_use", "web_search_tool_result"]
    assert response.usage is not None
    assert "server_tool_use" in response.usage.extensions[P]
    assert response.text


# --------------------------------------------------------------------------- canonical content on decode


def test_decode_text_request() -> None:
    req = am.decode_request(REQUESTS["text"])
    assert [m.role for m in req.messages] == ["system", "user"]
    assert req.messages[0].text == "You are a concise assistant."
    assert req.messages[0].raw_message == {"system": "You are a concise assistant."}
    assert req.messages[1].text == "What is the capital of Australia?"
    assert req.messages[1].raw_format == P and req.messages[1].raw_message is REQUESTS["text"]["messages"][0]
    assert req.max_output_tokens == 1024
    assert req.temperature is None and req.top_p is None and req.top_k is None


def test_decode_system_blocks_keep_cache_control() -> None:
    req = am.decode_request(REQUESTS["multi_turn"])
    system = req.messages[0]
    assert system.role == "system"
    assert [p.text for p in system.content if isinstance(p, TextPart)] == [
        "You are a patient maths tutor.",
        "Explain each step briefly.",
    ]
    second = system.content[1]
    assert isinstance(second, TextPart) and second.cache_control == CacheControl("ephemeral")
    assert [m.role for m in req.messages[1:]] == ["user", "assistant", "user"]


def test_decode_image_and_document_parts() -> None:
    image = am.decode_request(REQUESTS["image"]).messages[0].content
    assert isinstance(image[0], ImagePart) and image[0].media_type == "image/png" and image[0].data
    assert isinstance(image[1], ImagePart) and image[1].url == "https://example.com/cat.jpg"
    doc = am.decode_request(REQUESTS["document"]).messages[0].content
    pdf, notes = doc[0], doc[1]
    assert isinstance(pdf, FilePart) and pdf.media_type == "application/pdf" and pdf.title == "Quarterly report"
    assert pdf.cache_control == CacheControl("ephemeral", "1h")
    assert pdf.extensions == {P: {"context": "Internal, Q3 figures", "citations": {"enabled": True}}}
    assert isinstance(notes, FilePart) and notes.text == "Revenue grew 12%." and notes.media_type == "text/plain"


def test_decode_tools_and_tool_choice() -> None:
    req = am.decode_request(REQUESTS["tools"])
    fn, search = req.tools
    assert isinstance(fn, FunctionTool) and fn.name == "get_weather" and fn.strict is True
    assert fn.parameters is not None and fn.parameters["required"] == ["city"]
    assert fn.cache_control == CacheControl("ephemeral")
    assert isinstance(search, BuiltinTool) and search.type == "web_search_20250305" and search.source == P
    assert search.options == {"name": "web_search", "max_uses": 3}
    assert req.tool_choice == ToolChoice("auto") and req.parallel_tool_calls is None
    par = am.decode_request(REQUESTS["parallel_tool_calls"])
    assert par.tool_choice == ToolChoice("required") and par.parallel_tool_calls is False


def test_decode_custom_type_tool_keeps_the_type_key() -> None:
    raw = {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "custom", "name": "f", "input_schema": {"type": "object"}}],
    }
    req = am.decode_request(raw)
    assert isinstance(req.tools[0], FunctionTool)
    assert am.encode_request(req) == raw


def test_decode_tool_results_keep_one_user_turn_in_order() -> None:
    req = am.decode_request(REQUESTS["tool_results"])
    assistant, results = req.messages[1], req.messages[2]
    calls = [p for p in assistant.content if isinstance(p, ToolCallPart)]
    assert [(c.id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("toolu_01A", "get_weather", {"city": "Tokyo"}),
        ("toolu_01B", "get_time", {"city": "Tokyo"}),
    ]
    assert calls[0].arguments == '{"city":"Tokyo"}'
    assert results.role == "user"
    assert [type(p).__name__ for p in results.content] == ["ToolResultPart", "ToolResultPart", "TextPart"]
    first, second = results.content[0], results.content[1]
    assert isinstance(first, ToolResultPart) and isinstance(second, ToolResultPart)
    assert {first.call_id, second.call_id} == {c.id for c in calls}
    assert first.text == "18°C, light rain" and not first.is_error
    assert second.is_error and second.text == "clock service unavailable"


def test_decode_structured_output_and_reasoning() -> None:
    so = am.decode_request(REQUESTS["structured_output"]).output_format
    assert so is not None and so.type == "json_schema" and so.schema is not None and so.name is None
    req = am.decode_request(REQUESTS["reasoning"])
    assert req.reasoning == ReasoningConfig(budget_tokens=10000, enabled=True)
    thinking, redacted = req.messages[1].content[0], req.messages[1].content[1]
    assert isinstance(thinking, ReasoningPart) and thinking.source == P
    assert thinking.signature == "EqQBCkYIARgCKkBsig0001" and thinking.text == "I need the current weather in Paris."
    assert isinstance(redacted, ReasoningPart) and redacted.redacted and redacted.source == P
    assert redacted.encrypted_content == "EmwKAhgBEgy3redacted0001"


def test_decode_adaptive_thinking_and_effort() -> None:
    raw = {
        "model": "claude-opus-4-6",
        "max_tokens": 4000,
        "messages": [{"role": "user", "content": "x"}],
        "thinking": {"type": "adaptive", "display": "omitted"},
        "output_config": {"effort": "high"},
    }
    req = am.decode_request(raw)
    assert req.reasoning is not None
    assert (req.reasoning.enabled, req.reasoning.effort, req.reasoning.budget_tokens) == (True, "high", None)
    assert req.reasoning.extensions == {P: {"display": "omitted"}}
    out, codes, _ = _encode_request(req)
    assert out == raw and not codes


def test_decode_metadata_and_sampling() -> None:
    meta = am.decode_request(REQUESTS["metadata"])
    assert meta.user == "user-7f3a" and meta.metadata is None
    assert meta.service_tier == "default" and meta.stream is True
    sampling = am.decode_request(REQUESTS["sampling"])
    assert (sampling.temperature, sampling.top_p, sampling.top_k) == (0.3, 0.9, 40)
    assert sampling.stop == ["\n\nHuman:", "END"]


def test_system_role_inside_messages_stays_in_place() -> None:
    raw = {
        "model": "claude-opus-5",
        "max_tokens": 100,
        "system": "Top.",
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "system", "content": "From now on answer in French."},
            {"role": "user", "content": "Bye"},
        ],
    }
    req = am.decode_request(raw)
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "system", "user"]
    out, codes, _ = _encode_request(req)
    assert out == raw and not codes


def test_unknown_block_types_are_opaque_and_round_trip() -> None:
    block = {
        "type": "search_result",
        "source": "https://x.test",
        "title": "X",
        "content": [{"type": "text", "text": "t"}],
    }
    raw = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [block]}]}
    req = am.decode_request(raw)
    assert req.messages[0].content == [OpaquePart(source=P, data=block)]
    assert am.encode_request(req) == raw


def test_decode_response_items_and_usage() -> None:
    resp = am.decode_response(RESPONSES["tool_call"])
    assert isinstance(resp.output[0], Message) and resp.output[0].text == "Let me look that up."
    assert isinstance(resp.output[1], ToolCallPart) and resp.output[1].id == "toolu_01T1x"
    assert resp.stop_reason == "tool_use" and resp.raw_stop_reason == "tool_use"
    cached = am.decode_response(RESPONSES["usage_cached"]).usage
    assert cached is not None
    assert cached.input_tokens == 12 + 248 + 2048
    assert cached.cached_input_tokens == 2048 and cached.cache_creation_input_tokens == 248
    assert cached.output_tokens == 30 and cached.total_tokens == 2308 + 30
    assert cached.extensions[P]["cache_creation"] == {"ephemeral_5m_input_tokens": 248, "ephemeral_1h_input_tokens": 0}
    reasoning = am.decode_response(RESPONSES["reasoning"])
    assert reasoning.usage is not None and reasoning.usage.reasoning_tokens == 120
    assert isinstance(reasoning.output[0], ReasoningPart) and reasoning.output[0].source == P


def test_decode_refusal_and_stop_sequence() -> None:
    refusal = am.decode_response(RESPONSES["refusal"])
    assert refusal.stop_reason == "refusal" and refusal.output == []
    assert refusal.extensions[P]["stop_details"]["category"] == "cyber"
    seq = am.decode_response(RESPONSES["stop_sequence"])
    assert seq.stop_reason == "stop_sequence" and seq.stop_sequence == "END"


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
        ("something_new", "other"),
    ],
)
def test_stop_reasons_map_and_round_trip(raw: str, canonical: str) -> None:
    body = {**RESPONSES["text"], "stop_reason": raw}
    resp = am.decode_response(body)
    assert (resp.stop_reason, resp.raw_stop_reason) == (canonical, raw)
    losses = LossLog()
    out = am.encode_response(resp, losses)
    if raw != "something_new":
        assert out["stop_reason"] == raw and not losses
    else:
        assert out["stop_reason"] == "end_turn" and {e.code for e in losses.entries} == {"L-FINISH-GRANULARITY"}


# --------------------------------------------------------------------------- encoding from other formats


def test_system_developer_mid_conversation_are_hoisted() -> None:
    req = _request(
        Message.system("Be brief."),
        Message("developer", [TextPart("Use metric units.")]),
        Message.user("Weather?"),
        Message.system("Also be polite."),
        instructions="You are a weather bot.",
    )
    out, codes, losses = _encode_request(req)
    assert [b["text"] for b in out["system"]] == [
        "You are a weather bot.",
        "Be brief.",
        "Use metric units.",
        "Also be polite.",
    ]
    assert out["messages"] == [{"role": "user", "content": "Weather?"}]
    assert codes == {"L-ROLE-DEVELOPER", "L-ROLE-SYSTEM-POSITION"}
    moved = [e for e in losses.entries if e.code == "L-ROLE-SYSTEM-POSITION"]
    assert [e.path for e in moved] == ["messages[0]", "messages[1]", "messages[3]"]
    assert "mid-conversation" in moved[2].detail and "merged" in moved[0].detail


def test_single_foreign_system_message_becomes_a_string() -> None:
    out, codes, _ = _encode_request(_request(Message.system("Be brief."), Message.user("Hi")))
    assert out["system"] == "Be brief." and not codes


def test_tool_call_arguments_format_and_synthetic_ids_are_reported() -> None:
    req = _request(
        Message.user("x"),
        Message("assistant", [ToolCallPart("call_0", "f", '{"a": 1}', synthetic_id=True)]),
        Message("tool", [ToolResultPart("call_0", [TextPart("ok")], name="f", synthetic_id=True)]),
    )
    out, codes, losses = _encode_request(req)
    assert out["messages"][1]["content"][0]["input"] == {"a": 1}
    assert codes == {"L-TOOL-ARGS-FORMAT", "L-TOOL-ID-SYNTH"}
    assert [e.path for e in losses.entries if e.code == "L-TOOL-ID-SYNTH"] == [
        "messages[1].content[0].id",
        "messages[2].content[0].call_id",
    ]
    _, codes, _ = _encode_request(_request(Message("assistant", [ToolCallPart("c", "f", '{"a":1}')])))
    empty, empty_codes, _ = _encode_request(_request(Message("assistant", [ToolCallPart("c", "f", "")])))
    assert not codes and not empty_codes and empty["messages"][0]["content"][0]["input"] == {}


def test_parallel_switch_and_empty_schema_decode_to_their_canonical_defaults() -> None:
    raw = _base(
        tools=[{"name": "ping", "input_schema": {"type": "object", "properties": {}}}],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
    )
    req = am.decode_request(raw)
    assert req.tool_choice is None and req.parallel_tool_calls is False
    assert isinstance(req.tools[0], FunctionTool) and req.tools[0].parameters is None
    out, codes, _ = _encode_request(req)
    assert out == raw and not codes
    no_tools, codes, _ = _encode_request(_request(Message.user("x"), parallel_tool_calls=False))
    assert "tool_choice" not in no_tools and codes == {"L-TC-PARALLEL"}


def test_top_level_cache_control_is_an_extension() -> None:
    raw = _base(cache_control={"type": "ephemeral", "ttl": "1h"}, container="container_011")
    req = am.decode_request(raw)
    assert req.extensions == {P: {"cache_control": {"type": "ephemeral", "ttl": "1h"}, "container": "container_011"}}
    out, codes, _ = _encode_request(req)
    assert out == raw and not codes


def test_several_leading_system_messages_become_blocks() -> None:
    req = _request(Message.system("One."), Message.system("Two."), Message.user("x"))
    out, codes, _ = _encode_request(req)
    assert out["system"] == [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}]
    assert codes == {"L-ROLE-SYSTEM-POSITION"}


def test_empty_foreign_text_next_to_tool_calls_is_not_sent() -> None:
    req = _request(Message.user("x"), Message("assistant", [TextPart(""), ToolCallPart("call_1", "f", "{}")]))
    out, codes, _ = _encode_request(req)
    assert out["messages"][1]["content"] == [{"type": "tool_use", "id": "call_1", "name": "f", "input": {}}]
    assert not codes


def test_tool_messages_merge_into_one_user_turn() -> None:
    req = _request(
        Message.user("Weather and time?"),
        Message(
            "assistant",
            [ToolCallPart("call_1", "get_weather", '{"city":"Rome"}'), ToolCallPart("call_2", "get_time", "{}")],
        ),
        Message("tool", [ToolResultPart("call_1", [TextPart("sunny")])]),
        Message("tool", [ToolResultPart("call_2", [TextPart("noon")], is_error=True)]),
        Message.user("Thanks, and tomorrow?"),
    )
    out, codes, _ = _encode_request(req)
    assert not codes
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert out["messages"][1]["content"][0] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "get_weather",
        "input": {"city": "Rome"},
    }
    assert out["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": "noon", "is_error": True},
        {"type": "text", "text": "Thanks, and tomorrow?"},
    ]


def test_tool_message_without_results_is_an_encode_error() -> None:
    with pytest.raises(EncodeError) as info:
        am.encode_request(_request(Message.user("x"), Message("tool", [TextPart("orphan")])))
    assert info.value.protocol == P and info.value.path == "messages[1]"


def test_foreign_builtin_tool_and_opaque_part_are_dropped_with_losses() -> None:
    req = _request(
        Message.user("find news"),
        Message("assistant", [OpaquePart("open_ai_responses", {"type": "web_search_call", "id": "ws_1"})]),
        tools=[FunctionTool("f", parameters={"type": "object", "properties": {}}), BuiltinTool("web_search")],
    )
    out, codes, losses = _encode_request(req)
    assert [t["name"] for t in out["tools"]] == ["f"]
    assert codes == {"L-TOOL-CUSTOM", "L-OPAQUE"}
    tool_loss = next(e for e in losses.entries if e.code == "L-TOOL-CUSTOM")
    assert tool_loss.path == "tools[1]" and "web_search" in tool_loss.detail and P in tool_loss.detail
    assert len(out["messages"]) == 1, "an assistant turn left empty must not be sent"


def test_foreign_reasoning_is_dropped_from_request_history() -> None:
    req = _request(
        Message.user("q"),
        Message(
            "assistant",
            [ReasoningPart(text="thoughts", encrypted_content="gAAA", source="open_ai_responses"), TextPart("a")],
        ),
        Message.user("q2"),
    )
    out, codes, _ = _encode_request(req)
    assert out["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": "a"}]}
    assert codes == {"L-REASONING-OPAQUE"}
    assert "gAAA" not in json.dumps(out)


def test_foreign_reasoning_in_a_response_gets_an_empty_signature() -> None:
    resp = LlmResponse(
        id="resp_1",
        model="gpt-5",
        output=[
            ReasoningPart(summary=["Thinking about it."], encrypted_content="gAAA", source="open_ai_responses"),
            ReasoningPart(encrypted_content="gBBB", source="open_ai_responses"),
            Message.assistant("Answer."),
        ],
        usage=Usage(input_tokens=10, output_tokens=5),
    )
    out, codes, _ = _encode_response(resp)
    assert out["content"] == [
        {"type": "thinking", "thinking": "Thinking about it.", "signature": ""},
        {"type": "text", "text": "Answer."},
    ]
    assert codes == {"L-REASONING-OPAQUE", "L-REASONING-SUMMARY"}
    # Unsigned thinking decodes as foreign reasoning and is never replayed to Anthropic.
    back = am.decode_response(out)
    part = back.output[0]
    assert isinstance(part, ReasoningPart) and part.source is None and part.signature is None
    history, hist_codes, _ = _encode_request(_request(Message.user("q"), back.message, Message.user("more")))
    assert history["messages"][1]["content"] == [{"type": "text", "text": "Answer."}]
    assert hist_codes == {"L-REASONING-OPAQUE"}


def test_invalid_json_arguments_are_kept_under_raw() -> None:
    req = _request(Message.user("x"), Message("assistant", [ToolCallPart("call_9", "f", "{not json")]))
    out, codes, losses = _encode_request(req)
    assert out["messages"][1]["content"][0]["input"] == {"_raw": "{not json"}
    assert codes == {"L-TOOL-ARGS-INVALID-JSON"}
    assert losses.entries[0].path == "messages[1].content[0].arguments"


def test_sampling_parameters_clamped_dropped_and_never_invented() -> None:
    plain, codes, _ = _encode_request(_request(Message.user("x")))
    assert not {"temperature", "top_p", "top_k"} & set(plain) and not codes
    req = _request(
        Message.user("x"),
        temperature=1.5,
        top_k=20,
        n=2,
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=0.2,
        logprobs=True,
        top_logprobs=3,
        stop=["###"],
    )
    out, codes, losses = _encode_request(req)
    assert out["temperature"] == 1 and out["top_k"] == 20 and out["stop_sequences"] == ["###"]
    assert "top_p" not in out
    assert codes == {"L-SAMPLING-CLAMP", "L-N-CANDIDATES", "L-SEED", "L-PENALTIES", "L-LOGPROBS"}
    assert next(e for e in losses.entries if e.code == "L-SAMPLING-CLAMP").path == "temperature"


def test_max_tokens_default() -> None:
    out, codes, _ = _encode_request(LlmRequest(model="m", messages=[Message.user("x")]))
    assert out["max_tokens"] == 4096 and codes == {"L-MAXTOKENS-DEFAULT"}


@pytest.mark.parametrize(
    ("config", "max_tokens", "thinking", "effort", "codes"),
    [
        (ReasoningConfig(effort="high"), 8000, None, "high", set()),
        (ReasoningConfig(effort="medium", enabled=True), 8000, {"type": "adaptive"}, "medium", set()),
        (ReasoningConfig(budget_tokens=2048), 8000, {"type": "enabled", "budget_tokens": 2048}, None, set()),
        (ReasoningConfig(enabled=False), 8000, {"type": "disabled"}, None, set()),
        (
            ReasoningConfig(effort="minimal"),
            8000,
            {"type": "enabled", "budget_tokens": 1024},
            None,
            {"L-REASONING-EFFORT-BUDGET"},
        ),
        (ReasoningConfig(effort="none"), 8000, {"type": "disabled"}, None, {"L-REASONING-EFFORT-BUDGET"}),
        (
            ReasoningConfig(budget_tokens=24576, enabled=True),
            8000,
            {"type": "enabled", "budget_tokens": 7999},
            None,
            {"L-REASONING-EFFORT-BUDGET"},
        ),
        (
            ReasoningConfig(budget_tokens=512),
            8000,
            {"type": "enabled", "budget_tokens": 1024},
            None,
            {"L-REASONING-EFFORT-BUDGET"},
        ),
        (ReasoningConfig(budget_tokens=2048), 1000, None, None, {"L-REASONING-EFFORT-BUDGET"}),
        (ReasoningConfig(effort="high", summary="auto"), 8000, None, "high", {"L-REASONING-SUMMARY"}),
    ],
)
def test_reasoning_config_encoding(
    config: ReasoningConfig, max_tokens: int, thinking: Any, effort: Any, codes: Set[str]
) -> None:
    out, got, _ = _encode_request(_request(Message.user("x"), reasoning=config, max_output_tokens=max_tokens))
    assert out.get("thinking") == thinking
    assert out.get("output_config", {}).get("effort") == effort
    assert got == codes


def test_forced_tool_choice_with_thinking_is_downgraded() -> None:
    req = _request(
        Message.user("x"),
        tools=[FunctionTool("f", parameters={"type": "object"})],
        tool_choice=ToolChoice("tool", name="f"),
        parallel_tool_calls=False,
        reasoning=ReasoningConfig(budget_tokens=2048, enabled=True),
        max_output_tokens=8000,
    )
    out, codes, _ = _encode_request(req)
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert codes == {"L-TC-FORCED-THINKING"}


def test_tool_choice_variants() -> None:
    tools = [FunctionTool("a", parameters={"type": "object"}), FunctionTool("b", parameters={"type": "object"})]
    out, codes, _ = _encode_request(_request(Message.user("x"), tools=tools, parallel_tool_calls=False))
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True} and not codes
    one = ToolChoice("required", allowed=["b"])
    out, codes, _ = _encode_request(_request(Message.user("x"), tools=tools, tool_choice=one))
    assert out["tool_choice"] == {"type": "tool", "name": "b"} and not codes
    subset = ToolChoice("auto", allowed=["a"])
    out, codes, _ = _encode_request(_request(Message.user("x"), tools=tools, tool_choice=subset))
    assert out["tool_choice"] == {"type": "auto"} and codes == {"L-TC-SUBSET"}
    assert [t["name"] for t in out["tools"]] == ["a", "b"]
    none = ToolChoice("none")
    out, codes, _ = _encode_request(
        _request(Message.user("x"), tools=tools, tool_choice=none, parallel_tool_calls=True)
    )
    assert out["tool_choice"] == {"type": "none"} and codes == {"L-TC-PARALLEL"}


def test_function_tool_without_parameters_gets_an_empty_object_schema() -> None:
    out, codes, _ = _encode_request(_request(Message.user("x"), tools=[FunctionTool("ping", description="Ping")]))
    assert out["tools"] == [
        {"name": "ping", "description": "Ping", "input_schema": {"type": "object", "properties": {}}}
    ]
    assert not codes


@pytest.mark.parametrize(
    ("fmt", "expected", "codes"),
    [
        (
            OutputFormat("json_schema", schema={"type": "object"}, name="person", strict=True),
            {"format": {"type": "json_schema", "schema": {"type": "object"}}},
            {"L-SO-NAME", "L-SO-STRICT"},
        ),
        (OutputFormat("json_object"), None, {"L-SO-JSON-MODE"}),
        (OutputFormat("text"), None, set()),
    ],
)
def test_output_format_encoding(fmt: OutputFormat, expected: Any, codes: Set[str]) -> None:
    out, got, _ = _encode_request(_request(Message.user("x"), output_format=fmt))
    assert out.get("output_config") == expected and got == codes


def test_media_encoding() -> None:
    req = _request(
        Message(
            "user",
            [
                ImagePart(url="data:image/png;base64,AAAA", detail="high"),
                ImagePart(data="Qk0=", media_type="image/bmp"),
                AudioPart(data="UklG", format="wav"),
                FilePart(data="JVBE", media_type="application/pdf", filename="a.pdf"),
                FilePart(file_id="file_011"),
                TextPart("describe"),
            ],
        )
    )
    out, codes, _ = _encode_request(req)
    assert out["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
        {"type": "document", "source": {"type": "file", "file_id": "file_011"}},
        {"type": "text", "text": "describe"},
    ]
    assert codes == {"L-MEDIA-DETAIL", "L-MEDIA-TYPE", "L-AUDIO", "L-FILE-NAME"}


def test_request_level_options() -> None:
    req = _request(
        Message.user("x"),
        user="u-1",
        metadata={"team": "a"},
        service_tier="flex",
        prompt_cache_key="k",
        extensions={"open_ai_chat_completions": {"store": True}},
    )
    out, codes, _ = _encode_request(req)
    assert out["metadata"] == {"user_id": "u-1"} and "service_tier" not in out
    assert codes == {"L-METADATA", "L-SERVICE-TIER", "L-CACHE-MARKERS", "L-EXTENSION"}
    auto, codes, _ = _encode_request(_request(Message.user("x"), service_tier="auto"))
    assert auto["service_tier"] == "auto" and not codes


def test_response_from_another_format() -> None:
    resp = LlmResponse(
        id="chatcmpl-1",
        model="gpt-4o",
        output=[Message("assistant", [RefusalPart("I can't help with that.")])],
        stop_reason="refusal",
        raw_stop_reason="stop",
        usage=Usage(input_tokens=100, output_tokens=20, cached_input_tokens=60, reasoning_tokens=4, total_tokens=120),
        created=1700000000,
        choices=[Choice(index=1)],
    )
    out, codes, _ = _encode_response(resp)
    assert out["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert out["stop_reason"] == "refusal" and out["stop_sequence"] is None
    assert out["usage"] == {
        "input_tokens": 40,
        "cache_read_input_tokens": 60,
        "output_tokens": 20,
        "output_tokens_details": {"thinking_tokens": 4},
    }
    assert codes == {"L-REFUSAL-PART", "L-N-CANDIDATES", "L-CREATED"}
    back = am.decode_response(out).usage
    assert back is not None and (back.input_tokens, back.cached_input_tokens) == (100, 60)


@pytest.mark.parametrize(("canonical", "wire"), [("content_filter", "refusal"), ("error", "end_turn")])
def test_stop_reasons_without_equivalent(canonical: str, wire: str) -> None:
    resp = LlmResponse(id="r", model="m", output=[Message.assistant("x")], stop_reason=canonical)
    out, codes, _ = _encode_response(resp)
    assert out["stop_reason"] == wire and codes == {"L-FINISH-GRANULARITY"}


def test_tool_call_response_from_another_format() -> None:
    resp = LlmResponse(
        id="r",
        model="m",
        output=[ToolCallPart("call_1", "f", '{"a":1}', item_id="fc_1")],
        stop_reason="tool_use",
    )
    out, codes, _ = _encode_response(resp)
    assert out["content"] == [{"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}]
    assert out["usage"] == {"input_tokens": 0, "output_tokens": 0} and not codes


# --------------------------------------------------------------------------- malformed input


def _base(**over: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    body.update(over)
    return body


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ([], ""),
        ({"max_tokens": 1, "messages": []}, "model"),
        ({"model": "m", "messages": []}, "max_tokens"),
        (_base(messages={"role": "user"}), "messages"),
        (_base(messages=["hi"]), "messages[0]"),
        (_base(messages=[{"role": "robot", "content": "x"}]), "messages[0].role"),
        (_base(messages=[{"role": "user"}]), "messages[0].content"),
        (_base(messages=[{"role": "user", "content": 5}]), "messages[0].content"),
        (_base(messages=[{"role": "user", "content": [{"text": "x"}]}]), "messages[0].content[0].type"),
        (_base(messages=[{"role": "user", "content": [7]}]), "messages[0].content[0]"),
        (_base(messages=[{"role": "user", "content": [{"type": "text", "text": 1}]}]), "messages[0].content[0].text"),
        (
            _base(
                messages=[{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": []}]}]
            ),
            "messages[0].content[0].input",
        ),
        (
            _base(messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": 3}]}]),
            "messages[0].content[0].content",
        ),
        (
            _base(messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "url"}}]}]),
            "messages[0].content[0].source.url",
        ),
        (_base(system=5), "system"),
        (_base(tools=[{"name": "f"}]), "tools[0].input_schema"),
        (_base(tools=[{"type": 3}]), "tools[0].type"),
        (_base(tool_choice={"type": "sometimes"}), "tool_choice.type"),
        (_base(thinking={"type": "enabled"}), "thinking.budget_tokens"),
        (_base(temperature="hot"), "temperature"),
        (_base(stop_sequences=["a", 1]), "stop_sequences[1]"),
        (_base(metadata={"user_id": 5}), "metadata.user_id"),
        (_base(output_config={"format": {"type": "json_schema"}}), "output_config.format.schema"),
    ],
)
def test_malformed_requests_raise_decode_error_with_path(raw: Any, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        am.decode_request(raw)
    assert info.value.protocol == P
    assert info.value.path == path, str(info.value)
    assert str(info.value).startswith(P)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(type="error"), "type"),
        (lambda d: d.pop("id"), "id"),
        (lambda d: d.update(content={"type": "text"}), "content"),
        (lambda d: d.update(content=[None]), "content[0]"),
        (lambda d: d["usage"].pop("input_tokens"), "usage.input_tokens"),
        (lambda d: d.update(stop_reason=1), "stop_reason"),
    ],
)
def test_malformed_responses_raise_decode_error_with_path(mutate: Any, path: str) -> None:
    raw = copy.deepcopy(RESPONSES["text"])
    mutate(raw)
    with pytest.raises(DecodeError) as info:
        am.decode_response(raw)
    assert info.value.protocol == P and info.value.path == path, str(info.value)


# --------------------------------------------------------------------------- the judge itself


@pytest.mark.parametrize(
    "bad",
    [
        _base(messages=[{"role": "user", "content": "x", "name": "bob"}]),
        _base(messages=[{"role": "user", "content": [{"type": "text", "text": "x", "bogus": 1}]}]),
        _base(temperature=1.5),
        _base(tool_choice={"type": "none", "disable_parallel_tool_use": True}),
        {"model": "m", "messages": []},
    ],
)
def test_judge_rejects_invalid_requests(bad: Dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        validate_request(bad)


def test_judge_rejects_invalid_responses() -> None:
    with pytest.raises(AssertionError):
        validate_response({**RESPONSES["text"], "extra": 1})
    with pytest.raises(AssertionError):
        validate_response({**RESPONSES["text"], "content": [{"type": "thinking", "thinking": "x"}]})


# --------------------------------------------------------------------------- property tests

_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False), st.text(max_size=6)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=12,
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
@given(data=st.data(), kind=st.sampled_from(["request", "response"]))
def test_mutated_payloads_raise_only_decode_errors(data: st.DataObject, kind: str) -> None:
    corpus = REQUESTS if kind == "request" else RESPONSES
    doc = copy.deepcopy(corpus[data.draw(st.sampled_from(sorted(corpus)))])
    path = data.draw(st.sampled_from(_paths(doc)[1:]))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(_json_values)
    try:
        decoded = am.decode_request(doc) if kind == "request" else am.decode_response(doc)
    except DecodeError as exc:
        assert exc.protocol == P
        return
    with contextlib.suppress(EncodeError):
        if isinstance(decoded, LlmRequest):
            am.encode_request(decoded)
        else:
            am.encode_response(decoded)
