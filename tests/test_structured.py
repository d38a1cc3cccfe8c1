"""Structured output: per-provider schema adaptation, the wire form on each protocol, parsing.

Adaptations are compared with the installed SDKs' own transforms
(``openai.lib._pydantic.to_strict_json_schema``, the anthropic SDK's ``transform_schema``)
on pydantic's schema of the same type; calls run against the mock provider on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any, Dict, Iterator, List, Literal, Optional, Tuple

import pydantic
import pytest
from typing_extensions import TypedDict

import omnillm
from omnillm import LlmRequest, LlmResponse, Message
from omnillm.client import Client
from omnillm.errors import ConversionError, SchemaError, StructuredOutputError
from omnillm.gateway import BreakerConfig, Gateway, KeyConfig, PoolConfig, Price, RetryPolicy, Target
from omnillm.structured import ANSWER_TOOL, OutputSpec, anthropic_schema, gemini_schema, strict_schema
from omnillm.testing import Fault, MockProvider, MockReply


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


@dataclasses.dataclass
class Reading:
    city: str
    temperature: float
    unit: Unit
    note: Optional[str]


@dataclasses.dataclass
class Forecast:
    """A forecast for several cities."""

    readings: List[Reading]
    kind: Literal["daily", "hourly"]
    confidence: float = 0.5


@dataclasses.dataclass
class Node:
    label: str
    children: List[Node] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Tally:
    counts: Dict[str, int]


@dataclasses.dataclass
class Span:
    bounds: Tuple[int, int]


class Person(TypedDict):
    name: str
    age: int


def _without_property_titles(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_without_property_titles(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {
                n: _without_property_titles({k: v for k, v in p.items() if k != "title"}) for n, p in value.items()
            }
        else:
            out[key] = _without_property_titles(value)
    return out


# --------------------------------------------------------------------------- schema adaptation


def test_object_types_keep_their_schema_and_other_types_are_wrapped() -> None:
    assert OutputSpec(Reading).schema["title"] == "Reading" and not OutputSpec(Reading).wrapped
    listed = OutputSpec(List[Reading])
    assert listed.wrapped and listed.name == "response"
    assert listed.schema["required"] == ["value"]
    assert listed.schema["properties"]["value"] == {"items": {"$ref": "#/$defs/Reading"}, "type": "array"}
    assert "Reading" in listed.schema["$defs"]
    enum_spec = OutputSpec(Unit)
    assert enum_spec.wrapped and enum_spec.name == "Unit"
    assert enum_spec.schema["properties"]["value"] == {"enum": ["c", "f"], "title": "Unit", "type": "string"}
    recursive = OutputSpec(Node).schema
    assert recursive["type"] == "object" and "$ref" not in recursive, "providers want an object at the root"
    assert recursive["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}


def test_strict_schema_equals_the_openai_sdk_when_every_field_is_required() -> None:
    from openai.lib._pydantic import to_strict_json_schema

    ours, losses = strict_schema(OutputSpec(Reading).schema)
    sdk = _without_property_titles(to_strict_json_schema(pydantic.TypeAdapter(Reading)))
    assert ours == sdk and losses == []


def test_strict_schema_makes_optional_fields_nullable_where_the_sdk_keeps_defaults() -> None:
    from openai.lib._pydantic import to_strict_json_schema

    ours, _ = strict_schema(OutputSpec(Forecast).schema)
    sdk = _without_property_titles(to_strict_json_schema(pydantic.TypeAdapter(Forecast)))
    # The SDK leaves "default": 0.5 in place, which strict mode rejects ("'default' is not
    # permitted"), and forces the model to pick a value; omnillm keeps the field optional.
    assert sdk["properties"]["confidence"] == {"default": 0.5, "type": "number"}
    assert ours["properties"]["confidence"] == {"type": ["number", "null"], "description": "Default: 0.5."}
    sdk["properties"]["confidence"] = ours["properties"]["confidence"]
    assert ours == sdk


def test_strict_schema_refuses_free_form_objects() -> None:
    with pytest.raises(omnillm.ConfigurationError, match="free-form keys"):
        strict_schema(OutputSpec(Tally).schema)
    ours, losses = strict_schema(OutputSpec(Span).schema)
    assert ours["properties"]["bounds"]["items"] == {"type": "integer"} and "prefixItems" not in json.dumps(ours)
    assert [loss.code for loss in losses] == ["L-SO-SCHEMA-SUBSET"]


def test_anthropic_schema_follows_the_anthropic_sdk() -> None:
    from anthropic.lib._parse._transform import transform_schema

    ours, losses = anthropic_schema(OutputSpec(Reading).schema)
    sdk = _without_property_titles(transform_schema(pydantic.TypeAdapter(Reading).json_schema()))
    assert ours == sdk and losses == []
    # Constraints the form cannot enforce go into the description, as the SDK does (as JSON,
    # where the SDK writes Python reprs); tuples keep their item type instead of losing it.
    forecast, losses = anthropic_schema(OutputSpec(Forecast).schema)
    assert forecast["properties"]["confidence"] == {"type": "number", "description": "{default: 0.5}"}
    assert [loss.code for loss in losses] == ["L-SO-SCHEMA-SUBSET"]
    span, _ = anthropic_schema(OutputSpec(Span).schema)
    assert span["properties"]["bounds"] == {
        "type": "array",
        "items": {"type": "integer"},
        "description": "{maxItems: 2, minItems: 2}",
    }
    with pytest.raises(omnillm.ConfigurationError, match="free-form keys"):
        anthropic_schema(OutputSpec(Tally).schema)


def _gemini_sdk_schema(schema: Dict[str, Any]) -> Dict[str, Any]:
    """What the google-genai SDK makes of a ``responseJsonSchema``: its ``JSONSchema`` type
    (``extra='forbid'``, so a keyword outside the subset is an error) converted to its
    ``Schema``, titles removed (pydantic titles every property; omnillm does not, on purpose)."""
    from google.genai import types

    converted = types.Schema.from_json_schema(
        json_schema=types.JSONSchema.model_validate(schema),
        api_option="GEMINI_API",
        raise_error_on_unsupported_field=True,
    )
    return _without_titles(converted.model_dump(exclude_none=True, mode="json"))


def _without_titles(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_titles(v) for k, v in value.items() if k != "title"}
    if isinstance(value, list):
        return [_without_titles(v) for v in value]
    return value


def test_gemini_keywords_are_the_sdks_json_schema_subset() -> None:
    from google.genai import types

    from omnillm.structured import _GEMINI_KEYS

    sdk_keys = {f.alias or name for name, f in types.JSONSchema.model_fields.items()}
    assert sdk_keys == _GEMINI_KEYS


GEMINI_TYPES = [Reading, Forecast, Node, Tally, Person, Span, List[Person], Unit]


@pytest.mark.parametrize("output_type", GEMINI_TYPES, ids=lambda t: getattr(t, "__name__", str(t)))
def test_gemini_schema_is_accepted_by_the_sdk_unchanged(output_type: Any) -> None:
    """The SDK's JSONSchema type validates the adapted schema and dumps it back identically."""
    from google.genai import types

    ours, _ = gemini_schema(OutputSpec(output_type).schema)
    dumped = types.JSONSchema.model_validate(ours).model_dump(by_alias=True, exclude_none=True, mode="json")
    assert dumped == ours


@pytest.mark.parametrize("output_type", [Reading, Forecast, Tally, Person, List[Person], Unit])
def test_gemini_schema_means_what_the_sdk_makes_of_pydantics_schema(output_type: Any) -> None:
    """A google-genai user passes ``TypeAdapter(T).json_schema()``; the SDK converts both to the same Schema.

    Non-object outputs are wrapped as ``{"value": ...}`` (OpenAI and Anthropic need an
    object root, and one shape keeps parsing uniform), so they compare under ``value``.
    """
    ours, losses = gemini_schema(OutputSpec(output_type).schema)
    expected = _gemini_sdk_schema(pydantic.TypeAdapter(output_type).json_schema())
    got = _gemini_sdk_schema(ours)
    if expected.get("type") != "OBJECT":
        assert got["required"] == ["value"]
        got = got["properties"]["value"]
    assert got == expected and losses == []


def test_gemini_schema_drops_what_the_sdk_rejects() -> None:
    """pydantic's tuple schema (``prefixItems``) is outside the SDK's subset; ours is inside, with a loss."""
    pydantic_schema = pydantic.TypeAdapter(Span).json_schema()
    with pytest.raises(pydantic.ValidationError, match="prefixItems"):
        _gemini_sdk_schema(pydantic_schema)
    ours, losses = gemini_schema(OutputSpec(Span).schema)
    bounds = _gemini_sdk_schema(ours)["properties"]["bounds"]
    assert bounds == {"type": "ARRAY", "items": {"type": "INTEGER"}, "min_items": 2, "max_items": 2}
    assert [(loss.code, loss.path) for loss in losses] == [("L-SO-SCHEMA-SUBSET", "schema.properties.bounds")]
    schema = {"type": "object", "properties": {"kind": {"const": "a"}, "n": {"type": "integer", "multipleOf": 2}}}
    adapted, losses = gemini_schema(schema)
    assert _gemini_sdk_schema(adapted)["properties"] == {"kind": {"enum": ["a"]}, "n": {"type": "INTEGER"}}
    assert [loss.path for loss in losses] == ["schema.properties.n"]
    assert schema["properties"]["kind"] == {"const": "a"}, "the input is not modified"


def test_gemini_wire_form_is_what_the_sdk_sends(mock: MockProvider) -> None:
    """The generationConfig omnillm sends equals the SDK's for the same config and schema."""
    from google.genai import models, types

    mock.queue(MockReply(text=json.dumps(FORECAST)))
    client_for(mock, "gemini", None).call(REQUEST, output_type=Forecast)
    sent = mock.requests[-1].json["generationConfig"]
    ours, _ = gemini_schema(OutputSpec(Forecast).schema)
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_json_schema=ours, max_output_tokens=200
    )
    assert sent == models._GenerateContentConfig_to_mldev(None, config, {})


def test_unsupported_output_types_fail_before_any_request() -> None:
    with pytest.raises(SchemaError):
        OutputSpec(bytes)
    with pytest.raises(omnillm.ConfigurationError, match="output mode"):
        OutputSpec(Reading, mode="json")


# --------------------------------------------------------------------------- on the wire

PROTOCOLS = [
    ("openai", "open_ai_chat_completions"),
    ("openai", "open_ai_responses"),
    ("anthropic", None),
    ("gemini", None),
]
IDS = [p[1] or p[0] for p in PROTOCOLS]

FORECAST = {
    "readings": [
        {"city": "Paris", "temperature": 21, "unit": "c", "note": None},
        {"city": "Austin", "temperature": 88.5, "unit": "f", "note": "humid"},
    ],
    "kind": "daily",
    "confidence": None,
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="{}")) as m:
        yield m


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()


def client_for(mock: MockProvider, provider: str, wire_format: Optional[str], **kw: Any) -> Client:
    prefix = "/v1beta" if provider == "gemini" else "/v1"
    return Client(provider, api_key="sk-t", base_url=mock.base_url + prefix, wire_format=wire_format, environ={}, **kw)


REQUEST = LlmRequest(model="m-1", messages=[Message.user("Forecast please")], max_output_tokens=200)


def structured_form(body: Dict[str, Any], protocol: str) -> Dict[str, Any]:
    """The structured-output part of a request body, per protocol."""
    if protocol == "open_ai_chat_completions":
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        return fmt["json_schema"]  # type: ignore[no-any-return]
    if protocol == "open_ai_responses":
        return body["text"]["format"]  # type: ignore[no-any-return]
    if protocol == "anthropic_messages":
        return body["output_config"]["format"]  # type: ignore[no-any-return]
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    return {"schema": config["responseJsonSchema"]}


@pytest.mark.parametrize(("provider", "wire_format"), PROTOCOLS, ids=IDS)
def test_structured_output_on_each_protocol(mock: MockProvider, provider: str, wire_format: Optional[str]) -> None:
    mock.queue(MockReply(text=json.dumps(FORECAST)))
    response = client_for(mock, provider, wire_format).call(REQUEST, output_type=Forecast)
    assert response.parsed == Forecast(
        [Reading("Paris", 21.0, Unit.CELSIUS, None), Reading("Austin", 88.5, Unit.FAHRENHEIT, "humid")], "daily"
    )
    assert response.parsed.confidence == 0.5, "null for an optional field gives its default"
    recorded = mock.requests[-1]
    form = structured_form(recorded.json, recorded.protocol)
    schema = form["schema"]
    assert set(schema["properties"]) == {"readings", "kind", "confidence"}
    if recorded.protocol.startswith("open_ai"):
        assert form["name"] == "Forecast" and form["strict"] is True
        assert schema["required"] == ["readings", "kind", "confidence"] and schema["additionalProperties"] is False
        assert "default" not in json.dumps(schema)
    elif recorded.protocol == "anthropic_messages":
        assert set(form) == {"type", "schema"}, "no name or strict flag in Anthropic's form"
        assert schema["additionalProperties"] is False and schema["required"] == ["readings", "kind"]
        assert schema["description"] == "A forecast for several cities."
    else:
        assert schema["required"] == ["readings", "kind"] and "additionalProperties" not in schema


@pytest.mark.parametrize(("provider", "wire_format"), PROTOCOLS, ids=IDS)
def test_list_enum_and_typeddict_outputs_are_wrapped(
    mock: MockProvider, provider: str, wire_format: Optional[str]
) -> None:
    client = client_for(mock, provider, wire_format)
    mock.queue(MockReply(text=json.dumps({"value": [{"name": "Ada", "age": 36}]})))
    people = client.call(REQUEST, output_type=List[Person]).parsed
    assert people == [{"name": "Ada", "age": 36}]
    mock.queue(MockReply(text='{"value": "f"}'))
    assert client.call(REQUEST, output_type=Unit).parsed is Unit.FAHRENHEIT
    body = mock.requests[-1].json
    assert structured_form(body, mock.requests[-1].protocol)["schema"]["required"] == ["value"]


def test_an_answer_that_does_not_fit_raises_with_the_raw_text(mock: MockProvider) -> None:
    client = client_for(mock, "openai", "open_ai_responses")
    bad = json.dumps({"readings": [{"city": "Paris", "temperature": "warm", "unit": "k"}], "kind": "weekly"})
    mock.queue(MockReply(text=bad))
    with pytest.raises(StructuredOutputError) as info:
        client.call(REQUEST, output_type=Forecast)
    error = info.value
    assert error.raw_text == bad and error.response is not None and error.response.text == bad
    assert dict(error.problems) == {
        "$.readings[0].temperature": "expected a number, got a string",
        "$.readings[0].unit": "expected one of 'c', 'f', got 'k'",
        "$.readings[0].note": "is required",
        "$.kind": "expected one of 'daily', 'hourly', got 'weekly'",
    }
    mock.queue(MockReply(text='{"readings": [', stop_reason="max_tokens"))
    with pytest.raises(StructuredOutputError, match=r"not valid JSON \(it stopped at the output token limit\)") as cut:
        client.call(REQUEST, output_type=Forecast)
    assert cut.value.raw_text == '{"readings": ['


def test_refusals_and_fenced_json(mock: MockProvider) -> None:
    spec = OutputSpec(Unit)
    refusal = LlmResponse("r", "m", [Message("assistant", [omnillm.RefusalPart("I can't help with that.")])])
    with pytest.raises(StructuredOutputError, match="refused") as info:
        spec.parse(refusal)
    assert info.value.raw_text == "I can't help with that."
    fenced = LlmResponse("r", "m", [Message.assistant('```json\n{"value": "c"}\n```')])
    assert spec.parse(fenced) is Unit.CELSIUS
    with pytest.raises(StructuredOutputError, match="holds no text"):
        spec.parse(LlmResponse("r", "m", []))


@pytest.mark.parametrize(("provider", "wire_format"), PROTOCOLS, ids=IDS)
def test_tool_mode_forces_a_tool_and_reads_its_arguments(
    mock: MockProvider, provider: str, wire_format: Optional[str]
) -> None:
    mock.queue(MockReply(text="", tool_calls=[(ANSWER_TOOL, FORECAST)]))
    spec = OutputSpec(Forecast, mode="tool")
    response = client_for(mock, provider, wire_format).call(REQUEST, output_type=spec)
    assert isinstance(response.parsed, Forecast) and response.parsed.readings[1].city == "Austin"
    body = json.dumps(mock.requests[-1].json)
    assert ANSWER_TOOL in body
    for key in ("response_format", "output_config", "responseJsonSchema"):
        assert key not in body


def test_anthropic_falls_back_to_a_forced_tool_for_free_form_objects(mock: MockProvider) -> None:
    seen: List[Optional[LlmRequest]] = []

    def reply(recorded: Any, request: Optional[LlmRequest]) -> MockReply:
        seen.append(request)
        return MockReply(text="", tool_calls=[(ANSWER_TOOL, {"counts": {"a": 2, "b": 1}})])

    mock.queue(reply)
    response = client_for(mock, "anthropic", None).call(REQUEST, output_type=Tally)
    assert response.parsed == Tally({"a": 2, "b": 1})
    body = mock.requests[-1].json
    assert "output_config" not in body
    assert body["tool_choice"] == {"type": "tool", "name": ANSWER_TOOL}
    assert body["tools"][0]["input_schema"]["properties"]["counts"]["additionalProperties"] == {"type": "integer"}
    _, losses = OutputSpec(Tally).adapt(OutputSpec(Tally).request(REQUEST), "anthropic_messages")
    assert [loss.code for loss in losses] == ["L-SO-VIA-TOOL"]
    with pytest.raises(omnillm.ConfigurationError):
        OutputSpec(Tally, mode="native").adapt(OutputSpec(Tally).request(REQUEST), "anthropic_messages")


def test_openai_sends_what_strict_mode_cannot_express_non_strict(mock: MockProvider) -> None:
    mock.queue(MockReply(text=json.dumps({"counts": {"x": 1}})))
    response = client_for(mock, "openai", "open_ai_chat_completions").call(REQUEST, output_type=Tally)
    assert response.parsed == Tally({"x": 1})
    assert mock.requests[-1].json["response_format"]["json_schema"]["strict"] is False


def test_a_strict_client_refuses_a_lossy_adaptation(mock: MockProvider) -> None:
    client = client_for(mock, "openai", "open_ai_chat_completions", strict=True)
    with pytest.raises(ConversionError, match="L-SO-SCHEMA-SUBSET"):
        client.call(REQUEST, output_type=Span)
    assert mock.requests == []
    mock.queue(MockReply(text=json.dumps({"city": "x", "temperature": 1, "unit": "c", "note": None})))
    assert client.call(REQUEST, output_type=Reading).parsed.city == "x", "an exact adaptation passes"


def test_gateway_adapts_the_schema_to_each_attempts_protocol(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=503, route="open_ai_chat_completions"))
    mock.queue(MockReply(text=json.dumps(FORECAST)), MockReply(text=json.dumps(FORECAST)))
    keys = [
        KeyConfig(
            "openai", "sk-oa", label="oa", base_url=mock.base_url + "/v1", wire_format="open_ai_chat_completions"
        ),
        KeyConfig("anthropic", "sk-an", label="an", base_url=mock.base_url + "/v1"),
    ]
    routes = {"smart": [Target("openai", "gpt-x"), Target("anthropic", "claude-x")]}
    prices = {"gpt-x": Price.usd(1.0, 2.0), "claude-x": Price.usd(3.0, 15.0)}
    config = PoolConfig(
        strategy="lowest_cost",  # the cheaper OpenAI key first, so the failover goes to Anthropic
        retry=RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0),
        breaker=BreakerConfig(failure_threshold=5, min_calls=100),
    )
    with Gateway(keys, routes=routes, pool_config=config, prices=prices) as gw:
        response = gw.call(dataclasses.replace(REQUEST, model="smart"), output_type=Forecast)
    assert isinstance(response.parsed, Forecast)
    first, second = mock.requests
    assert first.protocol == "open_ai_chat_completions" and first.json["response_format"]["json_schema"]["strict"]
    assert second.protocol == "anthropic_messages"
    assert second.json["output_config"]["format"]["schema"]["required"] == ["readings", "kind"]
