"""Tests for the Gemini GenerateContent codec."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from corpus_gemini_generate_content import PNG, REQUESTS, RESPONSES, SIGNATURE, WEATHER_SCHEMA
from judge_gemini_generate_content import validate_request, validate_response

from omnillm import (
    AudioPart,
    BuiltinTool,
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
from omnillm.protocols import gemini_generate_content as gem

P = gem.PROTOCOL
REAL = Path(__file__).parents[1].parent / "shared" / "fixtures" / "real" / P
# A countTokens-style body (totalTokens, totalBillableCharacters) filed among the responses:
# it decodes and re-encodes exactly, but it is not a GenerateContentResponse.
NOT_GENERATE_CONTENT = {"firebase_vertexai_unary_success_detailed_token_response.json"}


def _codes(losses: LossLog) -> List[str]:
    return [loss.code for loss in losses.entries]


def _request(**kw: Any) -> LlmRequest:
    kw.setdefault("model", "gpt-4o")
    return LlmRequest(**kw)


# =========================================================================== corpus


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_corpus_request_round_trip_is_exact_and_lossless(name: str) -> None:
    raw = REQUESTS[name]
    before = copy.deepcopy(raw)
    losses = LossLog(P)
    out = gem.encode_request(gem.decode_request(raw), losses)
    assert out == raw
    assert not losses, [str(x) for x in losses.entries]
    assert raw == before  # the input was not mutated
    validate_request(raw)
    validate_request(out)


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_corpus_response_round_trip_is_exact_and_lossless(name: str) -> None:
    raw = RESPONSES[name]
    before = copy.deepcopy(raw)
    losses = LossLog(P)
    out = gem.encode_response(gem.decode_response(raw), losses)
    assert out == raw
    assert not losses, [str(x) for x in losses.entries]
    assert raw == before
    validate_response(raw)
    validate_response(out)


# =========================================================================== real fixtures


def _fixtures(kind: str) -> List[Path]:
    folder = REAL / kind
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".meta.json"))


def test_real_fixtures_present_or_skip() -> None:
    if not _fixtures("responses"):
        pytest.skip("real Gemini fixtures not available")
    assert len(_fixtures("responses")) > 10


@pytest.mark.parametrize("path", _fixtures("responses"), ids=lambda p: p.name)
def test_real_response_round_trips_exactly(path: Path) -> None:
    raw = json.loads(path.read_text())
    losses = LossLog(P)
    out = gem.encode_response(gem.decode_response(raw), losses)
    assert out == raw
    assert not losses, [str(x) for x in losses.entries]
    if path.name not in NOT_GENERATE_CONTENT:
        validate_response(out)


def test_real_thought_signature_on_function_call() -> None:
    path = REAL / "responses" / "firebase_googleai_unary_success_thinking_function_call_thought_summary_signature.json"
    if not path.exists():
        pytest.skip("real Gemini fixtures not available")
    resp = gem.decode_response(json.loads(path.read_text()))
    kinds = [type(item).__name__ for item in resp.output]
    assert kinds == ["ReasoningPart", "ReasoningPart", "ToolCallPart"]
    thought, signature, call = resp.output
    assert isinstance(thought, ReasoningPart) and thought.text and thought.signature is None
    assert isinstance(signature, ReasoningPart) and signature.text is None and signature.signature
    assert signature.source == P
    assert isinstance(call, ToolCallPart) and call.synthetic_id and call.id == "call_0"
    assert resp.stop_reason == "tool_use" and resp.raw_stop_reason == "STOP"
    assert resp.usage is not None and resp.usage.output_tokens == 8 + 501 and resp.usage.reasoning_tokens == 501


# =========================================================================== decoding


def test_decode_multi_turn_roles_system_and_model() -> None:
    req = gem.decode_request(REQUESTS["multi_turn"])
    assert req.model == "gemini-2.5-flash"
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "user"]
    assert req.messages[0].text == "You are a concise travel assistant."
    assert req.messages[0].raw_message == {"systemInstruction": REQUESTS["multi_turn"]["systemInstruction"]}
    assert all(m.raw_format == P for m in req.messages)
    assert req.max_output_tokens == 512


def test_bare_body_decodes_with_empty_model_and_encodes_without_it() -> None:
    req = gem.decode_request(REQUESTS["text"])
    assert req.model == ""
    assert "model" not in gem.encode_request(req)
    assert gem.encode_request(_request(messages=[Message.user("hi")]))["model"] == "gpt-4o"


def test_decode_media_parts() -> None:
    req = gem.decode_request(REQUESTS["image"])
    _, inline, by_uri = req.messages[0].content
    assert isinstance(inline, ImagePart) and inline.data == PNG and inline.media_type == "image/png"
    assert isinstance(by_uri, ImagePart) and by_uri.url == "gs://my-bucket/photos/cat.jpg"
    doc = gem.decode_request(REQUESTS["document"]).messages[0].content
    assert isinstance(doc[0], FilePart) and doc[0].media_type == "application/pdf" and doc[0].data
    assert isinstance(doc[1], FilePart) and doc[1].url and doc[1].url.endswith("files/abc123")


def test_decode_audio_video_and_code_parts() -> None:
    raw = {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"inlineData": {"mimeType": "audio/mpeg", "data": "SUQz"}},
                    {"inlineData": {"mimeType": "video/mp4", "data": "AAAA"}},
                    {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
                ],
            }
        ]
    }
    audio, video, code = gem.decode_request(raw).messages[0].content
    assert isinstance(audio, AudioPart) and audio.format == "mp3"
    assert isinstance(video, OpaquePart) and video.source == P
    assert isinstance(code, OpaquePart) and "executableCode" in code.data
    assert gem.encode_request(gem.decode_request(raw)) == raw  # audio/mpeg kept via the shape hint


def test_decode_tools_and_schema_conversion() -> None:
    req = gem.decode_request(REQUESTS["tools"])
    weather, clock = req.tools
    assert isinstance(weather, FunctionTool) and weather.parameters == WEATHER_SCHEMA
    assert isinstance(clock, FunctionTool)
    assert clock.parameters == {
        "type": "object",
        "properties": {"city": {"type": "string"}, "format": {"type": ["string", "null"], "enum": ["12h", "24h"]}},
        "required": ["city"],
    }
    assert req.tool_choice == ToolChoice("auto")


def test_edited_openapi_schema_is_sent_as_json_schema() -> None:
    req = gem.decode_request(REQUESTS["tools"])
    clock = req.tools[1]
    assert isinstance(clock, FunctionTool) and clock.parameters is not None
    clock.parameters = {**clock.parameters, "required": ["city", "format"]}
    decl = gem.encode_request(req)["tools"][0]["functionDeclarations"][1]
    assert "parameters" not in decl and decl["parametersJsonSchema"]["required"] == ["city", "format"]


def test_decode_builtin_tools() -> None:
    raw = {"contents": [], "tools": [{"googleSearch": {}}, {"codeExecution": {}}, {"urlContext": {}}]}
    tools = gem.decode_request(raw).tools
    assert [(t.type, t.source) for t in tools if isinstance(t, BuiltinTool)] == [
        ("googleSearch", P),
        ("codeExecution", P),
        ("urlContext", P),
    ]
    assert gem.encode_request(gem.decode_request(raw)) == raw


def test_decode_pairs_id_less_results_by_name_and_order() -> None:
    req = gem.decode_request(REQUESTS["parallel_tool_calls"])
    model, results = req.messages[1], req.messages[2]
    sig, paris, tokyo = model.content
    assert isinstance(sig, ReasoningPart) and sig.signature == SIGNATURE and sig.source == P
    assert isinstance(paris, ToolCallPart) and isinstance(tokyo, ToolCallPart)
    assert (paris.id, tokyo.id) == ("call_0", "call_1") and paris.synthetic_id and tokyo.synthetic_id
    assert paris.arguments == '{"city":"Paris"}'
    r0, r1 = results.content
    assert isinstance(r0, ToolResultPart) and isinstance(r1, ToolResultPart)
    assert (r0.call_id, r1.call_id) == ("call_0", "call_1") and r0.synthetic_id
    assert r0.name == "get_weather" and r0.text == '{"temp_c":18,"sky":"cloudy"}'
    assert results.role == "user"


def test_decode_tool_results_unwrap_and_error() -> None:
    req = gem.decode_request(REQUESTS["tool_results"])
    first = req.messages[2]
    assert first.role == "user"
    result, text = first.content
    assert isinstance(result, ToolResultPart) and result.call_id == "fc_01" and not result.synthetic_id
    assert result.text == "shipped" and not result.is_error
    assert isinstance(text, TextPart)
    failed = req.messages[4].content[0]
    assert isinstance(failed, ToolResultPart) and failed.is_error and failed.text == "SMTP down"


def test_decode_generation_config() -> None:
    req = gem.decode_request(REQUESTS["sampling"])
    assert (req.temperature, req.top_p, req.top_k, req.max_output_tokens) == (0.7, 0.95, 40, 256)
    assert (req.stop, req.seed, req.n, req.logprobs, req.top_logprobs) == (["END"], 7, 2, True, 3)
    assert (req.presence_penalty, req.frequency_penalty) == (0.5, 0.25)
    so = gem.decode_request(REQUESTS["structured_output"]).output_format
    assert (
        so is not None and so.type == "json_schema" and so.schema and so.schema["required"] == ["name", "age", "city"]
    )
    reasoning = gem.decode_request(REQUESTS["reasoning"]).reasoning
    assert reasoning == ReasoningConfig(budget_tokens=2048, include_thoughts=True)


@pytest.mark.parametrize(
    ("thinking", "expected"),
    [
        ({"thinkingBudget": 0}, ReasoningConfig(enabled=False)),
        ({"thinkingBudget": -1}, ReasoningConfig(enabled=True)),
        ({"thinkingLevel": "HIGH"}, ReasoningConfig(effort="high")),
        ({}, ReasoningConfig()),
    ],
)
def test_thinking_config_round_trip(thinking: Dict[str, Any], expected: ReasoningConfig) -> None:
    raw = {"contents": [], "generationConfig": {"thinkingConfig": thinking}}
    req = gem.decode_request(raw)
    assert req.reasoning == expected
    assert gem.encode_request(req) == raw


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"mode": "AUTO"}, ToolChoice("auto")),
        ({"mode": "NONE"}, ToolChoice("none")),
        ({"mode": "ANY"}, ToolChoice("required")),
        ({"mode": "ANY", "allowedFunctionNames": ["f"]}, ToolChoice("tool", name="f")),
        ({"mode": "ANY", "allowedFunctionNames": ["f", "g"]}, ToolChoice("required", allowed=["f", "g"])),
        ({"mode": "VALIDATED", "allowedFunctionNames": ["f", "g"]}, ToolChoice("auto", allowed=["f", "g"])),
    ],
)
def test_function_calling_config_round_trip(config: Dict[str, Any], expected: ToolChoice) -> None:
    raw = {"contents": [], "toolConfig": {"functionCallingConfig": config}}
    req = gem.decode_request(raw)
    assert req.tool_choice == expected
    assert gem.encode_request(req) == raw


def test_unknown_fields_go_to_extensions() -> None:
    req = gem.decode_request(REQUESTS["metadata"])
    assert set(req.extensions[P]) == {"safetySettings", "labels"}
    losses = LossLog("elsewhere")
    from omnillm.protocols._common import restore_extensions

    restore_extensions({}, req.extensions, "anthropic_messages", losses, "")
    assert _codes(losses) == ["L-EXTENSION"]


# --------------------------------------------------------------------------- responses


def test_decode_response_text_and_usage() -> None:
    resp = gem.decode_response(RESPONSES["text"])
    assert resp.id == "Xq5Jac2vBKmdz7IP7cKZ2Q8" and resp.model == "gemini-2.5-flash"
    assert resp.text.startswith("Waves fold") and resp.stop_reason == "end_turn" and resp.raw_stop_reason == "STOP"
    assert resp.usage == Usage(input_tokens=12, output_tokens=9, total_tokens=21, extensions=resp.usage.extensions)  # type: ignore[union-attr]


def test_decode_response_reasoning_and_cache_usage() -> None:
    resp = gem.decode_response(RESPONSES["reasoning"])
    thought, signature, message = resp.output
    assert isinstance(thought, ReasoningPart) and thought.text and thought.text.startswith("**Testing")
    assert isinstance(signature, ReasoningPart) and signature.signature == SIGNATURE
    assert isinstance(message, Message) and message.text == "Yes, 1009 is prime."
    assert resp.usage is not None and (resp.usage.output_tokens, resp.usage.reasoning_tokens) == (406, 398)
    cached = gem.decode_response(RESPONSES["usage_cached"]).usage
    assert cached is not None and (cached.input_tokens, cached.cached_input_tokens) == (20480, 20000)


def test_decode_parallel_calls_get_distinct_synthetic_ids() -> None:
    resp = gem.decode_response(RESPONSES["parallel_tool_calls"])
    assert [c.id for c in resp.tool_calls] == ["call_0", "call_1"]
    assert resp.stop_reason == "tool_use" and resp.text == "Checking both cities."
    out = gem.encode_response(resp)
    assert all("id" not in p.get("functionCall", {}) for p in out["candidates"][0]["content"]["parts"])


_FINISH_TABLE: List[Tuple[str, str]] = [
    ("STOP", "end_turn"),
    ("MAX_TOKENS", "max_tokens"),
    *[
        (r, "content_filter")
        for r in (
            "SAFETY",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
            "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT",
            "MODEL_ARMOR",
            "RECITATION",
            "IMAGE_RECITATION",
        )
    ],
    *[
        (r, "error")
        for r in (
            "MALFORMED_FUNCTION_CALL",
            "UNEXPECTED_TOOL_CALL",
            "TOO_MANY_TOOL_CALLS",
            "MALFORMED_RESPONSE",
            "MISSING_THOUGHT_SIGNATURE",
        )
    ],
    *[
        (r, "other")
        for r in (
            "OTHER",
            "LANGUAGE",
            "NO_IMAGE",
            "IMAGE_OTHER",
            "ESCALATION",
            "PUP_LIMITED_DISABLED",
            "FINISH_REASON_UNSPECIFIED",
            "CONTINUATION",
        )
    ],
]


@pytest.mark.parametrize(("raw_reason", "expected"), _FINISH_TABLE)
def test_finish_reasons_map_and_round_trip(raw_reason: str, expected: str) -> None:
    raw = {"candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]}, "finishReason": raw_reason}]}
    resp = gem.decode_response(raw)
    assert (resp.stop_reason, resp.raw_stop_reason) == (expected, raw_reason)
    losses = LossLog(P)
    assert gem.encode_response(resp, losses) == raw and not losses


def test_blocked_prompt_is_content_filter() -> None:
    raw = {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 5}}
    resp = gem.decode_response(raw)
    assert (resp.stop_reason, resp.raw_stop_reason, resp.output) == ("content_filter", "PROHIBITED_CONTENT", [])
    assert gem.encode_response(resp) == raw


def test_candidates_beyond_the_first_are_choices() -> None:
    raw = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "Red"}]}, "finishReason": "STOP", "index": 0},
            {"content": {"role": "model", "parts": [{"text": "Blue"}]}, "finishReason": "MAX_TOKENS", "index": 1},
        ]
    }
    resp = gem.decode_response(raw)
    assert resp.text == "Red" and len(resp.choices) == 1
    assert resp.choices[0].index == 1 and resp.choices[0].stop_reason == "max_tokens"
    assert gem.encode_response(resp) == raw


def test_create_time_maps_to_created() -> None:
    raw = {"candidates": [], "createTime": "2025-05-05T12:00:00.123456Z", "responseId": "r"}
    resp = gem.decode_response(raw)
    assert resp.created == 1746446400
    assert gem.encode_response(resp) == raw
    assert (
        gem.encode_response(LlmResponse(id="x", model="m", created=1746446400))["createTime"] == "2025-05-05T12:00:00Z"
    )


# =========================================================================== encoding from other formats


def test_system_developer_and_mid_conversation_system_are_hoisted() -> None:
    req = _request(
        instructions="Be brief.",
        messages=[
            Message("developer", [TextPart("Answer in French.")]),
            Message.user("Hello"),
            Message.system("Never mention prices."),
            Message.assistant("Bonjour"),
        ],
    )
    losses = LossLog(P)
    out = gem.encode_request(req, losses)
    validate_request(out)
    assert out["systemInstruction"] == {
        "parts": [{"text": "Be brief."}, {"text": "Answer in French."}, {"text": "Never mention prices."}]
    }
    assert [c["role"] for c in out["contents"]] == ["user", "model"]
    assert _codes(losses) == ["L-ROLE-DEVELOPER", "L-ROLE-SYSTEM-POSITION"]
    assert losses.entries[1].path == "messages[2]"


def test_tool_messages_merge_into_one_user_turn_with_names_and_ids() -> None:
    req = _request(
        messages=[
            Message.user("Weather in Paris and Tokyo?"),
            Message(
                "assistant",
                [
                    ToolCallPart("call_a", "get_weather", '{"city":"Paris"}'),
                    ToolCallPart("call_b", "get_weather", '{"city":"Tokyo"}'),
                ],
            ),
            Message("tool", [ToolResultPart("call_a", [TextPart("18C and cloudy")])]),
            Message("tool", [ToolResultPart("call_b", [TextPart('{"temp_c":24}')])]),
            Message.user("Which is warmer?"),
        ],
        tools=[FunctionTool("get_weather", "Weather", WEATHER_SCHEMA, strict=True)],
    )
    losses = LossLog(P)
    out = gem.encode_request(req, losses)
    validate_request(out)
    assert [c["role"] for c in out["contents"]] == ["user", "model", "user"]
    assert out["contents"][2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "id": "call_a", "response": {"output": "18C and cloudy"}}},
        {"functionResponse": {"name": "get_weather", "id": "call_b", "response": {"temp_c": 24}}},
        {"text": "Which is warmer?"},
    ]
    assert out["contents"][1]["parts"][0] == {
        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_a"}
    }
    assert out["tools"] == [
        {
            "functionDeclarations": [
                {"name": "get_weather", "description": "Weather", "parametersJsonSchema": WEATHER_SCHEMA}
            ]
        }
    ]
    assert _codes(losses) == ["L-TOOL-STRICT"]
    back = gem.decode_request(out)
    results = [p for p in back.messages[2].content if isinstance(p, ToolResultPart)]
    assert [(r.call_id, r.text) for r in results] == [("call_a", "18C and cloudy"), ("call_b", '{"temp_c":24}')]


def test_error_results_and_media_results() -> None:
    req = _request(
        messages=[
            Message("assistant", [ToolCallPart("t1", "render", "{}")]),
            Message(
                "user",
                [
                    ToolResultPart("t1", [TextPart("boom")], is_error=True),
                    ToolResultPart("t1", [TextPart("ok"), ImagePart(data=PNG, media_type="image/png")], name="render"),
                ],
            ),
        ]
    )
    out = gem.encode_request(req)
    validate_request(out)
    err, ok = out["contents"][1]["parts"]
    assert err["functionResponse"]["response"] == {"error": "boom"}
    assert ok["functionResponse"]["parts"] == [{"inlineData": {"mimeType": "image/png", "data": PNG}}]
    back = gem.decode_request(out).messages[1].content
    assert isinstance(back[0], ToolResultPart) and back[0].is_error
    assert isinstance(back[1], ToolResultPart) and isinstance(back[1].content[1], ImagePart)


def test_tool_result_without_known_name_is_an_encode_error() -> None:
    req = _request(messages=[Message("tool", [ToolResultPart("nope", [TextPart("x")])])])
    with pytest.raises(EncodeError) as info:
        gem.encode_request(req)
    assert info.value.protocol == P and info.value.path == "messages[0].content[0]"


def test_tool_message_without_results_is_an_encode_error() -> None:
    with pytest.raises(EncodeError):
        gem.encode_request(_request(messages=[Message("tool", [TextPart("x")])]))


def test_foreign_builtin_tool_reasoning_and_opaque_parts_are_dropped_with_losses() -> None:
    req = _request(
        messages=[
            Message.user("hi"),
            Message(
                "assistant",
                [
                    ReasoningPart(text="thinking...", signature="sig", source="anthropic_messages"),
                    OpaquePart("open_ai_responses", {"type": "web_search_call"}),
                    TextPart("hello"),
                ],
            ),
        ],
        tools=[BuiltinTool("web_search", source="open_ai_responses")],
    )
    losses = LossLog(P)
    out = gem.encode_request(req, losses)
    validate_request(out)
    assert out["contents"][1]["parts"] == [{"text": "hello"}]
    assert "tools" not in out
    assert sorted(_codes(losses)) == ["L-OPAQUE", "L-REASONING-OPAQUE", "L-TOOL-CUSTOM"]
    assert any("web_search" in loss.detail and P in loss.detail for loss in losses.entries)


def test_invalid_json_arguments_are_kept_under_raw() -> None:
    req = _request(messages=[Message("assistant", [ToolCallPart("c1", "f", "{not json")])])
    losses = LossLog(P)
    out = gem.encode_request(req, losses)
    validate_request(out)
    assert out["contents"][0]["parts"][0]["functionCall"]["args"] == {"_raw": "{not json"}
    assert _codes(losses) == ["L-TOOL-ARGS-INVALID-JSON"]


def test_sampling_parameters_that_gemini_supports_are_kept() -> None:
    req = _request(
        messages=[Message.user("hi")], temperature=1.5, top_k=5, n=2, seed=3, stop=["x"], presence_penalty=0.1
    )
    losses = LossLog(P)
    out = gem.encode_request(req, losses)
    validate_request(out)
    assert out["generationConfig"] == {
        "temperature": 1.5,
        "topK": 5,
        "stopSequences": ["x"],
        "seed": 3,
        "presencePenalty": 0.1,
        "candidateCount": 2,
    }
    assert not losses


def test_unsupported_request_options_are_reported() -> None:
    req = _request(
        messages=[Message("user", [TextPart("hi")], name="bob")],
        parallel_tool_calls=False,
        metadata={"k": "v"},
        user="u1",
        service_tier="priority",
        prompt_cache_key="key",
        stream=True,
        output_format=OutputFormat("json_schema", {"type": "object"}, name="answer", strict=True),
        reasoning=ReasoningConfig(effort="max", summary="auto"),
    )
    losses = LossLog(P)
    out = gem.encode_request(req, losses)
    validate_request(out)
    assert sorted(_codes(losses)) == sorted(
        [
            "L-ROLE-NAME",
            "L-TC-PARALLEL",
            "L-METADATA",
            "L-EXTENSION",
            "L-EXTENSION",
            "L-SERVICE-TIER",
            "L-CACHE-MARKERS",
            "L-SO-NAME",
            "L-SO-STRICT",
            "L-REASONING-EFFORT-BUDGET",
            "L-REASONING-SUMMARY",
        ]
    )
    gc = out["generationConfig"]
    assert gc["responseMimeType"] == "application/json" and gc["responseJsonSchema"] == {"type": "object"}
    assert gc["thinkingConfig"] == {"thinkingLevel": "XHIGH", "includeThoughts": True}


def test_reasoning_budget_from_other_formats() -> None:
    out = gem.encode_request(_request(messages=[], reasoning=ReasoningConfig(enabled=True, budget_tokens=4096)))
    assert out["generationConfig"] == {"thinkingConfig": {"thinkingBudget": 4096}}
    out = gem.encode_request(_request(messages=[], reasoning=ReasoningConfig(enabled=False)))
    assert out["generationConfig"] == {"thinkingConfig": {"thinkingBudget": 0}}


def test_tool_choice_from_other_formats() -> None:
    def enc(choice: ToolChoice) -> Dict[str, Any]:
        return gem.encode_request(_request(messages=[], tool_choice=choice))["toolConfig"]["functionCallingConfig"]

    assert enc(ToolChoice("tool", name="f")) == {"mode": "ANY", "allowedFunctionNames": ["f"]}
    assert enc(ToolChoice("required")) == {"mode": "ANY"}
    assert enc(ToolChoice("auto", allowed=["f"])) == {"mode": "VALIDATED", "allowedFunctionNames": ["f"]}
    assert enc(ToolChoice("none")) == {"mode": "NONE"}


def test_media_from_other_formats() -> None:
    req = _request(
        messages=[
            Message(
                "user",
                [
                    ImagePart(url="data:image/jpeg;base64," + PNG, detail="high"),
                    ImagePart(url="https://example.com/cat.png"),
                    ImagePart(file_id="file-abc"),
                    FilePart(data="JVBERg==", media_type="application/pdf", filename="a.pdf"),
                    FilePart(text="plain notes"),
                    AudioPart(data="UklGRg==", format="wav"),
                ],
            )
        ]
    )
    losses = LossLog(P)
    out = gem.encode_request(req, losses)
    validate_request(out)
    parts = out["contents"][0]["parts"]
    assert parts[0] == {
        "inlineData": {"mimeType": "image/jpeg", "data": PNG},
        "mediaResolution": {"level": "MEDIA_RESOLUTION_HIGH"},
    }
    assert parts[1] == {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png"}}
    assert parts[2]["inlineData"]["mimeType"] == "application/pdf"
    assert parts[3] == {"inlineData": {"mimeType": "text/plain", "data": "cGxhaW4gbm90ZXM="}}
    assert parts[4] == {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}}
    assert sorted(_codes(losses)) == ["L-FILE-NAME", "L-MEDIA-URL-FETCH"]
    back = gem.decode_request(out).messages[0].content[0]
    assert isinstance(back, ImagePart) and back.detail == "high"


def test_adjacent_same_role_turns_from_other_formats_are_merged() -> None:
    req = _request(messages=[Message.user("a"), Message.user("b"), Message.assistant("c"), Message.assistant("d")])
    out = gem.encode_request(req)
    assert out["contents"] == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
        {"role": "model", "parts": [{"text": "c"}, {"text": "d"}]},
    ]


def test_gemini_thought_signatures_survive_editing_the_conversation() -> None:
    req = gem.decode_request(REQUESTS["reasoning"])
    req.messages.append(Message.assistant("extra"))
    out = gem.encode_request(req)
    assert out["contents"][1] == REQUESTS["reasoning"]["contents"][1]
    assert out["contents"][2]["parts"] == [{"text": "And 1009?"}]
    assert out["contents"][3] == {"role": "model", "parts": [{"text": "extra"}]}


# --------------------------------------------------------------------------- responses from other formats


def test_encode_response_from_other_format() -> None:
    resp = LlmResponse(
        id="msg_01",
        model="claude-sonnet-4-5",
        output=[
            ReasoningPart(text="Let me think.", signature="abc", source="anthropic_messages"),
            Message.assistant("Calling the tool."),
            ToolCallPart("toolu_1", "get_weather", '{"city":"Paris"}'),
        ],
        stop_reason="tool_use",
        raw_stop_reason="tool_use",
        usage=Usage(input_tokens=100, output_tokens=30, cached_input_tokens=80, cache_creation_input_tokens=20),
        created=1700000000,
    )
    losses = LossLog(P)
    out = gem.encode_response(resp, losses)
    validate_response(out)
    cand = out["candidates"][0]
    assert cand["finishReason"] == "STOP" and cand["index"] == 0
    assert cand["content"]["parts"] == [
        {"text": "Let me think.", "thought": True},
        {"text": "Calling the tool."},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_1"}},
    ]
    assert out["usageMetadata"] == {"promptTokenCount": 100, "candidatesTokenCount": 30, "cachedContentTokenCount": 80}
    assert out["responseId"] == "msg_01" and out["modelVersion"] == "claude-sonnet-4-5"
    assert sorted(_codes(losses)) == ["L-REASONING-OPAQUE", "L-USAGE-CACHE-WRITE"]
    back = gem.decode_response(out)
    assert back.stop_reason == "tool_use" and back.tool_calls[0].id == "toolu_1"
    assert back.usage is not None and (back.usage.input_tokens, back.usage.output_tokens) == (100, 30)


@pytest.mark.parametrize(
    ("stop", "finish", "code"),
    [
        ("refusal", "SAFETY", "L-FINISH-GRANULARITY"),
        ("stop_sequence", "STOP", "L-FINISH-STOPSEQ"),
        ("pause", "OTHER", "L-FINISH-PAUSE"),
        ("error", "OTHER", "L-FINISH-GRANULARITY"),
        ("content_filter", "SAFETY", None),
        ("max_tokens", "MAX_TOKENS", None),
    ],
)
def test_encode_stop_reasons_from_other_formats(stop: str, finish: str, code: Any) -> None:
    content = [RefusalPart("I can't help with that.")] if stop == "refusal" else [TextPart("x")]
    resp = LlmResponse(id="r", model="m", output=[Message("assistant", content)], stop_reason=stop, raw_stop_reason="x")
    losses = LossLog(P)
    out = gem.encode_response(resp, losses)
    validate_response(out)
    assert out["candidates"][0]["finishReason"] == finish
    # Gemini has no refusal part: the refusal text travels as plain text (L-REFUSAL-PART).
    refusal = ["L-REFUSAL-PART"] if stop == "refusal" else []
    # "x" is no protocol's plain value: dropping it is reported when nothing else was.
    assert _codes(losses) == [*refusal, code or "L-FINISH-GRANULARITY"]


def test_tool_use_without_function_calls_reports_the_lost_category() -> None:
    resp = LlmResponse(
        id="r",
        model="m",
        output=[OpaquePart("open_ai_responses", {"type": "web_search_call"}), Message.assistant("Found it.")],
        stop_reason="tool_use",
    )
    losses = LossLog(P)
    out = gem.encode_response(resp, losses)
    validate_response(out)
    assert out["candidates"][0]["finishReason"] == "STOP"
    assert sorted(_codes(losses)) == ["L-FINISH-GRANULARITY", "L-OPAQUE"]


def test_encode_response_with_choices_and_reasoning_summary() -> None:
    resp = LlmResponse(
        id="",
        model="gpt-5",
        output=[ReasoningPart(summary=["Plan", "Check"], source="open_ai_responses"), Message.assistant("A")],
        choices=[Choice(index=1, output=[Message.assistant("B")], stop_reason="max_tokens")],
        usage=Usage(input_tokens=5, output_tokens=10, reasoning_tokens=4, total_tokens=15),
    )
    losses = LossLog(P)
    out = gem.encode_response(resp, losses)
    validate_response(out)
    assert "responseId" not in out
    assert [c["index"] for c in out["candidates"]] == [0, 1]
    assert out["candidates"][0]["content"]["parts"][0] == {"text": "Plan\n\nCheck", "thought": True}
    assert out["usageMetadata"] == {
        "promptTokenCount": 5,
        "candidatesTokenCount": 6,
        "thoughtsTokenCount": 4,
        "totalTokenCount": 15,
    }
    assert _codes(losses) == ["L-REASONING-SUMMARY"]


def test_empty_foreign_response_is_still_valid() -> None:
    out = gem.encode_response(LlmResponse(id="x", model="m", stop_reason="end_turn", raw_stop_reason="stop"))
    validate_response(out)
    assert out["candidates"] == [{"finishReason": "STOP", "index": 0}]


# =========================================================================== malformed input


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({}, "contents"),
        ({"contents": "hi"}, "contents"),
        ({"contents": ["hi"]}, "contents[0]"),
        ({"contents": [{"role": "system", "parts": []}]}, "contents[0].role"),
        ({"contents": [{"parts": "x"}]}, "contents[0].parts"),
        ({"contents": [{"parts": [{}]}]}, "contents[0].parts[0]"),
        ({"contents": [{"parts": [3]}]}, "contents[0].parts[0]"),
        ({"contents": [{"parts": [{"text": 5}]}]}, "contents[0].parts[0].text"),
        ({"contents": [{"parts": [{"inlineData": {"data": "AA=="}}]}]}, "contents[0].parts[0].inlineData.mimeType"),
        ({"contents": [{"parts": [{"functionCall": {"args": {}}}]}]}, "contents[0].parts[0].functionCall.name"),
        (
            {"contents": [{"parts": [{"functionCall": {"name": "f", "args": []}}]}]},
            "contents[0].parts[0].functionCall.args",
        ),
        (
            {"contents": [{"parts": [{"functionResponse": {"name": "f", "response": "x"}}]}]},
            "contents[0].parts[0].functionResponse.response",
        ),
        ({"contents": [], "systemInstruction": "be nice"}, "systemInstruction"),
        (
            {"contents": [], "tools": [{"functionDeclarations": [{"description": "d"}]}]},
            "tools[0].functionDeclarations[0].name",
        ),
        ({"contents": [], "tools": [5]}, "tools[0]"),
        ({"contents": [], "generationConfig": {"temperature": "hot"}}, "generationConfig.temperature"),
        (
            {"contents": [], "generationConfig": {"thinkingConfig": {"thinkingBudget": "x"}}},
            "generationConfig.thinkingConfig.thinkingBudget",
        ),
        (
            {"contents": [], "toolConfig": {"functionCallingConfig": {"allowedFunctionNames": [1]}}},
            "toolConfig.functionCallingConfig.allowedFunctionNames[0]",
        ),
    ],
)
def test_malformed_requests_raise_decode_error_with_path(raw: Dict[str, Any], path: str) -> None:
    with pytest.raises(DecodeError) as info:
        gem.decode_request(raw)
    assert info.value.protocol == P and info.value.path == path
    assert str(info.value).startswith(P)


@pytest.mark.parametrize("raw", [[], "x", None, 3])
def test_non_object_top_level_raises_decode_error(raw: Any) -> None:
    with pytest.raises(DecodeError):
        gem.decode_request(raw)
    with pytest.raises(DecodeError):
        gem.decode_response(raw)


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"candidates": {}}, "candidates"),
        ({"candidates": [7]}, "candidates[0]"),
        ({"candidates": [{"content": {"role": "user", "parts": []}}]}, "candidates[0].content.role"),
        ({"candidates": [{"finishReason": 1}]}, "candidates[0].finishReason"),
        (
            {"candidates": [{"content": {"parts": [{"functionCall": {"name": 3}}]}}]},
            "candidates[0].content.parts[0].functionCall.name",
        ),
        ({"usageMetadata": {"promptTokenCount": "many"}}, "usageMetadata.promptTokenCount"),
        ({"responseId": 5}, "responseId"),
        ({"promptFeedback": []}, "promptFeedback"),
    ],
)
def test_malformed_responses_raise_decode_error_with_path(raw: Dict[str, Any], path: str) -> None:
    with pytest.raises(DecodeError) as info:
        gem.decode_response(raw)
    assert info.value.protocol == P and info.value.path == path


# =========================================================================== the judge


@pytest.mark.parametrize(
    "bad",
    [
        {"contents": [{"role": "user", "parts": [{"text": "x"}]}], "stream": True},
        {"contents": [{"role": "user", "parts": [{"text": "x"}]}], "generation_config": {}},
        {"contents": [{"role": "user", "parts": [{"inline_data": {"mimeType": "image/png", "data": PNG}}]}]},
        {"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "***"}}]}]},
        {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]},
        {"contents": [], "generationConfig": {"temperature": "hot"}},
    ],
)
def test_judge_rejects_invalid_requests(bad: Dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        validate_request(bad)


@pytest.mark.parametrize(
    "bad",
    [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]}, "finish_reason": "STOP"}]},
        {"candidates": [{"finishReason": "DONE"}]},
        {"usageMetadata": {"promptTokenCount": 1, "outputTokens": 2}},
        {"parsed": {}},
    ],
)
def test_judge_rejects_invalid_responses(bad: Dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        validate_response(bad)


# --------------------------------------------------------------------------- approximations reported (mapping tables)


def test_reformatted_arguments_are_reported() -> None:
    call = ToolCallPart("c1", "f", '{"x": 1}')
    losses = LossLog(P)
    out = gem.encode_request(_request(messages=[Message.user("hi"), Message("assistant", [call])]), losses)
    assert out["contents"][1]["parts"][0]["functionCall"]["args"] == {"x": 1}
    assert _codes(losses) == ["L-TOOL-ARGS-FORMAT"]
    losses = LossLog(P)
    gem.encode_request(_request(messages=[Message("assistant", [ToolCallPart("c1", "f", '{"x":1}')])]), losses)
    assert not losses


def test_assumed_media_types_are_reported() -> None:
    parts = [ImagePart(data=PNG), FilePart(data="JVBERg=="), FilePart(text="notes")]
    losses = LossLog(P)
    out = gem.encode_request(_request(messages=[Message("user", parts)]), losses)
    mimes = [p["inlineData"]["mimeType"] for p in out["contents"][0]["parts"]]
    assert mimes == ["image/png", "application/pdf", "text/plain"]
    assert _codes(losses) == ["L-MEDIA-TYPE", "L-MEDIA-TYPE"]


def test_refusal_history_and_joined_result_texts_are_reported() -> None:
    messages = [
        Message.user("hi"),
        Message("assistant", [RefusalPart("no"), ToolCallPart("c1", "f")]),
        Message("tool", [ToolResultPart("c1", [TextPart("a"), TextPart("b")])]),
    ]
    losses = LossLog(P)
    out = gem.encode_request(_request(messages=messages), losses)
    assert out["contents"][1]["parts"][0] == {"text": "no"}
    assert out["contents"][2]["parts"][0]["functionResponse"]["response"] == {"output": "a\nb"}
    assert _codes(losses) == ["L-REFUSAL-PART", "L-RESULT-WRAP"]


def test_forced_tool_with_a_subset_reports_the_dropped_subset() -> None:
    losses = LossLog(P)
    out = gem.encode_request(
        _request(messages=[], tool_choice=ToolChoice("tool", name="f", allowed=["f", "g"])), losses
    )
    assert out["toolConfig"]["functionCallingConfig"] == {"mode": "ANY", "allowedFunctionNames": ["f"]}
    assert _codes(losses) == ["L-TC-SUBSET"]
