"""Record real HTTP exchanges to a JSON file and replay them deterministically.

`ReplayFixture` is one file of recorded exchanges. Its `ReplayFixture.transport`
is a `Transport`:

* ``mode="record"`` sends through a real transport and appends every exchange
  (streams included) to the fixture, **sanitized first** (`omnillm.testing.sanitize`),
  then writes the file. A stream is sanitized across chunk boundaries and stored
  re-chunked at unit boundaries: each stored chunk holds the SSE events (NDJSON lines,
  event-stream frames) the matching upstream chunk completed, so a secret split over two
  network chunks is still redacted and replay keeps the recorded pacing as closely as
  sanitization allows (see `StreamSanitizer`). Stream chunks are never replaced by a
  placeholder;
* ``mode="replay"`` answers from the file and never touches the network; a request
  that matches no recording raises `ReplayMismatchError`;
* ``mode="auto"`` replays when the file exists, records otherwise.

A request matches a recording on method, path and a fingerprint of its body: the
SHA-256 of the sanitized body as canonical JSON (sorted keys), so key order, secrets
and signatures do not matter. Identical requests replay their recordings in order.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlsplit

from ..errors import CancelledError, ConfigurationError, OmniLLMError
from ..http import ByteStream, Headers, TransportRequest, TransportResponse
from ..transport import Timeout, Transport, accepts_cancel
from .sanitize import (
    DEFAULT_RULES,
    SanitizeRules,
    StreamSanitizer,
    sanitize_body_bytes,
    sanitize_headers,
    sanitize_transport_request,
    sanitize_url,
)

FORMAT_VERSION = 1


class ReplayMismatchError(OmniLLMError):
    """A request in replay mode matched no recorded exchange."""


def _canonical_body(request: TransportRequest, rules: SanitizeRules) -> Tuple[str, Any]:
    """(fingerprint, stored form) of a request body, both computed on the sanitized body."""
    clean = sanitize_transport_request(request, rules)
    data = clean.body_bytes()
    kind = (clean.headers.get("content-type") or clean.body.content_type or "").split(";", 1)[0].strip().lower()
    stored: Any
    if kind == "application/json" or data[:1] in (b"{", b"["):
        try:
            value = json.loads(data) if data else None
        except ValueError:
            value = None
        if value is not None:
            canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return hashlib.sha256(canonical.encode("utf-8")).hexdigest(), {"json": value}
    if kind.startswith("multipart/"):
        # Boundaries are random per request: fingerprint the parts, not the bytes.
        parts = [
            [f.name, f.filename, f.content_type, hashlib.sha256(_bytes(f.value)).hexdigest()]
            for f in getattr(clean.body, "fields", ())
        ]
        canonical = json.dumps(parts, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest(), {"multipart": parts}
    stored = {"base64": base64.b64encode(data).decode("ascii")} if data else None
    return hashlib.sha256(data).hexdigest(), stored


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _store_body(data: bytes, content_type: str) -> Dict[str, Any]:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.startswith("text/") or kind in ("application/json", "application/x-ndjson"):
        try:
            return {"text": data.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {"base64": base64.b64encode(data).decode("ascii")}


def _sanitize_chunks(chunks: List[bytes], content_type: str, rules: SanitizeRules) -> List[bytes]:
    """The stream's chunks, sanitized across chunk boundaries (see `StreamSanitizer`).

    Each stored chunk holds the units (SSE events, NDJSON lines, event-stream frames) that
    the matching upstream chunk completed; chunks that completed none are dropped. Stream
    chunks are never replaced by a placeholder.
    """
    sanitizer = StreamSanitizer(content_type, rules)
    out = [sanitizer.feed(chunk) for chunk in chunks]
    out.append(sanitizer.finish())
    return [piece for piece in out if piece]


def _load_body(stored: Dict[str, Any]) -> bytes:
    if "text" in stored:
        return str(stored["text"]).encode("utf-8")
    return base64.b64decode(stored.get("base64", ""))


@dataclass
class RecordedExchange:
    """One recorded request and its response (already sanitized)."""

    method: str
    url: str
    path: str
    fingerprint: str
    request_headers: Dict[str, str]
    request_body: Any
    status: int
    response_headers: List[Tuple[str, str]]
    body: Optional[Dict[str, Any]] = None
    chunks: Optional[List[Dict[str, Any]]] = None

    def to_json(self) -> Dict[str, Any]:
        """The JSON form written to the fixture file."""
        return {
            "request": {
                "method": self.method,
                "url": self.url,
                "path": self.path,
                "fingerprint": self.fingerprint,
                "headers": self.request_headers,
                "body": self.request_body,
            },
            "response": {
                "status": self.status,
                "headers": [list(pair) for pair in self.response_headers],
                "body": self.body,
                "chunks": self.chunks,
            },
        }

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> RecordedExchange:
        """Read one exchange back from the fixture's JSON."""
        req, resp = data["request"], data["response"]
        return cls(
            method=req["method"],
            url=req["url"],
            path=req["path"],
            fingerprint=req["fingerprint"],
            request_headers=req.get("headers") or {},
            request_body=req.get("body"),
            status=int(resp["status"]),
            response_headers=[(str(k), str(v)) for k, v in resp.get("headers") or []],
            body=resp.get("body"),
            chunks=resp.get("chunks"),
        )


@dataclass
class ReplayFixture:
    """A file of recorded exchanges; see the module docstring.

    ``rules`` are the sanitization rules applied before anything is stored.
    """

    path: str
    mode: str = "auto"
    rules: SanitizeRules = DEFAULT_RULES
    exchanges: List[RecordedExchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in ("record", "replay", "auto"):
            raise ConfigurationError(f"ReplayFixture: mode must be 'record', 'replay' or 'auto', not {self.mode!r}")
        if self.mode == "auto":
            self.mode = "replay" if os.path.exists(self.path) else "record"
        if self.mode == "replay":
            self.load()
        self._lock = threading.Lock()
        self._used: Dict[int, bool] = {}

    def load(self) -> None:
        """Read the fixture file."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            raise ReplayMismatchError(f"replay fixture {self.path} does not exist; record it first") from None
        except ValueError as exc:
            raise ReplayMismatchError(f"replay fixture {self.path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise ReplayMismatchError(f"replay fixture {self.path} has an unknown format")
        self.exchanges = [RecordedExchange.from_json(e) for e in data.get("exchanges", [])]

    def save(self) -> None:
        """Write every exchange (already sanitized) to the file, atomically."""
        payload = {"version": FORMAT_VERSION, "exchanges": [e.to_json() for e in self.exchanges]}
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, self.path)

    def transport(self, inner: Optional[Transport] = None) -> ReplayTransport:
        """A `Transport` that records through ``inner`` or replays from this fixture."""
        if self.mode == "record" and inner is None:
            from ..transport.urllib3_transport import Urllib3Transport

            inner = Urllib3Transport()
        return ReplayTransport(self, inner)

    # ------------------------------------------------------------------ record / match

    def _record(self, request: TransportRequest, response: TransportResponse, chunks: Optional[List[bytes]]) -> None:
        fingerprint, stored = _canonical_body(request, self.rules)
        content_type = response.headers.get("content-type") or ""
        clean_headers = sanitize_headers(response.headers, self.rules)
        exchange = RecordedExchange(
            method=request.method,
            url=sanitize_url(request.full_url(), self.rules),
            path=_path(request.url),
            fingerprint=fingerprint,
            request_headers=sanitize_headers(request.headers, self.rules).to_dict(),
            request_body=stored,
            status=response.status,
            response_headers=clean_headers.items(),
        )
        if chunks is None:
            exchange.body = _store_body(sanitize_body_bytes(response.body, content_type, self.rules), content_type)
        else:
            exchange.chunks = [_store_body(c, content_type) for c in _sanitize_chunks(chunks, content_type, self.rules)]
        with self._lock:
            self.exchanges.append(exchange)
            self.save()

    def _match(self, request: TransportRequest) -> RecordedExchange:
        fingerprint, _ = _canonical_body(request, self.rules)
        path = _path(request.url)
        with self._lock:
            for n, exchange in enumerate(self.exchanges):
                if self._used.get(n):
                    continue
                if exchange.method == request.method and exchange.path == path and exchange.fingerprint == fingerprint:
                    self._used[n] = True
                    return exchange
        same_path = [e for e in self.exchanges if e.path == path and e.method == request.method]
        hint = (
            f"{len(same_path)} recording(s) for {request.method} {path} exist, but none with this body "
            f"(fingerprint {fingerprint[:12]}); re-record the fixture if the request changed on purpose"
            if same_path
            else f"nothing was recorded for {request.method} {path}"
        )
        raise ReplayMismatchError(f"replay fixture {self.path}: unmatched request: {hint}")


class ReplayTransport:
    """The `Transport` of a `ReplayFixture` (recording through ``inner`` or replaying)."""

    def __init__(self, fixture: ReplayFixture, inner: Optional[Transport]) -> None:
        self.fixture = fixture
        self.inner = inner

    def send(
        self,
        request: TransportRequest,
        *,
        stream: bool = False,
        timeout: Optional[Timeout] = None,
        cancel: Optional[Any] = None,
    ) -> TransportResponse:
        """Record or replay one exchange (see `omnillm.transport.Transport.send`).

        ``cancel`` reaches the inner transport when recording (if it takes one); a
        replayed exchange is answered at once, with the token checked first.
        """
        if cancel is not None and cancel.cancelled:
            raise CancelledError("the call was cancelled")
        if self.fixture.mode == "replay":
            return self._replay(request, stream)
        assert self.inner is not None
        if cancel is not None and accepts_cancel(self.inner):
            cancellable: Any = self.inner
            response: TransportResponse = cancellable.send(request, stream=stream, timeout=timeout, cancel=cancel)
        else:
            response = self.inner.send(request, stream=stream, timeout=timeout)
        if not stream or response.stream is None:
            response.read()
            self.fixture._record(request, response, None)
            return response
        return self._tee(request, response)

    def _tee(self, request: TransportRequest, response: TransportResponse) -> TransportResponse:
        upstream = response.stream
        assert upstream is not None
        seen: List[bytes] = []
        fixture = self.fixture

        def chunks() -> Iterator[bytes]:
            for piece in upstream:
                seen.append(piece)
                yield piece

        def release() -> None:
            upstream.close()
            fixture._record(request, response, seen)

        return TransportResponse(
            response.status, response.headers, b"", ByteStream(chunks(), release, upstream.close), url=response.url
        )

    def _replay(self, request: TransportRequest, stream: bool) -> TransportResponse:
        exchange = self.fixture._match(request)
        headers = Headers(exchange.response_headers)
        if exchange.chunks is not None:
            pieces = [_load_body(c) for c in exchange.chunks]
            if stream:
                return TransportResponse(exchange.status, headers, b"", ByteStream(iter(pieces)), url=exchange.url)
            return TransportResponse(exchange.status, headers, b"".join(pieces), url=exchange.url)
        body = _load_body(exchange.body or {})
        if stream:
            return TransportResponse(exchange.status, headers, b"", ByteStream(iter([body])), url=exchange.url)
        return TransportResponse(exchange.status, headers, body, url=exchange.url)

    def close(self) -> None:
        """Close the inner transport, if any."""
        if self.inner is not None:
            self.inner.close()


__all__ = ["RecordedExchange", "ReplayFixture", "ReplayMismatchError", "ReplayTransport"]
