"""AWS event-stream framing: our decoder and encoder, with botocore's decoder as the judge."""

from __future__ import annotations

import contextlib
import struct
import uuid
import zlib
from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnillm.errors import OmniLLMError
from omnillm.eventstream import (
    MAX_HEADERS_BYTES,
    MAX_PAYLOAD_BYTES,
    Byte,
    EventStreamDecoder,
    EventStreamError,
    EventStreamMessage,
    HeaderValue,
    Long,
    Short,
    Timestamp,
    format_message,
    iter_messages,
)

botocore_eventstream = pytest.importorskip("botocore.eventstream")

# streaming.md section 5.3, computed with botocore's decoder.
VECTOR_HEADERS: Dict[str, HeaderValue] = {
    ":event-type": "messageStart",
    ":content-type": "application/json",
    ":message-type": "event",
}
VECTOR_PAYLOAD = b'{"role":"assistant"}'
VECTOR = bytes.fromhex(
    "000000760000005296d5fade0b3a6576656e742d7479706507000c6d65737361676553746172740d3a636f6e74656e742d74797065"
    "0700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b22726f6c65223a226173"
    "73697374616e74227d6fa8c599"
)


def decode_all(data: bytes, *, chunk: int = 0) -> List[EventStreamMessage]:
    decoder = EventStreamDecoder()
    if chunk:
        out = [m for i in range(0, len(data), chunk) for m in decoder.feed(data[i : i + chunk])]
    else:
        out = decoder.feed(data)
    return out + decoder.close()


def botocore_decode(data: bytes) -> List[Tuple[Dict[str, Any], bytes]]:
    buffer = botocore_eventstream.EventStreamBuffer()
    buffer.add_data(data)
    return [(m.headers, m.payload) for m in buffer]


def as_botocore(headers: Dict[str, HeaderValue]) -> Dict[str, Any]:
    """Our typed header values as botocore's decoder gives them (ints, bytes for UUIDs)."""
    out: Dict[str, Any] = {}
    for name, value in headers.items():
        if isinstance(value, uuid.UUID):
            out[name] = value.bytes
        elif isinstance(value, bool):
            out[name] = value
        elif isinstance(value, int):
            out[name] = int(value)
        else:
            out[name] = value
    return out


def raw_message(headers: bytes, payload: bytes, *, total: int = -1, headers_length: int = -1) -> bytes:
    """A message with valid CRCs around arbitrary (possibly inconsistent) content."""
    total = 16 + len(headers) + len(payload) if total < 0 else total
    headers_length = len(headers) if headers_length < 0 else headers_length
    prefix = struct.pack(">II", total, headers_length)
    prelude = prefix + struct.pack(">I", zlib.crc32(prefix))
    message = prelude + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def header(name: bytes, kind: int, value: bytes) -> bytes:
    return bytes([len(name)]) + name + bytes([kind]) + value


# --------------------------------------------------------------------------- the test vector


def test_encoder_reproduces_the_reference_vector() -> None:
    assert format_message(VECTOR_HEADERS, VECTOR_PAYLOAD) == VECTOR


def test_decoder_reads_the_reference_vector_split_anywhere() -> None:
    for chunk in range(1, len(VECTOR) + 1):
        (message,) = decode_all(VECTOR, chunk=chunk)
        assert message == EventStreamMessage(VECTOR_HEADERS, VECTOR_PAYLOAD)
        assert list(message.headers) == list(VECTOR_HEADERS)  # wire order kept


def test_botocore_agrees_on_the_vector() -> None:
    assert botocore_decode(VECTOR) == [(VECTOR_HEADERS, VECTOR_PAYLOAD)]


# --------------------------------------------------------------------------- property tests

header_names = st.text(min_size=1, max_size=20).filter(lambda s: len(s.encode()) <= 255)
header_values = st.one_of(
    st.booleans(),
    st.integers(-(2**7), 2**7 - 1).map(Byte),
    st.integers(-(2**15), 2**15 - 1).map(Short),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**63), 2**63 - 1).map(Long),
    st.binary(max_size=40),
    st.text(max_size=40),
    st.integers(-(2**63), 2**63 - 1).map(Timestamp),
    st.uuids(),
)
messages = st.tuples(st.dictionaries(header_names, header_values, max_size=6), st.binary(max_size=300))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(messages, min_size=1, max_size=4), chunk=st.integers(1, 64))
def test_botocore_decodes_what_we_encode_and_we_agree(
    batch: List[Tuple[Dict[str, HeaderValue], bytes]], chunk: int
) -> None:
    data = b"".join(format_message(h, p) for h, p in batch)
    assert botocore_decode(data) == [(as_botocore(h), p) for h, p in batch]
    ours = decode_all(data, chunk=chunk)
    assert [(m.headers, m.payload) for m in ours] == batch
    for message, (headers, _) in zip(ours, batch):
        for name, value in headers.items():
            assert type(message.headers[name]) is type(value), name  # the wire type survives


@settings(max_examples=300, deadline=None)
@given(message=messages, data=st.data())
def test_any_single_bit_flip_is_an_error(message: Tuple[Dict[str, HeaderValue], bytes], data: st.DataObject) -> None:
    encoded = bytearray(format_message(*message))
    bit = data.draw(st.integers(0, len(encoded) * 8 - 1))
    encoded[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(EventStreamError):
        decode_all(bytes(encoded))
    # botocore refuses it too (CRC mismatch), or at best waits for bytes that never come.
    assert botocore_decode_or_error(bytes(encoded)) != [(as_botocore(message[0]), message[1])]


def botocore_decode_or_error(data: bytes) -> Any:
    try:
        return botocore_decode(data)
    except Exception as exc:  # botocore's ParserError family
        return exc


@settings(max_examples=100, deadline=None)
@given(junk=st.binary(max_size=200))
def test_random_bytes_only_raise_event_stream_errors(junk: bytes) -> None:
    with contextlib.suppress(EventStreamError):
        decode_all(junk)


# --------------------------------------------------------------------------- truncation and corruption


def test_truncation_at_every_byte_is_an_error() -> None:
    data = format_message({":event-type": "a"}, b"x" * 10) + VECTOR
    first = len(data) - len(VECTOR)
    for cut in range(1, len(data)):
        decoder = EventStreamDecoder()
        got = decoder.feed(data[:cut])
        assert len(got) == (1 if cut >= first else 0)
        if cut == first:
            assert decoder.close() == []
            continue
        assert decoder.pending == cut - (first if cut > first else 0)
        with pytest.raises(EventStreamError) as info:
            decoder.close()
        assert "ended inside message" in str(info.value)


def test_crc_mismatches_name_the_message_and_offset() -> None:
    bad_prelude = bytearray(VECTOR)
    bad_prelude[8] ^= 0xFF
    with pytest.raises(EventStreamError) as info:
        decode_all(VECTOR + bytes(bad_prelude))
    assert "prelude CRC mismatch" in str(info.value)
    assert "message 1 (byte offset 118)" in str(info.value)
    bad_message = bytearray(VECTOR)
    bad_message[-1] ^= 0x01
    with pytest.raises(EventStreamError) as info:
        decode_all(bytes(bad_message))
    assert "message CRC mismatch: expected 0x6fa8c598, computed 0x6fa8c599" in str(info.value)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (raw_message(b"", b"", total=15, headers_length=0), "inconsistent lengths"),
        (raw_message(b"", b"", total=16, headers_length=1), "inconsistent lengths"),
        (raw_message(header(b"x", 10, b""), b""), "unknown header value type 10"),
        (raw_message(header(b"x", 7, b"\x00\x05ab"), b""), "value of 5 bytes runs past"),
        (raw_message(header(b"x", 7, b"\x00"), b""), "value length runs past"),
        (raw_message(header(b"x", 4, b"\x00\x01"), b""), "value runs past"),
        (raw_message(header(b"x", 9, b"\x00" * 15), b""), "UUID runs past"),
        (raw_message(b"\x05ab", b""), "name and type run past"),
        (raw_message(header(b"\xff", 0, b""), b""), "name is not valid UTF-8"),
        (raw_message(header(b"x", 7, b"\x00\x01\xff"), b""), "string value is not valid UTF-8"),
        (raw_message(header(b"x", 0, b"") + header(b"x", 1, b""), b""), "duplicate header 'x'"),
    ],
)
def test_corrupt_but_checksummed_messages_are_errors(message: bytes, problem: str) -> None:
    with pytest.raises(EventStreamError) as info:
        decode_all(message)
    assert problem in str(info.value)
    assert isinstance(info.value, OmniLLMError) and isinstance(info.value, ValueError)


def test_size_bounds_are_checked_from_the_prelude_alone() -> None:
    # Only the 12-byte prelude of a huge message arrives: refused before anything is buffered.
    prefix = struct.pack(">II", 16 + MAX_PAYLOAD_BYTES + 1, 0)
    prelude = prefix + struct.pack(">I", zlib.crc32(prefix))
    with pytest.raises(EventStreamError) as info:
        EventStreamDecoder().feed(prelude)
    assert "exceed max_payload_bytes" in str(info.value)
    prefix = struct.pack(">II", 16 + MAX_HEADERS_BYTES + 1, MAX_HEADERS_BYTES + 1)
    with pytest.raises(EventStreamError) as info:
        EventStreamDecoder().feed(prefix + struct.pack(">I", zlib.crc32(prefix)))
    assert "exceed max_headers_bytes" in str(info.value)
    small = EventStreamDecoder(max_headers_bytes=10, max_payload_bytes=4)
    with pytest.raises(EventStreamError):
        small.feed(format_message({}, b"12345"))
    assert EventStreamDecoder(max_payload_bytes=5).feed(format_message({}, b"12345"))[0].payload == b"12345"


def test_a_broken_or_closed_decoder_refuses_more_input() -> None:
    decoder = EventStreamDecoder()
    with pytest.raises(EventStreamError):
        decoder.feed(b"\x00" * 12)
    with pytest.raises(EventStreamError) as info:
        decoder.feed(VECTOR)
    assert "after an earlier error" in str(info.value)
    with pytest.raises(EventStreamError):
        decoder.close()
    closed = EventStreamDecoder()
    assert closed.close() == [] and closed.close() == []
    with pytest.raises(EventStreamError) as info:
        closed.feed(VECTOR)
    assert "after close()" in str(info.value)


def test_text_is_not_accepted_as_input() -> None:
    with pytest.raises(EventStreamError) as info:
        EventStreamDecoder().feed("data: {}\n\n")  # type: ignore[arg-type]
    assert "expected bytes, got str" in str(info.value)


def test_buffer_types_and_empty_messages() -> None:
    data = format_message({}, b"")
    assert len(data) == 16
    assert decode_all(bytearray(data)) == [EventStreamMessage({}, b"")]
    assert EventStreamDecoder().feed(memoryview(data)) == [EventStreamMessage({}, b"")]


def test_iter_messages_is_lazy() -> None:
    pulled: List[int] = []

    def chunks() -> Any:
        for i, piece in enumerate((VECTOR[:50], VECTOR[50:], VECTOR)):
            pulled.append(i)
            yield piece

    stream = iter_messages(chunks())
    assert next(stream).payload == VECTOR_PAYLOAD
    assert pulled == [0, 1]
    assert len(list(stream)) == 1


def test_one_byte_at_a_time_through_a_large_payload() -> None:
    payload = bytes(range(256)) * 256
    data = format_message({":event-type": "chunk"}, payload)
    decoder = EventStreamDecoder()
    got = [m for i in range(len(data)) for m in decoder.feed(data[i : i + 1])]
    assert [m.payload for m in got] == [payload] and decoder.pending == 0


# --------------------------------------------------------------------------- encoder


def test_header_types_on_the_wire() -> None:
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    cases: List[Tuple[HeaderValue, bytes]] = [
        (True, b"\x00"),
        (False, b"\x01"),
        (Byte(-1), b"\x02\xff"),
        (Short(258), b"\x03\x01\x02"),
        (7, b"\x04\x00\x00\x00\x07"),
        (2**40, b"\x05" + (2**40).to_bytes(8, "big")),  # too wide for int32: a long
        (Long(1), b"\x05" + (1).to_bytes(8, "big")),
        (b"ab", b"\x06\x00\x02ab"),
        ("é", b"\x07\x00\x02\xc3\xa9"),
        (Timestamp(1700000000000), b"\x08" + (1700000000000).to_bytes(8, "big")),
        (value, b"\x09" + value.bytes),
    ]
    for header_value, wire in cases:
        data = format_message({"h": header_value}, b"")
        assert data[12:-4] == b"\x01h" + wire, header_value


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"": "x"}, "must be 1 to 255 UTF-8 bytes"),
        ({"n" * 256: "x"}, "must be 1 to 255 UTF-8 bytes"),
        ({"h": 1.5}, "cannot write a float"),
        ({"h": None}, "cannot write a NoneType"),
        ({"h": Byte(128)}, "does not fit type 2"),
        ({"h": Short(-(2**15) - 1)}, "does not fit type 3"),
        ({"h": 2**63}, "does not fit type 5"),
        ({"h": Timestamp(2**63)}, "does not fit type 8"),
        ({"h": "x" * 65536}, "exceeds 65535"),
        ({f"h{i}": "x" * 60000 for i in range(3)}, "exceed max_headers_bytes"),
        ({5: "x"}, "header names are strings"),
    ],
)
def test_encoder_refuses_what_cannot_be_written(headers: Dict[Any, Any], problem: str) -> None:
    with pytest.raises(EventStreamError) as info:
        format_message(headers, b"")
    assert problem in str(info.value)


def test_encoder_refuses_an_oversized_payload() -> None:
    with pytest.raises(EventStreamError) as info:
        format_message({}, b"12345", max_payload_bytes=4)
    assert "exceed max_payload_bytes=4" in str(info.value)


def test_negative_limits_are_refused() -> None:
    with pytest.raises(EventStreamError):
        EventStreamDecoder(max_payload_bytes=-1)
