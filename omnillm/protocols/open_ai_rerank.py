"""Codec for the ``/v1/rerank`` shape served by vLLM, Jina, Infinity and Cohere-compatible servers.

There is no OpenAI rerank endpoint; "OpenAI-compatible" rerank servers share this body:
``{model, query, documents, top_n, return_documents}`` in, ``{id?, model?, results:
[{index, relevance_score, document?}], usage? | meta?}`` out. Choices worth knowing:

* **documents** are strings or JSON objects (``{"text": ...}`` or a server's multimodal
  shape) and travel unchanged; an echoed ``document`` stays a string or an object as
  sent (`RerankResult.document_text` reads either).
* **results** under ``data`` (older Infinity) decode like ``results``; a shape hint
  writes the same key back.
* **usage**: Jina/vLLM/Infinity ``usage`` (``prompt_tokens``, ``total_tokens``) or Cohere
  ``meta`` (``billed_units.search_units``, ``tokens``). ``meta`` is kept whole (its
  ``api_version`` and warnings too) and the usage values are written back into it.
* ``top_n`` 0 means "all" on vLLM and is passed through as is; Voyage's ``top_k`` and
  server-specific options (``max_tokens_per_doc``, ``truncate_prompt_tokens``, ...) stay
  in ``extensions``.
* **validation**, the same both ways so that whatever decodes also encodes: a
  non-empty ``query``, a non-empty list of ``documents`` (each a string or an object),
  ``top_n`` a non-negative integer, ``return_documents`` a boolean.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

from ..api import ApiUsage, RerankDocument, RerankRequest, RerankResponse, RerankResult
from ..errors import DecodeError
from ..report import LossLog
from ._common import Obj, Reader, describe, index, join, with_extension
from ._endpoints import HINT, Check, own, req_number, restore, unknown

PROTOCOL = "open_ai_rerank"

_R = Reader(PROTOCOL)
_C = Check(PROTOCOL)
_DECODED = Check(PROTOCOL, DecodeError)

_REQUEST_KEYS = frozenset({"model", "query", "documents", "top_n", "return_documents"})
_RESPONSE_KEYS = frozenset({"id", "model", "results", "data", "usage"})
_RESULT_KEYS = frozenset({"index", "relevance_score", "document"})
_USAGE_KEYS = frozenset({"prompt_tokens", "total_tokens"})
_RESULTS_KEY = HINT + "results_key"
_USAGE_IN_META = HINT + "usage_in_meta"


def _document(value: Any, path: str) -> RerankDocument:
    if isinstance(value, (str, dict)):
        return value
    raise _R.fail(path, f"expected a string or an object, got {describe(value)}")


def _check(request: RerankRequest, check: Check) -> None:
    """The rules both directions share; the wire and canonical field names are the same."""
    check.req_text(request.query, "query")
    documents = request.documents
    if not isinstance(documents, (list, tuple)):
        raise check.fail("documents", f"expected a list of documents, got {describe(documents)}")
    if not documents:
        raise check.fail("documents", "must not be empty")
    for i, document in enumerate(documents):
        if not isinstance(document, (str, dict)):
            raise check.fail(index("documents", i), f"expected a string or an object, got {describe(document)}")
    check.opt_int(request.top_n, "top_n", 0)
    check.opt_bool(request.return_documents, "return_documents")


def decode_request(raw: Dict[str, Any]) -> RerankRequest:
    """A rerank request body as a `RerankRequest`."""
    r = _R.obj(raw, "")
    documents = _R.req_arr(r, "documents", "")
    request = RerankRequest(
        model=_R.opt_str(r, "model", "") or "",
        query=_R.req_str(r, "query", ""),
        documents=[_document(d, index("documents", i)) for i, d in enumerate(documents)],
        top_n=_R.opt_int(r, "top_n", ""),
        return_documents=_R.opt_bool(r, "return_documents", ""),
        extensions=with_extension(PROTOCOL, unknown(r, _REQUEST_KEYS)),
    )
    _check(request, _DECODED)
    return request


def encode_request(request: RerankRequest, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """A `RerankRequest` as a rerank request body (no model when it is empty)."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    _C.extensions(request.extensions)
    _C.opt_text(request.model, "model")
    _check(request, _C)
    out: Obj = {}
    if request.model:
        out["model"] = request.model
    out["query"] = request.query
    out["documents"] = [d if isinstance(d, str) else copy.deepcopy(d) for d in request.documents]
    if request.top_n is not None:
        out["top_n"] = request.top_n
    if request.return_documents is not None:
        out["return_documents"] = request.return_documents
    restore(out, request.extensions, PROTOCOL, losses, "")
    return out


def _decode_result(raw: Any, path: str) -> RerankResult:
    d = _R.obj(raw, path)
    document = d.get("document")
    return RerankResult(
        index=_R.req_int(d, "index", path),
        relevance_score=req_number(_R, d, "relevance_score", path),
        document=None if document is None else _document(document, join(path, "document")),
        extensions=with_extension(PROTOCOL, unknown(d, _RESULT_KEYS)),
    )


def _usage_from_meta(meta: Obj) -> Optional[ApiUsage]:
    billed = _R.opt_obj(meta, "billed_units", "meta")
    tokens = _R.opt_obj(meta, "tokens", "meta")
    if billed is None and tokens is None:
        return None
    return ApiUsage(
        search_units=None if billed is None else _R.opt_int(billed, "search_units", "meta.billed_units"),
        input_tokens=None if tokens is None else _R.opt_int(tokens, "input_tokens", "meta.tokens"),
        output_tokens=None if tokens is None else _R.opt_int(tokens, "output_tokens", "meta.tokens"),
    )


def decode_response(raw: Dict[str, Any]) -> RerankResponse:
    """A rerank response body (``results`` or ``data``; ``usage`` or Cohere ``meta``) as a `RerankResponse`."""
    r = _R.obj(raw, "")
    top = unknown(r, _RESPONSE_KEYS)
    key = "results"
    if "results" not in r and "data" in r:
        key = "data"
        top[_RESULTS_KEY] = "data"
    items = _R.req_arr(r, key, "")
    usage: Optional[ApiUsage] = None
    u = _R.opt_obj(r, "usage", "")
    if u is not None:
        usage = ApiUsage(
            input_tokens=_R.opt_int(u, "prompt_tokens", "usage"),
            total_tokens=_R.opt_int(u, "total_tokens", "usage"),
            extensions=with_extension(PROTOCOL, unknown(u, _USAGE_KEYS)),
        )
    else:
        meta = _R.opt_obj(r, "meta", "")
        if meta is not None:
            usage = _usage_from_meta(meta)
            if usage is not None:
                top[_USAGE_IN_META] = True
    return RerankResponse(
        results=[_decode_result(item, index(key, i)) for i, item in enumerate(items)],
        model=_R.opt_str(r, "model", "") or "",
        id=_R.opt_str(r, "id", ""),
        usage=usage,
        extensions=with_extension(PROTOCOL, top),
    )


def _meta_with_usage(meta: Obj, usage: ApiUsage) -> Obj:
    meta = copy.deepcopy(meta)
    if usage.search_units is not None:
        billed = meta.get("billed_units")
        billed = billed if isinstance(billed, dict) else {}
        billed["search_units"] = usage.search_units
        meta["billed_units"] = billed
    if usage.input_tokens is not None or usage.output_tokens is not None:
        tokens = meta.get("tokens")
        tokens = tokens if isinstance(tokens, dict) else {}
        if usage.input_tokens is not None:
            tokens["input_tokens"] = usage.input_tokens
        if usage.output_tokens is not None:
            tokens["output_tokens"] = usage.output_tokens
        meta["tokens"] = tokens
    return meta


def encode_response(response: RerankResponse, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """A `RerankResponse` as a rerank response body."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    top = own(response.extensions, PROTOCOL)
    out: Obj = {}
    if response.id is not None:
        out["id"] = response.id
    if response.model:
        out["model"] = response.model
    results: List[Obj] = []
    for i, result in enumerate(response.results):
        item: Obj = {"index": result.index, "relevance_score": result.relevance_score}
        if result.document is not None:
            item["document"] = copy.deepcopy(result.document)
        restore(item, result.extensions, PROTOCOL, losses, index("results", i))
        results.append(item)
    out[top.get(_RESULTS_KEY, "results")] = results
    usage = response.usage
    if usage is not None:
        meta = top.get("meta")
        if top.get(_USAGE_IN_META) or (usage.search_units is not None and usage.total_tokens is None):
            out["meta"] = _meta_with_usage(meta if isinstance(meta, dict) else {}, usage)
        else:
            counts: Obj = {}
            if usage.input_tokens is not None:
                counts["prompt_tokens"] = usage.input_tokens
            if usage.total_tokens is not None:
                counts["total_tokens"] = usage.total_tokens
            restore(counts, usage.extensions, PROTOCOL, losses, "usage")
            out["usage"] = counts
            if usage.search_units is not None:
                out["meta"] = _meta_with_usage(meta if isinstance(meta, dict) else {}, usage)
    restore(out, response.extensions, PROTOCOL, losses, "")
    return out
