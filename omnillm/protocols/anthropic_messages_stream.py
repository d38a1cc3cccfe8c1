"""Streaming codec for Anthropic Messages (``"stream": true``): SSE events <-> canonical stream events.

Wire shape (anthropic-sdk-python 2.12 ``RawMessageStreamEvent`` and ``lib/streaming``):
``message_start`` (the message with empty content and the input-side usage), then per
content block ``content_block_start`` / ``content_block_delta``... / ``content_block_stop``,
then ``message_delta`` (stop reason, cumulative usage) and ``message_stop``. ``ping`` is a
keep-alive; ``error`` reports a failure after the HTTP 200.

Decoding: one canonical output item per content block, numbered in the order blocks open
(text -> an assistant `Message`, ``tool_use`` -> a tool call, ``thinking`` and
``redacted_thinking`` -> reasoning, every other block type -> an `OpaquePart` delivered by
its `OutputItemDone`). Blocks are closed with an `OutputItemDone` carrying the item's final
form where it adds something to the deltas: tool-call arguments normalised the way the
non-streaming codec writes them (compact JSON), text citations, thinking signatures.
Usage merges ``message_start`` and the cumulative ``message_delta`` usage and is normalised
(input = ``input_tokens`` + cache reads + cache writes).

Error paths name the event by its 0-based position among all SSE events fed to the decoder
(pings included) followed by the JSON path inside its data: ``event[0].message.id``,
``event[5].delta.partial_json``, ``event[7].usage.output_tokens``.

Encoding produces what the API sends: ``message_start`` with a full message object, blocks
with indices 0..n opened one at a time, deltas as they arrive, ``message_delta`` with the
mapped stop reason and cumulative usage, ``message_stop``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from ..errors import DecodeError, EncodeError
from ..model import (
    Message,
    OpaquePart,
    OutputItem,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    Usage,
)
from ..report import LossLog
from ..sse import SSEEvent, format_event
from ..stream import (
    ErrorEvent,
    OutputItemAdded,
    OutputItemDone,
    ReasoningDelta,
    ReasoningSignatureDelta,
    RefusalDelta,
    ResponseCompleted,
    ResponseStarted,
    StreamEvent,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStarted,
    UsageUpdate,
)
from ._common import (
    WIRE_JSON,
    Obj,
    Reader,
    dump_arguments,
    dumps,
    extras,
    keep_fragment,
    load_arguments,
    note_finer_stop,
    restore_extensions,
    with_extension,
)

# Shared with the non-streaming codec so both decode usage and stop reasons identically.
from .anthropic_messages import _STOP_REASONS as _STOP_FROM_WIRE
from .anthropic_messages import _STOP_REASONS_BACK as _STOP_TO_WIRE
from .anthropic_messages import _decode_usage

PROTOCOL = "anthropic_messages"

_R = Reader(PROTOCOL)

# --------------------------------------------------------------------------- tables

# Anthropic error types and the HTTP status the API uses for each.
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_ERROR_BY_STATUS = {status: kind for kind, status in _ERROR_STATUS.items()}
_ERROR_BY_STATUS[503] = "overloaded_error"

# Usage fields the API only sends in message_start (the rest may appear in message_delta).
_START_ONLY_USAGE = frozenset({"cache_creation", "inference_geo", "service_tier", "speed"})

_TEXT_KEYS = frozenset({"type", "text", "citations"})
_TOOL_KEYS = frozenset({"type", "id", "name", "input"})
_THINKING_KEYS = frozenset({"type", "thinking", "signature"})
_REDACTED_KEYS = frozenset({"type", "data"})
# Server-side blocks whose ``input`` streams as input_json_delta fragments, like tool_use.
_STREAMED_INPUT_TYPES = frozenset({"server_tool_use", "mcp_tool_use"})


def _dumps(value: Any) -> str:
    return dumps(value, PROTOCOL)


def _usage_to_wire(usage: Usage) -> Obj:
    """Anthropic usage counts from canonical usage (``input_tokens`` excludes the cache)."""
    read = usage.cached_input_tokens or 0
    write = usage.cache_creation_input_tokens or 0
    out: Obj = {"input_tokens": max(usage.input_tokens - read - write, 0)}
    if usage.cache_creation_input_tokens is not None:
        out["cache_creation_input_tokens"] = write
    if usage.cached_input_tokens is not None:
        out["cache_read_input_tokens"] = read
    out["output_tokens"] = usage.output_tokens
    if usage.reasoning_tokens is not None:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return out


# --------------------------------------------------------------------------- decoder


@dataclass
class _Block:
    """A content block being received: its kind, canonical index and what the item needs at close."""

    kind: str  # text | tool | thinking | redacted | opaque
    index: int
    start: Obj
    parts: List[str] = field(default_factory=list)
    citations: List[Any] = field(default_factory=list)
    signature: str = ""
    closed: bool = False


class StreamDecoder:
    """Anthropic Messages SSE events in, canonical stream events out, one event at a time.

    ``lean``: close blocks with lean final forms (see `OutputItemDone`), holding no
    streamed text or tool arguments; tool arguments are then not re-serialised.
    """

    def __init__(self, *, lean: bool = False) -> None:
        self.terminated = False
        self._lean = lean
        self._count = 0
        self._started = False
        self._blocks: Dict[int, _Block] = {}
        self._next_index = 0
        self._usage_fields: Obj = {}
        self._usage: Optional[Usage] = None
        self._raw_stop: Optional[str] = None
        self._stop_sequence: Optional[str] = None
        self._handlers: Dict[str, Callable[[Obj, str], List[StreamEvent]]] = {
            "content_block_start": self._block_start,
            "content_block_delta": self._block_delta,
            "content_block_stop": self._block_stop,
            "message_delta": self._message_delta,
            "message_stop": self._message_stop,
        }

    def feed(self, event: SSEEvent) -> List[StreamEvent]:
        """Decode one SSE event; raises `DecodeError` on bad JSON or a bad shape."""
        path = f"event[{self._count}]"
        self._count += 1
        data = event.data.strip()
        if self.terminated or not data or data == "[DONE]":
            return []
        try:
            payload = WIRE_JSON.decode(data)
        except RecursionError:
            raise DecodeError(PROTOCOL, path, "invalid JSON: nested too deeply to parse") from None
        except ValueError as exc:
            raise DecodeError(PROTOCOL, path, f"invalid JSON: {exc}") from None
        text = self._text_only(payload)
        if text is not None:
            return [text]
        payload = _R.obj(payload, path)
        kind = payload.get("type")
        if kind is None and event.event not in ("", "message"):
            kind = event.event
        if not isinstance(kind, str):
            kind = _R.req_str(payload, "type", path)
        if kind == "ping":
            return []
        if kind == "error":
            return self._error(payload, path)
        if kind == "message_start":
            return self._message_start(payload, path)
        handler = self._handlers.get(kind)
        if handler is None:
            return []  # unknown event types: newer API features, ignored
        if not self._started:
            raise _R.fail(_type_path(path), f"{kind} before message_start")
        return handler(payload, path)

    def _text_only(self, payload: Any) -> Optional[TextDelta]:
        """The `TextDelta` of a ``text_delta`` to an open text block, recognised without field paths.

        Most events of a stream are that; this checks their types directly and folds them
        as `_block_delta` would. Anything else returns None and takes the general path,
        which decodes it or names what is wrong with it.
        """
        if type(payload) is not dict or payload.get("type") != "content_block_delta" or not self._started:
            return None
        delta = payload.get("delta")
        if type(delta) is not dict or delta.get("type") != "text_delta":
            return None
        text = delta.get("text")
        position = payload.get("index")
        if type(text) is not str or not text or type(position) is not int:
            return None
        state = self._blocks.get(position)
        if state is None or state.closed or state.kind != "text":
            return None
        keep_fragment(state.parts, text, self._lean)
        return TextDelta(state.index, text)

    def finish(self) -> List[StreamEvent]:
        """End of input. Nothing is pending; `terminated` tells whether message_stop arrived."""
        return []

    # ---------------------------------------------------------------- message level

    def _error(self, payload: Obj, path: str) -> List[StreamEvent]:
        error = _R.opt_obj(payload, "error", path) or {}
        where = f"{path}.error"
        kind = _R.opt_str(error, "type", where)
        message = _R.opt_str(error, "message", where) or "the provider reported an error"
        self.terminated = True
        return [ErrorEvent(message=message, type=kind, status=_ERROR_STATUS.get(kind or ""))]

    def _message_start(self, payload: Obj, path: str) -> List[StreamEvent]:
        if self._started:
            raise _R.fail(_type_path(path), "a second message_start")
        message = _R.req_obj(payload, "message", path)
        where = f"{path}.message"
        self._started = True
        out: List[StreamEvent] = [
            ResponseStarted(
                id=_R.opt_str(message, "id", where) or "",
                model=_R.opt_str(message, "model", where) or "",
            )
        ]
        usage = _R.opt_obj(message, "usage", where)
        if usage is not None:
            self._usage_fields = dict(usage)
            self._usage = _decode_usage(self._usage_fields, f"{where}.usage")
            out.append(UsageUpdate(self._usage))
        return out

    def _message_delta(self, payload: Obj, path: str) -> List[StreamEvent]:
        delta = _R.req_obj(payload, "delta", path)
        where = f"{path}.delta"
        self._raw_stop = _R.opt_str(delta, "stop_reason", where) or self._raw_stop
        self._stop_sequence = _R.opt_str(delta, "stop_sequence", where)
        out = self._close_all()
        usage = _R.opt_obj(payload, "usage", path)
        if usage is not None:
            # Cumulative totals: later values replace earlier ones; absent ones keep message_start's.
            merged = dict(self._usage_fields)
            merged.update((k, v) for k, v in usage.items() if v is not None)
            self._usage = _decode_usage(merged, f"{path}.usage")
            self._usage_fields = merged
            out.append(UsageUpdate(self._usage))
        return out

    def _message_stop(self, payload: Obj, path: str) -> List[StreamEvent]:
        out = self._close_all()
        raw = self._raw_stop
        out.append(
            ResponseCompleted(
                stop_reason=_STOP_FROM_WIRE.get(raw, "other") if raw is not None else "end_turn",
                raw_stop_reason=raw,
                stop_sequence=self._stop_sequence,
                usage=self._usage,
            )
        )
        self.terminated = True
        return out

    # ---------------------------------------------------------------- blocks

    def _block_start(self, payload: Obj, path: str) -> List[StreamEvent]:
        wire_index = _R.req_int(payload, "index", path)
        if wire_index in self._blocks:
            raise _R.fail(f"{path}.index", f"content block {wire_index} was already started")
        block = _R.req_obj(payload, "content_block", path)
        where = f"{path}.content_block"
        kind = _R.req_str(block, "type", where)
        index = self._next_index
        self._next_index += 1
        out: List[StreamEvent] = []
        if kind == "text":
            state = _Block("text", index, block)
            text = _R.opt_str(block, "text", where) or ""
            state.citations = list(_R.opt_arr(block, "citations", where) or [])
            out.append(OutputItemAdded(index, "message"))
            if text:
                keep_fragment(state.parts, text, self._lean)
                out.append(TextDelta(index, text))
        elif kind == "tool_use":
            state = _Block("tool", index, block)
            call_id = _R.req_str(block, "id", where)
            name = _R.req_str(block, "name", where)
            _R.opt_obj(block, "input", where)
            out.append(ToolCallStarted(index, call_id, name))
        elif kind == "thinking":
            state = _Block("thinking", index, block)
            text = _R.opt_str(block, "thinking", where) or ""
            state.signature = _R.opt_str(block, "signature", where) or ""
            out.append(OutputItemAdded(index, "reasoning"))
            if text:
                keep_fragment(state.parts, text, self._lean)
                out.append(ReasoningDelta(index, text))
            if state.signature:
                out.append(ReasoningSignatureDelta(index, signature=state.signature, source=PROTOCOL))
        elif kind == "redacted_thinking":
            state = _Block("redacted", index, block)
            data = _R.req_str(block, "data", where)
            out.append(OutputItemAdded(index, "reasoning"))
            out.append(ReasoningSignatureDelta(index, encrypted_content=data, source=PROTOCOL))
        else:
            # server_tool_use, *_tool_result and block types newer than this codec.
            state = _Block("opaque", index, block)
        self._blocks[wire_index] = state
        return out

    def _open_block(self, payload: Obj, path: str) -> _Block:
        wire_index = _R.req_int(payload, "index", path)
        state = self._blocks.get(wire_index)
        if state is None:
            raise _R.fail(f"{path}.index", f"no content block {wire_index} was started")
        if state.closed:
            raise _R.fail(f"{path}.index", f"content block {wire_index} is already closed")
        return state

    def _block_delta(self, payload: Obj, path: str) -> List[StreamEvent]:
        state = self._open_block(payload, path)
        delta = _R.req_obj(payload, "delta", path)
        where = f"{path}.delta"
        kind = _R.req_str(delta, "type", where)
        if kind == "text_delta":
            text = _R.req_str(delta, "text", where)
            self._expect(state, "text", kind, where)
            keep_fragment(state.parts, text, self._lean)
            return [TextDelta(state.index, text)] if text else []
        if kind == "input_json_delta":
            fragment = _R.req_str(delta, "partial_json", where)
            if state.kind == "opaque":
                state.parts.append(fragment)
                return []
            self._expect(state, "tool", kind, where)
            keep_fragment(state.parts, fragment, self._lean)
            return [ToolCallArgumentsDelta(state.index, fragment)] if fragment else []
        if kind == "thinking_delta":
            text = _R.req_str(delta, "thinking", where)
            self._expect(state, "thinking", kind, where)
            keep_fragment(state.parts, text, self._lean)
            return [ReasoningDelta(state.index, text)] if text else []
        if kind == "signature_delta":
            signature = _R.req_str(delta, "signature", where)
            self._expect(state, "thinking", kind, where)
            # The SDK replaces rather than appends; the API sends one signature_delta per block.
            state.signature = signature
            return [ReasoningSignatureDelta(state.index, signature=signature, source=PROTOCOL)]
        if kind == "citations_delta":
            citation = _R.req_obj(delta, "citation", where)
            if state.kind == "text":
                # Kept for the item's final form (TextPart extensions), as the non-streaming codec does.
                state.citations.append(citation)
            return []
        return []  # unknown delta types (newer API features) carry nothing we can place

    @staticmethod
    def _expect(state: _Block, kind: str, delta_type: str, where: str) -> None:
        if state.kind != kind:
            names = {"text": "text", "tool": "tool_use", "thinking": "thinking", "redacted": "redacted_thinking"}
            raise _R.fail(f"{where}.type", f"{delta_type} does not apply to a {names.get(state.kind, 'server')} block")

    def _block_stop(self, payload: Obj, path: str) -> List[StreamEvent]:
        state = self._open_block(payload, path)
        return self._close(state)

    def _close_all(self) -> List[StreamEvent]:
        # A stream cut short by max_tokens may skip content_block_stop for the last block.
        out: List[StreamEvent] = []
        for state in self._blocks.values():
            if not state.closed:
                out.extend(self._close(state))
        return out

    def _close(self, state: _Block) -> List[StreamEvent]:
        state.closed = True
        start = state.start
        item: Optional[OutputItem] = None
        out: List[StreamEvent] = []
        if state.kind == "text":
            ext = extras(start, _TEXT_KEYS)
            if state.citations:
                ext["citations"] = state.citations
            if ext:
                item = Message("assistant", [TextPart("".join(state.parts), extensions={PROTOCOL: ext})])
        elif state.kind == "tool":
            raw = "".join(state.parts)  # always "" for a lean decoder
            arguments = _normalise_arguments(raw, start.get("input"))
            if not (state.parts if self._lean else raw):
                # Nothing streamed (a call without arguments): deltas alone must still be complete.
                out.append(ToolCallArgumentsDelta(state.index, arguments))
            if self._lean:
                arguments = ""
            item = ToolCallPart(
                id=str(start["id"]),
                name=str(start["name"]),
                arguments=arguments,
                extensions=with_extension(PROTOCOL, extras(start, _TOOL_KEYS)),
            )
        elif state.kind == "thinking":
            # An empty signature marks reasoning that came from another provider: never "signed".
            item = ReasoningPart(
                text="".join(state.parts),
                signature=state.signature or None,
                source=PROTOCOL if state.signature else None,
                extensions=with_extension(PROTOCOL, extras(start, _THINKING_KEYS)),
            )
        elif state.kind == "redacted":
            item = ReasoningPart(
                encrypted_content=str(start["data"]),
                redacted=True,
                source=PROTOCOL,
                extensions=with_extension(PROTOCOL, extras(start, _REDACTED_KEYS)),
            )
        else:
            data = start
            if state.parts and "".join(state.parts):
                data = {**start, "input": _parse_object("".join(state.parts))}
            item = OpaquePart(source=PROTOCOL, data=data)
        out.append(
            OutputItemDone(state.index, item, lean=self._lean and item is not None and state.kind in _LEAN_KINDS)
        )
        return out


# Block kinds whose lean final forms leave out the streamed content.
_LEAN_KINDS = frozenset({"text", "tool", "thinking"})


def _type_path(path: str) -> str:
    return f"{path}.type"


def _parse_object(text: str) -> Any:
    """A server block's streamed input; text that is no JSON object is kept under ``_raw``."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_raw": text}


def _normalise_arguments(raw: str, start_input: Any) -> str:
    """The arguments text the non-streaming codec would give: compact JSON of the input object.

    Invalid or incomplete JSON (a call cut short by max_tokens) is kept as received.
    """
    if not raw.strip():
        return dump_arguments(start_input if isinstance(start_input, dict) else {}, PROTOCOL, "input")
    value, valid = load_arguments(raw)
    return dump_arguments(value, PROTOCOL, "input") if valid else raw


# --------------------------------------------------------------------------- encoder


@dataclass
class _Item:
    """A canonical output item as the encoder sees it, and the wire block(s) it went to."""

    kind: str  # message | reasoning | tool_call | opaque
    block: Optional[int] = None  # current wire block index
    closed: bool = False  # its current block was stopped
    finished: bool = False  # OutputItemDone handled
    streamed: bool = False  # some content went out
    call_id: str = ""
    name: str = ""
    arguments: List[str] = field(default_factory=list)
    signed: bool = False
    redacted_data: List[str] = field(default_factory=list)
    foreign_opaque: bool = False
    summary_index: Optional[int] = None
    summary_reported: bool = False
    thinking_text: bool = False


class StreamEncoder:
    """Canonical stream events in, Anthropic Messages SSE text out.

    One wire block is open at a time, as the API does, and a stopped block never gets
    another delta. A new item closes an open text or thinking block (a later fragment of
    that item opens a continuation block). An open tool call, whose arguments must all go
    into its one block, holds the wire until it is done: events of other items that
    arrive meanwhile (sources that interleave parallel calls) are queued and sent, in
    order, when it finishes.
    """

    def __init__(self, losses: Optional[LossLog] = None) -> None:
        self.losses = losses if losses is not None else LossLog(PROTOCOL)
        self._pending_start: Optional[ResponseStarted] = None
        self._start_usage: Optional[Usage] = None
        self._started = False
        self._done = False
        self._items: Dict[int, _Item] = {}
        self._open: Optional[int] = None  # canonical index whose block is open
        self._next_block = 0
        self._usage: Optional[Usage] = None
        self._refusal = False
        self._invalid_arguments: List[str] = []  # judged at completion: max_tokens explains a cut-off
        self._holder: Optional[int] = None  # an unfinished tool call that owns the open block
        self._queued: List[StreamEvent] = []  # other items' events waiting for the holder

    # ---------------------------------------------------------------- public

    def encode(self, event: StreamEvent) -> List[str]:
        """Encode one canonical event as zero or more SSE events."""
        if self._done:
            return []
        out: List[str] = []
        if isinstance(event, ResponseStarted):
            if not self._started and self._pending_start is None:
                self._pending_start = event
            return out
        if isinstance(event, UsageUpdate):
            self._usage = event.usage
            if not self._started:
                if self._start_usage is None:
                    self._start_usage = event.usage  # message_start carries the first usage known
                else:
                    self._flush_start(out)
            return out
        if isinstance(event, ErrorEvent):
            if self._holder is not None:
                self._flush_start(out)
                self._release_holder(out)  # every delta that arrived goes out before the error
            self._done = True
            out.append(self._error(event))
            return out
        self._flush_start(out)
        index = getattr(event, "index", None)
        if self._holder is not None and index is not None and index != self._holder:
            self._queued.append(event)
            return out
        if isinstance(event, ResponseCompleted) and self._holder is not None:
            self._release_holder(out)
        if isinstance(event, OutputItemAdded):
            item = self._item(event.index, "reasoning" if event.kind == "reasoning" else "message")
            if item.kind == "message" and item.block is None:
                self._open_block(out, event.index, {"type": "text", "text": ""})
        elif isinstance(event, (TextDelta, RefusalDelta)):
            self._refusal = self._refusal or isinstance(event, RefusalDelta)
            self._text(out, event.index, event.text)
        elif isinstance(event, ReasoningDelta):
            self._reasoning(out, event)
        elif isinstance(event, ReasoningSignatureDelta):
            self._signature(out, event)
        elif isinstance(event, ToolCallStarted):
            item = self._item(event.index, "tool_call")
            item.call_id, item.name = event.id, event.name
            if item.block is None:
                self._open_block(
                    out, event.index, {"type": "tool_use", "id": event.id, "name": event.name, "input": {}}
                )
                self._holder = event.index
        elif isinstance(event, ToolCallArgumentsDelta):
            self._arguments(out, event.index, event.delta)
        elif isinstance(event, OutputItemDone):
            self._item_done(out, event.index, event.item)
            if event.index == self._holder:
                self._release_holder(out)
        elif isinstance(event, ResponseCompleted):
            self._complete(out, event)
        return out

    def _release_holder(self, out: List[str]) -> None:
        """The holding tool call is done (or the response ends): send what waited for it."""
        self._holder = None
        queued, self._queued = self._queued, []
        for waiting in queued:
            out.extend(self.encode(waiting))

    def finish(self) -> List[str]:
        """End of the canonical stream. Without a `ResponseCompleted` no message_stop is sent."""
        out: List[str] = []
        if not self._done:
            self._flush_start(out)
        return out

    # ---------------------------------------------------------------- message level

    def _send(self, out: List[str], payload: Obj) -> None:
        out.append(format_event(_dumps(payload), event=str(payload["type"])))

    def _flush_start(self, out: List[str]) -> None:
        if self._started:
            return
        self._started = True
        start = self._pending_start or ResponseStarted(id="", model="")
        usage: Obj = {"input_tokens": 0, "output_tokens": 0}
        if self._start_usage is not None:
            usage = _usage_to_wire(self._start_usage)
            # Losses of foreign usage fields are reported once, with the final usage.
            restore_extensions(usage, self._start_usage.extensions, PROTOCOL, LossLog(), "usage")
        message: Obj = {
            "id": start.id or "msg_omnillm",
            "type": "message",
            "role": "assistant",
            "model": start.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        self._send(out, {"type": "message_start", "message": message})

    def _error(self, event: ErrorEvent) -> str:
        kind = event.type if event.type in _ERROR_STATUS else None
        if kind is None:
            kind = _ERROR_BY_STATUS.get(event.status or 0, "api_error")
        payload = {"type": "error", "error": {"type": kind, "message": event.message}}
        return format_event(_dumps(payload), event="error")

    def _complete(self, out: List[str], event: ResponseCompleted) -> None:
        self._close_open(out)
        for index in sorted(self._items):
            item = self._items[index]
            if not item.finished:
                self._finish_item(out, index, item, None)
        self._close_open(out)
        if event.stop_reason != "max_tokens":
            for path in self._invalid_arguments:
                self.losses.add(
                    "L-TOOL-ARGS-INVALID-JSON",
                    path,
                    f"tool call arguments are not a JSON object; {PROTOCOL} tool_use input must be one",
                )
        usage = event.usage if event.usage is not None else self._usage
        wire_usage: Obj = {"output_tokens": 0}
        if usage is not None:
            counts = _usage_to_wire(usage)
            wire_usage = {"output_tokens": counts.pop("output_tokens"), **counts}
            ext = {
                proto: {k: v for k, v in fields.items() if proto != PROTOCOL or k not in _START_ONLY_USAGE}
                for proto, fields in usage.extensions.items()
            }
            restore_extensions(wire_usage, ext, PROTOCOL, self.losses, "usage")
        self._send(
            out,
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": self._stop_reason(event),
                    "stop_sequence": event.stop_sequence,
                },
                "usage": wire_usage,
            },
        )
        self._send(out, {"type": "message_stop"})
        self._done = True

    def _stop_reason(self, event: ResponseCompleted) -> str:
        canonical = event.stop_reason
        raw = event.raw_stop_reason
        if raw is not None and _STOP_FROM_WIRE.get(raw) == canonical:
            return raw  # same-protocol value kept (model_context_window_exceeded)
        if self._refusal and canonical in ("end_turn", "refusal", "content_filter", "other"):
            return "refusal"
        wire = _STOP_TO_WIRE.get(canonical)
        if wire is None:
            # mapping-tables 3.3: content_filter is closest to refusal; error and other to end_turn.
            wire = "refusal" if canonical == "content_filter" else "end_turn"
            self.losses.add(
                "L-FINISH-GRANULARITY",
                "stop_reason",
                f"stop reason '{canonical}' has no equivalent in {PROTOCOL}; sent as '{wire}'",
            )
        else:
            note_finer_stop(self.losses, "stop_reason", PROTOCOL, canonical, raw, wire)
        return wire

    # ---------------------------------------------------------------- blocks

    def _item(self, index: int, kind: str) -> _Item:
        item = self._items.get(index)
        if item is None:
            item = _Item(kind)
            self._items[index] = item
        return item

    def _close_open(self, out: List[str]) -> None:
        if self._open is None:
            return
        item = self._items[self._open]
        self._open = None
        if item.block is not None and not item.closed:
            item.closed = True
            self._send(out, {"type": "content_block_stop", "index": item.block})

    def _open_block(self, out: List[str], index: int, content_block: Obj) -> int:
        self._close_open(out)
        item = self._items[index]
        item.block = self._next_block
        item.closed = False
        self._next_block += 1
        self._open = index
        self._send(out, {"type": "content_block_start", "index": item.block, "content_block": content_block})
        return item.block

    def _delta(self, out: List[str], block: int, delta: Obj) -> None:
        self._send(out, {"type": "content_block_delta", "index": block, "delta": delta})

    def _text(self, out: List[str], index: int, text: str) -> None:
        item = self._item(index, "message")
        if item.block is None or item.closed:
            self._open_block(out, index, {"type": "text", "text": ""})
        item.streamed = True
        if text and item.block is not None:
            self._delta(out, item.block, {"type": "text_delta", "text": text})

    def _thinking_block(self, out: List[str], index: int, item: _Item) -> int:
        if item.block is None or item.closed:
            return self._open_block(out, index, {"type": "thinking", "thinking": "", "signature": ""})
        return item.block

    def _reasoning(self, out: List[str], event: ReasoningDelta) -> None:
        item = self._item(event.index, "reasoning")
        block = self._thinking_block(out, event.index, item)
        text = event.text
        if event.kind == "summary":
            if not item.summary_reported:
                item.summary_reported = True
                self.losses.add(
                    "L-REASONING-SUMMARY",
                    f"output[{event.index}]",
                    f"reasoning summary sent as thinking text; {PROTOCOL} has no summary field",
                )
            if item.summary_index is not None and event.summary_index != item.summary_index and item.thinking_text:
                text = "\n\n" + text  # keep summary entries apart as paragraphs
            item.summary_index = event.summary_index
        item.streamed = True
        if text:
            item.thinking_text = True
            self._delta(out, block, {"type": "thinking_delta", "thinking": text})

    def _signature(self, out: List[str], event: ReasoningSignatureDelta) -> None:
        item = self._item(event.index, "reasoning")
        if event.source != PROTOCOL:
            if event.signature or event.encrypted_content:
                item.foreign_opaque = True
            return
        if event.encrypted_content:
            item.redacted_data.append(event.encrypted_content)  # a redacted_thinking block, sent whole at close
        if event.signature:
            block = self._thinking_block(out, event.index, item)
            item.signed = True
            item.streamed = True
            self._delta(out, block, {"type": "signature_delta", "signature": event.signature})

    def _arguments(self, out: List[str], index: int, fragment: str) -> None:
        item = self._items.get(index)
        if item is None or item.kind != "tool_call" or item.block is None:
            raise EncodeError(PROTOCOL, f"output[{index}]", "tool call arguments before the call started")
        item.arguments.append(fragment)
        item.streamed = True
        if fragment:
            self._delta(out, item.block, {"type": "input_json_delta", "partial_json": fragment})

    def _item_done(self, out: List[str], index: int, final: Optional[OutputItem]) -> None:
        item = self._items.get(index)
        if item is None:
            if final is None:
                return
            item = self._item(index, _kind_of(final))
            if isinstance(final, ToolCallPart):
                item.call_id, item.name = final.id, final.name
                self._open_block(out, index, {"type": "tool_use", "id": final.id, "name": final.name, "input": {}})
            elif isinstance(final, Message):
                self._open_block(out, index, {"type": "text", "text": ""})
        if not item.finished:
            self._finish_item(out, index, item, final)
        if self._open == index:
            self._close_open(out)

    def _finish_item(self, out: List[str], index: int, item: _Item, final: Optional[OutputItem]) -> None:
        """Complete an item from its final form where the deltas left something out, then log losses."""
        item.finished = True
        path = f"output[{index}]"
        if item.kind == "message":
            self._finish_message(out, index, item, final, path)
        elif item.kind == "tool_call":
            self._finish_tool_call(out, item, final, path)
        elif item.kind == "reasoning":
            self._finish_reasoning(out, index, item, final, path)
        elif isinstance(final, OpaquePart):
            self._finish_opaque(out, index, final, path)

    def _finish_message(self, out: List[str], index: int, item: _Item, final: Optional[OutputItem], path: str) -> None:
        if not isinstance(final, Message):
            return
        if not item.streamed:
            for part in final.content:
                if isinstance(part, (TextPart, RefusalPart)):
                    self._refusal = self._refusal or isinstance(part, RefusalPart)
                    self._text(out, index, part.text)
        for i, part in enumerate(final.content):
            if not isinstance(part, TextPart):
                continue
            ours = part.extensions.get(PROTOCOL, {})
            citations = ours.get("citations")
            if isinstance(citations, list) and item.block is not None:
                for citation in citations:
                    self._delta(out, item.block, {"type": "citations_delta", "citation": citation})
            rest = {k: v for k, v in ours.items() if k != "citations"}
            others = {p: f for p, f in part.extensions.items() if p != PROTOCOL}
            self._late_extensions({PROTOCOL: rest, **others}, f"{path}.content[{i}]")

    def _finish_tool_call(self, out: List[str], item: _Item, final: Optional[OutputItem], path: str) -> None:
        if isinstance(final, ToolCallPart):
            if not "".join(item.arguments) and final.arguments and item.block is not None:
                item.arguments.append(final.arguments)
                self._delta(out, item.block, {"type": "input_json_delta", "partial_json": final.arguments})
            self._late_extensions(final.extensions, path)
        text = "".join(item.arguments)
        if text.strip():
            try:
                valid = isinstance(json.loads(text), dict)
            except (ValueError, RecursionError):
                valid = False
            if not valid:
                self._invalid_arguments.append(f"{path}.arguments")

    def _finish_reasoning(
        self, out: List[str], index: int, item: _Item, final: Optional[OutputItem], path: str
    ) -> None:
        if isinstance(final, ReasoningPart):
            if final.source == PROTOCOL:
                if final.redacted and final.encrypted_content and not item.redacted_data:
                    item.redacted_data.append(final.encrypted_content)
                if not item.streamed and not final.redacted:
                    self._replay_reasoning_text(out, index, item, final)
                    if final.signature:
                        self._signature(out, ReasoningSignatureDelta(index, signature=final.signature, source=PROTOCOL))
            else:
                if final.signature or final.encrypted_content:
                    item.foreign_opaque = True
                if not item.streamed:
                    self._replay_reasoning_text(out, index, item, final)
            self._late_extensions(final.extensions, path)
        if item.redacted_data:
            self._open_block(out, index, {"type": "redacted_thinking", "data": "".join(item.redacted_data)})
            self._close_open(out)
            return
        if item.block is not None and not item.signed:
            detail = "reasoning has no Anthropic signature: sent as a thinking block with an empty signature"
            if item.foreign_opaque:
                detail += "; its opaque token from another provider was dropped"
            self.losses.add("L-REASONING-OPAQUE", path, detail)
        elif item.block is None and item.foreign_opaque:
            self.losses.add(
                "L-REASONING-OPAQUE",
                path,
                f"reasoning holds only another provider's opaque token; dropped for {PROTOCOL}",
            )

    def _replay_reasoning_text(self, out: List[str], index: int, item: _Item, final: ReasoningPart) -> None:
        if final.text:
            self._reasoning(out, ReasoningDelta(index, final.text))
        for i, summary in enumerate(final.summary):
            self._reasoning(out, ReasoningDelta(index, summary, kind="summary", summary_index=i))
        if final.source == PROTOCOL and final.text == "" and not final.redacted:
            self._thinking_block(out, index, item)  # an empty thinking block (display omitted) is still a block

    def _finish_opaque(self, out: List[str], index: int, final: OpaquePart, path: str) -> None:
        if final.source != PROTOCOL:
            self.losses.add(
                "L-OPAQUE", path, f"{final.source} item '{final.data.get('type')}' has no equivalent in {PROTOCOL}"
            )
            return
        data = final.data
        kind = data.get("type")
        streamed_input = isinstance(kind, str) and kind in _STREAMED_INPUT_TYPES and isinstance(data.get("input"), dict)
        start = {**data, "input": {}} if streamed_input else data
        block = self._open_block(out, index, start)
        if streamed_input and data["input"]:
            self._delta(out, block, {"type": "input_json_delta", "partial_json": _dumps(data["input"])})
        self._close_open(out)

    def _late_extensions(self, extensions: Dict[str, Dict[str, Any]], path: str) -> None:
        """Extension fields known only at item end: the block's start was already sent without them."""
        for proto, fields in extensions.items():
            if not fields:
                continue
            names = ", ".join(sorted(fields))
            if proto == PROTOCOL:
                detail = f"field(s) {names} arrive after content_block_start was sent and cannot be streamed"
            else:
                detail = f"{proto} field(s) {names} have no equivalent in {PROTOCOL}"
            self.losses.add("L-EXTENSION", path, detail)


def _kind_of(item: OutputItem) -> str:
    if isinstance(item, ToolCallPart):
        return "tool_call"
    if isinstance(item, ReasoningPart):
        return "reasoning"
    if isinstance(item, OpaquePart):
        return "opaque"
    return "message"
