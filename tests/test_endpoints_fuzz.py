"""Property tests for the non-generation codecs: random and mutated bodies, only `OmniLLMError` escapes.

Whatever decodes must also encode into every format of its family (or fail with an
`OmniLLMError`), and re-encoding is a stable normal form: decoding what was encoded and
encoding it again gives the same body (exactness on realistic bodies is tested elsewhere).

The other way round, canonical requests with random field values either fail emission
with an `OmniLLMError` or emit a body that our decoder and the SDK's request type (where
openai-python has one) both accept: the emit-side validation lets nothing through that
the wire would refuse.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
from typing import Any, Dict, List, Tuple

from corpus_endpoints import (
    GEMINI_EMBED_REQUESTS,
    GEMINI_EMBED_RESPONSES,
    IMAGE_REQUESTS,
    IMAGE_RESPONSES,
    OPEN_AI_EMBEDDINGS_REQUESTS,
    OPEN_AI_EMBEDDINGS_RESPONSES,
    RERANK_REQUESTS,
    RERANK_RESPONSES,
    SPEECH_REQUESTS,
    TRANSCRIPTION_RESPONSES,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnillm.api import (
    AudioSpeechRequest,
    AudioTranscriptionRequest,
    EmbeddingRequest,
    ImageGenerationRequest,
    RerankRequest,
)
from omnillm.errors import OmniLLMError
from omnillm.http import MultipartField
from omnillm.protocols import endpoint_codec

SEEDS: List[Tuple[str, str, Dict[str, Any]]] = [
    (fmt, side, body)
    for fmt, side, corpus in (
        ("open_ai_embeddings", "request", OPEN_AI_EMBEDDINGS_REQUESTS),
        ("open_ai_embeddings", "response", OPEN_AI_EMBEDDINGS_RESPONSES),
        ("gemini_embed_content", "request", GEMINI_EMBED_REQUESTS),
        ("gemini_embed_content", "response", GEMINI_EMBED_RESPONSES),
        ("open_ai_image_generations", "request", IMAGE_REQUESTS),
        ("open_ai_image_generations", "response", IMAGE_RESPONSES),
        ("open_ai_audio_speech", "request", SPEECH_REQUESTS),
        ("open_ai_audio_transcriptions", "response", TRANSCRIPTION_RESPONSES),
        ("open_ai_rerank", "request", RERANK_REQUESTS),
        ("open_ai_rerank", "response", RERANK_RESPONSES),
    )
    for _, body in corpus
]

FAMILY_TARGETS = {
    "open_ai_embeddings": ["open_ai_embeddings", "gemini_embed_content"],
    "gemini_embed_content": ["open_ai_embeddings", "gemini_embed_content"],
}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


def _paths(value: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_paths(v, (*prefix, i)))
    return found


def _mutate(payload: Any, path: Tuple[Any, ...], delete: bool, replacement: Any) -> Any:
    if not path:
        return replacement
    doc = copy.deepcopy(payload)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return doc


def _exercise(fmt: str, side: str, doc: Any) -> None:
    module = endpoint_codec(fmt)
    try:
        decoded = getattr(module, f"decode_{side}")(copy.deepcopy(doc))
    except OmniLLMError:
        return
    encode = getattr(module, f"encode_{side}")
    once = encode(decoded)
    assert encode(getattr(module, f"decode_{side}")(copy.deepcopy(once))) == once
    for target in FAMILY_TARGETS.get(fmt, []):
        with contextlib.suppress(OmniLLMError):
            getattr(endpoint_codec(target), f"encode_{side}")(decoded)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_corpus_bodies_only_raise_omnillm_errors(data: st.DataObject) -> None:
    fmt, side, seed = data.draw(st.sampled_from(SEEDS))
    path = data.draw(st.sampled_from(_paths(seed)))
    delete = bool(path) and data.draw(st.booleans())
    doc = _mutate(seed, path, delete, None if delete else data.draw(json_values))
    _exercise(fmt, side, doc)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted({(fmt, side) for fmt, side, _ in SEEDS})), json_values)
def test_random_values_only_raise_omnillm_errors(target: Tuple[str, str], doc: Any) -> None:
    _exercise(target[0], target[1], doc)


fields = st.lists(
    st.builds(
        MultipartField,
        name=st.sampled_from(
            [
                "model",
                "file",
                "language",
                "prompt",
                "temperature",
                "stream",
                "include[]",
                "timestamp_granularities[]",
                "x",
            ]
        ),
        value=st.one_of(st.text(max_size=6), st.binary(max_size=6), st.sampled_from(["true", "0.5", "json", "1"])),
        filename=st.one_of(st.none(), st.just("a.wav")),
        content_type=st.one_of(st.none(), st.just("audio/wav")),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(fields)
def test_transcription_fields_only_raise_omnillm_errors(form: List[MultipartField]) -> None:
    module = endpoint_codec("open_ai_audio_transcriptions")
    try:
        decoded = module.decode_request(form)
    except OmniLLMError:
        return
    out = module.encode_request(decoded)
    assert sorted(f.name for f in out) == sorted(f.name for f in form)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_text_transcripts_always_decode_and_re_encode(text: str) -> None:
    module = endpoint_codec("open_ai_audio_transcriptions")
    assert module.encode_response(module.decode_response(text)) == text


# =========================================================================== canonical requests

# Values of the wrong type or shape for any field; the str/bytes/list ones also hit fields
# that take those types, where the emptiness and range rules decide.
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(""),
    st.binary(max_size=3),
    st.lists(st.integers(-1, 3), max_size=3),
    st.dictionaries(st.sampled_from(["id", "x"]), st.integers(), max_size=2),
)
texts = st.text(min_size=1, max_size=4)


def _maybe(valid: Any) -> Any:
    return st.one_of(st.none(), valid)


def _requests(cls: Any, fields: Dict[str, Any], bad: Any = junk) -> Any:
    """Requests of ``cls`` from plausible field values, half of them with one field set to a ``bad`` value."""

    @st.composite
    def build(draw: Any) -> Any:
        values = draw(st.fixed_dictionaries(fields))
        if draw(st.booleans()):
            values[draw(st.sampled_from(sorted(values)))] = draw(bad)
        return cls(**values)

    return build()


def _emit_or_refuse(request: Any, fmt: str) -> Any:
    """The emitted body as wire data, or None when emission refused the request with an `OmniLLMError`."""
    from omnillm import emit_transport_request
    from omnillm.http import Multipart
    from omnillm.multipart import multipart_fields_of

    try:
        emitted = emit_transport_request(request, fmt)
        data = emitted.body_bytes()
    except OmniLLMError:
        return None
    if isinstance(emitted.body, Multipart):
        return multipart_fields_of(data, emitted.headers["content-type"])[0]
    return json.loads(data)


@functools.cache
def _adapter(params_type: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(params_type)


def _sdk_accepts(params_type: Any, body: Dict[str, Any]) -> None:
    _adapter(params_type).validate_python(body, strict=True)


token_arrays = st.lists(st.integers(-1, 9), max_size=3)
embedding_requests = _requests(
    EmbeddingRequest,
    {
        "model": st.just("text-embedding-3-small"),
        "inputs": st.one_of(st.lists(st.one_of(st.text(max_size=3), token_arrays), max_size=3), st.text(max_size=3)),
        "dimensions": _maybe(st.integers(-1, 4096)),
        "encoding_format": _maybe(st.sampled_from(["float", "base64", "int8"])),
        "task_type": _maybe(texts),
        "title": _maybe(texts),
        "user": _maybe(texts),
        "batch": _maybe(st.booleans()),
    },
)


@settings(max_examples=200, deadline=None)
@given(embedding_requests, st.sampled_from(["open_ai_embeddings", "gemini_embed_content"]))
def test_emitted_embedding_requests_decode_and_pass_the_sdk_type(request: Any, fmt: str) -> None:
    from openai.types import EmbeddingCreateParams

    body = _emit_or_refuse(request, fmt)
    if body is None:
        return
    endpoint_codec(fmt).decode_request(body)
    if fmt == "open_ai_embeddings":
        _sdk_accepts(EmbeddingCreateParams, body)


# The pass-through strings (size, quality, ...) are type-checked only, so their values
# are drawn from what the SDK's Literal types allow; junk for them is never a string.
image_requests = _requests(
    ImageGenerationRequest,
    {
        "model": st.sampled_from(["gpt-image-1.5", ""]),
        "prompt": texts,
        "n": _maybe(st.integers(-1, 10)),
        "size": _maybe(st.sampled_from(["auto", "1024x1024", "1536x1024"])),
        "quality": _maybe(st.sampled_from(["low", "high", "auto", "hd"])),
        "style": _maybe(st.sampled_from(["vivid", "natural"])),
        "background": _maybe(st.sampled_from(["transparent", "opaque", "auto"])),
        "output_format": _maybe(st.sampled_from(["png", "webp", "jpeg"])),
        "output_compression": _maybe(st.integers(-5, 105)),
        "moderation": _maybe(st.sampled_from(["low", "auto"])),
        "response_format": _maybe(st.sampled_from(["url", "b64_json", "png"])),
        "user": _maybe(texts),
    },
    junk.filter(lambda v: not isinstance(v, str)),
)


@settings(max_examples=200, deadline=None)
@given(image_requests)
def test_emitted_image_requests_decode_and_pass_the_sdk_type(request: ImageGenerationRequest) -> None:
    from openai.types import ImageGenerateParams

    body = _emit_or_refuse(request, "open_ai_image_generations")
    if body is None:
        return
    endpoint_codec("open_ai_image_generations").decode_request(body)
    _sdk_accepts(ImageGenerateParams, body)


speech_requests = _requests(
    AudioSpeechRequest,
    {
        "model": st.just("gpt-4o-mini-tts"),
        "input": texts,
        "voice": st.one_of(st.just("alloy"), st.fixed_dictionaries({"id": st.one_of(texts, junk)})),
        "instructions": _maybe(texts),
        "response_format": _maybe(st.sampled_from(["mp3", "wav", "pcm", "ogg"])),
        "speed": _maybe(st.floats(0, 5)),
        "stream_format": _maybe(st.sampled_from(["audio", "sse", "chunks"])),
    },
)


@settings(max_examples=200, deadline=None)
@given(speech_requests)
def test_emitted_speech_requests_decode_and_pass_the_sdk_type(request: AudioSpeechRequest) -> None:
    from openai.types.audio import SpeechCreateParams

    body = _emit_or_refuse(request, "open_ai_audio_speech")
    if body is None:
        return
    endpoint_codec("open_ai_audio_speech").decode_request(body)
    _sdk_accepts(SpeechCreateParams, body)


transcription_requests = _requests(
    AudioTranscriptionRequest,
    {
        "model": st.just("whisper-1"),
        "audio": st.binary(max_size=4),
        "filename": st.sampled_from(["a.wav", "clip.mp3", "a\nb"]),
        "media_type": _maybe(st.sampled_from(["audio/wav", "audio/mpeg", "audio wav", "audio/wav\r\nX: 1"])),
        "language": _maybe(texts),
        "prompt": _maybe(texts),
        "temperature": _maybe(st.floats(-1, 2)),
        "response_format": _maybe(st.sampled_from(["json", "srt", "verbose_json", "xml"])),
        "timestamp_granularities": _maybe(st.lists(st.sampled_from(["word", "segment", "line"]), max_size=2)),
        "include": _maybe(st.lists(texts, max_size=2)),
        "stream": _maybe(st.booleans()),
    },
)


@settings(max_examples=200, deadline=None)
@given(transcription_requests)
def test_emitted_transcription_forms_decode_back(request: AudioTranscriptionRequest) -> None:
    fields = _emit_or_refuse(request, "open_ai_audio_transcriptions")
    if fields is None:
        return
    decoded = endpoint_codec("open_ai_audio_transcriptions").decode_request(fields)
    assert decoded.audio == bytes(request.audio)


rerank_requests = _requests(
    RerankRequest,
    {
        "model": st.sampled_from(["bge-reranker", ""]),
        "query": texts,
        "documents": st.lists(st.one_of(st.text(max_size=3), st.just({"text": "t"})), max_size=3),
        "top_n": _maybe(st.integers(-2, 5)),
        "return_documents": _maybe(st.booleans()),
    },
)


@settings(max_examples=200, deadline=None)
@given(rerank_requests)
def test_emitted_rerank_requests_decode_back(request: RerankRequest) -> None:
    body = _emit_or_refuse(request, "open_ai_rerank")
    if body is None:
        return
    assert endpoint_codec("open_ai_rerank").decode_request(body).documents == list(request.documents)
