"""AWS event-stream (``application/vnd.amazon.eventstream``): a sans-I/O decoder and an encoder.

The binary framing Bedrock's ConverseStream (and every other AWS streaming API) sends
instead of SSE. Each message is::

    total_length (u32) | headers_length (u32) | prelude_crc (u32)
    headers (headers_length bytes) | payload | message_crc (u32)

all big-endian. ``prelude_crc`` is the CRC-32 (zlib) of the first 8 bytes and
``message_crc`` the CRC-32 of everything before it. A header is ``name_len (u8) | name
(UTF-8) | type (u8) | value``; the type codes and their Python values:

====  ==========  =========================================================
code  wire type   Python value
====  ==========  =========================================================
0, 1  bool        ``True`` / ``False`` (no value bytes)
2     byte        `Byte` (an ``int``; 1 byte signed)
3     short       `Short` (an ``int``; 2 bytes signed)
4     integer     ``int`` (4 bytes signed)
5     long        `Long` (an ``int``; 8 bytes signed)
6     byte array  ``bytes`` (u16 length + bytes)
7     string      ``str`` (u16 length + UTF-8)
8     timestamp   `Timestamp` (an ``int``: milliseconds since the epoch, 8 bytes signed)
9     UUID        `uuid.UUID` (16 bytes)
====  ==========  =========================================================

`EventStreamDecoder` works like `omnillm.sse.SSEParser`: bytes go in through
`EventStreamDecoder.feed` split anywhere, finished `EventStreamMessage` values come out.
Both CRCs are verified, lengths are checked against each other and against size bounds
before anything is buffered, and any corruption or truncation raises `EventStreamError`.
`format_message` writes what the decoder reads; decoding its output gives back the same
headers (value types included) and payload.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Mapping, NoReturn, Optional, Tuple, Union

from .errors import OmniLLMError

#: botocore's bounds, which the AWS services respect: 128 KiB of headers, 24 MiB of payload.
MAX_HEADERS_BYTES = 128 * 1024
MAX_PAYLOAD_BYTES = 24 * 1024 * 1024

_PRELUDE = struct.Struct(">III")
_U32 = struct.Struct(">I")
_PRELUDE_BYTES = 12
_OVERHEAD = 16  # prelude plus the trailing message CRC


class EventStreamError(OmniLLMError, ValueError):
    """An event stream is corrupt (a CRC mismatch, inconsistent lengths, a bad header), too
    large, or cut inside a message; or a value cannot be written as a header."""


class Byte(int):
    """A header integer written as one signed byte (type 2)."""


class Short(int):
    """A header integer written as a 2-byte signed integer (type 3)."""


class Long(int):
    """A header integer written as an 8-byte signed integer (type 5)."""


class Timestamp(int):
    """A header timestamp (type 8): milliseconds since the Unix epoch."""


HeaderValue = Union[bool, int, bytes, str, uuid.UUID]
"""A header value: see the table in the module docstring for which type is which code."""


@dataclass
class EventStreamMessage:
    """One decoded message: its headers (in wire order) and its payload bytes."""

    headers: Dict[str, HeaderValue] = field(default_factory=dict)
    payload: bytes = b""


# --------------------------------------------------------------------------- decoding

_FIXED = {2: (1, ">b", Byte), 3: (2, ">h", Short), 4: (4, ">i", int), 5: (8, ">q", Long), 8: (8, ">q", Timestamp)}


def _parse_headers(data: bytes, where: str) -> Dict[str, HeaderValue]:
    headers: Dict[str, HeaderValue] = {}
    pos, end = 0, len(data)

    def fail(problem: str) -> NoReturn:
        raise EventStreamError(f"{where}: header at byte {pos} of the headers: {problem}")

    while pos < end:
        start = pos
        size = data[pos]
        if start + 1 + size + 1 > end:
            fail("name and type run past the end of the headers")
        try:
            name = data[start + 1 : start + 1 + size].decode("utf-8")
        except UnicodeDecodeError:
            fail("name is not valid UTF-8")
        kind = data[start + 1 + size]
        pos = start + 2 + size
        value: HeaderValue
        if kind in (0, 1):
            value = kind == 0
        elif kind in _FIXED:
            width, fmt, cls = _FIXED[kind]
            if pos + width > end:
                fail(f"{name!r}: value runs past the end of the headers")
            value = cls(struct.unpack_from(fmt, data, pos)[0])
            pos += width
        elif kind in (6, 7):
            if pos + 2 > end:
                fail(f"{name!r}: value length runs past the end of the headers")
            length = struct.unpack_from(">H", data, pos)[0]
            if pos + 2 + length > end:
                fail(f"{name!r}: value of {length} bytes runs past the end of the headers")
            raw = data[pos + 2 : pos + 2 + length]
            pos += 2 + length
            if kind == 6:
                value = raw
            else:
                try:
                    value = raw.decode("utf-8")
                except UnicodeDecodeError:
                    fail(f"{name!r}: string value is not valid UTF-8")
        elif kind == 9:
            if pos + 16 > end:
                fail(f"{name!r}: UUID runs past the end of the headers")
            value = uuid.UUID(bytes=data[pos : pos + 16])
            pos += 16
        else:
            fail(f"{name!r}: unknown header value type {kind}")
        if name in headers:
            fail(f"duplicate header {name!r}")
        headers[name] = value
    return headers


class EventStreamDecoder:
    """Incremental AWS event-stream decoder: `feed` bytes, then `close`.

    Chunks may split the stream anywhere. The prelude CRC is checked before its lengths
    are trusted, and the lengths against each other and against ``max_headers_bytes`` /
    ``max_payload_bytes`` before the message is buffered, so a corrupt or hostile stream
    costs at most one bounded message of memory. Any failure raises `EventStreamError`;
    after it the decoder is unusable and every further call raises again. Messages
    completed earlier in the failing chunk are not returned.
    """

    def __init__(
        self, *, max_headers_bytes: int = MAX_HEADERS_BYTES, max_payload_bytes: int = MAX_PAYLOAD_BYTES
    ) -> None:
        if max_headers_bytes < 0 or max_payload_bytes < 0:
            raise EventStreamError(
                f"event stream limits must not be negative, got {max_headers_bytes=} {max_payload_bytes=}"
            )
        self.max_headers_bytes = max_headers_bytes
        self.max_payload_bytes = max_payload_bytes
        self._buffer = bytearray()
        self._total: Optional[int] = None  # length of the message whose prelude was checked
        self._headers_length = 0
        self._offset = 0  # stream offset of the buffer's first byte
        self._count = 0  # messages decoded so far
        self._broken: Optional[str] = None
        self._closed = False

    @property
    def pending(self) -> int:
        """How many bytes of an incomplete message are buffered."""
        return len(self._buffer)

    def feed(self, data: Union[bytes, bytearray, memoryview]) -> List[EventStreamMessage]:
        """Consume one chunk and return the messages it completed, in stream order."""
        if self._broken is not None or self._closed:
            self._refuse("feed")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            self._fail(f"event stream: expected bytes, got {type(data).__name__}")
        self._buffer += data
        messages: List[EventStreamMessage] = []
        consumed = 0
        buffer = self._buffer
        while True:
            available = len(buffer) - consumed
            if self._total is None:
                if available < _PRELUDE_BYTES:
                    break
                self._check_prelude(bytes(buffer[consumed : consumed + _PRELUDE_BYTES]), consumed)
            total = self._total
            assert total is not None
            if available < total:
                break
            messages.append(self._message(bytes(buffer[consumed : consumed + total]), consumed))
            consumed += total
            self._total = None
        if consumed:
            del buffer[:consumed]
            self._offset += consumed
        return messages

    def close(self) -> List[EventStreamMessage]:
        """Signal end of input. Raises `EventStreamError` if the input ended inside a message."""
        if self._broken is not None:
            self._refuse("close")
        if self._closed:
            return []
        self._closed = True
        if self._buffer:
            expected = f" of {self._total}" if self._total is not None else ""
            self._fail(
                f"event stream ended inside message {self._count} (byte offset {self._offset}): "
                f"{len(self._buffer)}{expected} bytes received"
            )
        return []

    def _where(self, at: int) -> str:
        return f"event stream message {self._count} (byte offset {self._offset + at})"

    def _check_prelude(self, prelude: bytes, at: int) -> None:
        total, headers_length, crc = _PRELUDE.unpack(prelude)
        computed = zlib.crc32(prelude[:8]) & 0xFFFFFFFF
        where = self._where(at)
        if computed != crc:
            self._fail(f"{where}: prelude CRC mismatch: expected 0x{crc:08x}, computed 0x{computed:08x}")
        if total < _OVERHEAD or headers_length > total - _OVERHEAD:
            self._fail(f"{where}: inconsistent lengths: total {total}, headers {headers_length}")
        if headers_length > self.max_headers_bytes:
            self._fail(f"{where}: {headers_length} bytes of headers exceed max_headers_bytes={self.max_headers_bytes}")
        payload = total - _OVERHEAD - headers_length
        if payload > self.max_payload_bytes:
            self._fail(f"{where}: {payload} bytes of payload exceed max_payload_bytes={self.max_payload_bytes}")
        self._total = total
        self._headers_length = headers_length

    def _message(self, raw: bytes, at: int) -> EventStreamMessage:
        where = self._where(at)
        (crc,) = _U32.unpack_from(raw, len(raw) - 4)
        computed = zlib.crc32(raw[:-4]) & 0xFFFFFFFF
        if computed != crc:
            self._fail(f"{where}: message CRC mismatch: expected 0x{crc:08x}, computed 0x{computed:08x}")
        headers_end = _PRELUDE_BYTES + self._headers_length
        try:
            headers = _parse_headers(raw[_PRELUDE_BYTES:headers_end], where)
        except EventStreamError as exc:
            self._broken = str(exc)
            self._buffer = bytearray()
            raise
        self._count += 1
        return EventStreamMessage(headers, raw[headers_end:-4])

    def _refuse(self, method: str) -> NoReturn:
        if self._broken is not None:
            raise EventStreamError(f"event stream decoder: {method}() after an earlier error: {self._broken}")
        raise EventStreamError(f"event stream decoder: {method}() after close()")

    def _fail(self, message: str) -> NoReturn:
        self._broken = message
        self._buffer = bytearray()
        raise EventStreamError(message)


def iter_messages(
    chunks: Iterable[Union[bytes, bytearray, memoryview]],
    *,
    max_headers_bytes: int = MAX_HEADERS_BYTES,
    max_payload_bytes: int = MAX_PAYLOAD_BYTES,
) -> Iterator[EventStreamMessage]:
    """Decode an iterable of chunks lazily: each message is yielded before the next chunk is read."""
    decoder = EventStreamDecoder(max_headers_bytes=max_headers_bytes, max_payload_bytes=max_payload_bytes)
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()


# --------------------------------------------------------------------------- encoding

_RANGES: Dict[int, Tuple[int, int]] = {
    2: (-(2**7), 2**7),
    3: (-(2**15), 2**15),
    4: (-(2**31), 2**31),
    5: (-(2**63), 2**63),
}


def _header_bytes(name: str, value: HeaderValue) -> bytes:
    if not isinstance(name, str):
        raise EventStreamError(f"event stream header names are strings, got {type(name).__name__}")
    raw_name = name.encode("utf-8")
    if not 1 <= len(raw_name) <= 255:
        raise EventStreamError(f"event stream header name {name!r} must be 1 to 255 UTF-8 bytes")
    head = bytes([len(raw_name)]) + raw_name
    if isinstance(value, bool):
        return head + bytes([0 if value else 1])
    if isinstance(value, int):
        if isinstance(value, Timestamp):
            kind, fmt = 8, ">q"
            low, high = _RANGES[5]
        else:
            if isinstance(value, Byte):
                kind = 2
            elif isinstance(value, Short):
                kind = 3
            elif isinstance(value, Long):
                kind = 5
            else:
                # A plain int takes the 4-byte type when it fits, as the AWS SDKs' "integer".
                kind = 4 if _RANGES[4][0] <= value < _RANGES[4][1] else 5
            fmt = _FIXED[kind][1]
            low, high = _RANGES[kind]
        if not low <= value < high:
            raise EventStreamError(f"event stream header {name!r}: {int(value)} does not fit type {kind}")
        return head + bytes([kind]) + struct.pack(fmt, value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        kind, raw = 6, bytes(value)
    elif isinstance(value, str):
        kind, raw = 7, value.encode("utf-8")
    elif isinstance(value, uuid.UUID):
        return head + bytes([9]) + value.bytes
    else:
        raise EventStreamError(f"event stream header {name!r}: cannot write a {type(value).__name__}")
    if len(raw) > 0xFFFF:
        raise EventStreamError(f"event stream header {name!r}: value of {len(raw)} bytes exceeds 65535")
    return head + bytes([kind]) + struct.pack(">H", len(raw)) + raw


def format_message(
    headers: Mapping[str, HeaderValue],
    payload: Union[bytes, bytearray, memoryview] = b"",
    *,
    max_headers_bytes: int = MAX_HEADERS_BYTES,
    max_payload_bytes: int = MAX_PAYLOAD_BYTES,
) -> bytes:
    """Write one message: prelude, headers in the given order, payload and both CRCs.

    Raises `EventStreamError` for a value that cannot be a header (see the module
    docstring for the types) or a message past the size bounds a decoder enforces.
    """
    head = b"".join(_header_bytes(name, value) for name, value in headers.items())
    body = bytes(payload)
    if len(head) > max_headers_bytes:
        raise EventStreamError(
            f"event stream: {len(head)} bytes of headers exceed max_headers_bytes={max_headers_bytes}"
        )
    if len(body) > max_payload_bytes:
        raise EventStreamError(
            f"event stream: {len(body)} bytes of payload exceed max_payload_bytes={max_payload_bytes}"
        )
    prefix = struct.pack(">II", len(head) + len(body) + _OVERHEAD, len(head))
    prelude = prefix + _U32.pack(zlib.crc32(prefix) & 0xFFFFFFFF)
    message = prelude + head + body
    return message + _U32.pack(zlib.crc32(message) & 0xFFFFFFFF)


__all__ = [
    "MAX_HEADERS_BYTES",
    "MAX_PAYLOAD_BYTES",
    "Byte",
    "EventStreamDecoder",
    "EventStreamError",
    "EventStreamMessage",
    "HeaderValue",
    "Long",
    "Short",
    "Timestamp",
    "format_message",
    "iter_messages",
]
