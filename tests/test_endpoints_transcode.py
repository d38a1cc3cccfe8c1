"""transcode_api_request / transcode_api_response: bridges, losses, raw forms, impossible pairs."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
from corpus_endpoints import (
    GEMINI_EMBED_REQUESTS,
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

from omnillm.api import AudioTranscriptionRequest
from omnillm.endpoints import emit_transport_request, transcode_api_request, transcode_api_response
from omnillm.errors import ConversionError, DecodeError, EncodeError, UnsupportedError
from omnillm.http import Bytes, Headers, Multipart, MultipartField, TransportRequest, TransportResponse
from omnillm.multipart import decode_multipart, multipart_fields_of
from omnillm.transcode import transcode_request_report, transcode_response_report

SAME_FORMAT_REQUESTS = [
    ("open_ai_embeddings", OPEN_AI_EMBEDDINGS_REQUESTS),
    ("gemini_embed_content", GEMINI_EMBED_REQUESTS),
    ("open_ai_image_generations", IMAGE_REQUESTS),
    ("open_ai_audio_speech", SPEECH_REQUESTS),
    ("open_ai_rerank", RERANK_REQUESTS),
]
SAME_FORMAT_RESPONSES = [
    ("open_ai_embeddings", OPEN_AI_EMBEDDINGS_RESPONSES),
    ("open_ai_image_generations", IMAGE_RESPONSES),
    ("open_ai_audio_transcriptions", TRANSCRIPTION_RESPONSES),
    ("open_ai_rerank", RERANK_RESPONSES),
]


def codes(report: Any) -> List[str]:
    return [loss.code for loss in report.losses]


@pytest.mark.parametrize(
    ("fmt", "body"),
    [pytest.param(fmt, body, id=f"{fmt}-{name}") for fmt, corpus in SAME_FORMAT_REQUESTS for name, body in corpus],
)
def test_same_format_requests_pass_through_unchanged(fmt: str, body: Dict[str, Any]) -> None:
    for raw in (body, json.dumps(body), json.dumps(body).encode()):
        report = transcode_api_request(raw, fmt, fmt)
        assert json.loads(report.value) == body
        assert json.loads(report.body) == body
        assert (report.bridged, report.lossy, report.content_type) == (False, False, "application/json")


@pytest.mark.parametrize(
    ("fmt", "body"),
    [pytest.param(fmt, body, id=f"{fmt}-{name}") for fmt, corpus in SAME_FORMAT_RESPONSES for name, body in corpus],
)
def test_same_format_responses_pass_through_unchanged(fmt: str, body: Dict[str, Any]) -> None:
    report = transcode_api_response(body, fmt, fmt, strict=True)
    assert json.loads(report.value) == body


def test_generation_delegates_to_the_generation_transcoder() -> None:
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}
    report = transcode_api_request(chat, "open_ai_chat_completions", "open_ai_responses")
    assert report.bridged
    assert report.value == transcode_request_report(chat, "open_ai_chat_completions", "open_ai_responses").value
    assert json.loads(report.body)["input"][0]["content"] == "hi"
    response = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hello"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    out = transcode_api_response(response, "anthropic_messages", "open_ai_chat_completions")
    assert out.value == transcode_response_report(response, "anthropic_messages", "open_ai_chat_completions").value
    assert json.loads(out.value)["choices"][0]["message"]["content"] == "Hello"


def test_openai_embeddings_to_gemini_and_back_with_losses() -> None:
    body = {
        "model": "text-embedding-3-small",
        "input": ["first", "second"],
        "dimensions": 256,
        "encoding_format": "base64",
        "user": "u-1",
    }
    report = transcode_api_request(body, "open_ai_embeddings", "gemini_embed_content")
    gemini = json.loads(report.value)
    assert gemini == {
        "requests": [
            {
                "content": {"parts": [{"text": "first"}]},
                "outputDimensionality": 256,
                "model": "models/text-embedding-3-small",
            },
            {
                "content": {"parts": [{"text": "second"}]},
                "outputDimensionality": 256,
                "model": "models/text-embedding-3-small",
            },
        ]
    }
    assert report.bridged and report.lossy
    assert sorted(codes(report)) == ["L-EMBED-DIMENSIONS", "L-EMBED-ENCODING", "L-EMBED-USER"]
    assert any("outputDimensionality" in reason for reason in report.loss_reasons)
    back = transcode_api_request(report.value, "gemini_embed_content", "open_ai_embeddings")
    assert json.loads(back.value) == {
        "model": "text-embedding-3-small",
        "input": ["first", "second"],
        "dimensions": 256,
    }
    single = transcode_api_request({"model": "m", "input": "x"}, "open_ai_embeddings", "gemini_embed_content")
    assert json.loads(single.value) == {"content": {"parts": [{"text": "x"}]}, "model": "models/m"}
    assert not single.lossy


def test_gemini_task_type_and_title_are_reported_when_bridged_to_openai() -> None:
    body = dict(GEMINI_EMBED_REQUESTS)["google-genai batch"]
    report = transcode_api_request(body, "gemini_embed_content", "open_ai_embeddings")
    assert json.loads(report.value) == {
        "model": "gemini-embedding-001",
        "input": ["doc one", "doc two"],
        "dimensions": 2,
    }
    assert sorted(codes(report)) == ["L-EMBED-DIMENSIONS", "L-EMBED-TASK-TYPE", "L-EMBED-TITLE"]
    with pytest.raises(ConversionError) as info:
        transcode_api_request(body, "gemini_embed_content", "open_ai_embeddings", strict=True)
    assert "L-EMBED-TASK-TYPE" in str(info.value)


def test_token_inputs_cannot_go_to_gemini() -> None:
    with pytest.raises(EncodeError, match=r"inputs\[0\]"):
        transcode_api_request({"model": "m", "input": [1, 2, 3]}, "open_ai_embeddings", "gemini_embed_content")


def test_embedding_responses_bridge_both_ways_with_exact_floats() -> None:
    body = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 1, "embedding": float32_base64([1.0, 2.0])},
            {"object": "embedding", "index": 0, "embedding": float32_base64(VECTOR)},
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 5, "total_tokens": 5},
    }
    report = transcode_api_response(body, "open_ai_embeddings", "gemini_embed_content")
    assert json.loads(report.value) == {
        "embeddings": [{"values": float32_values(VECTOR)}, {"values": [1.0, 2.0]}],
        "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5},
    }
    assert codes(report) == ["L-RESPONSE-MODEL"]
    back = transcode_api_response(report.value, "gemini_embed_content", "open_ai_embeddings")
    out = json.loads(back.value)
    assert [d["embedding"] for d in out["data"]] == [float32_values(VECTOR), [1.0, 2.0]]
    assert out["usage"] == {"prompt_tokens": 5, "total_tokens": 5}
    bare = transcode_api_response({"embedding": {"values": [0.5]}}, "gemini_embed_content", "open_ai_embeddings")
    assert codes(bare) == ["L-EMBED-USAGE"]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("open_ai_rerank", "open_ai_audio_speech"),
        ("open_ai_embeddings", "open_ai_chat_completions"),
        ("anthropic_messages", "open_ai_image_generations"),
    ],
)
def test_impossible_bridges_name_both_formats(source: str, target: str) -> None:
    for transcode in (transcode_api_request, transcode_api_response):
        with pytest.raises(UnsupportedError) as info:
            transcode({"model": "m"}, source, target)
        assert source in str(info.value) and target in str(info.value)


def test_transcription_requests_round_trip_from_every_raw_form() -> None:
    request = AudioTranscriptionRequest(
        "whisper-1", b"RIFF\x00\x01WAVE", filename="a.wav", media_type="audio/wav", language="en", response_format="srt"
    )
    emitted = emit_transport_request(request, "open_ai_audio_transcriptions", boundary="omnillm-b")
    body = emitted.body_bytes()
    assert isinstance(emitted.body, Multipart)
    as_bytes = TransportRequest("POST", "/audio/transcriptions", emitted.headers.copy(), body=Bytes(body))
    for raw, knows_boundary in (
        (emitted, True),
        (as_bytes, True),
        (emitted.body, True),
        (list(emitted.body.fields), False),
        (body, True),
    ):
        report = transcode_api_request(raw, "open_ai_audio_transcriptions", "open_ai_audio_transcriptions")
        assert report.value == ""
        assert not report.lossy
        fields, _ = multipart_fields_of(report.body, report.content_type)
        assert fields == list(emitted.body.fields)
        assert (report.body == body) is knows_boundary, "the source boundary is reused when there is one"


def test_transcription_requests_from_sdk_bytes_keep_their_fields() -> None:
    sdk_like = (
        b'--abc\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        b'--abc\r\nContent-Disposition: form-data; name="chunking_strategy"\r\n\r\nauto\r\n'
        b'--abc\r\nContent-Disposition: form-data; name="file"; filename="x.mp3"\r\nContent-Type: audio/mpeg\r\n\r\n'
        b"\xff\xfb\r\n--abc--\r\n"
    )
    report = transcode_api_request(sdk_like, "open_ai_audio_transcriptions", "open_ai_audio_transcriptions")
    assert report.content_type == "multipart/form-data; boundary=abc"
    assert decode_multipart(report.body, "abc") == decode_multipart(sdk_like, "abc")
    with pytest.raises(DecodeError, match="boundary"):
        transcode_api_request(b"not multipart", "open_ai_audio_transcriptions", "open_ai_audio_transcriptions")
    with pytest.raises(DecodeError, match="file"):
        transcode_api_request(
            [MultipartField("model", "whisper-1")], "open_ai_audio_transcriptions", "open_ai_audio_transcriptions"
        )


@pytest.mark.parametrize(("fmt", "text"), TRANSCRIPTION_TEXT_BODIES)
def test_text_transcripts_transcode_as_text(fmt: str, text: str) -> None:
    for raw in (text, text.encode(), TransportResponse(200, Headers({"content-type": "text/plain"}), text.encode())):
        report = transcode_api_response(raw, "open_ai_audio_transcriptions", "open_ai_audio_transcriptions")
        assert report.value == text and report.body == text.encode()
        assert report.content_type.startswith("text/plain")


def test_speech_responses_transcode_byte_for_byte() -> None:
    audio = bytes(range(256))
    report = transcode_api_response(audio, "open_ai_audio_speech", "open_ai_audio_speech")
    assert (report.body, report.value, report.lossy) == (audio, "", False)
    labelled = TransportResponse(200, Headers({"content-type": "audio/wav"}), audio)
    assert transcode_api_response(labelled, "open_ai_audio_speech", "open_ai_audio_speech").body == audio
    with pytest.raises(DecodeError):
        transcode_api_response({"audio": "x"}, "open_ai_audio_speech", "open_ai_audio_speech")


def test_bad_raw_json_is_a_decode_error_naming_the_format() -> None:
    with pytest.raises(DecodeError, match="open_ai_rerank"):
        transcode_api_request("{", "open_ai_rerank", "open_ai_rerank")
    with pytest.raises(DecodeError, match="open_ai_embeddings: input"):
        transcode_api_request({"model": "m", "input": []}, "open_ai_embeddings", "gemini_embed_content")
