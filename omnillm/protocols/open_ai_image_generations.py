"""Codec for OpenAI image generation (``POST /images/generations``), JSON both ways.

Wire shape per openai-python (``ImageGenerateParams``, ``ImagesResponse``). The classic
subset that OpenAI-compatible image servers implement (prompt, model, n, size, quality,
response_format, style, user; ``data[].url | b64_json``) has canonical fields; everything
newer (``stream``, ``partial_images``, ``safety_identifier``, ``svg``, ...) travels in
``extensions``. Explicit nulls (``"url": null``) are kept so that a body re-encodes to
exactly itself. Streaming image events are not decoded here.

Both directions check the same rules (so that whatever decodes also encodes): a
non-empty ``prompt``, ``n`` at least 1, ``output_compression`` 0 to 100 and
``response_format`` ``url`` or ``b64_json``; the other strings pass through as the
provider spells them (type-checked only). Response ``usage`` is written with every
count openai-python's ``ImagesResponse.Usage`` requires: a missing count is 0
(L-IMAGE-USAGE) and a missing ``input_tokens_details`` counts all input tokens as text
(a generation's only input is its prompt).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..api import ApiUsage, GeneratedImage, ImageGenerationRequest, ImageGenerationResponse
from ..errors import DecodeError
from ..report import LossLog
from ._common import Obj, Reader, index, with_extension
from ._endpoints import HINT, Check, own, restore, unknown

PROTOCOL = "open_ai_image_generations"

_R = Reader(PROTOCOL)
_C = Check(PROTOCOL)
_DECODED = Check(PROTOCOL, DecodeError)

_REQUEST_KEYS = frozenset(
    {
        "prompt",
        "model",
        "n",
        "size",
        "quality",
        "style",
        "background",
        "output_format",
        "output_compression",
        "moderation",
        "response_format",
        "user",
    }
)
_RESPONSE_KEYS = frozenset({"created", "data", "background", "output_format", "quality", "size", "usage"})
_IMAGE_KEYS = frozenset({"b64_json", "url", "revised_prompt"})
_USAGE_KEYS = frozenset({"input_tokens", "output_tokens", "total_tokens"})
_NO_DATA = HINT + "no_data"

_OPTIONAL_STRINGS = ("size", "quality", "style", "background", "output_format", "moderation", "response_format", "user")
_RESPONSE_FORMATS = ("url", "b64_json")


def _check(request: ImageGenerationRequest, check: Check) -> None:
    """The rules both directions share; the wire and canonical field names are the same."""
    check.req_text(request.prompt, "prompt")
    check.opt_int(request.n, "n", 1)
    check.opt_int(request.output_compression, "output_compression", 0, 100)
    for key in _OPTIONAL_STRINGS:
        check.opt_text(getattr(request, key), key)
    check.opt_choice(request.response_format, "response_format", _RESPONSE_FORMATS)


def decode_request(raw: Dict[str, Any]) -> ImageGenerationRequest:
    """An image generation request body as an `ImageGenerationRequest`."""
    r = _R.obj(raw, "")
    request = ImageGenerationRequest(
        model=_R.opt_str(r, "model", "") or "",
        prompt=_R.req_str(r, "prompt", ""),
        n=_R.opt_int(r, "n", ""),
        output_compression=_R.opt_int(r, "output_compression", ""),
        extensions=with_extension(PROTOCOL, unknown(r, _REQUEST_KEYS)),
    )
    for key in _OPTIONAL_STRINGS:
        setattr(request, key, _R.opt_str(r, key, ""))
    _check(request, _DECODED)
    return request


def encode_request(request: ImageGenerationRequest, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """An `ImageGenerationRequest` as an image generation request body (no model when it is empty)."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    _C.extensions(request.extensions)
    _C.opt_text(request.model, "model")
    _check(request, _C)
    out: Obj = {"prompt": request.prompt}
    if request.model:
        out["model"] = request.model
    if request.n is not None:
        out["n"] = request.n
    for key in _OPTIONAL_STRINGS:
        value = getattr(request, key)
        if value is not None:
            out[key] = value
    if request.output_compression is not None:
        out["output_compression"] = request.output_compression
    restore(out, request.extensions, PROTOCOL, losses, "")
    return out


def _decode_usage(raw: Any) -> ApiUsage:
    u = _R.obj(raw, "usage")
    return ApiUsage(
        input_tokens=_R.opt_int(u, "input_tokens", "usage"),
        output_tokens=_R.opt_int(u, "output_tokens", "usage"),
        total_tokens=_R.opt_int(u, "total_tokens", "usage"),
        extensions=with_extension(PROTOCOL, unknown(u, _USAGE_KEYS)),
    )


def decode_response(raw: Dict[str, Any]) -> ImageGenerationResponse:
    """An images response body as an `ImageGenerationResponse`."""
    r = _R.obj(raw, "")
    images: List[GeneratedImage] = []
    data = _R.opt_arr(r, "data", "")
    for i, item in enumerate(data or []):
        where = index("data", i)
        d = _R.obj(item, where)
        images.append(
            GeneratedImage(
                b64_json=_R.opt_str(d, "b64_json", where),
                url=_R.opt_str(d, "url", where),
                revised_prompt=_R.opt_str(d, "revised_prompt", where),
                extensions=with_extension(PROTOCOL, unknown(d, _IMAGE_KEYS)),
            )
        )
    top = unknown(r, _RESPONSE_KEYS)
    if "data" not in r:
        top[_NO_DATA] = True
    usage = r.get("usage")
    return ImageGenerationResponse(
        created=_R.req_int(r, "created", ""),
        images=images,
        background=_R.opt_str(r, "background", ""),
        output_format=_R.opt_str(r, "output_format", ""),
        quality=_R.opt_str(r, "quality", ""),
        size=_R.opt_str(r, "size", ""),
        usage=None if usage is None else _decode_usage(usage),
        extensions=with_extension(PROTOCOL, top),
    )


def encode_response(response: ImageGenerationResponse, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """An `ImageGenerationResponse` as an images response body."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    if response.model:
        losses.add("L-RESPONSE-MODEL", "model", f"{PROTOCOL} responses do not name the model ({response.model!r})")
    out: Obj = {"created": response.created}
    if response.images or not own(response.extensions, PROTOCOL).get(_NO_DATA):
        data: List[Obj] = []
        for i, image in enumerate(response.images):
            item: Obj = {}
            for key, value in (
                ("b64_json", image.b64_json),
                ("url", image.url),
                ("revised_prompt", image.revised_prompt),
            ):
                if value is not None:
                    item[key] = value
            restore(item, image.extensions, PROTOCOL, losses, index("images", i))
            data.append(item)
        out["data"] = data
    for key, value in (
        ("background", response.background),
        ("output_format", response.output_format),
        ("quality", response.quality),
        ("size", response.size),
    ):
        if value is not None:
            out[key] = value
    if response.usage is not None:
        out["usage"] = _encode_usage(response.usage, losses)
    restore(out, response.extensions, PROTOCOL, losses, "")
    return out


def _encode_usage(u: ApiUsage, losses: LossLog) -> Obj:
    """Usage with every field openai-python's ``ImagesResponse.Usage`` requires."""
    missing = [
        key for key, count in (("input_tokens", u.input_tokens), ("output_tokens", u.output_tokens)) if count is None
    ]
    if missing:
        losses.add("L-IMAGE-USAGE", "usage", f"no {' or '.join(missing)} given; wrote 0 because {PROTOCOL} requires it")
    usage: Obj = {"input_tokens": u.input_tokens or 0, "output_tokens": u.output_tokens or 0}
    usage["total_tokens"] = (
        u.total_tokens if u.total_tokens is not None else usage["input_tokens"] + usage["output_tokens"]
    )
    if own(u.extensions, PROTOCOL).get("input_tokens_details") is None:
        # A generation's only input is its prompt, so every input token is a text token.
        usage["input_tokens_details"] = {"text_tokens": usage["input_tokens"], "image_tokens": 0}
    restore(usage, u.extensions, PROTOCOL, losses, "usage")
    return usage
