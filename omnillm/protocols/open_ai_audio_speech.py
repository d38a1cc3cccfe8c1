"""Codec for OpenAI text-to-speech (``POST /audio/speech``): a JSON request, a binary audio response.

Wire shape per openai-python (``SpeechCreateParams``; the response is the encoded audio,
requested with ``Accept: application/octet-stream``). The response side works on bytes:
`decode_response` takes the body and its media type, `encode_response` returns the body.
The audio is never re-encoded, so its bytes survive exactly. The media type comes from
the response's ``content-type`` when it names audio, else from the requested format
(`media_type_for`), since servers label audio inconsistently.

Both directions check the same rules, so that whatever decodes also encodes: a
non-empty ``input``, a voice name or an object with a non-empty ``id``,
``response_format`` one of mp3, opus, aac, flac, wav, pcm, ``speed`` 0.25 to 4.0 and
``stream_format`` ``audio`` or ``sse``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

from ..api import AudioSpeechRequest, AudioSpeechResponse
from ..errors import DecodeError
from ..report import LossLog
from ._common import Obj, Reader, describe, with_extension
from ._endpoints import Check, read_model, require_model, restore, unknown

PROTOCOL = "open_ai_audio_speech"

_R = Reader(PROTOCOL)
_C = Check(PROTOCOL)
_DECODED = Check(PROTOCOL, DecodeError)

_REQUEST_KEYS = frozenset({"model", "input", "voice", "instructions", "response_format", "speed", "stream_format"})

_MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
_FORMATS = tuple(_MEDIA_TYPES)
_STREAM_FORMATS = ("audio", "sse")


def media_type_for(response_format: Optional[str]) -> str:
    """The media type of a speech ``response_format`` (mp3, the API default, when None)."""
    return _MEDIA_TYPES.get(response_format or "mp3", "application/octet-stream")


def _decode_voice(r: Obj) -> Union[str, Dict[str, Any]]:
    voice = _R.req(r, "voice", "")
    if isinstance(voice, str):
        return voice
    if isinstance(voice, dict):
        _R.req_str(voice, "id", "voice")
        return voice
    raise _R.fail("voice", f"expected a voice name or an object with an id, got {describe(voice)}")


def _check(request: AudioSpeechRequest, check: Check) -> None:
    """The rules both directions share; the wire and canonical field names are the same."""
    check.req_text(request.input, "input")
    voice = request.voice
    if isinstance(voice, dict):
        check.req_text(voice.get("id"), "voice.id")
    elif not isinstance(voice, str) or not voice:
        got = "an empty string" if isinstance(voice, str) else describe(voice)
        raise check.fail("voice", f"expected a voice name or an object with an id, got {got}")
    check.opt_text(request.instructions, "instructions")
    check.opt_choice(request.response_format, "response_format", _FORMATS)
    check.opt_number(request.speed, "speed", 0.25, 4.0)
    check.opt_choice(request.stream_format, "stream_format", _STREAM_FORMATS)


def decode_request(raw: Dict[str, Any]) -> AudioSpeechRequest:
    """A speech request body as an `AudioSpeechRequest`."""
    r = _R.obj(raw, "")
    request = AudioSpeechRequest(
        model=read_model(_R, r),
        input=_R.req_str(r, "input", ""),
        voice=_decode_voice(r),
        instructions=_R.opt_str(r, "instructions", ""),
        response_format=_R.opt_str(r, "response_format", ""),
        speed=_R.opt_num(r, "speed", ""),
        stream_format=_R.opt_str(r, "stream_format", ""),
        extensions=with_extension(PROTOCOL, unknown(r, _REQUEST_KEYS)),
    )
    _check(request, _DECODED)
    return request


def encode_request(request: AudioSpeechRequest, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """An `AudioSpeechRequest` as a speech request body."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    _C.extensions(request.extensions)
    _check(request, _C)
    out: Obj = {"model": require_model(request.model, PROTOCOL), "input": request.input, "voice": request.voice}
    for key, value in (
        ("instructions", request.instructions),
        ("response_format", request.response_format),
        ("speed", request.speed),
        ("stream_format", request.stream_format),
    ):
        if value is not None:
            out[key] = value
    restore(out, request.extensions, PROTOCOL, losses, "")
    return out


def decode_response(body: bytes, media_type: str = "", response_format: Optional[str] = None) -> AudioSpeechResponse:
    """A speech response body as an `AudioSpeechResponse` (the bytes kept exactly).

    ``media_type`` is the response's content type; when it does not name audio the
    requested ``response_format`` decides.
    """
    if not isinstance(body, (bytes, bytearray)):
        raise _R.fail("", f"expected the audio bytes, got {type(body).__name__}")
    kind = media_type.split(";", 1)[0].strip().lower()
    if not kind.startswith("audio/"):
        kind = media_type_for(response_format)
    return AudioSpeechResponse(audio=bytes(body), media_type=kind)


def encode_response(response: AudioSpeechResponse, losses: Optional[LossLog] = None) -> bytes:
    """An `AudioSpeechResponse` as its body: the audio bytes, unchanged."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    if response.model:
        losses.add("L-RESPONSE-MODEL", "model", f"{PROTOCOL} responses do not name the model ({response.model!r})")
    for proto, fields in response.extensions.items():
        if fields:
            names = ", ".join(sorted(fields))
            losses.add("L-EXTENSION", "", f"{proto} field(s) {names} cannot travel in an audio body")
    return bytes(response.audio)
