"""Hand-written Bedrock ConverseStream bodies, shaped like what the service sends.

Each value is a complete ``application/vnd.amazon.eventstream`` body (``bytes``): one binary
message per event, with the ``:event-type`` / ``:content-type`` / ``:message-type`` headers
Bedrock sends and the event's JSON as payload, ending with ``metadata`` (or an exception).
The frames are written here with ``struct`` and ``zlib`` directly, independently of
``omnillm.eventstream``; botocore decodes every one of them (see test_bedrock_converse_stream).
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any, Dict, List, Tuple

Event = Tuple[str, Dict[str, Any]]


def _string_header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return bytes([len(raw_name)]) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value


def frame(headers: List[Tuple[str, str]], payload: bytes) -> bytes:
    """One event-stream message with string headers."""
    head = b"".join(_string_header(k, v) for k, v in headers)
    prefix = struct.pack(">II", 16 + len(head) + len(payload), len(head))
    prelude = prefix + struct.pack(">I", zlib.crc32(prefix))
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(event_type: str, payload: Dict[str, Any]) -> bytes:
    headers = [(":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")]
    return frame(headers, json.dumps(payload, separators=(",", ":")).encode())


def exception(exception_type: str, payload: Dict[str, Any]) -> bytes:
    headers = [
        (":exception-type", exception_type),
        (":content-type", "application/json"),
        (":message-type", "exception"),
    ]
    return frame(headers, json.dumps(payload).encode())


def body(*events: Event) -> bytes:
    return b"".join(event(kind, payload) for kind, payload in events)


START: Event = ("messageStart", {"role": "assistant"})


def text(i: int, value: str) -> Event:
    return ("contentBlockDelta", {"contentBlockIndex": i, "delta": {"text": value}})


def tool_start(i: int, call_id: str, name: str) -> Event:
    return ("contentBlockStart", {"contentBlockIndex": i, "start": {"toolUse": {"toolUseId": call_id, "name": name}}})


def tool_input(i: int, fragment: str) -> Event:
    return ("contentBlockDelta", {"contentBlockIndex": i, "delta": {"toolUse": {"input": fragment}}})


def reasoning(i: int, **member: str) -> Event:
    return ("contentBlockDelta", {"contentBlockIndex": i, "delta": {"reasoningContent": member}})


def stop(i: int) -> Event:
    return ("contentBlockStop", {"contentBlockIndex": i})


def message_stop(reason: str, **more: Any) -> Event:
    return ("messageStop", {"stopReason": reason, **more})


def metadata(inp: int, out: int, latency: int = 310, **cache: int) -> Event:
    usage = {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out + sum(cache.values()), **cache}
    return ("metadata", {"usage": usage, "metrics": {"latencyMs": latency}})


def event_chunks(stream: bytes) -> List[bytes]:
    """Split a body into its messages (each starts with its own total length)."""
    out: List[bytes] = []
    pos = 0
    while pos < len(stream):
        (total,) = struct.unpack_from(">I", stream, pos)
        out.append(stream[pos : pos + total])
        pos += total
    return out


def fragments(i: int, parts: List[str]) -> List[Event]:
    return [tool_input(i, p) for p in parts]


STREAMS: Dict[str, bytes] = {
    "text": body(
        START,
        text(0, "Bonjour"),
        text(0, " ! Comment puis-je"),
        text(0, " vous aider aujourd'hui ?"),
        stop(0),
        message_stop("end_turn"),
        metadata(14, 15),
    ),
    "tool_call": body(
        START,
        text(0, "I'll look up the current"),
        text(0, " weather in Paris."),
        stop(0),
        tool_start(1, "tooluse_T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        *fragments(1, ['{"city": "Pa', 'ris", "unit', '": "celsius"}']),
        stop(1),
        message_stop("tool_use"),
        metadata(472, 89, latency=905),
    ),
    "parallel_tool_calls": body(
        START,
        tool_start(0, "tooluse_Weather0Paris", "get_weather"),
        *fragments(0, ['{"ci', 'ty": "', "Par", 'is"', ', "unit"', ': "cel', 'sius"}']),
        stop(0),
        tool_start(1, "tooluse_Weather1Tokyo", "get_weather"),
        *fragments(1, ['{"city"', ': "To', "kyo", '", "u', 'nit": "fahr', 'enheit"', "}"]),
        stop(1),
        tool_start(2, "tooluse_Time2Tokyo", "get_time"),
        *fragments(2, ['{"time', 'zone": "Asia/', 'Tokyo", "format', '": {"hour12": ', "false, ", '"seconds": true}}']),
        stop(2),
        message_stop("tool_use"),
        metadata(610, 171, latency=1420),
    ),
    "reasoning": body(
        START,
        reasoning(0, text="The user asks for 27 * 453. "),
        reasoning(0, text="27 * 453 = 27 * 400 + 27 * 53 = 10800 + 1431 = 12231."),
        reasoning(0, signature="EqQBCkgIARABGAIiQJsig0003"),
        stop(0),
        reasoning(1, redactedContent="RW13S0FoZ0JFZ3kzdmEzcHppeC9MYWZQc240YURGSVQyWGx4"),
        stop(1),
        text(2, "27 x 453 = "),
        text(2, "**12,231**"),
        stop(2),
        message_stop("end_turn"),
        metadata(48, 210, latency=2210),
    ),
    "usage": body(
        START,
        text(0, "The contract's termination clause"),
        text(0, " requires 30 days' written notice."),
        stop(0),
        message_stop("end_turn"),
        metadata(21, 19, latency=640, cacheReadInputTokens=1830, cacheWriteInputTokens=412),
    ),
    "stop_sequence": body(
        START,
        text(0, "1. Apples\n2. Pears\n"),
        stop(0),
        message_stop("stop_sequence", additionalModelResponseFields={"stop_sequence": "3."}),
        metadata(40, 11),
    ),
    "max_tokens_tool": body(
        START,
        tool_start(0, "tooluse_WriteFileAbCdEf", "write_file"),
        tool_input(0, '{"path": "notes.md", "content": "# Notes\\n\\nFirst'),
        message_stop("max_tokens"),
        metadata(120, 16),
    ),
    "guardrail": body(
        START,
        text(0, "Sorry, the model cannot answer this question."),
        stop(0),
        message_stop("guardrail_intervened"),
        metadata(40, 0, latency=95),
    ),
    "error": body(START, text(0, "Once upon"))
    + exception("throttlingException", {"message": "Too many tokens, please wait before trying again."}),
}
