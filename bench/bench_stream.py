"""CPU per chunk for decoding a stream, and for transcoding a 500-chunk stream, every pair.

One stream per source format carries the same content: 480 text deltas, a tool call whose
arguments arrive in 12 fragments, usage and a normal end, written by that format's own
stream encoder. Each chunk handed to the driver is one wire event (an SSE event, or one
event-stream message for Bedrock), as a socket read of a live stream often delivers. The
floor, measured in the same run, splits each chunk into lines and ``json.loads`` the data
(for Bedrock: slices the payload out of the binary frame and ``json.loads`` it): the least
any stream reader must do. Run: ``python bench/bench_stream.py [--results bench/RESULTS.md]``.
"""

from __future__ import annotations

import json
import platform
import re
import struct
import sys
from datetime import date
from functools import partial
from pathlib import Path
from typing import Callable, Dict, List, Tuple, Union

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import best_cpu_per_call

from omnillm.model import Usage
from omnillm.protocols import stream_codec
from omnillm.report import LossLog
from omnillm.stream import (
    OutputItemAdded,
    OutputItemDone,
    ResponseCompleted,
    ResponseStarted,
    StreamEvent,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStarted,
    UsageUpdate,
)
from omnillm.streaming import decode_stream, transcode_stream
from omnillm.wire import GENERATION_FORMATS

Chunk = Union[str, bytes]
BINARY = {"bedrock_converse"}
STREAMS = 5  # whole streams per timed call batch
HEADING = "## Streaming"


def typical_events() -> List[StreamEvent]:
    """The canonical events of one typical streamed answer (about 500 wire events)."""
    usage = Usage(input_tokens=1200, output_tokens=520, total_tokens=1720)
    events: List[StreamEvent] = [
        ResponseStarted("resp_bench", "bench-model", 1741476542),
        OutputItemAdded(0, "message"),
    ]
    events += [TextDelta(0, f"word{k} ") for k in range(480)]
    events += [OutputItemDone(0), ToolCallStarted(1, "call_bench", "get_weather")]
    arguments = json.dumps({"city": "Paris", "unit": "celsius", "days": [1, 2, 3], "detail": "hourly forecast"})
    step = -(-len(arguments) // 12)
    events += [ToolCallArgumentsDelta(1, arguments[i : i + step]) for i in range(0, len(arguments), step)]
    events += [OutputItemDone(1), UsageUpdate(usage), ResponseCompleted("tool_use", usage=usage)]
    return events


def wire_chunks(fmt: str, events: List[StreamEvent]) -> List[bytes]:
    """The stream as ``fmt`` writes it, one wire event per chunk."""
    encoder = stream_codec(fmt).StreamEncoder(LossLog(fmt))
    pieces: List[Chunk] = []
    for event in events:
        pieces.extend(encoder.encode(event))
    pieces.extend(encoder.finish())
    if fmt in BINARY:
        return [p for p in pieces if isinstance(p, bytes)]
    text = "".join(p for p in pieces if isinstance(p, str))
    return [m.encode("utf-8") for m in re.findall(r".*?(?:\r\n\r\n|\n\n)", text, re.S)]


def floor_reader(fmt: str, chunks: List[bytes]) -> Callable[[], object]:
    """Split lines and parse the JSON of every chunk: the least a stream reader does."""
    if fmt in BINARY:

        def frames() -> object:
            for chunk in chunks:
                total, headers = struct.unpack_from(">II", chunk)
                json.loads(chunk[12 + headers : total - 4])
            return None

        return frames

    def lines() -> object:
        for chunk in chunks:
            for line in chunk.splitlines():
                if line.startswith(b"data:") and line != b"data: [DONE]":
                    json.loads(line[5:])
        return None

    return lines


def decode_all(chunks: List[bytes], fmt: str) -> None:
    """Decode the stream `STREAMS` times."""
    for _ in range(STREAMS):
        for _ in decode_stream(chunks, fmt):
            pass


def transcode_all(chunks: List[bytes], source: str, target: str) -> None:
    """Transcode the stream `STREAMS` times."""
    for _ in range(STREAMS):
        for _ in transcode_stream(chunks, source, target):
            pass


def floor_all(floor: Callable[[], object]) -> None:
    """Run the floor reader over the stream `STREAMS` times."""
    for _ in range(STREAMS):
        floor()


def measure() -> Tuple[List[Tuple[str, str, int, float, float]], int]:
    """Rows of (source, target or "(decode)", chunks, omnillm us/chunk, floor us/chunk)."""
    formats = [f.value for f in GENERATION_FORMATS]
    events = typical_events()
    streams = {fmt: wire_chunks(fmt, events) for fmt in formats}
    rows: List[Tuple[str, str, int, float, float]] = []
    for source in formats:
        chunks = streams[source]
        contenders: Dict[str, Callable[[], object]] = {
            "floor": partial(floor_all, floor_reader(source, chunks)),
            "decode": partial(decode_all, chunks, source),
        }
        for target in formats:
            contenders[target] = partial(transcode_all, chunks, source, target)
        result = best_cpu_per_call(contenders, calls=1)
        per_chunk = {name: us / STREAMS / len(chunks) for name, us in result.items()}
        rows.append((source, "(decode)", len(chunks), per_chunk["decode"], per_chunk["floor"]))
        for target in formats:
            rows.append((source, target, len(chunks), per_chunk[target], per_chunk["floor"]))
    return rows, len(events)


def table(rows: List[Tuple[str, str, int, float, float]]) -> List[str]:
    out = [
        "| source | target | chunks | omnillm us/chunk | floor us/chunk | ratio |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for source, target, chunks, ours, floor in rows:
        out.append(f"| {source} | {target} | {chunks} | {ours:.1f} | {floor:.1f} | {ours / floor:.1f} |")
    return out


def summary(rows: List[Tuple[str, str, int, float, float]]) -> str:
    """One sentence on the spread of the ratios to the floor."""
    decode = [ours / floor for _, target, _, ours, floor in rows if target == "(decode)"]
    transcode = [ours / floor for _, target, _, ours, floor in rows if target != "(decode)"]
    return (
        f"Decoding costs {min(decode):.1f}-{max(decode):.1f}x the floor and transcoding"
        f" {min(transcode):.1f}-{max(transcode):.1f}x (decoding, folding the partial response for"
        " error reporting, and encoding the target's events)."
    )


def write_results(path: Path, rows: List[Tuple[str, str, int, float, float]], events: int) -> None:
    """Replace (or append) the Streaming section of the results file, leaving the others alone."""
    section = "\n".join(
        [
            HEADING,
            "",
            f"`python bench/bench_stream.py` ({date.today().isoformat()}, Python {platform.python_version()},",
            "shared 2-core machine). One stream per source format, written by that format's stream",
            f"encoder from the same {events} canonical events (480 text deltas, a tool call with 12",
            "argument fragments, usage); one wire event per chunk. CPU microseconds per input chunk",
            "(`time.process_time`, best of 7 batches, contenders alternated); `(decode)` is",
            "`decode_stream` to canonical events, the other rows are `transcode_stream` to the target.",
            "The floor splits each chunk into lines and `json.loads` the data (Bedrock: slices the",
            "payload out of the binary frame and `json.loads` it).",
            "",
            *table(rows),
            "",
            summary(rows),
            "",
        ]
    )
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    match = re.search(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", text, re.S | re.M)
    if match:
        text = text[: match.start()] + section + ("\n" if match.end() < len(text) else "") + text[match.end() :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main() -> None:
    rows, events = measure()
    print(f"CPU microseconds per chunk (best of 7 batches of {STREAMS} streams, contenders alternated)")
    print("\n".join(table(rows)))
    print(summary(rows))
    if "--results" in sys.argv:
        write_results(Path(sys.argv[sys.argv.index("--results") + 1]), rows, events)


if __name__ == "__main__":
    main()
