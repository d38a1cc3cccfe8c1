"""Judge: is a dict a valid Gemini GenerateContent request/response for google-genai 3.4?

Every piece is validated with the SDK's pydantic models (``model_validate_json``, so
base64 ``bytes`` fields such as ``thoughtSignature`` and ``inlineData.data`` are checked
too; the models have ``extra='forbid'``). Because the models also accept snake_case names
(``populate_by_name``), a walker additionally requires every key to be the camelCase wire
alias of a typed field, recursing through nested models.

Keys accepted beyond the SDK types, with the reason:

* request ``model``: omnillm's convenience key for the model (the REST
  ``GenerateContentRequest`` has a ``model`` field, bound to the URL path); the transport
  moves it into the URL.
* ``citationMetadata.citationSources``: the Gemini API's name for ``citations`` (the SDK's
  ``_CitationMetadata_from_mldev`` and ``CitationMetadata._rename_citation_sources`` rename it).
* ``$ref``/``$defs``/any key inside ``parametersJsonSchema``, ``responseJsonSchema``,
  ``functionCall.args``, ``functionResponse.response``: free-form JSON (typed ``Any``).
"""

from __future__ import annotations

import json
import typing
import warnings
from typing import Any, Dict, List, Optional

import pydantic
from google.genai import types

# Top-level request keys: the fields `_GenerateContentParameters_to_mldev/_vertex` write.
_REQUEST_PIECES: Dict[str, Any] = {
    "contents": List[types.Content],
    "systemInstruction": types.Content,
    "tools": List[types.Tool],
    "toolConfig": types.ToolConfig,
    "safetySettings": List[types.SafetySetting],
    "generationConfig": types.GenerationConfig,
    "cachedContent": str,
    "labels": Dict[str, str],
    "serviceTier": str,
    "store": bool,
    "continuationToken": str,
    "model": str,
}

# Wire names the SDK renames before validation: (model, wire key) -> SDK alias.
_WIRE_RENAMES = {("CitationMetadata", "citationSources"): "citations"}

# Fields of GenerateContentResponse that the SDK fills in itself; never on the wire.
_SDK_ONLY = {"sdkHttpResponse", "automaticFunctionCallingHistory", "parsed"}


def _aliases(model: Any) -> Dict[str, Any]:
    return {(info.alias or name): info.annotation for name, info in model.model_fields.items()}


def _walk(value: Any, annotation: Any, path: str) -> None:
    """Require camelCase wire names of typed fields all the way down."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            _walk(value, arg, path)
        return
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(annotation) or (Any,)
        for i, v in enumerate(value):
            _walk(v, item, f"{path}[{i}]")
        return
    if origin is dict and isinstance(value, dict):
        args = typing.get_args(annotation)
        item = args[1] if len(args) == 2 else Any
        for k, v in value.items():
            _walk(v, item, f"{path}.{k}")
        return
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel) and isinstance(value, dict):
        fields = _aliases(annotation)
        for k, v in value.items():
            k = _WIRE_RENAMES.get((annotation.__name__, k), k)
            assert k in fields, f"{path}: key {k!r} is not a wire field of {annotation.__name__}"
            _walk(v, fields[k], f"{path}.{k}")


def _validate(value: Any, annotation: Any, path: str) -> None:
    _walk(value, annotation, path)
    # The SDK only warns about unknown enum values (it keeps them for forward compatibility);
    # a judge treats them as errors.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            pydantic.TypeAdapter(annotation).validate_json(json.dumps(value))
        except pydantic.ValidationError as exc:
            raise AssertionError(f"{path}: rejected by google-genai: {exc}") from None
        except UserWarning as exc:
            raise AssertionError(f"{path}: google-genai warns: {exc}") from None


def validate_request(d: dict) -> None:
    """Raise AssertionError unless ``d`` is a valid GenerateContentRequest body."""
    assert isinstance(d, dict), f"request must be an object, got {type(d).__name__}"
    assert "contents" in d, "request needs contents"
    for key, value in d.items():
        assert key in _REQUEST_PIECES, f"unknown top-level request key {key!r}"
        _validate(value, _REQUEST_PIECES[key], key)
    for i, content in enumerate(d["contents"]):
        assert content.get("role", "user") in ("user", "model"), f"contents[{i}].role must be user or model"
        for j, part in enumerate(content.get("parts") or []):
            assert part, f"contents[{i}].parts[{j}] is empty"
    for i, tool in enumerate(d.get("tools") or []):
        for j, decl in enumerate(tool.get("functionDeclarations") or []):
            both = "parameters" in decl and "parametersJsonSchema" in decl
            assert not both, f"tools[{i}].functionDeclarations[{j}] has both parameters and parametersJsonSchema"


def validate_response(d: dict) -> None:
    """Raise AssertionError unless ``d`` is a valid GenerateContentResponse body."""
    assert isinstance(d, dict), f"response must be an object, got {type(d).__name__}"
    for key in d:
        assert key not in _SDK_ONLY, f"{key!r} is an SDK-side field, not a wire field"
    _validate(d, types.GenerateContentResponse, "response")
    for i, cand in enumerate(d.get("candidates") or []):
        content: Optional[dict] = cand.get("content")
        if content is not None:
            assert content.get("role", "model") == "model", f"candidates[{i}].content.role must be model"
