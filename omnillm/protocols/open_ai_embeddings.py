"""Codec for OpenAI embeddings (``POST /embeddings``), also served by vLLM, Infinity, Ollama and TEI.

Wire shape per openai-python (``EmbeddingCreateParams``, ``CreateEmbeddingResponse``).
Choices worth knowing:

* **input** is a string, an array of strings, an array of token ids or an array of
  token-id arrays. It decodes to a list of inputs plus the ``batch`` shape hint (True
  for the array forms), so a single string and a one-element array both survive a
  round trip. An empty array, an empty token array or a mix of kinds is a
  `DecodeError` (the API rejects them too).
* **encoding_format** is only written when the request sets it: openai-python asks for
  ``base64`` when the caller did not choose, which OpenAI-compatible servers without
  base64 support break on, so the server default (``float``) is the safer choice.
* **base64 vectors** are packed float32, little-endian. They decode to floats (float32
  values are exact in a Python float, so re-encoding gives the same string) and the
  response's ``encoding_format`` hint remembers the form. Writing floats from another
  source as base64 rounds them to float32 (L-EMBED-PRECISION when any value changes).
* **usage** is required by the SDK's response model; a response without usage is
  written with zero counts (L-EMBED-USAGE).
* A Gemini multi-part ``Content`` input (an `OpaquePart`) whose parts are all text is
  sent as the joined text (L-EMBED-INPUT-PARTS); any other part kind is an `EncodeError`.
* **validation** (both directions, so that whatever decodes also encodes): text inputs
  and token arrays must not be empty (OpenAI refuses an empty string), token ids are
  non-negative integers, ``dimensions`` is a positive integer. On the canonical side a
  bare string in ``inputs`` is one input, and every field is type-checked; errors name
  the canonical path (``inputs[2]``).
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple

from ..api import ApiUsage, Embedding, EmbeddingInput, EmbeddingRequest, EmbeddingResponse
from ..errors import EncodeError, OmniLLMError
from ..model import OpaquePart
from ..report import LossLog
from ._common import Obj, Reader, describe, index, join, with_extension
from ._endpoints import Check, input_list, own, read_model, require_model, restore, unknown

PROTOCOL = "open_ai_embeddings"

_R = Reader(PROTOCOL)
_C = Check(PROTOCOL)

_REQUEST_KEYS = frozenset({"model", "input", "dimensions", "encoding_format", "user"})
# ``object`` is kept only when it is not the usual constant (older Infinity says "embedding").
_RESPONSE_KEYS = frozenset({"data", "model", "usage", "object"})
_EMBEDDING_KEYS = frozenset({"index", "embedding", "object"})
_USAGE_KEYS = frozenset({"prompt_tokens", "total_tokens"})
_ENCODINGS = ("float", "base64")

_FLOAT32 = struct.Struct("<f")


# =========================================================================== requests


def _token_array(value: Sequence[Any], path: str, fail: Callable[[str, str], OmniLLMError]) -> List[int]:
    if not value:
        raise fail(path, "a token array must not be empty")
    for i, token in enumerate(value):
        if isinstance(token, bool) or not isinstance(token, int):
            raise fail(index(path, i), f"expected a token id (an integer), got {describe(token)}")
        if token < 0:
            raise fail(index(path, i), f"a token id is never negative, got {token}")
    return list(value)


def _decode_text(value: str, path: str) -> str:
    if not value:
        raise _R.fail(path, "must not be empty (the API refuses empty text)")
    return value


def _decode_input(value: Any) -> Tuple[List[EmbeddingInput], bool]:
    if isinstance(value, str):
        return [_decode_text(value, "input")], False
    if not isinstance(value, list):
        raise _R.fail("input", f"expected a string or an array, got {describe(value)}")
    if not value:
        raise _R.fail("input", "must not be empty")
    first = value[0]
    if isinstance(first, int) and not isinstance(first, bool):
        return [_token_array(value, "input", _R.fail)], False
    inputs: List[EmbeddingInput] = []
    for i, item in enumerate(value):
        where = index("input", i)
        if isinstance(first, str):
            if not isinstance(item, str):
                raise _R.fail(where, f"expected a string like input[0], got {describe(item)}")
            inputs.append(_decode_text(item, where))
        elif isinstance(first, list):
            if not isinstance(item, list):
                raise _R.fail(where, f"expected a token array like input[0], got {describe(item)}")
            inputs.append(_token_array(item, where, _R.fail))
        else:
            raise _R.fail(where, f"expected a string, a token id or a token array, got {describe(item)}")
    return inputs, True


def decode_request(raw: Dict[str, Any]) -> EmbeddingRequest:
    """An embeddings request body as an `EmbeddingRequest`."""
    r = _R.obj(raw, "")
    model = read_model(_R, r)
    inputs, batch = _decode_input(_R.req(r, "input", ""))
    encoding = _R.opt_str(r, "encoding_format", "")
    if encoding is not None and encoding not in _ENCODINGS:
        raise _R.fail("encoding_format", f"expected 'float' or 'base64', got {encoding!r}")
    dimensions = _R.opt_int(r, "dimensions", "")
    if dimensions is not None and dimensions < 1:
        raise _R.fail("dimensions", f"must be at least 1, got {dimensions}")
    return EmbeddingRequest(
        model=model,
        inputs=inputs,
        dimensions=dimensions,
        encoding_format=encoding,
        user=_R.opt_str(r, "user", ""),
        batch=batch,
        extensions=with_extension(PROTOCOL, unknown(r, _REQUEST_KEYS)),
    )


def _opaque_text(item: OpaquePart, path: str, losses: LossLog) -> str:
    parts = item.data.get("parts")
    texts: List[str] = []
    if isinstance(parts, list):
        for part in parts:
            text = part.get("text") if isinstance(part, dict) else None
            if not isinstance(text, str) or len(part) != 1:
                texts = []
                break
            texts.append(text)
    if not texts:
        raise EncodeError(PROTOCOL, path, f"a {item.source} input with non-text parts cannot be embedded as text")
    if len(texts) > 1:
        losses.add("L-EMBED-INPUT-PARTS", path, f"{len(texts)} text parts of one {item.source} input joined into one")
    joined = "".join(texts)
    if not joined:
        raise EncodeError(PROTOCOL, path, f"the {item.source} input's text is empty")
    return joined


def _encode_input(request: EmbeddingRequest, losses: LossLog) -> Any:
    items: List[Any] = []
    for i, item in enumerate(input_list(request.inputs, _C, "inputs")):
        where = index("inputs", i)
        if isinstance(item, str):
            items.append(_C.req_text(item, where))
        elif isinstance(item, (list, tuple)):
            items.append(_token_array(item, where, _C.fail))
        elif isinstance(item, OpaquePart):
            items.append(_opaque_text(item, where, losses))
        elif isinstance(item, int) and not isinstance(item, bool):
            raise EncodeError(PROTOCOL, where, "a token id on its own is not an input; one token array is [[1, 2, 3]]")
        else:
            raise EncodeError(PROTOCOL, where, f"expected text or a token array, got {describe(item)}")
    kinds = {isinstance(item, str) for item in items}
    if len(kinds) > 1:
        raise EncodeError(PROTOCOL, "inputs", "one request cannot mix text and token arrays")
    if len(items) == 1 and not request.batch:
        return items[0]
    return items


def encode_request(request: EmbeddingRequest, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """An `EmbeddingRequest` as an embeddings request body."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    _C.extensions(request.extensions)
    _C.opt_bool(request.batch, "batch")
    out: Obj = {"model": require_model(request.model, PROTOCOL), "input": _encode_input(request, losses)}
    if _C.opt_int(request.dimensions, "dimensions", 1) is not None:
        out["dimensions"] = request.dimensions
    if _C.opt_choice(request.encoding_format, "encoding_format", _ENCODINGS) is not None:
        out["encoding_format"] = request.encoding_format
    if _C.opt_text(request.user, "user") is not None:
        out["user"] = request.user
    _C.opt_text(request.task_type, "task_type")
    _C.opt_text(request.title, "title")
    if request.task_type is not None:
        losses.add("L-EMBED-TASK-TYPE", "task_type", f"task type {request.task_type!r} has no equivalent in {PROTOCOL}")
    if request.title is not None:
        losses.add("L-EMBED-TITLE", "title", f"document title has no equivalent in {PROTOCOL}")
    restore(out, request.extensions, PROTOCOL, losses, "")
    return out


# =========================================================================== responses


def _unpack(text: str, path: str) -> List[float]:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _R.fail(path, "not valid base64") from None
    if len(data) % 4:
        raise _R.fail(path, f"base64 data is {len(data)} bytes, not a whole number of float32 values")
    return [v for (v,) in _FLOAT32.iter_unpack(data)]


def _floats(value: List[Any], path: str) -> List[float]:
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _R.fail(index(path, i), f"expected a number, got {describe(v)}")
    return value


def decode_response(raw: Dict[str, Any]) -> EmbeddingResponse:
    """An embeddings response body (float or base64 vectors) as an `EmbeddingResponse`."""
    r = _R.obj(raw, "")
    embeddings: List[Embedding] = []
    forms = set()
    for i, item in enumerate(_R.req_arr(r, "data", "")):
        where = index("data", i)
        d = _R.obj(item, where)
        value = _R.req(d, "embedding", where)
        vpath = join(where, "embedding")
        if isinstance(value, str):
            vector = _unpack(value, vpath)
            forms.add("base64")
        elif isinstance(value, list):
            vector = _floats(value, vpath)
            forms.add("float")
        else:
            raise _R.fail(vpath, f"expected an array of numbers or a base64 string, got {describe(value)}")
        if len(forms) > 1:
            raise _R.fail(vpath, "mixes base64 and float embeddings in one response")
        embeddings.append(
            Embedding(
                index=_R.req_int(d, "index", where),
                vector=vector,
                extensions=with_extension(PROTOCOL, _unusual_object(d, _EMBEDDING_KEYS, "embedding", where)),
            )
        )
    usage: Optional[ApiUsage] = None
    u = _R.opt_obj(r, "usage", "")
    if u is not None:
        usage = ApiUsage(
            input_tokens=_R.opt_int(u, "prompt_tokens", "usage"),
            total_tokens=_R.opt_int(u, "total_tokens", "usage"),
            extensions=with_extension(PROTOCOL, unknown(u, _USAGE_KEYS)),
        )
    return EmbeddingResponse(
        model=_R.opt_str(r, "model", "") or "",
        embeddings=embeddings,
        usage=usage,
        encoding_format="base64" if forms == {"base64"} else None,
        extensions=with_extension(PROTOCOL, _unusual_object(r, _RESPONSE_KEYS, "list", "")),
    )


def _unusual_object(d: Obj, known: FrozenSet[str], usual: str, path: str) -> Obj:
    fields = unknown(d, known)
    kind = _R.opt_str(d, "object", path)
    if kind is not None and kind != usual:
        fields["object"] = kind
    return fields


def _pack(vector: List[float], path: str, losses: LossLog) -> str:
    out = bytearray()
    rounded = False
    for i, v in enumerate(vector):
        try:
            packed = _FLOAT32.pack(v)
        except (OverflowError, struct.error):
            raise EncodeError(PROTOCOL, index(path, i), f"{v!r} does not fit a float32") from None
        if not rounded and _FLOAT32.unpack(packed)[0] != v and not math.isnan(v):
            rounded = True
        out += packed
    if rounded:
        losses.add("L-EMBED-PRECISION", path, "values rounded to float32 for the base64 form")
    return base64.b64encode(bytes(out)).decode("ascii")


def _encode_usage(usage: Optional[ApiUsage], losses: LossLog) -> Obj:
    if usage is None or usage.input_tokens is None:
        losses.add("L-EMBED-USAGE", "usage", f"no token counts were given; wrote 0 because {PROTOCOL} requires them")
    if usage is None:
        return {"prompt_tokens": 0, "total_tokens": 0}
    prompt = usage.input_tokens or 0
    out: Obj = {
        "prompt_tokens": prompt,
        "total_tokens": usage.total_tokens if usage.total_tokens is not None else prompt,
    }
    restore(out, usage.extensions, PROTOCOL, losses, "usage")
    return out


def encode_response(response: EmbeddingResponse, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """An `EmbeddingResponse` as an embeddings response body (base64 when the hint says so)."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    top = own(response.extensions, PROTOCOL)
    data: List[Obj] = []
    for i, e in enumerate(response.embeddings):
        where = index("embeddings", i)
        vector: Any = _pack(e.vector, where, losses) if response.encoding_format == "base64" else list(e.vector)
        item: Obj = {"object": own(e.extensions, PROTOCOL).get("object", "embedding"), "index": e.index}
        item["embedding"] = vector
        restore(item, e.extensions, PROTOCOL, losses, where)
        data.append(item)
    out: Obj = {"object": top.get("object", "list"), "data": data, "model": response.model}
    out["usage"] = _encode_usage(response.usage, losses)
    restore(out, response.extensions, PROTOCOL, losses, "")
    return out
