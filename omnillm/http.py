"""Transport-level data: what goes over HTTP, as plain values with no I/O.

Codecs produce and consume these; a `Transport` (``omnillm.transport``) is the only
thing that turns them into network traffic. `TransportRequest` carries a method, a URL
(absolute, or a path relative to a provider's base URL), headers, query parameters and a
body that is one of `Json`, `Bytes`, `Multipart` or `Empty`. `TransportResponse`
carries the status, headers and either the whole body or a `ByteStream`.

Header values that hold credentials never show in a ``repr``: see `SECRET_HEADERS`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
)

#: Header names (lower case) whose values are credentials, redacted from every repr.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "x-amz-security-token",
        "cookie",
        "set-cookie",
    }
)

#: Query parameter names (lower case) whose values are credentials.
SECRET_QUERY = frozenset(
    {"key", "api_key", "apikey", "api-key", "ak", "token", "access_token", "sig", "signature", "x-amz-signature"}
)

REDACTED = "[REDACTED]"

#: Response headers that carry the provider's request id, in the order they are tried.
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "apim-request-id", "x-goog-request-id")


class Headers:
    """Case-insensitive HTTP headers that keep the order and spelling they were given in.

    Setting a name replaces every value of that name; `add` appends one more. ``repr``
    redacts credential headers.
    """

    __slots__ = ("_index", "_items")

    def __init__(self, items: Union[Mapping[str, str], Iterable[Tuple[str, str]], None] = None) -> None:
        self._items: List[Tuple[str, str]] = []
        # Lower-case name -> first value, built on the first lookup and kept in step with
        # every change after it: lookups are a dict hit instead of a scan of every pair.
        self._index: Optional[Dict[str, str]] = None
        if items is None:
            return
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items = [(str(name), str(value)) for name, value in pairs]

    def _lookup(self) -> Dict[str, str]:
        index = self._index
        if index is None:
            index = {}
            for k, v in self._items:
                index.setdefault(k.lower(), v)
            self._index = index
        return index

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The first value of ``name`` (any case), or ``default``."""
        index = self._index
        if index is None:
            index = self._lookup()
        return index.get(name.lower(), default)

    def get_all(self, name: str) -> List[str]:
        """Every value of ``name``, in order."""
        low = name.lower()
        return [v for k, v in self._items if k.lower() == low]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        low = name.lower()
        text = str(value)
        index = self._lookup()
        if low in index:
            self._items = [(k, v) for k, v in self._items if k.lower() != low]
        self._items.append((name, text))
        index[low] = text

    def __delitem__(self, name: str) -> None:
        low = name.lower()
        index = self._lookup()
        if low in index:
            self._items = [(k, v) for k, v in self._items if k.lower() != low]
            del index[low]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return sorted((k.lower(), v) for k, v in self._items) == sorted((k.lower(), v) for k, v in other._items)
        return NotImplemented

    def add(self, name: str, value: str) -> None:
        """Append a value for ``name`` without removing earlier ones."""
        text = str(value)
        self._items.append((name, text))
        if self._index is not None:
            self._index.setdefault(name.lower(), text)

    def setdefault(self, name: str, value: str) -> str:
        """Set ``name`` to ``value`` unless it is present; return the value in effect."""
        index = self._lookup()
        low = name.lower()
        found = index.get(low)
        if found is not None:
            return found
        text = str(value)
        self._items.append((name, text))
        index[low] = text
        return text

    def items(self) -> List[Tuple[str, str]]:
        """All (name, value) pairs in order, with their original spelling."""
        return list(self._items)

    def copy(self) -> Headers:
        """An independent copy."""
        clone = Headers()
        clone._items = list(self._items)
        clone._index = None if self._index is None else dict(self._index)
        return clone

    def to_dict(self) -> Dict[str, str]:
        """A plain dict (lower-case names; repeated names joined with ", ")."""
        out: Dict[str, str] = {}
        for k, v in self._items:
            low = k.lower()
            out[low] = f"{out[low]}, {v}" if low in out else v
        return out

    def __repr__(self) -> str:
        shown = [(k, REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in self._items]
        return f"Headers({shown!r})"


HeadersLike = Union[Headers, Mapping[str, str], Iterable[Tuple[str, str]], None]


def as_headers(value: HeadersLike) -> Headers:
    """``value`` as a `Headers` (the same object when it already is one)."""
    return value if isinstance(value, Headers) else Headers(value)


# --------------------------------------------------------------------------- bodies


# One encoder for every body: ``json.dumps`` with arguments builds a new one per call.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Json:
    """A JSON body: ``value`` is serialised compactly as UTF-8."""

    value: Any

    content_type = "application/json"

    def encode(self) -> bytes:
        """The body bytes."""
        return _COMPACT_JSON.encode(self.value).encode("utf-8")


@dataclass(frozen=True)
class Bytes:
    """Raw body bytes with their content type."""

    data: bytes
    content_type: str = "application/octet-stream"

    def encode(self) -> bytes:
        """The body bytes."""
        return self.data

    def __repr__(self) -> str:
        return f"Bytes(<{len(self.data)} bytes>, content_type={self.content_type!r})"


@dataclass(frozen=True)
class MultipartField:
    """One part of a multipart/form-data body: a plain field, or a file when ``filename`` is set."""

    name: str
    value: Union[str, bytes]
    filename: Optional[str] = None
    content_type: Optional[str] = None

    def __repr__(self) -> str:
        shown = f"<{len(self.value)} bytes>" if isinstance(self.value, bytes) else repr(self.value)
        return f"MultipartField({self.name!r}, {shown}, filename={self.filename!r}, content_type={self.content_type!r})"


@dataclass(frozen=True)
class Multipart:
    """A multipart/form-data body (RFC 7578): fields in order and the boundary between them."""

    fields: Tuple[MultipartField, ...]
    boundary: str

    @property
    def content_type(self) -> str:
        """The ``content-type`` header value, boundary included."""
        return f"multipart/form-data; boundary={self.boundary}"

    def encode(self) -> bytes:
        """The body bytes (see ``omnillm.multipart``)."""
        from .multipart import encode_multipart

        return encode_multipart(self.fields, self.boundary)


@dataclass(frozen=True)
class Empty:
    """No body (GET, DELETE)."""

    content_type = ""

    def encode(self) -> bytes:
        """The body bytes: none."""
        return b""


Body = Union[Json, Bytes, Multipart, Empty]


# --------------------------------------------------------------------------- request / response


@dataclass
class TransportRequest:
    """One HTTP request as plain data.

    ``url`` is absolute (``https://...``) or a path (``/v1/chat/completions``) that a
    provider joins to its base URL. ``query`` pairs are appended to the URL in order.
    """

    method: str
    url: str
    headers: Headers = field(default_factory=Headers)
    query: List[Tuple[str, str]] = field(default_factory=list)
    body: Body = field(default_factory=Empty)

    def __post_init__(self) -> None:
        self.headers = as_headers(self.headers)

    def body_bytes(self) -> bytes:
        """The encoded body."""
        return self.body.encode()

    def full_url(self) -> str:
        """``url`` with ``query`` appended (percent-encoded)."""
        if not self.query:
            return self.url
        from urllib.parse import urlencode

        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}{urlencode(self.query)}"

    def __repr__(self) -> str:
        query = [(k, REDACTED if k.lower() in SECRET_QUERY else v) for k, v in self.query]
        return (
            f"TransportRequest(method={self.method!r}, url={self.url!r}, headers={self.headers!r}, "
            f"query={query!r}, body={self.body!r})"
        )


class ByteStream:
    """An iterator of body chunks that releases its connection when closed.

    ``close`` is idempotent and may be called from any thread: while another thread is
    blocked reading, it calls ``abort`` (which must make that read return or fail, such as
    shutting the socket) and the reading thread finishes the cleanup. The ``release``
    callback runs once, whether the stream was read to the end, closed early, or
    garbage-collected unread. ``drain``, when given, reads and discards what is left of
    the body within a short bound, so that `finish` can keep the connection.
    """

    def __init__(
        self,
        chunks: Iterator[bytes],
        release: Optional[Callable[[], None]] = None,
        abort: Optional[Callable[[], None]] = None,
        drain: Optional[Callable[[], object]] = None,
    ) -> None:
        self._chunks = chunks
        self._release = release
        self._abort = abort
        self._drain = drain
        self._lock = threading.Lock()
        self._reading = False
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        with self._lock:
            if self.closed:
                raise StopIteration
            self._reading = True
        try:
            piece = next(self._chunks)
        except BaseException:
            with self._lock:
                self._reading = False
            self._cleanup()
            raise
        with self._lock:
            self._reading = False
            aborted = self._is_closed()  # close() may have run in another thread meanwhile
        if aborted:
            self._cleanup()
            raise StopIteration
        return piece

    def _is_closed(self) -> bool:
        return self.closed

    def close(self) -> None:
        """Stop reading and give the connection back (or drop it when unread)."""
        with self._lock:
            if self.closed and not self._reading:
                return
            self.closed = True
            busy = self._reading
        if busy:
            # Another thread is inside next(): interrupt its read; it cleans up after.
            if self._abort is not None:
                self._abort()
            return
        self._cleanup()

    def finish(self) -> None:
        """Close a body whose content is complete, keeping its connection when the rest arrives at once.

        After a protocol's terminal event the body may not have ended yet (SSE's ``[DONE]``
        line, the chunked terminator): ``drain`` reads that rest within its bound, so the
        connection can go back to the pool. Without ``drain``, or while another thread is
        reading, this is `close`.
        """
        drain = self._drain
        with self._lock:
            idle = drain is not None and not self.closed and not self._reading
            if idle:
                self._reading = True
        if drain is None or not idle:
            self.close()
            return
        try:
            drain()
        finally:
            with self._lock:
                self._reading = False
            self._cleanup()

    def _cleanup(self) -> None:
        with self._lock:
            self.closed = True
            release, self._release = self._release, None
            chunks, self._chunks = self._chunks, iter(())
        closer = getattr(chunks, "close", None)
        try:
            if closer is not None:
                closer()
        finally:
            if release is not None:
                release()

    def read(self) -> bytes:
        """Every remaining chunk, joined."""
        return b"".join(self)

    def __enter__(self) -> ByteStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            return


def request_id_of(headers: Headers) -> Optional[str]:
    """The provider's request id in response ``headers`` (see `REQUEST_ID_HEADERS`), or None."""
    for name in REQUEST_ID_HEADERS:
        found = headers.get(name)
        if found:
            return found
    return None


@dataclass
class TransportResponse:
    """One HTTP response as plain data: status, headers, and ``body`` or ``stream``.

    For a streamed request ``stream`` holds the unread body and ``body`` is empty; call
    `read` to get all of it either way.
    """

    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    stream: Optional[ByteStream] = field(default=None, repr=False)
    url: str = ""

    def __post_init__(self) -> None:
        self.headers = as_headers(self.headers)

    def read(self) -> bytes:
        """The whole body (reading and closing the stream when there is one)."""
        if self.stream is not None:
            with self.stream as s:
                self.body = s.read()
            self.stream = None
        return self.body

    def close(self) -> None:
        """Close the stream, if any, without reading the rest."""
        if self.stream is not None:
            self.stream.close()

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` if it is not)."""
        return json.loads(self.read())

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case (``""`` when absent)."""
        value = self.headers.get("content-type") or ""
        return value.split(";", 1)[0].strip().lower()

    def __repr__(self) -> str:
        size = "stream" if self.stream is not None else f"<{len(self.body)} bytes>"
        return f"TransportResponse(status={self.status}, headers={self.headers!r}, body={size})"


__all__ = [
    "SECRET_HEADERS",
    "SECRET_QUERY",
    "REQUEST_ID_HEADERS",
    "request_id_of",
    "Headers",
    "Json",
    "Bytes",
    "MultipartField",
    "Multipart",
    "Empty",
    "Body",
    "TransportRequest",
    "TransportResponse",
    "ByteStream",
]
