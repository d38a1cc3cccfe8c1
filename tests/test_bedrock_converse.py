"""The Bedrock Converse codec: exact round trips, canonical content, losses, malformed input."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pytest
from corpus_bedrock_converse import CLAUDE, NOVA, REQUESTS, RESPONSES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from judge_bedrock_converse import validate_request, validate_response

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
    OmniLLMError,
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
from omnillm.protocols import bedrock_converse as bc

P = "bedrock_converse"
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / P
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="


def _encode_request(request: LlmRequest) -> Tuple[Dict[str, Any], Set[str], LossLog]:
    losses = LossLog(P)
    out = bc.encode_request(request, losses)
    validate_request(out)
    return out, {loss.code for loss in losses.entries}, losses


def _encode_response(response: LlmResponse) -> Tuple[Dict[str, Any], Set[str], LossLog]:
    losses = LossLog(P)
    out = bc.encode_response(response, losses)
    validate_response(out)
    return out, {loss.code for loss in losses.entries}, losses


def _request(*messages: Message, **fields: Any) -> LlmRequest:
    fields.setdefault("model", CLAUDE)
    return LlmRequest(messages=list(messages), **fields)


def _user(*blocks: Any) -> Dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def _body(*messages: Dict[str, Any], **over: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"modelId": CLAUDE, "messages": list(messages) or [_user({"text": "hi"})]}
    body.update(over)
    return body


# --------------------------------------------------------------------------- corpus round trips


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_corpus_request_round_trips_exactly(name: str) -> None:
    raw = REQUESTS[name]
    validate_request(raw)
    before = copy.deepcopy(raw)
    out, _, losses = _encode_request(bc.decode_request(raw))
    assert out == raw
    assert not losses, [str(e) for e in losses.entries]
    assert raw == before, "decoding mutated its input"


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_corpus_response_round_trips_exactly(name: str) -> None:
    raw = RESPONSES[name]
    validate_response(raw)
    before = copy.deepcopy(raw)
    out, _, losses = _encode_response(bc.decode_response(raw))
    assert out == raw
    assert not losses, [str(e) for e in losses.entries]
    assert raw == before


@pytest.mark.parametrize("kind", ["requests", "responses"])
def test_real_fixtures_round_trip(kind: str) -> None:
    folder = FIXTURES / kind
    files = sorted(p for p in folder.glob("*.json") if not p.name.endswith(".meta.json")) if folder.is_dir() else []
    if not files:
        pytest.skip(f"no recorded {kind} under {folder}")
    for path in files:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if kind == "requests":
            validate_request(raw)
            out, _, losses = _encode_request(bc.decode_request(raw))
        else:
            validate_response(raw)
            out, _, losses = _encode_response(bc.decode_response(raw))
        assert out == raw and not losses, path.name


def test_a_bare_body_without_model_id_round_trips() -> None:
    raw = {k: v for k, v in REQUESTS["text"].items() if k != "modelId"}
    request = bc.decode_request(raw)
    assert request.model == ""
    out, _, losses = _encode_request(request)
    assert out == raw and not losses


def test_encoding_does_not_mutate_the_canonical_request() -> None:
    for name in ("tool_results", "reasoning", "document", "structured_output"):
        request = bc.decode_request(REQUESTS[name])
        snapshot = copy.deepcopy(request)
        bc.encode_request(request)
        assert request == snapshot, name


# --------------------------------------------------------------------------- decoding


def test_decode_text_request() -> None:
    request = bc.decode_request(REQUESTS["text"])
    assert request.model == CLAUDE and request.max_output_tokens == 1024
    system, user = request.messages
    assert (system.role, system.text) == ("system", "You are a concise assistant.")
    assert (user.role, user.text) == ("user", "What is the capital of Australia?")


def test_cache_points_attach_to_the_block_before_them() -> None:
    request = bc.decode_request(REQUESTS["multi_turn"])
    system = request.messages[0]
    assert [p.cache_control for p in system.content if isinstance(p, TextPart)] == [None, CacheControl("ephemeral")]
    last = request.messages[-1].content
    assert len(last) == 1 and isinstance(last[0], TextPart) and last[0].cache_control == CacheControl("ephemeral", "1h")
    (tool,) = bc.decode_request(REQUESTS["tools"]).tools
    assert isinstance(tool, FunctionTool) and tool.cache_control == CacheControl("ephemeral") and tool.strict is True


def test_a_cache_point_with_nothing_before_it_is_opaque() -> None:
    raw = _body(
        _user(
            {"cachePoint": {"type": "default"}},
            {"text": "x"},
            {"cachePoint": {"type": "default"}},
            {"cachePoint": {"type": "default"}},
        )
    )
    content = bc.decode_request(raw).messages[0].content
    assert isinstance(content[0], OpaquePart) and content[0].data == {"cachePoint": {"type": "default"}}
    assert isinstance(content[1], TextPart) and content[1].cache_control is not None
    assert isinstance(content[2], OpaquePart)  # a second cache point: the text already has one
    out, _, losses = _encode_request(bc.decode_request(raw))
    assert out == raw and not losses


def test_decode_media() -> None:
    image, s3, _ = bc.decode_request(REQUESTS["image"]).messages[0].content
    assert isinstance(image, ImagePart) and (image.data, image.media_type) == (PNG, "image/png")
    assert isinstance(s3, ImagePart) and (s3.url, s3.media_type) == ("s3://my-bucket/photos/cat.jpg", "image/jpeg")
    pdf, notes, _ = bc.decode_request(REQUESTS["document"]).messages[0].content
    assert isinstance(pdf, FilePart) and (pdf.media_type, pdf.title) == ("application/pdf", "Quarterly report")
    assert pdf.extensions == {P: {"context": "Internal, Q3 figures", "citations": {"enabled": True}}}
    assert isinstance(notes, FilePart) and (notes.text, notes.media_type) == ("Revenue grew 12%.", "text/plain")


def test_decode_tool_use_results_and_json_blocks() -> None:
    request = bc.decode_request(REQUESTS["tool_results"])
    _, assistant, results = request.messages
    assert [type(p) for p in assistant.content] == [TextPart, ToolCallPart, ToolCallPart]
    call = assistant.content[1]
    assert isinstance(call, ToolCallPart) and (call.name, call.arguments) == ("get_weather", '{"city":"Tokyo"}')
    weather, clock, follow_up = results.content
    assert isinstance(weather, ToolResultPart) and not weather.is_error
    assert weather.text == '{"temp_c":18,"sky":"light rain"}'  # the JSON value, as text
    assert isinstance(clock, ToolResultPart) and clock.is_error and clock.text == "clock service unavailable"
    assert isinstance(follow_up, TextPart) and results.role == "user"


def test_decode_reasoning_and_model_native_fields() -> None:
    request = bc.decode_request(REQUESTS["reasoning"])
    assert request.reasoning == ReasoningConfig(enabled=True, budget_tokens=10000)
    assert P not in request.extensions  # additionalModelRequestFields fully understood
    signed, redacted, _ = request.messages[1].content
    assert isinstance(signed, ReasoningPart) and signed.signature == "EqQBCkYIARgCKkBsig0001" and signed.source == P
    assert isinstance(redacted, ReasoningPart) and redacted.redacted and redacted.text is None
    sampling = bc.decode_request(REQUESTS["sampling"])
    assert (sampling.top_k, sampling.temperature, sampling.top_p) == (40, 0.3, 0.9)
    assert sampling.stop == ["\n\nHuman:", "END"]
    assert sampling.extensions[P] == {"additionalModelResponseFieldPaths": ["/stop_sequence"]}


def test_model_native_fields_of_other_models_stay_verbatim() -> None:
    fields = {"top_k": 5, "thinking": {"type": "enabled", "budget_tokens": 2048}}
    request = bc.decode_request(_body(modelId=NOVA, additionalModelRequestFields=fields))
    assert request.top_k is None and request.reasoning is None
    assert request.extensions[P]["additionalModelRequestFields"] == fields


def test_decode_structured_output_and_metadata() -> None:
    request = bc.decode_request(REQUESTS["structured_output"])
    fmt = request.output_format
    assert fmt is not None and fmt.type == "json_schema" and fmt.name == "calendar_event"
    assert fmt.schema is not None and fmt.schema["required"] == ["name", "date", "participants"]
    metadata = bc.decode_request(REQUESTS["metadata"])
    assert metadata.metadata == {"session": "s-1842", "feature": "greeting"}
    assert metadata.service_tier == "flex"
    assert set(metadata.extensions[P]) == {"performanceConfig", "guardrailConfig"}


def test_a_schema_string_keeps_its_formatting() -> None:
    spaced = json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}, indent=2)
    raw = _body(outputConfig={"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": spaced}}}})
    request = bc.decode_request(raw)
    assert request.output_format is not None and request.output_format.schema == json.loads(spaced)
    out, _, losses = _encode_request(request)
    assert out == raw and not losses
    request.output_format.schema = {"type": "object"}  # edited: the original text no longer applies
    out, _, _ = _encode_request(request)
    assert out["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"] == '{"type":"object"}'


def test_unknown_union_members_are_opaque_and_round_trip() -> None:
    raw = _body(
        _user(
            {"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://b/v.mp4"}}}},
            {"guardContent": {"text": {"text": "check me"}}},
            {"hologram": {"frames": 3}},
            {"document": {"name": "Parts", "source": {"content": [{"text": "a"}]}}},
            {
                "image": {
                    "format": "png",
                    "source": {"s3Location": {"uri": "s3://b/i.png", "bucketOwner": "123456789012"}},
                }
            },
        ),
        system=[{"guardContent": {"text": {"text": "policy"}}}],
        toolConfig={"tools": [{"systemTool": {"name": "nova_grounding"}}], "toolChoice": {"telepathy": {}}},
    )
    request = bc.decode_request(raw)
    assert all(isinstance(p, OpaquePart) for p in request.messages[1].content)
    assert request.tools == [BuiltinTool("systemTool", {"name": "nova_grounding"}, source=P)]
    assert request.tool_choice is None
    losses = LossLog(P)
    assert bc.encode_request(request, losses) == raw and not losses


def test_decode_response_items_and_usage() -> None:
    response = bc.decode_response(RESPONSES["tool_call"])
    assert (response.id, response.model) == ("", "")
    message, call = response.output
    assert isinstance(message, Message) and message.text == "Let me look that up."
    assert isinstance(call, ToolCallPart) and call.arguments == '{"city":"Paris"}'
    assert response.stop_reason == "tool_use" and response.extensions == {P: {"metrics": {"latencyMs": 812}}}
    cached = bc.decode_response(RESPONSES["usage_cached"]).usage
    assert cached is not None
    assert (cached.input_tokens, cached.cached_input_tokens, cached.cache_creation_input_tokens) == (
        12 + 2048 + 248,
        2048,
        248,
    )
    assert cached.total_tokens == 12 + 30 + 2048 + 248
    reasoning = bc.decode_response(RESPONSES["reasoning"])
    assert reasoning.reasoning[0].signature == "EqQBCkYIARgCKkBsig0002" and reasoning.text.startswith("Yes")


def test_decode_stop_sequence_citations_and_guardrail() -> None:
    assert bc.decode_response(RESPONSES["stop_sequence"]).stop_sequence == "END"
    (message,) = bc.decode_response(RESPONSES["citations"]).output
    assert isinstance(message, Message) and message.text == "Revenue grew 12% in Q3."
    assert message.content[0].extensions[P]["citations"][0]["title"] == "Quarterly report"
    guardrail = bc.decode_response(RESPONSES["guardrail"])
    assert (guardrail.stop_reason, guardrail.raw_stop_reason) == ("content_filter", "guardrail_intervened")
    assert "trace" in guardrail.extensions[P]


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("end_turn", "end_turn"),
        ("tool_use", "tool_use"),
        ("max_tokens", "max_tokens"),
        ("stop_sequence", "stop_sequence"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("malformed_model_output", "error"),
        ("malformed_tool_use", "error"),
        ("model_context_window_exceeded", "max_tokens"),
    ],
)
def test_stop_reasons_map_and_round_trip(raw: str, canonical: str) -> None:
    body = {**RESPONSES["text"], "stopReason": raw}
    response = bc.decode_response(body)
    assert (response.stop_reason, response.raw_stop_reason) == (canonical, raw)
    assert bc.encode_response(response) == body


def test_an_unknown_stop_reason_is_other() -> None:
    # The service model's enum is closed: a value outside it cannot be sent back as is.
    response = bc.decode_response({**RESPONSES["text"], "stopReason": "some_future_reason"})
    assert response.stop_reason == "other"
    out, codes, _ = _encode_response(response)
    assert out["stopReason"] == "end_turn" and codes == {"L-FINISH-GRANULARITY"}


def test_metrics_placeholder_is_not_an_extension() -> None:
    body = {**RESPONSES["text"], "metrics": {"latencyMs": 0}}
    response = bc.decode_response(body)
    assert response.extensions == {}
    assert bc.encode_response(response) == body


# --------------------------------------------------------------------------- encoding from other formats


def test_system_developer_and_mid_conversation_are_hoisted() -> None:
    request = LlmRequest(
        model=CLAUDE,
        instructions="Be brief.",
        messages=[
            Message("developer", [TextPart("Use metric units.")]),
            Message.user("hi"),
            Message.system("Late rule."),
        ],
    )
    out, codes, _ = _encode_request(request)
    assert out["system"] == [{"text": "Be brief."}, {"text": "Use metric units."}, {"text": "Late rule."}]
    assert codes == {"L-ROLE-SYSTEM-POSITION", "L-ROLE-DEVELOPER"}


def test_tool_messages_merge_into_one_user_turn_and_roles_alternate() -> None:
    request = _request(
        Message.user("Weather?"),
        Message("assistant", [TextPart(""), ToolCallPart("call_1", "f", "{}"), ToolCallPart("call_2", "f", "{}")]),
        Message("tool", [ToolResultPart("call_1", [TextPart("sunny")])]),
        Message("tool", [ToolResultPart("call_2", [TextPart("rain")], is_error=True)]),
        Message.user("Thanks"),
        Message.user("And tomorrow?"),
        tools=[FunctionTool("f")],
    )
    out, codes, _ = _encode_request(request)
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert out["messages"][1]["content"][0] == {
        "toolUse": {"toolUseId": "call_1", "name": "f", "input": {}}
    }  # "" dropped
    last = out["messages"][2]["content"]
    assert [next(iter(b)) for b in last] == ["toolResult", "toolResult", "text", "text"]
    assert last[1]["toolResult"]["status"] == "error" and "status" not in last[0]["toolResult"]
    assert out["toolConfig"]["tools"] == [
        {"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object", "properties": {}}}}}
    ]
    assert not codes


def test_invalid_tool_ids_are_rewritten_the_same_way_for_call_and_result() -> None:
    long_id = "call/" + "x" * 80
    request = _request(
        Message.user("go"),
        Message("assistant", [ToolCallPart("toolu 01!", "f", "{}"), ToolCallPart(long_id, "f", "{}")]),
        Message("tool", [ToolResultPart("toolu 01!", [TextPart("a")]), ToolResultPart(long_id, [TextPart("b")])]),
        tools=[FunctionTool("f")],
    )
    out, codes, losses = _encode_request(request)
    calls = [b["toolUse"]["toolUseId"] for b in out["messages"][1]["content"]]
    results = [b["toolResult"]["toolUseId"] for b in out["messages"][2]["content"]]
    assert calls == results and len(set(calls)) == 2
    assert all(len(i) <= 64 for i in calls) and calls[0].startswith("toolu_01_")
    assert codes == {"L-TOOL-ID-REWRITE"} and len(losses) == 4
    assert bc.wire_tool_id("ok-id_1.2:3") == "ok-id_1.2:3"
    assert bc.wire_tool_id("a b") != bc.wire_tool_id("a_b")  # no collisions by replacement


def test_synthetic_ids_and_argument_formatting_are_reported() -> None:
    request = _request(
        Message.user("go"),
        Message("assistant", [ToolCallPart("call_0", "f", '{"a": 1}', synthetic_id=True)]),
        Message("tool", [ToolResultPart("call_0", [TextPart("ok")], synthetic_id=True)]),
        tools=[FunctionTool("f")],
    )
    _, codes, _ = _encode_request(request)
    assert codes == {"L-TOOL-ID-SYNTH", "L-TOOL-ARGS-FORMAT"}
    bad = _request(
        Message.user("go"), Message("assistant", [ToolCallPart("c", "f", "{not json")]), tools=[FunctionTool("f")]
    )
    out, codes, _ = _encode_request(bad)
    assert out["messages"][1]["content"][0]["toolUse"]["input"] == {"_raw": "{not json"}
    assert codes == {"L-TOOL-ARGS-INVALID-JSON"}


def test_json_results_are_written_back_only_while_still_json() -> None:
    request = bc.decode_request(REQUESTS["tool_results"])
    result = request.messages[2].content[0]
    assert isinstance(result, ToolResultPart)
    text = result.content[0]
    assert isinstance(text, TextPart)
    text.text = "not json any more"
    out, _, _ = _encode_request(request)
    assert out["messages"][2]["content"][0]["toolResult"]["content"] == [{"text": "not json any more"}]


def test_tool_results_with_media_and_what_they_cannot_hold() -> None:
    request = _request(
        Message.user("chart?"),
        Message("assistant", [ToolCallPart("c1", "chart", "{}")]),
        Message(
            "tool",
            [
                ToolResultPart(
                    "c1", [TextPart("here"), ImagePart(data=PNG, media_type="image/png"), AudioPart("AAAA", "wav")]
                )
            ],
        ),
        tools=[FunctionTool("chart")],
    )
    out, codes, _ = _encode_request(request)
    content = out["messages"][2]["content"][0]["toolResult"]["content"]
    assert content == [{"text": "here"}, {"image": {"format": "png", "source": {"bytes": PNG}}}]
    assert codes == {"L-RESULT-MEDIA"}


def test_media_encoding() -> None:
    request = _request(
        Message(
            "user",
            [
                ImagePart(url=f"data:image/webp;base64,{PNG}", detail="high"),
                ImagePart(url="https://example.com/cat.jpg"),
                ImagePart(url="s3://bucket/cat.png", media_type="image/png"),
                ImagePart(data=PNG, media_type="image/bmp"),
                ImagePart(file_id="file-1"),
                FilePart(data="JVBE", media_type="application/pdf", filename="Q3 report.final.pdf"),
                FilePart(text="notes", title="My notes!", filename="n.txt"),
                FilePart(data="JVBE", media_type="application/zip"),
                FilePart(url="https://example.com/a.pdf"),
                AudioPart("AAAA", "mp3", extensions={"open_ai_chat_completions": {"x": 1}}),
                AudioPart("AAAA", "speex"),
                TextPart("Describe all of these."),
            ],
        )
    )
    out, codes, losses = _encode_request(request)
    blocks = out["messages"][0]["content"]
    assert blocks[0] == {"image": {"format": "webp", "source": {"bytes": PNG}}}
    assert blocks[1] == {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://bucket/cat.png"}}}}
    assert blocks[2] == {"document": {"format": "pdf", "name": "Q3 report final", "source": {"bytes": "JVBE"}}}
    assert blocks[3] == {"document": {"name": "My notes", "source": {"text": "notes"}}}
    assert blocks[4] == {"audio": {"format": "mp3", "source": {"bytes": "AAAA"}}}
    assert blocks[5] == {"text": "Describe all of these."}
    assert codes == {"L-MEDIA-DETAIL", "L-MEDIA-URL-FETCH", "L-MEDIA-TYPE", "L-FILE-NAME", "L-EXTENSION", "L-AUDIO"}
    assert sum(1 for x in losses.entries if x.code == "L-MEDIA-URL-FETCH") == 3


def test_documents_without_a_name_get_one() -> None:
    request = _request(Message("user", [FilePart(data="JVBE", media_type="application/pdf"), FilePart(text="t")]))
    out, codes, _ = _encode_request(request)
    names = [b["document"]["name"] for b in out["messages"][0]["content"]]
    assert names == ["document-1", "document-2"] and codes == {"L-FILE-NAME"}
    assert "format" not in out["messages"][0]["content"][1]["document"]  # no media type: none invented


def test_foreign_reasoning_and_opaque_parts_are_dropped_from_history() -> None:
    request = _request(
        Message.user("think"),
        Message(
            "assistant",
            [
                ReasoningPart(text="hmm", signature="SIG-SECRET", source="anthropic_messages"),
                OpaquePart("open_ai_responses", {"type": "web_search_call"}),
                RefusalPart("no"),
                TextPart("done"),
            ],
        ),
        Message.user("again"),
    )
    out, codes, _ = _encode_request(request)
    assert "SIG-SECRET" not in json.dumps(out)
    assert out["messages"][1]["content"] == [{"text": "no"}, {"text": "done"}]
    assert codes == {"L-REASONING-OPAQUE", "L-OPAQUE", "L-REFUSAL-PART"}


@pytest.mark.parametrize(
    ("choice", "parallel", "expected", "codes"),
    [
        (ToolChoice("auto"), None, {"auto": {}}, set()),
        (ToolChoice("required"), None, {"any": {}}, set()),
        (ToolChoice("tool", name="g"), None, {"tool": {"name": "g"}}, set()),
        (ToolChoice("required", allowed=["g"]), None, {"tool": {"name": "g"}}, set()),
        (ToolChoice("auto", allowed=["f", "g"]), None, {"auto": {}}, {"L-TC-SUBSET"}),
        (None, False, None, {"L-TC-PARALLEL"}),
        (ToolChoice("auto"), True, {"auto": {}}, {"L-TC-PARALLEL"}),
    ],
)
def test_tool_choice_variants(choice: Any, parallel: Any, expected: Any, codes: Set[str]) -> None:
    request = _request(
        Message.user("x"),
        tools=[FunctionTool("f"), FunctionTool("g")],
        tool_choice=choice,
        parallel_tool_calls=parallel,
    )
    out, got, _ = _encode_request(request)
    assert out["toolConfig"].get("toolChoice") == expected and got == codes


def test_tool_choice_none() -> None:
    request = _request(Message.user("x"), tools=[FunctionTool("f")], tool_choice=ToolChoice("none"))
    out, codes, _ = _encode_request(request)
    assert "toolConfig" not in out and codes == {"L-TC-NONE"}
    history = _request(
        Message.user("x"),
        Message("assistant", [ToolCallPart("c", "f", "{}")]),
        Message("tool", [ToolResultPart("c", [TextPart("r")])]),
        tools=[FunctionTool("f")],
        tool_choice=ToolChoice("none"),
    )
    out, codes, _ = _encode_request(history)
    assert out["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object", "properties": {}}}}}]
    }
    assert codes == {"L-TC-NONE"}


def test_tools_bedrock_cannot_take() -> None:
    only_builtin = _request(
        Message.user("x"),
        tools=[BuiltinTool("web_search", source="open_ai_responses")],
        tool_choice=ToolChoice("required"),
    )
    out, codes, _ = _encode_request(only_builtin)
    assert "toolConfig" not in out and codes == {"L-TOOL-CUSTOM", "L-TC-NO-TOOLS"}
    with pytest.raises(EncodeError) as info:
        bc.encode_request(_request(Message.user("x"), tools=[FunctionTool("get.weather")]))
    assert info.value.path == "tools[0].name" and str(info.value).startswith(P)
    with pytest.raises(EncodeError):
        bc.encode_request(_request(Message.user("x"), tools=[FunctionTool("f")], tool_choice=ToolChoice("tool")))


@pytest.mark.parametrize(
    ("model", "config", "max_tokens", "thinking", "codes"),
    [
        (
            CLAUDE,
            ReasoningConfig(enabled=True, budget_tokens=4000),
            8000,
            {"type": "enabled", "budget_tokens": 4000},
            set(),
        ),
        (CLAUDE, ReasoningConfig(enabled=True), None, {"type": "adaptive"}, set()),
        (CLAUDE, ReasoningConfig(enabled=False), None, {"type": "disabled"}, set()),
        (
            "claude-sonnet-4-5",
            ReasoningConfig(effort="high"),
            4000,
            {"type": "enabled", "budget_tokens": 3999},
            {"L-REASONING-EFFORT-BUDGET"},
        ),
        (
            CLAUDE,
            ReasoningConfig(budget_tokens=100),
            None,
            {"type": "enabled", "budget_tokens": 1024},
            {"L-REASONING-EFFORT-BUDGET"},
        ),
        (CLAUDE, ReasoningConfig(effort="none"), None, {"type": "disabled"}, {"L-REASONING-EFFORT-BUDGET"}),
        (CLAUDE, ReasoningConfig(budget_tokens=2000), 1000, None, {"L-REASONING-EFFORT-BUDGET"}),
        (CLAUDE, ReasoningConfig(enabled=True, summary="auto"), None, {"type": "adaptive"}, {"L-REASONING-SUMMARY"}),
        (NOVA, ReasoningConfig(effort="low"), None, None, {"L-REASONING-EFFORT-BUDGET"}),
    ],
)
def test_reasoning_config_encoding(
    model: str, config: ReasoningConfig, max_tokens: Any, thinking: Any, codes: Set[str]
) -> None:
    out, got, _ = _encode_request(
        _request(Message.user("x"), model=model, reasoning=config, max_output_tokens=max_tokens)
    )
    assert out.get("additionalModelRequestFields", {}).get("thinking") == thinking
    assert got == codes


@pytest.mark.parametrize(
    ("fmt", "expected", "codes"),
    [
        (OutputFormat("text"), None, set()),
        (OutputFormat("json_object"), None, {"L-SO-JSON-MODE"}),
        (
            OutputFormat("json_schema", schema={"type": "object"}, name="x", strict=True),
            {
                "textFormat": {
                    "type": "json_schema",
                    "structure": {"jsonSchema": {"schema": '{"type":"object"}', "name": "x"}},
                }
            },
            {"L-SO-STRICT"},
        ),
    ],
)
def test_output_format_encoding(fmt: OutputFormat, expected: Any, codes: Set[str]) -> None:
    out, got, _ = _encode_request(_request(Message.user("x"), output_format=fmt))
    assert out.get("outputConfig") == expected and got == codes


def test_sampling_and_request_options() -> None:
    request = _request(
        Message.user("x"),
        model=NOVA,
        max_output_tokens=50,
        temperature=1.4,
        top_p=0.5,
        top_k=20,
        stop=["END", ""],
        seed=1,
        presence_penalty=0.1,
        frequency_penalty=0.1,
        logprobs=True,
        top_logprobs=2,
        n=2,
        user="u-1",
        metadata={"ok": "fine", "bad": "no\u00e9", **{f"k{i}": "v" for i in range(20)}},
        service_tier="scale",
        prompt_cache_key="k",
        stream=True,
    )
    out, codes, _ = _encode_request(request)
    assert out["inferenceConfig"] == {"maxTokens": 50, "temperature": 1, "topP": 0.5, "stopSequences": ["END"]}
    assert len(out["requestMetadata"]) == 16 and "bad" not in out["requestMetadata"]
    assert "serviceTier" not in out and "additionalModelRequestFields" not in out
    assert codes == {
        "L-SAMPLING-CLAMP",
        "L-STOP-UNSUPPORTED",
        "L-TOP-K",
        "L-SEED",
        "L-PENALTIES",
        "L-LOGPROBS",
        "L-N-CANDIDATES",
        "L-METADATA",
        "L-SERVICE-TIER",
        "L-CACHE-MARKERS",
        "L-EXTENSION",
    }
    claude, codes, _ = _encode_request(_request(Message.user("x"), top_k=20, service_tier="priority"))
    assert claude["additionalModelRequestFields"] == {"top_k": 20} and claude["serviceTier"] == {"type": "priority"}
    assert not codes


def test_cache_markers_from_other_formats() -> None:
    request = _request(
        Message("system", [TextPart("rules", cache_control=CacheControl("ephemeral", "1h"))]),
        Message("user", [TextPart("a", cache_control=CacheControl("ephemeral", "10m")), TextPart("b")]),
        tools=[FunctionTool("f", cache_control=CacheControl())],
    )
    out, codes, _ = _encode_request(request)
    assert out["system"] == [{"text": "rules"}, {"cachePoint": {"type": "default", "ttl": "1h"}}]
    assert out["messages"][0]["content"] == [{"text": "a"}, {"cachePoint": {"type": "default"}}, {"text": "b"}]
    assert out["toolConfig"]["tools"][1] == {"cachePoint": {"type": "default"}}
    assert codes == {"L-CACHE-MARKERS"}  # the 10m ttl


def test_response_from_another_format() -> None:
    response = LlmResponse(
        id="chatcmpl-1",
        model="gpt-4o",
        output=[
            ReasoningPart(summary=["plan", "check"], encrypted_content="gAAA", source="open_ai_responses"),
            Message("assistant", [RefusalPart("I can't help with that.")]),
            ToolCallPart("call 1", "f", '{"a":1}'),
            OpaquePart("open_ai_responses", {"type": "web_search_call"}),
        ],
        stop_reason="refusal",
        raw_stop_reason="stop",
        stop_sequence="###",
        usage=Usage(input_tokens=100, output_tokens=20, cached_input_tokens=60, reasoning_tokens=4, total_tokens=120),
        created=1700000000,
        choices=[Choice(index=1)],
    )
    out, codes, _ = _encode_response(response)
    content = out["output"]["message"]["content"]
    assert content[0] == {"reasoningContent": {"reasoningText": {"text": "plan\n\ncheck"}}}
    assert content[1] == {"text": "I can't help with that."}
    assert content[2]["toolUse"]["toolUseId"] != "call 1"
    assert out["stopReason"] == "content_filtered"
    assert out["usage"] == {"inputTokens": 40, "outputTokens": 20, "totalTokens": 120, "cacheReadInputTokens": 60}
    assert out["metrics"] == {"latencyMs": 0}
    assert out["additionalModelResponseFields"] == {"stop_sequence": "###"}
    assert codes == {
        "L-REASONING-SUMMARY",
        "L-REASONING-OPAQUE",
        "L-REFUSAL-PART",
        "L-TOOL-ID-REWRITE",
        "L-OPAQUE",
        "L-FINISH-GRANULARITY",
        "L-USAGE-REASONING",
        "L-RESPONSE-ID",
        "L-RESPONSE-MODEL",
        "L-CREATED",
        "L-N-CANDIDATES",
    }
    back = bc.decode_response(out).usage
    assert back is not None and (back.input_tokens, back.cached_input_tokens) == (100, 60)


@pytest.mark.parametrize(
    ("canonical", "wire", "code"),
    [
        ("pause", "end_turn", "L-FINISH-PAUSE"),
        ("error", "end_turn", "L-FINISH-GRANULARITY"),
        ("other", "end_turn", "L-FINISH-GRANULARITY"),
    ],
)
def test_stop_reasons_without_equivalent(canonical: str, wire: str, code: str) -> None:
    out, codes, _ = _encode_response(
        LlmResponse(id="", model="", output=[Message.assistant("x")], stop_reason=canonical)
    )
    assert out["stopReason"] == wire and codes == {code}


def test_a_response_without_usage_still_has_the_required_fields() -> None:
    out, codes, _ = _encode_response(
        LlmResponse(id="", model="", output=[ToolCallPart("c", "f", "")], stop_reason="tool_use")
    )
    assert out["usage"] == {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
    assert out["output"]["message"]["content"] == [{"toolUse": {"toolUseId": "c", "name": "f", "input": {}}}]
    assert not codes


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ([], ""),
        (_body(modelId=5), "modelId"),
        ({"messages": {"role": "user"}}, "messages"),
        ({"messages": ["hi"]}, "messages[0]"),
        ({"messages": [{"role": "system", "content": []}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [_user({})]}, "messages[0].content[0]"),
        ({"messages": [_user({"text": "a", "image": {}})]}, "messages[0].content[0]"),
        ({"messages": [_user({"text": 1})]}, "messages[0].content[0].text"),
        ({"messages": [_user({"image": {"source": {"bytes": PNG}}})]}, "messages[0].content[0].image.format"),
        ({"messages": [_user({"image": {"format": "png", "source": {}}})]}, "messages[0].content[0].image.source"),
        (
            {"messages": [_user({"image": {"format": "png", "source": {"bytes": 1}}})]},
            "messages[0].content[0].image.source.bytes",
        ),
        (
            {"messages": [_user({"document": {"format": "pdf", "source": {"bytes": "x"}}})]},
            "messages[0].content[0].document.name",
        ),
        ({"messages": [_user({"toolUse": {"toolUseId": "t", "name": "f"}})]}, "messages[0].content[0].toolUse.input"),
        ({"messages": [_user({"toolResult": {"toolUseId": "t"}})]}, "messages[0].content[0].toolResult.content"),
        (
            {"messages": [_user({"toolResult": {"toolUseId": "t", "content": [], "status": "maybe"}})]},
            "messages[0].content[0].toolResult.status",
        ),
        (
            {"messages": [_user({"toolResult": {"toolUseId": "t", "content": [{"text": "a", "json": {}}]}})]},
            "messages[0].content[0].toolResult.content[0]",
        ),
        (
            {"messages": [_user({"reasoningContent": {"reasoningText": {"signature": "s"}}})]},
            "messages[0].content[0].reasoningContent.reasoningText.text",
        ),
        (
            {"messages": [_user({"reasoningContent": {"redactedContent": 5}})]},
            "messages[0].content[0].reasoningContent.redactedContent",
        ),
        ({"messages": [], "system": [{"text": 3}]}, "system[0].text"),
        ({"messages": [], "inferenceConfig": {"maxTokens": "10"}}, "inferenceConfig.maxTokens"),
        ({"messages": [], "inferenceConfig": {"stopSequences": [1]}}, "inferenceConfig.stopSequences[0]"),
        (
            {"messages": [], "toolConfig": {"tools": [{"toolSpec": {"name": "f"}}]}},
            "toolConfig.tools[0].toolSpec.inputSchema",
        ),
        ({"messages": [], "toolConfig": {"tools": [{"toolSpec": 1}]}}, "toolConfig.tools[0].toolSpec"),
        ({"messages": [], "toolConfig": {"tools": [], "toolChoice": {"tool": {}}}}, "toolConfig.toolChoice.tool.name"),
        (
            {
                "messages": [],
                "outputConfig": {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "{"}}}},
            },
            "outputConfig.textFormat.structure.jsonSchema.schema",
        ),
        (
            {
                "messages": [],
                "outputConfig": {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "[]"}}}},
            },
            "outputConfig.textFormat.structure.jsonSchema.schema",
        ),
        ({"messages": [], "requestMetadata": {"a": 1}}, "requestMetadata.a"),
        ({"messages": [], "serviceTier": {}}, "serviceTier.type"),
    ],
)
def test_malformed_requests_raise_decode_error_with_path(raw: Any, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        bc.decode_request(raw)
    assert info.value.protocol == P and info.value.path == path
    assert str(info.value).startswith(P)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.pop("output"), "output"),
        (lambda d: d.update(output={"message": {}, "other": {}}), "output"),
        (lambda d: d["output"]["message"].update(role="user"), "output.message.role"),
        (lambda d: d["output"]["message"].update(content={}), "output.message.content"),
        (lambda d: d.pop("stopReason"), "stopReason"),
        (lambda d: d["usage"].update(inputTokens=None), "usage.inputTokens"),
        (lambda d: d["usage"].update(cacheReadInputTokens="1"), "usage.cacheReadInputTokens"),
        (lambda d: d.update(metrics={"latencyMs": "fast"}), "metrics.latencyMs"),
        (
            lambda d: d["output"]["message"]["content"].append({"toolUse": {"name": "f", "input": {}}}),
            "output.message.content[1].toolUse.toolUseId",
        ),
    ],
)
def test_malformed_responses_raise_decode_error_with_path(mutate: Any, path: str) -> None:
    body = copy.deepcopy(RESPONSES["text"])
    mutate(body)
    with pytest.raises(DecodeError) as info:
        bc.decode_response(body)
    assert info.value.protocol == P and info.value.path == path


def test_an_unknown_output_member_is_kept() -> None:
    body = {**RESPONSES["text"], "output": {"audioMessage": {"id": "a1"}}}
    response = bc.decode_response(body)
    assert response.output == [] and bc.encode_response(response) == body


# --------------------------------------------------------------------------- judge and property tests


def test_judge_rejects_what_bedrock_rejects() -> None:
    bad: List[Dict[str, Any]] = [
        {**REQUESTS["text"], "model": "x"},
        _body(_user({"text": ""})),
        _body({"role": "assistant", "content": [{"toolResult": {"toolUseId": "t", "content": []}}]}),
        _body(_user({"toolResult": {"toolUseId": "nope", "content": []}})),
        _body(inferenceConfig={"temperature": 1.5}),
        _body(system=[{"text": ""}]),
    ]
    for body in bad:
        with pytest.raises(AssertionError):
            validate_request(body)
    with pytest.raises(AssertionError):
        validate_response({**RESPONSES["text"], "id": "x"})


def _paths(value: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_paths(v, (*prefix, i)))
    return found


def _mutate(payload: Any, path: Tuple[Any, ...], delete: bool, replacement: Any) -> Any:
    doc = copy.deepcopy(payload)
    if not path:
        return replacement
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return doc


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
@given(data=st.data(), kind=st.sampled_from(["requests", "responses"]))
def test_mutated_payloads_raise_only_omnillm_errors(data: st.DataObject, kind: str) -> None:
    corpus = REQUESTS if kind == "requests" else RESPONSES
    payload = corpus[data.draw(st.sampled_from(sorted(corpus)))]
    path = data.draw(st.sampled_from(_paths(payload)))
    delete = bool(path) and data.draw(st.booleans())
    doc = _mutate(payload, path, delete, data.draw(JUNK))
    decode = bc.decode_request if kind == "requests" else bc.decode_response
    encode: Any = bc.encode_request if kind == "requests" else bc.encode_response
    try:
        decoded = decode(doc)
    except DecodeError:
        return
    with contextlib.suppress(OmniLLMError):
        encode(decoded)
