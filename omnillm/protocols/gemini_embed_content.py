"""Codec for Gemini embeddings: ``models/{model}:embedContent`` and ``:batchEmbedContents``.

Wire shape per google-genai 3.x (``EmbedContentConfig``, ``EmbedContentResponse`` and the
Gemini API converters in ``models.py``). Choices worth knowing:

* **two body forms**: a single ``EmbedContentRequest`` (``content``, ``taskType``,
  ``title``, ``outputDimensionality``, optional ``model``) and a batch (``requests``: an
  array of those, each naming the model). The canonical ``batch`` hint remembers which;
  with no hint the encoder writes a batch when there is more than one input. google-genai
  always sends the batch form.
* **model**: the canonical model drops the ``models/`` prefix; the encoder adds it back
  unless the name already has a collection (``tunedModels/x``). A batch whose items name
  no model decodes with ``model == ""`` (the URL names it).
* **one configuration per batch**: ``taskType``, ``title``, ``outputDimensionality``,
  ``model`` and any unknown item field must be the same in every item (google-genai
  writes them that way); a batch that varies them is a `DecodeError`.
* **contents**: a content holding exactly one text part decodes to that text; the
  ``role`` google-genai adds (``"user"``) is a shape hint. Any other content (several
  parts, inline data, other keys) is kept verbatim as an `OpaquePart`.
* **inputs Gemini cannot take**: token arrays are an `EncodeError`; ``encoding_format``
  ``base64`` (Gemini returns floats only: L-EMBED-ENCODING) and ``user``
  (L-EMBED-USER) are reported when dropped.
* **validation** (both directions, so that whatever decodes also encodes): a text
  content must not be empty and ``outputDimensionality`` is a positive integer. On the
  canonical side a bare string in ``inputs`` is one input and every field is
  type-checked (``encoding_format`` too, though Gemini has no such field).
* **responses** carry no model (L-RESPONSE-MODEL when one is dropped) and are positional:
  embedding ``i`` answers input ``i``. Usage, when present, is ``usageMetadata``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ..api import ApiUsage, Embedding, EmbeddingInput, EmbeddingRequest, EmbeddingResponse
from ..errors import EncodeError
from ..model import OpaquePart
from ..report import LossLog
from ._common import Obj, Reader, describe, index, join, with_extension
from ._endpoints import HINT, Check, input_list, own, restore, unknown

PROTOCOL = "gemini_embed_content"

_R = Reader(PROTOCOL)
_C = Check(PROTOCOL)

_CONFIG_KEYS = frozenset({"taskType", "title", "outputDimensionality"})
_SINGLE_KEYS = frozenset({"model", "content"}) | _CONFIG_KEYS
_BATCH_KEYS = frozenset({"requests"})
_RESPONSE_KEYS = frozenset({"embedding", "embeddings", "usageMetadata"})
_EMBEDDING_KEYS = frozenset({"values"})
_USAGE_KEYS = frozenset({"promptTokenCount", "totalTokenCount"})

# Extension keys that are shape hints rather than wire fields (see `_endpoints.restore`).
_CONTENT_HINT = HINT + "content"
_ITEM_FIELDS = "requests[]"

_MODEL_PREFIX = "models/"
_ENCODINGS = ("float", "base64")


def _bare_model(name: str) -> str:
    return name[len(_MODEL_PREFIX) :] if name.startswith(_MODEL_PREFIX) else name


def _resource_model(model: str) -> str:
    """The ``models/...`` resource name for a canonical model name."""
    return model if "/" in model else _MODEL_PREFIX + model


# =========================================================================== requests


def _content_shape(content: Obj) -> Optional[Tuple[str, Obj]]:
    """(text, the content's other keys) when ``content`` is one text part; else None."""
    parts = content.get("parts")
    if not isinstance(parts, list) or len(parts) != 1:
        return None
    part = parts[0]
    if not isinstance(part, dict) or set(part) != {"text"} or not isinstance(part["text"], str):
        return None
    rest = {k: v for k, v in content.items() if k != "parts"}
    if set(rest) - {"role"}:
        return None
    return part["text"], rest


class _Inputs:
    """Collects decoded contents; a text content's other keys must match the first one's."""

    def __init__(self) -> None:
        self.inputs: List[EmbeddingInput] = []
        self.hint: Optional[Obj] = None

    def add(self, raw: Any, path: str) -> None:
        content = _R.obj(raw, path)
        parts = _R.req_arr(content, "parts", path)
        for i, part in enumerate(parts):
            _R.obj(part, index(join(path, "parts"), i))
        _R.opt_str(content, "role", path)
        shape = _content_shape(content)
        if shape is not None and not shape[0]:
            raise _R.fail(join(path, "parts[0].text"), "must not be empty (the API refuses empty text)")
        if shape is not None and (self.hint is None or shape[1] == self.hint):
            if self.hint is None:
                self.hint = shape[1]
            self.inputs.append(shape[0])
        else:
            self.inputs.append(OpaquePart(PROTOCOL, content))


def _config(d: Obj, path: str) -> Tuple[Optional[str], Optional[str], Optional[int]]:
    dimensions = _R.opt_int(d, "outputDimensionality", path)
    if dimensions is not None and dimensions < 1:
        raise _R.fail(join(path, "outputDimensionality"), f"must be at least 1, got {dimensions}")
    return (_R.opt_str(d, "taskType", path), _R.opt_str(d, "title", path), dimensions)


def decode_request(raw: Dict[str, Any]) -> EmbeddingRequest:
    """An embedContent or batchEmbedContents body as an `EmbeddingRequest`."""
    r = _R.obj(raw, "")
    collected = _Inputs()
    if "requests" in r:
        items = _R.req_arr(r, "requests", "")
        if not items:
            raise _R.fail("requests", "must not be empty")
        first: Optional[Tuple[Any, ...]] = None
        for i, item in enumerate(items):
            where = index("requests", i)
            d = _R.obj(item, where)
            model = _R.opt_str(d, "model", where)
            collected.add(_R.req(d, "content", where), join(where, "content"))
            config = (*_config(d, where), model, unknown(d, _SINGLE_KEYS))
            if first is None:
                first = config
            elif config != first:
                names = ("taskType", "title", "outputDimensionality", "model", "other fields")
                which = next(n for n, a, b in zip(names, config, first) if a != b)
                raise _R.fail(where, f"{which} differs from requests[0]; omnillm needs one configuration per batch")
        assert first is not None
        task_type, title, dimensions, model, item_fields = first
        top = unknown(r, _BATCH_KEYS)
        if item_fields:
            top[_ITEM_FIELDS] = item_fields
        batch = True
    else:
        collected.add(_R.req(r, "content", ""), "content")
        task_type, title, dimensions = _config(r, "")
        model = _R.opt_str(r, "model", "")
        top = unknown(r, _SINGLE_KEYS)
        batch = False
    if collected.hint:
        top[_CONTENT_HINT] = collected.hint
    return EmbeddingRequest(
        model=_bare_model(model or ""),
        inputs=collected.inputs,
        dimensions=dimensions,
        task_type=task_type,
        title=title,
        batch=batch,
        extensions=with_extension(PROTOCOL, top),
    )


def _encode_content(item: EmbeddingInput, path: str, hint: Obj) -> Obj:
    if isinstance(item, str):
        content: Obj = {"parts": [{"text": _C.req_text(item, path)}]}
        content.update(hint)
        return content
    if isinstance(item, OpaquePart):
        if item.source != PROTOCOL:
            raise EncodeError(PROTOCOL, path, f"a {item.source} input item cannot be sent as Gemini content")
        return dict(item.data)
    if isinstance(item, (list, tuple)):
        raise EncodeError(PROTOCOL, path, "Gemini embeds text and media only, not token arrays")
    raise EncodeError(PROTOCOL, path, f"expected text or a {PROTOCOL} content, got {describe(item)}")


def encode_request(request: EmbeddingRequest, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """An `EmbeddingRequest` as an embedContent body, or a batchEmbedContents body for a batch."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    _C.extensions(request.extensions)
    _C.opt_text(request.model, "model")
    inputs = input_list(request.inputs, _C, "inputs")
    _C.opt_int(request.dimensions, "dimensions", 1)
    _C.opt_text(request.task_type, "task_type")
    _C.opt_text(request.title, "title")
    _C.opt_text(request.user, "user")
    _C.opt_choice(request.encoding_format, "encoding_format", _ENCODINGS)
    _C.opt_bool(request.batch, "batch")
    fields = dict(own(request.extensions, PROTOCOL))
    hint = fields.pop(_CONTENT_HINT, None) or {}
    item_fields = fields.pop(_ITEM_FIELDS, None) or {}
    config: Obj = {}
    for key, value in (
        ("taskType", request.task_type),
        ("title", request.title),
        ("outputDimensionality", request.dimensions),
    ):
        if value is not None:
            config[key] = value
    if request.encoding_format == "base64":
        losses.add("L-EMBED-ENCODING", "encoding_format", f"{PROTOCOL} returns float vectors only, never base64")
    if request.user is not None:
        losses.add("L-EMBED-USER", "user", f"end-user id has no equivalent in {PROTOCOL}")
    contents = [_encode_content(item, index("inputs", i), hint) for i, item in enumerate(inputs)]
    batch = request.batch if request.batch is not None else len(contents) > 1
    out: Obj
    if batch or len(contents) > 1:
        requests: List[Obj] = []
        for content in contents:
            item: Obj = {"content": content}
            item.update(config)
            if request.model:
                item["model"] = _resource_model(request.model)
            for k, v in item_fields.items():
                item.setdefault(k, v)
            requests.append(item)
        out = {"requests": requests}
    else:
        out = {"content": contents[0]}
        out.update(config)
        if request.model:
            out["model"] = _resource_model(request.model)
        # A batch item is an embedContent body, so its extra fields belong at the top here.
        for k, v in item_fields.items():
            out.setdefault(k, v)
    extensions = dict(request.extensions)
    extensions[PROTOCOL] = fields
    restore(out, extensions, PROTOCOL, losses, "")
    return out


# =========================================================================== responses


def _decode_embedding(raw: Any, path: str, position: int) -> Embedding:
    d = _R.obj(raw, path)
    values = _R.req_arr(d, "values", path)
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _R.fail(index(join(path, "values"), i), f"expected a number, got {describe(v)}")
    return Embedding(index=position, vector=values, extensions=with_extension(PROTOCOL, unknown(d, _EMBEDDING_KEYS)))


def decode_response(raw: Dict[str, Any]) -> EmbeddingResponse:
    """An embedContent (``embedding``) or batchEmbedContents (``embeddings``) response as an `EmbeddingResponse`."""
    r = _R.obj(raw, "")
    if "embeddings" in r or "embedding" not in r:
        items = _R.req_arr(r, "embeddings", "")
        embeddings = [_decode_embedding(item, index("embeddings", i), i) for i, item in enumerate(items)]
        batch = True
    else:
        embeddings = [_decode_embedding(_R.req(r, "embedding", ""), "embedding", 0)]
        batch = False
    usage: Optional[ApiUsage] = None
    u = _R.opt_obj(r, "usageMetadata", "")
    if u is not None:
        usage = ApiUsage(
            input_tokens=_R.opt_int(u, "promptTokenCount", "usageMetadata"),
            total_tokens=_R.opt_int(u, "totalTokenCount", "usageMetadata"),
            extensions=with_extension(PROTOCOL, unknown(u, _USAGE_KEYS)),
        )
    return EmbeddingResponse(
        embeddings=embeddings,
        usage=usage,
        batch=batch,
        extensions=with_extension(PROTOCOL, unknown(r, _RESPONSE_KEYS)),
    )


def encode_response(response: EmbeddingResponse, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """An `EmbeddingResponse` as a Gemini embeddings response body (positional, float values)."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    ordered = sorted(response.embeddings, key=lambda e: e.index)
    if [e.index for e in ordered] != list(range(len(ordered))):
        losses.add("L-EMBED-INDEX", "embeddings", f"{PROTOCOL} embeddings are positional; indices were renumbered")
    items: List[Obj] = []
    for i, e in enumerate(ordered):
        item: Obj = {"values": list(e.vector)}
        restore(item, e.extensions, PROTOCOL, losses, index("embeddings", i))
        items.append(item)
    batch = response.batch if response.batch is not None else len(items) != 1
    out: Obj = {"embeddings": items} if batch or len(items) != 1 else {"embedding": items[0]}
    if response.usage is not None:
        u = response.usage
        meta: Obj = {}
        if u.input_tokens is not None:
            meta["promptTokenCount"] = u.input_tokens
        if u.total_tokens is not None:
            meta["totalTokenCount"] = u.total_tokens
        restore(meta, u.extensions, PROTOCOL, losses, "usage")
        out["usageMetadata"] = meta
    if response.model:
        losses.add("L-RESPONSE-MODEL", "model", f"{PROTOCOL} responses do not name the model ({response.model!r})")
    restore(out, response.extensions, PROTOCOL, losses, "")
    return out
