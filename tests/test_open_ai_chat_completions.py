"""The OpenAI Chat Completions codec: round trips, SDK validity, canonical content, losses, errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, List, Set

import corpus_open_ai_chat_completions as corpus
import judge_open_ai_chat_completions as judge
import pytest

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
    Message,
    OpaquePart,
    ReasoningConfig,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    Usage,
)
from omnillm.protocols import open_ai_chat_completions as chat
from omnillm.protocols._common import restore_extensions
from omnillm.report import LossLog

FIXTURES = Path(__file__).parents[1].parent / "shared" / "fixtures" / "real" / "open_ai_chat_completions"


def _fixtures(kind: str) -> List[Path]:
    folder = FIXTURES / kind
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".meta.json"))


def _codes(losses: LossLog) -> Set[str]:
    return {loss.code for loss in losses.entries}


def _request(**fields: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    body.update(fields)
    return body


def _round_trip_request(raw: Dict[str, Any]) -> Dict[str, Any]:
    losses = LossLog()
    out = chat.encode_request(chat.decode_request(raw), losses)
    assert out == raw
    assert not losses, losses.entries
    judge.validate_request(out)
    return out


def _round_trip_response(raw: Dict[str, Any]) -> Dict[str, Any]:
    losses = LossLog()
    out = chat.encode_response(chat.decode_response(raw), losses)
    assert out == raw
    assert not losses, losses.entries
    judge.validate_response(out)
    return out


# --------------------------------------------------------------------------- corpus and fixtures


@pytest.mark.parametrize("name", sorted(corpus.REQUESTS))
def test_corpus_request_round_trips_exactly(name: str) -> None:
    raw = corpus.REQUESTS[name]
    judge.validate_request(raw)
    snapshot = copy.deepcopy(raw)
    _round_trip_request(raw)
    assert raw == snapshot, "the decoder mutated its input"


@pytest.mark.parametrize("name", sorted(corpus.RESPONSES))
def test_corpus_response_round_trips_exactly(name: str) -> None:
    raw = corpus.RESPONSES[name]
    judge.validate_response(raw)
    snapshot = copy.deepcopy(raw)
    _round_trip_response(raw)
    assert raw == snapshot, "the decoder mutated its input"


def test_corpus_has_the_conventional_names() -> None:
    assert set(corpus.REQUESTS) >= {
        "text",
        "multi_turn",
        "image",
        "document",
        "tools",
        "parallel_tool_calls",
        "tool_results",
        "structured_output",
        "reasoning",
        "metadata",
        "sampling",
    }
    assert set(corpus.RESPONSES) >= {
        "text",
        "tool_call",
        "parallel_tool_calls",
        "reasoning",
        "max_tokens",
        "refusal",
        "structured_output",
        "usage_cached",
    }


@pytest.mark.parametrize("path", _fixtures("responses"), ids=lambda p: p.stem)
def test_real_response_fixture_round_trips(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    judge.validate_response(raw)
    _round_trip_response(raw)


def test_real_fixtures_present_or_skipped() -> None:
    if not _fixtures("responses"):
        pytest.skip("shared fixtures are not available")
    assert len(_fixtures("responses")) >= 5


def test_real_multiple_choices_fixture_fills_choices() -> None:
    path = FIXTURES / "responses" / "openai_python_parse_pydantic_model_multiple_choices.json"
    if not path.exists():
        pytest.skip("shared fixtures are not available")
    resp = chat.decode_response(json.loads(path.read_text(encoding="utf-8")))
    assert [c.index for c in resp.choices] == [1, 2]
    assert '"temperature":64' in resp.text
    assert all(c.stop_reason == "end_turn" and c.raw_stop_reason == "stop" for c in resp.choices)


# --------------------------------------------------------------------------- canonical content of decoded requests


def test_decoded_request_roles_texts_and_options() -> None:
    req = chat.decode_request(corpus.REQUESTS["multi_turn"])
    assert [m.role for m in req.messages] == ["developer", "user", "assistant", "user"]
    assert req.messages[1].name == "alice" and req.messages[1].text == "What is the capital of France?"
    assert req.temperature == 0.3
    assert all(m.raw_format == chat.PROTOCOL and m.raw_message is not None for m in req.messages)

    sampling = chat.decode_request(corpus.REQUESTS["sampling"])
    assert sampling.max_output_tokens == 120 and sampling.stop == ["\n\n", "END"]
    assert (sampling.seed, sampling.n, sampling.top_logprobs, sampling.logprobs) == (42, 2, 3, True)
    assert sampling.extensions[chat.PROTOCOL] == {"logit_bias": {"50256": -100}}

    meta = chat.decode_request(corpus.REQUESTS["metadata"])
    assert meta.metadata == {"session": "s-1842", "feature": "haiku"}
    assert (meta.user, meta.service_tier, meta.prompt_cache_key, meta.stream) == ("user-7781", "flex", "haiku-v2", True)
    assert meta.extensions[chat.PROTOCOL]["safety_identifier"] == "c4ca4238a0b923820dcc509a6f75849b"
    assert meta.extensions[chat.PROTOCOL]["store"] is True


def test_decoded_media_parts() -> None:
    image = chat.decode_request(corpus.REQUESTS["image"]).messages[0].content
    assert isinstance(image[1], ImagePart) and image[1].url == "https://upload.example.org/cat.jpg"
    assert image[1].detail == "high"
    assert isinstance(image[2], ImagePart) and image[2].media_type == "image/png" and image[2].url is None
    assert image[2].data == corpus.PNG_1PX

    doc = chat.decode_request(corpus.REQUESTS["document"]).messages[0].content[0]
    assert isinstance(doc, FilePart)
    assert (doc.media_type, doc.data, doc.filename) == ("application/pdf", corpus.PDF_B64, "invoice.pdf")


def test_decoded_tools_tool_calls_and_results_pair() -> None:
    req = chat.decode_request(corpus.REQUESTS["tool_results"])
    tool = req.tools[0]
    assert isinstance(tool, FunctionTool) and tool.name == "get_weather" and tool.strict is True
    calls = [p for p in req.messages[1].content if isinstance(p, ToolCallPart)]
    results = [p for m in req.messages for p in m.content if isinstance(p, ToolResultPart)]
    assert [c.id for c in calls] == [r.call_id for r in results] == ["call_Pa7qMx2", "call_Ro9kLw4"]
    assert calls[0].arguments == '{"city":"Paris","unit":"celsius"}'
    assert [m.role for m in req.messages[2:]] == ["tool", "tool"]
    assert results[1].text == '{"temp_c": 24, "sky": "sunny"}'

    tools = chat.decode_request(corpus.REQUESTS["tools"])
    assert tools.tool_choice == ToolChoice("auto") and tools.parallel_tool_calls is False


def test_decoded_structured_output_and_reasoning() -> None:
    fmt = chat.decode_request(corpus.REQUESTS["structured_output"]).output_format
    assert fmt is not None and fmt.type == "json_schema" and fmt.name == "calendar_event" and fmt.strict is True
    assert fmt.schema is not None and fmt.schema["required"] == ["name", "date", "participants"]
    req = chat.decode_request(corpus.REQUESTS["reasoning"])
    assert req.reasoning == ReasoningConfig(effort="high") and req.max_output_tokens == 4000


# --------------------------------------------------------------------------- canonical content of decoded responses


def test_decoded_response_text_usage_and_ids() -> None:
    resp = chat.decode_response(corpus.RESPONSES["text"])
    assert resp.id == "chatcmpl-CA1xText0001" and resp.created == 1760001234 and resp.model == "gpt-4o-2024-08-06"
    assert resp.text == "Red, yellow and blue." and resp.stop_reason == "end_turn" and resp.raw_stop_reason == "stop"
    assert resp.extensions[chat.PROTOCOL] == {"service_tier": "default", "system_fingerprint": "fp_07871e2ad8"}

    cached = chat.decode_response(corpus.RESPONSES["usage_cached"]).usage
    assert cached == Usage(
        input_tokens=2048,
        output_tokens=300,
        total_tokens=2348,
        cached_input_tokens=1920,
        reasoning_tokens=128,
        extensions=cached.extensions if cached else {},
    )


def test_decoded_tool_calls_are_output_items() -> None:
    resp = chat.decode_response(corpus.RESPONSES["parallel_tool_calls"])
    assert resp.stop_reason == "tool_use" and resp.raw_stop_reason == "tool_calls"
    assert [(c.id, c.name) for c in resp.tool_calls] == [("call_Tk1", "get_weather"), ("call_Os2", "get_local_time")]
    assert not any(isinstance(i, Message) for i in resp.output), "a tool-call-only message adds no empty Message"


def test_reasoning_content_decodes_before_the_text() -> None:
    resp = chat.decode_response(corpus.RESPONSES["reasoning"])
    assert isinstance(resp.output[0], ReasoningPart) and isinstance(resp.output[1], Message)
    part = resp.output[0]
    assert part.text is not None and part.text.startswith("Count primes") and part.signature is None
    assert part.source == chat.PROTOCOL
    assert resp.usage is not None and resp.usage.reasoning_tokens == 214


def test_vllm_reasoning_key_is_kept_on_round_trip() -> None:
    raw = copy.deepcopy(corpus.RESPONSES["tool_call"])
    raw["choices"][0]["message"]["reasoning"] = "The user wants Paris weather."
    resp = chat.decode_response(raw)
    assert isinstance(resp.output[0], ReasoningPart) and resp.output[0].text == "The user wants Paris weather."
    _round_trip_response(raw)
    history = _request(
        messages=[
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello", "reasoning": "greet back"},
            {"role": "user", "content": "again"},
        ]
    )
    req = chat.decode_request(history)
    assert isinstance(req.messages[1].content[0], ReasoningPart)
    _round_trip_request(history)


@pytest.mark.parametrize(
    ("finish", "refusal", "expected"),
    [
        ("stop", None, "end_turn"),
        ("length", None, "max_tokens"),
        ("tool_calls", None, "tool_use"),
        ("function_call", None, "tool_use"),
        ("content_filter", None, "content_filter"),
        ("stop", "I can't help with that.", "refusal"),
    ],
)
def test_every_finish_reason_maps_and_round_trips(finish: str, refusal: Any, expected: str) -> None:
    raw = copy.deepcopy(corpus.RESPONSES["text"])
    raw["choices"][0]["finish_reason"] = finish
    if refusal is not None:
        raw["choices"][0]["message"].update(content=None, refusal=refusal)
    resp = chat.decode_response(raw)
    assert (resp.stop_reason, resp.raw_stop_reason) == (expected, finish)
    _round_trip_response(raw)


def test_unknown_finish_reason_is_other() -> None:
    raw = copy.deepcopy(corpus.RESPONSES["text"])
    raw["choices"][0]["finish_reason"] = "model_length"
    resp = chat.decode_response(raw)
    assert (resp.stop_reason, resp.raw_stop_reason) == ("other", "model_length")
    losses = LossLog()
    out = chat.encode_response(resp, losses)
    assert out["choices"][0]["finish_reason"] == "stop" and "L-FINISH-GRANULARITY" in _codes(losses)


# --------------------------------------------------------------------------- same-protocol shape hints


def test_stop_string_and_legacy_max_tokens_keep_their_form() -> None:
    raw = _request(stop="END", max_tokens=64)
    req = chat.decode_request(raw)
    assert req.stop == ["END"] and req.max_output_tokens == 64
    _round_trip_request(raw)
    # From elsewhere (no hint): the list form and max_completion_tokens.
    out = chat.encode_request(LlmRequest("gpt-4o", [Message.user("hi")], stop=["END"], max_output_tokens=64))
    assert out["stop"] == ["END"] and out["max_completion_tokens"] == 64 and "max_tokens" not in out


def test_shape_markers_are_not_losses_elsewhere() -> None:
    req = chat.decode_request(_request(stop="END", max_tokens=64, seed=None))
    losses = LossLog()
    restore_extensions({}, req.extensions, "anthropic_messages", losses, "")
    assert not losses
    resp = chat.decode_response(corpus.RESPONSES["tool_call"])
    assert resp.usage is not None
    restore_extensions({}, resp.usage.extensions, "anthropic_messages", losses, "usage")
    assert not losses, "zero-valued detail counters are not information"


def test_null_fields_and_content_forms_round_trip() -> None:
    raw = _request(
        messages=[
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}], "name": "policy"},
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]},
            {"role": "assistant", "content": "", "tool_calls": []},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
            {"role": "user", "content": "ok"},
        ],
        seed=None,
        temperature=None,
    )
    _round_trip_request(raw)


def test_legacy_function_call_and_function_role() -> None:
    raw = _request(
        messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": None, "function_call": {"name": "get_weather", "arguments": "{}"}},
            {"role": "function", "name": "get_weather", "content": "rainy"},
        ]
    )
    req = chat.decode_request(raw)
    call = req.messages[1].content[0]
    result = req.messages[2].content[0]
    assert isinstance(call, ToolCallPart) and call.synthetic_id
    assert isinstance(result, ToolResultPart) and req.messages[2].role == "tool"
    assert result.call_id == call.id and result.name == "get_weather" and result.text == "rainy"
    _round_trip_request(raw)
    legacy = copy.deepcopy(corpus.RESPONSES["tool_call"])
    message = legacy["choices"][0]["message"]
    message["function_call"] = message.pop("tool_calls")[0]["function"]
    legacy["choices"][0]["finish_reason"] = "function_call"
    resp = chat.decode_response(legacy)
    assert resp.stop_reason == "tool_use" and resp.tool_calls[0].name == "get_weather"
    _round_trip_response(legacy)


def test_custom_tools_allowed_tools_and_other_parts_round_trip() -> None:
    raw = _request(
        model="gpt-5",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Listen and read."},
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                    {"type": "file", "file": {"file_id": "file-abc123"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_c1", "type": "custom", "custom": {"name": "sql", "input": "SELECT 1"}}],
            },
            {"role": "tool", "tool_call_id": "call_c1", "content": "1"},
        ],
        tools=[
            corpus.WEATHER_TOOL,
            {"type": "custom", "custom": {"name": "sql", "description": "Run SQL", "format": {"type": "text"}}},
        ],
        tool_choice={
            "type": "allowed_tools",
            "allowed_tools": {
                "mode": "required",
                "tools": [
                    {"type": "function", "function": {"name": "get_weather"}},
                    {"type": "custom", "custom": {"name": "sql"}},
                ],
            },
        },
        reasoning_effort="minimal",
    )
    req = chat.decode_request(raw)
    assert isinstance(req.tools[1], BuiltinTool) and req.tools[1].type == "custom"
    assert req.tool_choice == ToolChoice("required", allowed=["get_weather", "sql"])
    assert isinstance(req.messages[1].content[0], OpaquePart)
    assert isinstance(req.messages[0].content[1], AudioPart) and isinstance(req.messages[0].content[2], FilePart)
    _round_trip_request(raw)
    _round_trip_request(_request(tools=raw["tools"], tool_choice={"type": "custom", "custom": {"name": "sql"}}))
    named = _request(tools=[corpus.WEATHER_TOOL], tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert chat.decode_request(named).tool_choice == ToolChoice("tool", name="get_weather")
    _round_trip_request(named)


# --------------------------------------------------------------------------- encoding canonical objects from elsewhere


def _encode(request: LlmRequest) -> tuple:
    losses = LossLog()
    out = chat.encode_request(request, losses)
    judge.validate_request(out)
    return out, _codes(losses)


def test_system_and_developer_mid_conversation_are_kept() -> None:
    req = LlmRequest(
        "gpt-4o",
        [Message.user("a"), Message("developer", [TextPart("be terse")]), Message.system("late"), Message.user("b")],
        instructions="You are helpful.",
    )
    out, codes = _encode(req)
    assert [m["role"] for m in out["messages"]] == ["system", "user", "developer", "system", "user"]
    assert out["messages"][0]["content"] == "You are helpful." and not codes


def test_tool_results_in_a_user_turn_become_one_tool_message_each() -> None:
    req = LlmRequest(
        "gpt-4o",
        [
            Message.user("weather?"),
            Message(
                "assistant",
                [
                    TextPart("Checking."),
                    ToolCallPart("toolu_1", "get_weather", '{"city":"Paris"}'),
                    ToolCallPart("toolu_2", "get_weather", '{"city":"Rome"}'),
                ],
            ),
            Message(
                "user",
                [
                    ToolResultPart("toolu_1", [TextPart("18C")]),
                    ToolResultPart("toolu_2", [TextPart("24C")], is_error=True),
                    TextPart("Thanks, and Oslo?"),
                ],
            ),
        ],
        tools=[FunctionTool("get_weather", parameters={"type": "object"})],
    )
    out, codes = _encode(req)
    roles = [m["role"] for m in out["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "user"]
    assert out["messages"][1]["content"] == "Checking."
    assert [c["id"] for c in out["messages"][1]["tool_calls"]] == ["toolu_1", "toolu_2"]
    assert [m["tool_call_id"] for m in out["messages"][2:4]] == ["toolu_1", "toolu_2"]
    assert out["messages"][2]["content"] == "18C" and out["messages"][4]["content"] == "Thanks, and Oslo?"
    assert codes == {"L-RESULT-ERROR-FLAG"}


def test_foreign_items_are_dropped_with_their_losses() -> None:
    req = LlmRequest(
        "claude-x",
        [
            Message(
                "user",
                [
                    TextPart("hi", cache_control=CacheControl()),
                    FilePart(url="https://x.org/a.pdf"),
                    AudioPart("AAAA", "flac"),
                    OpaquePart("anthropic_messages", {"type": "search_result"}),
                ],
            ),
            Message(
                "assistant",
                [
                    ReasoningPart(text="hmm", signature="SIG-SECRET", source="anthropic_messages"),
                    TextPart("ok"),
                    ImagePart(url="https://x.org/out.png"),
                ],
            ),
            Message("tool", [ToolResultPart("c1", [TextPart("see"), ImagePart(url="https://x.org/r.png")])], name="t"),
        ],
        tools=[BuiltinTool("web_search_20250305", {"max_uses": 3}, source="anthropic_messages")],
        temperature=2.5,
        top_k=40,
        n=2,
        reasoning=ReasoningConfig(budget_tokens=8000, summary="auto"),
        service_tier="standard_only",
        extensions={"anthropic_messages": {"container": "c-1"}},
    )
    out, codes = _encode(req)
    assert "SIG-SECRET" not in json.dumps(out) and "hmm" not in json.dumps(out)
    assert codes >= {
        "L-CACHE-MARKERS",
        "L-MEDIA-URL-FETCH",
        "L-AUDIO",
        "L-OPAQUE",
        "L-REASONING-OPAQUE",
        "L-MEDIA-ROLE",
        "L-RESULT-MEDIA",
        "L-ROLE-NAME",
        "L-TOOL-CUSTOM",
        "L-SAMPLING-CLAMP",
        "L-TOP-K",
        "L-REASONING-EFFORT-BUDGET",
        "L-REASONING-SUMMARY",
        "L-SERVICE-TIER",
        "L-EXTENSION",
    }
    assert out["temperature"] == 2 and out["n"] == 2 and out["reasoning_effort"] == "medium"
    # Every tool was dropped: no "tools" key, as the API rejects an empty array (code empty_array).
    assert "tools" not in out and "top_k" not in out
    assert out["service_tier"] == "default"


def test_loss_detail_names_the_target() -> None:
    losses = LossLog()
    chat.encode_request(LlmRequest("m", [Message.user("x")], tools=[BuiltinTool("web_search", source="x")]), losses)
    (loss,) = losses.entries
    assert (loss.code, loss.path) == ("L-TOOL-CUSTOM", "tools[0]")
    assert "web_search" in loss.detail and chat.PROTOCOL in loss.detail


def test_foreign_images_files_and_output_format_encode() -> None:
    req = LlmRequest(
        "gpt-4o",
        [
            Message(
                "user",
                [
                    ImagePart(data="AAAA", media_type="image/jpeg", detail="low"),
                    FilePart(data="JVBE", media_type="application/pdf", title="Report"),
                    FilePart(text="plain document"),
                ],
            )
        ],
        output_format=None,
        reasoning=ReasoningConfig(enabled=False),
    )
    out, codes = _encode(req)
    parts = out["messages"][0]["content"]
    assert parts[0] == {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA", "detail": "low"}}
    assert parts[1] == {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "Report"}}
    assert parts[2] == {"type": "text", "text": "plain document"}
    assert out["reasoning_effort"] == "none" and codes == {"L-DOCUMENT-AS-TEXT"}


def test_tool_message_without_results_is_an_encode_error() -> None:
    with pytest.raises(EncodeError) as info:
        chat.encode_request(LlmRequest("m", [Message("tool", [TextPart("x")])]))
    assert info.value.protocol == chat.PROTOCOL and info.value.path == "messages[0]"


def test_response_from_elsewhere_is_one_assistant_message() -> None:
    resp = LlmResponse(
        id="msg_1",
        model="claude-x",
        output=[
            ReasoningPart(text="thinking", signature="S", source="anthropic_messages"),
            Message("assistant", [TextPart("Let me check. ")]),
            ToolCallPart("toolu_1", "get_weather", '{"city":"Paris"}'),
            Message("assistant", [TextPart("And Rome.")]),
            ToolCallPart("toolu_2", "get_weather", '{"city":"Rome"}'),
        ],
        stop_reason="tool_use",
        raw_stop_reason="tool_use",
        usage=Usage(input_tokens=100, output_tokens=20, cached_input_tokens=80, cache_creation_input_tokens=10),
        choices=[Choice(1, [Message("assistant", [RefusalPart("No.")])], "refusal")],
    )
    losses = LossLog()
    out = chat.encode_response(resp, losses)
    judge.validate_response(out)
    message = out["choices"][0]["message"]
    assert message["content"] == "Let me check. And Rome."
    assert [c["id"] for c in message["tool_calls"]] == ["toolu_1", "toolu_2"]
    assert out["choices"][0]["finish_reason"] == "tool_calls" and out["created"] == 0
    assert out["choices"][1] == {
        "index": 1,
        "message": {"role": "assistant", "content": None, "refusal": "No."},
        "finish_reason": "stop",
    }
    assert out["usage"] == {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "total_tokens": 120,
        "prompt_tokens_details": {"cached_tokens": 80, "cache_write_tokens": 10},
    }
    assert _codes(losses) == {"L-REASONING-OPAQUE", "L-REASONING-SUMMARY"}
    assert "thinking" not in json.dumps(out)
    again = chat.decode_response(out)
    assert again.choices[0].stop_reason == "refusal" and again.choices[0].output[0].content == [RefusalPart("No.")]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("stop_reason", "finish", "code"),
    [
        ("stop_sequence", "stop", "L-FINISH-STOPSEQ"),
        ("pause", "stop", "L-FINISH-PAUSE"),
        ("refusal", "stop", "L-FINISH-GRANULARITY"),
        ("error", "stop", "L-FINISH-GRANULARITY"),
        ("max_tokens", "length", None),
        ("content_filter", "content_filter", None),
    ],
)
def test_foreign_stop_reasons(stop_reason: str, finish: str, code: Any) -> None:
    losses = LossLog()
    resp = LlmResponse("r", "m", [Message.assistant("x")], stop_reason=stop_reason, raw_stop_reason="OTHER")
    out = chat.encode_response(resp, losses)
    judge.validate_response(out)
    assert out["choices"][0]["finish_reason"] == finish
    # Gemini's OTHER is not a plain value of max_tokens or content_filter: said more, dropped, reported.
    assert _codes(losses) == {code or "L-FINISH-GRANULARITY"}


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"messages": []}, "model"),
        ({"model": "m", "messages": {}}, "messages"),
        ({"model": 7, "messages": []}, "model"),
        ({"model": "m", "messages": [{"role": "user", "content": "a"}, "hello"]}, "messages[1]"),
        ({"model": "m", "messages": [{"content": "a"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "wizard", "content": "a"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"text": "a"}]}]}, "messages[0].content[0].type"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": 3}]}]}, "messages[0].content[0].type"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages[0].content[0].image_url",
        ),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        (
            {"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function"}]}]},
            "messages[0].tool_calls[0].function",
        ),
        ({"model": "m", "messages": [], "tools": [{"function": {"name": "f"}}]}, "tools[0].type"),
        ({"model": "m", "messages": [], "tool_choice": "sometimes"}, "tool_choice"),
        ({"model": "m", "messages": [], "stop": [1]}, "stop[0]"),
        ({"model": "m", "messages": [], "temperature": "hot"}, "temperature"),
        ({"model": "m", "messages": [], "metadata": {"a": 1}}, "metadata.a"),
    ],
)
def test_malformed_requests_name_protocol_and_path(raw: Dict[str, Any], path: str) -> None:
    with pytest.raises(DecodeError) as info:
        chat.decode_request(raw)
    assert info.value.protocol == chat.PROTOCOL and info.value.path == path, str(info.value)
    assert str(info.value).startswith(f"{chat.PROTOCOL}: {path}")


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ([], ""),
        ({"id": "x"}, "choices"),
        ({"choices": [7]}, "choices[0]"),
        ({"choices": [{"index": 0, "finish_reason": "stop"}]}, "choices[0].message"),
        ({"choices": [{"message": {"role": "assistant", "content": 5}}]}, "choices[0].message.content"),
        (
            {"choices": [{"message": {"tool_calls": [{"type": "function", "function": {}}]}}]},
            "choices[0].message.tool_calls[0].id",
        ),
        ({"choices": [], "usage": {"prompt_tokens": "many"}}, "usage.prompt_tokens"),
        ({"choices": [], "usage": {"prompt_tokens_details": []}}, "usage.prompt_tokens_details"),
    ],
)
def test_malformed_responses_name_protocol_and_path(raw: Any, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        chat.decode_response(raw)
    assert info.value.protocol == chat.PROTOCOL and info.value.path == path, str(info.value)


def test_empty_choices_round_trip() -> None:
    raw = {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    resp = chat.decode_response(raw)
    assert resp.output == [] and chat.encode_response(resp) == raw


def test_image_without_media_type_is_reported() -> None:
    out, codes = _encode(LlmRequest("gpt-4o", [Message("user", [ImagePart(data="iVBORw0KGgo=")])]))
    assert out["messages"][0]["content"][0]["image_url"]["url"] == "data:image/png;base64,iVBORw0KGgo="
    assert codes == {"L-MEDIA-TYPE"}


def test_dropped_tool_subsets_are_reported() -> None:
    tools: List[Any] = [FunctionTool("f"), FunctionTool("g")]
    out, codes = _encode(
        LlmRequest("gpt-4o", [Message.user("hi")], tools=tools, tool_choice=ToolChoice("none", allowed=["f"]))
    )
    assert out["tool_choice"] == "none" and codes == {"L-TC-SUBSET"}
    choice = ToolChoice("tool", name="f", allowed=["f", "g"])
    out, codes = _encode(LlmRequest("gpt-4o", [Message.user("hi")], tools=tools, tool_choice=choice))
    assert out["tool_choice"] == {"type": "function", "function": {"name": "f"}} and codes == {"L-TC-SUBSET"}


def test_an_empty_tools_array_survives_a_round_trip() -> None:
    _round_trip_request(_request(tools=[]))


def test_compatible_error_finish_reason_round_trips() -> None:
    raw = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "x", "refusal": None}, "finish_reason": "error"}
        ],
    }
    response = chat.decode_response(copy.deepcopy(raw))
    assert response.stop_reason == "error"
    losses = LossLog()
    assert chat.encode_response(response, losses) == raw and not losses
    losses = LossLog()
    response.raw_stop_reason = None
    assert chat.encode_response(response, losses)["choices"][0]["finish_reason"] == "stop"
    assert _codes(losses) == {"L-FINISH-GRANULARITY"}
