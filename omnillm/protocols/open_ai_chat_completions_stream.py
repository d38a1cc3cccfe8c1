"""Streaming codec for OpenAI Chat Completions (``stream: true``): SSE events <-> canonical stream events.

Wire shape (openai-python 3.54 ``ChatCompletionChunk`` and ``lib/streaming/chat``): one
``data: <chat.completion.chunk JSON>`` event per chunk, no event names, ``data: [DONE]`` at
the end. The first chunk carries ``delta.role``; then ``content`` / ``refusal`` fragments and
``tool_calls`` fragments keyed by ``index`` (``id``, ``type`` and ``function.name`` only in an
index's first fragment; parallel calls interleave); then a chunk with ``finish_reason``; then,
when the request set ``stream_options.include_usage``, a chunk with ``choices: []`` and the
``usage``. A data object with a truthy top-level ``error`` reports a failure after the 200.

Decoding:

* Output items are numbered in order of first appearance: the reasoning text
  (``reasoning_content`` or ``reasoning`` deltas from compatible servers; when a server sends
  both, ``reasoning_content`` wins, as in the non-streaming codec), the message (text and
  refusal; opened by the first non-empty fragment, so the empty ``content: ""`` of the role
  chunk opens nothing), and one item per ``tool_calls`` index. The legacy ``function_call``
  delta becomes a tool call with the synthetic id ``function_call_0`` (as the non-streaming
  codec does). A tool call whose ``type`` is not ``function`` (``custom``) is merged
  fragment by fragment and delivered whole as an `OpaquePart` in its `OutputItemDone`.
* The choice's ``finish_reason`` closes every open item (`OutputItemDone`): reasoning with
  its final `ReasoningPart` (``source`` set to this protocol, as the non-streaming codec
  does), the message with its final form only when it has fields beyond text and refusal
  (``audio``, ``annotations``: merged and kept in ``extensions``). Fragments for choice 0
  after its finish open new items rather than being dropped.
* `ResponseCompleted` is emitted at ``[DONE]``: only then is it known that no usage chunk
  follows. Usage (any chunk with a non-null ``usage``) gives a `UsageUpdate` at once.
* ``n > 1``: only choice 0 is decoded into canonical events; chunks for other choices are
  checked to be objects with an integer ``index`` and otherwise ignored (the canonical
  stream has no slot for extra candidates).
* Chunks with ``choices: []`` and no usage (Azure's ``prompt_filter_results`` preamble,
  whose ``id`` and ``model`` are empty) give no events; `ResponseStarted` comes from the
  first chunk with choices or usage. Empty data events are ignored.

Error paths name the event by its 0-based position among all SSE events fed to the decoder
(``[DONE]`` included) followed by the JSON path inside its data:
``event[3].choices[0].delta.tool_calls[1].index``, ``event[7].usage.prompt_tokens``.

Encoding produces what the API sends: a role chunk first (``content: ""`` when text comes
first, ``content: null`` when a tool call does), one chunk per delta, a tool call's first
fragment with ``id``, ``type``, ``function.name`` and ``arguments: ""`` followed by the
argument fragments, the finish chunk with the mapped ``finish_reason``, the usage chunk
(``choices: []``) when usage is known and the request did not leave
``stream_options.include_usage`` off (``StreamEncoder(include_usage=False)``), and
``data: [DONE]`` from `StreamEncoder.finish` (only after a `ResponseCompleted`: a stream
that was cut or failed must not look complete).
Every chunk carries the same ``id``, ``created`` and ``model``; chunk JSON is compact
(``","`` and ``":"`` separators), as the API writes it.

Reasoning: standard Chat has no reasoning field, but compatible servers stream it as
``reasoning_content`` and clients of those servers read it there, while the official SDK
keeps unknown delta fields without acting on them. The encoder therefore writes reasoning
text as ``reasoning_content`` fragments, as they arrive (a stream encoder cannot wait for
an item's end to learn where its reasoning came from). This keeps Chat -> Chat stream round
trips whole and costs official clients nothing. What it cannot carry is reported:
summaries (emitted as ``reasoning_content``, entries separated by a blank line) with
L-REASONING-SUMMARY, signatures and encrypted content with L-REASONING-OPAQUE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set

from ..errors import DecodeError, EncodeError
from ..model import (
    Message,
    OpaquePart,
    OutputItem,
    Part,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    Usage,
)
from ..report import LossLog
from ..sse import SSEEvent, format_done, format_event
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
    dumps,
    first_or_absent,
    index,
    join,
    keep_fragment,
    restore_extensions,
    sole_object,
    with_extension,
)
from .open_ai_chat_completions import _decode_usage, _encode_usage, _finish_reason, _stop_reason

PROTOCOL = "open_ai_chat_completions"

_R = Reader(PROTOCOL)

# Delta fields with a canonical meaning; any other non-null field is kept on the message.
_DELTA_KEYS = frozenset({"role", "content", "refusal", "tool_calls", "function_call", "reasoning_content", "reasoning"})
_LEGACY_CALL = -1  # key of the legacy ``function_call`` among the wire tool-call indices


def _merge(acc: Obj, fragment: Obj) -> None:
    """Fold one delta fragment into ``acc``: strings concatenate, objects merge, the rest replaces."""
    for key, value in fragment.items():
        if value is None:
            continue
        old = acc.get(key)
        if isinstance(old, str) and isinstance(value, str):
            acc[key] = old + value
        elif isinstance(old, dict) and isinstance(value, dict):
            _merge(old, value)
        elif isinstance(value, dict):
            acc[key] = {}
            _merge(acc[key], value)
        else:
            acc[key] = value


# --------------------------------------------------------------------------- decoder


@dataclass
class _Item:
    """An open output item of choice 0 and what its `OutputItemDone` needs."""

    kind: str  # message | reasoning | tool_call | opaque
    index: int
    texts: List[str] = field(default_factory=list)
    refusals: List[str] = field(default_factory=list)
    extra: Obj = field(default_factory=dict)


class StreamDecoder:
    """Chat Completions SSE events in, canonical stream events out, one event at a time.

    ``lean``: close items with lean final forms (see `OutputItemDone`), holding no
    streamed text.
    """

    def __init__(self, *, lean: bool = False) -> None:
        self.terminated = False
        self._lean = lean
        self._count = 0
        self._started = False
        self._next_index = 0
        self._items: Dict[int, _Item] = {}
        self._message: Optional[_Item] = None
        self._reasoning: Optional[_Item] = None
        self._calls: Dict[int, _Item] = {}
        self._refused = False
        self._finish: Optional[str] = None
        self._usage: Optional[Usage] = None

    def feed(self, event: SSEEvent) -> List[StreamEvent]:
        """Decode one SSE event; raises `DecodeError` on bad JSON or a bad shape."""
        count = self._count
        self._count = count + 1
        if self.terminated:
            return []  # e.g. a [DONE] after an error event
        data = event.data.strip()
        if not data:
            return []
        if data == "[DONE]":
            return self._done()
        try:
            raw = WIRE_JSON.decode(data)
        except RecursionError:
            raise DecodeError(PROTOCOL, f"event[{count}]", "invalid JSON: nested too deeply to parse") from None
        except ValueError as exc:
            raise DecodeError(PROTOCOL, f"event[{count}]", f"invalid JSON: {exc}") from None
        text = self._text_only(raw)
        if text is not None:
            return [text]
        path = f"event[{count}]"
        chunk = _R.obj(raw, path)
        if chunk.get("error"):
            self.terminated = True
            return [_error_event(chunk["error"], join(path, "error"))]
        out: List[StreamEvent] = []
        choices = _R.opt_arr(chunk, "choices", path) or []
        usage = _R.opt_obj(chunk, "usage", path)
        if not self._started and (choices or usage is not None):
            out.append(self._start(chunk, path))
        where = join(path, "choices")
        for i, raw_choice in enumerate(choices):
            cpath = index(where, i)
            choice = _R.obj(raw_choice, cpath)
            position = _R.opt_int(choice, "index", cpath)
            if position is None or position == 0:
                self._choice(choice, cpath, out)
        if usage is not None:
            self._usage = _decode_usage(usage, join(path, "usage"))
            out.append(UsageUpdate(self._usage))
        return out

    def _text_only(self, chunk: Any) -> Optional[TextDelta]:
        """The `TextDelta` of a chunk that is one more text fragment of choice 0's open message.

        Most chunks of a stream are exactly that. This recognises them with a few type
        checks, without the field paths the general decoding builds for its error
        messages, and folds them the way that decoding would; anything else (another
        field with a value, a finish reason, usage, an error, several choices, a wrong
        type anywhere) returns None and takes the general path, which decodes it or
        names what is wrong with it.
        """
        message = self._message
        if message is None or type(chunk) is not dict or chunk.get("usage") is not None or chunk.get("error"):
            return None
        choice = sole_object(chunk.get("choices"))
        if choice is None or choice.get("finish_reason") is not None or not first_or_absent(choice.get("index")):
            return None
        delta = choice.get("delta")
        if type(delta) is not dict:
            return None
        content = delta.get("content")
        if type(content) is not str or not content:
            return None
        for key, value in delta.items():
            if value is not None and key != "content" and key != "role":
                return None
        keep_fragment(message.texts, content, self._lean)
        return TextDelta(message.index, content)

    def finish(self) -> List[StreamEvent]:
        """End of input: nothing more to emit; ``terminated`` stays False without ``[DONE]``."""
        return []

    # -- chunk parts

    def _start(self, chunk: Obj, path: str) -> ResponseStarted:
        self._started = True
        return ResponseStarted(
            id=_R.opt_str(chunk, "id", path) or "",
            model=_R.opt_str(chunk, "model", path) or "",
            created=_R.opt_int(chunk, "created", path),
        )

    def _open(self, kind: str, out: List[StreamEvent]) -> _Item:
        item = _Item(kind, self._next_index)
        self._next_index += 1
        self._items[item.index] = item
        if kind in ("message", "reasoning"):
            out.append(OutputItemAdded(item.index, kind))
        return item

    def _choice(self, choice: Obj, path: str, out: List[StreamEvent]) -> None:
        delta = _R.opt_obj(choice, "delta", path)
        if delta is not None:
            self._delta(delta, join(path, "delta"), out)
        finish = _R.opt_str(choice, "finish_reason", path)
        if finish is not None:
            self._finish = finish
            self._close(out)

    def _delta(self, delta: Obj, path: str, out: List[StreamEvent]) -> None:
        reasoning = _R.opt_str(delta, "reasoning_content", path)
        if reasoning is None:
            reasoning = _R.opt_str(delta, "reasoning", path)
        if reasoning:
            if self._reasoning is None:
                self._reasoning = self._open("reasoning", out)
            keep_fragment(self._reasoning.texts, reasoning, self._lean)
            out.append(ReasoningDelta(self._reasoning.index, reasoning))
        content = _R.opt_str(delta, "content", path)
        if content:
            message = self._message_item(out)
            keep_fragment(message.texts, content, self._lean)
            out.append(TextDelta(message.index, content))
        refusal = _R.opt_str(delta, "refusal", path)
        if refusal:
            self._refused = True
            message = self._message_item(out)
            keep_fragment(message.refusals, refusal, self._lean)
            out.append(RefusalDelta(message.index, refusal))
        calls = _R.opt_arr(delta, "tool_calls", path)
        if calls:
            where = join(path, "tool_calls")
            for i, raw_call in enumerate(calls):
                self._tool_call(raw_call, i, index(where, i), out)
        legacy = _R.opt_obj(delta, "function_call", path)
        if legacy is not None:
            self._function_call(legacy, join(path, "function_call"), out)
        extra = {k: v for k, v in delta.items() if k not in _DELTA_KEYS and v is not None}
        if extra:
            _merge(self._message_item(out).extra, extra)

    def _message_item(self, out: List[StreamEvent]) -> _Item:
        if self._message is None:
            self._message = self._open("message", out)
        return self._message

    def _tool_call(self, raw: Any, position: int, path: str, out: List[StreamEvent]) -> None:
        call = _R.obj(raw, path)
        wire_index = _R.opt_int(call, "index", path)
        if wire_index is None:
            wire_index = position  # some compatible servers omit it; the array position is the index
        item = self._calls.get(wire_index)
        kind = _R.opt_str(call, "type", path)
        if item is None:
            if kind is not None and kind != "function":
                item = self._open("opaque", out)
                self._calls[wire_index] = item
            else:
                where = join(path, "function")
                fn = _R.req_obj(call, "function", path)
                call_id = _R.opt_str(call, "id", path)
                item = self._open("tool_call", out)
                self._calls[wire_index] = item
                out.append(
                    ToolCallStarted(
                        item.index,
                        call_id or f"call_{wire_index}",
                        _R.req_str(fn, "name", where),
                        synthetic_id=not call_id,
                    )
                )
        if item.kind == "opaque":
            _merge(item.extra, {k: v for k, v in call.items() if k != "index"})
            return
        fn_delta = _R.opt_obj(call, "function", path)
        if fn_delta is not None:
            arguments = _R.opt_str(fn_delta, "arguments", join(path, "function"))
            if arguments:
                out.append(ToolCallArgumentsDelta(item.index, arguments))

    def _function_call(self, fc: Obj, path: str, out: List[StreamEvent]) -> None:
        item = self._calls.get(_LEGACY_CALL)
        if item is None:
            item = self._open("tool_call", out)
            self._calls[_LEGACY_CALL] = item
            out.append(ToolCallStarted(item.index, "function_call_0", _R.req_str(fc, "name", path), synthetic_id=True))
        arguments = _R.opt_str(fc, "arguments", path)
        if arguments:
            out.append(ToolCallArgumentsDelta(item.index, arguments))

    def _close(self, out: List[StreamEvent]) -> None:
        """The choice finished: close its open items, in index order."""
        for i in sorted(self._items):
            item = self._items[i]
            final: Optional[OutputItem] = None
            if item.kind == "reasoning":
                final = ReasoningPart(text="".join(item.texts), source=PROTOCOL)
            elif item.kind == "opaque":
                final = OpaquePart(PROTOCOL, item.extra)
            elif item.kind == "message" and item.extra:
                parts: List[Part] = []
                if item.texts:
                    parts.append(TextPart("".join(item.texts)))
                if item.refusals:
                    parts.append(RefusalPart("".join(item.refusals)))
                final = Message("assistant", parts, extensions=with_extension(PROTOCOL, item.extra))
            out.append(OutputItemDone(i, final, lean=self._lean and final is not None and item.kind != "opaque"))
        self._items = {}
        self._message = self._reasoning = None
        self._calls = {}

    def _done(self) -> List[StreamEvent]:
        self.terminated = True
        out: List[StreamEvent] = []
        if not self._started:
            self._started = True
            out.append(ResponseStarted(id="", model=""))
        self._close(out)
        out.append(
            ResponseCompleted(
                stop_reason=_stop_reason(self._finish, self._refused),
                raw_stop_reason=self._finish,
                usage=self._usage,
            )
        )
        return out


def _error_event(value: Any, path: str) -> ErrorEvent:
    """The canonical form of a mid-stream ``{"error": ...}`` payload."""
    if not isinstance(value, dict):
        return ErrorEvent(message=value if isinstance(value, str) else "An error occurred during streaming")
    message = _R.opt_str(value, "message", path) or "An error occurred during streaming"
    kind = _R.opt_str(value, "type", path)
    code = value.get("code")
    status = None
    # vLLM and similar servers put the HTTP status in ``code``.
    if isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599:
        status = code
    return ErrorEvent(
        message=message,
        type=kind,
        code=None if code is None else str(code),
        status=status,
    )


# --------------------------------------------------------------------------- encoder


class StreamEncoder:
    """Canonical stream events in, Chat Completions SSE text out, one event at a time."""

    def __init__(self, losses: Optional[LossLog] = None, *, include_usage: Optional[bool] = None) -> None:
        """``include_usage`` is the request's ``stream_options.include_usage`` when known.

        False: no usage chunk, as the API sends none then. None (request unknown, as in
        a transcoding proxy): the usage chunk is sent whenever usage is known.
        """
        self.losses = losses if losses is not None else LossLog(PROTOCOL)
        self._include_usage = include_usage
        self._head: Optional[Obj] = None
        self._role_sent = False
        self._ended = False  # ResponseCompleted or ErrorEvent seen
        self._completed = False
        self._streamed: Set[int] = set()  # canonical indices whose content went out as deltas
        self._tool_index: Dict[int, int] = {}  # canonical index -> wire tool_calls index
        self._summary_at: Dict[int, int] = {}  # canonical index -> last summary_index written
        self._reported: Set[str] = set()
        self._refused = False
        self._usage: Optional[Usage] = None

    def encode(self, event: StreamEvent) -> List[str]:
        """Encode one canonical event (possibly as nothing, when Chat has no wire event for it)."""
        if self._ended:
            raise EncodeError(PROTOCOL, "", f"{type(event).__name__} after the end of the stream")
        if isinstance(event, ResponseStarted):
            if self._head is not None:
                raise EncodeError(PROTOCOL, "", "a second ResponseStarted")
            self._head = {
                "id": event.id or "chatcmpl-omnillm",
                "object": "chat.completion.chunk",
                "created": event.created if event.created is not None else 0,
                "model": event.model,
            }
            return []
        if isinstance(event, ErrorEvent):
            self._ended = True
            error: Obj = {"message": event.message, "type": event.type, "param": None, "code": event.code}
            return [format_event(dumps({"error": error}, PROTOCOL))]
        out: List[str] = []
        if isinstance(event, TextDelta):
            self._streamed.add(event.index)
            if event.text:
                self._role(out, "message")
                out.append(self._chunk({"content": event.text}))
        elif isinstance(event, RefusalDelta):
            self._streamed.add(event.index)
            if event.text:
                self._refused = True
                self._role(out, "message")
                out.append(self._chunk({"refusal": event.text}))
        elif isinstance(event, ReasoningDelta):
            self._streamed.add(event.index)
            self._reasoning_text(event.index, event.text, event.kind, event.summary_index, out)
        elif isinstance(event, ReasoningSignatureDelta):
            if event.signature or event.encrypted_content:
                self._opaque_reasoning(event.index, event.source)
        elif isinstance(event, ToolCallStarted):
            self._streamed.add(event.index)
            self._start_call(event.index, event.id, event.name, event.synthetic_id, out)
        elif isinstance(event, ToolCallArgumentsDelta):
            wire = self._tool_index.get(event.index)
            if wire is None:
                raise EncodeError(PROTOCOL, f"output[{event.index}]", "arguments delta before ToolCallStarted")
            if event.delta:
                out.append(self._chunk({"tool_calls": [{"index": wire, "function": {"arguments": event.delta}}]}))
        elif isinstance(event, OutputItemAdded):
            self._role(out, event.kind)
        elif isinstance(event, OutputItemDone):
            if event.item is not None:
                self._item_done(event.index, event.item, out)
        elif isinstance(event, UsageUpdate):
            self._usage = event.usage
        elif isinstance(event, ResponseCompleted):
            self._complete(event, out)
        return out

    def finish(self) -> List[str]:
        """End of stream: ``data: [DONE]`` after a completed response, nothing otherwise."""
        if self._completed:
            self._completed = False
            return [format_done()]
        return []

    # -- chunks

    def _chunk(self, delta: Obj, finish: Optional[str] = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return format_event(dumps({**self._chunk_head(), "choices": [choice]}, PROTOCOL))

    def _chunk_head(self) -> Obj:
        # Events without a ResponseStarted first still get a well-formed chunk.
        if self._head is None:
            self._head = {"id": "chatcmpl-omnillm", "object": "chat.completion.chunk", "created": 0, "model": ""}
        return self._head

    def _role(self, out: List[str], first: str) -> None:
        """The role chunk, shaped as OpenAI sends it for what comes first."""
        if self._role_sent:
            return
        self._role_sent = True
        if first == "tool_call":
            out.append(self._chunk({"role": "assistant", "content": None}))
        elif first == "message":
            out.append(self._chunk({"role": "assistant", "content": "", "refusal": None}))
        else:
            out.append(self._chunk({"role": "assistant", "content": ""}))

    def _loss_once(self, key: str, code: str, path: str, detail: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self.losses.add(code, path, detail)

    # -- items

    def _reasoning_text(self, at: int, text: str, kind: str, summary_index: int, out: List[str]) -> None:
        if kind == "summary":
            self._loss_once(
                f"summary:{at}",
                "L-REASONING-SUMMARY",
                f"output[{at}]",
                "reasoning summary sent as reasoning_content text in open_ai_chat_completions;"
                " its summary entries are joined with blank lines",
            )
            last = self._summary_at.get(at)
            if last is not None and last != summary_index:
                text = "\n\n" + text
            self._summary_at[at] = summary_index
        if text:
            self._role(out, "reasoning")
            out.append(self._chunk({"reasoning_content": text}))

    def _opaque_reasoning(self, at: int, source: Optional[str]) -> None:
        self._loss_once(
            f"opaque:{at}",
            "L-REASONING-OPAQUE",
            f"output[{at}]",
            f"reasoning signature from {source or 'another protocol'} has no place in open_ai_chat_completions",
        )

    def _start_call(self, at: int, call_id: str, name: str, synthetic: bool, out: List[str]) -> int:
        if at in self._tool_index:
            raise EncodeError(PROTOCOL, f"output[{at}]", "a second ToolCallStarted for the same index")
        if synthetic or not call_id:
            self._loss_once(
                f"id:{at}",
                "L-TOOL-ID-SYNTH",
                f"output[{at}]",
                "tool call id was synthesised; open_ai_chat_completions sends it as a real id",
            )
        wire = len(self._tool_index)
        self._tool_index[at] = wire
        self._role(out, "tool_call")
        call = {
            "index": wire,
            "id": call_id or f"call_{wire}",
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        out.append(self._chunk({"tool_calls": [call]}))
        return wire

    def _item_done(self, at: int, item: OutputItem, out: List[str]) -> None:
        """An item's final form: write what was not streamed, report what Chat cannot carry."""
        path = f"output[{at}]"
        streamed = at in self._streamed
        self._streamed.add(at)
        if isinstance(item, Message):
            if not streamed:
                for part in item.content:
                    if isinstance(part, TextPart) and part.text:
                        self._role(out, "message")
                        out.append(self._chunk({"content": part.text}))
                    elif isinstance(part, RefusalPart) and part.text:
                        self._refused = True
                        self._role(out, "message")
                        out.append(self._chunk({"refusal": part.text}))
            extra: Obj = {}
            restore_extensions(extra, item.extensions, PROTOCOL, self.losses, path)
            extra = {k: v for k, v in extra.items() if k not in _DELTA_KEYS}
            if extra:
                self._role(out, "message")
                out.append(self._chunk(extra))
        elif isinstance(item, ToolCallPart):
            if not streamed:
                wire = self._start_call(at, item.id, item.name, item.synthetic_id, out)
                if item.arguments:
                    out.append(
                        self._chunk({"tool_calls": [{"index": wire, "function": {"arguments": item.arguments}}]})
                    )
        elif isinstance(item, ReasoningPart):
            if not streamed:
                if item.text:
                    self._reasoning_text(at, item.text, "text", 0, out)
                for k, summary in enumerate(item.summary):
                    self._reasoning_text(at, summary, "summary", k, out)
            if item.signature or item.encrypted_content or item.redacted:
                self._opaque_reasoning(at, item.source)
        elif item.source == PROTOCOL and "type" in item.data:
            # This protocol's own non-function tool call (custom), written back whole.
            wire = len(self._tool_index)
            self._tool_index[at] = wire
            self._role(out, "tool_call")
            out.append(self._chunk({"tool_calls": [{"index": wire, **item.data}]}))
        else:
            kind = item.data.get("type", "item")
            self.losses.add("L-OPAQUE", path, f"{item.source} item {kind!r} has no equivalent in {PROTOCOL}")

    def _complete(self, event: ResponseCompleted, out: List[str]) -> None:
        self._ended = self._completed = True
        self._role(out, "message")
        finish = _finish_reason(event.stop_reason, event.raw_stop_reason, self._refused, self.losses, "stop_reason")
        if event.stop_sequence is not None and event.stop_reason != "stop_sequence":
            self.losses.add("L-FINISH-STOPSEQ", "stop_sequence", f"{PROTOCOL} cannot say which stop sequence matched")
        out.append(self._chunk({}, finish))
        usage = event.usage if event.usage is not None else self._usage
        if usage is not None and self._include_usage is not False:
            body = {**self._chunk_head(), "choices": [], "usage": _encode_usage(usage, self.losses)}
            out.append(format_event(dumps(body, PROTOCOL)))
