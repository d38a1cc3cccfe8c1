"""Codec for OpenAI audio transcription (``POST /audio/transcriptions``): multipart in, JSON or text out.

Wire shape per openai-python (``TranscriptionCreateParams``, ``Transcription``,
``TranscriptionVerbose``, ``TranscriptionDiarized``). Unlike the JSON codecs, the request
side works on form fields: `decode_request` takes the parsed `MultipartField` s (see
``omnillm.multipart.decode_multipart``) and `encode_request` returns them; choosing a
boundary and serialising is the caller's business (``omnillm.endpoints``), which keeps
this module pure. Choices worth knowing:

* **form encoding** follows openai-python: arrays as repeated ``name[]`` parts
  (``timestamp_granularities[]``, ``include[]``), numbers and booleans as their text
  (``0.2``, ``true``), the file last with its filename and content type. Fields without
  a canonical slot (``chunking_strategy`` or its bracketed ``chunking_strategy[type]``
  form, ``known_speaker_names[]``, ...) keep their names and text values in
  ``extensions`` (a list for repeated names).
* **responses**: ``json``, ``verbose_json`` and ``diarized_json`` are JSON objects
  (`decode_response` takes the dict); ``text``, ``srt`` and ``vtt`` are plain text
  bodies (it takes the ``str``) held whole in ``text``, never parsed as JSON. The
  response's ``response_format`` hint decides which form `encode_response` returns.
* **validation**, the same both ways so that whatever decodes also encodes: non-empty
  audio bytes with a non-empty filename free of line breaks, a ``type/subtype`` media
  type, ``temperature`` 0 to 1, a known ``response_format``, ``timestamp_granularities``
  of ``word`` / ``segment``, and text, number or boolean extension values. Errors from
  `encode_request` name the canonical field (``audio``, ``timestamp_granularities[1]``).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Union

from ..api import (
    ApiUsage,
    AudioTranscriptionRequest,
    AudioTranscriptionResponse,
    TranscriptionSegment,
    TranscriptionWord,
)
from ..errors import DecodeError, EncodeError
from ..http import MultipartField
from ..report import LossLog
from ._common import Obj, Reader, describe, index, join, with_extension
from ._endpoints import Check, own, req_number, require_model, restore, unknown

PROTOCOL = "open_ai_audio_transcriptions"

_R = Reader(PROTOCOL)
_C = Check(PROTOCOL)
_DECODED = Check(PROTOCOL, DecodeError)

TEXT_FORMATS = frozenset({"text", "srt", "vtt"})
"""Response formats whose body is plain text rather than JSON."""

_SCALAR_FIELDS = ("language", "prompt", "response_format")
_KNOWN_FIELDS = frozenset(
    {"file", "model", "temperature", "stream", "timestamp_granularities[]", "include[]", *_SCALAR_FIELDS}
)
_RESPONSE_KEYS = frozenset({"text", "language", "duration", "segments", "words", "usage"})
_STATISTICS = ("temperature", "avg_logprob", "compression_ratio", "no_speech_prob")
_SEGMENT_KEYS = frozenset({"id", "start", "end", "text", "speaker", "seek", "tokens", *_STATISTICS})
_WORD_KEYS = frozenset({"word", "start", "end"})
_USAGE_KEYS = frozenset({"type", "input_tokens", "output_tokens", "total_tokens", "seconds"})
_USAGE_TYPES = ("tokens", "duration")
_INTEGER = re.compile(r"^-?[0-9]+$")
_SRT_START = re.compile(r"^\s*\d+\s*\r?\n\s*\d\d:\d\d:\d\d[,.]\d+\s*-->")
_RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
_GRANULARITIES = ("word", "segment")
# RFC 6838 type/subtype names, then optional parameters in printable ASCII (no CR/LF).
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(?:\s*;[ -~]*)?$")

# =========================================================================== requests


def _text(field: MultipartField, path: str) -> str:
    if field.filename is not None:
        raise _R.fail(path, "expected a text field, got a file part")
    if isinstance(field.value, bytes):
        try:
            return field.value.decode("utf-8")
        except UnicodeDecodeError:
            raise _R.fail(path, "text field is not valid UTF-8") from None
    return field.value


def _number(text: str, path: str) -> float:
    try:
        return int(text) if _INTEGER.match(text) else float(text)
    except ValueError:
        raise _R.fail(path, f"expected a number, got {text!r}") from None


def _boolean(text: str, path: str) -> bool:
    if text in ("true", "false"):
        return text == "true"
    raise _R.fail(path, f"expected 'true' or 'false', got {text!r}")


def _single(groups: Dict[str, List[MultipartField]], name: str) -> Optional[MultipartField]:
    found = groups.get(name)
    if not found:
        return None
    if len(found) > 1:
        raise _R.fail(name, f"given {len(found)} times; expected once")
    return found[0]


def _check(request: AudioTranscriptionRequest, check: Check) -> None:
    """The rules both directions share (the file part is checked by each side itself)."""
    check.req_text(request.model, "model")
    filename = check.req_text(request.filename, "filename")
    if "\r" in filename or "\n" in filename:
        raise check.fail("filename", "must not contain line breaks")
    media_type = check.opt_text(request.media_type, "media_type")
    if media_type is not None and not _MEDIA_TYPE.match(media_type):
        raise check.fail("media_type", f"expected a media type such as 'audio/wav', got {media_type!r}")
    check.opt_text(request.language, "language")
    check.opt_text(request.prompt, "prompt")
    check.opt_number(request.temperature, "temperature", 0.0, 1.0)
    check.opt_choice(request.response_format, "response_format", _RESPONSE_FORMATS)
    check.opt_texts(request.timestamp_granularities, "timestamp_granularities", _GRANULARITIES)
    check.opt_texts(request.include, "include")
    check.opt_bool(request.stream, "stream")


def _check_audio(audio: Any) -> None:
    if audio is None:
        raise EncodeError(PROTOCOL, "audio", "required field is missing (the audio file's bytes)")
    if isinstance(audio, str):
        raise EncodeError(PROTOCOL, "audio", "expected the audio file's bytes, got a string (read the file as binary)")
    if not isinstance(audio, (bytes, bytearray, memoryview)):
        raise EncodeError(PROTOCOL, "audio", f"expected the audio file's bytes, got {type(audio).__name__}")
    if not len(audio):
        raise EncodeError(PROTOCOL, "audio", "the audio file is empty (0 bytes)")


def _check_extension_value(value: Any, path: str) -> None:
    for item in value if isinstance(value, list) else [value]:
        if item is None or not isinstance(item, (str, int, float)):
            raise EncodeError(PROTOCOL, path, f"a form field holds text, a number or a boolean, got {describe(item)}")


def decode_request(fields: Sequence[MultipartField]) -> AudioTranscriptionRequest:
    """Transcription form fields (the parsed multipart body) as an `AudioTranscriptionRequest`."""
    if isinstance(fields, (str, bytes, dict)) or not isinstance(fields, Sequence):
        raise _R.fail("", f"expected a sequence of multipart fields, got {type(fields).__name__}")
    groups: Dict[str, List[MultipartField]] = {}
    for i, f in enumerate(fields):
        if not isinstance(f, MultipartField):
            raise _R.fail(index("fields", i), f"expected a MultipartField, got {type(f).__name__}")
        groups.setdefault(f.name, []).append(f)
    file = _single(groups, "file")
    if file is None:
        raise _R.fail("file", "required field is missing (the audio file part)")
    if file.filename is None:
        raise _R.fail("file", "expected a file part (with a filename), got a text field")
    model_field = _single(groups, "model")
    if model_field is None:
        raise _R.fail("model", "required field is missing")
    audio = file.value if isinstance(file.value, bytes) else file.value.encode("utf-8")
    if not audio:
        raise _R.fail("file", "the audio file is empty (0 bytes)")
    request = AudioTranscriptionRequest(
        model=_text(model_field, "model"),
        audio=audio,
        filename=file.filename,
        media_type=file.content_type,
    )
    for name in _SCALAR_FIELDS:
        found = _single(groups, name)
        if found is not None:
            setattr(request, name, _text(found, name))
    temperature = _single(groups, "temperature")
    if temperature is not None:
        request.temperature = _number(_text(temperature, "temperature"), "temperature")
    stream = _single(groups, "stream")
    if stream is not None:
        request.stream = _boolean(_text(stream, "stream"), "stream")
    for name, attr in (("timestamp_granularities[]", "timestamp_granularities"), ("include[]", "include")):
        if name in groups:
            setattr(request, attr, [_text(f, name) for f in groups[name]])
    rest: Obj = {}
    for name, group in groups.items():
        if name in _KNOWN_FIELDS:
            continue
        values = [_text(f, name) for f in group]
        rest[name] = values if len(values) > 1 or name.endswith("[]") else values[0]
    request.extensions = with_extension(PROTOCOL, rest)
    _check(request, _DECODED)
    return request


def _form_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_request(request: AudioTranscriptionRequest, losses: Optional[LossLog] = None) -> List[MultipartField]:
    """An `AudioTranscriptionRequest` as transcription form fields, in openai-python's order."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    _C.extensions(request.extensions)
    require_model(request.model, PROTOCOL)
    _check_audio(request.audio)
    if request.filename == "":
        raise EncodeError(PROTOCOL, "filename", "a filename is required; its extension names the audio container")
    _check(request, _C)
    out: List[MultipartField] = [MultipartField("model", require_model(request.model, PROTOCOL))]
    if request.include is not None:
        out.extend(MultipartField("include[]", item) for item in request.include)
    for name in ("language", "prompt", "response_format"):
        value = getattr(request, name)
        if value is not None:
            out.append(MultipartField(name, value))
    if request.stream is not None:
        out.append(MultipartField("stream", _form_text(request.stream)))
    if request.temperature is not None:
        out.append(MultipartField("temperature", _form_text(request.temperature)))
    if request.timestamp_granularities is not None:
        out.extend(MultipartField("timestamp_granularities[]", item) for item in request.timestamp_granularities)
    for name, value in own(request.extensions, PROTOCOL).items():
        if name in _KNOWN_FIELDS:
            continue
        _check_extension_value(value, f"extensions[{PROTOCOL!r}].{name}")
        for item in value if isinstance(value, list) else [value]:
            out.append(MultipartField(name, _form_text(item)))
    for proto, fields in request.extensions.items():
        if proto != PROTOCOL and fields:
            names = ", ".join(sorted(fields))
            losses.add("L-EXTENSION", "", f"{proto} field(s) {names} have no equivalent in {PROTOCOL}")
    out.append(
        MultipartField(
            "file",
            bytes(request.audio),
            filename=request.filename,
            content_type=request.media_type or "application/octet-stream",
        )
    )
    return out


# =========================================================================== responses


def sniff_text_format(text: str) -> str:
    """Which plain-text format a transcription body is in: ``vtt``, ``srt`` or ``text``."""
    if text.lstrip("\ufeff").startswith("WEBVTT"):
        return "vtt"
    if _SRT_START.match(text):
        return "srt"
    return "text"


def _decode_segment(raw: Any, path: str) -> TranscriptionSegment:
    d = _R.obj(raw, path)
    seg_id = d.get("id")
    if seg_id is not None and (isinstance(seg_id, bool) or not isinstance(seg_id, (int, str))):
        raise _R.fail(join(path, "id"), f"expected an integer or a string, got {describe(seg_id)}")
    tokens = _R.opt_arr(d, "tokens", path)
    for i, token in enumerate(tokens or []):
        if isinstance(token, bool) or not isinstance(token, int):
            raise _R.fail(index(join(path, "tokens"), i), f"expected a token id (an integer), got {describe(token)}")
    segment = TranscriptionSegment(
        id=seg_id,
        start=req_number(_R, d, "start", path),
        end=req_number(_R, d, "end", path),
        text=_R.req_str(d, "text", path),
        speaker=_R.opt_str(d, "speaker", path),
        seek=_R.opt_int(d, "seek", path),
        tokens=tokens,
        extensions=with_extension(PROTOCOL, unknown(d, _SEGMENT_KEYS)),
    )
    for key in _STATISTICS:
        setattr(segment, key, _R.opt_num(d, key, path))
    return segment


def _decode_word(raw: Any, path: str) -> TranscriptionWord:
    d = _R.obj(raw, path)
    return TranscriptionWord(
        word=_R.req_str(d, "word", path),
        start=req_number(_R, d, "start", path),
        end=req_number(_R, d, "end", path),
        extensions=with_extension(PROTOCOL, unknown(d, _WORD_KEYS)),
    )


def _decode_usage(raw: Any) -> ApiUsage:
    u = _R.obj(raw, "usage")
    fields = unknown(u, _USAGE_KEYS)
    kind = _R.opt_str(u, "type", "usage")
    if kind not in _USAGE_TYPES:
        fields["type"] = kind
    return ApiUsage(
        input_tokens=_R.opt_int(u, "input_tokens", "usage"),
        output_tokens=_R.opt_int(u, "output_tokens", "usage"),
        total_tokens=_R.opt_int(u, "total_tokens", "usage"),
        seconds=_R.opt_num(u, "seconds", "usage"),
        extensions=with_extension(PROTOCOL, fields),
    )


def _json_format(r: Obj, segments: Optional[List[TranscriptionSegment]]) -> str:
    if segments and any(s.speaker is not None for s in segments):
        return "diarized_json"
    if "duration" in r or "segments" in r or "words" in r:
        return "verbose_json"
    return "json"


def decode_response(
    raw: Union[Dict[str, Any], str], response_format: Optional[str] = None
) -> AudioTranscriptionResponse:
    """A transcription body as an `AudioTranscriptionResponse`: a dict for the JSON formats, a str for text ones.

    ``response_format`` (what the request asked for) names a text body's format;
    without it the text is sniffed (``WEBVTT`` header, SRT cue numbering, else ``text``).
    """
    if isinstance(raw, str):
        kind = response_format if response_format in TEXT_FORMATS else sniff_text_format(raw)
        return AudioTranscriptionResponse(text=raw, response_format=kind)
    r = _R.obj(raw, "")
    segments: Optional[List[TranscriptionSegment]] = None
    seg = _R.opt_arr(r, "segments", "")
    if seg is not None:
        segments = [_decode_segment(item, index("segments", i)) for i, item in enumerate(seg)]
    words: Optional[List[TranscriptionWord]] = None
    wd = _R.opt_arr(r, "words", "")
    if wd is not None:
        words = [_decode_word(item, index("words", i)) for i, item in enumerate(wd)]
    usage = r.get("usage")
    text = _R.req_str(r, "text", "")
    fmt = response_format if response_format is not None and response_format not in TEXT_FORMATS else None
    return AudioTranscriptionResponse(
        text=text,
        language=_R.opt_str(r, "language", ""),
        duration=_R.opt_num(r, "duration", ""),
        segments=segments,
        words=words,
        usage=None if usage is None else _decode_usage(usage),
        response_format=fmt or _json_format(r, segments),
        extensions=with_extension(PROTOCOL, unknown(r, _RESPONSE_KEYS)),
    )


def _encode_usage(usage: ApiUsage, losses: LossLog) -> Obj:
    tokens = any(v is not None for v in (usage.input_tokens, usage.output_tokens, usage.total_tokens))
    out: Obj = {"type": "duration" if usage.seconds is not None and not tokens else "tokens"}
    if out["type"] == "tokens":
        out["input_tokens"] = usage.input_tokens or 0
        out["output_tokens"] = usage.output_tokens or 0
        out["total_tokens"] = (
            usage.total_tokens if usage.total_tokens is not None else out["input_tokens"] + out["output_tokens"]
        )
        if usage.seconds is not None:
            losses.add("L-EXTENSION", "usage.seconds", "token usage cannot also carry a duration")
    else:
        out["seconds"] = usage.seconds
    custom = own(usage.extensions, PROTOCOL).get("type")
    if custom is not None:
        out["type"] = custom
    restore(out, usage.extensions, PROTOCOL, losses, "usage")
    return out


def encode_response(
    response: AudioTranscriptionResponse, losses: Optional[LossLog] = None
) -> Union[Dict[str, Any], str]:
    """An `AudioTranscriptionResponse` as its wire body: text for text/srt/vtt, else a JSON dict."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    if response.model:
        losses.add("L-RESPONSE-MODEL", "model", f"{PROTOCOL} responses do not name the model ({response.model!r})")
    if response.response_format in TEXT_FORMATS:
        dropped = [
            name
            for name, value in (
                ("segments", response.segments),
                ("words", response.words),
                ("usage", response.usage),
                ("language", response.language),
                ("duration", response.duration),
            )
            if value is not None
        ]
        if dropped:
            losses.add(
                "L-TRANSCRIPT-TEXT-FORMAT",
                "",
                f"a {response.response_format} body carries only the transcript text; dropped {', '.join(dropped)}",
            )
        return response.text
    out: Obj = {"text": response.text}
    if response.language is not None:
        out["language"] = response.language
    if response.duration is not None:
        out["duration"] = response.duration
    if response.segments is not None:
        out["segments"] = [_encode_segment(s, index("segments", i), losses) for i, s in enumerate(response.segments)]
    if response.words is not None:
        out["words"] = [_encode_word(w, index("words", i), losses) for i, w in enumerate(response.words)]
    if response.usage is not None:
        out["usage"] = _encode_usage(response.usage, losses)
    restore(out, response.extensions, PROTOCOL, losses, "")
    return out


def _encode_segment(segment: TranscriptionSegment, path: str, losses: LossLog) -> Obj:
    out: Obj = {}
    if segment.id is not None:
        out["id"] = segment.id
    if segment.seek is not None:
        out["seek"] = segment.seek
    out.update({"start": segment.start, "end": segment.end, "text": segment.text})
    if segment.tokens is not None:
        out["tokens"] = list(segment.tokens)
    for key in _STATISTICS:
        value = getattr(segment, key)
        if value is not None:
            out[key] = value
    if segment.speaker is not None:
        out["speaker"] = segment.speaker
    restore(out, segment.extensions, PROTOCOL, losses, path)
    return out


def _encode_word(word: TranscriptionWord, path: str, losses: LossLog) -> Obj:
    out: Obj = {"word": word.word, "start": word.start, "end": word.end}
    restore(out, word.extensions, PROTOCOL, losses, path)
    return out
