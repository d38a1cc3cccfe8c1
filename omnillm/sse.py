"""Server-Sent Events: an incremental, sans-I/O parser and a writer.

`SSEParser` follows the WHATWG HTML "interpret an event stream" algorithm
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
bytes (or text) go in through `SSEParser.feed`, finished `SSEEvent` values come out, in
the shape of h11's ``receive_data`` / ``next_event``. It never touches a socket, so the
same parser serves a live response, a replay file and a test list. `format_event` and
`format_done` write the text that parser reads.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Iterable, Iterator, List, NoReturn, Optional, Union

from .errors import OmniLLMError

#: Default bound on one line and on one event's data: 16 MiB.
DEFAULT_LIMIT = 16 * 1024 * 1024

Chunk = Union[bytes, bytearray, str]


class SSEError(OmniLLMError, ValueError):
    """A Server-Sent Events stream broke a size limit, or a value cannot be written as SSE."""


@dataclass
class SSEEvent:
    """One dispatched event.

    ``event`` is the event type ("message" when the block had no ``event`` field).
    ``data`` is the block's ``data`` lines joined with "\\n". ``id`` is the last event ID in
    effect when the event was dispatched (None until an ``id`` field is seen; an empty
    ``id`` field resets it to ""). ``retry`` is the reconnection time in milliseconds in
    effect (None until a valid ``retry`` field is seen).
    """

    event: str
    data: str
    id: Optional[str] = None
    retry: Optional[int] = None


def _utf8_len(text: str) -> int:
    # Sizes are counted in UTF-8 bytes, which for valid input equals the bytes on the wire.
    # "surrogatepass" so that text fed as str with lone surrogates is measured, not rejected.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class SSEParser:
    """Incremental WHATWG event-stream parser: `feed` chunks, then `close`.

    Chunks may split the stream anywhere: inside a UTF-8 sequence, between the CR and LF of
    a CRLF, inside a field. Invalid UTF-8 becomes U+FFFD, as the spec's decoder does.

    ``max_line_bytes`` bounds one line (without its line end) and ``max_event_bytes`` one
    event's joined data. Both count the UTF-8 bytes of the decoded text: the wire bytes for
    valid input, three per U+FFFD that replaced an invalid byte. Crossing either raises
    `SSEError` at once, so a server that streams an endless line costs at most about
    ``max_line_bytes`` plus one chunk of memory. After an `SSEError` the parser is unusable
    and every further call raises again; events completed earlier in the failing chunk are
    not returned.

    ``flush_partial`` says what `close` does with an event whose final blank line never
    came. The default, False, is the spec's rule: discard it. At end of input such an event
    cannot be told apart from a connection cut mid-event, and dispatching it could hand a
    half-received payload (or a complete-looking terminal event) to the protocol decoder,
    hiding a truncation. Pass True for servers and fixture files known to omit the last
    blank line; the unterminated last line then counts as a line and the event dispatches.

    ``bare_json`` (off by default, and outside the SSE spec) reads the framing the Gemini
    API uses for an error after the HTTP 200: a JSON object written as plain lines, with no
    ``data:`` prefix. A line starting with ``{`` while no event is being built opens such an
    object; it and the lines after it are collected until its braces balance outside
    strings (the rule google-genai applies) and dispatched as one event of type "message"
    whose data is the object's text. `close` dispatches an object still open at end of
    input, whatever ``flush_partial`` says: its text is not valid JSON, so the protocol
    decoder reports the breakage instead of the stream looking complete.
    """

    def __init__(
        self,
        *,
        max_line_bytes: int = DEFAULT_LIMIT,
        max_event_bytes: int = DEFAULT_LIMIT,
        flush_partial: bool = False,
        bare_json: bool = False,
    ) -> None:
        if max_line_bytes < 1 or max_event_bytes < 1:
            raise SSEError(f"SSE limits must be positive, got {max_line_bytes=} {max_event_bytes=}")
        self.max_line_bytes = max_line_bytes
        self._line_chars_unchecked = max_line_bytes // 4  # lines this short cannot pass the limit
        self.max_event_bytes = max_event_bytes
        self.flush_partial = flush_partial
        self.bare_json = bare_json
        self._json_depth = 0  # open braces of the bare JSON object being collected (0: none)
        self._json_in_string = False
        self._json_escaped = False
        self._undecoded = b""  # the start of a UTF-8 sequence that the next chunk completes
        self._at_start = True  # a leading BOM is still to be stripped
        self._skip_lf = False  # the last chunk ended in CR: an LF opening the next one ends no line
        self._pending: List[str] = []  # pieces of the current, unterminated line
        self._pending_bytes = 0
        self._event_type = ""
        self._data: List[str] = []
        self._data_bytes = 0
        self._last_id: Optional[str] = None
        self._retry: Optional[int] = None
        self._broken: Optional[str] = None
        self._closed = False

    @property
    def last_event_id(self) -> Optional[str]:
        """The last event ID buffer: None until an ``id`` field is seen."""
        return self._last_id

    @property
    def retry(self) -> Optional[int]:
        """The reconnection time in milliseconds set by the stream, or None."""
        return self._retry

    def feed(self, chunk: Chunk) -> List[SSEEvent]:
        """Consume one chunk and return the events it completed, in stream order."""
        if self._broken is not None or self._closed:
            self._refuse("feed")
        if isinstance(chunk, str):
            # Bytes held back from an earlier chunk can no longer complete a character.
            text = self._decode_rest() + chunk if self._undecoded else chunk
        else:
            data = chunk
            if self._undecoded:
                data = self._undecoded + chunk
                self._undecoded = b""
            # The C codec directly, not codecs' incremental decoder: same result, less overhead.
            text, used = codecs.utf_8_decode(data, "replace", False)
            if used < len(data):
                self._undecoded = bytes(data[used:])
        if not text:
            return []
        if self._at_start:
            # The spec's UTF-8 decode strips one leading BOM, once per stream.
            self._at_start = False
            if text[0] == "\ufeff":
                text = text[1:]
                if not text:
                    return []
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            # CRLF, CR and LF all end a line; normalise to LF so one split serves every case.
            # A CR that ends the chunk ends its line now, and a following LF is swallowed.
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        last = text.rfind("\n")
        if last == -1:
            self._hold(text)
            return []
        if self._pending:
            self._pending.append(text[:last])
            lines = "".join(self._pending).split("\n")
            self._pending = []
            self._pending_bytes = 0
        else:
            lines = text[:last].split("\n")
        events: List[SSEEvent] = []
        if self.bare_json:
            self._process_lines_with_json(lines, events)
        else:
            short = self._line_chars_unchecked
            for line in lines:
                if not line:
                    if self._data:
                        self._dispatch(events)
                    else:
                        # A blank line with no data dispatches nothing but still resets the type.
                        self._event_type = ""
                elif line.startswith("data: ") and len(line) <= short:
                    # The line nearly every event is: `_process_field`'s data case, inlined.
                    value = line[6:]
                    size = len(value) if value.isascii() else _utf8_len(value)
                    self._data_bytes += size + 1 if self._data else size
                    if self._data_bytes > self.max_event_bytes:
                        self._too_much_data()
                    self._data.append(value)
                else:
                    self._process_field(line)
        if last + 1 < len(text):
            self._hold(text[last + 1 :])
        return events

    def close(self) -> List[SSEEvent]:
        """Signal end of input; return the unterminated last event only if ``flush_partial``.

        With ``bare_json``, a bare JSON object still being read is returned in any case.

        Bytes of an incomplete UTF-8 sequence at the end decode to U+FFFD. Calling `feed`
        after `close` raises `SSEError`; calling `close` again returns nothing.
        """
        if self._broken is not None:
            self._refuse("close")
        if self._closed:
            return []
        self._closed = True
        if self._undecoded:
            # U+FFFD only: no line end, no BOM, nothing for a pending CR to swallow.
            self._hold(self._decode_rest())
        events: List[SSEEvent] = []
        tail = "".join(self._pending)
        if self._json_depth or (self.bare_json and tail.startswith("{") and not self._data):
            # A bare JSON object needs no blank line to end: end of input ends it.
            if tail:
                self._json_line(tail, events)
            if self._json_depth:
                self._json_depth = 0
                self._dispatch(events)  # still unbalanced: the decoder sees broken JSON
        elif self.flush_partial:
            if self._pending:
                # End of input terminates the last line.
                self._process_field("".join(self._pending))
            if self._data:
                self._dispatch(events)
        # The spec's end-of-file rule: whatever is still buffered is discarded.
        self._pending = []
        self._pending_bytes = 0
        self._data = []
        self._data_bytes = 0
        self._event_type = ""
        return events

    def _decode_rest(self) -> str:
        # No more bytes can complete the held-back sequence: it decodes to U+FFFD.
        text = codecs.utf_8_decode(self._undecoded, "replace", True)[0]
        self._undecoded = b""
        return text

    def _refuse(self, method: str) -> NoReturn:
        if self._broken is not None:
            raise SSEError(f"SSE parser: {method}() after an earlier error: {self._broken}")
        raise SSEError(f"SSE parser: {method}() after close()")

    def _hold(self, piece: str) -> None:
        """Keep the start of an unterminated line, failing as soon as it passes the limit."""
        self._pending.append(piece)
        self._pending_bytes += _utf8_len(piece)
        if self._pending_bytes > self.max_line_bytes:
            self._fail(
                f"SSE line longer than max_line_bytes={self.max_line_bytes}"
                f" ({self._pending_bytes} bytes so far without a line end)"
            )

    def _process_lines_with_json(self, lines: List[str], events: List[SSEEvent]) -> None:
        """The line loop of `feed` for ``bare_json`` parsers."""
        for line in lines:
            if self._json_depth or (line.startswith("{") and not self._data):
                self._json_line(line, events)
            elif line:
                self._process_field(line)
            elif self._data:
                self._dispatch(events)
            else:
                self._event_type = ""

    def _json_line(self, line: str, events: List[SSEEvent]) -> None:
        """Add one line to a bare JSON object; dispatch the object once its braces balance."""
        if len(line) > self._line_chars_unchecked and _utf8_len(line) > self.max_line_bytes:
            self._fail(f"SSE line longer than max_line_bytes={self.max_line_bytes} ({_utf8_len(line)} bytes)")
        depth, in_string, escaped = self._json_depth, self._json_in_string, self._json_escaped
        for char in line:
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
        self._json_depth, self._json_in_string, self._json_escaped = max(depth, 0), in_string, escaped
        self._data_bytes += _utf8_len(line) + (1 if self._data else 0)
        if self._data_bytes > self.max_event_bytes:
            self._too_much_data()
        self._data.append(line)
        if not self._json_depth:
            self._json_in_string = self._json_escaped = False
            self._dispatch(events)

    def _process_field(self, line: str) -> None:
        """Apply one non-blank line to the event being built."""
        # UTF-8 needs at most four bytes a character, so only long lines need measuring.
        if len(line) > self._line_chars_unchecked and _utf8_len(line) > self.max_line_bytes:
            self._fail(f"SSE line longer than max_line_bytes={self.max_line_bytes} ({_utf8_len(line)} bytes)")
        if line[0] == ":":
            return  # comment, e.g. a keep-alive
        colon = line.find(":")
        if colon == -1:
            name = line
            value = ""
        else:
            name = line[:colon]
            # Exactly one space after the colon is syntax; any further spaces are value.
            value = line[colon + 2 :] if line.startswith(" ", colon + 1) else line[colon + 1 :]
        if name == "data":
            size = len(value) if value.isascii() else _utf8_len(value)
            self._data_bytes += size + 1 if self._data else size  # + 1 for the joining LF
            if self._data_bytes > self.max_event_bytes:
                self._too_much_data()
            self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id" and "\0" not in value:
            # An id containing NUL is ignored as a whole.
            self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        # Any other field name is ignored, as the spec requires.

    def _too_much_data(self) -> NoReturn:
        self._fail(
            f"SSE event data larger than max_event_bytes={self.max_event_bytes} ({self._data_bytes} bytes so far)"
        )

    def _dispatch(self, events: List[SSEEvent]) -> None:
        """Complete the event being built (its data buffer is not empty) and reset the buffers."""
        data = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
        events.append(SSEEvent(self._event_type or "message", data, self._last_id, self._retry))
        self._data = []
        self._data_bytes = 0
        self._event_type = ""

    def _fail(self, message: str) -> NoReturn:
        self._broken = message
        self._json_depth = 0
        self._pending = []
        self._pending_bytes = 0
        self._data = []
        self._data_bytes = 0
        raise SSEError(message)


def iter_sse(
    chunks: Iterable[Chunk],
    *,
    max_line_bytes: int = DEFAULT_LIMIT,
    max_event_bytes: int = DEFAULT_LIMIT,
    flush_partial: bool = False,
) -> Iterator[SSEEvent]:
    """Parse an iterable of chunks lazily: each event is yielded before the next chunk is read.

    Options as for `SSEParser`; `SSEParser.close` runs when ``chunks`` is exhausted.
    """
    parser = SSEParser(max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes, flush_partial=flush_partial)
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.close()


def _check_single_line(field: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise SSEError(f"SSE {field} cannot contain a line break: {value!r}")


def format_event(
    data: str,
    event: Optional[str] = None,
    id: Optional[str] = None,
    retry: Optional[int] = None,
) -> str:
    """Write one event as SSE text: ``event: X\\ndata: ...\\n\\n``.

    The ``event`` line comes first when given (as OpenAI Responses and Anthropic emit it),
    then ``id`` and ``retry``, then one ``data`` line per line of ``data``. SSE cannot carry
    a CR inside data, so CRLF and CR in ``data`` are written as line breaks and read back
    as "\\n". Raises `SSEError` for an ``event`` or ``id`` with a line break, an ``id`` with
    NUL (a reader ignores it) or a negative ``retry``.
    """
    head = ""
    if event is not None:
        _check_single_line("event", event)
        head = f"event: {event}\n"
    if id is not None:
        _check_single_line("id", id)
        if "\0" in id:
            raise SSEError(f"SSE id cannot contain NUL: {id!r}")
        head += f"id: {id}\n"
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise SSEError(f"SSE retry must be a non-negative int, got {retry!r}")
        head += f"retry: {retry}\n"
    if "\r" in data:
        data = data.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" in data:
        data = data.replace("\n", "\ndata: ")
    return f"{head}data: {data}\n\n"


def format_done() -> str:
    """The ``data: [DONE]`` sentinel that ends an OpenAI Chat Completions stream."""
    return "data: [DONE]\n\n"


__all__ = [
    "DEFAULT_LIMIT",
    "SSEError",
    "SSEEvent",
    "SSEParser",
    "format_done",
    "format_event",
    "iter_sse",
]
