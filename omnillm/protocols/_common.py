"""Helpers shared by the codecs: typed field access with JSON paths, and small conversions.

Every accessor raises `DecodeError` naming the protocol and the path, so that no codec
ever lets a bare KeyError or TypeError escape on malformed input.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple, Type, TypeVar, Union, cast

from ..errors import DecodeError, EncodeError
from ..model import BuiltinTool, CacheControl, Extensions
from ..report import LossLog

Obj = Dict[str, Any]

_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
}


def describe(value: Any) -> str:
    """Name the JSON type of ``value`` for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def join(path: str, key: str) -> str:
    """Extend a JSON path with an object key."""
    return f"{path}.{key}" if path else key


def index(path: str, i: int) -> str:
    """Extend a JSON path with an array index."""
    return f"{path}[{i}]"


class Reader:
    """Typed access to a wire dict for one protocol, raising `DecodeError` with a path."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol

    def fail(self, path: str, problem: str) -> DecodeError:
        """Build (not raise) the error for ``path``."""
        return DecodeError(self.protocol, path, problem)

    def obj(self, value: Any, path: str) -> Obj:
        """``value`` itself, which must be a JSON object."""
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {describe(value)}")
        return value

    def arr(self, value: Any, path: str) -> List[Any]:
        """``value`` itself, which must be a JSON array."""
        if not isinstance(value, list):
            raise self.fail(path, f"expected an array, got {describe(value)}")
        return value

    def req(self, d: Obj, key: str, path: str) -> Any:
        """A required field of any type (null counts as missing)."""
        value = d.get(key)
        if value is None:
            raise self.fail(join(path, key), "required field is missing")
        return value

    def req_str(self, d: Obj, key: str, path: str) -> str:
        """A required string field."""
        value = d.get(key)
        if not isinstance(value, str):
            if value is None:
                raise self.fail(join(path, key), "required field is missing")
            raise self.fail(join(path, key), f"expected a string, got {describe(value)}")
        return value

    def req_obj(self, d: Obj, key: str, path: str) -> Obj:
        """A required object field."""
        value = d.get(key)
        if value is None:
            raise self.fail(join(path, key), "required field is missing")
        return self.obj(value, join(path, key))

    def req_arr(self, d: Obj, key: str, path: str) -> List[Any]:
        """A required array field."""
        value = d.get(key)
        if value is None:
            raise self.fail(join(path, key), "required field is missing")
        return self.arr(value, join(path, key))

    def req_int(self, d: Obj, key: str, path: str) -> int:
        """A required integer field."""
        value = self.opt_int(d, key, path)
        if value is None:
            raise self.fail(join(path, key), "required field is missing")
        return value

    def opt_str(self, d: Obj, key: str, path: str) -> Optional[str]:
        """An optional string field (absent or null gives None)."""
        value = d.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.fail(join(path, key), f"expected a string, got {describe(value)}")

    def opt_obj(self, d: Obj, key: str, path: str) -> Optional[Obj]:
        """An optional object field."""
        value = d.get(key)
        if value is None or isinstance(value, dict):
            return value
        raise self.fail(join(path, key), f"expected an object, got {describe(value)}")

    def opt_arr(self, d: Obj, key: str, path: str) -> Optional[List[Any]]:
        """An optional array field."""
        value = d.get(key)
        if value is None or isinstance(value, list):
            return value
        raise self.fail(join(path, key), f"expected an array, got {describe(value)}")

    def opt_bool(self, d: Obj, key: str, path: str) -> Optional[bool]:
        """An optional boolean field."""
        value = d.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self.fail(join(path, key), f"expected a boolean, got {describe(value)}")

    def opt_int(self, d: Obj, key: str, path: str) -> Optional[int]:
        """An optional integer field (an integral float such as 5.0 is accepted)."""
        value = d.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self.fail(join(path, key), "expected an integer, got a boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise self.fail(join(path, key), f"expected an integer, got {describe(value)}")

    def opt_num(self, d: Obj, key: str, path: str) -> Optional[float]:
        """An optional number field (ints stay ints so that output equals input)."""
        value = d.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(join(path, key), f"expected a number, got {describe(value)}")
        return value

    def opt_str_list(self, d: Obj, key: str, path: str) -> Optional[List[str]]:
        """An optional array of strings."""
        value = self.opt_arr(d, key, path)
        if value is None:
            return None
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(index(join(path, key), i), f"expected a string, got {describe(item)}")
        return value

    def opt_str_map(self, d: Obj, key: str, path: str) -> Optional[Dict[str, str]]:
        """An optional object whose values are all strings."""
        value = self.opt_obj(d, key, path)
        if value is None:
            return None
        for k, v in value.items():
            if not isinstance(v, str):
                raise self.fail(join(join(path, key), k), f"expected a string, got {describe(v)}")
        return value

    def cache_control(self, d: Obj, key: str, path: str) -> Optional[CacheControl]:
        """An optional ``{"type": ..., "ttl": ...}`` cache marker."""
        value = self.opt_obj(d, key, path)
        if value is None:
            return None
        where = join(path, key)
        return CacheControl(
            type=self.opt_str(value, "type", where) or "ephemeral",
            ttl=self.opt_str(value, "ttl", where),
        )


def extras(d: Obj, known: FrozenSet[str]) -> Obj:
    """The fields of ``d`` not in ``known``: what goes into ``extensions``."""
    return {k: v for k, v in d.items() if k not in known}


def with_extension(protocol: str, unknown: Obj) -> Extensions:
    """An extensions dict holding ``unknown`` under ``protocol`` (empty when nothing)."""
    return {protocol: unknown} if unknown else {}


def restore_extensions(out: Obj, extensions: Extensions, protocol: str, losses: LossLog, path: str) -> None:
    """Write back this protocol's extension fields; report other protocols' as lost.

    Fields already present in ``out`` win over extension fields of the same name.
    """
    for proto, fields in extensions.items():
        if proto == protocol:
            for k, v in fields.items():
                out.setdefault(k, v)
        elif fields:
            names = ", ".join(sorted(fields))
            losses.add(
                "L-EXTENSION",
                path,
                f"{proto} field(s) {names} have no equivalent in {protocol}",
            )


def builtin_label(tool: BuiltinTool) -> str:
    """Name a builtin tool for a loss reason: its wire type, and its own name when it has one."""
    name = tool.options.get("name")
    if isinstance(name, str) and name:
        return f"builtin tool {tool.type!r} named {name!r}"
    return f"builtin tool {tool.type!r}"


def cache_control_dict(cc: CacheControl) -> Obj:
    """The wire form of a cache marker (Anthropic's ``cache_control`` shape)."""
    out: Obj = {"type": cc.type}
    if cc.ttl is not None:
        out["ttl"] = cc.ttl
    return out


def parse_data_url(url: str) -> Optional[Tuple[str, str]]:
    """Split ``data:<mime>;base64,<payload>`` into (mime, payload); None if not one."""
    if not url.startswith("data:"):
        return None
    head, sep, payload = url.partition(",")
    if not sep or not head.endswith(";base64"):
        return None
    return head[5:-7], payload


def data_url(media_type: str, data: str) -> str:
    """Build a base64 data URL."""
    return f"data:{media_type};base64,{data}"


# One encoder for every wire body: compact like the providers, non-ASCII kept, and no
# NaN/Infinity (they are not JSON; a peer's parser would reject the body).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def reject_json_constant(name: str) -> Any:
    """A ``parse_constant`` hook for `json.loads`: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


def dumps(value: Any, protocol: str, path: str = "", error: Type[Union[DecodeError, EncodeError]] = EncodeError) -> str:
    """Serialise ``value`` as compact JSON; a value JSON cannot hold raises ``error`` with its path.

    NaN and infinities, objects nested past the interpreter's recursion limit, and values
    of non-JSON types all raise (by default `EncodeError`) naming ``protocol`` and the
    path of the offending value under ``path``.
    """
    try:
        return _ENCODER.encode(value)
    except (ValueError, TypeError, RecursionError):
        where, problem = unencodable(value)
        raise error(protocol, under(path, where), problem) from None


#: Parses wire JSON: like `json.loads`, but NaN and Infinity (not JSON) are refused.
#: One shared instance, so this costs what the default decoder costs.
WIRE_JSON = json.JSONDecoder(parse_constant=reject_json_constant)


def loads(text: Union[str, bytes], protocol: str, path: str = "") -> Any:
    """Parse JSON text; invalid JSON (NaN and Infinity included) or nesting past the
    recursion limit raises `DecodeError`."""
    try:
        return WIRE_JSON.decode(text.decode("utf-8") if isinstance(text, (bytes, bytearray)) else text)
    except UnicodeDecodeError as exc:
        raise DecodeError(protocol, path, f"invalid JSON: not UTF-8 ({exc.reason})") from None
    except RecursionError:
        raise DecodeError(protocol, path, "invalid JSON: nested too deeply to parse") from None
    except ValueError as exc:
        raise DecodeError(protocol, path, f"invalid JSON: {exc}") from None


#: Nesting deeper than this is reported as too deep (the codecs recurse once or twice per
#: level and the interpreter's default recursion limit is 1000).
MAX_DEPTH = 400


def unencodable(value: Any) -> Tuple[str, str]:
    """Find what in ``value`` JSON cannot hold: (relative path, problem).

    Walks iteratively (the value may be too deep for recursion): the first non-finite
    number, non-JSON type, or container nested more than `MAX_DEPTH` levels.
    """
    stack: List[Tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where, f"{item!r} is not a valid JSON number"
        if isinstance(item, (dict, list, tuple)):
            if depth >= MAX_DEPTH:
                return _shorten(where), f"nested more than {MAX_DEPTH} levels deep"
            if isinstance(item, dict):
                for k, v in reversed(list(item.items())):
                    if not isinstance(k, (str, int, float, bool)) and k is not None:
                        return where, f"object key {k!r} is not a string"
                    stack.append((v, join(where, str(k)), depth + 1))
            else:
                for i in range(len(item) - 1, -1, -1):
                    stack.append((item[i], index(where, i), depth + 1))
        elif item is not None and not isinstance(item, (str, int, float, bool)):
            return where, f"a {type(item).__name__} is not a JSON value"
    return "", "not expressible as JSON"


def under(path: str, relative: str) -> str:
    """Join a base JSON path and a path relative to it."""
    if not relative:
        return path
    if not path or relative.startswith("["):
        return path + relative
    return f"{path}.{relative}"


def _shorten(path: str, limit: int = 120) -> str:
    return path if len(path) <= limit else path[:limit] + "..."


def too_deep(protocol: str, raw: Any, error: Type[Union[DecodeError, EncodeError]] = DecodeError) -> Exception:
    """The error for a body whose nesting overflowed a codec's recursion (built, not raised)."""
    where, problem = unencodable(raw)
    if "nested" not in problem:
        where, problem = "", "nested too deeply to convert"
    return error(protocol, where, problem)


def dump_arguments(value: Any, protocol: str = "", path: str = "", decoding: bool = True) -> str:
    """Serialise a tool-call arguments object the way OpenAI does (compact, key order kept).

    A value JSON cannot hold (NaN, nesting past the recursion limit) raises `DecodeError`
    while decoding, `EncodeError` while encoding (``decoding=False``).
    """
    try:
        return _ENCODER.encode(value)
    except (ValueError, TypeError, RecursionError):
        return dumps(value, protocol, path, DecodeError if decoding else EncodeError)


def load_arguments(text: str) -> Tuple[Any, bool]:
    """Parse tool-call argument text into an object: (value, True), or ({"_raw": text}, False).

    Protocols whose arguments are an object cannot hold invalid JSON, so the raw text is
    kept under ``_raw`` rather than dropped (loss L-TOOL-ARGS-INVALID-JSON). Text that is
    not strict JSON (NaN, Infinity) or is nested too deeply to parse counts as invalid.
    """
    if text == "":
        return {}, True
    try:
        value = json.loads(text, parse_constant=reject_json_constant)
    except (ValueError, RecursionError):
        return {"_raw": text}, False
    if not isinstance(value, dict):
        return {"_raw": text}, False
    return value, True


_Entry = TypeVar("_Entry", bound=Callable[..., Any])


def entry_point(protocol: str, *, decoding: bool) -> Callable[[_Entry], _Entry]:
    """Mark a codec's public function: recursion overflow inside it (input nested deeper
    than Python can follow) becomes a `DecodeError` (``decoding``) or `EncodeError` naming
    ``protocol``, never a bare RecursionError."""

    def wrap(fn: _Entry) -> _Entry:
        @functools.wraps(fn)
        def run(value: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(value, *args, **kwargs)
            except RecursionError:
                if decoding:
                    raise too_deep(protocol, value) from None
                raise EncodeError(protocol, "", "nested too deeply to encode") from None

        return cast(_Entry, run)

    return wrap


# --------------------------------------------------------------------------- stream fast paths


def keep_fragment(parts: List[str], fragment: str, lean: bool) -> None:
    """Hold a streamed fragment for its item's final form; a lean decoder keeps only that some came."""
    if not lean:
        parts.append(fragment)
    elif fragment and not parts:
        parts.append("")


def sole_object(value: Any) -> Optional[Obj]:
    """The one JSON object of a one-element array, else None (the decoders' fast paths)."""
    if type(value) is list and len(value) == 1 and type(value[0]) is dict:
        first: Obj = value[0]
        return first
    return None


def first_or_absent(position: Any) -> bool:
    """True for an absent index or the integer 0 (not 0.0, not False): the fast paths' choice 0."""
    return position is None or (type(position) is int and position == 0)


# --------------------------------------------------------------------------- stop reasons

#: For each canonical stop reason, the provider values that say that and nothing more:
#: what one of the codecs writes for it (``tests/test_mapping_tables.py`` checks that
#: every codec's own choice is here). A raw stop reason outside this set said more than
#: the canonical value (Gemini ``SPII``, Bedrock ``guardrail_intervened``, Anthropic
#: ``model_context_window_exceeded``, Responses ``incomplete:max_messages``): a target
#: that cannot carry it loses that detail, and says so.
PLAIN_STOP_VALUES: Dict[str, FrozenSet[str]] = {
    "end_turn": frozenset({"stop", "completed", "end_turn", "STOP"}),
    "max_tokens": frozenset({"length", "incomplete:max_output_tokens", "max_tokens", "MAX_TOKENS"}),
    "stop_sequence": frozenset({"stop", "completed", "stop_sequence", "STOP"}),
    "tool_use": frozenset({"tool_calls", "function_call", "completed", "tool_use", "STOP"}),
    "content_filter": frozenset(
        {"content_filter", "incomplete:content_filter", "refusal", "SAFETY", "content_filtered"}
    ),
    "refusal": frozenset({"stop", "completed", "refusal", "SAFETY", "content_filtered"}),
    "pause": frozenset({"stop", "incomplete", "pause_turn", "OTHER", "end_turn"}),
    "error": frozenset({"stop", "failed", "end_turn", "OTHER"}),
    "other": frozenset({"stop", "incomplete", "end_turn", "OTHER"}),
}


def note_finer_stop(losses: Any, path: str, protocol: str, stop: str, raw: Optional[str], sent: str) -> None:
    """Report ``L-FINISH-GRANULARITY`` when ``raw`` said more than the ``sent`` value can.

    ``raw`` is the response's `LlmResponse.raw_stop_reason` (from whichever protocol
    decoded it), ``stop`` its canonical stop reason, ``sent`` what ``protocol`` writes
    instead. Called where an encoder did not keep ``raw`` and reported nothing else
    about the stop reason. ``losses`` is a `omnillm.report.LossLog`.
    """
    if raw is not None and raw != sent and raw not in PLAIN_STOP_VALUES.get(stop, ()):
        losses.add(
            "L-FINISH-GRANULARITY",
            path,
            f"the provider's stop reason {raw!r} says more than {stop!r}; {protocol} has no equivalent, sent {sent!r}",
        )
