"""OpenAI Responses codec: exact round trips, SDK validity, canonical meaning, losses, errors."""

from __future__ import annotations

import copy
import json
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pytest
from corpus_open_ai_responses import REQUESTS, RESPONSES
from judge_open_ai_responses import request_problems, response_problems, validate_request, validate_response

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
from omnillm.protocols import open_ai_responses as codec

P = codec.PROTOCOL
FIXTURES = Path(__file__).parents[1].parent / "shared" / "fixtures" / "real" / P


def _codes(losses: LossLog) -> Set[str]:
    return {loss.code for loss in losses.entries}


def _fixtures(kind: str) -> List[Path]:
    folder = FIXTURES / kind
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".meta.json"))


def _foreign(value: Any) -> Any:
    """A canonical object as another protocol would hand it over: no Responses provenance."""
    if isinstance(value, (OpaquePart, BuiltinTool)):
        return value
    if is_dataclass(value) and not isinstance(value, type):
        changes: Dict[str, Any] = {}
        for f in fields(value):
            v = getattr(value, f.name)
            if f.name == "extensions":
                changes[f.name] = {}
            elif f.name in ("raw_message", "raw_format"):
                changes[f.name] = None
            else:
                changes[f.name] = _foreign(v)
        return replace(value, **changes)
    if isinstance(value, list):
        return [_foreign(v) for v in value]
    return value


# --------------------------------------------------------------------------- corpus round trips


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_corpus_request_round_trip_is_exact_and_lossless(name: str) -> None:
    raw = REQUESTS[name]
    before = copy.deepcopy(raw)
    validate_request(raw)
    losses = LossLog(P)
    out = codec.encode_request(codec.decode_request(raw), losses)
    assert out == raw
    assert not losses, [str(x) for x in losses.entries]
    assert raw == before, "decode must not mutate its input"
    validate_request(out)


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_corpus_response_round_trip_is_exact_and_lossless(name: str) -> None:
    raw = RESPONSES[name]
    before = copy.deepcopy(raw)
    validate_response(raw)
    losses = LossLog(P)
    out = codec.encode_response(codec.decode_response(raw), losses)
    assert out == raw
    assert not losses, [str(x) for x in losses.entries]
    assert raw == before
    validate_response(out)


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_corpus_request_encodes_validly_without_provenance(name: str) -> None:
    request = _foreign(codec.decode_request(REQUESTS[name]))
    validate_request(codec.encode_request(request))


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_corpus_response_encodes_validly_without_provenance(name: str) -> None:
    response = _foreign(codec.decode_response(RESPONSES[name]))
    out = codec.encode_response(response)
    validate_response(out)
    again = codec.decode_response(out)
    assert again.stop_reason == response.stop_reason
    assert again.text == response.text


def test_encoding_does_not_mutate_the_canonical_objects() -> None:
    for raw in list(REQUESTS.values()):
        request = codec.decode_request(raw)
        snapshot = copy.deepcopy(request)
        codec.encode_request(request)
        assert request == snapshot
    for raw in list(RESPONSES.values()):
        response = codec.decode_response(raw)
        snapshot_r = copy.deepcopy(response)
        codec.encode_response(response)
        assert response == snapshot_r


# --------------------------------------------------------------------------- real fixtures


@pytest.mark.parametrize("path", _fixtures("responses"), ids=lambda p: p.stem)
def test_real_response_round_trips_exactly(path: Path) -> None:
    raw = json.loads(path.read_text())
    losses = LossLog(P)
    out = codec.encode_response(codec.decode_response(raw), losses)
    assert out == raw
    assert not losses, [str(x) for x in losses.entries]
    # Recorded bodies predate keys the SDK now requires (usage cache_write_tokens; vercel_phase
    # also lacks the echo fields; vercel_custom_tool has untyped keys): exactly as valid as the input.
    assert (not response_problems(out)) == (not response_problems(raw))


@pytest.mark.parametrize("path", _fixtures("responses"), ids=lambda p: p.stem)
def test_real_response_re_encoded_from_another_protocol_validates(path: Path) -> None:
    raw = json.loads(path.read_text())
    response = codec.decode_response(raw)
    out = codec.encode_response(_foreign(response))
    # Hosted-tool items are written back verbatim, untyped keys and all (custom_tool_call status).
    verbatim = {f"output[{i}]" for i, item in enumerate(response.output) if isinstance(item, OpaquePart)}
    assert [p for p in response_problems(out) if p.partition(":")[0] not in verbatim] == []
    back = codec.decode_response(out)
    assert back.text == response.text
    assert [(c.id, c.name, c.arguments) for c in back.tool_calls] == [
        (c.id, c.name, c.arguments) for c in response.tool_calls
    ]
    assert back.stop_reason == response.stop_reason


def test_real_fixtures_decode_to_the_expected_meaning() -> None:
    if not _fixtures("responses"):
        pytest.skip("real fixtures are not available")
    tool = codec.decode_response(json.loads((FIXTURES / "responses" / "vercel_azure_tool_call.json").read_text()))
    assert tool.stop_reason == "tool_use" and tool.raw_stop_reason == "completed"
    assert tool.tool_calls[0].id == "call_YunNGbIwdVJ2i0y0Mybva4Pw"
    assert tool.tool_calls[0].item_id is not None and tool.tool_calls[0].item_id.startswith("fc_")
    enc = codec.decode_response(
        json.loads((FIXTURES / "responses" / "vercel_reasoning_encrypted_content.json").read_text())
    )
    assert enc.reasoning[0].source == P and enc.reasoning[0].encrypted_content
    assert enc.reasoning[0].summary[0].startswith("**Reporting final result**")
    phase = codec.decode_response(json.loads((FIXTURES / "responses" / "vercel_phase.json").read_text()))
    assert len(phase.output) == 2 and phase.usage is not None
    assert phase.usage.cached_input_tokens == 3072 and phase.usage.reasoning_tokens == 58
    custom = codec.decode_response(json.loads((FIXTURES / "responses" / "vercel_custom_tool.json").read_text()))
    # A custom tool call waits for the caller's output like a function call does.
    assert isinstance(custom.output[0], OpaquePart) and custom.stop_reason == "tool_use"


# --------------------------------------------------------------------------- decoding meaning


def test_string_input_is_one_user_message() -> None:
    req = codec.decode_request(REQUESTS["text"])
    assert req.instructions == "You are a concise assistant."
    assert [(m.role, m.text) for m in req.messages] == [("user", "Name three primary colours.")]
    assert req.messages[0].raw_format == P


def test_roles_and_texts_of_multi_turn() -> None:
    req = codec.decode_request(REQUESTS["multi_turn"])
    assert [(m.role, m.text) for m in req.messages] == [
        ("developer", "Answer in one sentence."),
        ("user", "What is the capital of France?"),
        ("assistant", "The capital of France is Paris."),
        ("user", "And of Italy?"),
        ("assistant", "Rome."),
        ("system", "From now on answer in French."),
        ("user", "And of Spain?"),
    ]
    assert all(m.raw_message is not None for m in req.messages)
    assert req.max_output_tokens == 200


def test_assistant_side_items_merge_into_one_message_in_item_order() -> None:
    req = codec.decode_request(REQUESTS["tool_results"])
    roles = [m.role for m in req.messages]
    assert roles == ["user", "assistant", "tool", "assistant", "tool"]
    first = req.messages[1].content
    assert [type(p) for p in first] == [ReasoningPart, TextPart, ToolCallPart]
    reasoning, _text, call = first
    assert isinstance(reasoning, ReasoningPart) and reasoning.id == "rs_68c0aa" and reasoning.source == P
    assert isinstance(call, ToolCallPart) and call.item_id == "fc_68c0ac" and call.id == "call_price"
    result = req.messages[2].content[0]
    assert isinstance(result, ToolResultPart) and result.call_id == "call_price" and result.text == "132.50 USD"
    media = req.messages[4].content[0]
    assert isinstance(media, ToolResultPart)
    assert [type(p) for p in media.content] == [TextPart, ImagePart]


def test_tool_ids_pair_with_results() -> None:
    req = codec.decode_request(REQUESTS["parallel_tool_calls"])
    calls = [p.id for m in req.messages for p in m.content if isinstance(p, ToolCallPart)]
    results = [p.call_id for m in req.messages for p in m.content if isinstance(p, ToolResultPart)]
    assert calls == results == ["call_paris_w", "call_tokyo_t"]
    assert req.tool_choice == ToolChoice(mode="required", allowed=["get_weather", "get_time"])
    assert req.parallel_tool_calls is True


def test_media_parts() -> None:
    req = codec.decode_request(REQUESTS["image"])
    images = [p for p in req.messages[0].content if isinstance(p, ImagePart)]
    assert images[0].url == "https://upload.example.org/cat.jpg" and images[0].detail == "high"
    assert images[1].media_type == "image/png" and images[1].data and images[1].url is None
    assert images[1].detail is None, "auto is the default detail: canonical None"
    assert images[2].file_id == "file-6F2ksmvXxt4VdoqmHRw6kL"
    doc = codec.decode_request(REQUESTS["document"])
    files = [p for p in doc.messages[0].content if isinstance(p, FilePart)]
    assert (files[0].media_type, files[0].filename) == ("application/pdf", "report.pdf")
    assert files[1].url and files[2].file_id


def test_tools_formats_reasoning_and_options() -> None:
    req = codec.decode_request(REQUESTS["tools"])
    assert [t.name for t in req.tools if isinstance(t, FunctionTool)] == ["get_weather", "get_time"]
    assert req.tools[0].strict is True and req.tools[1].strict is None  # type: ignore[union-attr]
    so = codec.decode_request(REQUESTS["structured_output"]).output_format
    assert so is not None and (so.type, so.name, so.strict) == ("json_schema", "calendar_event", True)
    rq = codec.decode_request(REQUESTS["reasoning"])
    assert rq.reasoning is not None and (rq.reasoning.effort, rq.reasoning.summary) == ("high", "detailed")
    assert rq.logprobs is True and rq.top_logprobs == 3
    md = codec.decode_request(REQUESTS["metadata"])
    assert md.metadata == {"customer_id": "cus_1029", "session": "s-88"}
    assert (md.user, md.prompt_cache_key, md.service_tier) == ("user-4821", "tenant-17", "flex")
    assert md.extensions[P]["previous_response_id"].startswith("resp_")
    assert md.extensions[P]["safety_identifier"]
    builtin = codec.decode_request(REQUESTS["builtin_tools"])
    assert [type(t) for t in builtin.tools] == [BuiltinTool, BuiltinTool, BuiltinTool]
    assert builtin.tools[2].type == "custom"  # type: ignore[union-attr]
    assert builtin.tool_choice is not None and builtin.tool_choice.mode == "required"
    kinds = [(m.role, [type(p).__name__ for p in m.content]) for m in builtin.messages]
    assert kinds == [
        ("user", ["TextPart"]),
        ("assistant", ["OpaquePart", "OpaquePart"]),
        ("user", ["OpaquePart"]),
        ("user", ["OpaquePart"]),
    ]


def test_effort_none_means_reasoning_off() -> None:
    req = codec.decode_request({"model": "gpt-5.1", "input": "hi", "reasoning": {"effort": "none"}})
    assert req.reasoning == ReasoningConfig(effort="none", enabled=False)


def test_usage_is_normalised() -> None:
    resp = codec.decode_response(RESPONSES["usage_cached"])
    assert resp.usage == Usage(
        input_tokens=7243,
        output_tokens=423,
        total_tokens=7666,
        cached_input_tokens=3072,
        cache_creation_input_tokens=1024,
        reasoning_tokens=58,
    )
    assert resp.created == 1754925861


STOP_CASES: List[Tuple[str, Any, List[Dict[str, Any]], str]] = [
    (
        "completed",
        None,
        [
            {
                "type": "message",
                "id": "m",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "hi", "annotations": []}],
            }
        ],
        "end_turn",
    ),
    ("completed", None, [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}], "tool_use"),
    ("completed", None, [{"type": "custom_tool_call", "call_id": "c", "name": "f", "input": "x"}], "tool_use"),
    (
        "completed",
        None,
        [
            {
                "type": "message",
                "id": "m",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "refusal", "refusal": "no"}],
            }
        ],
        "refusal",
    ),
    ("incomplete", "max_output_tokens", [], "max_tokens"),
    ("incomplete", "content_filter", [], "content_filter"),
    ("incomplete", "max_messages", [], "other"),
    ("incomplete", "steered", [], "other"),
    ("failed", None, [], "error"),
    ("cancelled", None, [], "other"),
    ("in_progress", None, [], "other"),
    ("queued", None, [], "other"),
]


@pytest.mark.parametrize(("status", "reason", "output", "expected"), STOP_CASES)
def test_stop_reasons_map_and_round_trip(status: str, reason: Any, output: List[Dict[str, Any]], expected: str) -> None:
    raw: Dict[str, Any] = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": reason} if reason else None,
        "model": "gpt-5",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    resp = codec.decode_response(raw)
    assert resp.stop_reason == expected
    assert resp.raw_stop_reason == (f"incomplete:{reason}" if reason else status)
    losses = LossLog(P)
    assert codec.encode_response(resp, losses) == raw and not losses
    # From another protocol: the status is derived and decodes to the same category.
    out = codec.encode_response(_foreign(resp))
    validate_response(out)
    assert codec.decode_response(out).stop_reason == expected


# --------------------------------------------------------------------------- encoding other protocols' objects


def test_hand_built_request_from_another_protocol() -> None:
    request = LlmRequest(
        model="gpt-5",
        instructions="Be brief.",
        messages=[
            Message.user("Weather in Paris and Rome?"),
            Message(
                "assistant",
                [
                    TextPart("Checking."),
                    ToolCallPart("toolu_1", "get_weather", '{"city":"Paris"}'),
                    ToolCallPart("toolu_2", "get_weather", '{"city": Rome'),
                ],
            ),
            Message("tool", [ToolResultPart("toolu_1", [TextPart("18C")])]),
            Message("tool", [ToolResultPart("toolu_2", [TextPart("boom")], is_error=True)]),
            Message("developer", [TextPart("Mention the source.")]),
            Message("user", [TextPart("Thanks", cache_control=CacheControl())], name="alice"),
        ],
        tools=[
            FunctionTool("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}}),
            BuiltinTool("web_search_20250305", {"max_uses": 3}, source="anthropic_messages"),
        ],
        tool_choice=ToolChoice(mode="tool", name="get_weather"),
        temperature=1.5,
        top_k=40,
        stop=["END"],
        seed=7,
        presence_penalty=0.1,
        n=2,
        output_format=OutputFormat("json_schema", schema={"type": "object"}),
        reasoning=ReasoningConfig(budget_tokens=8000, enabled=True),
        extensions={"anthropic_messages": {"container": "c1"}},
    )
    losses = LossLog(P)
    out = codec.encode_request(request, losses)
    validate_request(out)
    assert _codes(losses) == {
        "L-TOOL-CUSTOM",
        "L-RESULT-ERROR-FLAG",
        "L-CACHE-MARKERS",
        "L-ROLE-NAME",
        "L-TOP-K",
        "L-STOP-UNSUPPORTED",
        "L-SEED",
        "L-PENALTIES",
        "L-N-CANDIDATES",
        "L-REASONING-EFFORT-BUDGET",
        "L-EXTENSION",
    }
    assert out["instructions"] == "Be brief."
    assert out["temperature"] == 1.5
    assert out["reasoning"] == {"effort": "medium"}
    assert out["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert out["text"]["format"]["name"] == "response"
    assert [t["type"] for t in out["tools"]] == ["function"]
    assert out["tools"][0]["strict"] is None
    kinds = [(i.get("type"), i.get("role")) for i in out["input"]]
    assert kinds == [
        (None, "user"),
        (None, "assistant"),
        ("function_call", None),
        ("function_call", None),
        ("function_call_output", None),
        ("function_call_output", None),
        (None, "developer"),
        (None, "user"),
    ]
    # Invalid JSON arguments are a string on this wire: kept byte for byte, no loss.
    assert out["input"][3]["arguments"] == '{"city": Rome'
    assert [
        losses.entries[i].path for i in range(len(losses.entries)) if losses.entries[i].code == "L-TOOL-CUSTOM"
    ] == ["tools[1]"]
    custom = next(x for x in losses.entries if x.code == "L-TOOL-CUSTOM")
    assert "web_search_20250305" in custom.detail and P in custom.detail


def test_reasoning_from_another_protocol_never_crosses() -> None:
    request = LlmRequest(
        model="gpt-5",
        messages=[
            Message.user("think"),
            Message(
                "assistant",
                [
                    ReasoningPart(text="hmm", signature="SIG-SECRET", source="anthropic_messages"),
                    ReasoningPart(encrypted_content="REDACTED-DATA", redacted=True, source="anthropic_messages"),
                    ReasoningPart(text="plain thought"),
                    TextPart("done"),
                ],
            ),
        ],
    )
    losses = LossLog(P)
    out = codec.encode_request(request, losses)
    validate_request(out)
    text = json.dumps(out)
    assert "SIG-SECRET" not in text and "REDACTED-DATA" not in text and "plain thought" not in text
    assert [x.code for x in losses.entries] == ["L-REASONING-OPAQUE"] * 3
    response = LlmResponse(
        id="msg_01",
        model="claude-x",
        output=[
            ReasoningPart(text="hmm", signature="SIG-SECRET", source="anthropic_messages"),
            Message.assistant("done"),
        ],
    )
    rlosses = LossLog(P)
    rout = codec.encode_response(response, rlosses)
    validate_response(rout)
    assert "SIG-SECRET" not in json.dumps(rout)
    assert rout["output"][0]["content"] == [{"type": "reasoning_text", "text": "hmm"}]
    assert rout["output"][0]["id"] == "rs_msg_01_0"
    assert _codes(rlosses) == {"L-REASONING-OPAQUE"}


def test_same_protocol_reasoning_replays_with_encrypted_content() -> None:
    req = codec.decode_request(REQUESTS["tool_results"])
    native = codec.encode_request(_foreign(req))
    assert native["input"][1] == {
        "type": "reasoning",
        "id": "rs_68c0aa",
        "summary": [{"type": "summary_text", "text": "Need the price and the chart."}],
        "encrypted_content": "gAAAAABo-enc-1",
    }
    part = req.messages[1].content[0]
    assert isinstance(part, ReasoningPart)
    for source in (None, "open_ai_chat_completions"):
        req.messages[1].content[0] = replace(part, source=source)
        losses = LossLog(P)
        out = codec.encode_request(req, losses)
        assert "gAAAAABo-enc-1" not in json.dumps(out)
        assert _codes(losses) == {"L-REASONING-OPAQUE"}


def test_hand_built_response_gets_required_fields_and_derived_ids() -> None:
    response = LlmResponse(
        id="chatcmpl-9",
        model="gpt-4o",
        output=[
            Message("assistant", [TextPart("Let me check."), RefusalPart("not that part")]),
            ToolCallPart("call_7", "lookup", '{"q":1}'),
            OpaquePart("gemini_generate_content", {"executableCode": {"code": "1"}}),
        ],
        stop_reason="tool_use",
        usage=Usage(input_tokens=10, output_tokens=5),
        choices=[Choice(index=1)],
    )
    losses = LossLog(P)
    out = codec.encode_response(response, losses)
    validate_response(out)
    assert out["output"][0]["id"] == "msg_chatcmpl-9_0" and out["output"][0]["status"] == "completed"
    assert out["output"][1]["id"] == "fc_call_7" and out["output"][1]["call_id"] == "call_7"
    assert out["usage"]["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 0}
    assert out["usage"]["total_tokens"] == 15
    assert (out["object"], out["parallel_tool_calls"], out["tool_choice"], out["tools"]) == (
        "response",
        True,
        "auto",
        [],
    )
    assert out["status"] == "completed" and out["created_at"] == 0
    assert _codes(losses) == {"L-OPAQUE", "L-N-CANDIDATES"}
    assert codec.encode_response(response) == out, "derived ids are deterministic"


@pytest.mark.parametrize(
    ("stop", "code", "status"),
    [
        ("pause", "L-FINISH-PAUSE", "incomplete"),
        ("stop_sequence", "L-FINISH-STOPSEQ", "completed"),
        ("refusal", "L-FINISH-GRANULARITY", "completed"),
        ("max_tokens", None, "incomplete"),
        ("content_filter", None, "incomplete"),
        ("error", None, "failed"),
        ("other", None, "incomplete"),
        ("end_turn", None, "completed"),
    ],
)
def test_foreign_stop_reasons(stop: str, code: Any, status: str) -> None:
    response = LlmResponse(id="r", model="m", output=[Message.assistant("x")], stop_reason=stop, raw_stop_reason="X")
    losses = LossLog(P)
    out = codec.encode_response(response, losses)
    validate_response(out)
    assert out["status"] == status
    # "X" is no protocol's plain value for any stop reason: what it said is dropped, and
    # that is reported where nothing else about the stop reason was.
    assert _codes(losses) == {code or "L-FINISH-GRANULARITY"}


def test_media_and_role_losses() -> None:
    request = LlmRequest(
        model="m",
        messages=[
            Message(
                "user",
                [
                    AudioPart("AAAA", "wav"),
                    ImagePart(url="https://x/y.png"),
                    FilePart(text="plain doc", title="Notes"),
                    FilePart(data="JVBER", media_type="application/pdf", filename="a.pdf"),
                ],
            ),
            Message("assistant", [ImagePart(url="https://x/z.png"), TextPart("ok")]),
        ],
        service_tier="standard_only",
    )
    losses = LossLog(P)
    out = codec.encode_request(request, losses)
    validate_request(out)
    assert _codes(losses) == {"L-AUDIO", "L-FILE-NAME", "L-MEDIA-ROLE", "L-SERVICE-TIER"}
    content = out["input"][0]["content"]
    assert content[0] == {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"}
    assert content[1] == {"type": "input_file", "file_data": "data:text/plain;base64,cGxhaW4gZG9j"}
    assert content[2]["file_data"] == "data:application/pdf;base64,JVBER"
    assert out["input"][1] == {"role": "assistant", "content": "ok"}
    assert out["service_tier"] == "default"


def test_tool_message_without_results_cannot_be_encoded() -> None:
    request = LlmRequest(model="m", messages=[Message("tool", [TextPart("orphan")])])
    with pytest.raises(EncodeError) as info:
        codec.encode_request(request)
    assert info.value.protocol == P and info.value.path == "messages[0]"


def test_results_inside_a_user_message_become_one_item_each_in_order() -> None:
    request = LlmRequest(
        model="m",
        messages=[
            Message("user", [ToolResultPart("a", [TextPart("1")]), ToolResultPart("b", []), TextPart("next")]),
        ],
    )
    out = codec.encode_request(request)
    validate_request(out)
    assert out["input"] == [
        {"type": "function_call_output", "call_id": "a", "output": "1"},
        {"type": "function_call_output", "call_id": "b", "output": ""},
        {"role": "user", "content": "next"},
    ]


def test_edited_content_is_encoded_not_the_raw_message() -> None:
    req = codec.decode_request(REQUESTS["multi_turn"])
    req.messages[2].content[0] = replace(req.messages[2].content[0], text="Paris, obviously.")  # type: ignore[call-arg]
    req.messages[1] = Message.user("What is the capital of Germany?")
    out = codec.encode_request(req)
    assert out["input"][2]["content"][0]["text"] == "Paris, obviously."
    assert out["input"][2]["id"] == "msg_0a1b2c3d4e5f"
    assert out["input"][1] == {"role": "user", "content": "What is the capital of Germany?"}
    single = codec.decode_request(REQUESTS["text"])
    single.messages[0] = Message.user("Changed")
    assert codec.encode_request(single)["input"] == "Changed"


def test_response_message_replays_in_a_request() -> None:
    resp = codec.decode_response(RESPONSES["usage_cached"])
    request = LlmRequest(model="gpt-5.1", messages=[Message.user("news?"), resp.message, Message.user("more")])
    losses = LossLog(P)
    out = codec.encode_request(request, losses)
    validate_request(out)
    assert not losses
    item = out["input"][1]
    assert (item["id"], item["phase"], item["type"]) == ("msg_0f44bb08", "final_answer", "message")
    assert item["content"][0]["annotations"][0]["type"] == "url_citation"


def test_extensions_of_this_protocol_are_reported_elsewhere_only() -> None:
    req = codec.decode_request(REQUESTS["metadata"])
    other = LossLog("x")
    from omnillm.protocols._common import restore_extensions

    restore_extensions({}, req.extensions, "anthropic_messages", other, "")
    assert _codes(other) == {"L-EXTENSION"}
    assert "previous_response_id" in other.entries[0].detail
    # Shape markers never count as losses.
    assert all(not v for k, v in req.extensions.items() if k.startswith(P + "~"))


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"input": "hi"}, "model"),
        ({"model": 5, "input": "hi"}, "model"),
        ({"model": "m", "input": 5}, "input"),
        ({"model": "m", "input": [5]}, "input[0]"),
        ({"model": "m", "input": [{"content": "x"}]}, "input[0].type"),
        ({"model": "m", "input": [{"type": 3}]}, "input[0].type"),
        ({"model": "m", "input": [{"role": "user"}]}, "input[0].content"),
        ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"model": "m", "input": [{"role": "user", "content": [{"text": "x"}]}]}, "input[0].content[0].type"),
        ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_text"}]}]}, "input[0].content[0].text"),
        ({"model": "m", "input": [{"role": "user", "content": ["x"]}]}, "input[0].content[0]"),
        ({"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
        ({"model": "m", "input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output"),
        (
            {"model": "m", "input": [{"type": "reasoning", "id": "r", "summary": [{"type": "summary_text"}]}]},
            "input[0].summary[0].text",
        ),
        ({"model": "m", "tools": [{"name": "f"}]}, "tools[0].type"),
        ({"model": "m", "tools": {}}, "tools"),
        ({"model": "m", "tool_choice": "sometimes"}, "tool_choice"),
        ({"model": "m", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"model": "m", "text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
        ({"model": "m", "temperature": "hot"}, "temperature"),
        ({"model": "m", "metadata": {"a": 1}}, "metadata.a"),
        ({"model": "m", "reasoning": []}, "reasoning"),
    ],
)
def test_malformed_requests_name_protocol_and_path(raw: Dict[str, Any], path: str) -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode_request(raw)
    assert info.value.protocol == P
    assert info.value.path == path
    assert str(info.value).startswith(f"{P}: {path}")


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ([], ""),
        ({"model": "m", "output": []}, "id"),
        ({"id": "r", "output": []}, "model"),
        ({"id": "r", "model": "m"}, "output"),
        ({"id": "r", "model": "m", "output": {}}, "output"),
        ({"id": "r", "model": "m", "output": [None]}, "output[0]"),
        ({"id": "r", "model": "m", "output": [{"id": "x"}]}, "output[0].type"),
        ({"id": "r", "model": "m", "output": [{"type": "message", "role": "user", "content": []}]}, "output[0].role"),
        (
            {"id": "r", "model": "m", "output": [{"type": "function_call", "call_id": "c", "name": "f"}]},
            "output[0].arguments",
        ),
        ({"id": "r", "model": "m", "output": [], "usage": {"input_tokens": 1}}, "usage.output_tokens"),
        (
            {
                "id": "r",
                "model": "m",
                "output": [],
                "usage": {"input_tokens": 1, "output_tokens": 2, "input_tokens_details": {"cached_tokens": "x"}},
            },
            "usage.input_tokens_details.cached_tokens",
        ),
        ({"id": "r", "model": "m", "output": [], "status": 3}, "status"),
        ({"id": "r", "model": "m", "output": [], "created_at": "now"}, "created_at"),
    ],
)
def test_malformed_responses_name_protocol_and_path(raw: Any, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode_response(raw)
    assert info.value.protocol == P and info.value.path == path


def test_judge_rejects_unknown_keys_and_missing_required_ones() -> None:
    good = REQUESTS["tools"]
    bad_tool = copy.deepcopy(good)
    del bad_tool["tools"][0]["strict"]
    assert request_problems(bad_tool)
    extra = copy.deepcopy(good)
    extra["input"][0]["colour"] = "red"
    assert request_problems(extra)
    resp = copy.deepcopy(RESPONSES["text"])
    resp["output"][0]["content"][0]["bogus"] = 1
    assert response_problems(resp)
    resp2 = copy.deepcopy(RESPONSES["text"])
    del resp2["usage"]["input_tokens_details"]["cache_write_tokens"]
    assert response_problems(resp2)


def test_leading_system_message_of_another_protocol_becomes_instructions() -> None:
    request = LlmRequest(
        model="m", messages=[Message.system("Be brief."), Message.user("hi"), Message.system("Later rule.")]
    )
    losses = LossLog(P)
    out = codec.encode_request(request, losses)
    validate_request(out)
    assert not losses
    assert out["instructions"] == "Be brief."
    assert out["input"] == [{"role": "user", "content": "hi"}, {"role": "system", "content": "Later rule."}]
    both = replace(request, instructions="Given.")
    assert codec.encode_request(both)["input"][0] == {"role": "system", "content": "Be brief."}
    # This protocol's own system messages stay messages.
    native = codec.decode_request({"model": "m", "input": [{"role": "system", "content": "S"}]})
    assert "instructions" not in codec.encode_request(native)


# --------------------------------------------------------------------------- regressions found by the mapping tables


def test_tool_choice_none_or_forced_with_a_subset_keeps_its_meaning() -> None:
    tools: List[Any] = [FunctionTool("f"), FunctionTool("g")]
    for choice, wire in (
        (ToolChoice("none", allowed=["f"]), "none"),
        (ToolChoice("tool", name="f", allowed=["f", "g"]), {"type": "function", "name": "f"}),
    ):
        losses = LossLog(P)
        out = codec.encode_request(LlmRequest("m", [Message.user("hi")], tools=tools, tool_choice=choice), losses)
        assert out["tool_choice"] == wire
        assert _codes(losses) == {"L-TC-SUBSET"}


def test_unknown_content_parts_stay_inside_their_message() -> None:
    video = {"type": "input_video", "video_url": "https://x.test/v.mp4"}
    request = {
        "model": "m",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "see"}, video]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}, video]},
        ],
    }
    losses = LossLog(P)
    assert codec.encode_request(codec.decode_request(copy.deepcopy(request)), losses) == request and not losses
    response = copy.deepcopy(RESPONSES["text"])
    message = next(item for item in response["output"] if item["type"] == "message")
    message["content"].append({"type": "output_audio", "data": "AAAA"})
    assert codec.encode_response(codec.decode_response(copy.deepcopy(response))) == response


def test_usage_without_details_round_trips() -> None:
    body = {
        "id": "r",
        "object": "response",
        "created_at": 1,
        "status": "completed",
        "model": "m",
        "output": [],
        "usage": {"input_tokens": 15, "output_tokens": 5, "total_tokens": 20},
    }
    losses = LossLog(P)
    assert codec.encode_response(codec.decode_response(copy.deepcopy(body)), losses) == body and not losses
    full = codec.encode_response(LlmResponse("r", "m", usage=Usage(15, 5)))
    assert full["usage"]["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 0}
