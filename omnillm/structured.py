"""Structured output: a Python type in, the provider's structured-output form out, a typed value back.

`OutputSpec` turns an output type (a dataclass, a ``TypedDict``, an `Enum`, ``List[X]``,
any annotation `omnillm.schema` supports) into a portable JSON Schema once. For each
attempt it adapts that schema to the wire format that will carry it, because each
provider accepts a different subset of JSON Schema:

* OpenAI (Chat Completions and Responses) strict mode: every object closed
  (``additionalProperties: false``) with every property required, optional ones made
  nullable, no ``default``, no ``$ref`` with siblings, no tuple ``prefixItems``.
  A schema strict mode cannot express (a free-form dict, ``Any``) is sent non-strict.
* Anthropic: the keywords its ``output_config.format`` accepts are kept; other
  constraints move into the description, where the model can still read them. A
  schema with free-form objects is sent as a forced tool instead.
* Gemini ``responseJsonSchema``: keywords outside its JSON Schema subset are dropped;
  ``const`` becomes a one-value ``enum``.

Non-object roots are wrapped as ``{"value": ...}`` (OpenAI and Anthropic require an
object root) and unwrapped when parsing. Every approximation is a `Loss` with code
``L-SO-SCHEMA-SUBSET`` (or ``L-SO-VIA-TOOL`` for the tool fallback). `OutputSpec.parse`
reads the response text (or the forced tool's arguments) and validates it into the
typed value; a response that does not fit raises `StructuredOutputError` carrying the
raw text. The codecs then emit each protocol's own form (``response_format``,
``text.format``, ``output_config.format``, ``responseJsonSchema``) unchanged.

Pure: no I/O.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from typing import Any, Dict, List, Optional, Tuple, Union

from .errors import ConfigurationError, StructuredOutputError
from .model import FunctionTool, LlmRequest, LlmResponse, OutputFormat, ToolChoice
from .report import Loss
from .schema import JsonSchema, TypeSchema, compile_type

#: The property that carries a non-object output inside the object root providers require.
WRAPPER_KEY = "value"

#: The name of the forced tool used when structured output goes through tool calling.
ANSWER_TOOL = "final_answer"

OUTPUT_MODES = ("auto", "native", "tool")

_OPENAI = ("open_ai_chat_completions", "open_ai_responses")
_ANTHROPIC = "anthropic_messages"
_GEMINI = "gemini_generate_content"

# Anthropic's output_config.format subset (as the anthropic SDK's transform_schema keeps it).
_ANTHROPIC_KEYS = {
    "$ref",
    "$defs",
    "type",
    "enum",
    "const",
    "anyOf",
    "allOf",
    "description",
    "title",
    "properties",
    "additionalProperties",
    "required",
    "format",
    "items",
    "minItems",
}
_ANTHROPIC_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}

# Gemini's responseJsonSchema subset (the google-genai SDK's JSONSchema type).
_GEMINI_KEYS = {
    "$ref",
    "$defs",
    "type",
    "format",
    "title",
    "description",
    "default",
    "items",
    "minItems",
    "maxItems",
    "enum",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "additionalProperties",
    "anyOf",
    "oneOf",
    "uniqueItems",
}


class _NotExpressible(Exception):
    """The schema holds something the target form cannot carry at all."""


def schema_name(text: str) -> str:
    """``text`` made a valid schema or tool name (``[A-Za-z0-9_-]``, at most 64 characters)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", text).strip("_") or "response"
    return cleaned[:64]


# --------------------------------------------------------------------------- shared walks


def _resolve(root: JsonSchema, ref: str) -> Optional[JsonSchema]:
    if not ref.startswith("#/$defs/"):
        return None
    found = root.get("$defs", {}).get(ref[len("#/$defs/") :])
    return found if isinstance(found, dict) else None


def _accepts_null(schema: JsonSchema) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if "const" in schema and schema["const"] is None:
        return True
    if isinstance(schema.get("enum"), list) and None in schema["enum"]:
        return True
    return any(_accepts_null(s) for s in schema.get("anyOf", []) if isinstance(s, dict))


def _nullable(schema: JsonSchema) -> JsonSchema:
    """``schema`` that also accepts null (the way strict modes spell an optional field)."""
    if _accepts_null(schema):
        return schema
    notes: JsonSchema = {k: schema[k] for k in ("description", "title") if k in schema}
    core = {k: v for k, v in schema.items() if k not in notes}
    kind = core.get("type")
    if isinstance(kind, str) and not ({"enum", "const", "$ref"} & set(core)):
        return {**core, "type": [kind, "null"], **notes}
    return {"anyOf": [core, {"type": "null"}], **notes}


def _tuple_items(schema: JsonSchema, losses: List[Loss], path: str, target: str) -> None:
    """Replace ``prefixItems`` (positions) with ``items`` (any of the position types)."""
    prefix = schema.pop("prefixItems", None)
    if not isinstance(prefix, list):
        return
    distinct: List[Any] = []
    for item in prefix:
        if item not in distinct:
            distinct.append(item)
    schema["items"] = distinct[0] if len(distinct) == 1 else {"anyOf": distinct}
    losses.append(
        Loss(
            "L-SO-SCHEMA-SUBSET",
            path,
            f"{target} has no per-position tuple items; positions are checked when the answer is parsed",
        )
    )


_SUBSCHEMA = ("items", "additionalProperties", "not")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs")


def _inline_refs(root: JsonSchema, losses: List[Loss]) -> JsonSchema:
    """``root`` with every ``$ref`` that has sibling keywords replaced by its definition.

    Providers ignore or reject keywords beside a ``$ref``; the definition merged under
    them keeps both. A recursive reference cannot be inlined and keeps only the ``$ref``.
    """

    def walk(node: Any, path: str, inlining: Tuple[str, ...]) -> Any:
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and len(node) > 1 and "$defs" not in node:
            target = _resolve(root, ref)
            if target is not None and ref not in inlining:
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                return walk({**target, **siblings}, path, (*inlining, ref))
            losses.append(Loss("L-SO-SCHEMA-SUBSET", path, "keywords beside a recursive $ref are dropped"))
            return {"$ref": ref}
        out = dict(node)
        for key in _SUBSCHEMA:
            if isinstance(out.get(key), dict):
                out[key] = walk(out[key], _child(path, key), inlining)
        for key in _SUBSCHEMA_LISTS:
            if isinstance(out.get(key), list):
                out[key] = [walk(v, _child(path, f"{key}[{i}]"), inlining) for i, v in enumerate(out[key])]
        for key in _SUBSCHEMA_MAPS:
            if isinstance(out.get(key), dict):
                out[key] = {k: walk(v, _child(path, f"{key}.{k}"), inlining) for k, v in out[key].items()}
        return out

    return walk(root, "schema", ())  # type: ignore[no-any-return]


def _with_note(schema: JsonSchema, note: str) -> None:
    text = schema.get("description")
    schema["description"] = f"{text}\n\n{note}" if text else note


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --------------------------------------------------------------------------- OpenAI strict


def strict_schema(schema: JsonSchema) -> Tuple[JsonSchema, List[Loss]]:
    """``schema`` rewritten to OpenAI strict mode's rules, and what that approximated.

    Raises `ConfigurationError` when strict mode cannot express the schema at all
    (free-form objects, untyped values); callers then send it non-strict.
    """
    losses: List[Loss] = []
    try:
        out = _strict(_inline_refs(copy.deepcopy(schema), losses), losses, "schema")
    except _NotExpressible as exc:
        raise ConfigurationError(str(exc)) from None
    return out, losses


_TYPED = ("type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const")


def _strict(schema: JsonSchema, losses: List[Loss], path: str) -> JsonSchema:
    s = dict(schema)
    if not any(k in s for k in _TYPED):
        raise _NotExpressible(f"{path}: an untyped value (Any) has no strict-mode schema")
    if "default" in s:
        default = s.pop("default")
        if default is not None:
            _with_note(s, f"Default: {json.dumps(default)}.")
    if s.pop("uniqueItems", None) is not None:
        losses.append(Loss("L-SO-SCHEMA-SUBSET", path, "uniqueItems is not enforced by strict mode"))
    _tuple_items(s, losses, path, "strict mode")
    defs = s.get("$defs")
    if isinstance(defs, dict):
        s["$defs"] = {k: _strict(v, losses, _child(path, f"$defs.{k}")) for k, v in defs.items()}
    kind = s.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    properties = s.get("properties")
    if isinstance(properties, dict):
        required = set(s.get("required", []))
        rebuilt: Dict[str, Any] = {}
        for key, prop in properties.items():
            adapted = _strict(prop, losses, _child(path, f"properties.{key}"))
            rebuilt[key] = adapted if key in required else _nullable(adapted)
        s["properties"] = rebuilt
        s["required"] = list(properties)
        extra = s.get("additionalProperties", False)
        if extra is not False:
            raise _NotExpressible(f"{path}: an object with free-form keys has no strict-mode schema")
        s["additionalProperties"] = False
    elif is_object:
        if s.get("additionalProperties", True) is not False:
            raise _NotExpressible(f"{path}: an object with free-form keys has no strict-mode schema")
        s.setdefault("properties", {})
        s["required"] = []
    items = s.get("items")
    if isinstance(items, dict):
        s["items"] = _strict(items, losses, _child(path, "items"))
    for key in ("anyOf", "oneOf"):
        if isinstance(s.get(key), list):
            s["anyOf" if key == "oneOf" else key] = [
                _strict(v, losses, _child(path, f"{key}[{i}]")) for i, v in enumerate(s.pop(key))
            ]
    all_of = s.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) == 1:
            s.pop("allOf")
            merged = _strict(all_of[0], losses, _child(path, "allOf[0]"))
            s = {**merged, **s}
        else:
            s["allOf"] = [_strict(v, losses, _child(path, f"allOf[{i}]")) for i, v in enumerate(all_of)]
    return s


# --------------------------------------------------------------------------- Anthropic


def anthropic_schema(schema: JsonSchema) -> Tuple[JsonSchema, List[Loss]]:
    """``schema`` fit for Anthropic's ``output_config.format``, and what that approximated.

    Raises `ConfigurationError` for free-form objects and untyped values, which that form
    cannot carry (callers then use a forced tool).
    """
    losses: List[Loss] = []
    try:
        out = _anthropic(_inline_refs(copy.deepcopy(schema), losses), losses, "schema")
    except _NotExpressible as exc:
        raise ConfigurationError(str(exc)) from None
    return out, losses


def _anthropic(schema: JsonSchema, losses: List[Loss], path: str) -> JsonSchema:
    s = dict(schema)
    if "$ref" in s:  # siblings were inlined beforehand; what is left beside a $ref is dropped
        dropped = sorted(k for k in s if k not in ("$ref", "$defs"))
        if dropped:
            losses.append(Loss("L-SO-SCHEMA-SUBSET", path, f"{', '.join(dropped)} beside a recursive $ref dropped"))
        out: JsonSchema = {"$ref": s["$ref"]}
        if "$defs" in s:
            out["$defs"] = {k: _anthropic(v, losses, _child(path, f"$defs.{k}")) for k, v in s["$defs"].items()}
        return out
    if "oneOf" in s:
        s["anyOf"] = s.pop("oneOf")
    _tuple_items(s, losses, path, "anthropic_messages")
    if not s or not ({"type", "anyOf", "allOf", "enum", "const"} & set(s)):
        raise _NotExpressible(f"{path}: an untyped value (Any) has no anthropic_messages output schema")
    out = {}
    for key in ("$defs",):
        if key in s:
            out[key] = {k: _anthropic(v, losses, _child(path, f"$defs.{k}")) for k, v in s.pop(key).items()}
    for key in ("anyOf", "allOf"):
        if key in s:
            out[key] = [_anthropic(v, losses, _child(path, f"{key}[{i}]")) for i, v in enumerate(s.pop(key))]
    for key in ("type", "enum", "const", "description", "title"):
        if key in s:
            out[key] = s.pop(key)
    if "enum" in out or "const" in out:
        out.pop("type", None)  # the values say it all; the anthropic SDK sends literals untyped too
    kind = out.get("type")
    if kind == "object" or (isinstance(kind, list) and "object" in kind):
        extra = s.pop("additionalProperties", False)
        if extra is not False:
            raise _NotExpressible(f"{path}: an object with free-form keys has no anthropic_messages output schema")
        out["properties"] = {
            k: _anthropic(v, losses, _child(path, f"properties.{k}")) for k, v in s.pop("properties", {}).items()
        }
        out["additionalProperties"] = False
        if "required" in s:
            out["required"] = s.pop("required")
    if "items" in s:
        out["items"] = _anthropic(s.pop("items"), losses, _child(path, "items"))
    if isinstance(s.get("format"), str) and s["format"] in _ANTHROPIC_FORMATS:
        out["format"] = s.pop("format")
    if s.get("minItems") in (0, 1):
        out["minItems"] = s.pop("minItems")
    _describe_rest(out, s, losses, path)
    return out


def _describe_rest(out: JsonSchema, rest: JsonSchema, losses: List[Loss], path: str) -> None:
    """Constraints the form cannot enforce, written into the description for the model to read."""
    if not rest:
        return
    listed = ", ".join(f"{k}: {json.dumps(v)}" for k, v in rest.items())
    _with_note(out, "{" + listed + "}")
    losses.append(
        Loss(
            "L-SO-SCHEMA-SUBSET",
            path,
            f"anthropic_messages does not enforce {', '.join(sorted(rest))}; moved into the description",
        )
    )


# --------------------------------------------------------------------------- Gemini


def gemini_schema(schema: JsonSchema) -> Tuple[JsonSchema, List[Loss]]:
    """``schema`` within Gemini's ``responseJsonSchema`` subset, and what was dropped."""
    losses: List[Loss] = []
    return _gemini(_inline_refs(copy.deepcopy(schema), losses), losses, "schema"), losses


def _gemini(schema: JsonSchema, losses: List[Loss], path: str) -> JsonSchema:
    s = dict(schema)
    if "const" in s:
        s["enum"] = [s.pop("const")]
    _tuple_items(s, losses, path, "gemini_generate_content")
    all_of = s.pop("allOf", None)
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        s = {**all_of[0], **s}
    elif all_of is not None:
        s["allOf"] = all_of
    dropped = sorted(k for k in s if k not in _GEMINI_KEYS)
    if dropped:
        losses.append(Loss("L-SO-SCHEMA-SUBSET", path, f"gemini_generate_content has no {', '.join(dropped)}; dropped"))
    out: JsonSchema = {}
    for key, value in s.items():
        if key in dropped:
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {k: _gemini(v, losses, _child(path, f"{key}.{k}")) for k, v in value.items()}
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_gemini(v, losses, _child(path, f"{key}[{i}]")) for i, v in enumerate(value)]
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _gemini(value, losses, _child(path, key))
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------- the spec


class OutputSpec:
    """How to ask for, and read back, an answer of one Python type.

    ``output_type`` is any annotation `omnillm.schema` supports. ``name`` names the schema
    (default: the type's name), ``description`` describes it to the model. ``strict``
    asks for schema-guaranteed output where the provider has the switch (OpenAI).
    ``mode`` is ``auto`` (the provider's native structured output, a tool where the
    schema does not fit the native form), ``native`` or ``tool`` (always a call of the
    tool `ANSWER_TOOL`). Raises `SchemaError` for an unsupported type.
    """

    def __init__(
        self,
        output_type: Any,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        strict: bool = True,
        mode: str = "auto",
    ) -> None:
        if mode not in OUTPUT_MODES:
            raise ConfigurationError(f"output mode must be one of {', '.join(OUTPUT_MODES)}, not {mode!r}")
        self.output_type = output_type
        self.type_schema: TypeSchema = compile_type(output_type)
        self.name = schema_name(name or self.type_schema.name)
        self._named = name is not None
        self.description = description
        self.strict = strict
        self.mode = mode
        self.wrapped = not self.type_schema.is_object
        inner = self.type_schema.schema
        defs = inner.pop("$defs", None)
        if self.wrapped:
            root: JsonSchema = {"properties": {WRAPPER_KEY: inner}, "required": [WRAPPER_KEY], "type": "object"}
        elif isinstance(inner.get("$ref"), str) and isinstance(defs, dict):
            # A recursive class at the root: providers want an object there, not a $ref.
            root = dict(defs[inner["$ref"].rsplit("/", 1)[-1]])
        else:
            root = inner
        self.schema: JsonSchema = {"$defs": defs, **root} if defs else root

    def __repr__(self) -> str:
        return f"OutputSpec({self.name!r}, mode={self.mode!r}, strict={self.strict!r})"

    # ------------------------------------------------------------------ requests

    def output_format(self) -> OutputFormat:
        """The portable `OutputFormat` (before adaptation to a provider)."""
        return OutputFormat(
            type="json_schema",
            schema=copy.deepcopy(self.schema),
            name=self.name,
            description=self.description,
            strict=self.strict,
        )

    def answer_tool(self) -> FunctionTool:
        """The tool whose arguments are the answer (tool mode and the Anthropic fallback)."""
        described = self.description or f"Give the final answer as {self.name}."
        return FunctionTool(ANSWER_TOOL, described, copy.deepcopy(self.schema), strict=self.strict)

    def request(self, request: LlmRequest) -> LlmRequest:
        """``request`` asking for this output, in portable form (a copy; the input is unchanged)."""
        if self.mode == "tool":
            return self._as_tool(request)
        return dataclasses.replace(request, output_format=self.output_format())

    def _as_tool(self, request: LlmRequest) -> LlmRequest:
        tools = [t for t in request.tools if not (isinstance(t, FunctionTool) and t.name == ANSWER_TOOL)]
        # With other tools on offer the model must call one of them or answer; alone, it answers.
        choice = ToolChoice("required") if tools else ToolChoice("tool", name=ANSWER_TOOL)
        tools.append(self.answer_tool())
        return dataclasses.replace(request, tools=tools, tool_choice=choice, output_format=None)

    def adapt(self, request: LlmRequest, wire_format: Any) -> Tuple[LlmRequest, List[Loss]]:
        """``request`` with its output schema fit to ``wire_format``, and what that approximated."""
        fmt = str(getattr(wire_format, "value", wire_format))
        losses: List[Loss] = []
        output = request.output_format
        if output is not None and output.type == "json_schema" and output.schema is not None:
            adapted, native = self._adapt_format(output, fmt, losses)
            if native:
                return dataclasses.replace(request, output_format=adapted), losses
            losses.append(
                Loss(
                    "L-SO-VIA-TOOL", "output_format", f"the schema does not fit {fmt}'s structured output; using a tool"
                )
            )
            request = self._as_tool(request)
        tools = []
        for tool in request.tools:
            if isinstance(tool, FunctionTool) and tool.name == ANSWER_TOOL and tool.strict and fmt in _OPENAI:
                tool = _strict_tool(tool, losses)
            tools.append(tool)
        return dataclasses.replace(request, tools=tools), losses

    def _adapt_format(self, output: OutputFormat, fmt: str, losses: List[Loss]) -> Tuple[OutputFormat, bool]:
        schema = output.schema or {}
        if fmt in _OPENAI and output.strict:
            try:
                adapted, found = strict_schema(schema)
            except ConfigurationError as exc:
                losses.append(Loss("L-SO-SCHEMA-SUBSET", "output_format.strict", f"sent non-strict: {exc}"))
                return dataclasses.replace(output, strict=False), True
            losses.extend(found)
            return dataclasses.replace(output, schema=adapted), True
        if fmt == _ANTHROPIC:
            try:
                adapted, found = anthropic_schema(schema)
            except ConfigurationError:
                if self.mode == "native":
                    raise
                return output, False
            losses.extend(found)
            return self._unnamed(output, adapted), True
        if fmt == _GEMINI:
            adapted, found = gemini_schema(schema)
            losses.extend(found)
            return self._unnamed(output, adapted), True
        return output, True

    def _unnamed(self, output: OutputFormat, schema: JsonSchema) -> OutputFormat:
        """The format for a protocol whose schema form has no name, description or strict flag.

        Its schema is always enforced, so ``strict`` loses nothing; the description moves
        into the schema; only a name the caller chose is left for the codec to report.
        """
        if output.description and "description" not in schema:
            schema = {**schema, "description": output.description}
        return dataclasses.replace(
            output, schema=schema, name=output.name if self._named else None, description=None, strict=None
        )

    # ------------------------------------------------------------------ responses

    def parse(self, response: LlmResponse) -> Any:
        """The typed answer in ``response``; `StructuredOutputError` (with the raw text) otherwise.

        A response that asks for other tools instead of answering has no answer yet: None.
        """
        raw, source = self._raw(response)
        if source == "text" and not raw.strip() and response.tool_calls:
            return None
        if response.refusal is not None and not raw.strip():
            raise StructuredOutputError(
                f"the model refused instead of answering as {self.name}: {response.refusal}",
                raw_text=response.refusal,
                response=response,
            )
        if not raw.strip():
            why = " (it stopped at the output token limit)" if response.stop_reason == "max_tokens" else ""
            raise StructuredOutputError(
                f"the response holds no {source} to read {self.name} from{why}", raw_text=raw, response=response
            )
        try:
            value = json.loads(_unfence(raw))
        except (ValueError, RecursionError) as exc:
            cut = " (it stopped at the output token limit)" if response.stop_reason == "max_tokens" else ""
            raise StructuredOutputError(
                f"the response {source} is not valid JSON{cut}: {exc}",
                [("$", "not valid JSON")],
                raw_text=raw,
                response=response,
            ) from None
        path = "$"
        if self.wrapped:
            if not isinstance(value, dict) or WRAPPER_KEY not in value:
                raise StructuredOutputError(
                    f"the response does not match {self.name}",
                    [("$", f"expected an object with a {WRAPPER_KEY!r} property")],
                    raw_text=raw,
                    response=response,
                )
            value = value[WRAPPER_KEY]
            path = f"$.{WRAPPER_KEY}"
        result, problems = self.type_schema.check(value, path)
        if problems:
            raise StructuredOutputError(
                f"the response does not match {self.name}", problems, raw_text=raw, response=response
            )
        return result

    @staticmethod
    def _raw(response: LlmResponse) -> Tuple[str, str]:
        for call in response.tool_calls:
            if call.name == ANSWER_TOOL:
                return call.arguments, "tool arguments"
        return response.text, "text"


def _strict_tool(tool: FunctionTool, losses: List[Loss]) -> FunctionTool:
    try:
        adapted, found = strict_schema(tool.parameters or {"type": "object", "properties": {}})
    except ConfigurationError as exc:
        losses.append(Loss("L-TOOL-STRICT", f"tools.{tool.name}", f"sent non-strict: {exc}"))
        return dataclasses.replace(tool, strict=False)
    losses.extend(found)
    return dataclasses.replace(tool, parameters=adapted)


def _unfence(text: str) -> str:
    """The JSON inside a Markdown code fence, which models without a native JSON mode add."""
    stripped = text.strip()
    match = re.fullmatch(r"```[A-Za-z0-9_-]*\s*\n(.*?)\n?```", stripped, flags=re.DOTALL)
    return match.group(1) if match else stripped


def output_spec(output_type: Union[OutputSpec, Any]) -> OutputSpec:
    """``output_type`` as an `OutputSpec` (an `OutputSpec` is returned as it is)."""
    return output_type if isinstance(output_type, OutputSpec) else OutputSpec(output_type)
