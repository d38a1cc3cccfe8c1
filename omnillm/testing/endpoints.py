"""Deterministic answers for the non-generation endpoint families of `MockProvider`.

Each handler decodes the request with omnillm's own codec (a malformed one gets a 400),
computes a reproducible answer from it, and encodes it in the same wire format:

* embeddings: unit vectors derived from a hash of each input (same input, same vector);
* images: a 1x1 PNG per requested image (base64, or a URL when asked);
* transcription: ``"mock transcript of <filename> (<n> bytes)"`` in the requested format;
* speech: bytes that start with a format marker and hold the input text;
* rerank: scores from word overlap between the query and each document.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from typing import Callable, Dict, List, Optional

from ..api import (
    ApiUsage,
    AudioSpeechResponse,
    AudioTranscriptionResponse,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    GeneratedImage,
    ImageGenerationResponse,
    RerankResponse,
    RerankResult,
    TranscriptionSegment,
)
from ..errors import OmniLLMError
from ..multipart import multipart_fields_of
from ..protocols import endpoint_codec
from .server import RecordedRequest, Reply

#: A 1x1 transparent PNG.
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="

_SPEECH_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def vector_for(text: str, dimensions: int = 8) -> List[float]:
    """The mock's embedding of ``text``: a unit vector from its SHA-256 (float32-exact)."""
    raw: List[float] = []
    counter = 0
    while len(raw) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        raw.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    values = raw[:dimensions]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    # Round through float32 so that the base64 (float32) and float forms agree exactly.
    return [struct.unpack("<f", struct.pack("<f", v / norm))[0] for v in values]


def _bad(protocol: str, exc: Exception) -> Reply:
    from .mock import error_body

    headers, body = error_body(protocol, 400, str(exc))
    return Reply(400, headers, body)


def _json(request: RecordedRequest) -> object:
    if not isinstance(request.json, dict):
        raise ValueError("the request body is not a JSON object")
    return request.json


def _text_of(item: object) -> str:
    if isinstance(item, str):
        return item
    return json.dumps(getattr(item, "data", item), sort_keys=True, default=str)


def _embed(protocol: str, request: EmbeddingRequest) -> EmbeddingResponse:
    dims = request.dimensions or 8
    vectors = [Embedding(i, vector_for(_text_of(item), dims)) for i, item in enumerate(request.inputs)]
    tokens = sum(max(1, len(_text_of(item)) // 4) for item in request.inputs)
    return EmbeddingResponse(
        model=request.model,
        embeddings=vectors,
        usage=ApiUsage(input_tokens=tokens, total_tokens=tokens),
        encoding_format=request.encoding_format,
        batch=request.batch,
    )


def openai_embeddings(request: RecordedRequest) -> Reply:
    """``POST .../embeddings``."""
    protocol = "open_ai_embeddings"
    codec = endpoint_codec(protocol)
    try:
        decoded = codec.decode_request(_json(request))
    except (OmniLLMError, ValueError) as exc:
        return _bad(protocol, exc)
    return Reply(200, {}, json.dumps(codec.encode_response(_embed(protocol, decoded))).encode())


def gemini_embeddings(request: RecordedRequest) -> Reply:
    """``POST .../models/{model}:embedContent`` and ``:batchEmbedContents``."""
    protocol = "gemini_embed_content"
    codec = endpoint_codec(protocol)
    try:
        body = dict(_json(request))  # type: ignore[call-overload]
        body.setdefault("model", "models/" + request.path.rsplit("/", 1)[-1].split(":", 1)[0])
        decoded = codec.decode_request(body)
    except (OmniLLMError, ValueError, TypeError) as exc:
        return _bad(protocol, exc)
    response = _embed(protocol, decoded)
    response.model = ""
    return Reply(200, {}, json.dumps(codec.encode_response(response)).encode())


def openai_images(request: RecordedRequest) -> Reply:
    """``POST .../images/generations``."""
    protocol = "open_ai_image_generations"
    codec = endpoint_codec(protocol)
    try:
        decoded = codec.decode_request(_json(request))
    except (OmniLLMError, ValueError) as exc:
        return _bad(protocol, exc)
    as_url = decoded.response_format == "url"
    images = [
        GeneratedImage(
            url=f"https://mock.invalid/images/{i}.png" if as_url else None,
            b64_json=None if as_url else PNG_1X1,
            revised_prompt=decoded.prompt,
        )
        for i in range(decoded.n or 1)
    ]
    response = ImageGenerationResponse(created=1_700_000_000, images=images)
    return Reply(200, {}, json.dumps(codec.encode_response(response)).encode())


def openai_transcriptions(request: RecordedRequest) -> Reply:
    """``POST .../audio/transcriptions`` (multipart/form-data)."""
    protocol = "open_ai_audio_transcriptions"
    codec = endpoint_codec(protocol)
    try:
        fields, _ = multipart_fields_of(request.body, request.headers.get("content-type"))
        decoded = codec.decode_request(fields)
    except OmniLLMError as exc:
        return _bad(protocol, exc)
    text = f"mock transcript of {decoded.filename} ({len(decoded.audio)} bytes)"
    kind = decoded.response_format or "json"
    segments = None
    if kind in ("verbose_json", "srt", "vtt"):
        segments = [
            TranscriptionSegment(
                id=0,
                start=0.0,
                end=1.0,
                text=text,
                seek=0,
                tokens=[1],
                temperature=0.0,
                avg_logprob=-0.1,
                compression_ratio=1.0,
                no_speech_prob=0.0,
            )
        ]
    response = AudioTranscriptionResponse(
        text=text,
        language=decoded.language or "english" if kind == "verbose_json" else None,
        duration=1.0 if kind == "verbose_json" else None,
        segments=segments if kind == "verbose_json" else None,
        response_format=kind,
    )
    encoded = codec.encode_response(response)
    if isinstance(encoded, str):
        if kind in ("srt", "vtt"):
            encoded = _subtitles(kind, text)
        return Reply(200, {}, encoded.encode("utf-8"), content_type="text/plain; charset=utf-8")
    return Reply(200, {}, json.dumps(encoded).encode())


def _subtitles(kind: str, text: str) -> str:
    if kind == "srt":
        return f"1\n00:00:00,000 --> 00:00:01,000\n{text}\n\n"
    return f"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n{text}\n\n"


def openai_speech(request: RecordedRequest) -> Reply:
    """``POST .../audio/speech``: audio bytes of the requested format."""
    protocol = "open_ai_audio_speech"
    codec = endpoint_codec(protocol)
    try:
        decoded = codec.decode_request(_json(request))
    except (OmniLLMError, ValueError) as exc:
        return _bad(protocol, exc)
    fmt = decoded.response_format or "mp3"
    media_type = _SPEECH_TYPES.get(fmt, "application/octet-stream")
    audio = f"MOCK-{fmt.upper()}\x00".encode() + decoded.input.encode("utf-8")
    body = codec.encode_response(AudioSpeechResponse(audio=audio, media_type=media_type))
    return Reply(200, {}, body, content_type=media_type)


def openai_rerank(request: RecordedRequest) -> Reply:
    """``POST .../rerank``: documents scored by word overlap with the query."""
    protocol = "open_ai_rerank"
    codec = endpoint_codec(protocol)
    try:
        decoded = codec.decode_request(_json(request))
    except (OmniLLMError, ValueError) as exc:
        return _bad(protocol, exc)
    query = set(decoded.query.lower().split())
    results: List[RerankResult] = []
    for i, doc in enumerate(decoded.documents):
        text = doc if isinstance(doc, str) else str(doc.get("text", ""))
        words = set(text.lower().split())
        score = len(query & words) / (len(query) or 1)
        results.append(
            RerankResult(index=i, relevance_score=round(score, 6), document=doc if decoded.return_documents else None)
        )
    results.sort(key=lambda r: (-r.relevance_score, r.index))
    if decoded.top_n is not None:
        results = results[: decoded.top_n]
    response = RerankResponse(results=results, model=decoded.model)
    return Reply(200, {}, json.dumps(codec.encode_response(response)).encode())


#: Path suffix (or ``:method`` marker) -> handler.
ENDPOINT_ROUTES: Dict[str, Callable[[RecordedRequest], Reply]] = {
    "/embeddings": openai_embeddings,
    ":embedContent": gemini_embeddings,
    ":batchEmbedContents": gemini_embeddings,
    "/images/generations": openai_images,
    "/audio/transcriptions": openai_transcriptions,
    "/audio/speech": openai_speech,
    "/rerank": openai_rerank,
}

#: The wire format each route speaks (what `RecordedRequest.protocol` says).
ROUTE_FORMATS: Dict[str, str] = {
    "/embeddings": "open_ai_embeddings",
    ":embedContent": "gemini_embed_content",
    ":batchEmbedContents": "gemini_embed_content",
    "/images/generations": "open_ai_image_generations",
    "/audio/transcriptions": "open_ai_audio_transcriptions",
    "/audio/speech": "open_ai_audio_speech",
    "/rerank": "open_ai_rerank",
}


def route_of(path: str) -> Optional[str]:
    """The endpoint route that serves ``path``, if any."""
    for marker in ENDPOINT_ROUTES:
        if path.endswith(marker):
            return marker
    return None
