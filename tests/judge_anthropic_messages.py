"""Strict validity check of Anthropic Messages wire dicts against the official SDK types.

Two checks, both must pass:

* pydantic validation through the SDK's own types (``MessageCreateParams*`` TypedDicts for
  requests, the ``anthropic.types.Message`` model for responses);
* a structural walk of the same type annotations that rejects every key the SDK types do
  not declare (pydantic silently ignores unknown TypedDict keys, and the SDK models allow
  extra fields), so that a codec cannot emit a misspelt or invented field unnoticed.

Keys that are real wire fields the SDK (anthropic 2.12) does not type are listed in
`UNTYPED_WIRE_FIELDS`, each with the reason it is accepted.
"""

from __future__ import annotations

import collections.abc
import datetime
import functools
import typing
from typing import Any, Dict, List, Tuple

import anthropic.types as at
import pydantic
import typing_extensions
from anthropic.types import message_create_params as mcp

UNTYPED_WIRE_FIELDS: Dict[Tuple[str, str], str] = {
    # Request sampling parameters: accepted by API version 2023-06-01 on models with
    # sampling controls; the 2.x SDK removed them from its types (version 2026-10-21
    # rejects them). The codec sends them only when the caller set them.
    ("request", "temperature"): "legacy sampling parameter (anthropic-version 2023-06-01)",
    ("request", "top_p"): "legacy sampling parameter (anthropic-version 2023-06-01)",
    ("request", "top_k"): "legacy sampling parameter (anthropic-version 2023-06-01)",
    # Response fields seen in recorded live responses but not in the 2.12 Message model.
    ("RefusalStopDetails", "recommended_model"): "live refusal responses carry it",
    ("Message", "context_management"): "returned with context-management (beta) requests",
}


class _Invalid(Exception):
    pass


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp)


@functools.cache
def _typed_dict_fields(td: Any) -> Tuple[Dict[str, Any], frozenset]:
    hints = typing_extensions.get_type_hints(td)
    return hints, frozenset(getattr(td, "__required_keys__", frozenset()))


@functools.cache
def _model_fields(model: Any) -> Tuple[Dict[str, Any], frozenset]:
    hints: Dict[str, Any] = {}
    required = set()
    for name, info in model.model_fields.items():
        key = info.alias or name
        hints[key] = info.annotation
        if info.is_required():
            required.add(key)
    return hints, frozenset(required)


def _check_object(value: Any, tp: Any, path: str, hints: Dict[str, Any], required: frozenset) -> None:
    if not isinstance(value, dict):
        raise _Invalid(f"{path}: expected an object for {_name(tp)}, got {type(value).__name__}")
    missing = sorted(k for k in required if k not in value)
    if missing:
        raise _Invalid(f"{path}: {_name(tp)} misses required key(s) {missing}")
    for key, item in value.items():
        if key not in hints:
            if (_name(tp), key) in UNTYPED_WIRE_FIELDS:
                continue
            raise _Invalid(f"{path}: key {key!r} is not a field of {_name(tp)}")
        _check(item, hints[key], f"{path}.{key}")


def _check(value: Any, tp: Any, path: str) -> None:
    if tp is Any or tp is object:
        return
    origin = typing_extensions.get_origin(tp)
    args = typing_extensions.get_args(tp)
    if origin is typing_extensions.Annotated or origin is typing.Annotated:
        _check(value, args[0], path)
        return
    if origin in (typing_extensions.Required, typing_extensions.NotRequired):
        _check(value, args[0], path)
        return
    if origin is typing.Union:
        errors: List[str] = []
        for option in args:
            try:
                _check(value, option, path)
                return
            except _Invalid as exc:
                errors.append(str(exc))
        # Report the branch whose discriminator matched, when there is one.
        best = [e for e in errors if "is not one of" not in e] or errors
        raise _Invalid(best[0] if len(best) == 1 else f"{path}: no union member matches: " + " | ".join(best[:6]))
    if origin is typing_extensions.Literal or origin is typing.Literal:
        if not any(value == a and type(value) is type(a) for a in args):
            raise _Invalid(f"{path}: {value!r} is not one of {list(args)}")
        return
    if tp is type(None):
        if value is not None:
            raise _Invalid(f"{path}: expected null")
        return
    if tp is str:
        if not isinstance(value, str):
            raise _Invalid(f"{path}: expected a string, got {type(value).__name__}")
        return
    if tp is bool:
        if not isinstance(value, bool):
            raise _Invalid(f"{path}: expected a boolean")
        return
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"{path}: expected an integer, got {value!r}")
        return
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Invalid(f"{path}: expected a number, got {value!r}")
        return
    if tp is datetime.datetime:
        if not isinstance(value, str):
            raise _Invalid(f"{path}: expected an ISO 8601 date-time string")
        return
    if origin in (dict, collections.abc.Mapping) or tp is dict:
        if not isinstance(value, dict):
            raise _Invalid(f"{path}: expected an object")
        if len(args) == 2:
            for k, v in value.items():
                _check(v, args[1], f"{path}.{k}")
        return
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence) or _name(origin) == "SequenceNotStr":
        if not isinstance(value, list):
            raise _Invalid(f"{path}: expected an array, got {type(value).__name__}")
        for i, item in enumerate(value):
            _check(item, args[0] if args else Any, f"{path}[{i}]")
        return
    if origin is None and _name(tp) == "SequenceNotStr":
        if not isinstance(value, list):
            raise _Invalid(f"{path}: expected an array")
        return
    if typing_extensions.is_typeddict(tp):
        hints, required = _typed_dict_fields(tp)
        _check_object(value, tp, path, hints, required)
        return
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        hints, required = _model_fields(tp)
        _check_object(value, tp, path, hints, required)
        return
    if origin is not None and _name(origin) in ("IO", "PathLike"):
        raise _Invalid(f"{path}: file inputs are not JSON")
    if isinstance(tp, type) and tp.__module__ in ("os", "io", "typing"):
        raise _Invalid(f"{path}: {_name(tp)} is not JSON")
    raise AssertionError(f"judge cannot check {path}: unsupported annotation {tp!r}")


def _request_type(d: Dict[str, Any]) -> Any:
    return mcp.MessageCreateParamsStreaming if d.get("stream") is True else mcp.MessageCreateParamsNonStreaming


@functools.cache
def _adapter(tp: Any) -> pydantic.TypeAdapter:  # type: ignore[type-arg]
    return pydantic.TypeAdapter(tp)


def validate_request(d: Dict[str, Any]) -> None:
    """Raise AssertionError unless ``d`` is a valid, fully typed Messages create body."""
    assert isinstance(d, dict), f"request must be an object, got {type(d).__name__}"
    body = {k: v for k, v in d.items() if ("request", k) not in UNTYPED_WIRE_FIELDS}
    for key in ("temperature", "top_p"):
        if key in d:
            value = d[key]
            assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{key}: not a number"
            assert 0 <= value <= 1, f"{key}: {value} outside 0..1"
    if "top_k" in d:
        assert isinstance(d["top_k"], int) and not isinstance(d["top_k"], bool) and d["top_k"] >= 0, "top_k"
    tp = _request_type(body)
    try:
        _adapter(tp).validate_python(body)
    except pydantic.ValidationError as exc:
        raise AssertionError(f"SDK rejects the request: {exc}") from None
    try:
        _check(body, tp, "request")
    except _Invalid as exc:
        raise AssertionError(str(exc)) from None


def validate_response(d: Dict[str, Any]) -> None:
    """Raise AssertionError unless ``d`` is a valid, fully typed ``anthropic.types.Message``."""
    assert isinstance(d, dict), f"response must be an object, got {type(d).__name__}"
    try:
        at.Message.model_validate(d)
    except pydantic.ValidationError as exc:
        raise AssertionError(f"SDK rejects the response: {exc}") from None
    try:
        _check(d, at.Message, "response")
    except _Invalid as exc:
        raise AssertionError(str(exc)) from None
