"""Every endpoint family over HTTP, as plain data: requests out, responses in, and transcoding.

`emit_transport_request` turns an `ApiRequest` (generation or another endpoint family)
into a `TransportRequest` for one wire format: method, a path relative to the provider's
base URL (which already ends in ``/v1`` or ``/v1beta``), query, content-type and accept
headers, and the body. No authentication and no I/O happen here: the provider layer
joins the base URL, adds credentials and sends. `parse_transport_response` reads the
answer back into an `ApiResponse`, raising a `ProviderError` for a non-2xx status.

Both are driven by one table, `ROUTES`, with one `Route` row per wire format; adding a
wire format is adding a row.

`transcode_api_request` / `transcode_api_response` convert raw bodies between any two
formats of the same endpoint family (generation delegates to ``omnillm.transcode``) and
return an `ApiConversionReport`. Bodies that are not JSON are given and returned as
follows:

* transcription requests (multipart): a `TransportRequest`, a `Multipart` body, a list
  of `MultipartField`, or the body bytes (the boundary read from the first line); the
  result's ``body`` holds the multipart bytes and ``content_type`` their boundary,
  which is the source's boundary when it had one.
* transcription responses: a dict or JSON text for the JSON formats, plain text (str or
  UTF-8 bytes) for ``text``/``srt``/``vtt``, or a `TransportResponse`.
* speech responses: the audio bytes or a `TransportResponse`; the result's ``body``
  holds the bytes unchanged and ``value`` is empty.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, NoReturn, Optional, Sequence, Tuple, Union
from urllib.parse import quote

from .api import (
    ApiRequest,
    ApiResponse,
    AudioSpeechRequest,
    AudioTranscriptionRequest,
    EmbeddingRequest,
    family_of_type,
)
from .errors import ConversionError, DecodeError, EncodeError, UnsupportedError, WireFormatError
from .http import Body, Headers, Json, Multipart, MultipartField, TransportRequest, TransportResponse
from .model import LlmRequest
from .multipart import encode_multipart, multipart_fields_of, new_boundary
from .protocols import codec, endpoint_codec
from .report import ConversionReport, LossLog
from .stream import StreamAccumulator
from .streaming import decode_stream
from .transcode import dump_json, parse_json_object, transcode_request_report, transcode_response_report
from .wire import FAMILY_OF_FORMAT, EndpointFamily, WireFormat
from .wire import wire_format as _format

_JSON = "application/json"
_SSE = "text/event-stream"
_EVENT_STREAM = "application/vnd.amazon.eventstream"
_TRANSCRIPTION = WireFormat.OPEN_AI_AUDIO_TRANSCRIPTIONS
_SPEECH = WireFormat.OPEN_AI_AUDIO_SPEECH

# =========================================================================== the table


@dataclass(frozen=True)
class Route:
    """How one wire format travels over HTTP.

    ``body`` encodes a canonical request (recording losses; ``boundary`` is for
    multipart bodies), ``path`` picks the path from the request and its encoded body,
    ``query`` and ``accept`` depend on the request (streaming), and ``read`` decodes a
    2xx `TransportResponse`, given the request it answers when the caller has it.
    """

    body: Callable[[Any, LossLog, Optional[str]], Body]
    path: Callable[[Any, Body], str]
    read: Callable[[TransportResponse, Any], ApiResponse]
    query: Callable[[Any], List[Tuple[str, str]]] = lambda request: []
    accept: Callable[[Any], str] = lambda request: _JSON
    method: str = "POST"


def _streams(request: Any) -> bool:
    return bool(getattr(request, "stream", None))


def _stream_accept(stream_type: str) -> Callable[[Any], str]:
    return lambda request: stream_type if _streams(request) else _JSON


def _fixed(path: str) -> Callable[[Any, Body], str]:
    return lambda request, body: path


def _resource(model: str, protocol: str) -> str:
    """A Gemini model resource (``models/x``, or ``tunedModels/x`` as given), percent-encoded."""
    if not model:
        raise EncodeError(protocol, "model", "a model is required: the URL names it")
    name = model if "/" in model else f"models/{model}"
    return quote(name, safe="/-._~")


def _read_json(response: TransportResponse, fmt: WireFormat) -> Dict[str, Any]:
    return parse_json_object(response.read(), fmt.value)


# --------------------------------------------------------------------------- generation


def _generation_route(
    fmt: WireFormat,
    path: Callable[[LlmRequest], str],
    *,
    model_key: Optional[str] = None,
    stream_query: Sequence[Tuple[str, str]] = (),
    stream_type: str = _SSE,
) -> Route:
    """A row for a generation format.

    ``model_key`` names the body field that carries the model when the URL names it
    instead (popped from the body; the endpoint, not the body, then says whether it
    streams). ``stream_query`` is added to streaming requests.
    """

    def body(request: LlmRequest, losses: LossLog, boundary: Optional[str]) -> Body:
        if model_key is not None:
            request = dataclasses.replace(request, stream=None)
        out = codec(fmt).encode_request(request, losses)
        if model_key is not None:
            out.pop(model_key, None)
        return Json(out)

    def read(response: TransportResponse, request: Any) -> ApiResponse:
        kind = response.content_type
        if kind == _SSE:
            return _accumulate(response, fmt)
        if kind == _EVENT_STREAM:
            raise UnsupportedError(
                f"{fmt.value}: parse_transport_response does not read binary event streams; "
                "decode them with omnillm.streaming.decode_stream"
            )
        result: ApiResponse = codec(fmt).decode_response(_read_json(response, fmt))
        return result

    return Route(
        body=body,
        path=lambda request, encoded: path(request),
        read=read,
        query=lambda request: list(stream_query) if _streams(request) else [],
        accept=_stream_accept(stream_type),
    )


def _accumulate(response: TransportResponse, fmt: WireFormat) -> ApiResponse:
    acc = StreamAccumulator()
    chunks = response.stream if response.stream is not None else [response.body]
    try:
        for _ in decode_stream(chunks, fmt, accumulator=acc):
            pass
    finally:
        response.close()
    return acc.response()


def _gemini_generate_path(request: LlmRequest) -> str:
    method = "streamGenerateContent" if _streams(request) else "generateContent"
    return f"/{_resource(request.model, WireFormat.GEMINI_GENERATE_CONTENT.value)}:{method}"


def _bedrock_path(request: LlmRequest) -> str:
    if not request.model:
        raise EncodeError(WireFormat.BEDROCK_CONVERSE.value, "model", "a model id is required: the URL names it")
    # Bedrock path parameters are percent-encoded whole: ARNs hold ':' and '/'.
    action = "converse-stream" if _streams(request) else "converse"
    return f"/model/{quote(request.model, safe='')}/{action}"


# --------------------------------------------------------------------------- other families


def _json_route(fmt: WireFormat, path: str, accept: Callable[[Any], str] = lambda request: _JSON) -> Route:
    """A row for a JSON-in, JSON-out endpoint at a fixed path."""

    def body(request: Any, losses: LossLog, boundary: Optional[str]) -> Body:
        return Json(endpoint_codec(fmt).encode_request(request, losses))

    def read(response: TransportResponse, request: Any) -> ApiResponse:
        if response.content_type == _SSE:
            raise UnsupportedError(f"{fmt.value}: streamed responses are not decoded; ask for a single response")
        result: ApiResponse = endpoint_codec(fmt).decode_response(_read_json(response, fmt))
        return result

    return Route(body=body, path=_fixed(path), read=read, accept=accept)


def _gemini_embed_path(request: EmbeddingRequest, body: Body) -> str:
    fmt = WireFormat.GEMINI_EMBED_CONTENT.value
    batch = isinstance(body, Json) and isinstance(body.value, dict) and "requests" in body.value
    return f"/{_resource(request.model, fmt)}:{'batchEmbedContents' if batch else 'embedContent'}"


def _transcription_body(request: AudioTranscriptionRequest, losses: LossLog, boundary: Optional[str]) -> Body:
    fields = endpoint_codec(_TRANSCRIPTION).encode_request(request, losses)
    return Multipart(tuple(fields), boundary or new_boundary())


def _transcription_accept(request: AudioTranscriptionRequest) -> str:
    if request.stream:
        return _SSE
    text_formats = endpoint_codec(_TRANSCRIPTION).TEXT_FORMATS
    return f"text/plain, {_JSON}" if request.response_format in text_formats else _JSON


def _transcription_read(response: TransportResponse, request: Any) -> ApiResponse:
    module = endpoint_codec(_TRANSCRIPTION)
    kind = response.content_type
    if kind == _SSE:
        raise UnsupportedError(f"{_TRANSCRIPTION.value}: streamed transcripts are not decoded; ask for stream=false")
    asked = request.response_format if isinstance(request, AudioTranscriptionRequest) else None
    data = response.read()
    if kind == _JSON or (not kind and asked not in module.TEXT_FORMATS):
        result: ApiResponse = module.decode_response(parse_json_object(data, _TRANSCRIPTION.value), asked)
        return result
    result = module.decode_response(_utf8(data, _TRANSCRIPTION), asked)
    return result


def _utf8(data: bytes, fmt: WireFormat) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(fmt.value, "", f"body is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None


def _speech_accept(request: AudioSpeechRequest) -> str:
    # openai-python asks for octet-stream; the audio's real type comes back in content-type.
    return _SSE if request.stream_format == "sse" else "application/octet-stream"


def _speech_read(response: TransportResponse, request: Any) -> ApiResponse:
    if response.content_type == _SSE:
        raise UnsupportedError(f"{_SPEECH.value}: SSE speech streams are not decoded; ask for stream_format 'audio'")
    asked = request.response_format if isinstance(request, AudioSpeechRequest) else None
    media = response.headers.get("content-type") or ""
    result: ApiResponse = endpoint_codec(_SPEECH).decode_response(response.read(), media, asked)
    return result


def _gemini_embed_route() -> Route:
    route = _json_route(WireFormat.GEMINI_EMBED_CONTENT, "")
    return dataclasses.replace(route, path=_gemini_embed_path)


#: One row per wire format: how its requests are emitted and its responses read.
ROUTES: Dict[WireFormat, Route] = {
    WireFormat.OPEN_AI_RESPONSES: _generation_route(WireFormat.OPEN_AI_RESPONSES, lambda r: "/responses"),
    WireFormat.OPEN_AI_CHAT_COMPLETIONS: _generation_route(
        WireFormat.OPEN_AI_CHAT_COMPLETIONS, lambda r: "/chat/completions"
    ),
    WireFormat.ANTHROPIC_MESSAGES: _generation_route(WireFormat.ANTHROPIC_MESSAGES, lambda r: "/messages"),
    WireFormat.GEMINI_GENERATE_CONTENT: _generation_route(
        WireFormat.GEMINI_GENERATE_CONTENT, _gemini_generate_path, model_key="model", stream_query=(("alt", "sse"),)
    ),
    WireFormat.BEDROCK_CONVERSE: _generation_route(
        WireFormat.BEDROCK_CONVERSE, _bedrock_path, model_key="modelId", stream_type=_EVENT_STREAM
    ),
    WireFormat.OPEN_AI_EMBEDDINGS: _json_route(WireFormat.OPEN_AI_EMBEDDINGS, "/embeddings"),
    WireFormat.GEMINI_EMBED_CONTENT: _gemini_embed_route(),
    WireFormat.OPEN_AI_IMAGE_GENERATIONS: _json_route(WireFormat.OPEN_AI_IMAGE_GENERATIONS, "/images/generations"),
    WireFormat.OPEN_AI_AUDIO_TRANSCRIPTIONS: Route(
        body=_transcription_body,
        path=_fixed("/audio/transcriptions"),
        read=_transcription_read,
        accept=_transcription_accept,
    ),
    WireFormat.OPEN_AI_AUDIO_SPEECH: dataclasses.replace(
        _json_route(_SPEECH, "/audio/speech"), read=_speech_read, accept=_speech_accept
    ),
    WireFormat.OPEN_AI_RERANK: _json_route(WireFormat.OPEN_AI_RERANK, "/rerank"),
}


def _route(fmt: WireFormat) -> Route:
    found = ROUTES.get(fmt)
    if found is None:
        raise UnsupportedError(f"{fmt.value} has no HTTP route yet")
    return found


def _check_family(value: object, fmt: WireFormat, what: str) -> None:
    expected = FAMILY_OF_FORMAT[fmt]
    # Instances only: a class or an EndpointFamily is no request to encode.
    got = family_of_type(type(value))
    if got is expected:
        return
    if got is None:
        raise WireFormatError(
            f"{fmt.value}: expected {what} of the {expected.value} family, got {type(value).__name__}"
        )
    raise WireFormatError(
        f"{fmt.value} serves {expected.value}; a {type(value).__name__} ({got.value}) cannot be sent with it"
    )


# =========================================================================== emit / parse


def emit_transport_request(
    request: ApiRequest,
    wire_format: Union[str, WireFormat],
    *,
    losses: Optional[LossLog] = None,
    boundary: Optional[str] = None,
) -> TransportRequest:
    """The HTTP request (path relative to the provider base URL, no auth) that sends ``request`` in ``wire_format``.

    Anything the format cannot carry is recorded in ``losses`` when given. ``boundary``
    fixes the multipart boundary (a random one otherwise).
    """
    fmt = _format(wire_format)
    _check_family(request, fmt, "a request")
    route = _route(fmt)
    body = route.body(request, losses if losses is not None else LossLog(fmt.value), boundary)
    accept = ("accept", route.accept(request))
    headers = Headers([("content-type", body.content_type), accept] if body.content_type else [accept])
    return TransportRequest(
        method=route.method,
        url=route.path(request, body),
        headers=headers,
        query=route.query(request),
        body=body,
    )


def parse_transport_response(
    response: TransportResponse,
    wire_format: Union[str, WireFormat],
    endpoint: Union[ApiRequest, EndpointFamily, None] = None,
) -> ApiResponse:
    """The `ApiResponse` in a provider's HTTP answer; a non-2xx status raises a `ProviderError`.

    ``endpoint`` is the request the response answers, when the caller has it: it says
    how to read bodies that do not describe themselves (a transcript's text format, the
    audio type of a speech response). An `EndpointFamily` is accepted too: every wire
    format serves one family, so it is only checked against ``wire_format`` (a
    mismatch raises `WireFormatError`) and the body is read as without a request. A
    generation response sent as SSE is read to the end and accumulated into one
    `LlmResponse`.
    """
    fmt = _format(wire_format)
    if isinstance(endpoint, EndpointFamily):
        if endpoint is not FAMILY_OF_FORMAT[fmt]:
            raise WireFormatError(f"{fmt.value} serves {FAMILY_OF_FORMAT[fmt].value}, not {endpoint.value}")
        endpoint = None
    elif endpoint is not None:
        _check_family(endpoint, fmt, "a request")
    if not 200 <= response.status < 300:
        _raise_for_status(response)
    return _route(fmt).read(response, endpoint)


def _raise_for_status(response: TransportResponse) -> NoReturn:
    """Raise the `ProviderError` subclass for a non-2xx ``response`` (its body read first)."""
    from .provider_errors import error_from_response

    response.read()
    raise error_from_response(response)


# =========================================================================== transcoding


@dataclass
class ApiConversionReport(ConversionReport):
    """A `ConversionReport` that also carries the converted body as bytes with its content type.

    For JSON and text bodies ``value`` is the text and ``body`` its UTF-8 bytes; for
    multipart and audio bodies ``value`` is empty and only ``body`` holds the result.
    """

    body: bytes = b""
    content_type: str = _JSON


RawBody = Union[str, bytes, bytearray, Dict[str, Any], TransportRequest, TransportResponse, Multipart, List[Any]]
"""What the transcoders take: JSON (text, bytes, dict), a transport object, or multipart fields."""


def _bridge(source: WireFormat, target: WireFormat) -> EndpointFamily:
    src, dst = FAMILY_OF_FORMAT[source], FAMILY_OF_FORMAT[target]
    if src is not dst:
        raise UnsupportedError(
            f"cannot convert {source.value} ({src.value}) to {target.value} ({dst.value}): "
            "they serve different endpoint families"
        )
    return src


def _raw_bytes(raw: Any) -> Tuple[Any, str]:
    """Unwrap a transport object into its body and content type."""
    if isinstance(raw, TransportRequest):
        body = raw.body if isinstance(raw.body, Multipart) else raw.body_bytes()
        return body, raw.headers.get("content-type") or ""
    if isinstance(raw, TransportResponse):
        return raw.read(), raw.headers.get("content-type") or ""
    return raw, ""


def _transcription_fields(raw: Any) -> Tuple[List[MultipartField], Optional[str]]:
    value, content_type = _raw_bytes(raw)
    if isinstance(value, Multipart):
        return list(value.fields), value.boundary
    if isinstance(value, (list, tuple)):
        return list(value), None
    if isinstance(value, (bytes, bytearray)):
        fields, boundary = multipart_fields_of(bytes(value), content_type or None)
        return fields, boundary
    raise DecodeError(
        _TRANSCRIPTION.value,
        "",
        f"expected multipart fields, a Multipart body or its bytes, got {type(value).__name__}",
    )


def _decode_request(raw: Any, fmt: WireFormat) -> Tuple[ApiRequest, Optional[str]]:
    module = endpoint_codec(fmt)
    if fmt is _TRANSCRIPTION:
        fields, boundary = _transcription_fields(raw)
        return module.decode_request(fields), boundary
    value, _ = _raw_bytes(raw)
    return module.decode_request(parse_json_object(value, fmt.value)), None


def _decode_response(raw: Any, fmt: WireFormat) -> ApiResponse:
    module = endpoint_codec(fmt)
    value, content_type = _raw_bytes(raw)
    if fmt is _SPEECH:
        if not isinstance(value, (bytes, bytearray)):
            raise DecodeError(fmt.value, "", f"expected the audio bytes, got {type(value).__name__}")
        return _as_response(module.decode_response(bytes(value), content_type))
    if fmt is _TRANSCRIPTION and not isinstance(value, dict):
        text = _utf8(bytes(value), fmt) if isinstance(value, (bytes, bytearray)) else value
        if not isinstance(text, str):
            raise DecodeError(fmt.value, "", f"expected JSON or text, got {type(text).__name__}")
        kind = content_type.split(";", 1)[0].strip().lower()
        # Without a content type, only an object can be JSON: transcripts never start with '{' in practice.
        if kind == _JSON or (kind != "text/plain" and text.lstrip().startswith("{")):
            return _as_response(module.decode_response(parse_json_object(text, fmt.value)))
        return _as_response(module.decode_response(text))
    return _as_response(module.decode_response(parse_json_object(value, fmt.value)))


def _as_response(value: ApiResponse) -> ApiResponse:
    # Codec modules are loaded by name, so mypy sees their results as Any.
    return value


def _bridge_losses(value: object, source: WireFormat, target: WireFormat, losses: LossLog) -> None:
    """Semantic differences between formats that no single codec can see."""
    if source is target:
        return
    if isinstance(value, EmbeddingRequest) and value.dimensions is not None:
        if target is WireFormat.GEMINI_EMBED_CONTENT:
            detail = "Gemini truncates to outputDimensionality without re-normalising; OpenAI returns unit vectors"
        else:
            detail = f"{target.value} re-normalises shortened vectors; Gemini's outputDimensionality only truncates"
        losses.add("L-EMBED-DIMENSIONS", "dimensions", detail)


def _report(
    out: Any, source: WireFormat, target: WireFormat, losses: LossLog, strict: bool, boundary: Optional[str]
) -> ApiConversionReport:
    if isinstance(out, dict):
        value, content_type = dump_json(out, target.value), _JSON
        body = value.encode("utf-8")
    elif isinstance(out, str):
        value, content_type, body = out, "text/plain; charset=utf-8", out.encode("utf-8")
    elif isinstance(out, list):
        multipart = Multipart(tuple(out), boundary or new_boundary())
        value, content_type, body = "", multipart.content_type, encode_multipart(multipart.fields, multipart.boundary)
    else:
        value, content_type, body = "", "application/octet-stream", bytes(out)
    report = ApiConversionReport(value, source.value, target.value, list(losses.entries), body, content_type)
    if strict and report.lossy:
        raise ConversionError(source.value, target.value, report.loss_reasons)
    return report


def _from_generation(report: ConversionReport) -> ApiConversionReport:
    return ApiConversionReport(
        report.value, report.source, report.target, report.losses, report.value.encode("utf-8"), _JSON
    )


def transcode_api_request(
    raw: RawBody,
    source: Union[str, WireFormat],
    target: Union[str, WireFormat],
    *,
    strict: bool = False,
) -> ApiConversionReport:
    """Convert a request body between two formats of one endpoint family and report what was lost.

    Formats of different families (rerank -> speech) raise `UnsupportedError`; with
    ``strict=True`` a lossy conversion raises `ConversionError`.
    """
    src, dst = _format(source), _format(target)
    family = _bridge(src, dst)
    if family is EndpointFamily.GENERATION:
        value, _ = _raw_bytes(raw)
        return _from_generation(transcode_request_report(value, src, dst, strict=strict))
    request, boundary = _decode_request(raw, src)
    losses = LossLog(dst.value)
    out = endpoint_codec(dst).encode_request(request, losses)
    _bridge_losses(request, src, dst, losses)
    return _report(out, src, dst, losses, strict, boundary)


def transcode_api_response(
    raw: RawBody,
    source: Union[str, WireFormat],
    target: Union[str, WireFormat],
    *,
    strict: bool = False,
) -> ApiConversionReport:
    """Convert a response body between two formats of one endpoint family and report what was lost."""
    src, dst = _format(source), _format(target)
    family = _bridge(src, dst)
    if family is EndpointFamily.GENERATION:
        value, _ = _raw_bytes(raw)
        return _from_generation(transcode_response_report(value, src, dst, strict=strict))
    response = _decode_response(raw, src)
    losses = LossLog(dst.value)
    out = endpoint_codec(dst).encode_response(response, losses)
    return _report(out, src, dst, losses, strict, None)


__all__ = [
    "ROUTES",
    "ApiConversionReport",
    "Route",
    "emit_transport_request",
    "parse_transport_response",
    "transcode_api_request",
    "transcode_api_response",
]
