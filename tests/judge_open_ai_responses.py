"""Strict validity judge for OpenAI Responses bodies, by the official openai SDK types.

Two checks, both must pass:

1. pydantic validation with the SDK's own types (``ResponseCreateParams*`` TypedDicts via a
   ``TypeAdapter`` for requests, the ``Response`` model for responses);
2. a structural walk over the same annotations that rejects every key the SDK types do not
   declare (pydantic ignores extra keys on TypedDicts and the openai models allow them), checks
   required keys and literal values, and looks inside ``Iterable`` fields, which pydantic
   validates only lazily.

Keys accepted although the SDK has not typed them (real wire fields seen in recorded
responses): on `Response`, ``store`` (echoed by every OpenAI response), ``billing`` (OpenAI),
``content_filters`` (Azure OpenAI), ``frequency_penalty`` and ``presence_penalty`` (echoed by
OpenAI since 2026).
"""

from __future__ import annotations

import collections.abc
import typing
from typing import Any, Dict, FrozenSet, List, Optional

import pydantic
from openai.types.responses import Response
from openai.types.responses.response_create_params import (
    ResponseCreateParamsNonStreaming,
    ResponseCreateParamsStreaming,
)
from typing_extensions import NotRequired, Required, get_args, get_origin, get_type_hints, is_typeddict

UNTYPED_FIELDS: Dict[Any, FrozenSet[str]] = {
    Response: frozenset({"store", "billing", "content_filters", "frequency_penalty", "presence_penalty"}),
}

_NON_STREAMING = pydantic.TypeAdapter(ResponseCreateParamsNonStreaming)
_STREAMING = pydantic.TypeAdapter(ResponseCreateParamsStreaming)
_SEQUENCES = (list, collections.abc.Iterable, collections.abc.Sequence, typing.List, typing.Iterable, typing.Sequence)
_HINTS: Dict[Any, Dict[str, Any]] = {}


def _strip(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin in (Required, NotRequired, typing.Annotated):
            tp = get_args(tp)[0]
        else:
            return tp


def _fields(tp: Any) -> Dict[str, Any]:
    """Wire key -> annotation, and the set of required keys, for a TypedDict or model."""
    cached = _HINTS.get(tp)
    if cached is not None:
        return cached
    if is_typeddict(tp):
        hints = get_type_hints(tp, include_extras=True)
        # The SDK modules use postponed annotations, so __required_keys__ misses Required[...].
        required = set(getattr(tp, "__required_keys__", ())) if tp.__total__ else set()
        required |= {k for k, h in hints.items() if get_origin(h) is Required}
        required -= {k for k, h in hints.items() if get_origin(h) is NotRequired}
        info = {"hints": hints, "required": required}
    else:
        hints = {}
        required = set()
        for name, f in tp.model_fields.items():
            key = f.alias or name
            hints[key] = f.annotation
            if f.is_required():
                required.add(key)
        info = {"hints": hints, "required": required}
    _HINTS[tp] = info
    return info


def _check(value: Any, tp: Any, path: str) -> Optional[str]:
    """None when ``value`` fits ``tp`` with no undeclared keys, else the problem."""
    tp = _strip(tp)
    if tp is Any or tp is object:
        return None
    if tp is type(None):
        return None if value is None else f"{path}: expected null"
    origin = get_origin(tp)
    if origin is typing.Union:
        errors = []
        for member in get_args(tp):
            problem = _check(value, member, path)
            if problem is None:
                return None
            errors.append(problem)
        # The member that got deepest before failing is the one the value was meant to be.
        # (a literal mismatch only says the member was the wrong one).
        return max(errors, key=lambda e: (" not in " not in e, len(e.partition(": ")[0])))
    if origin is typing.Literal:
        return None if value in get_args(tp) else f"{path}: {value!r} not in {get_args(tp)}"
    if is_typeddict(tp) or (isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)):
        if not isinstance(value, dict):
            return f"{path}: expected an object for {tp.__name__}"
        info = _fields(tp)
        hints, required = info["hints"], info["required"]
        allowed = UNTYPED_FIELDS.get(tp, frozenset())
        if "type" in hints and "type" in value:
            # The discriminator first, so that a union reports the member the value meant.
            problem = _check(value["type"], hints["type"], f"{path}.type")
            if problem:
                return problem
        for key in required:
            if key not in value:
                return f"{path}: {tp.__name__} requires {key!r}"
        for key, v in value.items():
            if key not in hints:
                if key in allowed:
                    continue
                return f"{path}: {tp.__name__} has no key {key!r}"
            problem = _check(v, hints[key], f"{path}.{key}" if path else key)
            if problem:
                return problem
        return None
    if origin in (dict, collections.abc.Mapping, typing.Dict) or tp is dict:
        if not isinstance(value, dict):
            return f"{path}: expected an object"
        args = get_args(tp)
        for k, v in value.items():
            if args:
                problem = _check(v, args[1], f"{path}.{k}")
                if problem:
                    return problem
        return None
    if origin in _SEQUENCES or tp is list or getattr(tp, "__name__", "") == "SequenceNotStr":
        if not isinstance(value, list):
            return f"{path}: expected an array"
        args = get_args(tp)
        for i, item in enumerate(value):
            if args:
                problem = _check(item, args[0], f"{path}[{i}]")
                if problem:
                    return problem
        return None
    if tp is bool:
        return None if isinstance(value, bool) else f"{path}: expected a boolean"
    if tp is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else f"{path}: expected an integer"
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"{path}: expected a number"
    if tp is str:
        return None if isinstance(value, str) else f"{path}: expected a string"
    raise AssertionError(f"judge cannot walk type {tp!r} at {path}")


def request_problems(d: Dict[str, Any]) -> List[str]:
    """Every reason the SDK types reject the request body ``d`` (empty when valid)."""
    problems: List[str] = []
    streaming = d.get("stream") is True
    adapter, tp = (
        (_STREAMING, ResponseCreateParamsStreaming) if streaming else (_NON_STREAMING, ResponseCreateParamsNonStreaming)
    )
    try:
        adapter.validate_python(d)
    except pydantic.ValidationError as exc:
        problems.append(f"pydantic: {exc.errors()[:3]}")
    if "model" not in d:
        problems.append("model is required")
    problem = _check(d, tp, "")
    if problem:
        problems.append(problem)
    return problems


def response_problems(d: Dict[str, Any]) -> List[str]:
    """Every reason the SDK `Response` model rejects the response body ``d``."""
    problems: List[str] = []
    try:
        Response.model_validate(d)
    except pydantic.ValidationError as exc:
        problems.extend(f"pydantic: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
    problem = _check(d, Response, "")
    if problem:
        problems.append(problem)
    return problems


def validate_request(d: Dict[str, Any]) -> None:
    """Raise AssertionError unless ``d`` is a valid Responses request body."""
    problems = request_problems(d)
    assert not problems, problems


def validate_response(d: Dict[str, Any]) -> None:
    """Raise AssertionError unless ``d`` is a valid Responses response body."""
    problems = response_problems(d)
    assert not problems, problems
