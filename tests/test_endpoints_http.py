"""Transport-level emission and parsing, judged by the official SDKs over real 127.0.0.1 sockets."""

from __future__ import annotations

import email.parser
import email.policy
import json
from typing import Any, Dict, List, Optional, Tuple

import pytest
from corpus_endpoints import VECTOR, float32_values
from sdk_server import serve

from omnillm.api import (
    ApiUsage,
    AudioSpeechRequest,
    AudioSpeechResponse,
    AudioTranscriptionRequest,
    AudioTranscriptionResponse,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    GeneratedImage,
    ImageGenerationRequest,
    ImageGenerationResponse,
    RerankRequest,
    TranscriptionSegment,
    TranscriptionWord,
)
from omnillm.endpoints import ROUTES, emit_transport_request, parse_transport_response
from omnillm.errors import (
    AuthenticationError,
    DecodeError,
    EncodeError,
    ProviderError,
    RateLimitError,
    ServerError,
    UnsupportedError,
    WireFormatError,
)
from omnillm.http import ByteStream, Headers, Json, Multipart, TransportRequest, TransportResponse
from omnillm.model import LlmRequest, LlmResponse, Message, TextPart, Usage
from omnillm.multipart import multipart_fields_of
from omnillm.protocols import endpoint_codec
from omnillm.report import LossLog
from omnillm.wire import FAMILY_OF_FORMAT

_SPEECH = "open_ai_audio_speech"
_TRANSCRIPTIONS = "open_ai_audio_transcriptions"
AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) + b"\r\n--\r\n"


def response(body: Any, content_type: str = "application/json", status: int = 200, **headers: str) -> TransportResponse:
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    data = data.encode() if isinstance(data, str) else data
    return TransportResponse(status, Headers({"content-type": content_type, **headers}), data)


def parse_form(request: TransportRequest) -> List[Tuple[str, Optional[str], Optional[str], bytes]]:
    """The multipart body read back by the stdlib email parser (not our code)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode("ascii")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body_bytes())
    out = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        ctype = part.get_content_type() if part.get("content-type") else None
        out.append((str(part.get_param("name", header="content-disposition")), part.get_filename(), ctype, payload))
    return out


def test_every_wire_format_has_a_route() -> None:
    assert set(ROUTES) == set(FAMILY_OF_FORMAT)


# =========================================================================== emission


@pytest.mark.parametrize(
    ("request_", "fmt", "path"),
    [
        (EmbeddingRequest("text-embedding-3-small", ["a"]), "open_ai_embeddings", "/embeddings"),
        (
            EmbeddingRequest("gemini-embedding-001", ["a"]),
            "gemini_embed_content",
            "/models/gemini-embedding-001:embedContent",
        ),
        (
            EmbeddingRequest("gemini-embedding-001", ["a", "b"]),
            "gemini_embed_content",
            "/models/gemini-embedding-001:batchEmbedContents",
        ),
        (
            EmbeddingRequest("tunedModels/my-model", ["a"], batch=True),
            "gemini_embed_content",
            "/tunedModels/my-model:batchEmbedContents",
        ),
        (ImageGenerationRequest("gpt-image-1.5", "a fox"), "open_ai_image_generations", "/images/generations"),
        (AudioSpeechRequest("tts-1", "hello", "alloy"), "open_ai_audio_speech", "/audio/speech"),
        (RerankRequest("rerank-v3.5", "q", ["a"]), "open_ai_rerank", "/rerank"),
    ],
)
def test_json_endpoints_emit_post_with_the_codec_body(request_: Any, fmt: str, path: str) -> None:
    emitted = emit_transport_request(request_, fmt)
    assert (emitted.method, emitted.url, emitted.query) == ("POST", path, [])
    assert emitted.headers["content-type"] == "application/json"
    assert isinstance(emitted.body, Json)
    assert json.loads(emitted.body_bytes()) == endpoint_codec(fmt).encode_request(request_)
    assert "authorization" not in emitted.headers


def test_speech_asks_for_octet_stream_like_the_sdk() -> None:
    emitted = emit_transport_request(AudioSpeechRequest("tts-1", "hi", "alloy"), "open_ai_audio_speech")
    assert emitted.headers["accept"] == "application/octet-stream"
    sse = emit_transport_request(AudioSpeechRequest("gpt-4o-mini-tts", "hi", "alloy", stream_format="sse"), _SPEECH)
    assert sse.headers["accept"] == "text/event-stream"


def test_generation_formats_emit_their_paths_and_streaming_variants() -> None:
    request = LlmRequest(model="gemini-2.5-flash", messages=[Message.user("hi")], max_output_tokens=5)
    plain = emit_transport_request(request, "gemini_generate_content")
    assert (plain.url, plain.query, plain.headers["accept"]) == (
        "/models/gemini-2.5-flash:generateContent",
        [],
        "application/json",
    )
    assert isinstance(plain.body, Json) and "model" not in plain.body.value
    request.stream = True
    losses = LossLog()
    streamed = emit_transport_request(request, "gemini_generate_content", losses=losses)
    assert (streamed.url, streamed.query, streamed.headers["accept"]) == (
        "/models/gemini-2.5-flash:streamGenerateContent",
        [("alt", "sse")],
        "text/event-stream",
    )
    assert streamed.full_url() == "/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert losses.entries == [], "the endpoint carries stream; the body need not"
    for fmt, path in (
        ("open_ai_responses", "/responses"),
        ("open_ai_chat_completions", "/chat/completions"),
        ("anthropic_messages", "/messages"),
    ):
        emitted = emit_transport_request(LlmRequest(model="m", messages=[Message.user("hi")], stream=True), fmt)
        assert (emitted.url, emitted.headers["accept"]) == (path, "text/event-stream")
        assert isinstance(emitted.body, Json) and emitted.body.value["stream"] is True
        assert emitted.body.value["model"] == "m"


def test_bedrock_converse_route_puts_the_model_id_in_the_path() -> None:
    from omnillm.protocols import codec

    try:
        codec("bedrock_converse")
    except WireFormatError:
        pytest.skip("the bedrock_converse codec is not registered as a generation format yet")
    model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    request = LlmRequest(model=model, messages=[Message.user("hi")], max_output_tokens=10)
    emitted = emit_transport_request(request, "bedrock_converse")
    assert emitted.url == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    assert isinstance(emitted.body, Json) and "modelId" not in emitted.body.value
    request.stream = True
    streamed = emit_transport_request(request, "bedrock_converse")
    assert streamed.url.endswith("/converse-stream")
    assert streamed.headers["accept"] == "application/vnd.amazon.eventstream"


def test_a_model_is_required_where_the_url_names_it() -> None:
    with pytest.raises(EncodeError, match="model"):
        emit_transport_request(LlmRequest(model="", messages=[Message.user("x")]), "gemini_generate_content")
    with pytest.raises(EncodeError, match="model"):
        emit_transport_request(EmbeddingRequest("", ["x"]), "gemini_embed_content")


def test_a_request_of_another_family_is_refused_naming_both() -> None:
    with pytest.raises(WireFormatError) as info:
        emit_transport_request(RerankRequest("m", "q", ["a"]), "open_ai_audio_speech")  # type: ignore[arg-type]
    assert "open_ai_audio_speech" in str(info.value) and "RerankRequest" in str(info.value)
    with pytest.raises(WireFormatError):
        emit_transport_request({"model": "m"}, "open_ai_embeddings")  # type: ignore[arg-type]
    with pytest.raises(WireFormatError, match="unknown wire format"):
        emit_transport_request(EmbeddingRequest("m", ["a"]), "open_ai_embedding")


def test_transcription_multipart_parses_with_the_email_parser() -> None:
    request = AudioTranscriptionRequest(
        "whisper-1",
        AUDIO,
        filename="meeting.mp3",
        media_type="audio/mpeg",
        language="en",
        prompt='Names: "Ada"',
        temperature=0.2,
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    emitted = emit_transport_request(request, "open_ai_audio_transcriptions", boundary="fixed-boundary-123")
    assert emitted.headers["content-type"] == "multipart/form-data; boundary=fixed-boundary-123"
    assert emitted.url == "/audio/transcriptions"
    assert isinstance(emitted.body, Multipart)
    assert parse_form(emitted) == [
        ("model", None, None, b"whisper-1"),
        ("language", None, None, b"en"),
        ("prompt", None, None, b'Names: "Ada"'),
        ("response_format", None, None, b"verbose_json"),
        ("temperature", None, None, b"0.2"),
        ("timestamp_granularities[]", None, None, b"word"),
        ("timestamp_granularities[]", None, None, b"segment"),
        ("file", "meeting.mp3", "audio/mpeg", AUDIO),
    ]
    other = emit_transport_request(request, "open_ai_audio_transcriptions")
    assert other.headers["content-type"] != emitted.headers["content-type"], "a fresh boundary per request"


def test_transcription_form_fields_validate_against_the_sdk_params() -> None:
    from openai.types.audio.transcription_create_params import TranscriptionCreateParamsNonStreaming
    from pydantic import TypeAdapter
    from typing_extensions import TypedDict, get_type_hints

    hints = get_type_hints(TranscriptionCreateParamsNonStreaming, include_extras=True)
    # The file part is checked by hand below: pydantic cannot build a schema for IO[bytes].
    WithoutFile = TypedDict(  # type: ignore[misc]
        "WithoutFile", {k: v for k, v in hints.items() if k != "file"}, total=False
    )
    adapter = TypeAdapter(WithoutFile)
    request = AudioTranscriptionRequest(
        "gpt-4o-transcribe",
        AUDIO,
        filename="a.wav",
        media_type="audio/wav",
        include=["logprobs"],
        timestamp_granularities=["word"],
        temperature=0,
        stream=False,
        extensions={"open_ai_audio_transcriptions": {"chunking_strategy": "auto"}},
    )
    params: Dict[str, Any] = {}
    file_parts = []
    for name, filename, ctype, payload in parse_form(emit_transport_request(request, "open_ai_audio_transcriptions")):
        if filename is not None:
            file_parts.append((name, filename, ctype, payload))
        elif name.endswith("[]"):
            params.setdefault(name[:-2], []).append(payload.decode())
        else:
            params[name] = payload.decode()
    params["stream"] = params["stream"] == "true"
    adapter.validate_python(params)
    assert set(params) <= set(hints)
    assert file_parts == [("file", "a.wav", "audio/wav", AUDIO)]


def test_the_openai_sdk_sends_the_multipart_we_decode_and_emit() -> None:
    import openai

    with serve(json.dumps({"text": "ok"}), "application/json") as server:
        client = openai.OpenAI(api_key="sk-test", base_url=server.base_url + "/v1", max_retries=0)
        client.audio.transcriptions.create(
            model="whisper-1",
            file=("clip.wav", AUDIO, "audio/wav"),
            language="en",
            temperature=0.2,
            timestamp_granularities=["word", "segment"],
            response_format="verbose_json",
            include=["logprobs"],
            chunking_strategy={"type": "server_vad", "threshold": 0.5},
        )
    method, path, headers, body = server.requests[0]
    assert (method, path) == ("POST", "/v1/audio/transcriptions")
    fields, boundary = multipart_fields_of(body, headers["Content-Type"])
    decoded = endpoint_codec("open_ai_audio_transcriptions").decode_request(fields)
    assert decoded == AudioTranscriptionRequest(
        "whisper-1",
        AUDIO,
        filename="clip.wav",
        media_type="audio/wav",
        language="en",
        temperature=0.2,
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        include=["logprobs"],
        extensions={
            "open_ai_audio_transcriptions": {
                "chunking_strategy[type]": "server_vad",
                "chunking_strategy[threshold]": "0.5",
            }
        },
    )
    ours = emit_transport_request(decoded, "open_ai_audio_transcriptions", boundary=boundary)
    theirs = TransportRequest("POST", path, Headers({"content-type": headers["Content-Type"]}))
    theirs.body = Multipart(tuple(fields), boundary)
    assert sorted(parse_form(ours)) == sorted(parse_form(theirs))


# =========================================================================== parsing


def test_parse_embeddings_from_both_formats() -> None:
    body = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}],
        "model": "m",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    parsed = parse_transport_response(response(body), "open_ai_embeddings")
    assert isinstance(parsed, EmbeddingResponse) and parsed.vectors == [[0.5, 0.25]]
    gem = parse_transport_response(response({"embedding": {"values": [1.0]}}), "gemini_embed_content")
    assert isinstance(gem, EmbeddingResponse) and gem.vectors == [[1.0]] and gem.batch is False


def test_parse_speech_keeps_the_bytes_and_the_media_type() -> None:
    request = AudioSpeechRequest("tts-1", "hi", "alloy", response_format="flac")
    parsed = parse_transport_response(response(AUDIO, "audio/flac"), "open_ai_audio_speech", request)
    assert isinstance(parsed, AudioSpeechResponse)
    assert (parsed.audio, parsed.media_type) == (AUDIO, "audio/flac")
    unlabeled = parse_transport_response(response(AUDIO, "application/octet-stream"), _SPEECH, request)
    assert isinstance(unlabeled, AudioSpeechResponse) and unlabeled.media_type == "audio/flac"
    streamed = TransportResponse(
        200, Headers({"content-type": "audio/mpeg"}), stream=ByteStream(iter([AUDIO[:7], AUDIO[7:]]))
    )
    from_stream = parse_transport_response(streamed, _SPEECH)
    assert isinstance(from_stream, AudioSpeechResponse) and from_stream.audio == AUDIO


def test_parse_transcription_text_formats_as_text() -> None:
    srt = '1\n00:00:00,000 --> 00:00:01,000\n{"not": "json"}\n\n'
    request = AudioTranscriptionRequest("whisper-1", b"x", filename="a.wav", response_format="srt")
    parsed = parse_transport_response(
        response(srt, "text/plain; charset=utf-8"), "open_ai_audio_transcriptions", request
    )
    assert isinstance(parsed, AudioTranscriptionResponse)
    assert (parsed.text, parsed.response_format) == (srt, "srt")
    text_request = AudioTranscriptionRequest("whisper-1", b"x", filename="a.wav", response_format="text")
    plain = parse_transport_response(response("{braces} in speech\n", "text/plain"), _TRANSCRIPTIONS, text_request)
    assert isinstance(plain, AudioTranscriptionResponse) and plain.text == "{braces} in speech\n"
    as_json = parse_transport_response(response({"text": "hi"}), _TRANSCRIPTIONS)
    assert isinstance(as_json, AudioTranscriptionResponse) and as_json.text == "hi"
    assert emit_transport_request(request, _TRANSCRIPTIONS).headers["accept"] == "text/plain, application/json"


def test_parse_generation_json_and_sse() -> None:
    from omnillm.stream import events_from_response
    from omnillm.streaming import encode_stream

    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
    }
    parsed = parse_transport_response(response(body), "open_ai_chat_completions")
    assert isinstance(parsed, LlmResponse) and parsed.text == "Hello"
    expected = LlmResponse(
        id="chatcmpl-2",
        model="gpt-4o",
        output=[Message("assistant", [TextPart("Hello from a stream, in several chunks.")])],
        usage=Usage(input_tokens=3, output_tokens=9, total_tokens=12),
        created=1,
    )
    sse = "".join(encode_stream(events_from_response(expected, chunk_chars=5), "open_ai_chat_completions"))
    chunks = [sse[i : i + 17].encode() for i in range(0, len(sse), 17)]
    streamed = TransportResponse(200, Headers({"content-type": "text/event-stream"}), stream=ByteStream(iter(chunks)))
    folded = parse_transport_response(streamed, "open_ai_chat_completions")
    assert isinstance(folded, LlmResponse) and folded.text == expected.text
    assert folded.usage is not None and folded.usage.total == 12


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            401,
            {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}},
            AuthenticationError,
        ),
        (429, {"error": {"message": "Rate limit reached", "type": "requests"}}, RateLimitError),
        (500, {"error": {"message": "boom"}}, ServerError),
        (404, b"<html>not found</html>", ProviderError),
    ],
)
def test_non_2xx_raises_a_provider_error(status: int, body: Any, cls: type) -> None:
    with pytest.raises(cls) as info:
        parse_transport_response(response(body, status=status, **{"x-request-id": "req_123"}), "open_ai_embeddings")
    assert info.value.status == status
    assert info.value.request_id == "req_123"


def test_bad_bodies_raise_decode_errors_naming_the_protocol() -> None:
    with pytest.raises(DecodeError, match=r"^open_ai_embeddings: "):
        parse_transport_response(response(b"{not json"), "open_ai_embeddings")
    with pytest.raises(DecodeError, match=r"open_ai_rerank: results\[0\]\.index"):
        parse_transport_response(response({"results": [{"relevance_score": 1}]}), "open_ai_rerank")
    with pytest.raises(DecodeError):
        parse_transport_response(response(b"\xff\xfe", "text/plain"), _TRANSCRIPTIONS)
    with pytest.raises(UnsupportedError):
        parse_transport_response(response("data: {}\n\n", "text/event-stream"), _SPEECH)
    with pytest.raises(WireFormatError):
        parse_transport_response(response({}), _SPEECH, RerankRequest("m", "q", ["a"]))  # type: ignore[arg-type]


# =========================================================================== the SDKs as judges


def test_openai_sdk_embeddings_over_a_socket_with_its_default_base64() -> None:
    import openai

    ours = EmbeddingResponse(
        "text-embedding-3-small",
        [Embedding(0, float32_values(VECTOR)), Embedding(1, [1.0, -0.5])],
        ApiUsage(input_tokens=4, total_tokens=4),
        encoding_format="base64",
    )
    body = endpoint_codec("open_ai_embeddings").encode_response(ours)
    assert isinstance(body["data"][0]["embedding"], str)
    with serve(json.dumps(body), "application/json") as server:
        client = openai.OpenAI(api_key="sk-test", base_url=server.base_url + "/v1", max_retries=0)
        result = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    sent = json.loads(server.requests[0][3])
    decoded = endpoint_codec("open_ai_embeddings").decode_request(sent)
    assert decoded.encoding_format == "base64", "the SDK asks for base64 when the caller did not choose"
    assert decoded.inputs == ["a", "b"]
    assert [d.embedding for d in result.data] == [float32_values(VECTOR), [1.0, -0.5]]
    assert result.usage.prompt_tokens == 4


def test_openai_sdk_images_and_speech_over_a_socket() -> None:
    import openai

    ours = ImageGenerationResponse(
        created=1741476542,
        images=[GeneratedImage(b64_json="iVBORw0KGgo=", revised_prompt="a fox, watercolor")],
        output_format="png",
        size="1024x1024",
        quality="high",
        usage=ApiUsage(
            50,
            4160,
            4210,
            extensions={"open_ai_image_generations": {"input_tokens_details": {"text_tokens": 50, "image_tokens": 0}}},
        ),
    )
    with serve(
        json.dumps(endpoint_codec("open_ai_image_generations").encode_response(ours)), "application/json"
    ) as server:
        client = openai.OpenAI(api_key="sk-test", base_url=server.base_url + "/v1", max_retries=0)
        result = client.images.generate(model="gpt-image-1.5", prompt="a fox", size="1024x1024", quality="high")
    sent = endpoint_codec("open_ai_image_generations").decode_request(json.loads(server.requests[0][3]))
    assert (sent.model, sent.prompt, sent.size, sent.quality) == ("gpt-image-1.5", "a fox", "1024x1024", "high")
    assert result.data is not None and result.data[0].b64_json == "iVBORw0KGgo="
    assert result.usage is not None and result.usage.total_tokens == 4210

    audio = AudioSpeechResponse(AUDIO, "audio/mpeg")
    with serve(endpoint_codec(_SPEECH).encode_response(audio), "audio/mpeg") as server:
        client = openai.OpenAI(api_key="sk-test", base_url=server.base_url + "/v1", max_retries=0)
        spoken = client.audio.speech.create(model="tts-1", input="hello", voice="alloy", response_format="mp3")
        assert spoken.read() == AUDIO
    _method, path, headers, body = server.requests[0]
    assert (path, headers.get("accept")) == ("/v1/audio/speech", "application/octet-stream")
    emitted = emit_transport_request(endpoint_codec(_SPEECH).decode_request(json.loads(body)), _SPEECH)
    assert json.loads(emitted.body_bytes()) == json.loads(body)


def test_openai_sdk_reads_our_transcriptions_in_json_and_text_forms() -> None:
    import openai

    verbose = AudioTranscriptionResponse(
        text="Hello there.",
        language="english",
        duration=1.2,
        segments=[
            TranscriptionSegment(
                0,
                0.0,
                1.2,
                "Hello there.",
                seek=0,
                tokens=[1, 2],
                temperature=0.0,
                avg_logprob=-0.1,
                compression_ratio=1.0,
                no_speech_prob=0.01,
            )
        ],
        words=[TranscriptionWord("Hello", 0.0, 0.5), TranscriptionWord("there.", 0.5, 1.2)],
        usage=ApiUsage(seconds=2),
        response_format="verbose_json",
    )
    body = endpoint_codec(_TRANSCRIPTIONS).encode_response(verbose)
    with serve(json.dumps(body), "application/json") as server:
        client = openai.OpenAI(api_key="sk-test", base_url=server.base_url + "/v1", max_retries=0)
        result = client.audio.transcriptions.create(
            model="whisper-1",
            file=("a.wav", b"RIFF", "audio/wav"),
            response_format="verbose_json",
            timestamp_granularities=["word"],
        )
    assert result.text == "Hello there." and result.words is not None and result.words[1].word == "there."
    srt = "1\n00:00:00,000 --> 00:00:01,200\nHello there.\n\n"
    as_srt = AudioTranscriptionResponse(text=srt, response_format="srt")
    with serve(endpoint_codec(_TRANSCRIPTIONS).encode_response(as_srt), "text/plain") as server:
        client = openai.OpenAI(api_key="sk-test", base_url=server.base_url + "/v1", max_retries=0)
        text = client.audio.transcriptions.create(
            model="whisper-1", file=("a.wav", b"RIFF", "audio/wav"), response_format="srt"
        )
    assert text == srt


def test_google_genai_embed_content_over_a_socket() -> None:
    from google import genai
    from google.genai import types

    module = endpoint_codec("gemini_embed_content")
    ours = EmbeddingResponse(embeddings=[Embedding(0, [0.5, 0.25]), Embedding(1, [1.0, 2.0])], batch=True)
    with serve(json.dumps(module.encode_response(ours)), "application/json") as server:
        client = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=server.base_url))
        result = client.models.embed_content(
            model="gemini-embedding-001",
            contents=["first", "second"],
            config=types.EmbedContentConfig(task_type="RETRIEVAL_DOCUMENT", title="T", output_dimensionality=2),
        )
    assert [e.values for e in result.embeddings or []] == [[0.5, 0.25], [1.0, 2.0]]
    _method, path, _headers, body = server.requests[0]
    assert path.endswith("/models/gemini-embedding-001:batchEmbedContents")
    sent = json.loads(body)
    decoded = module.decode_request(sent)
    assert decoded.inputs == ["first", "second"]
    assert (decoded.model, decoded.task_type, decoded.title, decoded.dimensions) == (
        "gemini-embedding-001",
        "RETRIEVAL_DOCUMENT",
        "T",
        2,
    )
    emitted = emit_transport_request(decoded, "gemini_embed_content")
    assert json.loads(emitted.body_bytes()) == sent
    assert path.endswith(emitted.url)
