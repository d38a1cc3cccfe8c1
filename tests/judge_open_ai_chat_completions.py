"""Strict validity judge for OpenAI Chat Completions bodies, by the official openai SDK types.

Two checks, both must pass:

1. pydantic validation with the SDK's own types (``CompletionCreateParams*`` TypedDicts via a
   ``TypeAdapter`` for requests, the ``ChatCompletion`` model for responses);
2. a structural walk over the same type annotations that rejects every key the SDK types do
   not declare (pydantic ignores extra keys on TypedDicts and openai models allow them), checks
   required keys and literal values, and looks inside ``Iterable`` fields, which pydantic
   validates only lazily.

Keys accepted although the SDK has not typed them (real wire fields of compatible servers):
``reasoning_content`` and ``reasoning`` on assistant messages, in requests (history replay for
DeepSeek/vLLM) and in responses (DeepSeek returns ``reasoning_content``; vLLM, Ollama and
OpenRouter return ``reasoning``).
"""

from __future__ import annotations

import collections.abc
import typing
from typing import Any, Dict, FrozenSet, List, Optional

import pydantic
from openai.types.chat import ChatCompletion, ChatCompletionAssistantMessageParam, ChatCompletionMessage
from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)
from typing_extensions import NotRequired, Required, get_args, get_origin, get_type_hints, is_typeddict

# Real wire fields the SDK types do not declare, per type.
UNTYPED_FIELDS: Dict[type, FrozenSet[str]] = {
    ChatCompletionAssistantMessageParam: frozenset({"reasoning_content", "reasoning"}),  # type: ignore[dict-item]
    ChatCompletionMessage: frozenset({"reasoning_content", "reasoning"}),
}

_NON_STREAMING = pydantic.TypeAdapter(CompletionCreateParamsNonStreaming)
_STREAMING = pydantic.TypeAdapter(CompletionCreateParamsStreaming)

_SEQUENCES = (list, collections.abc.Iterable, collections.abc.Sequence, typing.List, typing.Iterable, typing.Sequence)


def _strip(tp: Any) -> Any:
    """Drop Required/NotRequired/Annotated wrappers."""
    while True:
        origin = get_origin(tp)
        if origin in (Required, NotRequired, typing.Annotated):
            tp = get_args(tp)[0]
        else:
            return tp


def _hints(tp: Any) -> Dict[str, Any]:
    return get_type_hints(tp, include_extras=True)


def _check(value: Any, tp: Any, path: str) -> Optional[str]:
    """None when ``value`` fits ``tp`` with no undeclared keys, else a description of the problem."""
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
        return min(errors, key=len) if len(errors) == 1 else f"{path}: no union member fits: " + " | ".join(errors)
    if origin is typing.Literal:
        return None if value in get_args(tp) else f"{path}: {value!r} not in {get_args(tp)}"
    if is_typeddict(tp):
        hints = _hints(tp)
        # The SDK modules use postponed annotations, so __required_keys__ misses Required[...].
        required = set(getattr(tp, "__required_keys__", ()))
        required |= {k for k, h in hints.items() if get_origin(h) is Required}
        return _check_fields(value, tp, hints, required, path)
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        fields = tp.model_fields
        hints = {name: f.annotation for name, f in fields.items()}
        required = {name for name, f in fields.items() if f.is_required()}
        return _check_fields(value, tp, hints, required, path)
    if origin in (dict, collections.abc.Mapping, typing.Dict) or tp is dict:
        if not isinstance(value, dict):
            return f"{path}: expected an object"
        args = get_args(tp)
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{path}: non-string key"
            if args:
                problem = _check(v, args[1], f"{path}.{k}")
                if problem:
                    return problem
        return None
    if origin in _SEQUENCES or tp in (list,):
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


def _check_fields(value: Any, tp: Any, hints: Dict[str, Any], required: set, path: str) -> Optional[str]:
    if not isinstance(value, dict):
        return f"{path}: expected an object for {tp.__name__}"
    extra = set(value) - set(hints) - UNTYPED_FIELDS.get(tp, frozenset())
    if extra:
        return f"{path}: keys {sorted(extra)} unknown to {tp.__name__}"
    missing = required - set(value)
    if missing:
        return f"{path}: required keys {sorted(missing)} missing for {tp.__name__}"
    for key, v in value.items():
        if key in hints:
            problem = _check(v, hints[key], f"{path}.{key}" if path else key)
            if problem:
                return problem
    return None


def validate_request(d: dict) -> None:
    """Raise AssertionError unless ``d`` is a valid Chat Completions request body."""
    assert isinstance(d, dict), f"expected a dict, got {type(d).__name__}"
    streaming = d.get("stream") is True
    adapter, tp = (
        (_STREAMING, CompletionCreateParamsStreaming)
        if streaming
        else (_NON_STREAMING, CompletionCreateParamsNonStreaming)
    )
    try:
        adapter.validate_python(d)
    except pydantic.ValidationError as exc:
        raise AssertionError(f"openai SDK rejects the request: {exc}") from None
    problem = _check(d, tp, "")
    assert problem is None, f"invalid Chat Completions request: {problem}"


def validate_response(d: dict) -> None:
    """Raise AssertionError unless ``d`` is a valid Chat Completions response body."""
    assert isinstance(d, dict), f"expected a dict, got {type(d).__name__}"
    try:
        ChatCompletion.model_validate(d)
    except pydantic.ValidationError as exc:
        raise AssertionError(f"openai SDK rejects the response: {exc}") from None
    problem = _check(d, ChatCompletion, "")
    assert problem is None, f"invalid Chat Completions response: {problem}"


__all__: List[str] = ["UNTYPED_FIELDS", "validate_request", "validate_response"]
