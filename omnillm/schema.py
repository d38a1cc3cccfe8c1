"""Python type hints as JSON Schema, and JSON values checked back into typed Python values.

`compile_type` turns an annotation into a `TypeSchema` once: its JSON Schema (2020-12
vocabulary, shaped like the schema ``pydantic.TypeAdapter`` would give, so provider SDK
conventions carry over) and a validator that turns a decoded JSON value into the typed
value (a dataclass instance, an `Enum` member, a tuple, ...), collecting every problem
with its JSON path instead of stopping at the first. `compile_signature` does the same
for a function's parameters, reading per-parameter descriptions from its docstring
(Google, NumPy or reST style).

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Any``,
``Optional``/``Union`` (and ``X | Y``), ``list``/``List``/``Sequence``, ``tuple`` (fixed
or ``Tuple[X, ...]``), ``set``/``frozenset``, ``dict``/``Dict``/``Mapping`` with string
keys, ``Literal``, `Enum` subclasses, dataclasses, ``TypedDict`` (with ``NotRequired`` /
``Required``), ``Annotated[X, "description"]``, and any nesting of them, recursive
dataclasses included. Anything else raises `SchemaError` when compiled, never later.

Pure: no I/O, no globals beyond immutable tables.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import sys
import typing
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import SchemaError, ValidationError

Problem = Tuple[str, str]
"""One validation problem: the JSON path (``$.items[0].name``) and what is wrong there."""

JsonSchema = Dict[str, Any]

_MISSING: Any = object()


class _Invalid:
    """Returned by a converter that recorded a problem; never escapes this module."""

    __slots__ = ()


_INVALID: Any = _Invalid()

if sys.version_info >= (3, 10):
    import types as _types

    _UNION_TYPES: Tuple[Any, ...] = (typing.Union, _types.UnionType)
else:  # pragma: no cover - Python 3.9
    _UNION_TYPES = (typing.Union,)

# TypedDict key qualifiers, matched by name so typing_extensions' copies work without importing it.
_KEY_QUALIFIERS = ("Required", "NotRequired", "ReadOnly")


def _path_key(path: str, key: str) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"{path}[{key!r}]"


def _path_index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def _kind(value: Any) -> str:
    """The JSON type of ``value`` for a message (``a string``, ``null``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- nodes


class _Emitter:
    """Collects ``$defs`` while a schema is written; one per `TypeSchema.schema` call."""

    def __init__(self) -> None:
        self.defs: Dict[str, JsonSchema] = {}
        self.names: Dict[int, str] = {}
        self.refs: Dict[str, int] = {}

    def ref(self, node: _Named) -> JsonSchema:
        name = self.names.get(id(node))
        if name is None:
            name = node.def_name
            if name in self.defs:  # two different classes with one name
                name = re.sub(r"[^A-Za-z0-9_]", "_", f"{node.qualified_name}")
            self.names[id(node)] = name
            self.defs[name] = {}  # placeholder first: a recursive class refers to itself
            self.defs[name] = node.definition(self)
        self.refs[name] = self.refs.get(name, 0) + 1
        return {"$ref": f"#/$defs/{name}"}


class _Node:
    """A compiled annotation: writes its schema and converts JSON values to Python."""

    label = "a value"

    def emit(self, out: _Emitter) -> JsonSchema:
        raise NotImplementedError

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        raise NotImplementedError

    def accepts_none(self) -> bool:
        return False


class _Any(_Node):
    label = "any value"

    def emit(self, out: _Emitter) -> JsonSchema:
        return {}

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        return value

    def accepts_none(self) -> bool:
        return True


class _Str(_Node):
    label = "a string"

    def emit(self, out: _Emitter) -> JsonSchema:
        return {"type": "string"}

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        if isinstance(value, str):
            return value
        problems.append((path, f"expected a string, got {_kind(value)}"))
        return _INVALID


class _Int(_Node):
    label = "an integer"

    def emit(self, out: _Emitter) -> JsonSchema:
        return {"type": "integer"}

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        # JSON has one number type: 3.0 is an integer written by a model that likes decimals.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        problems.append((path, f"expected an integer, got {_kind(value)}"))
        return _INVALID


class _Float(_Node):
    label = "a number"

    def emit(self, out: _Emitter) -> JsonSchema:
        return {"type": "number"}

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        problems.append((path, f"expected a number, got {_kind(value)}"))
        return _INVALID


class _Bool(_Node):
    label = "a boolean"

    def emit(self, out: _Emitter) -> JsonSchema:
        return {"type": "boolean"}

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        if isinstance(value, bool):
            return value
        problems.append((path, f"expected a boolean, got {_kind(value)}"))
        return _INVALID


class _Null(_Node):
    label = "null"

    def emit(self, out: _Emitter) -> JsonSchema:
        return {"type": "null"}

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        if value is None:
            return None
        problems.append((path, f"expected null, got {_kind(value)}"))
        return _INVALID

    def accepts_none(self) -> bool:
        return True


class _Described(_Node):
    """``Annotated[X, "text"]``: X with a description."""

    def __init__(self, inner: _Node, description: str) -> None:
        self.inner = inner
        self.description = description
        self.label = inner.label

    def emit(self, out: _Emitter) -> JsonSchema:
        schema = dict(self.inner.emit(out))
        schema["description"] = self.description
        return schema

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        return self.inner.convert(value, path, problems)

    def accepts_none(self) -> bool:
        return self.inner.accepts_none()


class _Union(_Node):
    def __init__(self, options: List[_Node]) -> None:
        self.options = options
        self.label = " or ".join(o.label for o in options)

    def emit(self, out: _Emitter) -> JsonSchema:
        return {"anyOf": [o.emit(out) for o in self.options]}

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        if value is None and any(isinstance(o, _Null) for o in self.options):
            return None
        candidates = [o for o in self.options if not isinstance(o, _Null)]
        if len(candidates) == 1:  # Optional[X]: X's own problems are the useful ones
            return candidates[0].convert(value, path, problems)
        # Exact JSON types first, so Union[float, int] keeps 3 an int and "3" stays a string.
        ordered = sorted(candidates, key=lambda o: 0 if _exact(o, value) else 1)
        for option in ordered:
            attempt: List[Problem] = []
            result = option.convert(value, path, attempt)
            if not attempt:
                return result
        problems.append((path, f"expected {self.label}, got {_kind(value)}"))
        return _INVALID

    def accepts_none(self) -> bool:
        return any(o.accepts_none() for o in self.options)


def _exact(node: _Node, value: Any) -> bool:
    if isinstance(node, _Described):
        node = node.inner
    if isinstance(node, _Int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(node, _Float):
        return isinstance(value, float)
    if isinstance(node, _Str):
        return isinstance(value, str)
    if isinstance(node, _Bool):
        return isinstance(value, bool)
    return False


class _Array(_Node):
    """``list``, ``Sequence``, ``Tuple[X, ...]``, ``set`` and ``frozenset`` of one item type."""

    def __init__(self, item: _Node, build: Callable[[List[Any]], Any], unique: bool = False) -> None:
        self.item = item
        self.build = build
        self.unique = unique
        self.label = "an array"

    def emit(self, out: _Emitter) -> JsonSchema:
        schema: JsonSchema = {"items": self.item.emit(out), "type": "array"}
        if self.unique:
            schema["uniqueItems"] = True
        return schema

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        if not isinstance(value, (list, tuple)):
            problems.append((path, f"expected an array, got {_kind(value)}"))
            return _INVALID
        before = len(problems)
        items = [self.item.convert(v, _path_index(path, i), problems) for i, v in enumerate(value)]
        if len(problems) > before:
            return _INVALID
        try:
            return self.build(items)
        except TypeError:  # an unhashable item in a set
            problems.append((path, "the items cannot form a set"))
            return _INVALID


class _Tuple(_Node):
    """``Tuple[A, B]``: a fixed-length array."""

    label = "an array"

    def __init__(self, items: List[_Node]) -> None:
        self.items = items

    def emit(self, out: _Emitter) -> JsonSchema:
        n = len(self.items)
        return {"maxItems": n, "minItems": n, "prefixItems": [i.emit(out) for i in self.items], "type": "array"}

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        if not isinstance(value, (list, tuple)):
            problems.append((path, f"expected an array, got {_kind(value)}"))
            return _INVALID
        if len(value) != len(self.items):
            problems.append((path, f"expected exactly {len(self.items)} items, got {len(value)}"))
            return _INVALID
        before = len(problems)
        items = [node.convert(v, _path_index(path, i), problems) for i, (node, v) in enumerate(zip(self.items, value))]
        return _INVALID if len(problems) > before else tuple(items)


class _Map(_Node):
    """``Dict[str, X]`` / ``Mapping[str, X]`` (and bare ``dict``): an object with free keys."""

    label = "an object"

    def __init__(self, value: Optional[_Node]) -> None:
        self.value = value

    def emit(self, out: _Emitter) -> JsonSchema:
        extra: Any = True if self.value is None else self.value.emit(out)
        return {"additionalProperties": extra, "type": "object"}

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        if not isinstance(value, dict):
            problems.append((path, f"expected an object, got {_kind(value)}"))
            return _INVALID
        if self.value is None:
            return dict(value)
        before = len(problems)
        out = {k: self.value.convert(v, _path_key(path, str(k)), problems) for k, v in value.items()}
        return _INVALID if len(problems) > before else out


class _Literal(_Node):
    def __init__(self, values: List[Any]) -> None:
        self.values = values
        self.json_values = [v.value if isinstance(v, enum.Enum) else v for v in values]
        self.label = "one of " + ", ".join(_short(v) for v in self.json_values)

    def emit(self, out: _Emitter) -> JsonSchema:
        schema: JsonSchema = (
            {"const": self.json_values[0]} if len(self.json_values) == 1 else {"enum": list(self.json_values)}
        )
        kind = _json_type_of(self.json_values)
        if kind is not None:
            schema["type"] = kind
        return schema

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        for literal, wire in zip(self.values, self.json_values):
            if _same(value, wire):
                return literal
        problems.append((path, f"expected {self.label}, got {_short(value)}"))
        return _INVALID

    def accepts_none(self) -> bool:
        return None in self.json_values


def _same(value: Any, wire: Any) -> bool:
    """JSON equality: ``True`` is not ``1`` and ``1.0`` is ``1``."""
    if isinstance(value, bool) or isinstance(wire, bool):
        return isinstance(value, bool) and isinstance(wire, bool) and value is wire
    if type(value) is not type(wire) and not (isinstance(value, (int, float)) and isinstance(wire, (int, float))):
        return False
    return bool(value == wire)


def _json_type_of(values: Sequence[Any]) -> Optional[str]:
    kinds = set()
    for v in values:
        if v is None:
            kinds.add("null")
        elif isinstance(v, bool):
            kinds.add("boolean")
        elif isinstance(v, int):
            kinds.add("integer")
        elif isinstance(v, float):
            kinds.add("number")
        elif isinstance(v, str):
            kinds.add("string")
        else:
            kinds.add("?")
    return kinds.pop() if len(kinds) == 1 and "?" not in kinds else None


class _Named(_Node):
    """A node written once under ``$defs`` and referred to by ``$ref`` (classes, enums)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.def_name = cls.__name__
        self.qualified_name = f"{cls.__module__}.{cls.__qualname__}"
        self.label = cls.__name__

    def emit(self, out: _Emitter) -> JsonSchema:
        return out.ref(self)

    def definition(self, out: _Emitter) -> JsonSchema:
        raise NotImplementedError


class _Enum(_Named):
    def __init__(self, cls: type) -> None:
        super().__init__(cls)
        members: List[Any] = list(typing.cast(Any, cls))  # aliases excluded
        if not members:
            raise SchemaError(f"enum {cls.__name__} has no members")
        for member in members:
            if not isinstance(member.value, (str, int, float, bool)) and member.value is not None:
                raise SchemaError(
                    f"enum {cls.__name__}.{member.name} has a {type(member.value).__name__} value; "
                    "only str, int, float, bool and None values have a JSON form"
                )
        self.members = members
        self.description = _own_doc(cls)
        self.label = f"one of {', '.join(_short(m.value) for m in members)}"

    def definition(self, out: _Emitter) -> JsonSchema:
        values = [m.value for m in self.members]
        schema: JsonSchema = {}
        if self.description:
            schema["description"] = self.description
        schema["enum"] = values
        schema["title"] = self.cls.__name__
        kind = _json_type_of(values)
        if kind is not None:
            schema["type"] = kind
        return schema

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        for member in self.members:
            if _same(value, member.value):
                return member
        problems.append((path, f"expected {self.label}, got {_short(value)}"))
        return _INVALID


@dataclasses.dataclass
class _Field:
    name: str
    node: _Node
    required: bool
    default: Any = _MISSING
    description: Optional[str] = None


class _Object(_Named):
    """A dataclass, a TypedDict, or a function's parameters: named fields of their own types."""

    label = "an object"

    def __init__(self, cls: Any, kind: str, title: str, description: Optional[str]) -> None:
        self.cls = cls
        self.kind = kind  # "dataclass", "typeddict" or "parameters"
        self.def_name = title
        self.qualified_name = f"{getattr(cls, '__module__', '')}.{getattr(cls, '__qualname__', title)}"
        self.title = title
        self.description = description
        self.fields: List[_Field] = []
        self.label = "an object"

    def definition(self, out: _Emitter) -> JsonSchema:
        properties: JsonSchema = {}
        for f in self.fields:
            prop = dict(f.node.emit(out))
            if f.default is not _MISSING:
                encoded = _json_default(f.default)
                if encoded is not _MISSING:
                    prop["default"] = encoded
            if f.description:
                prop["description"] = f.description
            properties[f.name] = prop
        schema: JsonSchema = {}
        if self.description:
            schema["description"] = self.description
        schema["properties"] = properties
        required = [f.name for f in self.fields if f.required]
        if required:
            schema["required"] = required
        if self.kind != "parameters":
            schema["title"] = self.title
        schema["type"] = "object"
        return schema

    def convert(self, value: Any, path: str, problems: List[Problem]) -> Any:
        if not isinstance(value, dict):
            problems.append((path, f"expected an object, got {_kind(value)}"))
            return _INVALID
        before = len(problems)
        known = {f.name for f in self.fields}
        for key in value:
            if key not in known:
                problems.append((_path_key(path, str(key)), f"unexpected property; expected {_names(known)}"))
        values: Dict[str, Any] = {}
        for f in self.fields:
            where = _path_key(path, f.name)
            if f.name not in value:
                if f.required:
                    problems.append((where, "is required"))
                continue
            raw = value[f.name]
            # null for an optional field that cannot hold None means "use the default": strict
            # modes make every field required and nullable, so that is how a model leaves one out.
            if raw is None and not f.required and not f.node.accepts_none():
                continue
            converted = f.node.convert(raw, where, problems)
            if converted is not _INVALID:
                values[f.name] = converted
        if len(problems) > before:
            return _INVALID
        if self.kind == "dataclass":
            try:
                return self.cls(**values)
            except Exception as exc:  # __post_init__ checks belong to the user; report them, with the path
                problems.append((path, f"{self.title} rejected the values: {type(exc).__name__}: {exc}"))
                return _INVALID
        return values


def _names(names: Any) -> str:
    listed = sorted(names)
    return "no properties" if not listed else "one of " + ", ".join(listed)


def _json_default(value: Any) -> Any:
    """The JSON form of a default value, or ``_MISSING`` when it has none."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, enum.Enum):
        return _json_default(value.value)
    if isinstance(value, (list, tuple, frozenset, set)):
        items = [_json_default(v) for v in value]
        return _MISSING if any(i is _MISSING for i in items) else items
    if isinstance(value, dict):
        pairs = {str(k): _json_default(v) for k, v in value.items()}
        return _MISSING if any(v is _MISSING for v in pairs.values()) else pairs
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _json_default({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    return _MISSING


def _own_doc(cls: type) -> Optional[str]:
    """The class's own docstring summary: not inherited, not the one dataclasses invent."""
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or not doc.strip():
        return None
    if dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}("):
        return None
    return parse_docstring(doc).summary or None


# --------------------------------------------------------------------------- compiler


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__") and hasattr(tp, "__annotations__")


class _Compiler:
    def __init__(self, localns: Optional[Mapping[str, Any]]) -> None:
        self.localns: Dict[str, Any] = dict(localns or {})
        self.named: Dict[Any, _Named] = {}

    def hints(self, owner: Any, where: str) -> Dict[str, Any]:
        localns = dict(self.localns)
        if isinstance(owner, type):
            localns.setdefault(owner.__name__, owner)
        try:
            return typing.get_type_hints(owner, localns=localns, include_extras=True)
        except Exception as exc:  # NameError for an undefined forward reference, TypeError for junk
            raise SchemaError(
                f"{where}: cannot resolve the type hints ({type(exc).__name__}: {exc}); "
                "types named in string annotations must be importable from the defining module"
            ) from None

    def node(self, tp: Any, where: str) -> _Node:
        if tp is Any:
            return _Any()
        if tp is None or tp is type(None):
            return _Null()
        if tp is str:
            return _Str()
        if tp is bool:
            return _Bool()
        if tp is int:
            return _Int()
        if tp is float:
            return _Float()
        if isinstance(tp, (str, typing.ForwardRef)):
            raise SchemaError(f"{where}: unresolved forward reference {tp!r}")
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            inner = self.node(args[0], where)
            text = next((a for a in args[1:] if isinstance(a, str)), None)
            return _Described(inner, text) if text else inner
        if origin is not None and getattr(origin, "_name", None) in _KEY_QUALIFIERS:
            return self.node(args[0], where)
        if getattr(tp, "_name", None) in _KEY_QUALIFIERS and args:
            return self.node(args[0], where)
        if origin in _UNION_TYPES:
            return _Union([self.node(a, where) for a in args])
        if origin is typing.Literal:
            return self.literal(args, where)
        if origin in (list, typing.List) or origin in _SEQUENCES:
            item = self.node(args[0], f"{where} items") if args else _Any()
            return _Array(item, list)
        if tp in (list, typing.List) or tp in _SEQUENCES:
            return _Array(_Any(), list)
        if origin in (set, frozenset):
            item = self.node(args[0], f"{where} items") if args else _Any()
            return _Array(item, set if origin is set else frozenset, unique=True)
        if tp in (set, frozenset):
            return _Array(_Any(), tp, unique=True)
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return _Array(self.node(args[0], f"{where} items"), tuple)
            if args == ((),) or not args:
                return _Tuple([])
            return _Tuple([self.node(a, f"{where}[{i}]") for i, a in enumerate(args)])
        if tp is tuple:
            return _Array(_Any(), tuple)
        if origin in (dict, typing.Dict) or origin in _MAPPINGS:
            if args and args[0] is not str:
                raise SchemaError(f"{where}: dictionary keys must be str (JSON object keys), not {args[0]!r}")
            return _Map(self.node(args[1], f"{where} values") if args else None)
        if tp in (dict, typing.Dict) or tp in _MAPPINGS:
            return _Map(None)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return self.enum(tp)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.dataclass(tp, where)
        if _is_typeddict(tp):
            return self.typeddict(tp, where)
        raise SchemaError(
            f"{where}: unsupported annotation {_type_name(tp)}; see omnillm.schema for the supported ones"
        )

    def literal(self, args: Tuple[Any, ...], where: str) -> _Node:
        values: List[Any] = []
        for a in args:
            if typing.get_origin(a) is typing.Literal:  # Literal[Literal["a"], "b"]
                values.extend(typing.get_args(a))
            else:
                values.append(a)
        for v in values:
            raw = v.value if isinstance(v, enum.Enum) else v
            if raw is not None and not isinstance(raw, (str, int, float, bool)):
                raise SchemaError(f"{where}: Literal value {v!r} has no JSON form")
        return _Literal(values)

    def enum(self, cls: type) -> _Node:
        found = self.named.get(cls)
        if found is None:
            found = _Enum(cls)
            self.named[cls] = found
        return found

    def dataclass(self, cls: type, where: str) -> _Node:
        found = self.named.get(cls)
        if found is not None:
            return found
        doc = parse_docstring(cls.__dict__.get("__doc__") or "")
        node = _Object(cls, "dataclass", cls.__name__, _own_doc(cls))
        self.named[cls] = node  # registered before its fields: recursion finds it
        hints = self.hints(cls, cls.__name__)
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            tp = hints.get(f.name, f.type)
            if f.default is not dataclasses.MISSING:
                default: Any = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = _FACTORY
            else:
                default = _MISSING
            required = default is _MISSING
            node.fields.append(
                _Field(
                    f.name,
                    self.node(tp, f"{cls.__name__}.{f.name}"),
                    required,
                    _MISSING if default is _FACTORY else default,
                    doc.params.get(f.name),
                )
            )
        return node

    def typeddict(self, cls: Any, where: str) -> _Node:
        found = self.named.get(cls)
        if found is not None:
            return found
        doc = parse_docstring(cls.__dict__.get("__doc__") or "")
        node = _Object(cls, "typeddict", cls.__name__, doc.summary or None)
        self.named[cls] = node
        hints = self.hints(cls, cls.__name__)
        required_keys = getattr(cls, "__required_keys__", None)
        for name, tp in hints.items():
            # A Required/NotRequired wrapper decides; under string annotations the class's
            # own __required_keys__ cannot see the wrappers, so it only breaks ties.
            qualifier = getattr(typing.get_origin(tp), "_name", None) or getattr(tp, "_name", None)
            if qualifier in ("Required", "NotRequired"):
                required = qualifier == "Required"
            else:
                required = name in required_keys if required_keys is not None else bool(cls.__total__)
            node.fields.append(
                _Field(name, self.node(tp, f"{cls.__name__}.{name}"), required, _MISSING, doc.params.get(name))
            )
        return node


_FACTORY: Any = object()

try:
    import collections.abc as _abc

    _SEQUENCES: Tuple[Any, ...] = (_abc.Sequence, typing.Sequence)
    _MAPPINGS: Tuple[Any, ...] = (_abc.Mapping, typing.Mapping)
except ImportError:  # pragma: no cover - collections.abc is always there
    _SEQUENCES = ()
    _MAPPINGS = ()


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp)


# --------------------------------------------------------------------------- public


class TypeSchema:
    """A compiled Python type: its JSON Schema and a validator for JSON values of it.

    ``schema`` is a fresh dict on every access (callers may adapt it freely).
    `validate` turns a decoded JSON value into the typed value or raises
    `ValidationError` listing every problem with its path.
    """

    def __init__(self, annotation: Any, node: _Node) -> None:
        self.annotation = annotation
        self._node = node

    @property
    def schema(self) -> JsonSchema:
        """The JSON Schema, with ``$defs`` for classes and enums used more than once or recursively."""
        return _finish(self._node)

    @property
    def is_object(self) -> bool:
        """True when the schema's root is an object with named properties (dataclass, TypedDict)."""
        node = self._node.inner if isinstance(self._node, _Described) else self._node
        return isinstance(node, _Object)

    @property
    def name(self) -> str:
        """A name for the type (the class name, or a generic one for ``List[X]`` and the like)."""
        node = self._node.inner if isinstance(self._node, _Described) else self._node
        if isinstance(node, _Named):
            return node.def_name
        return "response"

    def check(self, value: Any, path: str = "$") -> Tuple[Any, List[Problem]]:
        """The converted value and the problems found (the value is meaningless when there are problems)."""
        problems: List[Problem] = []
        try:
            result = self._node.convert(value, path, problems)
        except RecursionError:
            return None, [(path, "the value is nested too deeply")]
        return (None if result is _INVALID else result), problems

    def validate(self, value: Any) -> Any:
        """The typed value for ``value``; `ValidationError` lists every problem otherwise."""
        result, problems = self.check(value)
        if problems:
            raise ValidationError(f"the value does not match {self.name}", problems)
        return result


def _finish(node: _Node) -> JsonSchema:
    out = _Emitter()
    root = node.emit(out)
    ref = root.get("$ref")
    if isinstance(ref, str) and len(root) == 1:
        name = ref.rsplit("/", 1)[-1]
        if out.refs.get(name) == 1:  # referred to only here: write it inline, as pydantic does
            root = out.defs.pop(name)
    if out.defs:
        return {"$defs": out.defs, **root}
    return root


def compile_type(annotation: Any, *, localns: Optional[Mapping[str, Any]] = None) -> TypeSchema:
    """Compile ``annotation`` into a `TypeSchema`; `SchemaError` if it has no JSON Schema form.

    ``localns`` resolves string annotations that name classes defined inside a function.
    """
    compiler = _Compiler(localns)
    return TypeSchema(annotation, compiler.node(annotation, _type_name(annotation)))


class Signature:
    """A function's parameters compiled: the arguments object's schema and its validator.

    ``description`` is the docstring's text before its sections; ``parameters`` the JSON
    Schema of the arguments object; `bind` checks a decoded arguments object and returns
    ``(args, kwargs)`` ready for the call.
    """

    def __init__(self, fn: Callable[..., Any], node: _Object, positional: List[str], description: str) -> None:
        self.fn = fn
        self._node = node
        self._positional = positional
        self.description = description

    @property
    def parameters(self) -> JsonSchema:
        """The JSON Schema of the arguments object."""
        return _finish(self._node)

    def check(self, arguments: Any) -> Tuple[Dict[str, Any], List[Problem]]:
        """The converted keyword values and every problem found in ``arguments``."""
        problems: List[Problem] = []
        try:
            result = self._node.convert(arguments, "$", problems)
        except RecursionError:
            return {}, [("$", "the arguments are nested too deeply")]
        return ({} if result is _INVALID else result), problems

    def bind(self, values: Dict[str, Any]) -> Tuple[List[Any], Dict[str, Any]]:
        """Split converted values into positional-only arguments and keyword arguments."""
        kwargs = dict(values)
        args = [kwargs.pop(name) for name in self._positional if name in kwargs]
        return args, kwargs


def compile_signature(fn: Callable[..., Any], *, localns: Optional[Mapping[str, Any]] = None) -> Signature:
    """Compile ``fn``'s parameters; `SchemaError` for ``*args``, ``**kwargs`` or unsupported hints."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{name}: no inspectable signature ({exc})") from None
    compiler = _Compiler(localns)
    hints = compiler.hints(fn, name)
    doc = parse_docstring(inspect.getdoc(fn) or "")
    node = _Object(fn, "parameters", getattr(fn, "__name__", "arguments"), None)
    positional: List[str] = []
    seen_optional_positional = False
    for param in sig.parameters.values():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise SchemaError(
                f"{name}: *{param.name} / **{param.name} cannot be described to a model; name each parameter"
            )
        if param.name not in hints:
            raise SchemaError(f"{name}: parameter {param.name!r} has no type annotation")
        required = param.default is inspect.Parameter.empty
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            # A missing positional-only argument cannot be skipped if a later one is given.
            if not required:
                seen_optional_positional = True
            elif seen_optional_positional:
                raise SchemaError(f"{name}: positional-only parameter {param.name!r} follows an optional one")
            positional.append(param.name)
        node.fields.append(
            _Field(
                param.name,
                compiler.node(hints[param.name], f"{name}({param.name})"),
                required,
                _MISSING if required else param.default,
                doc.params.get(param.name),
            )
        )
    return Signature(fn, node, positional, doc.summary)


# --------------------------------------------------------------------------- docstrings


@dataclasses.dataclass
class Docstring:
    """A docstring split into its summary text and per-parameter descriptions."""

    summary: str = ""
    params: Dict[str, str] = dataclasses.field(default_factory=dict)


_GOOGLE_PARAMS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments", "attributes"}
_GOOGLE_OTHER = {
    "returns",
    "return",
    "yields",
    "yield",
    "raises",
    "raise",
    "examples",
    "example",
    "notes",
    "note",
    "see also",
    "warnings",
    "warning",
    "references",
    "todo",
    "other parameters",
    "methods",
}
_NUMPY_PARAMS = {"parameters", "attributes", "other parameters", "keyword arguments"}
_REST_PARAM = re.compile(r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*?\s)?\*{0,2}(\w+)\s*:\s*(.*)$")
_REST_FIELD = re.compile(r"^:\w[^:]*:")
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_docstring(doc: str) -> Docstring:
    """Split a Google, NumPy or reST style docstring into summary and parameter descriptions."""
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    summary: List[str] = []
    params: Dict[str, str] = {}
    i = 0
    in_summary = True
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        header = stripped.rstrip(":").lower()
        underline = i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip() or "x") is not None
        if underline:  # NumPy: a header line over a line of dashes
            in_summary = False
            i += 2
            body, i = _block(lines, i, stop_at_numpy=True)
            if header in _NUMPY_PARAMS:
                _numpy_entries(body, params)
            continue
        if stripped.endswith(":") and (header in _GOOGLE_PARAMS or header in _GOOGLE_OTHER):
            in_summary = False
            i += 1
            body, i = _block(lines, i, base=_indent(line))
            if header in _GOOGLE_PARAMS:
                _google_entries(body, params)
            continue
        match = _REST_PARAM.match(stripped)
        if match or _REST_FIELD.match(stripped):
            in_summary = False
            text = [match.group(2)] if match else []
            i += 1
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > _indent(line):
                text.append(lines[i].strip())
                i += 1
            if match:
                params[match.group(1)] = " ".join(t for t in text if t)
            continue
        if in_summary:
            summary.append(line)
        i += 1
    return Docstring("\n".join(summary).strip(), {k: v.strip() for k, v in params.items() if v.strip()})


def _block(lines: List[str], i: int, *, base: int = 0, stop_at_numpy: bool = False) -> Tuple[List[str], int]:
    """The lines of one section: until a dedent to ``base`` (Google) or the next header."""
    body: List[str] = []
    while i < len(lines):
        line = lines[i]
        if stop_at_numpy:
            if i + 1 < len(lines) and line.strip() and re.fullmatch(r"-{3,}", lines[i + 1].strip() or "x"):
                break
        elif line.strip() and _indent(line) <= base:
            break
        body.append(line)
        i += 1
    return body, i


def _google_entries(body: List[str], params: Dict[str, str]) -> None:
    content = [line for line in body if line.strip()]
    if not content:
        return
    base = min(_indent(line) for line in content)
    current: Optional[str] = None
    for line in body:
        if not line.strip():
            continue
        match = _GOOGLE_ENTRY.match(line.strip()) if _indent(line) == base else None
        if match:
            current = match.group(1)
            params[current] = match.group(3)
        elif current is not None:
            params[current] = f"{params[current]} {line.strip()}".strip()


def _numpy_entries(body: List[str], params: Dict[str, str]) -> None:
    content = [line for line in body if line.strip()]
    if not content:
        return
    base = min(_indent(line) for line in content)
    current: List[str] = []
    for line in content:
        if _indent(line) == base:  # "name : type" or "x, y : int"
            head = line.split(":", 1)[0]
            current = [n.strip().lstrip("*") for n in head.split(",") if n.strip()]
            for name in current:
                params.setdefault(name, "")
        else:
            for name in current:
                params[name] = f"{params[name]} {line.strip()}".strip()
