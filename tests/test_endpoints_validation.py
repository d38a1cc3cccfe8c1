"""Validation of the non-generation requests: a bad canonical field fails at emission, naming the protocol and path.

Every case goes through `omnillm.emit_transport_request`, the call a user makes. A
table of bad values covers every field of every family's request type (a meta-test
checks that), good values (edges of each range included) still emit, and the SDKs'
request types judge the emitted bodies. The decoders apply the same rules, so that
whatever decodes also encodes.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Dict, List, Tuple

import pytest

from omnillm import emit_transport_request, parse_transport_response
from omnillm.api import (
    AudioSpeechRequest,
    AudioTranscriptionRequest,
    EmbeddingRequest,
    EmbeddingResponse,
    ImageGenerationRequest,
    RerankRequest,
    RerankResponse,
    family_of,
)
from omnillm.errors import DecodeError, EncodeError, WireFormatError
from omnillm.http import Headers, Multipart, MultipartField, TransportResponse
from omnillm.model import LlmRequest, LlmResponse, Message, OpaquePart
from omnillm.multipart import multipart_fields_of
from omnillm.protocols import endpoint_codec
from omnillm.wire import EndpointFamily

EMB = "open_ai_embeddings"
GEM = "gemini_embed_content"
IMG = "open_ai_image_generations"
TRN = "open_ai_audio_transcriptions"
SPK = "open_ai_audio_speech"
RRK = "open_ai_rerank"

GOOD: Dict[str, Any] = {
    EMB: EmbeddingRequest(
        "text-embedding-3-small", ["first", "second"], dimensions=8, encoding_format="float", user="u-1", batch=True
    ),
    GEM: EmbeddingRequest(
        "gemini-embedding-001", ["first", "second"], dimensions=8, task_type="RETRIEVAL_DOCUMENT", title="t"
    ),
    IMG: ImageGenerationRequest(
        "gpt-image-1.5",
        "a fox",
        n=2,
        size="1024x1024",
        quality="high",
        background="opaque",
        output_format="webp",
        output_compression=80,
        moderation="auto",
        user="u-1",
    ),
    TRN: AudioTranscriptionRequest(
        "whisper-1",
        b"RIFF\x00\x00WAVE",
        filename="clip.wav",
        media_type="audio/wav",
        language="en",
        prompt="names: Ada",
        temperature=0.2,
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        stream=False,
    ),
    SPK: AudioSpeechRequest(
        "gpt-4o-mini-tts", "Hello there.", "alloy", instructions="calm", response_format="wav", speed=1.5
    ),
    RRK: RerankRequest(
        "bge-reranker", "capital of France", ["Paris", {"text": "Lyon"}], top_n=1, return_documents=True
    ),
}

# (format, changed fields, expected path, a fragment of the problem)
BAD: List[Tuple[str, Dict[str, Any], str, str]] = [
    # ------------------------------------------------------------------ open_ai_embeddings
    (EMB, {"model": ""}, "model", "required"),
    (EMB, {"model": None}, "model", "expected a string"),
    (EMB, {"inputs": []}, "inputs", "at least one input"),
    (EMB, {"inputs": None}, "inputs", "expected a list of inputs"),
    (EMB, {"inputs": {"a": 1}}, "inputs", "expected a list of inputs"),
    (EMB, {"inputs": ["a", "b", 3.5]}, "inputs[2]", "expected text or a token array"),
    (EMB, {"inputs": ["a", None]}, "inputs[1]", "expected text or a token array"),
    (EMB, {"inputs": ["a", ""]}, "inputs[1]", "must not be empty"),
    (EMB, {"inputs": ""}, "inputs[0]", "must not be empty"),
    (EMB, {"inputs": [1, 2, 3]}, "inputs[0]", "[[1, 2, 3]]"),
    (EMB, {"inputs": [[]]}, "inputs[0]", "must not be empty"),
    (EMB, {"inputs": [[1, "2"]]}, "inputs[0][1]", "token id"),
    (EMB, {"inputs": [[1, True]]}, "inputs[0][1]", "token id"),
    (EMB, {"inputs": [[1, -2]]}, "inputs[0][1]", "never negative"),
    (EMB, {"inputs": ["a", [1]]}, "inputs", "cannot mix"),
    (EMB, {"inputs": [OpaquePart(GEM, {"parts": [{"inline_data": {}}]})]}, "inputs[0]", "non-text parts"),
    (EMB, {"dimensions": "8"}, "dimensions", "expected an integer, got a string"),
    (EMB, {"dimensions": 8.0}, "dimensions", "expected an integer"),
    (EMB, {"dimensions": True}, "dimensions", "expected an integer, got a boolean"),
    (EMB, {"dimensions": 0}, "dimensions", "at least 1"),
    (EMB, {"encoding_format": "int8"}, "encoding_format", "'float', 'base64'"),
    (EMB, {"encoding_format": 1}, "encoding_format", "got a number"),
    (EMB, {"task_type": 1}, "task_type", "expected a string"),
    (EMB, {"title": ["t"]}, "title", "expected a string"),
    (EMB, {"user": 42}, "user", "expected a string"),
    (EMB, {"batch": "yes"}, "batch", "expected a boolean"),
    (EMB, {"extensions": []}, "extensions", "expected a dict"),
    (EMB, {"extensions": {EMB: None}}, f"extensions[{EMB!r}]", "expected a dict"),
    # ------------------------------------------------------------------ gemini_embed_content
    (GEM, {"model": 5}, "model", "expected a string"),
    (GEM, {"inputs": []}, "inputs", "at least one input"),
    (GEM, {"inputs": 7}, "inputs", "expected a list of inputs"),
    (GEM, {"inputs": ["a", ""]}, "inputs[1]", "must not be empty"),
    (GEM, {"inputs": ["a", [1, 2]]}, "inputs[1]", "not token arrays"),
    (GEM, {"inputs": ["a", 2]}, "inputs[1]", "expected text"),
    (GEM, {"inputs": [OpaquePart(EMB, {"x": 1})]}, "inputs[0]", "cannot be sent as Gemini content"),
    (GEM, {"dimensions": "768"}, "dimensions", "expected an integer"),
    (GEM, {"dimensions": -1}, "dimensions", "at least 1"),
    (GEM, {"encoding_format": "int8"}, "encoding_format", "expected one of"),
    (GEM, {"task_type": 3}, "task_type", "expected a string"),
    (GEM, {"title": 3}, "title", "expected a string"),
    (GEM, {"user": 3}, "user", "expected a string"),
    (GEM, {"batch": 1}, "batch", "expected a boolean"),
    (GEM, {"extensions": {GEM: "x"}}, f"extensions[{GEM!r}]", "expected a dict"),
    # ------------------------------------------------------------------ open_ai_image_generations
    (IMG, {"model": 5}, "model", "expected a string"),
    (IMG, {"prompt": None}, "prompt", "required"),
    (IMG, {"prompt": ""}, "prompt", "must not be empty"),
    (IMG, {"prompt": ["a fox"]}, "prompt", "expected a string"),
    (IMG, {"n": "2"}, "n", "expected an integer, got a string"),
    (IMG, {"n": 0}, "n", "at least 1"),
    (IMG, {"n": True}, "n", "expected an integer"),
    (IMG, {"size": 1024}, "size", "expected a string"),
    (IMG, {"quality": 1}, "quality", "expected a string"),
    (IMG, {"style": 1}, "style", "expected a string"),
    (IMG, {"background": False}, "background", "expected a string"),
    (IMG, {"output_format": 1}, "output_format", "expected a string"),
    (IMG, {"output_compression": 101}, "output_compression", "between 0 and 100"),
    (IMG, {"output_compression": -1}, "output_compression", "between 0 and 100"),
    (IMG, {"output_compression": "80"}, "output_compression", "expected an integer"),
    (IMG, {"moderation": 1}, "moderation", "expected a string"),
    (IMG, {"response_format": "png"}, "response_format", "'url', 'b64_json'"),
    (IMG, {"user": 1}, "user", "expected a string"),
    (IMG, {"extensions": None}, "extensions", "expected a dict"),
    # ------------------------------------------------------------------ open_ai_audio_transcriptions
    (TRN, {"model": ""}, "model", "required"),
    (TRN, {"model": None}, "model", "expected a string"),
    (TRN, {"audio": b""}, "audio", "empty (0 bytes)"),
    (TRN, {"audio": None}, "audio", "required field is missing"),
    (TRN, {"audio": "abc"}, "audio", "got a string"),
    (TRN, {"audio": [1, 2]}, "audio", "got list"),
    (TRN, {"filename": ""}, "filename", "a filename is required"),
    (TRN, {"filename": None}, "filename", "required field is missing"),
    (TRN, {"filename": "a\r\nb.wav"}, "filename", "line breaks"),
    (TRN, {"media_type": "audio wav"}, "media_type", "media type"),
    (TRN, {"media_type": "audio/wav\r\nX-Injected: 1"}, "media_type", "media type"),
    (TRN, {"media_type": "audio/wäv"}, "media_type", "media type"),
    (TRN, {"media_type": 5}, "media_type", "expected a string"),
    (TRN, {"language": 5}, "language", "expected a string"),
    (TRN, {"prompt": 5}, "prompt", "expected a string"),
    (TRN, {"temperature": "hot"}, "temperature", "expected a number, got a string"),
    (TRN, {"temperature": True}, "temperature", "expected a number, got a boolean"),
    (TRN, {"temperature": 1.5}, "temperature", "between 0 and 1"),
    (TRN, {"temperature": -0.1}, "temperature", "between 0 and 1"),
    (TRN, {"temperature": math.nan}, "temperature", "between 0 and 1"),
    (TRN, {"response_format": "json2"}, "response_format", "'verbose_json'"),
    (TRN, {"response_format": 1}, "response_format", "expected one of"),
    (TRN, {"timestamp_granularities": "word"}, "timestamp_granularities", "expected a list of strings"),
    (TRN, {"timestamp_granularities": ["word", "sentence"]}, "timestamp_granularities[1]", "'word', 'segment'"),
    (TRN, {"timestamp_granularities": [None]}, "timestamp_granularities[0]", "required"),
    (TRN, {"include": "logprobs"}, "include", "expected a list of strings"),
    (TRN, {"include": [5]}, "include[0]", "expected a string"),
    (TRN, {"include": [""]}, "include[0]", "must not be empty"),
    (TRN, {"stream": "true"}, "stream", "expected a boolean"),
    (
        TRN,
        {"extensions": {TRN: {"chunking_strategy": {"type": "auto"}}}},
        f"extensions[{TRN!r}].chunking_strategy",
        "text, a number or a boolean",
    ),
    (
        TRN,
        {"extensions": {TRN: {"known_speaker_names[]": ["a", None]}}},
        f"extensions[{TRN!r}].known_speaker_names[]",
        "got null",
    ),
    (TRN, {"extensions": {SPK: 1}}, f"extensions[{SPK!r}]", "expected a dict"),
    # ------------------------------------------------------------------ open_ai_audio_speech
    (SPK, {"model": ""}, "model", "required"),
    (SPK, {"input": None}, "input", "required"),
    (SPK, {"input": ""}, "input", "must not be empty"),
    (SPK, {"input": 5}, "input", "expected a string"),
    (SPK, {"voice": None}, "voice", "got null"),
    (SPK, {"voice": ""}, "voice", "got an empty string"),
    (SPK, {"voice": 5}, "voice", "voice name"),
    (SPK, {"voice": {}}, "voice.id", "required"),
    (SPK, {"voice": {"id": 5}}, "voice.id", "expected a string"),
    (SPK, {"instructions": 5}, "instructions", "expected a string"),
    (SPK, {"response_format": "ogg"}, "response_format", "'mp3', 'opus', 'aac', 'flac', 'wav', 'pcm', got 'ogg'"),
    (SPK, {"speed": "fast"}, "speed", "expected a number, got a string"),
    (SPK, {"speed": 0.2}, "speed", "between 0.25 and 4"),
    (SPK, {"speed": 4.5}, "speed", "between 0.25 and 4"),
    (SPK, {"speed": math.inf}, "speed", "between 0.25 and 4"),
    (SPK, {"stream_format": "chunks"}, "stream_format", "'audio', 'sse'"),
    (SPK, {"extensions": {SPK: []}}, f"extensions[{SPK!r}]", "expected a dict"),
    # ------------------------------------------------------------------ open_ai_rerank
    (RRK, {"model": 5}, "model", "expected a string"),
    (RRK, {"query": None}, "query", "required"),
    (RRK, {"query": ""}, "query", "must not be empty"),
    (RRK, {"query": 5}, "query", "expected a string"),
    (RRK, {"documents": []}, "documents", "must not be empty"),
    (RRK, {"documents": "Paris"}, "documents", "expected a list of documents"),
    (RRK, {"documents": None}, "documents", "expected a list of documents"),
    (RRK, {"documents": [1]}, "documents[0]", "expected a string or an object"),
    (RRK, {"documents": ["a", None]}, "documents[1]", "expected a string or an object"),
    (RRK, {"top_n": "2"}, "top_n", "expected an integer, got a string"),
    (RRK, {"top_n": -1}, "top_n", "at least 0"),
    (RRK, {"top_n": True}, "top_n", "expected an integer"),
    (RRK, {"return_documents": "yes"}, "return_documents", "expected a boolean"),
    (RRK, {"extensions": {RRK: 0}}, f"extensions[{RRK!r}]", "expected a dict"),
]


def _case_id(case: Tuple[str, Dict[str, Any], str, str]) -> str:
    fmt, changes, path, _ = case
    return f"{fmt}-{path}-{'-'.join(f'{k}={v!r}' for k, v in changes.items())[:40]}"


@pytest.mark.parametrize(("fmt", "changes", "path", "fragment"), BAD, ids=[_case_id(c) for c in BAD])
def test_a_bad_field_fails_emission_naming_the_protocol_and_the_path(
    fmt: str, changes: Dict[str, Any], path: str, fragment: str
) -> None:
    request = dataclasses.replace(GOOD[fmt], **changes)
    with pytest.raises(EncodeError) as info:
        emit_transport_request(request, fmt)
    assert info.value.protocol == fmt
    assert info.value.path == path
    assert str(info.value).startswith(f"{fmt}: {path}: ")
    assert fragment in info.value.problem


@pytest.mark.parametrize("fmt", sorted(GOOD))
def test_the_table_covers_every_field_of_every_request_type(fmt: str) -> None:
    covered = set()
    for case_fmt, changes, _, _ in BAD:
        if case_fmt == fmt:
            covered.update(changes)
    fields = {f.name for f in dataclasses.fields(GOOD[fmt])}
    assert fields - covered == set()


# =========================================================================== good inputs


def _json(request: Any, fmt: str) -> Any:
    return json.loads(emit_transport_request(request, fmt).body_bytes())


def _strict(params_type: Any, body: Dict[str, Any]) -> None:
    from pydantic import TypeAdapter

    TypeAdapter(params_type).validate_python(body, strict=True)


GOOD_VARIANTS: List[Tuple[str, Dict[str, Any]]] = [
    (EMB, {}),
    (EMB, {"inputs": ("a", "b"), "batch": None}),
    (EMB, {"inputs": [[1, 2], [0]], "dimensions": 1, "encoding_format": "base64"}),
    (EMB, {"inputs": [[5, 6, 7]], "batch": False, "user": None, "dimensions": None}),
    (EMB, {"inputs": [OpaquePart(GEM, {"parts": [{"text": "x"}, {"text": "y"}]})]}),
    (GEM, {}),
    (GEM, {"inputs": "one", "dimensions": 1, "encoding_format": "base64", "user": "u"}),
    (IMG, {}),
    (IMG, {"model": "", "n": 1, "output_compression": 0}),
    (IMG, {"output_compression": 100, "response_format": "b64_json"}),
    (TRN, {}),
    (TRN, {"audio": bytearray(b"abc"), "temperature": 0, "response_format": "srt", "timestamp_granularities": None}),
    (TRN, {"audio": memoryview(b"abc"), "temperature": 1.0, "media_type": "audio/webm; codecs=opus"}),
    (TRN, {"include": ["logprobs"], "media_type": None, "extensions": {TRN: {"chunking_strategy": "auto"}}}),
    (SPK, {}),
    (SPK, {"speed": 0.25, "voice": {"id": "voice_123"}, "stream_format": "audio"}),
    (SPK, {"speed": 4, "response_format": "pcm", "stream_format": "sse"}),
    (RRK, {}),
    (RRK, {"top_n": 0, "model": "", "return_documents": None, "documents": ("a",)}),
]


@pytest.mark.parametrize(("fmt", "changes"), GOOD_VARIANTS)
def test_good_requests_emit_and_decode_back(fmt: str, changes: Dict[str, Any]) -> None:
    request = dataclasses.replace(GOOD[fmt], **changes)
    emitted = emit_transport_request(request, fmt)
    module = endpoint_codec(fmt)
    if isinstance(emitted.body, Multipart):
        fields, _ = multipart_fields_of(emitted.body_bytes(), emitted.headers["content-type"])
        decoded = module.decode_request(fields)
        assert decoded.audio == bytes(request.audio)
    else:
        decoded = module.decode_request(json.loads(emitted.body_bytes()))
    assert module.encode_request(decoded) == module.encode_request(request)


@pytest.mark.parametrize(("fmt", "changes"), [v for v in GOOD_VARIANTS if v[0] in (EMB, IMG, SPK)])
def test_good_bodies_pass_the_sdk_request_types_strictly(fmt: str, changes: Dict[str, Any]) -> None:
    from openai.types import EmbeddingCreateParams, ImageGenerateParams
    from openai.types.audio import SpeechCreateParams

    params = {EMB: EmbeddingCreateParams, IMG: ImageGenerateParams, SPK: SpeechCreateParams}[fmt]
    _strict(params, _json(dataclasses.replace(GOOD[fmt], **changes), fmt))


def test_the_bodies_the_old_code_let_through_are_refused_by_the_sdk_types_too() -> None:
    from openai.types import EmbeddingCreateParams, ImageGenerateParams
    from openai.types.audio import SpeechCreateParams
    from pydantic import ValidationError

    for params, body in (
        (EmbeddingCreateParams, {"model": "m", "input": "a", "dimensions": "8"}),
        (SpeechCreateParams, {"model": "tts-1", "input": "x", "voice": "alloy", "response_format": "ogg"}),
        (SpeechCreateParams, {"model": "tts-1", "input": None, "voice": "alloy"}),
        (ImageGenerateParams, {"prompt": "p", "n": "2"}),
    ):
        with pytest.raises(ValidationError):
            _strict(params, body)


def test_a_bare_string_is_one_input_not_its_characters() -> None:
    assert _json(EmbeddingRequest("m", "abc"), EMB) == {"model": "m", "input": "abc"}  # type: ignore[arg-type]
    body = _json(EmbeddingRequest("m", "abc"), GEM)  # type: ignore[arg-type]
    assert body == {"content": {"parts": [{"text": "abc"}]}, "model": "models/m"}
    assert emit_transport_request(EmbeddingRequest("m", "abc"), GEM).url == "/models/m:embedContent"  # type: ignore[arg-type]


def test_a_multipart_header_cannot_be_injected_through_the_media_type() -> None:
    request = dataclasses.replace(GOOD[TRN], media_type="audio/wav\r\nContent-Disposition: form-data; name=model")
    with pytest.raises(EncodeError) as info:
        emit_transport_request(request, TRN).body_bytes()
    assert (info.value.protocol, info.value.path) == (TRN, "media_type")


# =========================================================================== decoding applies the same rules

DECODE_BAD: List[Tuple[str, Any, str]] = [
    (EMB, {"model": "m", "input": ""}, "input"),
    (EMB, {"model": "m", "input": ["a", ""]}, "input[1]"),
    (EMB, {"model": "m", "input": [1, -1]}, "input[1]"),
    (EMB, {"model": "m", "input": "a", "dimensions": 0}, "dimensions"),
    (GEM, {"content": {"parts": [{"text": ""}]}}, "content.parts[0].text"),
    (GEM, {"content": {"parts": [{"text": "a"}]}, "outputDimensionality": 0}, "outputDimensionality"),
    (IMG, {"prompt": ""}, "prompt"),
    (IMG, {"prompt": "p", "n": 0}, "n"),
    (IMG, {"prompt": "p", "output_compression": 120}, "output_compression"),
    (IMG, {"prompt": "p", "response_format": "png"}, "response_format"),
    (SPK, {"model": "tts-1", "input": "", "voice": "alloy"}, "input"),
    (SPK, {"model": "tts-1", "input": "x", "voice": ""}, "voice"),
    (SPK, {"model": "tts-1", "input": "x", "voice": "alloy", "speed": 5}, "speed"),
    (SPK, {"model": "tts-1", "input": "x", "voice": "alloy", "response_format": "ogg"}, "response_format"),
    (SPK, {"model": "tts-1", "input": "x", "voice": "alloy", "stream_format": "chunks"}, "stream_format"),
    (RRK, {"query": "", "documents": ["a"]}, "query"),
    (RRK, {"query": "q", "documents": ["a"], "top_n": -1}, "top_n"),
]


@pytest.mark.parametrize(("fmt", "body", "path"), DECODE_BAD)
def test_decoding_refuses_what_encoding_would(fmt: str, body: Any, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        endpoint_codec(fmt).decode_request(body)
    assert (info.value.protocol, info.value.path) == (fmt, path)


@pytest.mark.parametrize(
    ("name", "replacement", "path"),
    [
        ("file", MultipartField("file", b"", filename="a.wav", content_type="audio/wav"), "file"),
        ("file", MultipartField("file", b"x", filename="a.wav", content_type="audio wav"), "media_type"),
        ("model", MultipartField("model", ""), "model"),
        ("temperature", MultipartField("temperature", "2"), "temperature"),
        ("response_format", MultipartField("response_format", "json2"), "response_format"),
        (
            "timestamp_granularities[]",
            MultipartField("timestamp_granularities[]", "sentence"),
            "timestamp_granularities[0]",
        ),
    ],
)
def test_decoding_a_transcription_form_refuses_what_encoding_would(
    name: str, replacement: MultipartField, path: str
) -> None:
    module = endpoint_codec(TRN)
    fields = [f for f in module.encode_request(GOOD[TRN]) if f.name != name] + [replacement]
    with pytest.raises(DecodeError) as info:
        module.decode_request(fields)
    assert (info.value.protocol, info.value.path) == (TRN, path)


# =========================================================================== endpoint families


def test_family_of_is_one_spelling_for_every_value_class_and_family() -> None:
    request = LlmRequest(model="m", messages=[Message.user("hi")])
    assert family_of(request) is EndpointFamily.GENERATION
    assert family_of(LlmRequest) is EndpointFamily.GENERATION
    assert family_of(LlmResponse) is EndpointFamily.GENERATION
    assert family_of(RerankResponse) is EndpointFamily.RERANK
    assert family_of(EmbeddingRequest) is EmbeddingRequest.family
    assert family_of(EndpointFamily.AUDIO_SPEECH) is EndpointFamily.AUDIO_SPEECH

    class Tagged(EmbeddingResponse):
        pass

    assert family_of(Tagged()) is EndpointFamily.EMBEDDINGS
    assert family_of(Tagged) is EndpointFamily.EMBEDDINGS
    assert family_of(dict) is None
    assert family_of("embeddings") is None
    for fmt, request in GOOD.items():
        assert family_of(request) is request.family, fmt


def _rerank_answer() -> TransportResponse:
    body = {"results": [{"index": 1, "relevance_score": 0.9}], "model": "bge-reranker"}
    return TransportResponse(200, Headers({"content-type": "application/json"}), json.dumps(body).encode())


def test_parse_transport_response_takes_the_family_instead_of_the_request() -> None:
    parsed = parse_transport_response(_rerank_answer(), RRK, EndpointFamily.RERANK)
    assert isinstance(parsed, RerankResponse)
    assert [(r.index, r.relevance_score) for r in parsed.results] == [(1, 0.9)]
    assert parse_transport_response(_rerank_answer(), RRK, GOOD[RRK]) == parsed


def test_parse_transport_response_refuses_a_family_the_format_does_not_serve() -> None:
    with pytest.raises(WireFormatError, match="open_ai_rerank serves rerank, not embeddings"):
        parse_transport_response(_rerank_answer(), RRK, EndpointFamily.EMBEDDINGS)


def test_a_transcript_in_a_text_format_reads_with_only_the_family() -> None:
    answer = TransportResponse(200, Headers({"content-type": "text/plain"}), b"WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n")
    parsed = parse_transport_response(answer, TRN, EndpointFamily.AUDIO_TRANSCRIPTION)
    assert (parsed.text.startswith("WEBVTT"), parsed.response_format) == (True, "vtt")


def test_a_class_or_a_family_is_no_request_to_emit() -> None:
    with pytest.raises(WireFormatError, match="expected a request of the rerank family, got type"):
        emit_transport_request(RerankRequest, RRK)  # type: ignore[arg-type]
    with pytest.raises(WireFormatError, match="got EndpointFamily"):
        emit_transport_request(EndpointFamily.RERANK, RRK)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fmt, body",
    [
        ("open_ai_embeddings", {"model": "", "input": "x"}),
        ("open_ai_audio_speech", {"model": "", "input": "hi", "voice": "alloy"}),
    ],
)
def test_an_empty_model_is_refused_on_the_way_in_as_on_the_way_out(fmt: str, body: Dict[str, Any]) -> None:
    # Found by test_mutated_corpus_bodies_only_raise_omnillm_errors: the decoder took "", the encoder refused it.
    from omnillm.protocols import endpoint_codec

    with pytest.raises(DecodeError, match=f"{fmt}: model: a model is required"):
        endpoint_codec(fmt).decode_request(body)
