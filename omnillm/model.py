"""The canonical generation model: plain dataclasses, centred on OpenAI Responses semantics.

One `LlmRequest` produces one `LlmResponse` made of ordered output items. Every codec
decodes its wire dicts into these types and encodes them back.

Two mechanisms keep provider detail from being lost:

* ``extensions``: a dict keyed by wire-format name on every object, holding the wire
  fields that the canonical model has no slot for. Encoding into the same wire format
  writes them back; encoding into another one reports each as a loss.
* ``raw_message`` / ``raw_format`` on `Message`: the wire dict a message was decoded
  from. Encoders of the same format use it for shape hints (a string versus a list of
  blocks) so that decode followed by encode restores the input exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Optional, Union

from .wire import EndpointFamily

Extensions = Dict[str, Dict[str, Any]]
"""Per-protocol unknown fields: ``{"anthropic_messages": {"citations": [...]}}``."""

JSON = Any

ROLES = ("system", "developer", "user", "assistant", "tool")

STOP_REASONS = (
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "content_filter",
    "refusal",
    "pause",
    "error",
    "other",
)
"""Canonical stop reasons. `LlmResponse.raw_stop_reason` keeps the provider's own value."""


@dataclass
class CacheControl:
    """A prompt-cache breakpoint on a part, tool or system block (``ttl`` like ``"5m"``)."""

    type: str = "ephemeral"
    ttl: Optional[str] = None


# --------------------------------------------------------------------------- parts


@dataclass
class TextPart:
    """Plain text, in any role."""

    text: str
    cache_control: Optional[CacheControl] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class ImagePart:
    """An image given by URL, inline base64 data (with ``media_type``) or an uploaded file id."""

    url: Optional[str] = None
    data: Optional[str] = None
    media_type: Optional[str] = None
    file_id: Optional[str] = None
    detail: Optional[str] = None
    cache_control: Optional[CacheControl] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class AudioPart:
    """Inline audio: base64 ``data`` and a ``format`` such as ``wav`` or ``mp3``."""

    data: str
    format: str
    extensions: Extensions = field(default_factory=dict)


@dataclass
class FilePart:
    """A document (PDF or other file) by URL, base64 ``data``, plain ``text`` or ``file_id``."""

    url: Optional[str] = None
    data: Optional[str] = None
    text: Optional[str] = None
    media_type: Optional[str] = None
    file_id: Optional[str] = None
    filename: Optional[str] = None
    title: Optional[str] = None
    cache_control: Optional[CacheControl] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class ToolCallPart:
    """A call of a function tool by the model.

    ``arguments`` is the JSON text of the arguments object (OpenAI semantics); codecs for
    protocols that carry an object parse and serialise it. ``item_id`` is the separate
    item id OpenAI Responses gives a call (``fc_...``), when known. ``synthetic_id`` is
    true when the provider gave no id (Gemini) and omnillm made one up for pairing.
    """

    id: str
    name: str
    arguments: str = "{}"
    item_id: Optional[str] = None
    synthetic_id: bool = False
    cache_control: Optional[CacheControl] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class ToolResultPart:
    """The result of a tool call sent back to the model, paired by ``call_id``.

    ``content`` holds text, image or file parts. ``name`` is the called tool's name when
    known (Gemini pairs results by name). ``is_error`` flags a failed call.
    ``synthetic_id`` as on `ToolCallPart`.
    """

    call_id: str
    content: List[Part] = field(default_factory=list)
    is_error: bool = False
    name: Optional[str] = None
    synthetic_id: bool = False
    cache_control: Optional[CacheControl] = None
    extensions: Extensions = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The text parts of the result, concatenated."""
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


@dataclass
class ReasoningPart:
    """Reasoning or thinking produced by the model.

    ``text`` is the reasoning text (Anthropic thinking, Gemini thought text), ``summary``
    the summary texts (OpenAI). ``signature`` and ``encrypted_content`` are opaque tokens
    valid only for the provider in ``source`` (a wire-format name). ``redacted`` marks
    thinking whose content the provider withheld (its opaque data in
    ``encrypted_content``).
    """

    text: Optional[str] = None
    summary: List[str] = field(default_factory=list)
    signature: Optional[str] = None
    encrypted_content: Optional[str] = None
    redacted: bool = False
    id: Optional[str] = None
    source: Optional[str] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class RefusalPart:
    """The model declined to answer; ``text`` is its explanation."""

    text: str
    extensions: Extensions = field(default_factory=dict)


@dataclass
class OpaquePart:
    """A wire item with no canonical meaning (a hosted-tool call, a server-side item).

    It is written back verbatim into ``source`` and reported as a loss elsewhere.
    """

    source: str
    data: Dict[str, Any]
    extensions: Extensions = field(default_factory=dict)


Part = Union[
    TextPart,
    ImagePart,
    AudioPart,
    FilePart,
    ToolCallPart,
    ToolResultPart,
    ReasoningPart,
    RefusalPart,
    OpaquePart,
]


# --------------------------------------------------------------------------- messages


@dataclass
class Message:
    """One conversation turn: a role and ordered content parts.

    Roles are ``system``, ``developer``, ``user``, ``assistant`` and ``tool`` (a message
    holding `ToolResultPart` s). ``raw_message`` is the wire dict the message was decoded
    from and ``raw_format`` its wire format.
    """

    role: str
    content: List[Part] = field(default_factory=list)
    name: Optional[str] = None
    raw_message: Optional[Dict[str, Any]] = field(default=None, repr=False, compare=False)
    raw_format: Optional[str] = field(default=None, repr=False, compare=False)
    extensions: Extensions = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The text parts of the message, concatenated."""
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @classmethod
    def user(cls, text: str) -> Message:
        """A user message holding one text part."""
        return cls("user", [TextPart(text)])

    @classmethod
    def system(cls, text: str) -> Message:
        """A system message holding one text part."""
        return cls("system", [TextPart(text)])

    @classmethod
    def assistant(cls, text: str) -> Message:
        """An assistant message holding one text part."""
        return cls("assistant", [TextPart(text)])


# --------------------------------------------------------------------------- tools


@dataclass
class FunctionTool:
    """A function the model may call: name, description and a JSON Schema for arguments."""

    name: str
    description: Optional[str] = None
    parameters: Optional[Dict[str, Any]] = None
    strict: Optional[bool] = None
    cache_control: Optional[CacheControl] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class BuiltinTool:
    """A provider-hosted tool (web search, code interpreter, ...), carried by name and options.

    ``type`` is the wire type (``web_search``, ``code_execution_20250825``,
    ``googleSearch``), ``options`` the remaining wire fields and ``source`` the wire
    format it came from. It survives only into the same wire format.
    """

    type: str
    options: Dict[str, Any] = field(default_factory=dict)
    source: Optional[str] = None
    extensions: Extensions = field(default_factory=dict)


Tool = Union[FunctionTool, BuiltinTool]


@dataclass
class ToolChoice:
    """Which tools the model may or must call.

    ``mode`` is ``auto``, ``none``, ``required`` (some tool) or ``tool`` (the tool named
    ``name``). ``allowed`` restricts the choice to a subset of tool names.
    """

    mode: str = "auto"
    name: Optional[str] = None
    allowed: Optional[List[str]] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class OutputFormat:
    """Structured output: ``text``, ``json_object`` (JSON mode) or ``json_schema``."""

    type: str = "text"
    schema: Optional[Dict[str, Any]] = None
    name: Optional[str] = None
    description: Optional[str] = None
    strict: Optional[bool] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class ReasoningConfig:
    """Reasoning controls: an ``effort`` level and/or a ``budget_tokens`` budget.

    ``enabled=False`` turns reasoning off explicitly. ``summary`` asks for summaries
    (``auto``, ``concise``, ``detailed``); ``include_thoughts`` asks the provider to
    return reasoning text where that is a separate switch (Gemini).
    """

    effort: Optional[str] = None
    budget_tokens: Optional[int] = None
    enabled: Optional[bool] = None
    summary: Optional[str] = None
    include_thoughts: Optional[bool] = None
    extensions: Extensions = field(default_factory=dict)


# --------------------------------------------------------------------------- request


@dataclass
class LlmRequest:
    """A provider-neutral generation request.

    ``instructions`` is a system prompt given apart from the messages (Responses
    ``instructions``); system and developer messages may also appear in ``messages``.
    Unset (``None``) fields are not sent.
    """

    family: ClassVar[EndpointFamily] = EndpointFamily.GENERATION

    model: str
    messages: List[Message] = field(default_factory=list)
    instructions: Optional[str] = None
    tools: List[Tool] = field(default_factory=list)
    tool_choice: Optional[ToolChoice] = None
    parallel_tool_calls: Optional[bool] = None
    output_format: Optional[OutputFormat] = None
    reasoning: Optional[ReasoningConfig] = None
    max_output_tokens: Optional[int] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    top_k: Optional[int] = None
    stop: Optional[List[str]] = None
    seed: Optional[int] = None
    presence_penalty: Optional[float] = None
    frequency_penalty: Optional[float] = None
    logprobs: Optional[bool] = None
    top_logprobs: Optional[int] = None
    n: Optional[int] = None
    metadata: Optional[Dict[str, str]] = None
    user: Optional[str] = None
    service_tier: Optional[str] = None
    prompt_cache_key: Optional[str] = None
    stream: Optional[bool] = None
    extensions: Extensions = field(default_factory=dict)


# --------------------------------------------------------------------------- response


@dataclass
class Usage:
    """Token counts, normalised.

    ``input_tokens`` counts every prompt token including cached ones and
    ``output_tokens`` every generated token including reasoning (OpenAI semantics).
    ``cached_input_tokens`` were read from cache, ``cache_creation_input_tokens``
    written to it. ``None`` means the provider did not say.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: Optional[int] = None
    cached_input_tokens: Optional[int] = None
    cache_creation_input_tokens: Optional[int] = None
    reasoning_tokens: Optional[int] = None
    extensions: Extensions = field(default_factory=dict)

    @property
    def total(self) -> int:
        """``total_tokens`` when the provider gave it, else input plus output."""
        if self.total_tokens is not None:
            return self.total_tokens
        return self.input_tokens + self.output_tokens


OutputItem = Union[Message, ToolCallPart, ReasoningPart, OpaquePart]
"""An item of a response's output: an assistant message (text and refusal parts), a
tool call, reasoning, or an opaque provider item."""


@dataclass
class Choice:
    """An additional candidate when the request asked for more than one (``n``)."""

    index: int
    output: List[OutputItem] = field(default_factory=list)
    stop_reason: str = "end_turn"
    raw_stop_reason: Optional[str] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class LlmResponse:
    """A provider-neutral generation response: ordered output items, stop reason, usage.

    ``stop_reason`` is one of `STOP_REASONS`; ``raw_stop_reason`` is the provider's own
    value. ``choices`` holds candidates beyond the first when ``n`` > 1.
    ``cost_micros`` is what the call cost in micro-dollars when a gateway priced it,
    ``cached`` marks a response served from a response cache, and ``parsed`` holds the
    typed value of a structured-output call (``output_type=``); none of them is wire data.
    """

    family: ClassVar[EndpointFamily] = EndpointFamily.GENERATION

    id: str
    model: str
    output: List[OutputItem] = field(default_factory=list)
    stop_reason: str = "end_turn"
    raw_stop_reason: Optional[str] = None
    stop_sequence: Optional[str] = None
    usage: Optional[Usage] = None
    created: Optional[int] = None
    choices: List[Choice] = field(default_factory=list)
    extensions: Extensions = field(default_factory=dict)
    cost_micros: Optional[int] = field(default=None, compare=False)
    cached: bool = field(default=False, compare=False)
    parsed: Any = field(default=None, compare=False, repr=False)

    @property
    def cost_usd(self) -> Optional[float]:
        """``cost_micros`` in US dollars (None when the call was not priced)."""
        return None if self.cost_micros is None else self.cost_micros / 1_000_000

    @property
    def text(self) -> str:
        """All output text, concatenated in order."""
        return "".join(
            part.text
            for item in self.output
            if isinstance(item, Message)
            for part in item.content
            if isinstance(part, TextPart)
        )

    @property
    def refusal(self) -> Optional[str]:
        """The refusal text, if the model refused."""
        texts = [
            part.text
            for item in self.output
            if isinstance(item, Message)
            for part in item.content
            if isinstance(part, RefusalPart)
        ]
        return "".join(texts) if texts else None

    @property
    def tool_calls(self) -> List[ToolCallPart]:
        """The tool calls the model made, in order."""
        return [item for item in self.output if isinstance(item, ToolCallPart)]

    @property
    def reasoning(self) -> List[ReasoningPart]:
        """The reasoning items, in order."""
        return [item for item in self.output if isinstance(item, ReasoningPart)]

    @property
    def message(self) -> Message:
        """The whole output as one assistant `Message`, ready to append to a conversation."""
        parts: List[Part] = []
        for item in self.output:
            if isinstance(item, Message):
                parts.extend(item.content)
            else:
                parts.append(item)
        return Message("assistant", parts)
