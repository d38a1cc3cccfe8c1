"""HTTP/1.1 chunked transfer coding, decoded incrementally (RFC 9112, section 7.1).

Sans-I/O, like the SSE parser: bytes as they came off the socket go in through
`ChunkedDecoder.feed`, the body's payload bytes come out, however the reads split the
framing (inside a size line, between a chunk's data and its CRLF, inside the trailer).
The urllib3 transport reads a chunked body with it in reads of up to 64 KiB instead of
one HTTP chunk at a time: a provider writes each SSE event as its own chunk, so a read
that finds many waiting hands them all on at once, and a read that finds one hands it on
at once; either way nothing waits for a buffer to fill.
"""

from __future__ import annotations

import re
from typing import List, Optional

#: Bound on one size line (with its extensions) and on one trailer line.
MAX_LINE_BYTES = 4096

# A size line: hex digits, optional whitespace and extensions, the line end (LF tolerated).
_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\n]*)?\r?\n")
_PLAIN_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})\r\n")

# Decoder states: what the next bytes are.
_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class ChunkedError(ValueError):
    """A chunked body broke the framing (a bad size line, data not ended by CRLF, a cut)."""


class ChunkedDecoder:
    """Incremental decoder of one chunked body: `feed` reads, read ``done`` after each.

    Chunk extensions are ignored and the trailer section is read and dropped, as HTTP
    clients do. A bad size line, chunk data not followed by its line end, or a line
    longer than `MAX_LINE_BYTES` raises `ChunkedError`; so does `feed` after ``done``.
    Bytes that follow the final chunk in the same read are not part of this body: they
    are not returned, and ``surplus`` becomes true (an HTTP/1.1 server sends nothing
    before the next request, so a connection that carried them is not reused).
    """

    __slots__ = ("_buf", "_left", "_state", "error", "surplus")

    def __init__(self) -> None:
        self._buf = b""
        self._left = 0  # data bytes of the current chunk still to come
        self._state = _SIZE
        self.surplus = False
        self.error: Optional[ChunkedError] = None
        """The framing error found, if any; every later `feed` raises it. When payload came
        before it in the same read, that payload was returned and callers raise this once
        they handed it on."""

    @property
    def done(self) -> bool:
        """True once the last chunk and the trailer section were read."""
        return self._state == _DONE

    def feed(self, data: bytes) -> bytes:
        """The payload bytes that ``data`` completes (possibly empty).

        Broken framing raises `ChunkedError`, unless payload came before it in ``data``:
        then that payload is returned first (no event that arrived whole is lost) and the
        error waits in ``error``.
        """
        if self.error is not None:
            raise self.error
        if self._state == _DONE:
            raise ChunkedError("data after the end of the chunked body")
        out: List[bytes] = []
        try:
            self._decode(data, out)
        except ChunkedError as exc:
            self.error = exc  # the decoder is unusable from here on: every later feed raises it
            if not out:
                raise
        if not out:
            return b""
        return out[0] if len(out) == 1 else b"".join(out)

    def _decode(self, data: bytes, out: List[bytes]) -> None:
        buf = self._buf + data if self._buf else data
        self._buf = b""
        state, left = self._state, self._left
        pos, end = 0, len(buf)
        plain = _PLAIN_SIZE_LINE.match
        while pos < end:
            if state == _SIZE:
                # Whole chunks with a plain size line, in a tight loop: nearly every chunk.
                while True:
                    size_line = plain(buf, pos)
                    if size_line is None:
                        break
                    start = size_line.end()
                    stop = start + int(size_line[1], 16)
                    if stop == start or stop + 2 > end or buf[stop : stop + 2] != b"\r\n":
                        break
                    out.append(buf[start:stop])
                    pos = stop + 2
                if pos == end:
                    break
                size_line = _SIZE_LINE.match(buf, pos)
                if size_line is None:
                    nl = buf.find(b"\n", pos)
                    if nl >= 0:
                        raise ChunkedError(f"invalid chunk size line {buf[pos:nl][:40]!r}")
                    self._hold(buf[pos:], state)
                    break
                if size_line.end() - pos > MAX_LINE_BYTES:
                    raise ChunkedError(f"chunk size or trailer line longer than {MAX_LINE_BYTES} bytes")
                left = int(size_line.group(1), 16)
                pos = size_line.end()
                if not left:
                    state = _TRAILER
                    continue
                state = _DATA
            elif state == _DATA:
                take = left if left < end - pos else end - pos
                out.append(buf[pos : pos + take])
                pos += take
                left -= take
                if not left:
                    state = _DATA_END
            else:  # _DATA_END or _TRAILER: a line
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    self._hold(buf[pos:], state)
                    break
                line = buf[pos:nl]
                pos = nl + 1
                if len(line) > MAX_LINE_BYTES:
                    raise ChunkedError(f"chunk size or trailer line longer than {MAX_LINE_BYTES} bytes")
                if state == _DATA_END:
                    if line and line != b"\r":
                        raise ChunkedError("chunk data is not followed by CRLF (a wrong chunk size?)")
                    state = _SIZE
                elif not line or line == b"\r":  # the blank line that ends the trailer section
                    state = _DONE
                    self.surplus = pos < end
                    break
        self._state, self._left = state, left

    def _hold(self, rest: bytes, state: int) -> None:
        """Keep the start of a line the next read completes, within the line bound."""
        if state == _DATA_END and rest != b"\r":
            raise ChunkedError("chunk data is not followed by CRLF (a wrong chunk size?)")
        if len(rest) > MAX_LINE_BYTES:
            raise ChunkedError(f"chunk size or trailer line longer than {MAX_LINE_BYTES} bytes")
        self._buf = rest
