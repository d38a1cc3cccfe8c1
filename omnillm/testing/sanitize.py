"""Redaction of secrets and bulky payloads from HTTP exchanges, before anything reaches disk.

Three functions, one set of rules (`SanitizeRules`):

* `sanitize_json_value` walks a JSON value: fields named like credentials (``api_key``,
  ``token``, ``secret``, ``password``, ``access_token``, ``refresh_token``,
  ``client_secret``, case-insensitive) are replaced by ``[REDACTED]``; long base64 or
  binary strings by a placeholder carrying their length and SHA-256.
* `sanitize_transport_request` redacts auth headers (``authorization``, ``x-api-key``,
  ``api-key``, ``x-goog-api-key``, ``x-amz-security-token``, cookies; an AWS SigV4
  ``Authorization`` keeps its algorithm and signed-header list but loses the credential
  and the signature), secret query parameters (``key``, ``ak``, ``api_key``, ``token``,
  ``sig``, ``signature``, ...), and the body.
* `sanitize_transport_response` does the same for a response (``set-cookie``, the
  body, and each SSE event's JSON data).

Rules are values: `SanitizeRules.with_added` / `with_removed` make adjusted copies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple

from ..http import REDACTED, Bytes, Headers, Json, Multipart, MultipartField, TransportRequest, TransportResponse

_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_DATA_URL = re.compile(r"^data:([^;,]+)?;base64,(.*)$", re.DOTALL)


@dataclass(frozen=True)
class SanitizeRules:
    """What to redact. Names are matched case-insensitively.

    ``max_inline_bytes``: base64 or binary payloads longer than this are replaced by a
    placeholder with their length and SHA-256 (None keeps them).
    """

    headers: FrozenSet[str] = frozenset(
        {
            "authorization",
            "proxy-authorization",
            "x-api-key",
            "api-key",
            "x-goog-api-key",
            "x-amz-security-token",
            "x-amz-content-sha256",
            "cookie",
            "set-cookie",
        }
    )
    query: FrozenSet[str] = frozenset(
        {
            "key",
            "ak",
            "api_key",
            "apikey",
            "api-key",
            "token",
            "access_token",
            "sig",
            "signature",
            "x-amz-signature",
            "x-amz-credential",
            "x-amz-security-token",
        }
    )
    json_fields: FrozenSet[str] = frozenset(
        {"api_key", "apikey", "token", "secret", "password", "access_token", "refresh_token", "client_secret"}
    )
    max_inline_bytes: Optional[int] = 2048

    def __post_init__(self) -> None:
        for name in ("headers", "query", "json_fields"):
            object.__setattr__(self, name, frozenset(v.lower() for v in getattr(self, name)))

    def with_added(
        self, *, headers: Iterable[str] = (), query: Iterable[str] = (), json_fields: Iterable[str] = ()
    ) -> SanitizeRules:
        """A copy that also redacts the given names."""
        return replace(
            self,
            headers=self.headers | {h.lower() for h in headers},
            query=self.query | {q.lower() for q in query},
            json_fields=self.json_fields | {j.lower() for j in json_fields},
        )

    def with_removed(
        self, *, headers: Iterable[str] = (), query: Iterable[str] = (), json_fields: Iterable[str] = ()
    ) -> SanitizeRules:
        """A copy that no longer redacts the given names."""
        return replace(
            self,
            headers=self.headers - {h.lower() for h in headers},
            query=self.query - {q.lower() for q in query},
            json_fields=self.json_fields - {j.lower() for j in json_fields},
        )


DEFAULT_RULES = SanitizeRules()


def placeholder(data: bytes) -> str:
    """The stand-in for a removed payload: its length and SHA-256, never its content."""
    return f"[omnillm:removed {len(data)} bytes sha256={hashlib.sha256(data).hexdigest()}]"


def _bulky_string(value: str, limit: Optional[int]) -> Optional[str]:
    if limit is None or len(value) <= limit:
        return None
    match = _DATA_URL.match(value)
    if match is not None:
        return f"data:{match.group(1) or ''};base64,{placeholder(match.group(2).encode('ascii', 'replace'))}"
    # Base64 of real binary uses most of its alphabet; a long run of one word does not.
    if _BASE64.match(value) and len(set(value[:512])) > 16:
        return placeholder(value.encode("ascii"))
    return None


def sanitize_json_value(value: Any, rules: SanitizeRules = DEFAULT_RULES) -> Any:
    """A copy of ``value`` with credential fields and bulky base64 strings replaced."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str) and k.lower() in rules.json_fields and v is not None:
                out[k] = REDACTED
            else:
                out[k] = sanitize_json_value(v, rules)
        return out
    if isinstance(value, list):
        return [sanitize_json_value(v, rules) for v in value]
    if isinstance(value, str):
        bulky = _bulky_string(value, rules.max_inline_bytes)
        return bulky if bulky is not None else value
    return value


_SIGV4 = re.compile(r"^(AWS4-HMAC-SHA256)\s+(.*)$", re.IGNORECASE)


def _header_value(name: str, value: str, rules: SanitizeRules) -> str:
    if name.lower() != "authorization" or name.lower() not in rules.headers:
        return REDACTED if name.lower() in rules.headers else value
    match = _SIGV4.match(value)
    if match is None:
        scheme, _, _ = value.partition(" ")
        return f"{scheme} {REDACTED}" if scheme and scheme.lower() in ("bearer", "basic", "token") else REDACTED
    # Keep what a reader needs to understand the request, drop the credential and signature.
    parts = []
    for piece in match.group(2).split(","):
        key, _, _ = piece.strip().partition("=")
        if key == "SignedHeaders":
            parts.append(piece.strip())
        else:
            parts.append(f"{key}={REDACTED}")
    return f"{match.group(1)} {', '.join(parts)}"


def sanitize_headers(headers: Headers, rules: SanitizeRules = DEFAULT_RULES) -> Headers:
    """``headers`` with credential values redacted."""
    return Headers([(k, _header_value(k, v, rules)) for k, v in headers.items()])


def sanitize_query(query: Iterable[Tuple[str, str]], rules: SanitizeRules = DEFAULT_RULES) -> List[Tuple[str, str]]:
    """Query pairs with secret parameters redacted."""
    return [(k, REDACTED if k.lower() in rules.query else v) for k, v in query]


def sanitize_url(url: str, rules: SanitizeRules = DEFAULT_RULES) -> str:
    """``url`` with secret query parameters (and any user:password) redacted."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = urlencode(sanitize_query(parse_qsl(parts.query, keep_blank_values=True), rules), safe="[]")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def sanitize_body_bytes(data: bytes, content_type: str, rules: SanitizeRules = DEFAULT_RULES) -> bytes:
    """A whole body with its JSON (each SSE event's, NDJSON line's or event-stream frame's JSON)
    sanitized, and bulky binary removed.

    JSON that does not parse (a truncated body) still loses the values of credential fields
    (a textual ``"token": "..."`` match). Event-stream bodies are never replaced by a
    placeholder, so their frames stay decodable; other binary bodies longer than
    ``rules.max_inline_bytes`` are.
    """
    kind = _kind(content_type)
    if not data:
        return data
    if kind == "application/json" or (kind == "" and data[:1] in (b"{", b"[")):
        return _sanitize_json_bytes(data, rules)
    if kind in _INCREMENTAL:
        sanitizer = StreamSanitizer(content_type, rules)
        return sanitizer.feed(data) + sanitizer.finish()
    if kind.startswith("text/") or kind in ("application/x-www-form-urlencoded",):
        return data
    limit = rules.max_inline_bytes
    if limit is not None and len(data) > limit:
        return placeholder(data).encode("ascii")
    return data


def _kind(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _sanitize_json_bytes(data: bytes, rules: SanitizeRules) -> bytes:
    try:
        value = json.loads(data)
    except ValueError:
        return redact_json_text(data.decode("utf-8", "replace"), rules).encode("utf-8")
    clean = sanitize_json_value(value, rules)
    if clean == value:
        return data  # nothing to redact: keep the exact bytes (number formats, escapes, spacing)
    return json.dumps(clean, ensure_ascii=False).encode("utf-8")


_JSON_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\]\s]+)')


def redact_json_text(text: str, rules: SanitizeRules = DEFAULT_RULES) -> str:
    """Text that should be JSON but does not parse, with the values of credential fields redacted.

    The fallback for truncated or malformed bodies: a ``"name": value`` pair whose name is
    one of ``rules.json_fields`` keeps its name and loses its value (an unterminated string
    value is redacted to the end of the text).
    """

    def replace_value(match: re.Match[str]) -> str:
        if match.group(1).lower() not in rules.json_fields:
            return match.group(0)
        return f'"{match.group(1)}"{match.group(2)}"{REDACTED}"'

    return _JSON_PAIR.sub(replace_value, text)


def sanitize_sse_text(text: str, rules: SanitizeRules = DEFAULT_RULES) -> str:
    """SSE text with the JSON data of every event sanitized (see `StreamSanitizer`)."""
    sanitizer = StreamSanitizer("text/event-stream", rules)
    return (sanitizer.feed(text.encode("utf-8")) + sanitizer.finish()).decode("utf-8", "replace")


_EVENT_STREAM = "application/vnd.amazon.eventstream"
_INCREMENTAL = ("text/event-stream", "application/x-ndjson", "application/jsonl", _EVENT_STREAM)


class StreamSanitizer:
    """Sanitizes a streamed body chunk by chunk, whatever the chunk boundaries.

    `feed` takes the next chunk and returns the sanitized bytes of every unit the chunk
    completed (possibly ``b""``); `finish` returns the rest. The unit depends on the
    content type:

    * ``text/event-stream``: an SSE event (lines up to a blank line). Its ``data:`` lines
      are joined as the SSE spec says and, when that is JSON with something to redact,
      written back as one sanitized ``data:`` line; other lines (``event:``, ``id:``,
      comments) are kept, and an event with nothing to redact is kept byte for byte. A
      line split across chunks, or an event split across lines, is sanitized whole.
    * ``application/x-ndjson``: a line of JSON.
    * ``application/vnd.amazon.eventstream``: an AWS event-stream frame. A frame whose
      JSON payload changes is re-encoded with fresh CRCs (the ``bytes`` of a Bedrock
      InvokeModel ``chunk`` are decoded, sanitized and re-encoded too); other frames are
      kept byte for byte, non-JSON payloads included. Frames are never replaced by a
      placeholder, so a replayed stream decodes like the recorded one.
    * ``application/json`` (Gemini's non-SSE stream, a JSON array sent in pieces): the
      whole body, returned by `finish`.
    * anything else: passed through unchanged.

    What ``finish`` gets of an unfinished unit (a stream cut mid-event) is sanitized as
    far as it parses and otherwise by `redact_json_text`, and returned without adding a
    terminator, so a truncated stream replays truncated.
    """

    def __init__(self, content_type: str, rules: SanitizeRules = DEFAULT_RULES) -> None:
        self.kind = _kind(content_type)
        self.rules = rules
        self._buffer = bytearray()
        self._event: List[bytes] = []  # raw lines (with their endings) of the SSE event in progress
        self._passthrough = False  # an event stream that stopped decoding: keep the rest as is

    def feed(self, chunk: bytes) -> bytes:
        """Sanitize what ``chunk`` completes; keep an unfinished unit for later."""
        if self.kind == "text/event-stream":
            self._buffer += chunk
            return self._sse(final=False)
        if self.kind in ("application/x-ndjson", "application/jsonl"):
            self._buffer += chunk
            return self._ndjson(final=False)
        if self.kind == _EVENT_STREAM:
            self._buffer += chunk
            return self._frames()
        if self.kind == "application/json":
            self._buffer += chunk
            return b""
        return bytes(chunk)

    def finish(self) -> bytes:
        """Sanitize and return whatever is left at the end of the stream."""
        if self.kind == "text/event-stream":
            return self._sse(final=True)
        if self.kind in ("application/x-ndjson", "application/jsonl"):
            return self._ndjson(final=True)
        rest, self._buffer = bytes(self._buffer), bytearray()
        if self.kind == "application/json" and rest:
            return _sanitize_json_bytes(rest, self.rules)
        return rest

    # ---------------------------------------------------------------- SSE

    def _lines(self, final: bool) -> Iterator[bytes]:
        """Complete lines of the buffer, endings kept (CRLF, LF or a lone CR, as SSE allows)."""
        buf = self._buffer
        start = 0
        n = len(buf)
        i = 0
        while i < n:
            byte = buf[i]
            if byte == 0x0A:
                yield bytes(buf[start : i + 1])
                start = i = i + 1
                continue
            if byte == 0x0D:
                if i + 1 < n:
                    end = i + 2 if buf[i + 1] == 0x0A else i + 1
                    yield bytes(buf[start:end])
                    start = i = end
                    continue
                if not final:
                    break  # a CR at the end of the chunk may be the first half of CRLF
                yield bytes(buf[start : i + 1])
                start = i = i + 1
                continue
            i += 1
        del buf[:start]
        if final and buf:
            yield bytes(buf)
            buf.clear()

    def _sse(self, final: bool) -> bytes:
        out = bytearray()
        for line in self._lines(final):
            self._event.append(line)
            if not line.rstrip(b"\r\n"):
                out += self._sse_event(self._event)
                self._event = []
        if final and self._event:
            out += self._sse_event(self._event)
            self._event = []
        return bytes(out)

    def _sse_event(self, lines: List[bytes]) -> bytes:
        data: List[str] = []
        for line in lines:
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if text == "data" or text.startswith("data:"):
                value = text[5:]
                data.append(value[1:] if value.startswith(" ") else value)
        if not data:
            return b"".join(lines)
        parsed_value: Any = None
        try:
            parsed_value = json.loads("\n".join(data))
        except ValueError:
            parsed = False
        else:
            parsed = True
            clean = sanitize_json_value(parsed_value, self.rules)
            if clean == parsed_value:
                return b"".join(lines)  # nothing to redact: the event as received
        out: List[str] = []
        wrote_data = False
        for line in lines:
            text = line.decode("utf-8", "replace")
            body = text.rstrip("\r\n")
            ending = text[len(body) :]
            if not (body == "data" or body.startswith("data:")):
                out.append(text)
            elif not parsed:
                out.append(redact_json_text(body, self.rules) + ending)
            elif not wrote_data:
                cleaned = json.dumps(clean, ensure_ascii=False, separators=(",", ":"))
                out.append(f"data: {cleaned}{ending}")
                wrote_data = True
        return "".join(out).encode("utf-8")

    # ---------------------------------------------------------------- NDJSON

    def _ndjson(self, final: bool) -> bytes:
        out = bytearray()
        for line in self._lines(final):
            body = line.rstrip(b"\r\n")
            ending = line[len(body) :]
            out += (_sanitize_json_bytes(body, self.rules) if body.strip() else body) + ending
        return bytes(out)

    # ---------------------------------------------------------------- AWS event stream

    def _frames(self) -> bytes:
        from ..eventstream import EventStreamDecoder, EventStreamError

        out = bytearray()
        buf = self._buffer
        while not self._passthrough and len(buf) >= 12:
            total = int.from_bytes(buf[:4], "big")
            if total < 16:
                self._passthrough = True
                break
            if len(buf) < total:
                break
            raw = bytes(buf[:total])
            del buf[:total]
            try:
                messages = EventStreamDecoder().feed(raw)
            except EventStreamError:
                # A corrupt frame: keep it (and everything after it) so replay fails the same way.
                out += raw
                self._passthrough = True
                break
            out += self._frame(raw, messages[0].headers, messages[0].payload) if messages else raw
        if self._passthrough:
            out += buf
            buf.clear()
        return bytes(out)

    def _frame(self, raw: bytes, headers: Dict[str, Any], payload: bytes) -> bytes:
        from ..eventstream import format_message

        try:
            value = json.loads(payload)
        except ValueError:
            return raw  # not JSON: nothing structured to redact, and a placeholder would break decoding
        cleaned = sanitize_json_value(value, self.rules)
        if isinstance(value, dict) and isinstance(value.get("bytes"), str):
            # Bedrock InvokeModel streams wrap each provider event as base64 JSON in "bytes".
            inner = _sanitize_base64_json(value["bytes"], self.rules)
            if inner is not None:
                cleaned = dict(cleaned)
                cleaned["bytes"] = inner
        if cleaned == value:
            return raw
        return format_message(headers, json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _sanitize_base64_json(encoded: str, rules: SanitizeRules) -> Optional[str]:
    """The sanitized re-encoding of base64-wrapped JSON, or None when it is not that."""
    try:
        value = json.loads(base64.b64decode(encoded, validate=True))
    except (ValueError, binascii.Error):
        return None
    cleaned = sanitize_json_value(value, rules)
    if cleaned == value:
        return encoded
    return base64.b64encode(json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).decode(
        "ascii"
    )


def sanitize_transport_request(request: TransportRequest, rules: SanitizeRules = DEFAULT_RULES) -> TransportRequest:
    """A copy of ``request`` safe to write down (see the module docstring)."""
    body = request.body
    if isinstance(body, Json):
        body = Json(sanitize_json_value(body.value, rules))
    elif isinstance(body, Bytes):
        body = Bytes(sanitize_body_bytes(body.data, body.content_type, rules), body.content_type)
    elif isinstance(body, Multipart):
        body = Multipart(tuple(_sanitize_field(f, rules) for f in body.fields), body.boundary)
    return TransportRequest(
        request.method,
        sanitize_url(request.url, rules),
        sanitize_headers(request.headers, rules),
        sanitize_query(request.query, rules),
        body,
    )


def _sanitize_field(f: MultipartField, rules: SanitizeRules) -> MultipartField:
    if f.name.lower() in rules.json_fields:
        return replace(f, value=REDACTED)
    if isinstance(f.value, bytes):
        limit = rules.max_inline_bytes
        if limit is not None and len(f.value) > limit:
            return replace(f, value=placeholder(f.value).encode("ascii"))
    return f


def sanitize_transport_response(response: TransportResponse, rules: SanitizeRules = DEFAULT_RULES) -> TransportResponse:
    """A copy of ``response`` (read in full) safe to write down."""
    body = response.read()
    return TransportResponse(
        response.status,
        sanitize_headers(response.headers, rules),
        sanitize_body_bytes(body, response.headers.get("content-type") or "", rules),
        url=sanitize_url(response.url, rules) if response.url else "",
    )


__all__ = [
    "DEFAULT_RULES",
    "SanitizeRules",
    "StreamSanitizer",
    "placeholder",
    "redact_json_text",
    "sanitize_body_bytes",
    "sanitize_headers",
    "sanitize_json_value",
    "sanitize_query",
    "sanitize_sse_text",
    "sanitize_transport_request",
    "sanitize_transport_response",
    "sanitize_url",
]
