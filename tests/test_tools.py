"""Typed tools: schemas from type hints and docstrings, argument validation, and the tool loop.

Schemas are compared with what ``pydantic.TypeAdapter`` (the reference the OpenAI and
Anthropic SDKs build on) gives for the same annotation; the tool loop runs against the
mock provider on 127.0.0.1 on all four generation protocols.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import threading
from typing import Any, Dict, FrozenSet, Iterator, List, Literal, Mapping, Optional, Sequence, Set, Tuple, Union

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typing_extensions import Annotated, NotRequired, TypedDict

import omnillm
from omnillm import LlmRequest, Message, ToolCallPart, ToolChoice, ToolResultPart
from omnillm.client import Client
from omnillm.errors import SchemaError, ToolArgumentsError
from omnillm.gateway import Gateway, KeyConfig
from omnillm.schema import compile_type, parse_docstring
from omnillm.testing import MockProvider, MockReply
from omnillm.tools import Tool, ToolRun, run_tools, tool

# --------------------------------------------------------------------------- types used below


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Point:
    x: int
    y: float = 0.0


@dataclasses.dataclass
class Tree:
    value: int
    children: List[Tree] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Shape:
    name: str
    corners: List[Point]
    colour: Optional[Unit] = None


class Address(TypedDict):
    street: str
    zip: NotRequired[str]


@dataclasses.dataclass
class Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n must not be negative")


ANNOTATIONS: List[Any] = [
    str,
    int,
    float,
    bool,
    type(None),
    Any,
    Optional[int],
    Union[int, str],
    Union[int, str, None],
    List[int],
    list,
    Sequence[str],
    Tuple[int, ...],
    Tuple[int, str],
    Set[str],
    FrozenSet[int],
    dict,
    Dict[str, int],
    Mapping[str, List[float]],
    Literal["a"],
    Literal["a", "b"],
    Literal[1, "a"],
    Literal[True],
    Unit,
    Level,
    Point,
    Tree,
    Shape,
    Address,
    Optional[Point],
    List[Point],
    Dict[str, Shape],
    Annotated[int, pydantic.Field(description="how many")],
]
if sys.version_info >= (3, 10):
    ANNOTATIONS.append(eval("int | None"))


def _without_property_titles(schema: Any) -> Any:
    """pydantic titles every property ("title": "X"); omnillm titles only classes and enums."""
    if isinstance(schema, list):
        return [_without_property_titles(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {
                name: _without_property_titles({k: v for k, v in prop.items() if k != "title"})
                for name, prop in value.items()
            }
        elif key == "title" and not isinstance(value, str):
            out[key] = value
        else:
            out[key] = _without_property_titles(value)
    return out


@pytest.mark.parametrize("annotation", ANNOTATIONS, ids=repr)
def test_type_schema_matches_pydantic(annotation: Any) -> None:
    if typing_annotated_with_field(annotation):
        ours = compile_type(Annotated[int, "how many"]).schema
    else:
        ours = compile_type(annotation).schema
    reference = pydantic.TypeAdapter(annotation).json_schema()
    assert ours == _without_property_titles(reference)


def typing_annotated_with_field(annotation: Any) -> bool:
    return any(isinstance(a, pydantic.fields.FieldInfo) for a in getattr(annotation, "__metadata__", ()))


@pytest.mark.parametrize("annotation", ANNOTATIONS, ids=repr)
def test_parameter_schema_matches_a_pydantic_model_of_the_signature(annotation: Any) -> None:
    def fn(value, count=3):  # type: ignore[no-untyped-def]
        return None

    plain = Annotated[int, "how many"] if typing_annotated_with_field(annotation) else annotation
    fn.__annotations__ = {"value": plain, "count": int}
    reference = pydantic.create_model("fn", value=(annotation, ...), count=(int, 3)).model_json_schema()
    reference.pop("title")
    assert Tool(fn).parameters == _without_property_titles(reference)


def test_strict_parameters_follow_the_openai_sdk_where_it_is_sound() -> None:
    from openai.lib._pydantic import to_strict_json_schema

    @tool(strict=True)
    def place(shape: Shape, at: Point) -> str:
        """Place a shape."""
        return ""

    ours = place.parameters
    model = pydantic.create_model("place", shape=(Shape, ...), at=(Point, ...))
    sdk = _without_property_titles(to_strict_json_schema(model))
    sdk.pop("title")
    # Where the SDK keeps a non-null default or a bare optional, strict mode (and Azure) reject
    # or mis-handle it; omnillm makes the optional field nullable and moves the default to the
    # description. Everything else is the SDK's output.
    point = sdk["$defs"]["Point"]["properties"]
    assert point["y"] == {"default": 0.0, "type": "number"}
    point["y"] = {"type": ["number", "null"], "description": "Default: 0.0."}
    colour = sdk["$defs"]["Shape"]["properties"]["colour"]
    assert colour == {"anyOf": [{"$ref": "#/$defs/Unit"}, {"type": "null"}]}
    assert ours == sdk
    assert place.definition().strict is True


# --------------------------------------------------------------------------- descriptions


def test_google_style_docstring() -> None:
    @tool
    def get_weather(city: str, unit: Unit = Unit.CELSIUS, days: int = 1) -> str:
        """Get the weather forecast for a city.

        Uses the national service.

        Args:
            city (str): The city name, e.g. "Paris".
            unit: The temperature unit;
                Celsius unless asked otherwise.
            days: How many days ahead.

        Returns:
            The forecast as text.
        """
        return ""

    assert get_weather.name == "get_weather"
    assert get_weather.description == "Get the weather forecast for a city.\n\nUses the national service."
    props = get_weather.parameters["properties"]
    assert props["city"] == {"type": "string", "description": 'The city name, e.g. "Paris".'}
    assert props["unit"]["description"] == "The temperature unit; Celsius unless asked otherwise."
    assert props["unit"]["default"] == "c"
    assert props["days"] == {"type": "integer", "default": 1, "description": "How many days ahead."}
    assert get_weather.parameters["required"] == ["city"]
    assert get_weather.parameters["$defs"]["Unit"]["enum"] == ["c", "f"]


def test_numpy_style_docstring() -> None:
    def search(query: str, limit: int = 10, exact: bool = False) -> List[str]:
        """Search the catalogue.

        Parameters
        ----------
        query : str
            What to look for.
        limit : int, optional
            At most this many
            results.
        exact
            Match whole words only.

        Returns
        -------
        list of str
        """
        return []

    t = Tool.from_function(search)
    props = t.parameters["properties"]
    assert t.description == "Search the catalogue."
    assert props["query"]["description"] == "What to look for."
    assert props["limit"]["description"] == "At most this many results."
    assert props["exact"]["description"] == "Match whole words only."


def test_rest_style_docstring() -> None:
    def book(room: str, hours: int) -> str:
        """Book a meeting room.

        :param room: The room's name.
        :param int hours: For how long,
            in whole hours.
        :returns: A confirmation.
        """
        return ""

    t = Tool.from_function(book, name="book_room", description="Reserve a room.")
    assert t.name == "book_room" and t.description == "Reserve a room."
    props = t.parameters["properties"]
    assert props["room"]["description"] == "The room's name."
    assert props["hours"]["description"] == "For how long, in whole hours."


def test_dataclass_attribute_docs_become_field_descriptions() -> None:
    @dataclasses.dataclass
    class Booking:
        """A booking.

        Attributes:
            room: Which room.
            seats: How many seats.
        """

        room: str
        seats: int = 4

    schema = compile_type(Booking).schema
    assert schema["description"] == "A booking."
    assert schema["properties"]["room"]["description"] == "Which room."
    assert schema["properties"]["seats"] == {"type": "integer", "default": 4, "description": "How many seats."}


def test_parse_docstring_without_sections() -> None:
    assert parse_docstring("  Just a summary.  ").summary == "Just a summary."
    assert parse_docstring("").params == {}


# --------------------------------------------------------------------------- errors at definition


class Opaque:
    pass


@pytest.mark.parametrize(
    ("annotation", "fragment"),
    [
        (bytes, "unsupported annotation bytes"),
        (Opaque, "unsupported annotation"),
        (Dict[int, str], "dictionary keys must be str"),
        (List[Opaque], "unsupported annotation"),
        (Literal[object()], "has no JSON form"),  # type: ignore[misc]
    ],
    ids=["bytes", "class", "int-keys", "nested", "literal"],
)
def test_unsupported_annotations_fail_at_decoration(annotation: Any, fragment: str) -> None:
    def fn(value):  # type: ignore[no-untyped-def]
        return None

    fn.__annotations__ = {"value": annotation}
    with pytest.raises(SchemaError, match=fragment) as info:
        tool(fn)
    assert "fn(value)" in str(info.value)


def test_signatures_the_model_cannot_fill_fail_at_decoration() -> None:
    with pytest.raises(SchemaError, match="no type annotation"):

        @tool
        def untyped(a, b: int) -> None:  # type: ignore[no-untyped-def]
            return None

    with pytest.raises(SchemaError, match=r"\*args"):

        @tool
        def variadic(*args: int) -> None:
            return None

    with pytest.raises(SchemaError, match="cannot be strict"):

        @tool(strict=True)
        def loose(extra: Dict[str, int]) -> None:
            return None

    with pytest.raises(SchemaError, match="tool name"):
        Tool.from_function(lambda: None, name="has spaces")

    class Color(enum.Enum):
        BAD = object()

    with pytest.raises(SchemaError, match="has a object value"):
        compile_type(Color)


def test_string_annotations_resolve_classes_defined_in_a_function() -> None:
    @dataclasses.dataclass
    class Local:
        n: int

    @tool
    def take(item: Local) -> int:
        return item.n

    assert take.run({"item": {"n": 5}}) == 5


# --------------------------------------------------------------------------- validation


@tool
def plan(shape: Shape, unit: Unit, level: Level, span: Tuple[int, int], tags: Set[str], mode: Literal["a", "b"]) -> str:
    """Plan a shape."""
    return ""


def test_arguments_become_typed_values() -> None:
    values = plan.parse_arguments(
        json.dumps(
            {
                "shape": {"name": "tri", "corners": [{"x": 0}, {"x": 1, "y": 2}, {"x": 2.0, "y": 0}], "colour": "f"},
                "unit": "c",
                "level": 2,
                "span": [1, 3],
                "tags": ["a", "b", "a"],
                "mode": "b",
            }
        )
    )
    assert values == {
        "shape": Shape("tri", [Point(0), Point(1, 2.0), Point(2, 0.0)], Unit.FAHRENHEIT),
        "unit": Unit.CELSIUS,
        "level": Level.HIGH,
        "span": (1, 3),
        "tags": {"a", "b"},
        "mode": "b",
    }
    assert isinstance(values["shape"].corners[2].x, int) and isinstance(values["shape"].corners[1].y, float)


def test_every_invalid_argument_is_listed_with_its_path() -> None:
    with pytest.raises(ToolArgumentsError) as info:
        plan.parse_arguments(
            {
                "shape": {"name": 3, "corners": [{"x": "0"}, {"y": 1}, "no"], "colour": "red", "extra": 1},
                "unit": "kelvin",
                "level": True,
                "span": [1],
                "mode": "c",
                "surprise": None,
            }
        )
    problems = dict(info.value.problems)
    assert problems == {
        "$.surprise": "unexpected property; expected one of level, mode, shape, span, tags, unit",
        "$.shape.extra": "unexpected property; expected one of colour, corners, name",
        "$.shape.name": "expected a string, got an integer",
        "$.shape.corners[0].x": "expected an integer, got a string",
        "$.shape.corners[1].x": "is required",
        "$.shape.corners[2]": "expected an object, got a string",
        "$.shape.colour": "expected one of 'c', 'f', got 'red'",
        "$.unit": "expected one of 'c', 'f', got 'kelvin'",
        "$.level": "expected one of 1, 2, got True",
        "$.span": "expected exactly 2 items, got 1",
        "$.tags": "is required",
        "$.mode": "expected one of 'a', 'b', got 'c'",
    }
    error = info.value
    assert isinstance(error, omnillm.OmniLLMError) and error.tool == "plan"
    text = error.describe()
    assert text.startswith("The arguments for plan are invalid")
    assert "- $.shape.corners[1].x: is required" in text


def test_argument_text_that_is_not_json_is_one_problem() -> None:
    with pytest.raises(ToolArgumentsError) as info:
        plan.parse_arguments('{"shape": ')
    assert [p for p, _ in info.value.problems] == ["$"] and "not valid JSON" in info.value.problems[0][1]
    with pytest.raises(ToolArgumentsError, match="expected an object, got an array"):
        plan.parse_arguments("[1, 2]")


def test_null_for_an_optional_argument_means_its_default() -> None:
    @tool(strict=True)
    def greet(name: str, times: int = 2, punctuation: Optional[str] = "!") -> str:
        return (name + (punctuation or "")) * times

    # Strict mode makes every parameter required and the optional ones nullable ...
    props = greet.parameters["properties"]
    assert greet.parameters["required"] == ["name", "times", "punctuation"]
    assert props["times"] == {"type": ["integer", "null"], "description": "Default: 2."}
    # ... so a model leaves one out by sending null: that is the Python default.
    assert greet.run('{"name": "hi", "times": null, "punctuation": null}') == "hihi"
    assert greet.run('{"name": "hi"}') == "hi!hi!"
    with pytest.raises(ToolArgumentsError, match=r"\$\.name: expected a string, got null"):
        greet.run('{"name": null}')


def test_union_picks_the_exact_json_type_and_post_init_checks_are_reported() -> None:
    schema = compile_type(Union[float, int, str])
    assert schema.validate(3) == 3 and isinstance(schema.validate(3), int)
    assert schema.validate(3.5) == 3.5 and schema.validate("3") == "3"
    with pytest.raises(omnillm.errors.ValidationError, match="expected a number or an integer or a string, got null"):
        schema.validate(None)
    with pytest.raises(omnillm.errors.ValidationError, match="Checked rejected the values: ValueError: n must not"):
        compile_type(Checked).validate({"n": -1})


def test_positional_only_parameters_are_passed_by_position() -> None:
    def scale(value: float, /, factor: float = 2.0) -> float:
        return value * factor

    assert Tool.from_function(scale).run({"value": 1.5}) == 3.0


# --------------------------------------------------------------------------- invoking


def test_invoke_turns_errors_into_results_the_model_can_read() -> None:
    @tool
    def divide(a: int, b: int) -> float:
        return a / b

    call = ToolCallPart("call_1", "divide", '{"a": 1, "b": "x"}')
    bad = divide.invoke(call)
    assert bad.is_error and bad.call_id == "call_1" and bad.name == "divide"
    assert "$.b: expected an integer, got a string" in bad.text

    crash = divide.invoke(ToolCallPart("call_2", "divide", '{"a": 1, "b": 0}'))
    assert crash.is_error and crash.text == "ZeroDivisionError: division by zero"
    with pytest.raises(ZeroDivisionError):
        divide.invoke(ToolCallPart("call_3", "divide", '{"a": 1, "b": 0}'), on_error="raise")

    ok = divide.invoke(ToolCallPart("call_4", "divide", '{"a": 3, "b": 2}'))
    assert not ok.is_error and ok.text == "1.5"


def test_results_are_serialised_as_json() -> None:
    @tool
    def corners() -> Shape:
        return Shape("line", [Point(0), Point(1, 1.5)], Unit.CELSIUS)

    result = corners.invoke(ToolCallPart("c", "corners", ""))
    assert json.loads(result.text) == {
        "name": "line",
        "corners": [{"x": 0, "y": 0.0}, {"x": 1, "y": 1.5}],
        "colour": "c",
    }
    assert corners() == Shape("line", [Point(0), Point(1, 1.5)], Unit.CELSIUS), "a tool is still the function"


# --------------------------------------------------------------------------- the loop

PROTOCOLS = [
    ("openai", "open_ai_chat_completions"),
    ("openai", "open_ai_responses"),
    ("anthropic", None),
    ("gemini", None),
]


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="hello")) as m:
        yield m


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()


def client_for(mock: MockProvider, provider: str, wire_format: Optional[str]) -> Client:
    prefix = "/v1beta" if provider == "gemini" else "/v1"
    return Client(provider, api_key="sk-test", base_url=mock.base_url + prefix, wire_format=wire_format, environ={})


def results_in(request: Optional[LlmRequest]) -> List[ToolResultPart]:
    assert request is not None
    return [p for m in request.messages for p in m.content if isinstance(p, ToolResultPart)]


@tool
def get_weather(city: str, unit: Unit = Unit.CELSIUS) -> str:
    """Get the current temperature.

    Args:
        city: The city.
        unit: The unit.
    """
    return f"{city}: {20 if unit is Unit.CELSIUS else 68}{unit.value}"


@pytest.mark.parametrize(("provider", "wire_format"), PROTOCOLS, ids=[p[1] or p[0] for p in PROTOCOLS])
def test_multi_step_tool_loop_on_each_protocol(mock: MockProvider, provider: str, wire_format: Optional[str]) -> None:
    seen: List[Optional[LlmRequest]] = []

    def script(recorded: Any, request: Optional[LlmRequest]) -> MockReply:
        seen.append(request)
        done = len(results_in(request))
        if done == 0:  # step 1: two calls in parallel, one with bad arguments
            return MockReply(
                text="", tool_calls=[("get_weather", {"city": "Paris"}), ("get_weather", {"town": "Oslo"})]
            )
        if done == 2:  # step 2: the model fixes the bad call
            return MockReply(text="", tool_calls=[("get_weather", {"city": "Oslo", "unit": "f"})])
        return MockReply(text="Paris 20c, Oslo 68f.")

    mock.default_reply = script
    try:
        request = LlmRequest(model="m-1", messages=[Message.user("Weather in Paris and Oslo?")], max_output_tokens=100)
        run = run_tools(client_for(mock, provider, wire_format), request, [get_weather], parallel=True)
    finally:
        mock.default_reply = MockReply(text="hello")

    assert isinstance(run, ToolRun)
    assert run.stopped == "done" and run.steps == 3 and run.pending == []
    assert run.response.text == "Paris 20c, Oslo 68f."
    assert [m.role for m in run.messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    # What the provider received on the wire, decoded back: every result paired with its call.
    first_results = results_in(seen[1])
    assert first_results[0].text == "Paris: 20c"
    assert "$.city: is required" in first_results[1].text and "$.town: unexpected property" in first_results[1].text
    sent_results = run.messages[2].content
    assert [r.call_id for r in sent_results] == [c.id for c in run.responses[0].tool_calls]  # type: ignore[union-attr]
    assert isinstance(sent_results[1], ToolResultPart) and sent_results[1].is_error
    if provider == "anthropic":  # the one protocol here with an error flag on tool results
        assert first_results[1].is_error
    assert [r.text for r in results_in(seen[2])][-1] == "Oslo: 68f"
    # The tool was offered to the model on every step, with the schema from its hints.
    for recorded in mock.requests:
        assert recorded.json is not None
        assert "get_weather" in json.dumps(recorded.json)
    assert seen[0] is not None and seen[0].tools[0].parameters["required"] == ["city"]  # type: ignore[union-attr]


def test_tool_loop_through_a_gateway(mock: MockProvider) -> None:
    calls = {"n": 0}

    def script(recorded: Any, request: Optional[LlmRequest]) -> MockReply:
        calls["n"] += 1
        if not results_in(request):
            return MockReply(text="", tool_calls=[("get_weather", {"city": "Rome"})])
        return MockReply(text="Rome is warm.")

    mock.default_reply = script
    try:
        key = KeyConfig("anthropic", "sk-an", label="an", base_url=mock.base_url + "/v1")
        with Gateway([key]) as gw:
            run = run_tools(gw, LlmRequest(model="m-1", messages=[Message.user("Rome?")]), [get_weather], tag="t")
    finally:
        mock.default_reply = MockReply(text="hello")
    assert run.response.text == "Rome is warm." and calls["n"] == 2


def test_max_steps_stops_with_the_pending_calls_unrun(mock: MockProvider) -> None:
    ran: List[str] = []

    @tool
    def ping(n: int) -> str:
        ran.append(str(n))
        return "pong"

    mock.default_reply = MockReply(text="", tool_calls=[("ping", {"n": 1})])
    try:
        run = run_tools(
            client_for(mock, "anthropic", None), LlmRequest("m-1", [Message.user("go")]), [ping], max_steps=3
        )
    finally:
        mock.default_reply = MockReply(text="hello")
    assert run.stopped == "max_steps" and run.steps == 3 and len(mock.requests) == 3
    assert ran == ["1", "1"], "the calls of the last response are not run"
    assert [c.name for c in run.pending] == ["ping"]


def test_forced_tool_choice_applies_to_the_first_call_only(mock: MockProvider) -> None:
    choices: List[Optional[ToolChoice]] = []

    def script(recorded: Any, request: Optional[LlmRequest]) -> MockReply:
        assert request is not None
        choices.append(request.tool_choice)
        if not results_in(request):
            return MockReply(text="", tool_calls=[("get_weather", {"city": "Lima"})])
        return MockReply(text="ok")

    mock.default_reply = script
    try:
        request = LlmRequest("m-1", [Message.user("?")], tool_choice=ToolChoice("tool", name="get_weather"))
        run_tools(client_for(mock, "openai", "open_ai_chat_completions"), request, [get_weather])
    finally:
        mock.default_reply = MockReply(text="hello")
    assert choices[0] is not None and choices[0].mode == "tool"
    assert choices[1] is not None and choices[1].mode == "auto"


def test_unknown_tools_are_reported_and_parallel_calls_run_in_threads() -> None:
    barrier = threading.Barrier(3, timeout=10)

    @tool
    def slow(n: int) -> int:
        barrier.wait()  # all three calls must be in flight at once to get past this
        return n * 10

    replies = iter(
        [
            response_with([("slow", {"n": 1}), ("slow", {"n": 2}), ("nope", {}), ("slow", {"n": 3})]),
            response_with([], text="done"),
        ]
    )
    sent: List[LlmRequest] = []

    def fake_model(request: LlmRequest) -> omnillm.LlmResponse:
        sent.append(request)
        return next(replies)

    run = run_tools(fake_model, LlmRequest("m", [Message.user("x")]), [slow], parallel=True, max_workers=4)
    results = results_in(sent[1])
    assert [r.text for r in results[:2]] + [results[3].text] == ["10", "20", "30"], "results keep the calls' order"
    assert results[2].is_error and "There is no tool named 'nope'" in results[2].text
    assert run.response.text == "done"


def response_with(calls: List[Tuple[str, Dict[str, Any]]], text: str = "") -> omnillm.LlmResponse:
    output: List[Any] = [Message.assistant(text)] if text else []
    output += [ToolCallPart(f"c{i}", name, json.dumps(args)) for i, (name, args) in enumerate(calls)]
    return omnillm.LlmResponse("r", "m", output, stop_reason="tool_use" if calls else "end_turn")


def test_run_tools_validates_its_arguments() -> None:
    with pytest.raises(omnillm.ConfigurationError, match="max_steps"):
        run_tools(lambda r: None, LlmRequest("m"), [], max_steps=0)
    with pytest.raises(omnillm.ConfigurationError, match="on_tool_error"):
        run_tools(lambda r: None, LlmRequest("m"), [], on_tool_error="ignore")
    with pytest.raises(omnillm.ConfigurationError, match="two tools are named"):
        run_tools(lambda r: None, LlmRequest("m"), [get_weather, get_weather])
    with pytest.raises(omnillm.ConfigurationError, match="needs a Client"):
        run_tools(42, LlmRequest("m"), [])
    with pytest.raises(SchemaError):
        run_tools(lambda r: None, LlmRequest("m"), [lambda x: x])


# --------------------------------------------------------------------------- robustness

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_json_either_validates_or_lists_problems(value: Any) -> None:
    try:
        plan.parse_arguments(value if isinstance(value, dict) else json.dumps(value))
    except ToolArgumentsError as exc:
        assert exc.problems and all(path.startswith("$") for path, _ in exc.problems)
    for annotation in (Tree, Shape, Union[int, List[str], None], Dict[str, Tuple[int, str]], Address):
        result, problems = compile_type(annotation).check(value)
        assert problems or result is not None or value is None


def test_deeply_nested_values_are_a_problem_not_a_crash() -> None:
    deep: Any = {"value": 1}
    for _ in range(5000):
        deep = {"value": 1, "children": [deep]}
    _, problems = compile_type(Tree).check(deep)
    assert problems == [("$", "the value is nested too deeply")]
    with pytest.raises(ToolArgumentsError):
        plan.parse_arguments("[" * 100_000)


@pytest.mark.parametrize("mode", ["auto", "tool"])
def test_run_tools_with_structured_output(mock: MockProvider, mode: str) -> None:
    from omnillm.structured import ANSWER_TOOL, OutputSpec

    @dataclasses.dataclass
    class Report:
        summary: str

    def script(recorded: Any, request: Optional[LlmRequest]) -> MockReply:
        assert request is not None
        if mode == "tool":  # the model must call a tool, the answer tool being one of them
            assert request.tool_choice is not None and request.tool_choice.mode == "required"
        if not results_in(request):
            return MockReply(text="", tool_calls=[("get_weather", {"city": "Nice"})])
        if mode == "tool":
            return MockReply(text="", tool_calls=[(ANSWER_TOOL, {"summary": "Nice is 20c"})])
        return MockReply(text=json.dumps({"summary": "Nice is 20c"}))

    mock.default_reply = script
    try:
        run = run_tools(
            client_for(mock, "anthropic", None),
            LlmRequest("m-1", [Message.user("Nice?")]),
            [get_weather],
            output_type=OutputSpec(Report, mode=mode),
        )
    finally:
        mock.default_reply = MockReply(text="hello")
    assert run.stopped == "done" and run.steps == 2
    assert run.responses[0].parsed is None, "a turn that asks for tools has no answer yet"
    assert run.response.parsed == Report("Nice is 20c")
