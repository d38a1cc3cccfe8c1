"""Raw-JSON transcoding between generation wire formats, with an honest loss report."""

from __future__ import annotations

from typing import Any, Dict, Union

from .errors import ConversionError, DecodeError
from .protocols import codec
from .protocols._common import WIRE_JSON, dumps
from .report import ConversionReport, LossLog
from .wire import WireFormat, wire_format

RawJson = Union[str, bytes, bytearray, Dict[str, Any]]


def parse_json_object(raw: RawJson, protocol: str) -> Dict[str, Any]:
    """Parse ``raw`` (text, bytes or an already-parsed dict) into a JSON object."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(protocol, "", f"body is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not isinstance(raw, str):
        raise DecodeError(protocol, "", f"expected JSON text, bytes or a dict, got {type(raw).__name__}")
    try:
        value = WIRE_JSON.decode(raw)
    except RecursionError:
        raise DecodeError(protocol, "", "invalid JSON: nested too deeply to parse") from None
    except ValueError as exc:
        raise DecodeError(protocol, "", f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise DecodeError(protocol, "", "expected a JSON object at the top level")
    return value


def dump_json(value: Dict[str, Any], protocol: str = "") -> str:
    """Serialise a wire dict compactly, keeping non-ASCII text as is.

    A value JSON cannot hold (NaN or an infinity, nesting past the recursion limit)
    raises `EncodeError` naming ``protocol`` and the field's path, never invalid JSON.
    """
    return dumps(value, protocol)


def _finish(
    out: Dict[str, Any], source: WireFormat, target: WireFormat, losses: LossLog, strict: bool
) -> ConversionReport:
    report = ConversionReport(dump_json(out, target.value), source.value, target.value, list(losses.entries))
    if strict and report.lossy:
        raise ConversionError(source.value, target.value, report.loss_reasons)
    return report


def transcode_request_report(
    raw: RawJson,
    source: Union[str, WireFormat],
    target: Union[str, WireFormat],
    *,
    strict: bool = False,
) -> ConversionReport:
    """Convert a request body from ``source`` to ``target`` and report what was lost.

    With ``strict=True`` a lossy conversion raises `ConversionError` instead.
    """
    src, dst = wire_format(source), wire_format(target)
    request = codec(src).decode_request(parse_json_object(raw, src.value))
    losses = LossLog(dst.value)
    out = codec(dst).encode_request(request, losses)
    return _finish(out, src, dst, losses, strict)


def transcode_response_report(
    raw: RawJson,
    source: Union[str, WireFormat],
    target: Union[str, WireFormat],
    *,
    strict: bool = False,
) -> ConversionReport:
    """Convert a response body from ``source`` to ``target`` and report what was lost."""
    src, dst = wire_format(source), wire_format(target)
    response = codec(src).decode_response(parse_json_object(raw, src.value))
    losses = LossLog(dst.value)
    out = codec(dst).encode_response(response, losses)
    return _finish(out, src, dst, losses, strict)


def transcode_request(
    raw: RawJson,
    source: Union[str, WireFormat],
    target: Union[str, WireFormat],
    *,
    strict: bool = False,
) -> str:
    """Convert a request body from ``source`` to ``target``; returns JSON text."""
    return transcode_request_report(raw, source, target, strict=strict).value


def transcode_response(
    raw: RawJson,
    source: Union[str, WireFormat],
    target: Union[str, WireFormat],
    *,
    strict: bool = False,
) -> str:
    """Convert a response body from ``source`` to ``target``; returns JSON text."""
    return transcode_response_report(raw, source, target, strict=strict).value
