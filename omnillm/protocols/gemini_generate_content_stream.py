"""Streaming codec for Gemini ``streamGenerateContent?alt=sse``: SSE events <-> canonical stream events.

Wire shape (google-genai 3.6 ``models.generate_content_stream`` and ``_api_client``): one
``data: <GenerateContentResponse JSON>`` event per chunk, no event names, no terminator:
the stream ends when the HTTP body ends (the last event may lack its blank line; the SDK
dispatches it, so `event_parser` does too). Each chunk holds only the *new* parts of each
candidate; text arrives in fragments, function calls whole (``args`` complete), and the
last chunk carries ``finishReason`` and the final ``usageMetadata`` (earlier chunks carry
running totals). ``thought: true`` text parts are thought summaries; a ``thoughtSignature``
may sit on any part, often on a final empty-text part. A blocked prompt is one chunk with
``promptFeedback.blockReason`` and no candidates. After the HTTP 200 an error comes as a
chunk ``{"error": {"code", "message", "status"}}``, either as a ``data:`` event or as bare
JSON lines (`event_parser` reads both, as google-genai does). Vertex AI can also stream a
call's arguments (``streamFunctionCallArguments``): ``functionCall`` with ``willContinue``
and ``partialArgs`` pieces addressed by JSON path, closed by a ``functionCall`` without
``willContinue``.

Decoding reuses the non-streaming codec's part decoding, so every part means what it
means in a non-streaming body, and numbers the output items the same way: consecutive
text and media parts form one assistant message, each function call, thought and opaque
part is an item of its own, and a ``thoughtSignature`` on a non-thought part becomes a
signature-only reasoning item just before that part. Across chunks, fragments continue
the open item: adjacent plain text parts are one text, adjacent thought parts one
reasoning item (unless both carry a signature). Empty text parts without a signature
(the API's carrier for ``finishReason``) carry nothing and open nothing. So the folded
stream equals `gemini_generate_content.decode_response` of the body that concatenates
the chunks' parts with those merges (the body the non-streaming API returns for the same
content); response-level metadata (``safetyRatings``, ``citationMetadata``,
``promptFeedback``, ...) has no canonical stream event and is not carried. Items close
with an `OutputItemDone` carrying the final form where the deltas alone do not rebuild
the item: reasoning (``source``), tool calls (synthetic ids, extensions), messages with
media or part extensions. Streamed Vertex arguments are assembled by JSON path and
delivered as one arguments delta when the call closes, because a later path may land
inside any earlier container and no prefix of the final JSON text is safe before that.
Only candidate 0 (``index`` absent or 0) is decoded; other candidates are ignored.
A chunk's usage, when it changed, comes first as a `UsageUpdate` (repeats are dropped),
then the chunk's content events. A ``data: [DONE]`` from OpenAI-compatible proxies is
ignored.

Termination: a Gemini stream has no end event, so `StreamDecoder.finish` (end of input)
judges it. The stream is complete when candidate 0 sent a ``finishReason`` (content may
still follow: recorded Vertex streams repeat ``STOP`` on every chunk) or the prompt was
blocked; `finish` then closes the open item and emits `ResponseCompleted` with the last
usage. A body that ends without either leaves ``terminated`` false, which the stream
drivers report as a `TruncatedStreamError`. An error chunk is terminal: it becomes an
`ErrorEvent` and everything after it is ignored.

Error paths name the event by its 0-based position among all SSE events fed to the
decoder, followed by the JSON path inside its data:
``event[2].candidates[0].content.parts[0].functionCall.name``,
``event[4].usageMetadata.promptTokenCount``.

Encoding writes what the API sends: one chunk per text or thought fragment, each function
call whole in one chunk once its arguments are complete (at its `OutputItemDone`; this is
the one place the encoder holds content back, as the wire demands), a last chunk with the
mapped ``finishReason``, and ``usageMetadata``, ``modelVersion``, ``responseId`` and
``createTime`` on every chunk once known. A Gemini signature goes back on the part it came
with: a thought's own signature follows its text as an empty thought part, a signature-only
item's signature goes on the next text, call or media part. An `ErrorEvent` becomes an
error chunk. Each chunk is one compact ``data:`` line ended by CRLF CRLF, as the API writes
them. Without a `ResponseCompleted` no ``finishReason`` is written, so a cut stream
stays recognisably cut. Reasoning summaries, foreign signatures, refusals and extension
fields are handled (and reported as losses) as by the non-streaming encoder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Set, Tuple, Union

from ..errors import DecodeError, EncodeError
from ..model import (
    AudioPart,
    Extensions,
    FilePart,
    ImagePart,
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
from ..sse import SSEEvent, SSEParser
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
from ._common import (
    WIRE_JSON,
    Obj,
    Reader,
    dump_arguments,
    dumps,
    extras,
    first_or_absent,
    index,
    join,
    restore_extensions,
    sole_object,
    with_extension,
)

# Shared with the non-streaming codec so that parts, usage and stop reasons decode identically.
from .gemini_generate_content import (
    _CALL_KEYS,
    _CONTENT_KEYS,
    _SIGNATURE_KEYS,
    _decode_part,
    _decode_usage,
    _encode_usage,
    _Encoder,
    _finish_reason,
    _format_time,
    _Pairing,
    _parse_time,
    _stop_from_wire,
)

PROTOCOL = "gemini_generate_content"

_R = Reader(PROTOCOL)

# functionCall fields of a streamed (Vertex) call that only steer the streaming.
_STREAMED_CALL_KEYS = _CALL_KEYS | {"partialArgs", "willContinue"}

# google.rpc status names by the HTTP status Google pairs them with, for errors from other protocols.
_STATUS_BY_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_STATUS_NAMES = frozenset(_STATUS_BY_HTTP.values()) | {
    "UNKNOWN",
    "ALREADY_EXISTS",
    "FAILED_PRECONDITION",
    "OUT_OF_RANGE",
    "DATA_LOSS",
}

# One step of an RFC 9535 JSON path as Vertex writes them: .name, [0], ['name'] or ["name"].
_PATH_STEP = re.compile(r"""\.([^.\[\]]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]""")
_ESCAPE = re.compile(r"\\(.)")

Step = Union[str, int]
# Arguments nested deeper than any real schema would overflow json.dumps's recursion limit.
_MAX_DEPTH = 128


def event_parser() -> SSEParser:
    """The event parser for Gemini streams: SSE ``data:`` events plus bare JSON error objects.

    The last event may lack its closing blank line (google-genai dispatches it, and recorded
    streams end that way), so it is flushed at end of input; an event cut inside its JSON
    then fails to decode, which the stream drivers report as truncation.
    """
    return SSEParser(bare_json=True, flush_partial=True)


def _dumps(value: Any) -> str:
    return dumps(value, PROTOCOL)


def _frame(data: str) -> str:
    # The API (generativelanguage.googleapis.com, alt=sse) ends each event with CRLF CRLF,
    # as the recorded captures show; compact JSON holds no line break, so one data line.
    return f"data: {data}\r\n\r\n"


def _plain(part: Part) -> bool:
    """A text part with nothing but its text: fragments of such parts merge."""
    return isinstance(part, TextPart) and not part.extensions and part.cache_control is None


# --------------------------------------------------------------------------- decoder


@dataclass
class _Item:
    """The open message or thought item and what its `OutputItemDone` needs."""

    kind: str  # message | reasoning
    index: int
    content: List[Part] = field(default_factory=list)  # message parts before the trailing text run
    run: List[str] = field(default_factory=list)  # the trailing run of plain text fragments
    texts: List[str] = field(default_factory=list)  # thought text fragments
    signature: Optional[str] = None
    extensions: Extensions = field(default_factory=dict)
    content_fields: Obj = field(default_factory=dict)  # unknown fields of the wire content objects
    run_open: bool = False  # lean: a trailing run was started
    run_size: int = 0  # lean: characters in the trailing run
    lengths: List[int] = field(default_factory=list)  # lean: characters of each text part in content


@dataclass
class _StreamedCall:
    """A Vertex call whose arguments arrive as ``partialArgs`` pieces."""

    index: int
    call: ToolCallPart
    args: Optional[Obj] = None
    continuing: Optional[Tuple[Step, ...]] = None  # path of a string value still being streamed
    target: Optional[Tuple[Any, Step]] = None  # its container and key
    pieces: List[str] = field(default_factory=list)


def _finish_string(state: _StreamedCall) -> None:
    """Store a streamed string value whose pieces are all in (or whose path moved on)."""
    if state.target is not None:
        container, leaf = state.target
        container[leaf] = "".join(state.pieces)
    state.continuing = state.target = None
    state.pieces = []


def _parse_path(text: str, where: str) -> Tuple[Step, ...]:
    if not text.startswith("$"):
        raise _R.fail(where, f"JSON path {text!r} does not start with '$'")
    steps: List[Step] = []
    position = 1
    while position < len(text):
        match = _PATH_STEP.match(text, position)
        if match is None:
            raise _R.fail(where, f"JSON path {text!r} is not a plain member/index path")
        name, number, single, double = match.groups()
        if number is not None:
            steps.append(int(number))
        else:
            quoted = single if single is not None else double
            steps.append(name if quoted is None else _ESCAPE.sub(r"\1", quoted))
        position = match.end()
    if not steps:
        raise _R.fail(where, "a partial argument must address a member of the arguments object")
    if len(steps) > _MAX_DEPTH:
        raise _R.fail(where, f"JSON path nests deeper than {_MAX_DEPTH} levels")
    if not isinstance(steps[0], str):
        raise _R.fail(where, f"JSON path {text!r} indexes the arguments object as an array")
    return tuple(steps)


def _child(container: Any, step: Step, next_step: Step, where: str, text: str) -> Any:
    """The container at ``step`` inside ``container``, created with the shape ``next_step`` needs."""
    fresh: Any = [] if isinstance(next_step, int) else {}
    if isinstance(container, dict) and isinstance(step, str):
        found = container.setdefault(step, fresh)
    elif isinstance(container, list) and isinstance(step, int) and step <= len(container):
        if step == len(container):
            container.append(fresh)
        found = container[step]
    else:
        raise _R.fail(where, f"JSON path {text!r} does not fit the arguments assembled so far")
    if not isinstance(found, type(fresh)):
        raise _R.fail(where, f"JSON path {text!r} does not fit the arguments assembled so far")
    return found


class StreamDecoder:
    """Gemini SSE events in, canonical stream events out, one event at a time.

    ``terminated`` becomes true at an error chunk, or in `finish` when candidate 0 sent a
    ``finishReason`` or the prompt was blocked (see the module docstring).
    ``lean``: close items with lean final forms (see `OutputItemDone`), holding no
    streamed text.
    """

    def __init__(self, *, lean: bool = False) -> None:
        self.terminated = False
        self._lean = lean
        self._count = 0
        self._started = False
        self._failed = False
        self._finished = False
        self._next_index = 0
        self._open: Optional[_Item] = None
        self._call: Optional[_StreamedCall] = None
        self._pairing = _Pairing()
        self._has_calls = False
        self._finish: Optional[str] = None
        self._blocked: Optional[str] = None
        self._usage_fields: Optional[Obj] = None
        self._usage: Optional[Usage] = None

    def feed(self, event: SSEEvent) -> List[StreamEvent]:
        """Decode one SSE event; raises `DecodeError` on bad JSON or a bad shape."""
        count = self._count
        self._count = count + 1
        data = event.data.strip()
        if self._failed or self._finished or not data or data == "[DONE]":
            return []  # [DONE]: tolerated from OpenAI-compatible proxies
        try:
            raw = WIRE_JSON.decode(data)
        except RecursionError:
            raise DecodeError(PROTOCOL, f"event[{count}]", "invalid JSON: nested too deeply to parse") from None
        except ValueError as exc:
            raise DecodeError(PROTOCOL, f"event[{count}]", f"invalid JSON: {exc}") from None
        fast = self._text_only(raw, count)
        if fast is not None:
            return fast
        path = f"event[{count}]"
        chunk = _R.obj(raw, path)
        if chunk.get("error") is not None:
            self._failed = self.terminated = True
            return [_error_event(chunk["error"], join(path, "error"))]
        out: List[StreamEvent] = []
        if not self._started:
            out.append(self._start(chunk, path))
        usage = _R.opt_obj(chunk, "usageMetadata", path)
        if usage is not None and usage != self._usage_fields:
            # Running totals: each change replaces the last; repeats (every chunk has one) are dropped.
            self._usage = _decode_usage(usage, join(path, "usageMetadata"))
            self._usage_fields = usage
            out.append(UsageUpdate(self._usage))
        where = join(path, "candidates")
        for k, raw_candidate in enumerate(_R.opt_arr(chunk, "candidates", path) or []):
            cpath = index(where, k)
            candidate = _R.obj(raw_candidate, cpath)
            # proto3 JSON omits a zero index: an absent index is candidate 0.
            if (_R.opt_int(candidate, "index", cpath) or 0) == 0:
                self._candidate(candidate, cpath, out)
        feedback = _R.opt_obj(chunk, "promptFeedback", path)
        if feedback is not None:
            block = _R.opt_str(feedback, "blockReason", join(path, "promptFeedback"))
            if block is not None:
                self._blocked = block
        return out

    def _text_only(self, chunk: Any, count: int) -> Optional[List[StreamEvent]]:
        """The events of a chunk that is one more plain text part of the open message.

        Most chunks of a stream are that: one candidate whose content holds one part with
        only ``text``, no finish reason, and the running usage (a `UsageUpdate` first when
        it changed, as the general path emits it). This checks their types directly and
        folds them as `_content` would; anything else returns None and takes the general
        path, which decodes it or names what is wrong with it. ``count`` is the event's
        position, for the path of a usage error.
        """
        item = self._open
        if item is None or item.kind != "message" or self._call is not None or type(chunk) is not dict:
            return None
        if chunk.get("error") is not None or chunk.get("promptFeedback") is not None:
            return None
        usage = chunk.get("usageMetadata")
        if usage is not None and type(usage) is not dict:
            return None
        candidate = sole_object(chunk.get("candidates"))
        if (
            candidate is None
            or candidate.get("finishReason") is not None
            or not first_or_absent(candidate.get("index"))
        ):
            return None
        content = candidate.get("content")
        if type(content) is not dict:
            return None
        if content.get("role") not in (None, "model") or not _CONTENT_KEYS.issuperset(content):
            return None
        part = sole_object(content.get("parts"))
        if part is None or len(part) != 1:
            return None
        text = part.get("text")
        if type(text) is not str or not text:
            return None
        out: List[StreamEvent] = []
        if usage is not None and usage != self._usage_fields:
            # Decoded (and any error raised) exactly as the general path would, before the text.
            self._usage = _decode_usage(usage, f"event[{count}].usageMetadata")
            self._usage_fields = usage
            out.append(UsageUpdate(self._usage))
        if self._lean:
            item.run_open = True
            item.run_size += len(text)
        else:
            item.run.append(text)
        out.append(TextDelta(item.index, text))
        return out

    def finish(self) -> List[StreamEvent]:
        """End of input: close the open item and complete the response if it was terminated."""
        if self._failed or self._finished:
            return []
        self._finished = True
        out: List[StreamEvent] = []
        self._close_call(out)
        self._close(out)
        if self._finish is None and self._blocked is None:
            return out
        if not self._started:
            self._started = True
            out.append(ResponseStarted(id="", model=""))
        raw = self._finish if self._finish is not None else self._blocked
        stop = _stop_from_wire(self._finish, self._has_calls) if self._finish is not None else "content_filter"
        out.append(ResponseCompleted(stop_reason=stop, raw_stop_reason=raw, usage=self._usage))
        self.terminated = True
        return out

    # ---------------------------------------------------------------- chunk level

    def _start(self, chunk: Obj, path: str) -> ResponseStarted:
        self._started = True
        created = _R.opt_str(chunk, "createTime", path)
        return ResponseStarted(
            id=_R.opt_str(chunk, "responseId", path) or "",
            model=_R.opt_str(chunk, "modelVersion", path) or "",
            created=_parse_time(created) if created is not None else None,
        )

    def _candidate(self, candidate: Obj, path: str, out: List[StreamEvent]) -> None:
        finish = _R.opt_str(candidate, "finishReason", path)
        content = _R.opt_obj(candidate, "content", path)
        if content is not None:
            where = join(path, "content")
            role = _R.opt_str(content, "role", where)
            if role not in (None, "model"):
                raise _R.fail(join(where, "role"), f"unknown role {role!r}; expected 'model'")
            fields = extras(content, _CONTENT_KEYS)
            parts_path = join(where, "parts")
            for j, raw_part in enumerate(_R.opt_arr(content, "parts", where) or []):
                self._part(raw_part, index(parts_path, j), fields, out)
        if finish is not None:
            self._finish = finish

    # ---------------------------------------------------------------- parts

    def _part(self, raw: Any, path: str, content_fields: Obj, out: List[StreamEvent]) -> None:
        d = _R.obj(raw, path)
        call = d.get("functionCall")
        if isinstance(call, dict) and (self._call is not None or "willContinue" in call or "partialArgs" in call):
            self._streamed_call(d, call, path, out)
            return
        self._close_call(out)
        parts = _decode_part(d, path, self._pairing)
        # A signature split off a non-thought part keeps even an empty text part: it is its carrier.
        keep_empty = len(parts) == 2
        for part in parts:
            if isinstance(part, ReasoningPart):
                if part.text is None:
                    self._signature_item(part, out)
                else:
                    self._thought(part, out)
            elif isinstance(part, ToolCallPart):
                self._close(out)
                at = self._new_index()
                self._has_calls = True
                out.append(ToolCallStarted(at, part.id, part.name, synthetic_id=part.synthetic_id))
                if part.arguments:
                    out.append(ToolCallArgumentsDelta(at, part.arguments))
                out.append(OutputItemDone(at, part))
            elif isinstance(part, OpaquePart):
                self._close(out)
                out.append(OutputItemDone(self._new_index(), part))
            else:
                self._content(part, content_fields, keep_empty, out)

    def _new_index(self) -> int:
        at = self._next_index
        self._next_index += 1
        return at

    def _signature_item(self, part: ReasoningPart, out: List[StreamEvent]) -> None:
        self._close(out)
        at = self._new_index()
        out.append(OutputItemAdded(at, "reasoning"))
        out.append(ReasoningSignatureDelta(at, signature=part.signature, source=PROTOCOL))
        out.append(OutputItemDone(at, part))

    def _thought(self, part: ReasoningPart, out: List[StreamEvent]) -> None:
        item = self._open
        text = part.text or ""
        if (
            item is None
            or item.kind != "reasoning"
            or item.extensions
            or part.extensions
            or (item.signature and part.signature)
        ):
            self._close(out)
            item = self._open = _Item("reasoning", self._new_index(), extensions=part.extensions)
            out.append(OutputItemAdded(item.index, "reasoning"))
            # Even an empty first fragment: it tells encoders this is a thought, not a bare signature.
            out.append(ReasoningDelta(item.index, text))
        elif text:
            out.append(ReasoningDelta(item.index, text))
        if not self._lean:
            item.texts.append(text)
        elif not item.texts:
            item.texts.append("")
        if part.signature is not None:
            item.signature = part.signature
            out.append(ReasoningSignatureDelta(item.index, signature=part.signature, source=PROTOCOL))

    def _content(self, part: Part, content_fields: Obj, keep_empty: bool, out: List[StreamEvent]) -> None:
        plain = _plain(part)
        if plain and not keep_empty and isinstance(part, TextPart) and not part.text:
            return
        item = self._open
        if item is None or item.kind != "message":
            self._close(out)
            item = self._open = _Item("message", self._new_index())
            out.append(OutputItemAdded(item.index, "message"))
        item.content_fields.update(content_fields)
        if plain and isinstance(part, TextPart):
            if self._lean:
                item.run_open = True
                item.run_size += len(part.text)
            else:
                item.run.append(part.text)
        else:
            self._flush_run(item)
            if self._lean and isinstance(part, TextPart):
                item.lengths.append(len(part.text))
                item.content.append(replace(part, text=""))
            else:
                item.content.append(part)
        if isinstance(part, TextPart) and part.text:
            out.append(TextDelta(item.index, part.text))

    @staticmethod
    def _flush_run(item: _Item) -> None:
        if item.run:
            item.content.append(TextPart("".join(item.run)))
            item.run = []
        elif item.run_open:
            item.content.append(TextPart(""))
            item.lengths.append(item.run_size)
            item.run_open, item.run_size = False, 0

    def _close(self, out: List[StreamEvent]) -> None:
        """Close the open message or thought item with its final form where the deltas need one."""
        item = self._open
        if item is None:
            return
        self._open = None
        final: Optional[OutputItem] = None
        if item.kind == "reasoning":
            final = ReasoningPart(
                text="".join(item.texts),
                signature=item.signature,
                source=PROTOCOL,
                extensions=item.extensions,
            )
        else:
            self._flush_run(item)
            content = item.content
            rebuilt = len(content) == 1 and _plain(content[0])
            if rebuilt:
                rebuilt = item.lengths[0] > 0 if self._lean else bool(getattr(content[0], "text", ""))
            if not rebuilt or item.content_fields:
                final = Message(
                    "assistant",
                    content,
                    raw_format=PROTOCOL,
                    extensions=with_extension(PROTOCOL, item.content_fields),
                )
        lengths = item.lengths if len(item.lengths) > 1 else None
        out.append(OutputItemDone(item.index, final, lean=self._lean and final is not None, text_lengths=lengths))

    # ---------------------------------------------------------------- streamed (Vertex) calls

    def _streamed_call(self, d: Obj, call: Obj, path: str, out: List[StreamEvent]) -> None:
        where = join(path, "functionCall")
        if self._call is not None and call.get("name") is not None:
            self._close_call(out)  # a new call's first piece: the previous one ended without a close marker
        state = self._call
        if state is None:
            state = self._start_call(d, call, path, where, out)
        arguments = _R.opt_obj(call, "args", where)
        if arguments is not None:
            state.args = dict(arguments)
        pieces_path = join(where, "partialArgs")
        for k, piece in enumerate(_R.opt_arr(call, "partialArgs", where) or []):
            self._partial_arg(state, piece, index(pieces_path, k))
        if _R.opt_bool(call, "willContinue", where) is not True:
            self._close_call(out)

    def _start_call(self, d: Obj, call: Obj, path: str, where: str, out: List[StreamEvent]) -> _StreamedCall:
        name = _R.req_str(call, "name", where)
        call_id = _R.opt_str(call, "id", where)
        signature = _R.opt_str(d, "thoughtSignature", path)
        if signature is not None:
            self._signature_item(ReasoningPart(signature=signature, source=PROTOCOL), out)
        self._close(out)
        ident = self._pairing.new_id() if call_id is None else call_id
        self._pairing.call(name, ident)
        fields = extras(d, _SIGNATURE_KEYS | {"functionCall"})
        inner = extras(call, _STREAMED_CALL_KEYS)
        if inner:
            fields["functionCall"] = inner
        part = ToolCallPart(ident, name, "", synthetic_id=call_id is None, extensions=with_extension(PROTOCOL, fields))
        state = self._call = _StreamedCall(self._new_index(), part)
        self._has_calls = True
        out.append(ToolCallStarted(state.index, ident, name, synthetic_id=part.synthetic_id))
        return state

    def _partial_arg(self, state: _StreamedCall, raw: Any, path: str) -> None:
        piece = _R.obj(raw, path)
        text = _R.req_str(piece, "jsonPath", path)
        steps = _parse_path(text, join(path, "jsonPath"))
        value: Any
        is_string = "stringValue" in piece
        if is_string:
            value = _R.req_str(piece, "stringValue", path)
        elif "numberValue" in piece:
            value = _R.opt_num(piece, "numberValue", path)
        elif "boolValue" in piece:
            value = _R.opt_bool(piece, "boolValue", path)
        elif "nullValue" in piece:
            value = None
        else:
            raise _R.fail(path, "partial argument has no stringValue, numberValue, boolValue or nullValue")
        more = _R.opt_bool(piece, "willContinue", path) is True
        if is_string and state.continuing == steps:
            # The next piece of a string value: kept as pieces, joined once it is complete.
            state.pieces.append(value)
            if not more:
                _finish_string(state)
            return
        _finish_string(state)
        if state.args is None:
            state.args = {}
        container: Any = state.args
        for step, next_step in zip(steps, steps[1:]):
            container = _child(container, step, next_step, join(path, "jsonPath"), text)
        leaf = steps[-1]
        if isinstance(container, dict) and isinstance(leaf, str):
            container[leaf] = value
        elif isinstance(container, list) and isinstance(leaf, int) and leaf <= len(container):
            if leaf == len(container):
                container.append(value)
            else:
                container[leaf] = value
        else:
            raise _R.fail(join(path, "jsonPath"), f"JSON path {text!r} does not fit the arguments assembled so far")
        if is_string and more:
            state.continuing, state.target, state.pieces = steps, (container, leaf), [value]

    def _close_call(self, out: List[StreamEvent]) -> None:
        state = self._call
        if state is None:
            return
        self._call = None
        _finish_string(state)
        call = state.call
        if state.args is not None:
            call.arguments = dump_arguments(state.args, PROTOCOL, "functionCall.args")
            out.append(ToolCallArgumentsDelta(state.index, call.arguments))
        out.append(OutputItemDone(state.index, call))


def _error_event(value: Any, path: str) -> ErrorEvent:
    """The canonical form of a mid-stream ``{"error": ...}`` chunk (google.rpc.Status shape)."""
    if not isinstance(value, dict):
        return ErrorEvent(message=value if isinstance(value, str) else "the provider reported an error")
    code = _R.opt_int(value, "code", path)
    return ErrorEvent(
        message=_R.opt_str(value, "message", path) or "the provider reported an error",
        type=_R.opt_str(value, "status", path),
        code=None if code is None else str(code),
        status=code if code is not None and 100 <= code <= 599 else None,
    )


# --------------------------------------------------------------------------- encoder


@dataclass
class _Out:
    """A canonical output item as the encoder sees it."""

    kind: str  # message | reasoning | tool_call | opaque
    streamed: bool = False  # some of its content went out as deltas
    done: bool = False
    call: Optional[ToolCallPart] = None
    arguments: List[str] = field(default_factory=list)
    signed: bool = False  # its own Gemini signature went out (or is pending)
    summary_index: Optional[int] = None


class StreamEncoder:
    """Canonical stream events in, Gemini ``alt=sse`` SSE text out, one event at a time."""

    def __init__(self, losses: Optional[LossLog] = None) -> None:
        self.losses = losses if losses is not None else LossLog(PROTOCOL)
        self._parts = _Encoder(self.losses, {}, request=False)
        self._head: Obj = {}
        self._usage: Optional[Obj] = None  # wire usage for the chunks; losses are reported once, at the end
        self._last_usage: Optional[Usage] = None
        self._items: Dict[int, _Out] = {}
        self._signature: Optional[str] = None  # a signature-only item's token, for the next part
        self._has_calls = False
        self._ended = False
        self._reported: Set[Tuple[str, int]] = set()

    # ---------------------------------------------------------------- public

    def encode(self, event: StreamEvent) -> List[str]:
        """Encode one canonical event as zero or more SSE events (chunks)."""
        if self._ended:
            raise EncodeError(PROTOCOL, "", f"{type(event).__name__} after the end of the stream")
        out: List[str] = []
        if isinstance(event, ResponseStarted):
            self._start(event)
        elif isinstance(event, UsageUpdate):
            self._last_usage = event.usage
            self._usage = _encode_usage(event.usage, LossLog(PROTOCOL))
        elif isinstance(event, (TextDelta, RefusalDelta)):
            self._item(event.index, "message").streamed = True
            if isinstance(event, RefusalDelta) and event.text:
                self._loss_once(
                    "refusal",
                    event.index,
                    "L-REFUSAL-PART",
                    f"refusal is sent as plain text: {PROTOCOL} has no refusal part",
                )
            if event.text:
                self._write(out, [self._signed({"text": event.text})])
        elif isinstance(event, ReasoningDelta):
            self._reasoning(out, event)
        elif isinstance(event, ReasoningSignatureDelta):
            self._signature_delta(out, event)
        elif isinstance(event, ToolCallStarted):
            item = self._item(event.index, "tool_call")
            if item.call is not None:
                raise EncodeError(PROTOCOL, f"output[{event.index}]", "a second ToolCallStarted for the same index")
            item.call = ToolCallPart(event.id, event.name, "", item_id=event.item_id, synthetic_id=event.synthetic_id)
        elif isinstance(event, ToolCallArgumentsDelta):
            call = self._items.get(event.index)
            if call is None or call.call is None:
                raise EncodeError(PROTOCOL, f"output[{event.index}]", "arguments delta before ToolCallStarted")
            call.arguments.append(event.delta)
        elif isinstance(event, OutputItemAdded):
            self._item(event.index, "reasoning" if event.kind == "reasoning" else event.kind)
        elif isinstance(event, OutputItemDone):
            final = event.item
            if event.lean and isinstance(final, ToolCallPart):
                # A call goes out whole: its arguments are the deltas this encoder holds.
                held = self._items.get(event.index)
                final = restore_streamed(final, text="".join(held.arguments) if held is not None else "")
            self._item_done(out, event.index, final)
        elif isinstance(event, ResponseCompleted):
            self._complete(out, event)
        elif isinstance(event, ErrorEvent):
            self._ended = True
            out.append(_frame(_dumps({"error": _error_to_wire(event)})))
        return out

    def finish(self) -> List[str]:
        """End of the canonical stream: nothing more to write (a stream cut short stays cut)."""
        return []

    # ---------------------------------------------------------------- chunks

    def _start(self, event: ResponseStarted) -> None:
        head: Obj = {}
        if event.model:
            head["modelVersion"] = event.model
        if event.created is not None:
            head["createTime"] = _format_time(event.created)
        if event.id:
            head["responseId"] = event.id
        self._head = head

    def _write(self, out: List[str], parts: List[Obj], content_fields: Optional[Obj] = None) -> None:
        content: Obj = {"parts": parts, "role": "model"}
        if content_fields:
            content.update((k, v) for k, v in content_fields.items() if k not in content)
        self._chunk(out, {"content": content, "index": 0})

    def _chunk(self, out: List[str], candidate: Obj) -> None:
        body: Obj = {"candidates": [candidate]}
        if self._usage is not None:
            body["usageMetadata"] = self._usage
        body.update(self._head)
        out.append(_frame(_dumps(body)))

    def _signed(self, part: Obj) -> Obj:
        """Put a pending signature-only item's token on ``part`` (a text, call or media part)."""
        if self._signature is not None:
            part["thoughtSignature"] = self._signature
            self._signature = None
        return part

    def _flush_signature(self, out: List[str]) -> None:
        """Write a pending signature as a part of its own (no text, call or media part follows it)."""
        if self._signature is not None:
            self._write(out, [{"thoughtSignature": self._signature}])
            self._signature = None

    def _item(self, at: int, kind: str) -> _Out:
        item = self._items.get(at)
        if item is None:
            item = self._items[at] = _Out(kind)
        return item

    def _loss_once(self, key: str, at: int, code: str, detail: str) -> None:
        if (key, at) not in self._reported:
            self._reported.add((key, at))
            self.losses.add(code, f"output[{at}]", detail)

    # ---------------------------------------------------------------- reasoning

    def _reasoning(self, out: List[str], event: ReasoningDelta) -> None:
        item = self._item(event.index, "reasoning")
        item.streamed = True
        text = event.text
        if event.kind == "summary":
            self._loss_once(
                "summary",
                event.index,
                "L-REASONING-SUMMARY",
                f"reasoning summary becomes thought text in {PROTOCOL}; entries are joined with blank lines",
            )
            if item.summary_index is not None and event.summary_index != item.summary_index:
                text = "\n\n" + text
            item.summary_index = event.summary_index
        if text:
            self._flush_signature(out)
            self._write(out, [{"text": text, "thought": True}])

    def _signature_delta(self, out: List[str], event: ReasoningSignatureDelta) -> None:
        item = self._item(event.index, "reasoning")
        if event.source != PROTOCOL or event.encrypted_content:
            if event.signature or event.encrypted_content:
                self._opaque_loss(event.index, event.source)
            return
        if not event.signature:
            return
        item.signed = True
        if item.streamed:
            # The thought's own signature, after its text: an empty thought part carries it.
            self._flush_signature(out)
            self._write(out, [{"text": "", "thought": True, "thoughtSignature": event.signature}])
        else:
            self._flush_signature(out)
            self._signature = event.signature

    def _opaque_loss(self, at: int, source: Optional[str]) -> None:
        self._loss_once(
            "opaque",
            at,
            "L-REASONING-OPAQUE",
            f"opaque reasoning token from {source or 'another format'} is not valid in {PROTOCOL}; dropped",
        )

    # ---------------------------------------------------------------- items

    def _item_done(self, out: List[str], at: int, final: Optional[OutputItem]) -> None:
        path = f"output[{at}]"
        item = self._items.get(at)
        if item is None:
            if final is None:
                return
            item = self._item(at, _kind_of(final))
        if item.done:
            return
        item.done = True
        if item.kind == "tool_call" or isinstance(final, ToolCallPart):
            self._write_call(out, at, item, final)
        elif isinstance(final, Message):
            self._finish_message(out, item, final, path)
        elif isinstance(final, ReasoningPart):
            self._finish_reasoning(out, at, item, final, path)
        elif isinstance(final, OpaquePart):
            encoded = self._parts.part(final, path, None)
            if encoded is not None:
                self._flush_signature(out)
                self._write(out, [encoded])

    def _write_call(self, out: List[str], at: int, item: _Out, final: Optional[OutputItem]) -> None:
        if isinstance(final, ToolCallPart):
            call = final
        elif item.call is not None:
            call = item.call
            call.arguments = "".join(item.arguments)
        else:
            return
        encoded = self._parts.part(call, f"output[{at}]", None)
        if encoded is not None:
            self._has_calls = True
            self._write(out, [self._signed(encoded)])

    def _finish_message(self, out: List[str], item: _Out, final: Message, path: str) -> None:
        if final.role != "assistant":
            raise EncodeError(PROTOCOL, path, f"output message role must be 'assistant', got {final.role!r}")
        others = {k: v for k, v in final.extensions.items() if k != PROTOCOL}
        if others:
            restore_extensions({}, others, PROTOCOL, self.losses, path)
        own = final.extensions.get(PROTOCOL) or {}
        if not item.streamed:
            # A whole message: all its parts in one chunk, with its content fields.
            parts: List[Obj] = []
            for j, part in enumerate(final.content):
                encoded = self._parts.part(part, f"{path}.content[{j}]", None)
                if encoded is not None:
                    parts.append(self._signed(encoded) if _carries_signature(part) else encoded)
            if parts:
                self._write(out, parts, own)
            return
        if own:
            self._late(own, path)
        for j, part in enumerate(final.content):
            where = f"{path}.content[{j}]"
            if isinstance(part, (TextPart, RefusalPart)):
                # Its text went out as deltas; only its extension fields are left.
                ours = part.extensions.get(PROTOCOL)
                if ours:
                    self._late(ours, where)
                others = {k: v for k, v in part.extensions.items() if k != PROTOCOL}
                restore_extensions({}, others, PROTOCOL, self.losses, where)
                continue
            encoded = self._parts.part(part, where, None)
            if encoded is not None:
                self._write(out, [self._signed(encoded) if _carries_signature(part) else encoded])

    def _finish_reasoning(self, out: List[str], at: int, item: _Out, final: ReasoningPart, path: str) -> None:
        if not item.streamed:
            if final.source == PROTOCOL and item.signed:
                return  # a signature-only item: its signature is pending for the next part
            if final.source != PROTOCOL and (final.signature or final.encrypted_content or final.redacted):
                if ("opaque", at) in self._reported:
                    final = replace(final, signature=None, encrypted_content=None, redacted=False)
                self._reported.add(("opaque", at))  # reported here or by the part encoder
            encoded = self._parts.reasoning(final, path)
            if encoded is None:
                return
            if "text" not in encoded:
                self._flush_signature(out)
                self._signature = str(encoded["thoughtSignature"])
            else:
                self._flush_signature(out)
                self._write(out, [encoded])
            return
        if final.source == PROTOCOL:
            if final.signature and not item.signed:
                self._signature_delta(out, ReasoningSignatureDelta(at, signature=final.signature, source=PROTOCOL))
        elif final.signature or final.encrypted_content or final.redacted:
            self._opaque_loss(at, final.source)
        ours = final.extensions.get(PROTOCOL)
        if ours:
            self._late(ours, path)
        others = {k: v for k, v in final.extensions.items() if k != PROTOCOL}
        restore_extensions({}, others, PROTOCOL, self.losses, path)

    def _late(self, fields: Obj, path: str) -> None:
        names = ", ".join(sorted(fields))
        self.losses.add("L-EXTENSION", path, f"field(s) {names} arrive with the item's end, after its parts were sent")

    def _complete(self, out: List[str], event: ResponseCompleted) -> None:
        for at in sorted(self._items):
            item = self._items[at]
            if item.kind == "tool_call" and not item.done:
                item.done = True
                self._write_call(out, at, item, None)
        self._flush_signature(out)
        if event.stop_sequence is not None:
            self.losses.add(
                "L-FINISH-STOPSEQ", "stop_sequence", f"the matched stop sequence has no field in {PROTOCOL}"
            )
        finish = _finish_reason(event.stop_reason, event.raw_stop_reason, self._has_calls, self.losses, "stop_reason")
        usage = event.usage if event.usage is not None else self._last_usage
        if usage is not None:
            self._usage = _encode_usage(usage, self.losses)
        self._ended = True
        self._chunk(out, {"finishReason": finish, "index": 0})


def _carries_signature(part: Part) -> bool:
    """Parts the decoder splits a signature off (so the signature goes back on them)."""
    return isinstance(part, (TextPart, ToolCallPart, ImagePart, AudioPart, FilePart))


def _kind_of(item: OutputItem) -> str:
    if isinstance(item, ToolCallPart):
        return "tool_call"
    if isinstance(item, ReasoningPart):
        return "reasoning"
    if isinstance(item, OpaquePart):
        return "opaque"
    return "message"


def _error_to_wire(event: ErrorEvent) -> Obj:
    """A google.rpc.Status-shaped error object for an `ErrorEvent` from any protocol."""
    code = event.status
    if code is None and event.code is not None and event.code.isdigit():
        code = int(event.code)
    if code is None or not 100 <= code <= 599:
        code = 500
    status = event.type if event.type in _STATUS_NAMES else _STATUS_BY_HTTP.get(code)
    if status is None:
        status = "INTERNAL" if code >= 500 else "UNKNOWN"
    return {"code": code, "message": event.message, "status": status}
