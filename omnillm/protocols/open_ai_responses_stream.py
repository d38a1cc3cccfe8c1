"""Streaming codec for OpenAI Responses (``"stream": true``): SSE events <-> canonical stream events.

Wire shape (openai-python 3.54 ``ResponseStreamEvent`` and ``lib/streaming/responses``):
every event is ``event: <type>`` plus JSON data repeating ``type`` and carrying a
``sequence_number``. ``response.created`` / ``response.in_progress`` hold the response
object (``status: in_progress``); each output item is opened by
``response.output_item.added`` (``output_index``, ``item``), filled by deltas that name it
by ``output_index`` and ``item_id`` (text and refusal content parts also by
``content_index``, reasoning summaries by ``summary_index``) and closed by
``response.output_item.done``, whose item is authoritative (full arguments, the final
``encrypted_content`` of reasoning). Exactly one terminal event ends the stream:
``response.completed``, ``response.incomplete`` or ``response.failed`` (the full response
with ``usage``), or an ``error`` event.

Decoding: one canonical item per wire output item, numbered in the order items open
(``message`` -> an assistant `Message`, ``function_call`` -> a tool call, ``reasoning`` ->
reasoning, any other item type -> an `OpaquePart` delivered by its `OutputItemDone`).
Items close with an `OutputItemDone` carrying the decoded final item; text the deltas
left out (a server that sends only ``.done`` events) is emitted as a last delta first, so
the deltas alone are complete. Stop reason and usage come from the terminal event's
response: ``completed`` -> ``end_turn`` (``tool_use`` with a function or custom tool call
item, ``refusal`` with a refusal part), ``incomplete`` + ``max_output_tokens`` ->
``max_tokens``, + ``content_filter`` -> ``content_filter``; ``raw_stop_reason`` is the
status or ``incomplete:<reason>``. ``response.failed`` is no completion: open items stay
open (partial), usage is reported, then an `ErrorEvent` (the response's ``error`` message
and code, ``type`` ``response.failed``), which the drivers raise as `ProviderStreamError`;
the encoder writes such an error back as ``response.failed``. An ``error`` event (flat, as
the SDK types it, or with a nested ``error`` object, as the API has been recorded
sending) becomes an `ErrorEvent`. ``sequence_number`` is type-checked but gaps are
tolerated (recorded streams have them).

Error paths name the event by its 0-based position among all SSE events fed to the
decoder, followed by the JSON path inside its data: ``event[4].delta``,
``event[3].item.call_id``, ``event[9].response.usage.input_tokens``.

Encoding produces what the API sends and what ``client.responses.stream()`` accumulates:
``response.created`` and ``response.in_progress`` first, items with ``output_index``
0..n in the order they open (text and refusal content parts opened and closed with
``content_part.added``/``.done`` and ``output_text.done``/``refusal.done``; reasoning
summaries with ``reasoning_summary_part.added``/``.done``; reasoning text as
``reasoning_text`` content parts), ``output_item.done`` with the complete item, and a
terminal event embedding a full Response object (echo fields filled with neutral
defaults). Item ids missing from the canonical events are derived deterministically:
``msg_<output_index>``, ``fc_<call id>``, ``rs_<output_index>``. The terminal event must
list every output item, so the encoder keeps each finished item's final form until the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

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
    restore_streamed,
)
from ._common import WIRE_JSON, Obj, Reader, dumps, extras, note_finer_stop, restore_extensions, with_extension
from .open_ai_responses import decode_output_item, restore_fields, split_item_fields

PROTOCOL = "open_ai_responses"

_R = Reader(PROTOCOL)

#: SSE events being written: their text, or their payloads while encoding lazily.
Frames = List[Any]

# --------------------------------------------------------------------------- shared tables

_LIFECYCLE = frozenset({"response.created", "response.in_progress", "response.queued"})
_TERMINAL = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}
# Items whose presence makes a completed response a tool-use stop (mapping tables 3.2).
_TOOL_ITEM_TYPES = frozenset({"function_call", "custom_tool_call"})

_INCOMPLETE_STOP = {"max_output_tokens": "max_tokens", "content_filter": "content_filter"}
_INCOMPLETE_REASONS = frozenset({"max_output_tokens", "max_messages", "content_filter", "steered"})

# Error codes the API uses in stream error events, and the HTTP status each stands for.
_ERROR_STATUS = {
    "server_error": 500,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "invalid_request_error": 400,
    "invalid_prompt": 400,
    "context_length_exceeded": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "overloaded_error": 503,
}
_CODE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_exceeded",
}

_USAGE_KEYS = frozenset(
    {"input_tokens", "output_tokens", "total_tokens", "input_tokens_details", "output_tokens_details"}
)
_INPUT_DETAIL_KEYS = frozenset({"cached_tokens", "cache_write_tokens"})
_OUTPUT_DETAIL_KEYS = frozenset({"reasoning_tokens"})


def _dumps(value: Any) -> str:
    return dumps(value, PROTOCOL)


def _usage_from_wire(u: Obj, path: str) -> Usage:
    """Canonical usage from a Responses usage object (already OpenAI semantics)."""
    in_details = _R.opt_obj(u, "input_tokens_details", path) or {}
    out_details = _R.opt_obj(u, "output_tokens_details", path) or {}
    in_path, out_path = f"{path}.input_tokens_details", f"{path}.output_tokens_details"
    ext = extras(u, _USAGE_KEYS)
    in_extra = extras(in_details, _INPUT_DETAIL_KEYS)
    if in_extra:
        ext["input_tokens_details"] = in_extra
    out_extra = extras(out_details, _OUTPUT_DETAIL_KEYS)
    if out_extra:
        ext["output_tokens_details"] = out_extra
    return Usage(
        input_tokens=_R.opt_int(u, "input_tokens", path) or 0,
        output_tokens=_R.opt_int(u, "output_tokens", path) or 0,
        total_tokens=_R.opt_int(u, "total_tokens", path),
        cached_input_tokens=_R.opt_int(in_details, "cached_tokens", in_path),
        cache_creation_input_tokens=_R.opt_int(in_details, "cache_write_tokens", in_path),
        reasoning_tokens=_R.opt_int(out_details, "reasoning_tokens", out_path),
        extensions=with_extension(PROTOCOL, ext),
    )


def _usage_to_wire(usage: Usage, losses: LossLog) -> Obj:
    """A Responses usage object; the SDK requires every detail count, so unknown ones are 0."""
    out: Obj = {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_input_tokens or 0,
            "cache_write_tokens": usage.cache_creation_input_tokens or 0,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
        "total_tokens": usage.total,
    }
    ours = dict(usage.extensions.get(PROTOCOL, {}))
    for key in ("input_tokens_details", "output_tokens_details"):
        sub = ours.pop(key, None)
        if isinstance(sub, dict):
            for k, v in sub.items():
                out[key].setdefault(k, v)
    others = {p: f for p, f in usage.extensions.items() if p != PROTOCOL}
    restore_extensions(out, {PROTOCOL: ours, **others}, PROTOCOL, losses, "usage")
    return out


def _stop_from_wire(status: str, reason: Optional[str], tool: bool, refusal: bool) -> Tuple[str, str]:
    """(canonical stop reason, raw stop reason) for a terminal response status."""
    if status == "completed":
        return ("tool_use" if tool else "refusal" if refusal else "end_turn"), status
    if status == "incomplete":
        raw = f"incomplete:{reason}" if reason else "incomplete"
        return _INCOMPLETE_STOP.get(reason or "", "other"), raw
    if status == "failed":
        return "error", status
    return "other", status


# --------------------------------------------------------------------------- item decoding


def _decode_item(item: Obj, path: str) -> OutputItem:
    # The non-streaming codec's own item decoding, so that a streamed item accumulates to
    # exactly what `open_ai_responses.decode_response` gives for the same item.
    return decode_output_item(item, path)


# --------------------------------------------------------------------------- decoder


@dataclass
class _Open:
    """A wire output item being received: its kind, canonical index and the text streamed so far."""

    kind: str  # message | tool_call | reasoning | opaque
    index: int
    item_id: Optional[str]
    content: Dict[int, List[str]] = field(default_factory=dict)  # content_index -> fragments
    content_kind: Dict[int, str] = field(default_factory=dict)  # content_index -> output_text | refusal | ...
    summary: Dict[int, List[str]] = field(default_factory=dict)
    arguments: List[str] = field(default_factory=list)
    closed: bool = False


_ITEM_KINDS = {"message": "message", "function_call": "tool_call", "reasoning": "reasoning"}


class StreamDecoder:
    """OpenAI Responses SSE events in, canonical stream events out, one event at a time.

    ``lean`` is accepted for symmetry with the other decoders and changes nothing: this
    protocol's own ``.done`` events repeat each item whole, so its final forms cost no
    more than the events that carry them.
    """

    def __init__(self, *, lean: bool = False) -> None:
        self.terminated = False
        self._count = 0
        self._started = False
        self._items: Dict[int, _Open] = {}  # output_index -> item
        self._by_id: Dict[str, int] = {}  # item id -> output_index
        self._next_index = 0
        self._tool = False
        self._refusal = False
        self._handlers: Dict[str, Callable[[Obj, str], List[StreamEvent]]] = {
            "response.output_item.added": self._item_added,
            "response.output_item.done": self._item_done,
            "response.content_part.added": self._part_added,
            "response.output_text.delta": self._text_delta,
            "response.output_text.done": self._text_done,
            "response.refusal.delta": self._refusal_delta,
            "response.refusal.done": self._refusal_done,
            "response.function_call_arguments.delta": self._arguments_delta,
            "response.function_call_arguments.done": self._arguments_done,
            "response.reasoning_summary_part.added": self._summary_part_added,
            "response.reasoning_summary_text.delta": self._summary_delta,
            "response.reasoning_summary_text.done": self._summary_done,
            "response.reasoning_text.delta": self._reasoning_text_delta,
            "response.reasoning_text.done": self._reasoning_text_done,
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
        _R.opt_int(payload, "sequence_number", path)
        if kind == "error":
            return self._error(payload, path)
        if kind in _LIFECYCLE:
            return self._lifecycle(payload, path)
        status = _TERMINAL.get(kind)
        handler = self._handlers.get(kind)
        if status is None and handler is None:
            return []  # hosted-tool progress, annotations, audio and newer event types
        if not self._started:
            raise _R.fail(f"{path}.type", f"{kind} before response.created")
        if status is not None:
            return self._terminal(payload, path, status)
        assert handler is not None
        return handler(payload, path)

    def _text_only(self, payload: Any) -> Optional[TextDelta]:
        """The `TextDelta` of an ``output_text.delta`` to an open message, recognised without field paths.

        Most events of a stream are that; this checks their types directly and folds them
        as `_text_delta` would. Anything else (an item named by ``item_id`` only, a float
        index, an empty delta, a wrong type anywhere) returns None and takes the general
        path, which decodes it or names what is wrong with it.
        """
        if type(payload) is not dict or payload.get("type") != "response.output_text.delta" or not self._started:
            return None
        delta = payload.get("delta")
        output_index = payload.get("output_index")
        content_index = payload.get("content_index")
        sequence = payload.get("sequence_number")
        if type(delta) is not str or not delta or type(output_index) is not int:
            return None
        if (content_index is not None and type(content_index) is not int) or (
            sequence is not None and type(sequence) is not int
        ):
            return None
        state = self._items.get(output_index)
        if state is None or state.closed or state.kind != "message":
            return None
        state.content.setdefault(content_index or 0, []).append(delta)
        return TextDelta(state.index, delta)

    def finish(self) -> List[StreamEvent]:
        """End of input. Nothing is pending; `terminated` tells whether a terminal event arrived."""
        return []

    # ---------------------------------------------------------------- response level

    def _error(self, payload: Obj, path: str) -> List[StreamEvent]:
        nested = _R.opt_obj(payload, "error", path)
        where = f"{path}.error" if nested is not None else path
        body = nested if nested is not None else payload
        message = _R.opt_str(body, "message", where) or "the provider reported an error"
        code = _R.opt_str(body, "code", where)
        kind = _R.opt_str(body, "type", where) if nested is not None else None
        self.terminated = True
        status = _ERROR_STATUS.get(code or "") or _ERROR_STATUS.get(kind or "")
        return [ErrorEvent(message=message, type=kind, code=code, status=status)]

    def _lifecycle(self, payload: Obj, path: str) -> List[StreamEvent]:
        response = _R.req_obj(payload, "response", path)
        where = f"{path}.response"
        rid = _R.opt_str(response, "id", where) or ""
        model = _R.opt_str(response, "model", where) or ""
        created = _R.opt_num(response, "created_at", where)
        if self._started:
            return []
        self._started = True
        return [ResponseStarted(id=rid, model=model, created=int(created) if created is not None else None)]

    def _terminal(self, payload: Obj, path: str, default_status: str) -> List[StreamEvent]:
        response = _R.req_obj(payload, "response", path)
        where = f"{path}.response"
        status = _R.opt_str(response, "status", where) or default_status
        details = _R.opt_obj(response, "incomplete_details", where)
        reason = _R.opt_str(details, "reason", f"{where}.incomplete_details") if details is not None else None
        final_output = _R.opt_arr(response, "output", where) or []
        out: List[StreamEvent] = []
        for output_index in sorted(self._items):
            state = self._items[output_index]
            if state.closed or status == "failed":
                continue  # the items a failed response left open stay partial
            # An item the stream never closed: take its final form from the response when it has one.
            final: Optional[OutputItem] = None
            if output_index < len(final_output) and isinstance(final_output[output_index], dict):
                raw = final_output[output_index]
                final = _decode_item(raw, f"{where}.output[{output_index}]")
                self._note(raw)
            out.extend(self._close(state, final))
        for i, raw in enumerate(final_output):
            self._note(_R.obj(raw, f"{where}.output[{i}]"))
        usage: Optional[Usage] = None
        wire_usage = _R.opt_obj(response, "usage", where)
        if wire_usage is not None:
            usage = _usage_from_wire(wire_usage, f"{where}.usage")
            out.append(UsageUpdate(usage))
        self.terminated = True
        if status == "failed":
            # A failed response is an error, never a completion: the drivers raise it as a
            # ProviderStreamError after the items and usage above reached the accumulator.
            out.append(self._failure(response, where))
            return out
        stop, raw_stop = _stop_from_wire(status, reason, self._tool, self._refusal)
        out.append(ResponseCompleted(stop_reason=stop, raw_stop_reason=raw_stop, usage=usage))
        return out

    @staticmethod
    def _failure(response: Obj, where: str) -> ErrorEvent:
        """The `ErrorEvent` for a ``failed`` response, from its ``error`` object when present."""
        error = _R.opt_obj(response, "error", where) or {}
        at = f"{where}.error"
        message = _R.opt_str(error, "message", at) or "the response failed"
        code = _R.opt_str(error, "code", at)
        return ErrorEvent(message=message, type="response.failed", code=code, status=_ERROR_STATUS.get(code or ""))

    def _note(self, item: Obj) -> None:
        """Remember what decides the stop reason of a completed response: tool calls, refusals."""
        kind = item.get("type")
        if not isinstance(kind, str):
            return  # a malformed item says nothing about the stop reason (it is checked where decoded)
        if kind in _TOOL_ITEM_TYPES:
            self._tool = True
        elif kind == "message" and isinstance(item.get("content"), list):
            self._refusal = self._refusal or any(
                isinstance(p, dict) and p.get("type") == "refusal" for p in item["content"]
            )

    # ---------------------------------------------------------------- items

    def _item_added(self, payload: Obj, path: str) -> List[StreamEvent]:
        output_index = _R.req_int(payload, "output_index", path)
        if output_index in self._items:
            raise _R.fail(f"{path}.output_index", f"output index {output_index} was already added")
        item = _R.req_obj(payload, "item", path)
        where = f"{path}.item"
        kind = _R.req_str(item, "type", where)
        item_id = _R.opt_str(item, "id", where)
        state = _Open(_ITEM_KINDS.get(kind, "opaque"), self._next_index, item_id)
        self._next_index += 1
        self._items[output_index] = state
        if item_id is not None:
            self._by_id[item_id] = output_index
        self._note(item)
        if state.kind == "tool_call":
            call_id = _R.req_str(item, "call_id", where)
            name = _R.req_str(item, "name", where)
            out: List[StreamEvent] = [ToolCallStarted(state.index, call_id, name, item_id=item_id)]
            arguments = _R.opt_str(item, "arguments", where) or ""
            if arguments:
                state.arguments.append(arguments)
                out.append(ToolCallArgumentsDelta(state.index, arguments))
            return out
        if state.kind in ("message", "reasoning"):
            return [OutputItemAdded(state.index, state.kind, item_id=item_id)]
        return []  # hosted-tool and newer items: delivered whole by output_item.done

    def _item_done(self, payload: Obj, path: str) -> List[StreamEvent]:
        output_index = _R.req_int(payload, "output_index", path)
        item = _R.req_obj(payload, "item", path)
        where = f"{path}.item"
        final = _decode_item(item, where)
        self._note(item)
        state = self._items.get(output_index)
        if state is None:
            # Never announced by output_item.added: open and close it at once.
            out = self._item_added({"output_index": output_index, "item": item}, path)
            state = self._items[output_index]
        elif state.closed:
            raise _R.fail(f"{path}.output_index", f"output index {output_index} was already done")
        else:
            out = []
        out.extend(self._close(state, final))
        return out

    def _close(self, state: _Open, final: Optional[OutputItem]) -> List[StreamEvent]:
        """Close an item: first deltas for whatever only its final form holds, then `OutputItemDone`."""
        state.closed = True
        out: List[StreamEvent] = []
        i = state.index
        if isinstance(final, ToolCallPart) and state.kind == "tool_call":
            out.extend(ToolCallArgumentsDelta(i, t) for t in _rest(state.arguments, final.arguments))
        elif isinstance(final, Message) and state.kind == "message":
            for ci, part in enumerate(final.content):
                if isinstance(part, TextPart):
                    out.extend(TextDelta(i, t) for t in _rest(state.content.get(ci, []), part.text))
                elif isinstance(part, RefusalPart):
                    out.extend(RefusalDelta(i, t) for t in _rest(state.content.get(ci, []), part.text))
        elif isinstance(final, ReasoningPart) and state.kind == "reasoning":
            for si, text in enumerate(final.summary):
                out.extend(
                    ReasoningDelta(i, t, kind="summary", summary_index=si)
                    for t in _rest(state.summary.get(si, []), text)
                )
            if final.text:
                streamed = [t for ci in sorted(state.content) for t in state.content[ci]]
                out.extend(ReasoningDelta(i, t) for t in _rest(streamed, final.text))
        out.append(OutputItemDone(i, final))
        # Only the canonical index is needed from here on: drop the streamed text.
        state.content, state.summary, state.arguments = {}, {}, []
        return out

    def _target(self, payload: Obj, path: str, kind: Optional[str]) -> _Open:
        """The open item a content event names (by ``output_index``, else by ``item_id``)."""
        output_index = _R.opt_int(payload, "output_index", path)
        if output_index is None:
            item_id = _R.opt_str(payload, "item_id", path)
            if item_id is None or item_id not in self._by_id:
                raise _R.fail(f"{path}.output_index", "required field is missing")
            output_index = self._by_id[item_id]
        where = f"{path}.output_index"
        state = self._items.get(output_index)
        if state is None:
            raise _R.fail(where, f"no output item was added at output index {output_index}")
        if state.closed:
            raise _R.fail(where, f"output item {output_index} is already done")
        if kind is not None and state.kind != kind:
            raise _R.fail(where, f"output item {output_index} is a {state.kind} item, not a {kind} item")
        return state

    def _part_added(self, payload: Obj, path: str) -> List[StreamEvent]:
        state = self._target(payload, path, None)
        content_index = _R.req_int(payload, "content_index", path)
        part = _R.req_obj(payload, "part", path)
        where = f"{path}.part"
        kind = _R.req_str(part, "type", where)
        state.content_kind[content_index] = kind
        # A part normally opens empty; text it already holds is streamed content.
        text: Optional[str] = None
        if kind in ("output_text", "reasoning_text"):
            text = _R.opt_str(part, "text", where)
        elif kind == "refusal":
            text = _R.opt_str(part, "refusal", where)
        if not text:
            return []
        if state.kind == "message" and kind == "output_text":
            state.content.setdefault(content_index, []).append(text)
            return [TextDelta(state.index, text)]
        if state.kind == "message" and kind == "refusal":
            state.content.setdefault(content_index, []).append(text)
            return [RefusalDelta(state.index, text)]
        if state.kind == "reasoning" and kind == "reasoning_text":
            state.content.setdefault(content_index, []).append(text)
            return [ReasoningDelta(state.index, text)]
        return []

    def _content_delta(self, payload: Obj, path: str, kind: str) -> Tuple[_Open, int, str]:
        state = self._target(payload, path, kind)
        content_index = _R.opt_int(payload, "content_index", path) or 0
        delta = _R.opt_str(payload, "delta", path) or ""
        if delta:
            state.content.setdefault(content_index, []).append(delta)
        return state, content_index, delta

    def _content_done(self, payload: Obj, path: str, kind: str, key: str) -> Tuple[_Open, List[str]]:
        state = self._target(payload, path, kind)
        content_index = _R.opt_int(payload, "content_index", path) or 0
        text = _R.opt_str(payload, key, path)
        if text is None:
            return state, []
        rest = _rest(state.content.get(content_index, []), text)
        state.content.setdefault(content_index, []).extend(rest)
        return state, rest

    def _text_delta(self, payload: Obj, path: str) -> List[StreamEvent]:
        state, _, delta = self._content_delta(payload, path, "message")
        return [TextDelta(state.index, delta)] if delta else []

    def _text_done(self, payload: Obj, path: str) -> List[StreamEvent]:
        state, rest = self._content_done(payload, path, "message", "text")
        return [TextDelta(state.index, t) for t in rest]

    def _refusal_delta(self, payload: Obj, path: str) -> List[StreamEvent]:
        state, _, delta = self._content_delta(payload, path, "message")
        return [RefusalDelta(state.index, delta)] if delta else []

    def _refusal_done(self, payload: Obj, path: str) -> List[StreamEvent]:
        state, rest = self._content_done(payload, path, "message", "refusal")
        return [RefusalDelta(state.index, t) for t in rest]

    def _reasoning_text_delta(self, payload: Obj, path: str) -> List[StreamEvent]:
        state, _, delta = self._content_delta(payload, path, "reasoning")
        return [ReasoningDelta(state.index, delta)] if delta else []

    def _reasoning_text_done(self, payload: Obj, path: str) -> List[StreamEvent]:
        state, rest = self._content_done(payload, path, "reasoning", "text")
        return [ReasoningDelta(state.index, t) for t in rest]

    def _arguments_delta(self, payload: Obj, path: str) -> List[StreamEvent]:
        state = self._target(payload, path, "tool_call")
        delta = _R.opt_str(payload, "delta", path) or ""
        if not delta:
            return []
        state.arguments.append(delta)
        return [ToolCallArgumentsDelta(state.index, delta)]

    def _arguments_done(self, payload: Obj, path: str) -> List[StreamEvent]:
        state = self._target(payload, path, "tool_call")
        arguments = _R.opt_str(payload, "arguments", path)
        if arguments is None:
            return []
        rest = _rest(state.arguments, arguments)
        state.arguments.extend(rest)
        return [ToolCallArgumentsDelta(state.index, t) for t in rest]

    def _summary_part_added(self, payload: Obj, path: str) -> List[StreamEvent]:
        state = self._target(payload, path, "reasoning")
        summary_index = _R.req_int(payload, "summary_index", path)
        part = _R.opt_obj(payload, "part", path) or {}
        text = _R.opt_str(part, "text", f"{path}.part")
        if not text:
            return []
        state.summary.setdefault(summary_index, []).append(text)
        return [ReasoningDelta(state.index, text, kind="summary", summary_index=summary_index)]

    def _summary_delta(self, payload: Obj, path: str) -> List[StreamEvent]:
        state = self._target(payload, path, "reasoning")
        summary_index = _R.req_int(payload, "summary_index", path)
        delta = _R.opt_str(payload, "delta", path) or ""
        if not delta:
            return []
        state.summary.setdefault(summary_index, []).append(delta)
        return [ReasoningDelta(state.index, delta, kind="summary", summary_index=summary_index)]

    def _summary_done(self, payload: Obj, path: str) -> List[StreamEvent]:
        state = self._target(payload, path, "reasoning")
        summary_index = _R.req_int(payload, "summary_index", path)
        text = _R.opt_str(payload, "text", path)
        if text is None:
            return []
        rest = _rest(state.summary.get(summary_index, []), text)
        state.summary.setdefault(summary_index, []).extend(rest)
        return [ReasoningDelta(state.index, t, kind="summary", summary_index=summary_index) for t in rest]


def _rest(streamed: List[str], full: str) -> List[str]:
    """The part of ``full`` the fragments did not deliver: [] when they did, or when they disagree."""
    so_far = "".join(streamed)
    if len(full) > len(so_far) and full.startswith(so_far):
        return [full[len(so_far) :]]
    return []


# --------------------------------------------------------------------------- encoder


@dataclass
class _Part:
    """A content part on the wire: a message's output_text/refusal or a reasoning_text part."""

    kind: str  # output_text | refusal | reasoning_text
    texts: List[str] = field(default_factory=list)
    closed: bool = False


@dataclass
class _Item:
    """A canonical output item as the encoder sees it, and its wire output item."""

    kind: str  # message | reasoning | tool_call | opaque
    output_index: Optional[int] = None  # set once output_item.added was sent
    item_id: str = ""
    done: bool = False
    streamed: bool = False
    parts: List[_Part] = field(default_factory=list)  # message content / reasoning content
    summaries: List[List[str]] = field(default_factory=list)
    summary_map: Dict[int, int] = field(default_factory=dict)  # canonical summary_index -> wire index
    open_summary: Optional[int] = None
    open_part: Optional[int] = None
    call_id: str = ""
    name: str = ""
    arguments: List[str] = field(default_factory=list)
    encrypted: List[str] = field(default_factory=list)
    foreign_opaque: bool = False


class StreamEncoder:
    """Canonical stream events in, OpenAI Responses SSE text out.

    Items may be open at the same time (sources that interleave tool calls); every event
    names its item by ``output_index`` and ``item_id``, which is all the SDK needs.
    Reasoning items open on their first content, so that reasoning holding only another
    provider's opaque token leaves no empty item behind.
    """

    def __init__(self, losses: Optional[LossLog] = None) -> None:
        self.losses = losses if losses is not None else LossLog(PROTOCOL)
        self._seq = 0
        self._started = False
        self._done = False
        self._id = "resp_omnillm"
        self._model = ""
        self._created = 0
        self._items: Dict[int, _Item] = {}
        self._next_output = 0
        self._finals: Dict[int, Obj] = {}  # output_index -> the item as output_item.done sent it
        self._usage: Optional[Usage] = None
        self._refusal = False
        self._lazy = False  # _send keeps payloads, not SSE text (encode_lazily)

    # ---------------------------------------------------------------- public

    def encode(self, event: StreamEvent) -> List[str]:
        """Encode one canonical event as zero or more SSE events."""
        frames: List[str] = self._encode(event)
        return frames

    def encode_lazily(self, event: StreamEvent) -> Iterable[str]:
        """As `encode`, but an item's end is serialised one SSE event at a time, as asked for.

        An item's end writes it whole three times (``.done`` events) and the terminal
        event repeats every item: serialised one at a time, only one of those copies
        exists at once. `omnillm.encode_stream` uses it.
        """
        if not isinstance(event, _WHOLE):
            return self.encode(event)
        self._lazy = True
        try:
            payloads: List[Obj] = self._encode(event)
        finally:
            self._lazy = False
        return map(_frame, payloads)

    def _encode(self, event: StreamEvent) -> Frames:
        if self._done:
            return []
        out: Frames = []
        if isinstance(event, ResponseStarted):
            if not self._started:
                self._id = event.id or self._id
                self._model = event.model
                self._created = event.created or 0
                self._flush_start(out)
            return out
        self._flush_start(out)
        if isinstance(event, _DELTAS):
            item = self._items.get(event.index)
            if item is not None and item.done:
                raise EncodeError(PROTOCOL, f"output[{event.index}]", "content after the item was done")
        if isinstance(event, UsageUpdate):
            self._usage = event.usage
        elif isinstance(event, ErrorEvent):
            if event.type == "response.failed":
                self._failed(out, event)
            else:
                self._send(out, _error_payload(event))
            self._done = True
        elif isinstance(event, OutputItemAdded):
            kind = "reasoning" if event.kind == "reasoning" else "message"
            item = self._item(event.index, kind)
            if event.item_id and item.output_index is None:
                item.item_id = event.item_id
            if kind == "message":
                self._open(out, item)
        elif isinstance(event, TextDelta):
            self._text(out, self._message(out, event.index), "output_text", event.text)
        elif isinstance(event, RefusalDelta):
            self._refusal = True
            self._text(out, self._message(out, event.index), "refusal", event.text)
        elif isinstance(event, ReasoningDelta):
            self._reasoning(out, event.index, event)
        elif isinstance(event, ReasoningSignatureDelta):
            self._signature(event)
        elif isinstance(event, ToolCallStarted):
            item = self._item(event.index, "tool_call")
            if item.output_index is None:
                item.call_id, item.name = event.id, event.name
                item.item_id = event.item_id or f"fc_{event.id}"
                self._open(out, item)
        elif isinstance(event, ToolCallArgumentsDelta):
            self._arguments(out, event.index, event.delta)
        elif isinstance(event, OutputItemDone):
            final = event.item
            held = self._items.get(event.index)
            if event.lean and final is not None and held is not None:
                final = self._restored(held, final, event.text_lengths)
            self._item_done(out, event.index, final)
        elif isinstance(event, ResponseCompleted):
            self._complete(out, event)
        return out

    def finish(self) -> List[str]:
        """End of the canonical stream. Without a `ResponseCompleted` no terminal event is sent."""
        out: List[str] = []
        if not self._done:
            self._flush_start(out)
        return out

    # ---------------------------------------------------------------- response level

    def _send(self, out: Frames, payload: Obj) -> None:
        payload = {"type": payload["type"], "sequence_number": self._seq, **payload}
        self._seq += 1
        out.append(payload if self._lazy else format_event(_dumps(payload), event=str(payload["type"])))

    def _response(self, status: str, output: List[Obj], usage: Optional[Obj]) -> Obj:
        """A full Response object; request echo fields the stream cannot know get neutral defaults."""
        return {
            "id": self._id,
            "object": "response",
            "created_at": self._created,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": None,
            "max_tool_calls": None,
            "model": self._model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "temperature": None,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": None,
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": {},
        }

    def _flush_start(self, out: Frames) -> None:
        if self._started:
            return
        self._started = True
        self._send(out, {"type": "response.created", "response": self._response("in_progress", [], None)})
        self._send(out, {"type": "response.in_progress", "response": self._response("in_progress", [], None)})

    def _complete(self, out: Frames, event: ResponseCompleted) -> None:
        cut = event.stop_reason in ("max_tokens", "content_filter")
        for index in sorted(self._items):
            item = self._items[index]
            if not item.done:
                self._finish(out, index, item, None, "incomplete" if cut else "completed")
        usage = event.usage if event.usage is not None else self._usage
        wire_usage = _usage_to_wire(usage, self.losses) if usage is not None else None
        status, reason = self._status(event)
        response = self._response(status, [self._finals[i] for i in sorted(self._finals)], wire_usage)
        if status == "incomplete":
            response["incomplete_details"] = {"reason": reason}
            kind = "response.incomplete"
        elif status == "failed":
            response["error"] = {"code": "server_error", "message": "The response failed."}
            kind = "response.failed"
        else:
            kind = "response.completed"
        self._send(out, {"type": kind, "response": response})
        self._done = True

    def _failed(self, out: Frames, event: ErrorEvent) -> None:
        """A failed response, as decoded from ``response.failed``: finished items and usage so far."""
        wire_usage = _usage_to_wire(self._usage, self.losses) if self._usage is not None else None
        response = self._response("failed", [self._finals[i] for i in sorted(self._finals)], wire_usage)
        response["error"] = {"code": event.code or "server_error", "message": event.message}
        self._send(out, {"type": "response.failed", "response": response})

    def _status(self, event: ResponseCompleted) -> Tuple[str, Optional[str]]:
        """The wire status (and incomplete reason) for a canonical stop reason."""
        noted = len(self.losses.entries)
        status, reason = self._wire_status(event)
        if len(self.losses.entries) == noted:  # nothing said about the stop reason yet
            sent = status if reason is None else f"{status}:{reason}"
            note_finer_stop(self.losses, "stop_reason", PROTOCOL, event.stop_reason, event.raw_stop_reason, sent)
        return status, reason

    def _wire_status(self, event: ResponseCompleted) -> Tuple[str, Optional[str]]:
        canonical, raw = event.stop_reason, event.raw_stop_reason
        if raw is not None:
            status, _, reason = raw.partition(":")
            if (
                status == "incomplete"
                and reason in _INCOMPLETE_REASONS
                and _INCOMPLETE_STOP.get(reason, "other") == canonical
            ):
                return status, reason  # same-protocol value kept (max_messages, steered)
        kinds = [wire.get("type") for wire in self._finals.values()]
        tools = any(isinstance(kind, str) and kind in _TOOL_ITEM_TYPES for kind in kinds)
        if canonical == "max_tokens":
            return "incomplete", "max_output_tokens"
        if canonical == "content_filter":
            return "incomplete", "content_filter"
        if canonical == "error":
            return "failed", None
        if canonical == "tool_use" and not tools:
            self._stop_loss(canonical, "no function_call item says so; sent as 'completed'")
        elif canonical == "refusal" and not self._refusal:
            self._stop_loss(canonical, "there is no refusal part to say so; sent as 'completed'")
        elif canonical == "stop_sequence":
            detail = f"{PROTOCOL} cannot say that a stop sequence ended the response"
            if event.stop_sequence is not None:
                detail += f" (sequence {event.stop_sequence!r})"
            self.losses.add("L-FINISH-STOPSEQ", "stop_sequence", detail + "; sent as 'completed'")
        elif canonical == "pause":
            self.losses.add(
                "L-FINISH-PAUSE", "stop_reason", f"{PROTOCOL} cannot ask the caller to resume; sent as 'incomplete'"
            )
            return "incomplete", None
        elif canonical == "other":
            self._stop_loss(canonical, "sent as 'incomplete' without a reason")
            return "incomplete", None
        return "completed", None

    def _stop_loss(self, canonical: str, detail: str) -> None:
        self.losses.add("L-FINISH-GRANULARITY", "stop_reason", f"stop reason '{canonical}' in {PROTOCOL}: {detail}")

    # ---------------------------------------------------------------- items

    def _item(self, index: int, kind: str) -> _Item:
        item = self._items.get(index)
        if item is None:
            item = _Item(kind)
            self._items[index] = item
        return item

    def _open(self, out: Frames, item: _Item, wire: Optional[Obj] = None) -> None:
        """Send output_item.added (once) with the item's empty form."""
        if item.output_index is not None:
            return
        item.output_index = self._next_output
        self._next_output += 1
        if wire is None:
            if item.kind == "message":
                item.item_id = item.item_id or f"msg_{item.output_index}"
                wire = {
                    "id": item.item_id,
                    "type": "message",
                    "status": "in_progress",
                    "content": [],
                    "role": "assistant",
                }
            elif item.kind == "reasoning":
                item.item_id = item.item_id or f"rs_{item.output_index}"
                wire = {"id": item.item_id, "type": "reasoning", "summary": []}
            else:
                wire = {
                    "id": item.item_id,
                    "type": "function_call",
                    "status": "in_progress",
                    "arguments": "",
                    "call_id": item.call_id,
                    "name": item.name,
                }
        self._send(out, {"type": "response.output_item.added", "output_index": item.output_index, "item": wire})

    def _message(self, out: Frames, index: int) -> _Item:
        item = self._item(index, "message")
        if item.kind != "message":
            raise EncodeError(PROTOCOL, f"output[{index}]", f"text for a {item.kind} item")
        self._open(out, item)
        return item

    def _ref(self, item: _Item) -> Obj:
        return {"item_id": item.item_id, "output_index": item.output_index}

    def _part_payload(self, kind: str, text: str) -> Obj:
        if kind == "refusal":
            return {"type": "refusal", "refusal": text}
        if kind == "reasoning_text":
            return {"type": "reasoning_text", "text": text}
        return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}

    def _open_part(self, out: Frames, item: _Item, kind: str) -> _Part:
        self._close_sub(out, item)
        part = _Part(kind)
        item.parts.append(part)
        item.open_part = len(item.parts) - 1
        self._send(
            out,
            {
                "type": "response.content_part.added",
                **self._ref(item),
                "content_index": item.open_part,
                "part": self._part_payload(kind, ""),
            },
        )
        return part

    def _close_sub(self, out: Frames, item: _Item, annotations: Optional[List[Any]] = None) -> None:
        """Close the open content part or summary part of an item."""
        if item.open_part is not None:
            ci = item.open_part
            part = item.parts[ci]
            item.open_part = None
            part.closed = True
            text = "".join(part.texts)
            part.texts[:] = [text]  # the fragments go; later joins give back this string
            ref = {**self._ref(item), "content_index": ci}
            if part.kind == "refusal":
                self._send(out, {"type": "response.refusal.done", **ref, "refusal": text})
            elif part.kind == "reasoning_text":
                self._send(out, {"type": "response.reasoning_text.done", **ref, "text": text})
            else:
                for ai, annotation in enumerate(annotations or []):
                    self._send(
                        out,
                        {
                            "type": "response.output_text.annotation.added",
                            **ref,
                            "annotation_index": ai,
                            "annotation": annotation,
                        },
                    )
                self._send(out, {"type": "response.output_text.done", **ref, "text": text, "logprobs": []})
            done_part = self._part_payload(part.kind, text)
            if annotations:
                done_part["annotations"] = annotations
            self._send(out, {"type": "response.content_part.done", **ref, "part": done_part})
        if item.open_summary is not None:
            si = item.open_summary
            item.open_summary = None
            text = "".join(item.summaries[si])
            item.summaries[si][:] = [text]
            ref = {**self._ref(item), "summary_index": si}
            self._send(out, {"type": "response.reasoning_summary_text.done", **ref, "text": text})
            self._send(
                out,
                {"type": "response.reasoning_summary_part.done", **ref, "part": {"type": "summary_text", "text": text}},
            )

    def _text(self, out: Frames, item: _Item, kind: str, text: str, *, new_part: bool = False) -> None:
        part = item.parts[item.open_part] if item.open_part is not None else None
        if part is None or part.kind != kind or new_part:
            part = self._open_part(out, item, kind)
        item.streamed = True
        if not text:
            return
        part.texts.append(text)
        ref = {**self._ref(item), "content_index": item.open_part}
        if kind == "refusal":
            self._send(out, {"type": "response.refusal.delta", **ref, "delta": text})
        elif kind == "reasoning_text":
            self._send(out, {"type": "response.reasoning_text.delta", **ref, "delta": text})
        else:
            self._send(out, {"type": "response.output_text.delta", **ref, "delta": text, "logprobs": []})

    def _reasoning(self, out: Frames, index: int, event: ReasoningDelta) -> None:
        item = self._item(index, "reasoning")
        if item.kind != "reasoning":
            raise EncodeError(PROTOCOL, f"output[{index}]", f"reasoning for a {item.kind} item")
        if not event.text and item.output_index is None:
            return  # nothing to show yet; the item opens with its first content
        self._open(out, item)
        item.streamed = True
        if event.kind != "summary":
            self._text(out, item, "reasoning_text", event.text)
            return
        wire = item.summary_map.get(event.summary_index)
        if wire is None or wire != item.open_summary:
            # A new summary entry (or more text for one already closed, which the wire cannot reopen).
            self._close_sub(out, item)
            wire = len(item.summaries)
            item.summary_map[event.summary_index] = wire
            item.summaries.append([])
            item.open_summary = wire
            self._send(
                out,
                {
                    "type": "response.reasoning_summary_part.added",
                    **self._ref(item),
                    "summary_index": wire,
                    "part": {"type": "summary_text", "text": ""},
                },
            )
        if event.text:
            item.summaries[wire].append(event.text)
            self._send(
                out,
                {
                    "type": "response.reasoning_summary_text.delta",
                    **self._ref(item),
                    "summary_index": wire,
                    "delta": event.text,
                },
            )

    def _signature(self, event: ReasoningSignatureDelta) -> None:
        item = self._item(event.index, "reasoning")
        if event.source == PROTOCOL and event.encrypted_content:
            item.encrypted.append(event.encrypted_content)
        elif event.signature or event.encrypted_content:
            item.foreign_opaque = True

    def _arguments(self, out: Frames, index: int, fragment: str) -> None:
        item = self._items.get(index)
        if item is None or item.kind != "tool_call" or item.output_index is None:
            raise EncodeError(PROTOCOL, f"output[{index}]", "tool call arguments before the call started")
        item.streamed = True
        if not fragment:
            return
        item.arguments.append(fragment)
        self._send(out, {"type": "response.function_call_arguments.delta", **self._ref(item), "delta": fragment})

    @staticmethod
    def _restored(item: _Item, final: OutputItem, lengths: Optional[List[int]]) -> OutputItem:
        """A lean final form with the streamed content this encoder holds put back.

        Each part's fragments are joined once, in place, so the text is held once: the
        ``.done`` events and the terminal response all refer to that one string.
        """

        def held(fragments: List[str]) -> str:
            fragments[:] = ["".join(fragments)] if fragments else []
            return fragments[0] if fragments else ""

        if isinstance(final, ToolCallPart):
            return restore_streamed(final, text=held(item.arguments))
        if isinstance(final, ReasoningPart):
            text = "".join(held(p.texts) for p in item.parts if p.kind == "reasoning_text")
            return restore_streamed(final, text=text, summary=[held(s) for s in item.summaries])
        text = "".join(held(p.texts) for p in item.parts if p.kind == "output_text")
        refusal = "".join(held(p.texts) for p in item.parts if p.kind == "refusal")
        return restore_streamed(final, text=text, refusal=refusal, text_lengths=lengths)

    def _item_done(self, out: Frames, index: int, final: Optional[OutputItem]) -> None:
        item = self._items.get(index)
        if item is None:
            if final is None:
                return
            item = self._item(index, _kind_of(final))
            if isinstance(final, ToolCallPart):
                item.call_id, item.name = final.id, final.name
                item.item_id = final.item_id or f"fc_{final.id}"
                self._open(out, item)
            elif isinstance(final, Message):
                self._open(out, item)
        if not item.done:
            self._finish(out, index, item, final, "completed")

    def _finish(self, out: Frames, index: int, item: _Item, final: Optional[OutputItem], status: str) -> None:
        item.done = True
        path = f"output[{index}]"
        wire: Optional[Obj]
        if item.kind == "message":
            wire = self._finish_message(out, item, final, status, path)
        elif item.kind == "tool_call":
            wire = self._finish_call(out, index, item, final, status)
        elif item.kind == "reasoning":
            wire = self._finish_reasoning(out, index, item, final, path)
        else:
            wire = self._finish_opaque(out, item, final, path)
        if wire is None or item.output_index is None:
            return
        self._send(out, {"type": "response.output_item.done", "output_index": item.output_index, "item": wire})
        self._finals[item.output_index] = wire
        # Only the final form is needed from here on (for the terminal event).
        item.parts, item.summaries, item.arguments, item.encrypted = [], [], [], []

    def _finish_message(self, out: Frames, item: _Item, final: Optional[OutputItem], status: str, path: str) -> Obj:
        message = final if isinstance(final, Message) else None
        if message is not None and not item.streamed:
            for part in message.content:
                if isinstance(part, TextPart):
                    self._text(out, item, "output_text", part.text, new_part=True)
                elif isinstance(part, RefusalPart):
                    self._refusal = True
                    self._text(out, item, "refusal", part.text, new_part=True)
        texts = [p for p in message.content if isinstance(p, (TextPart, RefusalPart))] if message else []
        paired = len(texts) == len(item.parts)
        annotations: Optional[List[Any]] = None
        if paired and item.open_part is not None and isinstance(texts[item.open_part], TextPart):
            found = texts[item.open_part].extensions.get(PROTOCOL, {}).get("annotations")
            annotations = found if isinstance(found, list) else None
        self._close_sub(out, item, annotations)
        content: List[Obj] = []
        item_fields: Obj = {}
        if message is None:
            content = [self._part_payload(p.kind, "".join(p.texts)) for p in item.parts]
        else:
            for i, part in enumerate(message.content):
                where = f"{path}.content[{i}]"
                # The non-streaming codec's scheme: message item fields (id, status, phase)
                # ride on the first part under "open_ai_responses~item".
                fields, ext = split_item_fields(part.extensions)
                item_fields = item_fields or fields
                if isinstance(part, (TextPart, RefusalPart)):
                    entry = self._part_payload("output_text" if isinstance(part, TextPart) else "refusal", part.text)
                    # Our own fields (annotations, logprobs) replace the empty defaults.
                    entry.update(ext.get(PROTOCOL, {}))
                    others = {p: f for p, f in ext.items() if p != PROTOCOL}
                    restore_fields(entry, others, self.losses, where)
                    content.append(entry)
                elif isinstance(part, OpaquePart) and part.source == PROTOCOL:
                    content.append(part.data)
                else:
                    self._drop(part, where)
        wire: Obj = {"id": item.item_id, "type": "message", "status": status, "content": content, "role": "assistant"}
        for key, value in item_fields.items():
            if key == "status":
                wire[key] = value  # the item's own final status (``incomplete`` when cut)
            else:
                wire.setdefault(key, value)  # the id stays the one the earlier events used
        if message is not None:
            restore_fields(wire, message.extensions, self.losses, path)
        return wire

    def _finish_call(self, out: Frames, index: int, item: _Item, final: Optional[OutputItem], status: str) -> Obj:
        arguments = "".join(item.arguments)
        call = final if isinstance(final, ToolCallPart) else None
        if call is not None:
            if not arguments and call.arguments:
                self._arguments(out, index, call.arguments)
            arguments = call.arguments  # authoritative: what the canonical response holds
        self._send(out, {"type": "response.function_call_arguments.done", **self._ref(item), "arguments": arguments})
        wire: Obj = {
            "id": item.item_id,
            "type": "function_call",
            "status": status,
            "arguments": arguments,
            "call_id": item.call_id,
            "name": item.name,
        }
        if call is not None:
            restore_extensions(wire, call.extensions, PROTOCOL, self.losses, f"output[{index}]")
        return wire

    def _finish_reasoning(
        self, out: Frames, index: int, item: _Item, final: Optional[OutputItem], path: str
    ) -> Optional[Obj]:
        part = final if isinstance(final, ReasoningPart) else None
        encrypted: Optional[str] = "".join(item.encrypted) if item.encrypted else None
        if part is not None:
            if part.source == PROTOCOL and part.encrypted_content:
                encrypted = part.encrypted_content
            elif part.signature or part.encrypted_content:
                item.foreign_opaque = True
            if part.id and item.output_index is None and not item.item_id:
                item.item_id = part.id
            if not item.streamed:
                if part.text:
                    self._reasoning(out, index, ReasoningDelta(index, part.text))
                for si, text in enumerate(part.summary):
                    self._reasoning(out, index, ReasoningDelta(index, text, kind="summary", summary_index=si))
        if item.foreign_opaque:
            self.losses.add(
                "L-REASONING-OPAQUE",
                path,
                f"another provider's reasoning signature or encrypted content is not valid for {PROTOCOL}; dropped",
            )
        if item.output_index is None and encrypted is None and not item.item_id:
            return None  # nothing a Responses client could show or replay
        self._open(out, item)
        self._close_sub(out, item)
        summary = [{"type": "summary_text", "text": "".join(s)} for s in item.summaries]
        content = [{"type": "reasoning_text", "text": "".join(p.texts)} for p in item.parts]
        if part is not None and (part.text is not None or part.summary):
            # The final form is authoritative where the deltas were incomplete or merged differently.
            summary = [{"type": "summary_text", "text": s} for s in part.summary]
            content = [{"type": "reasoning_text", "text": part.text}] if part.text else []
        wire: Obj = {"id": item.item_id, "type": "reasoning", "summary": summary}
        if content:
            wire["content"] = content
        if encrypted is not None:
            wire["encrypted_content"] = encrypted
        if part is not None:
            restore_extensions(wire, part.extensions, PROTOCOL, self.losses, path)
        return wire

    def _finish_opaque(self, out: Frames, item: _Item, final: Optional[OutputItem], path: str) -> Optional[Obj]:
        if not isinstance(final, OpaquePart):
            return None
        if final.source != PROTOCOL:
            self._drop(final, path)
            return None
        self._open(out, item, final.data)
        return final.data

    def _drop(self, part: Any, path: str) -> None:
        if isinstance(part, OpaquePart):
            detail = f"{part.source} item '{part.data.get('type')}' has no equivalent in {PROTOCOL}"
        else:
            detail = f"{type(part).__name__} in assistant output has no equivalent in {PROTOCOL}"
        self.losses.add("L-OPAQUE", path, detail)


# Canonical events after which the wire repeats items whole.
_WHOLE = (OutputItemDone, ResponseCompleted, ErrorEvent)


def _frame(payload: Obj) -> str:
    """The SSE text of one event payload."""
    return format_event(_dumps(payload), event=str(payload["type"]))


_DELTAS = (TextDelta, RefusalDelta, ReasoningDelta, ReasoningSignatureDelta, ToolCallArgumentsDelta)


def _error_payload(event: ErrorEvent) -> Obj:
    """The ``error`` event as the SDK types it: flat ``code``, ``message``, ``param``."""
    code = event.code or event.type
    if code is None and event.status is not None:
        code = _CODE_BY_STATUS.get(event.status, "server_error")
    return {"type": "error", "code": code or "server_error", "message": event.message, "param": None}


def _kind_of(item: OutputItem) -> str:
    if isinstance(item, ToolCallPart):
        return "tool_call"
    if isinstance(item, ReasoningPart):
        return "reasoning"
    if isinstance(item, OpaquePart):
        return "opaque"
    return "message"
