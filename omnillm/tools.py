"""Typed tools: Python functions the model can call, and the loop that runs them.

``@tool`` (or `Tool.from_function`) reads a function's type hints and docstring once and
builds its JSON Schema (`omnillm.schema` lists the supported annotations); an
unsupported annotation raises `SchemaError` right there, at decoration time. When the
model calls the tool, `Tool.parse_arguments` validates the JSON arguments into typed
values (dataclass instances, enum members, tuples, ...) and raises
`ToolArgumentsError` listing every problem with its path; `Tool.invoke` turns that error
into a tool result the model can read and correct itself from.

`run_tools` drives the conversation: call the model, run the tools it asked for
(optionally in parallel threads), append the results, call again, until the model
stops asking or ``max_steps`` calls were made. It only needs an object with
``call(request, **options)``, so a `Client`, a `Gateway` and anything wrapping them
work alike, on every generation protocol.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from .errors import ConfigurationError, SchemaError, ToolArgumentsError
from .model import (
    AudioPart,
    FilePart,
    FunctionTool,
    ImagePart,
    LlmRequest,
    LlmResponse,
    Message,
    Part,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from .schema import JsonSchema, Signature, compile_signature
from .structured import ANSWER_TOOL, strict_schema

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

TOOL_ERROR_POLICIES = ("report", "raise")


class Tool:
    """A Python function the model may call: its name, description, schema and validator.

    ``name`` defaults to the function's name and ``description`` to its docstring's
    text before the parameter sections. ``strict=True`` sends the schema in strict form
    (every property required, optional ones nullable, objects closed) and asks the
    provider to guarantee it. Calling the tool calls the function.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        strict: Optional[bool] = None,
        localns: Optional[Mapping[str, Any]] = None,
    ) -> None:
        if not callable(fn):
            raise SchemaError(f"a tool wraps a function, not {type(fn).__name__}")
        self.fn = fn
        self.signature: Signature = compile_signature(fn, localns=localns)
        self.name = name if name is not None else getattr(fn, "__name__", "")
        if not _NAME.fullmatch(self.name):
            raise SchemaError(f"tool name {self.name!r} must be 1-64 characters of A-Z, a-z, 0-9, _ or -")
        self.description = description if description is not None else (self.signature.description or None)
        self.strict = strict
        self._parameters = self.signature.parameters
        if strict:
            try:
                self._parameters, _ = strict_schema(self._parameters)
            except ConfigurationError as exc:
                raise SchemaError(f"tool {self.name!r} cannot be strict: {exc}") from None
        functools.update_wrapper(self, fn)

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        strict: Optional[bool] = None,
    ) -> Tool:
        """A `Tool` for ``fn`` (its hints and docstring give the schema)."""
        return cls(fn, name=name, description=description, strict=strict, localns=_caller_locals())

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    @property
    def parameters(self) -> JsonSchema:
        """The JSON Schema of the arguments object (in strict form for a strict tool)."""
        return json.loads(json.dumps(self._parameters))  # type: ignore[no-any-return]

    def definition(self) -> FunctionTool:
        """The canonical `FunctionTool` to put in `LlmRequest.tools`."""
        return FunctionTool(self.name, self.description, self.parameters, strict=self.strict)

    def parse_arguments(self, arguments: Union[str, Mapping[str, Any], None]) -> Dict[str, Any]:
        """The typed keyword arguments for ``arguments`` (JSON text or a decoded object).

        Raises `ToolArgumentsError` listing every problem with its JSON path.
        """
        if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
            decoded: Any = {}
        elif isinstance(arguments, str):
            try:
                decoded = json.loads(arguments)
            except (ValueError, RecursionError) as exc:
                raise ToolArgumentsError(self.name, [("$", f"the arguments are not valid JSON ({exc})")]) from None
        else:
            decoded = dict(arguments)
        values, problems = self.signature.check(decoded)
        if problems:
            raise ToolArgumentsError(self.name, problems)
        return values

    def run(self, arguments: Union[str, Mapping[str, Any], None]) -> Any:
        """Validate ``arguments`` and call the function with the typed values."""
        args, kwargs = self.signature.bind(self.parse_arguments(arguments))
        return self.fn(*args, **kwargs)

    def invoke(self, call: ToolCallPart, *, on_error: str = "report") -> ToolResultPart:
        """Run ``call`` and return its result part, ready to send back to the model.

        Invalid arguments always become an error result listing the problems. An
        exception from the function becomes an error result too with ``on_error="report"``
        (its type and message, never a traceback), or propagates with ``"raise"``.
        """
        try:
            value = self.run(call.arguments)
        except ToolArgumentsError as exc:
            return _result(call, [TextPart(exc.describe())], is_error=True)
        except Exception as exc:
            if on_error == "raise":
                raise
            return _result(call, [TextPart(f"{type(exc).__name__}: {exc}")], is_error=True)
        return result_for(call, value)


def tool(
    fn: Optional[Callable[..., Any]] = None,
    *,
    name: Optional[str] = None,
    description: Optional[str] = None,
    strict: Optional[bool] = None,
) -> Any:
    """Make a function a `Tool`: ``@tool`` or ``@tool(name=..., description=..., strict=True)``.

    The schema comes from the type hints and the docstring, when the function is
    defined; an unsupported annotation raises `SchemaError` then.
    """
    localns = _caller_locals()

    def wrap(f: Callable[..., Any]) -> Tool:
        return Tool(f, name=name, description=description, strict=strict, localns=localns)

    return wrap(fn) if fn is not None else wrap


def _caller_locals() -> Optional[Dict[str, Any]]:
    """The namespace two frames up: where ``@tool`` was written, for classes defined in a function."""
    frame = inspect.currentframe()
    try:
        outer = frame.f_back.f_back if frame is not None and frame.f_back is not None else None
        return dict(outer.f_locals) if outer is not None else None
    finally:
        del frame


# --------------------------------------------------------------------------- results


def _result(call: ToolCallPart, content: List[Part], *, is_error: bool = False) -> ToolResultPart:
    # Gemini pairs results by name, Bedrock and Anthropic by id: carry both.
    return ToolResultPart(
        call_id=call.id, content=content, is_error=is_error, name=call.name, synthetic_id=call.synthetic_id
    )


def result_for(call: ToolCallPart, value: Any) -> ToolResultPart:
    """The result part for ``call`` returning ``value``.

    A string is sent as it is; parts (text, image, file) and lists of them are sent as
    content; a `ToolResultPart` is used with the call's id; anything else is sent as
    JSON (dataclasses as objects, enums as their values).
    """
    if isinstance(value, ToolResultPart):
        return dataclasses.replace(value, call_id=call.id, name=value.name or call.name)
    if isinstance(value, str):
        return _result(call, [TextPart(value)])
    if isinstance(value, (TextPart, ImagePart, FilePart, AudioPart)):
        return _result(call, [value])
    if isinstance(value, list) and value and all(isinstance(v, (TextPart, ImagePart, FilePart)) for v in value):
        return _result(call, list(value))
    return _result(call, [TextPart(json.dumps(to_json(value), ensure_ascii=False))])


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data: dataclasses as objects, enums as values, tuples and sets as arrays."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    return str(value)


# --------------------------------------------------------------------------- the loop


@dataclass
class ToolRun:
    """What `run_tools` did: the final response and the whole conversation.

    ``messages`` is the request's messages followed by each assistant turn and the tool
    results sent after it; ``responses`` every model response in order. ``stopped`` is
    ``done`` (the model stopped asking for tools) or ``max_steps`` (the last response
    still asks; its calls, in `pending`, were not run).
    """

    response: LlmResponse
    messages: List[Message]
    responses: List[LlmResponse] = field(default_factory=list)
    stopped: str = "done"

    @property
    def steps(self) -> int:
        """How many model calls were made."""
        return len(self.responses)

    @property
    def pending(self) -> List[ToolCallPart]:
        """The tool calls of the final response left unrun (only when ``stopped == "max_steps"``)."""
        return self.response.tool_calls if self.stopped == "max_steps" else []


ToolLike = Union[Tool, Callable[..., Any]]


def run_tools(
    caller: Any,
    request: LlmRequest,
    tools: Sequence[ToolLike],
    *,
    max_steps: int = 8,
    parallel: bool = False,
    max_workers: Optional[int] = None,
    on_tool_error: str = "report",
    **call_options: Any,
) -> ToolRun:
    """Call the model, run the tools it asks for, send the results, repeat; return a `ToolRun`.

    ``caller`` is a `Client`, a `Gateway` (anything with ``call(request, **options)``) or
    a plain function of the request. ``tools`` are `Tool` s or plain functions (made
    tools here, so a bad annotation fails before any call). ``max_steps`` bounds the
    model calls. ``parallel`` runs the calls of one turn in a thread pool of
    ``max_workers``; results keep the calls' order either way. ``on_tool_error`` is
    ``report`` (an exception from a tool is sent to the model as an error result) or
    ``raise``. A ``tool_choice`` that forces a tool applies to the first call only, so
    the model can finish. ``call_options`` go to every ``call`` (``tag``, ``timeout``,
    ``output_type``, ...).
    """
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ConfigurationError(f"max_steps must be a positive integer, not {max_steps!r}")
    if on_tool_error not in TOOL_ERROR_POLICIES:
        raise ConfigurationError(
            f"on_tool_error must be one of {', '.join(TOOL_ERROR_POLICIES)}, not {on_tool_error!r}"
        )
    by_name: Dict[str, Tool] = {}
    for item in tools:
        made = item if isinstance(item, Tool) else Tool(item)
        if made.name in by_name:
            raise ConfigurationError(f"two tools are named {made.name!r}")
        by_name[made.name] = made
    call = _call_of(caller)
    offered = [t for t in request.tools if not (isinstance(t, FunctionTool) and t.name in by_name)]
    offered.extend(t.definition() for t in by_name.values())
    messages = list(request.messages)
    current = dataclasses.replace(request, tools=offered, messages=list(messages))
    responses: List[LlmResponse] = []
    while True:
        response = call(current, **call_options)
        responses.append(response)
        if response.output:
            messages.append(response.message)
        calls = response.tool_calls
        # The forced tool of structured output (`output_type` in tool mode) is the answer itself.
        answered = any(c.name == ANSWER_TOOL and ANSWER_TOOL not in by_name for c in calls)
        if not calls or answered:
            return ToolRun(response, messages, responses, "done")
        if len(responses) >= max_steps:
            return ToolRun(response, messages, responses, "max_steps")
        results = _execute(calls, by_name, parallel=parallel, max_workers=max_workers, on_error=on_tool_error)
        messages.append(Message("tool", list(results)))
        choice = current.tool_choice
        if choice is not None and choice.mode in ("required", "tool"):
            choice = ToolChoice("auto")
        current = dataclasses.replace(current, messages=list(messages), tool_choice=choice)


def _call_of(caller: Any) -> Callable[..., LlmResponse]:
    method = getattr(caller, "call", None)
    if callable(method):
        return method  # type: ignore[no-any-return]
    if callable(caller):
        return caller  # type: ignore[no-any-return]
    raise ConfigurationError(f"run_tools needs a Client, a Gateway or a function, not {type(caller).__name__}")


def _execute(
    calls: List[ToolCallPart],
    tools: Dict[str, Tool],
    *,
    parallel: bool,
    max_workers: Optional[int],
    on_error: str,
) -> List[ToolResultPart]:
    def one(call: ToolCallPart) -> ToolResultPart:
        found = tools.get(call.name)
        if found is None:
            known = ", ".join(sorted(tools)) or "none"
            return _result(
                call, [TextPart(f"There is no tool named {call.name!r}; the tools are: {known}.")], is_error=True
            )
        return found.invoke(call, on_error=on_error)

    if not parallel or len(calls) == 1:
        return [one(c) for c in calls]
    import concurrent.futures  # only runs in parallel need it; kept off the import path

    workers = max_workers or min(8, len(calls))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="omnillm-tool") as pool:
        return list(pool.map(one, calls))
