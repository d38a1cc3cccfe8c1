"""Tests for omnillm.sse: the WHATWG event-stream parser, its limits, and the writer.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
Most rules get one example test; the property tests compare the parser with
`reference_parse`, a slow whole-input transliteration of the spec written independently
of the incremental code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnillm.errors import OmniLLMError
from omnillm.sse import (
    DEFAULT_LIMIT,
    SSEError,
    SSEEvent,
    SSEParser,
    format_done,
    format_event,
    iter_sse,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL_FIXTURES = SHARED / "fixtures" / "real"

Chunk = Union[bytes, str]
T = TypeVar("T", bytes, str)


def parse(*chunks: Chunk, flush_partial: bool = False, **limits: int) -> List[SSEEvent]:
    """Feed ``chunks`` one by one, then close; all events in order."""
    parser = SSEParser(flush_partial=flush_partial, **limits)
    events: List[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events


def split_at(raw: T, cuts: Sequence[int]) -> List[T]:
    """``raw`` cut at the given offsets (clamped, sorted, duplicates give empty chunks)."""
    points = sorted(min(max(c, 0), len(raw)) for c in cuts)
    pieces = []
    start = 0
    for point in points:
        pieces.append(raw[start:point])
        start = point
    pieces.append(raw[start:])
    return pieces


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def reference_parse(raw: bytes, flush_partial: bool = False) -> Tuple[List[SSEEvent], int, int]:
    """The spec's algorithm over the whole input at once.

    Returns the events, the longest line and the largest data buffer (both in UTF-8 bytes),
    so that callers can predict whether a limit must trip.
    """
    text = raw.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split(r"\r\n|\r|\n", text)
    tail = lines.pop()  # text after the last line end: an unterminated line
    longest = max([_utf8_len(line) for line in [*lines, tail]])
    if flush_partial and tail:
        lines.append(tail)
    events: List[SSEEvent] = []
    event_type = ""
    data: List[str] = []
    largest = 0
    last_id: Optional[str] = None
    retry: Optional[int] = None

    def dispatch() -> None:
        nonlocal event_type, data
        if data:
            events.append(SSEEvent(event_type or "message", "\n".join(data), last_id, retry))
        data = []
        event_type = ""

    for line in lines:
        if line == "":
            dispatch()
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
            largest = max(largest, _utf8_len("\n".join(data)))
        elif name == "event":
            event_type = value
        elif name == "id" and "\x00" not in value:
            last_id = value
        elif name == "retry" and re.fullmatch("[0-9]+", value):
            retry = int(value)
    if flush_partial:
        dispatch()
    return events, longest, largest


# --- WHATWG rules, one test each -------------------------------------------------------


def test_event_type_defaults_to_message() -> None:
    assert parse(b"data: hi\n\n") == [SSEEvent("message", "hi")]


def test_event_field_sets_type_of_that_event_only() -> None:
    assert parse(b"event: add\ndata: 1\n\ndata: 2\n\n") == [SSEEvent("add", "1"), SSEEvent("message", "2")]


def test_empty_event_field_means_message() -> None:
    assert parse(b"event:\ndata: x\n\n") == [SSEEvent("message", "x")]


def test_utf8_is_decoded() -> None:
    assert parse("data: héllo €😀\n\n".encode()) == [SSEEvent("message", "héllo €😀")]


def test_multibyte_character_split_across_chunks() -> None:
    raw = "data: €😀\n\n".encode()
    assert parse(*[raw[i : i + 1] for i in range(len(raw))]) == [SSEEvent("message", "€😀")]


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert parse(b"data: a\xffb\xc3\n\n") == [SSEEvent("message", "a\ufffdb\ufffd")]


def test_incomplete_utf8_at_end_of_input_becomes_replacement_character() -> None:
    assert parse(b"data: a\xe2\x82", flush_partial=True) == [SSEEvent("message", "a\ufffd")]


def test_leading_bom_is_stripped() -> None:
    assert parse(b"\xef\xbb\xbfdata: x\n\n") == [SSEEvent("message", "x")]


def test_leading_bom_split_across_chunks_is_stripped() -> None:
    assert parse(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == [SSEEvent("message", "x")]


def test_only_one_leading_bom_is_stripped() -> None:
    # The second BOM belongs to the first line, whose field name is then "\ufeffdata".
    assert parse(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n") == [SSEEvent("message", "y")]


def test_bom_after_start_is_data() -> None:
    assert parse(b"data: x\n\n", b"\xef\xbb\xbfdata: y\n\n") == [SSEEvent("message", "x")]
    assert parse(b"data: \xef\xbb\xbfy\n\n") == [SSEEvent("message", "\ufeffy")]


def test_bom_in_str_chunk_is_stripped() -> None:
    assert parse("\ufeffdata: x\n\n") == [SSEEvent("message", "x")]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_each_line_end(eol: bytes) -> None:
    raw = b"data: a" + eol + b"data: b" + eol + eol
    assert parse(raw) == [SSEEvent("message", "a\nb")]


def test_mixed_line_ends_in_one_stream() -> None:
    # As in the Firebase Gemini fixtures: LF after the data line, CRLF for the blank line.
    assert parse(b"data: a\n\r\ndata: b\r\rdata: c\r\n\n") == [
        SSEEvent("message", "a"),
        SSEEvent("message", "b"),
        SSEEvent("message", "c"),
    ]


def test_cr_and_lf_split_across_chunks_are_one_line_end() -> None:
    # Were the LF a second line end, the blank line would dispatch "a" alone.
    assert parse(b"data: a\r", b"\ndata: b\n\n") == [SSEEvent("message", "a\nb")]


def test_cr_at_chunk_end_then_cr_is_a_blank_line() -> None:
    assert parse(b"data: a\r", b"\rdata: b\n\n") == [SSEEvent("message", "a"), SSEEvent("message", "b")]


def test_lf_after_cr_swallowed_even_after_empty_chunk() -> None:
    assert parse(b"data: a\r", b"", b"\n", b"data: b\n\n") == [SSEEvent("message", "a\nb")]


def test_event_ending_in_cr_dispatches_without_waiting_for_next_chunk() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r\r") == [SSEEvent("message", "a")]
    assert parser.feed(b"\ndata: b\n\n") == [SSEEvent("message", "b")]


def test_only_cr_and_lf_end_lines() -> None:
    # str.splitlines would split on these; JSON strings may carry them raw.
    odd = "a\x0bb\x0cc\x1cd\x85e\u2028f\u2029g"
    assert parse(f"data: {odd}\n\n".encode()) == [SSEEvent("message", odd)]


def test_comment_lines_are_ignored() -> None:
    raw = b": keep-alive\n:\ndata: x\n: OPENROUTER PROCESSING\n:data: y\n\n"
    assert parse(raw) == [SSEEvent("message", "x")]


def test_comment_only_block_dispatches_nothing() -> None:
    assert parse(b": ping\n\n") == []


def test_one_leading_space_is_removed_from_value() -> None:
    assert parse(b"data:x\n\ndata: x\n\ndata:  x\n\n") == [
        SSEEvent("message", "x"),
        SSEEvent("message", "x"),
        SSEEvent("message", " x"),
    ]


def test_tab_after_colon_is_kept() -> None:
    assert parse(b"data:\tx\n\n") == [SSEEvent("message", "\tx")]


def test_value_may_contain_colons() -> None:
    assert parse(b'data: {"a": "b:c"}\n\n') == [SSEEvent("message", '{"a": "b:c"}')]


def test_line_without_colon_is_field_with_empty_value() -> None:
    assert parse(b"data\n\n") == [SSEEvent("message", "")]
    assert parse(b"event\ndata: x\n\n") == [SSEEvent("message", "x")]


def test_data_lines_are_joined_with_lf() -> None:
    assert parse(b"data: a\ndata:\ndata: c\n\n") == [SSEEvent("message", "a\n\nc")]


def test_empty_data_line_dispatches_empty_string() -> None:
    assert parse(b"data:\n\n") == [SSEEvent("message", "")]


def test_blank_line_without_data_dispatches_nothing_and_resets_type() -> None:
    assert parse(b"event: add\n\ndata: x\n\n") == [SSEEvent("message", "x")]


def test_repeated_blank_lines_dispatch_once() -> None:
    assert parse(b"data: x\n\n\n\n") == [SSEEvent("message", "x")]


def test_last_event_id_persists_across_events() -> None:
    assert parse(b"id: 7\ndata: a\n\ndata: b\n\n") == [SSEEvent("message", "a", "7"), SSEEvent("message", "b", "7")]


def test_empty_id_resets_last_event_id() -> None:
    assert parse(b"id: 7\ndata: a\n\nid\ndata: b\n\n") == [SSEEvent("message", "a", "7"), SSEEvent("message", "b", "")]


def test_id_without_data_still_sets_last_event_id() -> None:
    parser = SSEParser()
    assert parser.feed(b"id: 9\n\n") == []
    assert parser.last_event_id == "9"
    assert parser.feed(b"data: x\n\n") == [SSEEvent("message", "x", "9")]


def test_id_containing_nul_is_ignored() -> None:
    assert parse(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n") == [
        SSEEvent("message", "a", "1"),
        SSEEvent("message", "b", "1"),
    ]


def test_retry_with_ascii_digits_sets_reconnection_time() -> None:
    parser = SSEParser()
    assert parser.feed(b"retry: 3000\ndata: x\n\n") == [SSEEvent("message", "x", None, 3000)]
    assert parser.retry == 3000


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"12a",
        b"-5",
        b"+5",
        b" 12",
        b"1.5",
        b"1e3",
        "\u0661\u0662".encode(),
        "\uff11\uff12".encode(),
        "\u00b2".encode(),
    ],
    ids=["empty", "letter", "minus", "plus", "space", "dot", "exponent", "arabic", "fullwidth", "superscript"],
)
def test_retry_other_than_ascii_digits_is_ignored(value: bytes) -> None:
    assert parse(b"retry: 10\n\nretry: " + value + b"\ndata: x\n\n") == [SSEEvent("message", "x", None, 10)]


def test_unknown_fields_are_ignored() -> None:
    assert parse(b"foo: bar\ndata: x\nDATA: y\nData: z\ndata : w\n\n") == [SSEEvent("message", "x")]


def test_block_of_unknown_fields_dispatches_nothing() -> None:
    assert parse(b"foo: bar\n\n") == []


def test_nul_in_data_is_kept() -> None:
    assert parse(b"data: a\x00b\n\n") == [SSEEvent("message", "a\x00b")]


# --- The spec's own examples -----------------------------------------------------------


def test_spec_example_stock_ticker() -> None:
    assert parse(b"data: YHOO\ndata: +2\ndata: 10\n\n") == [SSEEvent("message", "YHOO\n+2\n10")]


def test_spec_example_ids_and_comments() -> None:
    raw = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n"
    # The third block has no closing blank line, so it is never dispatched.
    assert parse(raw) == [SSEEvent("message", "first event", "1"), SSEEvent("message", "second event", "")]


def test_spec_example_empty_data() -> None:
    assert parse(b"data\n\ndata\ndata\n\ndata:") == [SSEEvent("message", ""), SSEEvent("message", "\n")]


def test_spec_example_space_after_colon_is_optional() -> None:
    assert parse(b"data:test\n\ndata: test\n\n") == [SSEEvent("message", "test"), SSEEvent("message", "test")]


def test_spec_example_named_events() -> None:
    raw = b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n"
    assert parse(raw) == [SSEEvent("add", "73857293"), SSEEvent("remove", "2153"), SSEEvent("add", "113411")]


# --- End of input ----------------------------------------------------------------------


def test_unterminated_final_event_is_discarded_by_default() -> None:
    assert parse(b"data: a\n\ndata: b\n") == [SSEEvent("message", "a")]
    assert parse(b"data: a\n\ndata: b") == [SSEEvent("message", "a")]


def test_flush_partial_dispatches_event_missing_its_blank_line() -> None:
    assert parse(b"data: a\n\nevent: e\ndata: b\n", flush_partial=True) == [
        SSEEvent("message", "a"),
        SSEEvent("e", "b"),
    ]


def test_flush_partial_treats_unterminated_last_line_as_a_line() -> None:
    assert parse(b"data: a\ndata: b", flush_partial=True) == [SSEEvent("message", "a\nb")]


def test_flush_partial_with_nothing_pending_adds_nothing() -> None:
    assert parse(b"data: a\n\n", flush_partial=True) == [SSEEvent("message", "a")]
    assert parse(b"data: a\n\nevent: x\n", flush_partial=True) == [SSEEvent("message", "a")]
    assert parse(b"data: a\n\n: comment", flush_partial=True) == [SSEEvent("message", "a")]


def test_close_twice_returns_nothing_more() -> None:
    parser = SSEParser(flush_partial=True)
    parser.feed(b"data: a")
    assert parser.close() == [SSEEvent("message", "a")]
    assert parser.close() == []


def test_feed_after_close_raises() -> None:
    parser = SSEParser()
    parser.close()
    with pytest.raises(SSEError, match="after close"):
        parser.feed(b"data: a\n\n")


# --- Input types -----------------------------------------------------------------------


def test_str_chunks() -> None:
    assert parse("data: é\r", "\n\r\n") == [SSEEvent("message", "é")]


def test_bytearray_chunk() -> None:
    parser = SSEParser()
    assert parser.feed(bytearray(b"data: x\n\n")) == [SSEEvent("message", "x")]


def test_str_after_incomplete_bytes_replaces_them() -> None:
    assert parse(b"data: a\xe2\x82", "b\n\n") == [SSEEvent("message", "a\ufffdb")]


def test_bytes_and_str_chunks_interleave() -> None:
    assert parse(b"data: ", "é", "€".encode(), "\n\n") == [SSEEvent("message", "é€")]


# --- Limits ----------------------------------------------------------------------------


def test_default_limits_are_16_mib() -> None:
    parser = SSEParser()
    assert DEFAULT_LIMIT == 16 * 1024 * 1024
    assert (parser.max_line_bytes, parser.max_event_bytes) == (DEFAULT_LIMIT, DEFAULT_LIMIT)


def test_line_at_limit_is_accepted() -> None:
    assert parse(b"data: " + b"x" * 10 + b"\n\n", max_line_bytes=16) == [SSEEvent("message", "x" * 10)]


def test_line_over_limit_raises_naming_the_limit() -> None:
    with pytest.raises(SSEError, match="max_line_bytes=16"):
        parse(b"data: " + b"x" * 11 + b"\n\n", max_line_bytes=16)


def test_line_limit_counts_utf8_bytes() -> None:
    assert parse("data: éé\n\n".encode(), max_line_bytes=10) == [SSEEvent("message", "éé")]
    with pytest.raises(SSEError, match="max_line_bytes=10"):
        parse("data: ééé\n\n".encode(), max_line_bytes=10)


def test_line_limit_counts_lines_built_across_chunks() -> None:
    with pytest.raises(SSEError, match="max_line_bytes"):
        parse(b"data: xxx", b"xxxx", b"xxxx\n\n", max_line_bytes=16)


def test_line_limit_applies_to_comments() -> None:
    with pytest.raises(SSEError, match="max_line_bytes"):
        parse(b":" + b"x" * 20 + b"\n", max_line_bytes=16)


def test_endless_line_fails_once_the_limit_is_passed() -> None:
    # Memory stays bounded: the error comes with the first chunk that passes the limit,
    # not at a line end that never arrives.
    parser = SSEParser(max_line_bytes=64 * 1024)
    chunk = b"x" * 1000
    fed = 0
    with pytest.raises(SSEError, match="max_line_bytes=65536"):
        while fed < 10 * 64 * 1024:
            parser.feed(chunk)
            fed += len(chunk)
    assert fed == 65 * 1000


def test_pending_line_checked_even_when_chunk_also_ends_lines() -> None:
    parser = SSEParser(max_line_bytes=16)
    with pytest.raises(SSEError, match="max_line_bytes"):
        parser.feed(b"data: a\n\n" + b"y" * 17)


def test_event_data_at_limit_is_accepted() -> None:
    # "aaaa\nbbbb" is 9 bytes of data.
    assert parse(b"data: aaaa\ndata: bbbb\n\n", max_event_bytes=9) == [SSEEvent("message", "aaaa\nbbbb")]


def test_event_data_over_limit_raises_naming_the_limit() -> None:
    with pytest.raises(SSEError, match="max_event_bytes=8"):
        parse(b"data: aaaa\ndata: bbbb\n\n", max_event_bytes=8)


def test_event_limit_counts_utf8_bytes() -> None:
    with pytest.raises(SSEError, match="max_event_bytes=5"):
        parse("data: ééé\n\n".encode(), max_event_bytes=5)


def test_event_limit_resets_after_dispatch() -> None:
    raw = b"data: aaaa\n\ndata: bbbb\n\ndata: cccc\n\n"
    assert len(parse(raw, max_event_bytes=4)) == 3


def test_event_limit_fails_before_the_blank_line_arrives() -> None:
    parser = SSEParser(max_event_bytes=100)
    with pytest.raises(SSEError, match="max_event_bytes"):
        for _ in range(100):
            parser.feed(b"data: " + b"x" * 20 + b"\n")


def test_parser_is_unusable_after_a_limit_error() -> None:
    parser = SSEParser(max_line_bytes=4)
    with pytest.raises(SSEError):
        parser.feed(b"data: long\n")
    with pytest.raises(SSEError, match="earlier error"):
        parser.feed(b"\n")
    with pytest.raises(SSEError, match="earlier error"):
        parser.close()


def test_sse_error_is_an_omnillm_value_error() -> None:
    assert issubclass(SSEError, OmniLLMError)
    assert issubclass(SSEError, ValueError)


@pytest.mark.parametrize(("line", "event"), [(0, 1), (1, -1)])
def test_non_positive_limits_are_rejected(line: int, event: int) -> None:
    with pytest.raises(SSEError, match="positive"):
        SSEParser(max_line_bytes=line, max_event_bytes=event)


# --- Writer ----------------------------------------------------------------------------


def test_format_event_data_only() -> None:
    assert format_event('{"a":1}') == 'data: {"a":1}\n\n'


def test_format_event_with_event_name_first() -> None:
    assert format_event("{}", event="message_start") == "event: message_start\ndata: {}\n\n"


def test_format_event_multiline_data() -> None:
    assert format_event("a\nb\n") == "data: a\ndata: b\ndata: \n\n"


def test_format_event_cr_and_crlf_become_line_breaks() -> None:
    assert format_event("a\r\nb\rc") == "data: a\ndata: b\ndata: c\n\n"


def test_format_event_empty_data() -> None:
    assert format_event("") == "data: \n\n"


def test_format_event_id_and_retry() -> None:
    assert format_event("x", event="e", id="42", retry=1500) == "event: e\nid: 42\nretry: 1500\ndata: x\n\n"


@pytest.mark.parametrize(
    "kwargs",
    [{"event": "a\nb"}, {"event": "a\rb"}, {"id": "1\n2"}, {"id": "1\x002"}, {"retry": -1}, {"retry": True}],
    ids=["event-lf", "event-cr", "id-lf", "id-nul", "retry-negative", "retry-bool"],
)
def test_format_event_rejects_unwritable_fields(kwargs: Dict[str, Any]) -> None:
    with pytest.raises(SSEError):
        format_event("x", **kwargs)


def test_format_done() -> None:
    assert format_done() == "data: [DONE]\n\n"
    assert parse(format_done()) == [SSEEvent("message", "[DONE]")]


# --- iter_sse --------------------------------------------------------------------------


def test_iter_sse_yields_each_event_before_reading_the_next_chunk() -> None:
    reads: List[int] = []

    def chunks() -> Iterator[bytes]:
        for i, chunk in enumerate([b"data: a\n\n", b"data: b\n\n"]):
            reads.append(i)
            yield chunk

    events = iter_sse(chunks())
    assert next(events) == SSEEvent("message", "a")
    assert reads == [0]
    assert next(events) == SSEEvent("message", "b")
    assert reads == [0, 1]
    assert list(events) == []


def test_iter_sse_flushes_at_end_when_asked() -> None:
    assert list(iter_sse([b"data: a\n\n", b"data: b"])) == [SSEEvent("message", "a")]
    assert list(iter_sse([b"data: a\n\n", b"data: b"], flush_partial=True)) == [
        SSEEvent("message", "a"),
        SSEEvent("message", "b"),
    ]


def test_iter_sse_passes_limits() -> None:
    with pytest.raises(SSEError, match="max_line_bytes=8"):
        list(iter_sse([b"data: 12345\n\n"], max_line_bytes=8))
    with pytest.raises(SSEError, match="max_event_bytes=4"):
        list(iter_sse([b"data: 12345\n\n"], max_event_bytes=4))


# --- Properties ------------------------------------------------------------------------

# Pieces that make streams hit every branch: field names, separators, every line end,
# BOMs, multi-byte and invalid UTF-8, NUL, and characters that are not line ends.
TOKENS = [
    b"data",
    b"event",
    b"id",
    b"retry",
    b"foo",
    b":",
    b": ",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"x",
    b"42",
    b"\x00",
    b"[DONE]",
    b"\xef\xbb\xbf",
    "é".encode(),
    "€".encode(),
    "😀".encode(),
    "\u2028".encode(),
    "\x85".encode(),
    b"\xff",
    b"\xe2\x82",
    b"\xf0\x9f",
]
token_soup = st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join)

# Blocks of field lines closed by a blank line, so that field rules (not just line
# splitting) get exercised; "data" is weighted up so that most blocks dispatch.
field_names = st.sampled_from(
    [b"data", b"data", b"data", b"event", b"id", b"retry", b"foo", b"", b"Data", b"\xef\xbb\xbfdata"]
)
separators = st.sampled_from([b"", b":", b": ", b": ", b":  ", b":\t"])
value_tokens = [b"x", b"42", b"7", b" ", b":", b"\x00", "\u0662".encode(), "é".encode(), b"\xff", b"[DONE]"]
values = st.one_of(st.sampled_from(value_tokens), st.lists(st.sampled_from(value_tokens), max_size=3).map(b"".join))
line_ends = st.sampled_from([b"\n", b"\r", b"\r\n"])
field_lines = st.tuples(field_names, separators, values, line_ends).map(b"".join)
blocks = st.tuples(st.lists(field_lines, min_size=1, max_size=4).map(b"".join), line_ends).map(b"".join)
structured = st.tuples(
    st.sampled_from([b"", b"\xef\xbb\xbf"]),
    st.lists(blocks, max_size=8).map(b"".join),
    st.sampled_from([b"", b"data: tail", b"data: tail\n", b"\n", b"id: 9\r"]),
).map(b"".join)
any_bytes = st.one_of(token_soup, structured, st.binary(max_size=200))
cuts = st.lists(st.integers(min_value=0, max_value=400), max_size=12)


@given(raw=any_bytes, cut=cuts, flush=st.booleans())
@settings(max_examples=400)
def test_any_split_gives_the_events_of_the_whole(raw: bytes, cut: List[int], flush: bool) -> None:
    whole = parse(raw, flush_partial=flush)
    assert parse(*split_at(raw, cut), flush_partial=flush) == whole


@given(raw=any_bytes, flush=st.booleans())
@settings(max_examples=200)
def test_byte_at_a_time_gives_the_events_of_the_whole(raw: bytes, flush: bool) -> None:
    assert parse(*[raw[i : i + 1] for i in range(len(raw))], flush_partial=flush) == parse(raw, flush_partial=flush)


@given(raw=any_bytes, cut=cuts, flush=st.booleans())
@settings(max_examples=400)
def test_parser_agrees_with_reference(raw: bytes, cut: List[int], flush: bool) -> None:
    expected, _, _ = reference_parse(raw, flush)
    assert parse(*split_at(raw, cut), flush_partial=flush) == expected


@given(raw=any_bytes, cut=cuts)
def test_str_chunks_agree_with_bytes(raw: bytes, cut: List[int]) -> None:
    assert parse(*split_at(raw.decode("utf-8", "replace"), cut)) == parse(raw)


@given(raw=any_bytes, cut=cuts, line=st.integers(1, 24), event=st.integers(1, 24), flush=st.booleans())
@settings(max_examples=400)
def test_limits_trip_exactly_when_the_reference_says(
    raw: bytes, cut: List[int], line: int, event: int, flush: bool
) -> None:
    expected, longest, largest = reference_parse(raw, flush)
    try:
        got = parse(*split_at(raw, cut), flush_partial=flush, max_line_bytes=line, max_event_bytes=event)
    except SSEError:
        assert longest > line or largest > event
    else:
        assert longest <= line and largest <= event
        assert got == expected


@given(raw=st.binary(max_size=500), cut=cuts)
def test_random_bytes_raise_nothing_under_default_limits(raw: bytes, cut: List[int]) -> None:
    parser = SSEParser()
    for chunk in split_at(raw, cut):
        parser.feed(chunk)
    parser.close()


single_line = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"))
written_events = st.lists(
    st.tuples(
        st.text(st.characters(codec="utf-8")),
        st.none() | single_line,
        st.none() | single_line.filter(lambda s: "\x00" not in s),
        st.none() | st.integers(min_value=0, max_value=10**12),
    ),
    max_size=8,
)


@given(items=written_events, cut=cuts)
def test_writer_output_parses_back_to_the_same_events(
    items: List[Tuple[str, Optional[str], Optional[str], Optional[int]]], cut: List[int]
) -> None:
    wire = "".join(format_event(data, event=event, id=id_, retry=retry) for data, event, id_, retry in items)
    expected = []
    last_id: Optional[str] = None
    last_retry: Optional[int] = None
    for data, event, id_, retry in items:
        last_id = id_ if id_ is not None else last_id
        last_retry = retry if retry is not None else last_retry
        normalised = data.replace("\r\n", "\n").replace("\r", "\n")
        expected.append(SSEEvent(event or "message", normalised, last_id, last_retry))
    assert parse(*split_at(wire.encode(), cut)) == expected
    assert parse(wire) == expected


# --- Real provider streams -------------------------------------------------------------


def _stream_files() -> List[object]:
    files = sorted(REAL_FIXTURES.glob("*/streams/*.sse")) if REAL_FIXTURES.is_dir() else []
    if not files:
        return [pytest.param(None, id="no-shared-fixtures")]
    return [pytest.param(f, id=f"{f.parent.parent.name}/{f.stem}") for f in files]


def _read_fixture(path: Optional[Path]) -> bytes:
    if path is None:
        pytest.skip(f"real fixtures not found under {REAL_FIXTURES}")
    return path.read_bytes()


def _fixture(protocol: str, name: str) -> bytes:
    path = REAL_FIXTURES / protocol / "streams" / name
    if not path.is_file():
        pytest.skip(f"fixture {path} not found")
    return path.read_bytes()


@pytest.mark.parametrize("path", _stream_files())
def test_real_stream_parses_like_the_reference(path: Optional[Path]) -> None:
    raw = _read_fixture(path)
    for flush in (False, True):
        expected, _, _ = reference_parse(raw, flush)
        assert parse(raw, flush_partial=flush) == expected
        assert parse(*[raw[i : i + 7] for i in range(0, len(raw), 7)], flush_partial=flush) == expected
        assert parse(*[raw[i : i + 1] for i in range(len(raw))], flush_partial=flush) == expected


@pytest.mark.parametrize("path", _stream_files())
def test_real_stream_events_carry_json_matching_their_type(path: Optional[Path]) -> None:
    raw = _read_fixture(path)
    events = parse(raw, flush_partial=True)
    assert events
    for event in events:
        if event.data == "[DONE]":
            continue
        payload = json.loads(event.data)
        if event.event != "message":
            # OpenAI Responses and Anthropic repeat the event name as the JSON "type".
            assert payload["type"] == event.event
        assert event.id is None
        assert event.retry is None


@pytest.mark.parametrize("path", _stream_files())
def test_real_stream_round_trips_through_the_writer(path: Optional[Path]) -> None:
    raw = _read_fixture(path)
    events = parse(raw, flush_partial=True)
    wire = "".join(format_event(e.data, event=None if e.event == "message" else e.event) for e in events)
    assert parse(wire) == events


def test_real_anthropic_fixture_without_final_blank_line() -> None:
    # The SDK's fixture file stops right after the message_stop data line.
    raw = _fixture("anthropic_messages", "anthropic_sdk_basic_response.sse")
    assert not raw.endswith(b"\n")
    assert parse(raw)[-1].event == "message_delta"
    assert parse(raw, flush_partial=True)[-1] == SSEEvent("message_stop", '{"type":"message_stop"}')


def test_real_gemini_fixture_with_raw_error_body_after_events() -> None:
    # The mock appends a bare JSON error object (no "data:" prefix) after two events;
    # its lines are fields with unknown names, so SSE parsing drops it silently.
    raw = _fixture("gemini_generate_content", "firebase_vertexai_streaming_failure_error_mid_stream.sse")
    assert b'\n{\n  "error"' in raw
    events = parse(raw, flush_partial=True)
    assert [json.loads(e.data)["candidates"][0]["content"]["parts"][0]["text"] for e in events] == ["First ", "Second "]
