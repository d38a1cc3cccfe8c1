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

import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import Any, FrozenSet, Iterable, List, Optional, Tuple

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
    """A body with its JSON (or each SSE event's JSON) sanitized and bulky binary removed."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if not data:
        return data
    if kind == "application/json" or (kind == "" and data[:1] in (b"{", b"[")):
        try:
            value = json.loads(data)
        except ValueError:
            return data
        return json.dumps(sanitize_json_value(value, rules), ensure_ascii=False).encode("utf-8")
    if kind == "text/event-stream":
        return sanitize_sse_text(data.decode("utf-8", "replace"), rules).encode("utf-8")
    if kind.startswith("text/") or kind in ("application/x-www-form-urlencoded",):
        return data
    limit = rules.max_inline_bytes
    if limit is not None and len(data) > limit:
        return placeholder(data).encode("ascii")
    return data


def sanitize_sse_text(text: str, rules: SanitizeRules = DEFAULT_RULES) -> str:
    """SSE text with the JSON of every ``data:`` line sanitized (line structure kept)."""
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if body.startswith("data:"):
            payload = body[5:].lstrip(" ")
            try:
                value = json.loads(payload)
            except ValueError:
                out.append(line)
                continue
            cleaned = json.dumps(sanitize_json_value(value, rules), ensure_ascii=False, separators=(",", ":"))
            out.append(f"data: {cleaned}{ending}")
        else:
            out.append(line)
    return "".join(out)


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
    "placeholder",
    "sanitize_body_bytes",
    "sanitize_headers",
    "sanitize_json_value",
    "sanitize_query",
    "sanitize_sse_text",
    "sanitize_transport_request",
    "sanitize_transport_response",
    "sanitize_url",
]
