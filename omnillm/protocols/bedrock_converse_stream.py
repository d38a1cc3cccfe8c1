"""Streaming codec for Bedrock ConverseStream: AWS event-stream messages <-> canonical stream events.

ConverseStream is not SSE: the body is AWS event-stream binary framing
(`omnillm.eventstream`), so `event_parser` gives the stream drivers an
`EventStreamDecoder`, `StreamDecoder.feed` takes `EventStreamMessage` s and
`StreamEncoder.encode` returns ``bytes`` frames. Each message has the headers
``:message-type`` (``event``, ``exception`` or ``error``), ``:event-type`` (or
``:exception-type``) and ``:content-type``; the payload is the event's JSON, not wrapped in
its name. Wire shape per botocore's ``bedrock-runtime`` model (``ConverseStreamOutput``):
``messageStart``, per content block an optional ``contentBlockStart`` (only tool uses, tool
results and images have one), ``contentBlockDelta`` s and ``contentBlockStop``, then
``messageStop`` (stop reason) and ``metadata`` (usage, metrics). Exceptions
(``throttlingException``, ``modelStreamErrorException``, ...) end the stream.

Decoding:

* The terminal event is ``metadata``: usage only arrives there, after ``messageStop``, so
  `ResponseCompleted` is emitted at ``metadata`` (with the stop reason ``messageStop``
  gave). A stream that ends after ``messageStop`` without ``metadata`` is truncated, as is
  one cut inside a frame; a CRC mismatch or any other framing damage is an
  `EventStreamError`.
* One canonical output item per ``contentBlockIndex``, numbered in the order blocks open;
  text and reasoning blocks open on their first delta. Tool-call arguments are closed with
  the compact JSON the non-streaming codec gives; reasoning items are closed with their
  final `ReasoningPart` (signature, redacted data); text with ``citation`` deltas with a
  final `TextPart` carrying them, as the non-streaming codec decodes ``citationsContent``.
  Blocks without a canonical meaning (tool results, images, server tool uses) are delivered
  whole as an `OpaquePart` whose data is ``{"start": ..., "deltas": [...]}``.
* ``metadata`` fields beyond ``usage`` (``metrics``, ``trace``, ``performanceConfig``,
  ``serviceTier``) and the rest of ``messageStop``'s ``additionalModelResponseFields`` ride
  on the final `Usage`'s extensions (a stream has no other slot for them); the codecs of
  this format write them back where they belong. Unknown event types and unknown
  event-level fields are ignored.
* Error paths name the message by its 0-based position among all messages fed to the
  decoder, then the JSON path in its payload (``event[3].delta.text``) or the header
  (``event[3].headers.:event-type``).

Encoding produces what Bedrock sends: ``messageStart``, deltas as they arrive (several
blocks may be open at once when the source interleaves items; clients accumulate by
``contentBlockIndex``), a ``contentBlockStop`` per item, then ``messageStop`` and
``metadata`` on `ResponseCompleted`, or an exception frame on `ErrorEvent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set

from ..errors import DecodeError, EncodeError
from ..eventstream import EventStreamDecoder, EventStreamMessage, HeaderValue, format_message
from ..model import Message, OpaquePart, OutputItem, ReasoningPart, RefusalPart, TextPart, ToolCallPart, Usage
from ..report import LossLog
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
from ._common import WIRE_JSON, Obj, Reader, describe, dump_arguments, dumps, join, keep_fragment

# Shared with the non-streaming codec so both read and write the wire the same way.
from .bedrock_converse import (
    _CITATIONS_BLOCK,
    DEFAULT_LATENCY,
    METADATA_KEYS,
    _restore,
    decode_stop_reason,
    decode_usage,
    encode_stop_reason,
    encode_usage,
    parse_arguments,
    split_stop_sequence,
    wire_tool_id,
)

PROTOCOL = "bedrock_converse"

_R = Reader(PROTOCOL)

CONTENT_TYPE = "application/vnd.amazon.eventstream"

# Exception events and the HTTP status botocore's model gives each.
_EXCEPTION_STATUS = {
    "validationException": 400,
    "modelTimeoutException": 408,
    "modelStreamErrorException": 424,
    "throttlingException": 429,
    "internalServerException": 500,
    "serviceUnavailableException": 503,
}
_EXCEPTION_BY_STATUS = {status: name for name, status in _EXCEPTION_STATUS.items()}
_EXCEPTION_BY_STATUS[529] = "serviceUnavailableException"  # Anthropic's "overloaded"


def event_parser() -> EventStreamDecoder:
    """The framing the stream drivers use for this format: AWS event-stream messages."""
    return EventStreamDecoder()


def _dumps(value: Any) -> bytes:
    return dumps(value, PROTOCOL).encode("utf-8")


def format_event(event_type: str, payload: Obj) -> bytes:
    """One ConverseStream event frame (headers in the order Bedrock sends them)."""
    headers: Dict[str, HeaderValue] = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return format_message(headers, _dumps(payload))


def format_exception(exception_type: str, message: str) -> bytes:
    """One ConverseStream exception frame, such as ``throttlingException``."""
    headers: Dict[str, HeaderValue] = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return format_message(headers, _dumps({"message": message}))


def _normalise_arguments(raw: str) -> str:
    """The arguments text the non-streaming codec gives: compact JSON; invalid text as received."""
    if not raw.strip():
        return "{}"
    value, valid = parse_arguments(raw)
    return dump_arguments(value, PROTOCOL, "input") if valid else raw


# --------------------------------------------------------------------------- decoder


@dataclass
class _Block:
    """A content block being received, by its wire ``contentBlockIndex``."""

    kind: Optional[str] = None  # text | tool | reasoning | opaque; None until a delta says
    index: int = -1  # canonical index, once the block opened an item
    start: Obj = field(default_factory=dict)
    parts: List[str] = field(default_factory=list)
    signature: Optional[str] = None
    redacted: List[str] = field(default_factory=list)
    citations: List[Any] = field(default_factory=list)
    deltas: List[Any] = field(default_factory=list)
    closed: bool = False


class StreamDecoder:
    """ConverseStream event-stream messages in, canonical stream events out, one message at a time.

    ``lean``: close blocks with lean final forms (see `OutputItemDone`), holding no
    streamed text or tool arguments; tool arguments are then not re-serialised.
    """

    def __init__(self, *, lean: bool = False) -> None:
        self.terminated = False
        self._lean = lean
        self._count = 0
        self._started = False
        self._stopped = False
        self._blocks: Dict[int, _Block] = {}
        self._next_index = 0
        self._raw_stop = ""
        self._stop_sequence: Optional[str] = None
        self._response_fields: Any = None
        self._handlers: Dict[str, Callable[[Obj, str], List[StreamEvent]]] = {
            "contentBlockStart": self._block_start,
            "contentBlockDelta": self._block_delta,
            "contentBlockStop": self._block_stop,
            "messageStop": self._message_stop,
            "metadata": self._metadata,
        }

    def feed(self, message: EventStreamMessage) -> List[StreamEvent]:
        """Decode one event-stream message; raises `DecodeError` on a bad header, JSON or shape."""
        path = f"event[{self._count}]"
        self._count += 1
        if self.terminated:
            return []
        kind = self._header(message, ":message-type", path)
        if kind == "exception":
            return self._exception(message, path)
        if kind == "error":
            self.terminated = True
            text = message.headers.get(":error-message")
            code = message.headers.get(":error-code")
            return [
                ErrorEvent(
                    message=text if isinstance(text, str) and text else "the provider reported an error",
                    code=code if isinstance(code, str) else None,
                )
            ]
        if kind != "event":
            return []  # message types newer than this codec
        event_type = self._header(message, ":event-type", path)
        payload = _R.obj(self._json(message, path), path)
        if event_type == "messageStart":
            if self._started:
                raise _R.fail(f"{path}.headers.:event-type", "a second messageStart")
            role = _R.req_str(payload, "role", path)
            if role != "assistant":
                raise _R.fail(f"{path}.role", f"expected 'assistant', got {role!r}")
            self._started = True
            return [ResponseStarted(id="", model="")]
        handler = self._handlers.get(event_type)
        if handler is None:
            return []  # event types newer than this codec
        if not self._started:
            raise _R.fail(f"{path}.headers.:event-type", f"{event_type} before messageStart")
        return handler(payload, path)

    def finish(self) -> List[StreamEvent]:
        """End of input. Nothing is pending; `terminated` tells whether ``metadata`` arrived."""
        return []

    # ---------------------------------------------------------------- framing

    @staticmethod
    def _header(message: EventStreamMessage, name: str, path: str) -> str:
        value = message.headers.get(name)
        if not isinstance(value, str):
            problem = "required header is missing" if value is None else f"expected a string, got {describe(value)}"
            raise _R.fail(f"{path}.headers.{name}", problem)
        return value

    @staticmethod
    def _json(message: EventStreamMessage, path: str) -> Any:
        try:
            return WIRE_JSON.decode(message.payload.decode("utf-8"))
        except RecursionError:
            raise DecodeError(PROTOCOL, path, "invalid JSON: nested too deeply to parse") from None
        except UnicodeDecodeError as exc:
            raise DecodeError(
                PROTOCOL, path, f"payload is not valid UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
        except ValueError as exc:
            raise DecodeError(PROTOCOL, path, f"invalid JSON: {exc}") from None

    def _exception(self, message: EventStreamMessage, path: str) -> List[StreamEvent]:
        kind = self._header(message, ":exception-type", path)
        self.terminated = True
        text = ""
        try:
            payload = WIRE_JSON.decode(message.payload.decode("utf-8"))
        except (ValueError, RecursionError):
            payload = None  # a non-JSON body: the exception type still says what happened
        if isinstance(payload, dict):
            for key in ("message", "Message"):
                if isinstance(payload.get(key), str):
                    text = payload[key]
                    break
        return [ErrorEvent(message=text or kind, type=kind, status=_EXCEPTION_STATUS.get(kind))]

    # ---------------------------------------------------------------- blocks

    def _wire_index(self, payload: Obj, path: str) -> int:
        value = _R.req_int(payload, "contentBlockIndex", path)
        if value < 0:
            raise _R.fail(join(path, "contentBlockIndex"), f"expected a non-negative index, got {value}")
        return value

    def _open(self, block: _Block, kind: str, out: List[StreamEvent]) -> None:
        block.kind = kind
        block.index = self._next_index
        self._next_index += 1
        if kind in ("text", "reasoning"):
            out.append(OutputItemAdded(block.index, "message" if kind == "text" else "reasoning"))

    def _block_start(self, payload: Obj, path: str) -> List[StreamEvent]:
        wire = self._wire_index(payload, path)
        if wire in self._blocks:
            raise _R.fail(join(path, "contentBlockIndex"), f"content block {wire} was already started")
        start = _R.req_obj(payload, "start", path)
        block = _Block(start=start)
        self._blocks[wire] = block
        out: List[StreamEvent] = []
        if not start:
            return out  # some emitters start text blocks with an empty union
        if len(start) != 1:
            raise _R.fail(join(path, "start"), f"expected one member in this union, got {len(start)}")
        tool = start.get("toolUse")
        if tool is not None:
            where = join(path, "start.toolUse")
            tool = _R.obj(tool, where)
            call_id = _R.req_str(tool, "toolUseId", where)
            name = _R.req_str(tool, "name", where)
            if "type" not in tool:
                self._open(block, "tool", out)
                out.append(ToolCallStarted(block.index, call_id, name))
                return out
        # Tool results, images and server-side tool uses: delivered whole at the stop.
        self._open(block, "opaque", out)
        return out

    def _block_delta(self, payload: Obj, path: str) -> List[StreamEvent]:
        wire = self._wire_index(payload, path)
        block = self._blocks.get(wire)
        if block is None:
            block = self._blocks[wire] = _Block()
        if block.closed:
            raise _R.fail(join(path, "contentBlockIndex"), f"content block {wire} was already stopped")
        delta = _R.req_obj(payload, "delta", path)
        where = join(path, "delta")
        if len(delta) != 1:
            raise _R.fail(where, f"expected one member in this union, got {len(delta)}")
        ((kind, value),) = delta.items()
        out: List[StreamEvent] = []
        if block.kind == "opaque":
            block.deltas.append(delta)
            return out
        if kind == "text":
            text = _R.req_str(delta, "text", where)
            self._expect(block, "text", where, out)
            keep_fragment(block.parts, text, self._lean)
            if text:
                out.append(TextDelta(block.index, text))
        elif kind == "toolUse":
            fragment = _R.req_str(_R.obj(value, join(where, "toolUse")), "input", join(where, "toolUse"))
            if block.kind != "tool":
                raise _R.fail(where, "a toolUse delta for a block that is not a tool use")
            keep_fragment(block.parts, fragment, self._lean)
            if fragment:
                out.append(ToolCallArgumentsDelta(block.index, fragment))
        elif kind == "reasoningContent":
            self._reasoning(block, value, join(where, "reasoningContent"), out)
        elif kind == "citation":
            self._expect(block, "text", where, out)
            block.citations.append(_R.obj(value, join(where, "citation")))
        # toolResult and image deltas only belong to opaque blocks; newer members are ignored.
        return out

    def _expect(self, block: _Block, kind: str, where: str, out: List[StreamEvent]) -> None:
        if block.kind is None:
            self._open(block, kind, out)
        elif block.kind != kind:
            raise _R.fail(where, f"a {kind} delta for a {block.kind} block")

    def _reasoning(self, block: _Block, value: Any, where: str, out: List[StreamEvent]) -> None:
        d = _R.obj(value, where)
        if len(d) != 1:
            raise _R.fail(where, f"expected one member in this union, got {len(d)}")
        self._expect(block, "reasoning", where, out)
        if "text" in d:
            text = _R.req_str(d, "text", where)
            keep_fragment(block.parts, text, self._lean)
            if text:
                out.append(ReasoningDelta(block.index, text))
        elif "signature" in d:
            signature = _R.req_str(d, "signature", where)
            block.signature = (block.signature or "") + signature
            out.append(ReasoningSignatureDelta(block.index, signature=signature, source=PROTOCOL))
        elif "redactedContent" in d:
            data = _R.req_str(d, "redactedContent", where)
            block.redacted.append(data)
            out.append(ReasoningSignatureDelta(block.index, encrypted_content=data, source=PROTOCOL))

    def _block_stop(self, payload: Obj, path: str) -> List[StreamEvent]:
        wire = self._wire_index(payload, path)
        block = self._blocks.get(wire)
        if block is None:
            raise _R.fail(join(path, "contentBlockIndex"), f"no content block {wire} was started")
        if block.closed:
            raise _R.fail(join(path, "contentBlockIndex"), f"content block {wire} was already stopped")
        return self._close(block)

    def _close(self, block: _Block) -> List[StreamEvent]:
        block.closed = True
        if block.kind is None:
            return []  # an empty block: nothing was opened for it
        out: List[StreamEvent] = []
        item: Optional[OutputItem] = None
        if block.kind == "text":
            if block.citations:
                extensions = {PROTOCOL: {"citations": block.citations}, _CITATIONS_BLOCK: {}}
                item = Message("assistant", [TextPart("".join(block.parts), extensions=extensions)])
        elif block.kind == "tool":
            raw = "".join(block.parts)  # always "" for a lean decoder
            arguments = _normalise_arguments(raw)
            if not (block.parts if self._lean else raw):
                # Nothing streamed (a call without arguments): deltas alone must still be complete.
                out.append(ToolCallArgumentsDelta(block.index, arguments))
            if self._lean:
                arguments = ""
            tool = block.start["toolUse"]
            item = ToolCallPart(id=tool["toolUseId"], name=tool["name"], arguments=arguments)
        elif block.kind == "reasoning":
            if block.redacted:
                item = ReasoningPart(encrypted_content="".join(block.redacted), redacted=True, source=PROTOCOL)
            else:
                item = ReasoningPart(text="".join(block.parts), signature=block.signature, source=PROTOCOL)
        else:
            item = OpaquePart(source=PROTOCOL, data={"start": block.start, "deltas": block.deltas})
        out.append(OutputItemDone(block.index, item, lean=self._lean and item is not None and block.kind != "opaque"))
        return out

    # ---------------------------------------------------------------- message level

    def _message_stop(self, payload: Obj, path: str) -> List[StreamEvent]:
        if self._stopped:
            raise _R.fail(f"{path}.headers.:event-type", "a second messageStop")
        self._raw_stop = _R.req_str(payload, "stopReason", path)
        self._stop_sequence, self._response_fields = split_stop_sequence(payload.get("additionalModelResponseFields"))
        self._stopped = True
        # A stream cut short (max_tokens, guardrails) may skip contentBlockStop.
        out: List[StreamEvent] = []
        for block in self._blocks.values():
            if not block.closed:
                out.extend(self._close(block))
        return out

    def _metadata(self, payload: Obj, path: str) -> List[StreamEvent]:
        if not self._stopped:
            raise _R.fail(f"{path}.headers.:event-type", "metadata before messageStop")
        usage = decode_usage(_R.req_obj(payload, "usage", path), join(path, "usage"))
        metrics = _R.opt_obj(payload, "metrics", path)
        if metrics is not None:
            _R.opt_int(metrics, "latencyMs", join(path, "metrics"))
        extra = {k: v for k, v in payload.items() if k in METADATA_KEYS and v is not None}
        if extra.get("metrics") == DEFAULT_LATENCY:
            del extra["metrics"]
        if self._response_fields is not None:
            extra["additionalModelResponseFields"] = self._response_fields
        if extra:
            own = dict(usage.extensions.get(PROTOCOL, {}))
            own.update(extra)
            usage.extensions = {**usage.extensions, PROTOCOL: own}
        self.terminated = True
        return [
            UsageUpdate(usage),
            ResponseCompleted(
                stop_reason=decode_stop_reason(self._raw_stop),
                raw_stop_reason=self._raw_stop,
                stop_sequence=self._stop_sequence,
                usage=usage,
            ),
        ]


# --------------------------------------------------------------------------- encoder


@dataclass
class _Item:
    """A canonical output item as the encoder sees it, and the wire block it went to."""

    kind: str  # message | reasoning | tool_call | opaque
    block: Optional[int] = None
    closed: bool = False
    finished: bool = False
    streamed: bool = False
    arguments: List[str] = field(default_factory=list)
    summary_index: Optional[int] = None
    has_text: bool = False


class StreamEncoder:
    """Canonical stream events in, ConverseStream event-stream frames (``bytes``) out."""

    def __init__(self, losses: Optional[LossLog] = None) -> None:
        self.losses = losses if losses is not None else LossLog(PROTOCOL)
        self._started = False
        self._done = False
        self._items: Dict[int, _Item] = {}
        self._next_block = 0
        self._usage: Optional[Usage] = None
        self._reported: Set[str] = set()
        self._invalid_arguments: List[str] = []  # judged at completion: max_tokens explains a cut-off

    def encode(self, event: StreamEvent) -> List[bytes]:
        """Encode one canonical event as zero or more frames."""
        if self._done:
            return []
        out: List[bytes] = []
        if isinstance(event, ResponseStarted):
            self._start(out, event)
            return out
        if isinstance(event, UsageUpdate):
            self._usage = event.usage
            return out
        if isinstance(event, ErrorEvent):
            self._done = True
            return [self._exception(event)]
        self._start(out, None)
        if isinstance(event, OutputItemAdded):
            self._item(event.index, "reasoning" if event.kind == "reasoning" else "message")
        elif isinstance(event, (TextDelta, RefusalDelta)):
            if isinstance(event, RefusalDelta):
                self._loss_once(
                    f"refusal{event.index}",
                    "L-REFUSAL-PART",
                    f"output[{event.index}]",
                    f"refusal is sent as plain text: {PROTOCOL} has no refusal block",
                )
            self._text(out, event.index, event.text)
        elif isinstance(event, ReasoningDelta):
            self._reasoning(out, event)
        elif isinstance(event, ReasoningSignatureDelta):
            self._signature(out, event)
        elif isinstance(event, ToolCallStarted):
            self._start_call(out, event.index, event.id, event.name, event.synthetic_id)
        elif isinstance(event, ToolCallArgumentsDelta):
            self._arguments(out, event.index, event.delta)
        elif isinstance(event, OutputItemDone):
            self._item_done(out, event.index, event.item)
        elif isinstance(event, ResponseCompleted):
            self._complete(out, event)
        return out

    def finish(self) -> List[bytes]:
        """End of the canonical stream. Without a `ResponseCompleted` no ``metadata`` is sent."""
        out: List[bytes] = []
        if not self._done:
            self._start(out, None)
        return out

    # ---------------------------------------------------------------- frames

    def _loss_once(self, key: str, code: str, path: str, detail: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self.losses.add(code, path, detail)

    def _start(self, out: List[bytes], event: Optional[ResponseStarted]) -> None:
        if event is not None:
            if event.id:
                self._loss_once("id", "L-RESPONSE-ID", "id", f"{PROTOCOL} streams carry no response id")
            if event.model:
                self._loss_once("model", "L-RESPONSE-MODEL", "model", f"{PROTOCOL} streams do not name the model")
            if event.created:
                self._loss_once("created", "L-CREATED", "created", f"the creation time has no field in {PROTOCOL}")
        if not self._started:
            self._started = True
            out.append(format_event("messageStart", {"role": "assistant"}))

    def _exception(self, event: ErrorEvent) -> bytes:
        kind = event.type if event.type in _EXCEPTION_STATUS else None
        if kind is None:
            kind = _EXCEPTION_BY_STATUS.get(event.status or 0, "internalServerException")
        return format_exception(kind, event.message)

    def _item(self, index: int, kind: str) -> _Item:
        item = self._items.get(index)
        if item is None:
            item = self._items[index] = _Item(kind)
        return item

    def _block(self, item: _Item) -> int:
        if item.block is None:
            item.block = self._next_block
            self._next_block += 1
        return item.block

    def _delta(self, out: List[bytes], item: _Item, delta: Obj) -> None:
        out.append(format_event("contentBlockDelta", {"contentBlockIndex": self._block(item), "delta": delta}))

    def _stop_block(self, out: List[bytes], item: _Item) -> None:
        if item.block is not None and not item.closed:
            item.closed = True
            out.append(format_event("contentBlockStop", {"contentBlockIndex": item.block}))

    # ---------------------------------------------------------------- items

    def _text(self, out: List[bytes], index: int, text: str) -> None:
        item = self._item(index, "message")
        item.streamed = True
        if text:
            self._delta(out, item, {"text": text})

    def _reasoning(self, out: List[bytes], event: ReasoningDelta) -> None:
        item = self._item(event.index, "reasoning")
        text = event.text
        if event.kind == "summary":
            self._loss_once(
                f"summary{event.index}",
                "L-REASONING-SUMMARY",
                f"output[{event.index}]",
                f"reasoning summaries are sent as reasoning text; {PROTOCOL} has no summary field",
            )
            if item.summary_index is not None and event.summary_index != item.summary_index and item.has_text:
                text = "\n\n" + text  # keep summary entries apart as paragraphs
            item.summary_index = event.summary_index
        item.streamed = True
        if text:
            item.has_text = True
            self._delta(out, item, {"reasoningContent": {"text": text}})

    def _signature(self, out: List[bytes], event: ReasoningSignatureDelta) -> None:
        item = self._item(event.index, "reasoning")
        if event.source != PROTOCOL:
            if event.signature or event.encrypted_content:
                self._foreign_token(event.index, event.source)
            return
        item.streamed = True
        if event.encrypted_content:
            self._delta(out, item, {"reasoningContent": {"redactedContent": event.encrypted_content}})
        if event.signature:
            self._delta(out, item, {"reasoningContent": {"signature": event.signature}})

    def _foreign_token(self, index: int, source: Optional[str]) -> None:
        self._loss_once(
            f"token{index}",
            "L-REASONING-OPAQUE",
            f"output[{index}]",
            f"the opaque reasoning token from {source or 'an unknown source'} is dropped for {PROTOCOL}",
        )

    def _start_call(self, out: List[bytes], index: int, call_id: str, name: str, synthetic: bool) -> None:
        item = self._item(index, "tool_call")
        if item.block is not None:
            return
        path = f"output[{index}].id"
        if synthetic:
            self.losses.add("L-TOOL-ID-SYNTH", path, f"tool call id {call_id!r} was made up for {PROTOCOL}")
        wire = wire_tool_id(call_id)
        if wire != call_id:
            self.losses.add(
                "L-TOOL-ID-REWRITE",
                path,
                f"tool call id {call_id!r} sent as {wire!r}: {PROTOCOL} ids are [a-zA-Z0-9_.:-]{{1,64}}",
            )
        block = self._block(item)
        start = {"toolUse": {"toolUseId": wire, "name": name}}
        out.append(format_event("contentBlockStart", {"contentBlockIndex": block, "start": start}))

    def _arguments(self, out: List[bytes], index: int, fragment: str) -> None:
        item = self._items.get(index)
        if item is None or item.kind != "tool_call" or item.block is None:
            raise EncodeError(PROTOCOL, f"output[{index}]", "tool call arguments before the call started")
        item.arguments.append(fragment)
        item.streamed = True
        if fragment:
            self._delta(out, item, {"toolUse": {"input": fragment}})

    def _item_done(self, out: List[bytes], index: int, final: Optional[OutputItem]) -> None:
        item = self._items.get(index)
        if item is None:
            if final is None:
                return
            item = self._item(index, _kind_of(final))
        if item.finished:
            return
        item.finished = True
        path = f"output[{index}]"
        if isinstance(final, Message):
            self._finish_message(out, index, item, final, path)
        elif isinstance(final, ToolCallPart):
            self._start_call(out, index, final.id, final.name, final.synthetic_id)
            if not "".join(item.arguments) and final.arguments:
                self._arguments(out, index, final.arguments)
            _restore({}, final.extensions, self.losses, path)
        elif isinstance(final, ReasoningPart):
            self._finish_reasoning(out, index, item, final, path)
        elif isinstance(final, OpaquePart):
            self._finish_opaque(out, item, final, path)
        if item.kind == "tool_call":
            self._check_arguments(item, path)
        self._stop_block(out, item)

    def _finish_message(self, out: List[bytes], index: int, item: _Item, final: Message, path: str) -> None:
        for i, part in enumerate(final.content):
            where = f"{path}.content[{i}]"
            if isinstance(part, (TextPart, RefusalPart)):
                if not item.streamed:
                    if isinstance(part, RefusalPart):
                        self.losses.add(
                            "L-REFUSAL-PART", where, f"refusal is sent as plain text: {PROTOCOL} has no refusal block"
                        )
                    if part.text:
                        self._delta(out, item, {"text": part.text})
                if isinstance(part, TextPart):
                    own = part.extensions.get(PROTOCOL) or {}
                    for citation in own.get("citations") or []:
                        self._delta(out, item, {"citation": citation})
                    late = {k: v for k, v in own.items() if k != "citations"}
                    if late:
                        names = ", ".join(sorted(late))
                        self.losses.add("L-EXTENSION", where, f"field(s) {names} of the text block cannot be streamed")
                    _restore({}, {p: f for p, f in part.extensions.items() if p != PROTOCOL}, self.losses, where)
            else:
                self.losses.add("L-OPAQUE", where, f"{type(part).__name__} output cannot be streamed to {PROTOCOL}")
        item.streamed = True
        _restore({}, final.extensions, self.losses, path)

    def _finish_reasoning(self, out: List[bytes], index: int, item: _Item, final: ReasoningPart, path: str) -> None:
        if final.source == PROTOCOL:
            if not item.streamed:
                if final.redacted:
                    self._signature(
                        out,
                        ReasoningSignatureDelta(
                            index, encrypted_content=final.encrypted_content or "", source=PROTOCOL
                        ),
                    )
                else:
                    self._reasoning(out, ReasoningDelta(index, final.text or ""))
                    if final.signature:
                        self._signature(out, ReasoningSignatureDelta(index, signature=final.signature, source=PROTOCOL))
            _restore({}, final.extensions, self.losses, path)
            return
        if final.signature or final.encrypted_content:
            self._foreign_token(index, final.source)
        if not item.streamed:
            if final.text:
                self._reasoning(out, ReasoningDelta(index, final.text))
            for k, summary in enumerate(final.summary):
                self._reasoning(out, ReasoningDelta(index, summary, kind="summary", summary_index=k))
        _restore({}, final.extensions, self.losses, path)

    def _finish_opaque(self, out: List[bytes], item: _Item, final: OpaquePart, path: str) -> None:
        data = final.data
        if final.source != PROTOCOL or set(data) != {"start", "deltas"}:
            kind = data.get("type", "item")
            self.losses.add("L-OPAQUE", path, f"{final.source} item {kind!r} cannot be streamed to {PROTOCOL}")
            return
        block = self._block(item)
        if data["start"]:
            out.append(format_event("contentBlockStart", {"contentBlockIndex": block, "start": data["start"]}))
        for delta in data["deltas"] or []:
            out.append(format_event("contentBlockDelta", {"contentBlockIndex": block, "delta": delta}))

    def _check_arguments(self, item: _Item, path: str) -> None:
        text = "".join(item.arguments)
        if text.strip() and not parse_arguments(text)[1]:
            self._invalid_arguments.append(f"{path}.arguments")

    def _complete(self, out: List[bytes], event: ResponseCompleted) -> None:
        for index in sorted(self._items):
            item = self._items[index]
            if item.kind == "tool_call" and not item.finished:
                self._check_arguments(item, f"output[{index}]")
            self._stop_block(out, item)
        if event.stop_reason != "max_tokens":
            for path in self._invalid_arguments:
                self.losses.add(
                    "L-TOOL-ARGS-INVALID-JSON",
                    path,
                    f"tool call arguments are not JSON, which {PROTOCOL} clients parse",
                )
        usage = event.usage if event.usage is not None else self._usage
        own = dict((usage.extensions.get(PROTOCOL) if usage is not None else None) or {})
        stop: Obj = {"stopReason": encode_stop_reason(event.stop_reason, event.raw_stop_reason, self.losses)}
        fields = own.get("additionalModelResponseFields")
        if event.stop_sequence is not None:
            fields = {**(fields if isinstance(fields, dict) else {}), "stop_sequence": event.stop_sequence}
        if fields is not None:
            stop["additionalModelResponseFields"] = fields
        out.append(format_event("messageStop", stop))
        metadata: Obj = {"usage": encode_usage(usage, self.losses)}
        metadata["metrics"] = own.get("metrics", dict(DEFAULT_LATENCY))
        for key in ("trace", "performanceConfig", "serviceTier"):
            if key in own:
                metadata[key] = own[key]
        out.append(format_event("metadata", metadata))
        self._done = True


def _kind_of(item: OutputItem) -> str:
    if isinstance(item, ToolCallPart):
        return "tool_call"
    if isinstance(item, ReasoningPart):
        return "reasoning"
    if isinstance(item, OpaquePart):
        return "opaque"
    return "message"


__all__ = [
    "CONTENT_TYPE",
    "PROTOCOL",
    "StreamDecoder",
    "StreamEncoder",
    "event_parser",
    "format_event",
    "format_exception",
]
