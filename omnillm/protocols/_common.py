"""Helpers shared by the codecs: typed field access with JSON paths, and small conversions.

Every accessor raises `DecodeError` naming the protocol and the path, so that no codec
ever lets a bare KeyError or TypeError escape on malformed input.
"""

from __future__ import annotations

import json
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

from ..errors import DecodeError
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


def dump_arguments(value: Any) -> str:
    """Serialise a tool-call arguments object the way OpenAI does (compact, key order kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def load_arguments(text: str) -> Tuple[Any, bool]:
    """Parse tool-call argument text into an object: (value, True), or ({"_raw": text}, False).

    Protocols whose arguments are an object cannot hold invalid JSON, so the raw text is
    kept under ``_raw`` rather than dropped (loss L-TOOL-ARGS-INVALID-JSON).
    """
    if text == "":
        return {}, True
    try:
        value = json.loads(text)
    except ValueError:
        return {"_raw": text}, False
    if not isinstance(value, dict):
        return {"_raw": text}, False
    return value, True
