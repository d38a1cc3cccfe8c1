"""Canonical stream events, modelled on OpenAI Responses streaming, and their accumulator.

A stream decoder turns one protocol's wire events into these; a stream encoder turns
them into another protocol's wire events; `StreamAccumulator` folds them into the
`LlmResponse` the same content would have produced without streaming.

Every event that concerns an output item carries ``index``: the item's position in
`LlmResponse.output`. An item is opened by `OutputItemAdded` (messages, reasoning) or
`ToolCallStarted` (tool calls), receives deltas, and is closed by `OutputItemDone`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Union

from .model import (
    LlmResponse,
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


@dataclass
class ResponseStarted:
    """The response began: its id, model and creation time (seconds) when known."""

    id: str
    model: str
    created: Optional[int] = None


@dataclass
class OutputItemAdded:
    """A message or reasoning item opened at ``index`` (``kind``: ``message`` or ``reasoning``)."""

    index: int
    kind: str
    item_id: Optional[str] = None


@dataclass
class TextDelta:
    """A fragment of output text for the message item at ``index``."""

    index: int
    text: str


@dataclass
class RefusalDelta:
    """A fragment of refusal text for the message item at ``index``."""

    index: int
    text: str


@dataclass
class ReasoningDelta:
    """A fragment of reasoning at ``index``: ``kind`` is ``text`` or ``summary``.

    Summary fragments with a new ``summary_index`` start a new summary entry.
    """

    index: int
    text: str
    kind: str = "text"
    summary_index: int = 0


@dataclass
class ReasoningSignatureDelta:
    """An opaque reasoning token (signature or encrypted content) from ``source``."""

    index: int
    signature: Optional[str] = None
    encrypted_content: Optional[str] = None
    source: Optional[str] = None


@dataclass
class ToolCallStarted:
    """A tool call opened at ``index``: its call id and the tool's name."""

    index: int
    id: str
    name: str
    item_id: Optional[str] = None
    synthetic_id: bool = False


@dataclass
class ToolCallArgumentsDelta:
    """A fragment of the JSON arguments text of the tool call at ``index``."""

    index: int
    delta: str


@dataclass
class OutputItemDone:
    """The item at ``index`` is complete. ``item`` is its final form when the wire gives it.

    ``lean``: ``item`` leaves out what the deltas already carried, so that a decoder
    need not hold it: the text of its text and refusal parts, its reasoning text and
    summaries and its tool arguments are empty, and are the concatenation of the item's
    deltas (see `restore_streamed`). ``text_lengths`` then gives the length of each text
    part of a message with more than one, in order. Decoders emit lean items only when
    asked (``StreamDecoder(lean=True)``, as `omnillm.transcode_stream` does).
    """

    index: int
    item: Optional[OutputItem] = None
    lean: bool = False
    text_lengths: Optional[List[int]] = None


@dataclass
class UsageUpdate:
    """Token usage so far; each update replaces the previous one (cumulative totals)."""

    usage: Usage


@dataclass
class ResponseCompleted:
    """The response ended normally, with its stop reason (see `STOP_REASONS`)."""

    stop_reason: str
    raw_stop_reason: Optional[str] = None
    stop_sequence: Optional[str] = None
    usage: Optional[Usage] = None


@dataclass
class ErrorEvent:
    """The provider reported an error inside the stream."""

    message: str
    type: Optional[str] = None
    code: Optional[str] = None
    status: Optional[int] = None


StreamEvent = Union[
    ResponseStarted,
    OutputItemAdded,
    TextDelta,
    RefusalDelta,
    ReasoningDelta,
    ReasoningSignatureDelta,
    ToolCallStarted,
    ToolCallArgumentsDelta,
    OutputItemDone,
    UsageUpdate,
    ResponseCompleted,
    ErrorEvent,
]


@dataclass
class _Slot:
    kind: str
    item_id: Optional[str] = None
    texts: List[str] = field(default_factory=list)
    refusals: List[str] = field(default_factory=list)
    summary: Dict[int, List[str]] = field(default_factory=dict)
    call_id: str = ""
    name: str = ""
    synthetic_id: bool = False
    signature: Optional[str] = None
    encrypted_content: Optional[str] = None
    source: Optional[str] = None
    final: Optional[OutputItem] = None


class StreamAccumulator:
    """Folds canonical stream events into an `LlmResponse`.

    ``add`` takes one event at a time; ``response()`` builds the response from what has
    arrived so far (usable mid-stream for partial results); ``completed`` tells whether
    a `ResponseCompleted` arrived.
    """

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.created: Optional[int] = None
        self.usage: Optional[Usage] = None
        self.stop_reason: Optional[str] = None
        self.raw_stop_reason: Optional[str] = None
        self.stop_sequence: Optional[str] = None
        self.error: Optional[ErrorEvent] = None
        self._slots: Dict[int, _Slot] = {}

    @property
    def completed(self) -> bool:
        """True once a `ResponseCompleted` event was added."""
        return self.stop_reason is not None

    def _slot(self, index: int, kind: str) -> _Slot:
        slot = self._slots.get(index)
        if slot is None:
            slot = _Slot(kind)
            self._slots[index] = slot
        return slot

    def add(self, event: StreamEvent) -> None:
        """Fold one event into the state."""
        if isinstance(event, TextDelta):
            self._slot(event.index, "message").texts.append(event.text)
        elif isinstance(event, ToolCallArgumentsDelta):
            self._slot(event.index, "tool_call").texts.append(event.delta)
        elif isinstance(event, ReasoningDelta):
            slot = self._slot(event.index, "reasoning")
            if event.kind == "summary":
                slot.summary.setdefault(event.summary_index, []).append(event.text)
            else:
                slot.texts.append(event.text)
        elif isinstance(event, RefusalDelta):
            self._slot(event.index, "message").refusals.append(event.text)
        elif isinstance(event, ToolCallStarted):
            slot = self._slot(event.index, "tool_call")
            slot.call_id, slot.name, slot.item_id = event.id, event.name, event.item_id
            slot.synthetic_id = event.synthetic_id
        elif isinstance(event, OutputItemAdded):
            self._slot(event.index, event.kind).item_id = event.item_id
        elif isinstance(event, ReasoningSignatureDelta):
            slot = self._slot(event.index, "reasoning")
            if event.signature is not None:
                slot.signature = (slot.signature or "") + event.signature
            if event.encrypted_content is not None:
                slot.encrypted_content = (slot.encrypted_content or "") + event.encrypted_content
            slot.source = event.source or slot.source
        elif isinstance(event, OutputItemDone):
            if event.item is not None:
                slot = self._slot(event.index, _kind_of(event.item))
                item = event.item
                if event.lean:
                    item = restore_streamed(
                        item,
                        text="".join(slot.texts),
                        refusal="".join(slot.refusals),
                        summary=["".join(slot.summary[k]) for k in sorted(slot.summary)],
                        text_lengths=event.text_lengths,
                    )
                slot.final = item
        elif isinstance(event, UsageUpdate):
            self.usage = event.usage
        elif isinstance(event, ResponseStarted):
            self.id, self.model, self.created = event.id, event.model, event.created
        elif isinstance(event, ResponseCompleted):
            self.stop_reason = event.stop_reason
            self.raw_stop_reason = event.raw_stop_reason
            self.stop_sequence = event.stop_sequence
            if event.usage is not None:
                self.usage = event.usage
        elif isinstance(event, ErrorEvent):
            self.error = event

    def response(self) -> LlmResponse:
        """The response as accumulated so far (stop reason ``error`` if not completed)."""
        output = [self._build(self._slots[i]) for i in sorted(self._slots)]
        return LlmResponse(
            id=self.id,
            model=self.model,
            output=output,
            stop_reason=self.stop_reason or "error",
            raw_stop_reason=self.raw_stop_reason,
            stop_sequence=self.stop_sequence,
            usage=self.usage,
            created=self.created,
        )

    @staticmethod
    def _build(slot: _Slot) -> OutputItem:
        if slot.final is not None:
            return slot.final
        if slot.kind == "tool_call":
            return ToolCallPart(
                id=slot.call_id,
                name=slot.name,
                arguments="".join(slot.texts),
                item_id=slot.item_id,
                synthetic_id=slot.synthetic_id,
            )
        if slot.kind == "reasoning":
            return ReasoningPart(
                text="".join(slot.texts) if slot.texts else None,
                summary=["".join(slot.summary[k]) for k in sorted(slot.summary)],
                signature=slot.signature,
                encrypted_content=slot.encrypted_content,
                id=slot.item_id,
                source=slot.source,
            )
        parts: List[Part] = []
        if slot.texts:
            parts.append(TextPart("".join(slot.texts)))
        if slot.refusals:
            parts.append(RefusalPart("".join(slot.refusals)))
        return Message("assistant", parts)


class BoundedAccumulator(StreamAccumulator):
    """A `StreamAccumulator` that keeps at most ``limit`` characters of streamed content.

    Text, refusal, reasoning and tool-argument fragments are kept until ``limit``
    characters were seen in all; later fragments are only counted (``clipped`` becomes
    true) and final item forms are no longer kept. Everything else (ids, model, tool
    call ids and names, stop reason, usage) is kept whole. `omnillm.transcode_stream`
    uses it so that its memory stays bounded by the largest single event: the frames it
    yields already carried every fragment, and its error's partial response needs only
    the rest.
    """

    def __init__(self, limit: int = 1 << 16) -> None:
        super().__init__()
        self.limit = limit
        self.kept = 0
        self.clipped = False

    def add(self, event: StreamEvent) -> None:
        """Fold one event in, dropping content past the limit."""
        if isinstance(event, _CONTENT):
            size = len(event.delta if isinstance(event, ToolCallArgumentsDelta) else event.text)
            if self.kept + size > self.limit:
                self.clipped = True
                return
            self.kept += size
        elif isinstance(event, OutputItemDone) and event.item is not None and self.clipped:
            event = OutputItemDone(event.index)
        StreamAccumulator.add(self, event)


_CONTENT = (TextDelta, RefusalDelta, ReasoningDelta, ToolCallArgumentsDelta)


def restore_streamed(
    item: OutputItem,
    *,
    text: str = "",
    refusal: str = "",
    summary: Sequence[str] = (),
    text_lengths: Optional[Sequence[int]] = None,
) -> OutputItem:
    """A lean final form (see `OutputItemDone`) with its streamed content put back.

    ``text`` is the concatenation of the item's text deltas (reasoning deltas for
    reasoning, argument deltas for a tool call), ``refusal`` of its refusal deltas and
    ``summary`` its summary entries. A message's text is cut among its text parts by
    ``text_lengths``; without them the last text part takes what the others leave.
    """
    if isinstance(item, ToolCallPart):
        return replace(item, arguments=text)
    if isinstance(item, ReasoningPart):
        return replace(
            item,
            text=text if item.text is not None or text else None,
            summary=list(summary) if summary else item.summary,
        )
    if not isinstance(item, Message):
        return item
    count = sum(isinstance(part, TextPart) for part in item.content)
    lengths = list(text_lengths) if text_lengths is not None and len(text_lengths) == count else None
    content: List[Part] = []
    at = seen = 0
    for part in item.content:
        if isinstance(part, TextPart):
            seen += 1
            size = lengths[seen - 1] if lengths is not None else (len(text) - at if seen == count else 0)
            # A slice covering the whole string is the string itself: no copy.
            content.append(replace(part, text=text[at : at + size]))
            at += size
        elif isinstance(part, RefusalPart):
            content.append(replace(part, text=refusal))
        else:
            content.append(part)
    return replace(item, content=content)


def _kind_of(item: OutputItem) -> str:
    if isinstance(item, ToolCallPart):
        return "tool_call"
    if isinstance(item, ReasoningPart):
        return "reasoning"
    if isinstance(item, OpaquePart):
        return "opaque"
    return "message"


def events_from_response(response: LlmResponse, *, chunk_chars: int = 16) -> List[StreamEvent]:
    """The canonical events a provider would stream for ``response``.

    Text, refusal, reasoning and tool-call arguments are cut into deltas of at most
    ``chunk_chars`` characters; each item is closed with its final form so that opaque
    detail (signatures, citations) survives. Folding the result with `StreamAccumulator`
    gives back ``response`` (output, stop reason and usage). Used by the mock provider,
    the response cache and the demo.
    """
    step = max(1, chunk_chars)

    def pieces(text: str) -> List[str]:
        return [text[i : i + step] for i in range(0, len(text), step)] or [""]

    events: List[StreamEvent] = [ResponseStarted(response.id, response.model, response.created)]
    for index, item in enumerate(response.output):
        if isinstance(item, ToolCallPart):
            events.append(ToolCallStarted(index, item.id, item.name, item.item_id, item.synthetic_id))
            events.extend(ToolCallArgumentsDelta(index, p) for p in pieces(item.arguments) if p)
        elif isinstance(item, ReasoningPart):
            events.append(OutputItemAdded(index, "reasoning", item.id))
            if item.text:
                events.extend(ReasoningDelta(index, p) for p in pieces(item.text))
            for k, summary in enumerate(item.summary):
                events.extend(ReasoningDelta(index, p, "summary", k) for p in pieces(summary))
            if item.signature is not None or item.encrypted_content is not None:
                events.append(ReasoningSignatureDelta(index, item.signature, item.encrypted_content, item.source))
        elif isinstance(item, Message):
            events.append(OutputItemAdded(index, "message"))
            for part in item.content:
                if isinstance(part, TextPart):
                    events.extend(TextDelta(index, p) for p in pieces(part.text))
                elif isinstance(part, RefusalPart):
                    events.extend(RefusalDelta(index, p) for p in pieces(part.text))
        else:
            events.append(OutputItemAdded(index, "opaque"))
        events.append(OutputItemDone(index, item))
    if response.usage is not None:
        events.append(UsageUpdate(response.usage))
    events.append(
        ResponseCompleted(response.stop_reason, response.raw_stop_reason, response.stop_sequence, response.usage)
    )
    return events
