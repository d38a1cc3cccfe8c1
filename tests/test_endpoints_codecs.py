"""The non-generation codecs: exact same-format round trips, the SDKs' types as judges, bad input."""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, List, Tuple

import pytest
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
    TRANSCRIPTION_TEXT_BODIES,
    VECTOR,
    float32_base64,
    float32_values,
)

from omnillm.api import (
    ApiUsage,
    AudioSpeechResponse,
    AudioTranscriptionRequest,
    AudioTranscriptionResponse,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    GeneratedImage,
    ImageGenerationRequest,
    ImageGenerationResponse,
    RerankResult,
    TranscriptionSegment,
    TranscriptionWord,
    family_of,
)
from omnillm.errors import DecodeError, EncodeError, OmniLLMError, WireFormatError
from omnillm.http import MultipartField
from omnillm.model import LlmRequest, LlmResponse, OpaquePart
from omnillm.protocols import endpoint_codec
from omnillm.protocols import gemini_embed_content as gemini
from omnillm.protocols import open_ai_audio_speech as speech
from omnillm.protocols import open_ai_audio_transcriptions as transcriptions
from omnillm.protocols import open_ai_embeddings as embeddings
from omnillm.protocols import open_ai_image_generations as images
from omnillm.protocols import open_ai_rerank as rerank
from omnillm.report import LossLog
from omnillm.wire import EndpointFamily

JSON_CORPORA: List[Tuple[Any, str, List[Tuple[str, Dict[str, Any]]]]] = [
    (embeddings, "request", OPEN_AI_EMBEDDINGS_REQUESTS),
    (embeddings, "response", OPEN_AI_EMBEDDINGS_RESPONSES),
    (gemini, "request", GEMINI_EMBED_REQUESTS),
    (gemini, "response", GEMINI_EMBED_RESPONSES),
    (images, "request", IMAGE_REQUESTS),
    (images, "response", IMAGE_RESPONSES),
    (speech, "request", SPEECH_REQUESTS),
    (transcriptions, "response", TRANSCRIPTION_RESPONSES),
    (rerank, "request", RERANK_REQUESTS),
    (rerank, "response", RERANK_RESPONSES),
]

CASES = [
    pytest.param(module, side, body, id=f"{module.PROTOCOL}-{side}-{name}")
    for module, side, corpus in JSON_CORPORA
    for name, body in corpus
]


@pytest.mark.parametrize(("module", "side", "body"), CASES)
def test_same_format_round_trip_is_exact_and_lossless(module: Any, side: str, body: Dict[str, Any]) -> None:
    original = copy.deepcopy(body)
    decode = getattr(module, f"decode_{side}")
    encode = getattr(module, f"encode_{side}")
    losses = LossLog(module.PROTOCOL)
    out = encode(decode(body), losses)
    assert out == original
    assert json.dumps(out, sort_keys=True) == json.dumps(original, sort_keys=True)
    assert losses.entries == []
    assert body == original, "decoding must not mutate its input"


def test_endpoint_codec_loads_only_non_generation_formats() -> None:
    assert endpoint_codec("open_ai_embeddings") is embeddings
    assert endpoint_codec("gemini_embed_content") is gemini
    with pytest.raises(WireFormatError, match="generation"):
        endpoint_codec("open_ai_chat_completions")
    with pytest.raises(WireFormatError, match="unknown wire format"):
        endpoint_codec("open_ai_moderations")


def test_every_type_names_its_family() -> None:
    assert EmbeddingRequest.family is EndpointFamily.EMBEDDINGS
    assert family_of(EmbeddingRequest("m", ["x"])) is EndpointFamily.EMBEDDINGS
    assert family_of(ImageGenerationResponse()) is EndpointFamily.IMAGE_GENERATION
    assert family_of(AudioSpeechResponse(b"")) is EndpointFamily.AUDIO_SPEECH
    assert family_of(LlmRequest(model="m")) is EndpointFamily.GENERATION
    assert family_of(LlmResponse(id="", model="m")) is EndpointFamily.GENERATION
    assert family_of("not a request") is None


# =========================================================================== embeddings


def test_openai_input_shapes_decode_to_inputs_and_batch_hint() -> None:
    single = embeddings.decode_request({"model": "m", "input": "hello"})
    assert (single.inputs, single.batch) == (["hello"], False)
    one = embeddings.decode_request({"model": "m", "input": ["hello"]})
    assert (one.inputs, one.batch) == (["hello"], True)
    tokens = embeddings.decode_request({"model": "m", "input": [1, 2, 3]})
    assert (tokens.inputs, tokens.batch) == ([[1, 2, 3]], False)
    arrays = embeddings.decode_request({"model": "m", "input": [[1], [2, 3]]})
    assert (arrays.inputs, arrays.batch) == ([[1], [2, 3]], True)


def test_encoder_chooses_a_list_only_for_several_inputs_without_a_hint() -> None:
    assert embeddings.encode_request(EmbeddingRequest("m", ["a"]))["input"] == "a"
    assert embeddings.encode_request(EmbeddingRequest("m", ["a", "b"]))["input"] == ["a", "b"]
    assert embeddings.encode_request(EmbeddingRequest("m", [[5, 6]]))["input"] == [5, 6]
    assert "encoding_format" not in embeddings.encode_request(EmbeddingRequest("m", ["a"]))


def test_base64_embeddings_decode_to_the_float32_values() -> None:
    body = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": float32_base64(VECTOR)}],
        "model": "m",
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
    }
    decoded = embeddings.decode_response(body)
    assert decoded.encoding_format == "base64"
    assert decoded.vectors == [float32_values(VECTOR)]
    as_float = copy.deepcopy(body)
    as_float["data"][0]["embedding"] = float32_values(VECTOR)
    assert embeddings.decode_response(as_float).vectors == decoded.vectors
    # Close to the float64 originals, exact to the float32 ones.
    assert decoded.vectors[0] == pytest.approx(VECTOR, rel=1e-6)


def test_float_vectors_written_as_base64_report_float32_rounding() -> None:
    response = EmbeddingResponse("m", [Embedding(0, [0.1, 0.5])], ApiUsage(1, total_tokens=1), encoding_format="base64")
    losses = LossLog()
    out = embeddings.encode_response(response, losses)
    assert out["data"][0]["embedding"] == float32_base64([0.1, 0.5])
    assert [loss.code for loss in losses.entries] == ["L-EMBED-PRECISION"]
    exact = EmbeddingResponse("m", [Embedding(0, [0.5, -2.0])], ApiUsage(1, total_tokens=1), encoding_format="base64")
    clean = LossLog()
    embeddings.encode_response(exact, clean)
    assert clean.entries == []


def test_openai_embedding_bodies_validate_against_the_sdk_types() -> None:
    from openai.types import CreateEmbeddingResponse, EmbeddingCreateParams
    from pydantic import TypeAdapter

    params = TypeAdapter(EmbeddingCreateParams)
    allowed = EmbeddingCreateParams.__required_keys__ | EmbeddingCreateParams.__optional_keys__
    for request in (
        EmbeddingRequest("text-embedding-3-small", ["a", "b"], dimensions=64, encoding_format="base64", user="u"),
        EmbeddingRequest("text-embedding-3-small", [[1, 2, 3]]),
        EmbeddingRequest("text-embedding-3-small", ["x"], batch=True),
    ):
        body = embeddings.encode_request(request)
        params.validate_python(body)
        assert set(body) <= allowed
    response = EmbeddingResponse(
        "text-embedding-3-small",
        [Embedding(1, [0.5]), Embedding(0, [0.25, 1.0])],
        ApiUsage(input_tokens=3, total_tokens=3),
    )
    parsed = CreateEmbeddingResponse.model_validate(embeddings.encode_response(response))
    assert parsed.usage.prompt_tokens == 3
    assert [d.embedding for d in parsed.data] == [[0.5], [0.25, 1.0]]
    assert not parsed.model_extra
    for name, body in OPEN_AI_EMBEDDINGS_RESPONSES:
        # Base64 strings are decoded by the SDK client, not its model; Infinity's old shape is not OpenAI's.
        if name not in ("base64 batch", "older Infinity shape"):
            assert CreateEmbeddingResponse.model_validate(body).data


def test_missing_usage_is_written_as_zero_and_reported() -> None:
    losses = LossLog()
    out = embeddings.encode_response(EmbeddingResponse("m", [Embedding(0, [1.0])]), losses)
    assert out["usage"] == {"prompt_tokens": 0, "total_tokens": 0}
    assert [loss.code for loss in losses.entries] == ["L-EMBED-USAGE"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"model": "m", "input": []}, "input"),
        ({"model": "m"}, "input"),
        ({"input": "x"}, "model"),
        ({"model": 3, "input": "x"}, "model"),
        ({"model": "m", "input": ["a", 1]}, "input[1]"),
        ({"model": "m", "input": [[1], []]}, "input[1]"),
        ({"model": "m", "input": [[1], ["a"]]}, "input[1][0]"),
        ({"model": "m", "input": [1, 2.5]}, "input[1]"),
        ({"model": "m", "input": {"text": "x"}}, "input"),
        ({"model": "m", "input": "x", "dimensions": "8"}, "dimensions"),
        ({"model": "m", "input": "x", "encoding_format": "int8"}, "encoding_format"),
    ],
)
def test_bad_openai_embedding_requests_name_the_path(body: Dict[str, Any], path: str) -> None:
    with pytest.raises(DecodeError) as info:
        embeddings.decode_request(body)
    assert info.value.path == path
    assert str(info.value).startswith(f"open_ai_embeddings: {path}:")


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ([{"index": 0, "embedding": "not base64!"}], "data[0].embedding"),
        ([{"index": 0, "embedding": "AAAAAAA="}], "data[0].embedding"),
        ([{"index": 0, "embedding": [0.1, "x"]}], "data[0].embedding[1]"),
        ([{"embedding": [0.1]}], "data[0].index"),
        ([{"index": 0, "embedding": [0.1]}, {"index": 1, "embedding": "AAAAAA=="}], "data[1].embedding"),
        ("nope", "data"),
    ],
)
def test_bad_openai_embedding_responses_name_the_path(data: Any, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        embeddings.decode_response({"object": "list", "data": data, "model": "m"})
    assert info.value.path == path


def test_encoding_impossible_embedding_requests_is_an_error() -> None:
    with pytest.raises(EncodeError, match="at least one input"):
        embeddings.encode_request(EmbeddingRequest("m", []))
    with pytest.raises(EncodeError, match="mix"):
        embeddings.encode_request(EmbeddingRequest("m", ["a", [1]]))
    with pytest.raises(EncodeError, match="model"):
        embeddings.encode_request(EmbeddingRequest("", ["a"]))
    with pytest.raises(EncodeError, match="token arrays"):
        gemini.encode_request(EmbeddingRequest("m", [[1, 2]]))


def test_gemini_batch_decodes_config_model_and_role_hint() -> None:
    body = dict(GEMINI_EMBED_REQUESTS)["google-genai batch"]
    request = gemini.decode_request(body)
    assert request.model == "gemini-embedding-001"
    assert request.inputs == ["doc one", "doc two"]
    assert (request.task_type, request.title, request.dimensions, request.batch) == ("RETRIEVAL_DOCUMENT", "T", 2, True)


def test_gemini_non_text_content_is_kept_verbatim() -> None:
    body = dict(GEMINI_EMBED_REQUESTS)["batch with a multi-part content"]
    request = gemini.decode_request(body)
    assert request.inputs[0] == OpaquePart("gemini_embed_content", {"parts": [{"text": "x"}, {"text": "y"}]})
    assert request.inputs[1] == "plain"
    losses = LossLog()
    out = embeddings.encode_request(request, losses)
    assert out["input"] == ["xy", "plain"]
    assert [loss.code for loss in losses.entries] == ["L-EMBED-INPUT-PARTS"]
    media = gemini.decode_request(dict(GEMINI_EMBED_REQUESTS)["batch with inline data"])
    with pytest.raises(EncodeError, match="non-text"):
        embeddings.encode_request(media)


def test_gemini_batch_with_varying_configuration_is_refused_with_its_path() -> None:
    body = {
        "requests": [
            {"content": {"parts": [{"text": "a"}]}, "taskType": "RETRIEVAL_QUERY"},
            {"content": {"parts": [{"text": "b"}]}, "taskType": "CLUSTERING"},
        ]
    }
    with pytest.raises(DecodeError, match=r"requests\[1\]: taskType differs"):
        gemini.decode_request(body)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"requests": []}, "requests"),
        ({}, "content"),
        ({"content": "text"}, "content"),
        ({"content": {"parts": "x"}}, "content.parts"),
        ({"content": {"parts": ["x"]}}, "content.parts[0]"),
        ({"requests": [{"content": {"parts": []}}, {"model": "models/m"}]}, "requests[1].content"),
        ({"content": {"parts": [{"text": "a"}]}, "outputDimensionality": 1.5}, "outputDimensionality"),
        ({"content": {"parts": [{"text": "a"}]}, "taskType": 7}, "taskType"),
    ],
)
def test_bad_gemini_requests_name_the_path(body: Dict[str, Any], path: str) -> None:
    with pytest.raises(DecodeError) as info:
        gemini.decode_request(body)
    assert info.value.path == path


def test_gemini_bodies_validate_against_google_genai_types() -> None:
    from google.genai import types

    request = EmbeddingRequest(
        "gemini-embedding-001", ["a", "b"], dimensions=3, task_type="SEMANTIC_SIMILARITY", title="t"
    )
    body = gemini.encode_request(request)
    for item in body["requests"]:
        types.Content.model_validate(item["content"])
        config = {k: v for k, v in item.items() if k not in ("content", "model")}
        parsed = types.EmbedContentConfig.model_validate(config)
        assert (parsed.task_type, parsed.output_dimensionality, parsed.title) == ("SEMANTIC_SIMILARITY", 3, "t")
        assert item["model"] == "models/gemini-embedding-001"
    response = EmbeddingResponse(
        embeddings=[Embedding(0, [0.5]), Embedding(1, [1.5])], usage=ApiUsage(4, total_tokens=4)
    )
    parsed_response = types.EmbedContentResponse.model_validate(gemini.encode_response(response))
    assert [e.values for e in parsed_response.embeddings or []] == [[0.5], [1.5]]
    assert parsed_response.usage_metadata is not None and parsed_response.usage_metadata.prompt_token_count == 4


def test_gemini_responses_are_positional() -> None:
    response = EmbeddingResponse(embeddings=[Embedding(1, [2.0]), Embedding(0, [1.0])])
    assert gemini.encode_response(response)["embeddings"] == [{"values": [1.0]}, {"values": [2.0]}]
    assert gemini.decode_response({"embeddings": [{"values": [1]}, {"values": [2]}]}).embeddings[1].index == 1
    with pytest.raises(DecodeError) as info:
        gemini.decode_response({"embeddings": [{"values": [1, True]}]})
    assert info.value.path == "embeddings[0].values[1]"
    with pytest.raises(DecodeError, match="embeddings: required"):
        gemini.decode_response({})


# =========================================================================== images


def test_image_bodies_validate_against_the_sdk_types() -> None:
    from openai.types import ImageGenerateParams, ImagesResponse
    from pydantic import TypeAdapter

    adapter = TypeAdapter(ImageGenerateParams)
    for _, body in IMAGE_REQUESTS:
        adapter.validate_python(images.encode_request(images.decode_request(body)))
    request = ImageGenerationRequest(
        "gpt-image-1.5", "a fox", n=2, size="1536x1024", quality="medium", background="opaque", output_format="png"
    )
    adapter.validate_python(images.encode_request(request))
    response = ImageGenerationResponse(
        created=1700000000,
        images=[GeneratedImage(b64_json="aGVsbG8=", revised_prompt="a red fox")],
        output_format="png",
        size="1536x1024",
        usage=ApiUsage(input_tokens=5, output_tokens=10, total_tokens=15),
    )
    losses = LossLog(images.PROTOCOL)
    parsed = ImagesResponse.model_validate(images.encode_response(response, losses))
    assert parsed.data is not None and parsed.data[0].b64_json == "aGVsbG8="
    assert parsed.usage is not None and parsed.usage.input_tokens_details.text_tokens == 5
    assert parsed.usage.input_tokens_details.image_tokens == 0
    assert losses.entries == []
    for _, body in IMAGE_RESPONSES:
        ImagesResponse.model_validate(images.encode_response(images.decode_response(body)))


def test_image_usage_gets_every_count_the_sdk_requires() -> None:
    from openai.types import ImagesResponse

    losses = LossLog(images.PROTOCOL)
    out = images.encode_response(ImageGenerationResponse(created=1, usage=ApiUsage(output_tokens=7)), losses)
    assert out["usage"] == {
        "input_tokens": 0,
        "output_tokens": 7,
        "total_tokens": 7,
        "input_tokens_details": {"text_tokens": 0, "image_tokens": 0},
    }
    assert [e.code for e in losses.entries] == ["L-IMAGE-USAGE"]
    ImagesResponse.model_validate(out)
    # Details the provider sent are written back as sent, not recomputed.
    body = {
        "created": 1,
        "usage": {
            "input_tokens": 9,
            "input_tokens_details": {"text_tokens": 4, "image_tokens": 5},
            "output_tokens": 1,
            "total_tokens": 10,
        },
    }
    assert images.encode_response(images.decode_response(body))["usage"] == body["usage"]


def test_image_errors_name_the_path() -> None:
    with pytest.raises(DecodeError, match="prompt: required"):
        images.decode_request({"model": "m"})
    with pytest.raises(DecodeError) as info:
        images.decode_request({"prompt": "p", "n": "2"})
    assert info.value.path == "n"
    with pytest.raises(DecodeError) as info:
        images.decode_response({"created": 1, "data": [{"url": 5}]})
    assert info.value.path == "data[0].url"


# =========================================================================== transcription


def test_transcription_responses_validate_against_the_sdk_models() -> None:
    from openai.types.audio import Transcription, TranscriptionDiarized, TranscriptionVerbose

    models = {"json": Transcription, "verbose_json": TranscriptionVerbose, "diarized_json": TranscriptionDiarized}
    seen = set()
    for _, body in TRANSCRIPTION_RESPONSES:
        decoded = transcriptions.decode_response(body)
        assert decoded.response_format in models
        seen.add(decoded.response_format)
        models[decoded.response_format].model_validate(transcriptions.encode_response(decoded))
    assert seen == set(models)
    built = AudioTranscriptionResponse(
        text="hi there",
        language="english",
        duration=1.5,
        segments=[
            TranscriptionSegment(
                0,
                0.0,
                1.5,
                "hi there",
                seek=0,
                tokens=[50364, 1011],
                temperature=0.0,
                avg_logprob=-0.2,
                compression_ratio=0.9,
                no_speech_prob=0.01,
            )
        ],
        words=[TranscriptionWord("hi", 0.0, 0.5), TranscriptionWord("there", 0.5, 1.5)],
        usage=ApiUsage(seconds=2),
        response_format="verbose_json",
    )
    verbose = TranscriptionVerbose.model_validate(transcriptions.encode_response(built))
    assert verbose.words is not None and [w.word for w in verbose.words] == ["hi", "there"]
    assert verbose.usage is not None and verbose.usage.seconds == 2
    tokens = Transcription.model_validate(
        transcriptions.encode_response(AudioTranscriptionResponse(text="x", usage=ApiUsage(3, 4)))
    )
    assert tokens.usage is not None and tokens.usage.type == "tokens" and tokens.usage.total_tokens == 7


@pytest.mark.parametrize(("fmt", "text"), TRANSCRIPTION_TEXT_BODIES)
def test_text_srt_and_vtt_are_text_not_json(fmt: str, text: str) -> None:
    sniffed = transcriptions.decode_response(text)
    assert (sniffed.text, sniffed.response_format) == (text, fmt)
    told = transcriptions.decode_response(text, fmt)
    assert told.response_format == fmt
    losses = LossLog()
    assert transcriptions.encode_response(told, losses) == text
    assert losses.entries == []


def test_a_text_format_cannot_carry_segments_and_says_so() -> None:
    response = AudioTranscriptionResponse(
        text="hi", segments=[TranscriptionSegment(0, 0, 1, "hi")], response_format="srt"
    )
    losses = LossLog()
    assert transcriptions.encode_response(response, losses) == "hi"
    assert [loss.code for loss in losses.entries] == ["L-TRANSCRIPT-TEXT-FORMAT"]


def _fields(*pairs: Tuple[str, str]) -> List[MultipartField]:
    return [MultipartField(n, v) for n, v in pairs] + [
        MultipartField("file", b"RIFF\x00\x00WAVE", filename="speech.wav", content_type="audio/wav")
    ]


def test_transcription_fields_decode_and_re_encode_the_same_fields() -> None:
    fields = _fields(
        ("model", "gpt-4o-transcribe"),
        ("chunking_strategy[type]", "server_vad"),
        ("chunking_strategy[threshold]", "0.5"),
        ("include[]", "logprobs"),
        ("language", "en"),
        ("prompt", "Names: Ada, Grace"),
        ("response_format", "json"),
        ("stream", "false"),
        ("temperature", "0"),
        ("timestamp_granularities[]", "word"),
        ("timestamp_granularities[]", "segment"),
        ("known_speaker_names[]", "agent"),
    )
    request = transcriptions.decode_request(fields)
    assert request.audio == b"RIFF\x00\x00WAVE"
    assert (request.filename, request.media_type, request.temperature, request.stream) == (
        "speech.wav",
        "audio/wav",
        0,
        False,
    )
    assert request.timestamp_granularities == ["word", "segment"]
    losses = LossLog()
    out = transcriptions.encode_request(request, losses)
    assert sorted(out, key=lambda f: f.name) == sorted(fields, key=lambda f: f.name)
    assert out[-1].name == "file" and out[0].name == "model"
    assert losses.entries == []


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ([MultipartField("model", "whisper-1")], "file"),
        ([MultipartField("model", "whisper-1"), MultipartField("file", b"x")], "file"),
        ([MultipartField("file", b"x", filename="a.wav")], "model"),
        (_fields(("model", "m"), ("temperature", "warm")), "temperature"),
        (_fields(("model", "m"), ("stream", "yes")), "stream"),
        (_fields(("model", "m"), ("language", "en"), ("language", "de")), "language"),
        ([*_fields(("model", "m")), MultipartField("file", b"y", filename="b.wav")], "file"),
        ("not fields", ""),
        ([{"name": "model"}], "fields[0]"),
    ],
)
def test_bad_transcription_fields_name_the_field(fields: Any, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        transcriptions.decode_request(fields)
    assert info.value.path == path


def test_transcription_request_without_audio_cannot_be_encoded() -> None:
    with pytest.raises(EncodeError, match="audio"):
        transcriptions.encode_request(AudioTranscriptionRequest("whisper-1", b"", filename="a.wav"))


def test_bad_transcription_responses_name_the_path() -> None:
    with pytest.raises(DecodeError, match="text: required"):
        transcriptions.decode_response({"language": "en"})
    with pytest.raises(DecodeError) as info:
        transcriptions.decode_response({"text": "x", "segments": [{"id": 0, "start": "0", "end": 1, "text": "x"}]})
    assert info.value.path == "segments[0].start"
    with pytest.raises(DecodeError) as info:
        transcriptions.decode_response({"text": "x", "words": [{"word": "x", "start": 0}]})
    assert info.value.path == "words[0].end"


# =========================================================================== speech


def test_speech_bodies_validate_against_the_sdk_types() -> None:
    from openai.types.audio import SpeechCreateParams
    from pydantic import TypeAdapter

    adapter = TypeAdapter(SpeechCreateParams)
    allowed = SpeechCreateParams.__required_keys__ | SpeechCreateParams.__optional_keys__
    for _, body in SPEECH_REQUESTS:
        out = speech.encode_request(speech.decode_request(body))
        adapter.validate_python(out)
        assert set(out) <= allowed


def test_speech_audio_bytes_survive_exactly() -> None:
    audio = bytes(range(256)) * 3
    decoded = speech.decode_response(audio, "audio/wav")
    assert decoded.media_type == "audio/wav"
    assert speech.encode_response(decoded) == audio
    assert speech.decode_response(audio, "application/octet-stream", "opus").media_type == "audio/opus"
    assert speech.decode_response(audio).media_type == "audio/mpeg"
    with pytest.raises(DecodeError):
        speech.decode_response("text")  # type: ignore[arg-type]


def test_bad_speech_requests_name_the_path() -> None:
    for body, path in (
        ({"model": "tts-1", "input": "x"}, "voice"),
        ({"model": "tts-1", "input": "x", "voice": 3}, "voice"),
        ({"model": "tts-1", "input": "x", "voice": {"name": "v"}}, "voice.id"),
        ({"model": "tts-1", "voice": "alloy"}, "input"),
        ({"model": "tts-1", "input": "x", "voice": "alloy", "speed": "fast"}, "speed"),
    ):
        with pytest.raises(DecodeError) as info:
            speech.decode_request(body)
        assert info.value.path == path


# =========================================================================== rerank


def test_rerank_documents_and_echoes_keep_their_shape() -> None:
    response = rerank.decode_response(dict(RERANK_RESPONSES)["jina"])
    assert response.results[0].document_text == "Organic skincare for sensitive skin"
    assert response.usage == ApiUsage(input_tokens=815, total_tokens=815)
    older = rerank.decode_response(dict(RERANK_RESPONSES)["older infinity"])
    assert older.results[0].document_text == "a"
    cohere = rerank.decode_response(dict(RERANK_RESPONSES)["cohere v2"])
    assert cohere.usage is not None and cohere.usage.search_units == 1 and cohere.usage.input_tokens == 30
    assert [r.index for r in cohere.results] == [1, 0]
    assert RerankResult(0, 0.5, {"image": "x"}).document_text is None


def test_changed_rerank_usage_is_written_into_cohere_meta() -> None:
    response = rerank.decode_response(dict(RERANK_RESPONSES)["cohere v2"])
    assert response.usage is not None
    response.usage.search_units = 3
    out = rerank.encode_response(response)
    assert out["meta"]["billed_units"] == {"search_units": 3}
    assert out["meta"]["api_version"] == {"version": "2"}
    assert "usage" not in out


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"query": "q", "documents": []}, "documents"),
        ({"query": "q"}, "documents"),
        ({"documents": ["a"]}, "query"),
        ({"query": "q", "documents": ["a", 3]}, "documents[1]"),
        ({"query": "q", "documents": ["a"], "top_n": "1"}, "top_n"),
        ({"query": "q", "documents": ["a"], "return_documents": "yes"}, "return_documents"),
    ],
)
def test_bad_rerank_requests_name_the_path(body: Dict[str, Any], path: str) -> None:
    with pytest.raises(DecodeError) as info:
        rerank.decode_request(body)
    assert info.value.path == path


def test_bad_rerank_responses_name_the_path() -> None:
    with pytest.raises(DecodeError) as info:
        rerank.decode_response({"results": [{"index": 0}]})
    assert info.value.path == "results[0].relevance_score"
    with pytest.raises(DecodeError) as info:
        rerank.decode_response({"data": [{"index": "0", "relevance_score": 1}]})
    assert info.value.path == "data[0].index"
    with pytest.raises(DecodeError, match="results: required"):
        rerank.decode_response({})


@pytest.mark.parametrize("module", [embeddings, gemini, images, speech, rerank])
@pytest.mark.parametrize("raw", [None, [], "x", 3])
def test_non_object_bodies_raise_decode_error(module: Any, raw: Any) -> None:
    with pytest.raises(OmniLLMError):
        module.decode_request(raw)
    if module is not speech:
        with pytest.raises(OmniLLMError):
            module.decode_response(raw)
