"""Anthropic Messages (``POST /v1/messages``) codec: wire dicts <-> the canonical model.

Wire facts follow the anthropic-sdk-python 2.12 types (``anthropic/types``), which win
over the reference notes where they disagree.

Choices worth knowing:

* The top-level ``system`` (string or text blocks) becomes one leading
  ``Message(role="system")`` whose ``raw_message`` is ``{"system": <original>}``, so the
  string/blocks form comes back. ``system`` messages inside ``messages`` (typed by the
  newest SDK) stay in place only when they were decoded from this format; system and
  developer messages from other formats are hoisted into the top-level ``system``.
* User turns keep ``tool_result`` blocks and other blocks together, in order; a run of
  canonical ``tool`` messages and a directly following user message are merged into one
  user turn on encode.
* ``temperature``, ``top_p`` and ``top_k`` are sent only when the canonical request set
  them; the codec never invents them. API version ``2026-10-21`` (the default of the 2.x
  SDK) and the newest models reject sampling parameters with a 400 even at default values;
  the 2.x SDK types no longer declare them. Temperatures above 1 are clamped to 1.
* ``max_tokens`` is required: absent from the canonical request, 4096 is sent
  (L-MAXTOKENS-DEFAULT).
* Thinking: ``{"type": "enabled", "budget_tokens": N}`` <-> ``ReasoningConfig(enabled=True,
  budget_tokens=N)``, ``adaptive`` <-> ``enabled=True`` without a budget, ``disabled`` <->
  ``enabled=False``; ``output_config.effort`` <-> ``effort``. An effort Anthropic lacks
  (``minimal``) becomes a thinking budget by the mapping-tables bridge
  (L-REASONING-EFFORT-BUDGET); budgets are kept within ``1024 <= N < max_tokens``.
  Forced tool choice (``any``/``tool``) together with thinking is downgraded to ``auto``
  (L-TC-FORCED-THINKING).
* Reasoning from another provider: in request history it is dropped (Anthropic cannot
  replay thinking without its signature). In a response it is written as a ``thinking``
  block with an empty ``signature`` so that clients can show it, and reported as
  L-REASONING-OPAQUE; a ``thinking`` block with an empty signature decodes as unsigned
  reasoning (``source=None``) so that it is never replayed to Anthropic.
* Usage: canonical ``input_tokens`` = ``input_tokens + cache_read_input_tokens +
  cache_creation_input_tokens``; encoding subtracts them back.
* Canonical defaults: ``tool_choice {"type": "auto", "disable_parallel_tool_use": X}``
  decodes as ``parallel_tool_calls=not X`` with no tool choice, and the input schema
  ``{"type": "object", "properties": {}}`` as a tool without parameters; both encode back
  to the same wire value.
* Loss codes beyond the mapping-tables catalogue: L-METADATA (free-form metadata),
  L-MEDIA-TYPE (media type the API does not accept), L-MEDIA-DETAIL (image detail),
  L-FILE-NAME (document filename), L-SYSTEM-MEDIA (non-text system content),
  L-REFUSAL-PART (refusal sent as text), L-CREATED (response creation time).
"""

from __future__ import annotations

import base64
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

from ..errors import EncodeError
from ..model import (
    AudioPart,
    BuiltinTool,
    CacheControl,
    FilePart,
    FunctionTool,
    ImagePart,
    LlmRequest,
    LlmResponse,
    Message,
    OpaquePart,
    OutputFormat,
    OutputItem,
    Part,
    ReasoningConfig,
    ReasoningPart,
    RefusalPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    Usage,
)
from ..report import LossLog
from ._common import (
    Obj,
    Reader,
    builtin_label,
    cache_control_dict,
    describe,
    dump_arguments,
    entry_point,
    extras,
    index,
    join,
    load_arguments,
    note_finer_stop,
    parse_data_url,
    restore_extensions,
    with_extension,
)

PROTOCOL = "anthropic_messages"

_r = Reader(PROTOCOL)

DEFAULT_MAX_TOKENS = 4096
MIN_THINKING_BUDGET = 1024

_REQUEST_KEYS = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
        "output_config",
        "metadata",
        "service_tier",
    }
)
_MESSAGE_KEYS = frozenset({"role", "content"})
_TEXT_KEYS = frozenset({"type", "text", "cache_control"})
_IMAGE_KEYS = frozenset({"type", "source", "cache_control"})
_DOCUMENT_KEYS = frozenset({"type", "source", "cache_control", "title"})
_TOOL_USE_KEYS = frozenset({"type", "id", "name", "input", "cache_control"})
_TOOL_RESULT_KEYS = frozenset({"type", "tool_use_id", "content", "is_error", "cache_control"})
_THINKING_KEYS = frozenset({"type", "thinking", "signature"})
_REDACTED_KEYS = frozenset({"type", "data"})
_TOOL_KEYS = frozenset({"name", "description", "input_schema", "strict", "cache_control"})
_TOOL_CHOICE_KEYS = frozenset({"type", "name", "disable_parallel_tool_use"})
_THINKING_CONFIG_KEYS = frozenset({"type", "budget_tokens"})
_OUTPUT_CONFIG_KEYS = frozenset({"effort", "format"})
_FORMAT_KEYS = frozenset({"type", "schema"})
_RESPONSE_KEYS = frozenset({"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"})
_USAGE_KEYS = frozenset({"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"})

_EMPTY_SCHEMA: Obj = {"type": "object", "properties": {}}
_IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_EFFORTS = frozenset({"low", "medium", "high", "xhigh", "max"})
# mapping-tables section 10: effort <-> thinking budget, heuristic.
_EFFORT_BUDGET = {"minimal": 1024, "low": 4096, "medium": 8192, "high": 16384, "xhigh": 32768, "max": 32768}

_TOOL_CHOICE_MODES = {"auto": "auto", "any": "required", "tool": "tool", "none": "none"}
_SERVICE_TIERS = {"auto": "auto", "standard_only": "default"}
_SERVICE_TIERS_BACK = {v: k for k, v in _SERVICE_TIERS.items()}

_STOP_REASONS = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "pause_turn": "pause",
    "refusal": "refusal",
    "model_context_window_exceeded": "max_tokens",
}
_STOP_REASONS_BACK = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "pause": "pause_turn",
    "refusal": "refusal",
}


# =========================================================================== decoding


def _ext(d: Obj, known: FrozenSet[str]) -> Dict[str, Dict[str, Any]]:
    if d.keys() <= known:
        return {}
    return with_extension(PROTOCOL, extras(d, known))


def _decode_text(block: Obj, path: str) -> TextPart:
    return TextPart(
        text=_r.req_str(block, "text", path),
        cache_control=_r.cache_control(block, "cache_control", path),
        extensions=_ext(block, _TEXT_KEYS),
    )


def _decode_image(block: Obj, path: str) -> Part:
    source = _r.req_obj(block, "source", path)
    where = join(path, "source")
    kind = _r.req_str(source, "type", where)
    part = ImagePart(cache_control=_r.cache_control(block, "cache_control", path), extensions=_ext(block, _IMAGE_KEYS))
    if kind == "base64" and set(source) <= {"type", "data", "media_type"}:
        part.data = _r.req_str(source, "data", where)
        part.media_type = _r.req_str(source, "media_type", where)
    elif kind == "url" and set(source) <= {"type", "url"}:
        part.url = _r.req_str(source, "url", where)
    elif kind == "file" and set(source) <= {"type", "file_id"}:
        part.file_id = _r.req_str(source, "file_id", where)
    else:
        # A source shape the canonical model has no slot for survives only verbatim.
        return OpaquePart(source=PROTOCOL, data=block)
    return part


def _decode_document(block: Obj, path: str) -> Part:
    source = _r.req_obj(block, "source", path)
    where = join(path, "source")
    kind = _r.req_str(source, "type", where)
    part = FilePart(
        title=_r.opt_str(block, "title", path),
        cache_control=_r.cache_control(block, "cache_control", path),
        extensions=_ext(block, _DOCUMENT_KEYS),
    )
    keys = set(source)
    if kind == "base64" and keys <= {"type", "data", "media_type"}:
        part.data = _r.req_str(source, "data", where)
        part.media_type = _r.req_str(source, "media_type", where)
    elif kind == "text" and keys <= {"type", "data", "media_type"}:
        part.text = _r.req_str(source, "data", where)
        part.media_type = _r.req_str(source, "media_type", where)
    elif kind == "url" and keys <= {"type", "url"}:
        part.url = _r.req_str(source, "url", where)
    elif kind == "file" and keys <= {"type", "file_id"}:
        part.file_id = _r.req_str(source, "file_id", where)
    else:
        return OpaquePart(source=PROTOCOL, data=block)
    return part


def _decode_tool_use(block: Obj, path: str) -> ToolCallPart:
    return ToolCallPart(
        id=_r.req_str(block, "id", path),
        name=_r.req_str(block, "name", path),
        arguments=dump_arguments(_r.req_obj(block, "input", path), PROTOCOL, join(path, "input")),
        cache_control=_r.cache_control(block, "cache_control", path),
        extensions=_ext(block, _TOOL_USE_KEYS),
    )


def _decode_tool_result(block: Obj, path: str) -> ToolResultPart:
    content = block.get("content")
    parts: List[Part] = []
    if isinstance(content, str):
        parts.append(TextPart(content))
    elif content is not None:
        where = join(path, "content")
        for i, item in enumerate(_r.arr(content, where)):
            parts.append(_decode_block(item, index(where, i)))
    return ToolResultPart(
        call_id=_r.req_str(block, "tool_use_id", path),
        content=parts,
        is_error=bool(_r.opt_bool(block, "is_error", path)),
        cache_control=_r.cache_control(block, "cache_control", path),
        extensions=_ext(block, _TOOL_RESULT_KEYS),
    )


def _decode_thinking(block: Obj, path: str) -> ReasoningPart:
    text = _r.req_str(block, "thinking", path)
    signature = _r.opt_str(block, "signature", path)
    if signature == "":
        # An empty signature marks reasoning that came from another provider (see
        # encode_response): it must never be replayed to Anthropic as if signed.
        return ReasoningPart(text=text, extensions=_ext(block, _THINKING_KEYS))
    return ReasoningPart(text=text, signature=signature, source=PROTOCOL, extensions=_ext(block, _THINKING_KEYS))


def _decode_redacted(block: Obj, path: str) -> ReasoningPart:
    return ReasoningPart(
        encrypted_content=_r.req_str(block, "data", path),
        redacted=True,
        source=PROTOCOL,
        extensions=_ext(block, _REDACTED_KEYS),
    )


_BLOCK_DECODERS = {
    "text": _decode_text,
    "image": _decode_image,
    "document": _decode_document,
    "tool_use": _decode_tool_use,
    "tool_result": _decode_tool_result,
    "thinking": _decode_thinking,
    "redacted_thinking": _decode_redacted,
}


def _decode_block(value: Any, path: str) -> Part:
    block = _r.obj(value, path)
    kind = _r.req_str(block, "type", path)
    decoder = _BLOCK_DECODERS.get(kind)
    if decoder is None:
        # server_tool_use, *_tool_result, search_result, container_upload, ...
        return OpaquePart(source=PROTOCOL, data=block)
    return decoder(block, path)


def _decode_content(value: Any, path: str) -> List[Part]:
    if isinstance(value, str):
        return [TextPart(value)]
    return [_decode_block(item, index(path, i)) for i, item in enumerate(_r.arr(value, path))]


def _decode_message(value: Any, path: str) -> Message:
    raw = _r.obj(value, path)
    role = _r.req_str(raw, "role", path)
    if role not in ("user", "assistant", "system"):
        raise _r.fail(join(path, "role"), f"expected 'user', 'assistant' or 'system', got {role!r}")
    content = _decode_content(_r.req(raw, "content", path), join(path, "content"))
    return Message(
        role=role,
        content=content,
        raw_message=raw,
        raw_format=PROTOCOL,
        extensions=_ext(raw, _MESSAGE_KEYS),
    )


def _parameters(schema: Obj) -> Optional[Obj]:
    # The schema Anthropic requires for a tool without parameters means "no parameters":
    # None, which encodes back to the same schema.
    return None if schema == _EMPTY_SCHEMA else schema


def _decode_tool(value: Any, path: str) -> Tool:
    raw = _r.obj(value, path)
    kind = raw.get("type")
    if kind is None or kind == "custom":
        return FunctionTool(
            name=_r.req_str(raw, "name", path),
            description=_r.opt_str(raw, "description", path),
            parameters=_parameters(_r.req_obj(raw, "input_schema", path)),
            strict=_r.opt_bool(raw, "strict", path),
            cache_control=_r.cache_control(raw, "cache_control", path),
            extensions=_ext(raw, _TOOL_KEYS),
        )
    if not isinstance(kind, str):
        raise _r.fail(join(path, "type"), f"expected a string, got {describe(kind)}")
    return BuiltinTool(type=kind, options={k: v for k, v in raw.items() if k != "type"}, source=PROTOCOL)


def _decode_tool_choice(raw: Obj, path: str) -> Tuple[Optional[ToolChoice], Optional[bool]]:
    kind = _r.req_str(raw, "type", path)
    mode = _TOOL_CHOICE_MODES.get(kind)
    if mode is None:
        raise _r.fail(join(path, "type"), f"unknown tool_choice type {kind!r}")
    disable = _r.opt_bool(raw, "disable_parallel_tool_use", path)
    parallel = None if disable is None else not disable
    if kind == "auto" and parallel is not None and len(raw) == 2:
        # Anthropic's only slot for the parallel switch; "auto" itself is the default
        # choice, so this is "parallel_tool_calls" alone, and encodes back the same.
        return None, parallel
    choice = ToolChoice(mode=mode, extensions=_ext(raw, _TOOL_CHOICE_KEYS))
    if kind == "tool":
        choice.name = _r.req_str(raw, "name", path)
    return choice, parallel


def _decode_reasoning(
    thinking: Optional[Obj], effort: Optional[str], path: str
) -> Tuple[Optional[ReasoningConfig], bool]:
    """The reasoning config, and whether ``thinking`` was understood (else kept verbatim)."""
    if thinking is None:
        return (ReasoningConfig(effort=effort) if effort is not None else None), True
    kind = _r.req_str(thinking, "type", path)
    config = ReasoningConfig(effort=effort, extensions=_ext(thinking, _THINKING_CONFIG_KEYS))
    if kind == "enabled":
        config.enabled = True
        config.budget_tokens = _r.req_int(thinking, "budget_tokens", path)
    elif kind == "adaptive":
        config.enabled = True
    elif kind == "disabled":
        config.enabled = False
    else:
        return (ReasoningConfig(effort=effort) if effort is not None else None), False
    return config, True


@entry_point(PROTOCOL, decoding=True)
def decode_request(raw: Dict[str, Any]) -> LlmRequest:
    """Decode a Messages create body into an `LlmRequest`."""
    body = _r.obj(raw, "")
    unknown = extras(body, _REQUEST_KEYS)
    request = LlmRequest(model=_r.req_str(body, "model", ""))
    request.max_output_tokens = _r.req_int(body, "max_tokens", "")

    system = body.get("system")
    if system is not None:
        if isinstance(system, str):
            parts: List[Part] = [TextPart(system)]
        else:
            parts = _decode_content(_r.arr(system, "system"), "system")
        request.messages.append(Message("system", parts, raw_message={"system": system}, raw_format=PROTOCOL))
    for i, item in enumerate(_r.req_arr(body, "messages", "")):
        request.messages.append(_decode_message(item, index("messages", i)))

    request.stop = _r.opt_str_list(body, "stop_sequences", "")
    request.stream = _r.opt_bool(body, "stream", "")
    request.temperature = _r.opt_num(body, "temperature", "")
    request.top_p = _r.opt_num(body, "top_p", "")
    request.top_k = _r.opt_int(body, "top_k", "")

    tools = _r.opt_arr(body, "tools", "")
    if tools is not None:
        request.tools = [_decode_tool(t, index("tools", i)) for i, t in enumerate(tools)]
    tool_choice = _r.opt_obj(body, "tool_choice", "")
    if tool_choice is not None:
        request.tool_choice, request.parallel_tool_calls = _decode_tool_choice(tool_choice, "tool_choice")

    effort: Optional[str] = None
    output_config = _r.opt_obj(body, "output_config", "")
    if output_config is not None:
        effort = _r.opt_str(output_config, "effort", "output_config")
        fmt = _r.opt_obj(output_config, "format", "output_config")
        rest = extras(output_config, _OUTPUT_CONFIG_KEYS)
        if fmt is not None:
            fmt_type = _r.req_str(fmt, "type", "output_config.format")
            if fmt_type == "json_schema":
                request.output_format = OutputFormat(
                    type="json_schema",
                    schema=_r.req_obj(fmt, "schema", "output_config.format"),
                    extensions=_ext(fmt, _FORMAT_KEYS),
                )
            else:
                rest["format"] = fmt
        if rest or not output_config:
            unknown["output_config"] = rest
    thinking = _r.opt_obj(body, "thinking", "")
    request.reasoning, understood = _decode_reasoning(thinking, effort, "thinking")
    if not understood:
        unknown["thinking"] = thinking

    metadata = _r.opt_obj(body, "metadata", "")
    if metadata is not None:
        user_id = metadata.get("user_id")
        if set(metadata) == {"user_id"} and isinstance(user_id, str):
            request.user = user_id
        else:
            _r.opt_str(metadata, "user_id", "metadata")
            unknown["metadata"] = metadata
    tier = _r.opt_str(body, "service_tier", "")
    if tier is not None:
        if tier in _SERVICE_TIERS:
            request.service_tier = _SERVICE_TIERS[tier]
        else:
            unknown["service_tier"] = tier
    request.extensions = with_extension(PROTOCOL, unknown)
    return request


# --------------------------------------------------------------------------- response


def _base64_text(data: str) -> Optional[str]:
    """The UTF-8 text a base64 payload holds, or None when it holds something else."""
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _decode_usage(raw: Obj, path: str) -> Usage:
    fresh = _r.req_int(raw, "input_tokens", path)
    read = _r.opt_int(raw, "cache_read_input_tokens", path)
    written = _r.opt_int(raw, "cache_creation_input_tokens", path)
    unknown = extras(raw, _USAGE_KEYS)
    reasoning: Optional[int] = None
    details = unknown.get("output_tokens_details")
    if isinstance(details, dict) and set(details) == {"thinking_tokens"}:
        reasoning = _r.opt_int(details, "thinking_tokens", join(path, "output_tokens_details"))
        if reasoning is not None:
            del unknown["output_tokens_details"]
    inputs = fresh + (read or 0) + (written or 0)
    outputs = _r.req_int(raw, "output_tokens", path)
    return Usage(
        input_tokens=inputs,
        output_tokens=outputs,
        # Anthropic sends no total; it is the sum by definition (mapping table 12).
        total_tokens=inputs + outputs,
        cached_input_tokens=read,
        cache_creation_input_tokens=written,
        reasoning_tokens=reasoning,
        extensions=with_extension(PROTOCOL, unknown),
    )


@entry_point(PROTOCOL, decoding=True)
def decode_response(raw: Dict[str, Any]) -> LlmResponse:
    """Decode a Messages response (``anthropic.types.Message``) into an `LlmResponse`."""
    body = _r.obj(raw, "")
    kind = _r.opt_str(body, "type", "")
    if kind is not None and kind != "message":
        raise _r.fail("type", f"expected 'message', got {kind!r}")
    role = _r.opt_str(body, "role", "")
    if role is not None and role != "assistant":
        raise _r.fail("role", f"expected 'assistant', got {role!r}")
    response = LlmResponse(id=_r.req_str(body, "id", ""), model=_r.req_str(body, "model", ""))

    output: List[OutputItem] = []
    texts: List[Any] = []
    parts: List[Part] = []

    def flush() -> None:
        if parts:
            output.append(
                Message(
                    "assistant",
                    list(parts),
                    raw_message={"role": "assistant", "content": list(texts)},
                    raw_format=PROTOCOL,
                )
            )
            parts.clear()
            texts.clear()

    for i, item in enumerate(_r.req_arr(body, "content", "")):
        part = _decode_block(item, index("content", i))
        if isinstance(part, TextPart):
            parts.append(part)
            texts.append(item)
            continue
        flush()
        if isinstance(part, (ToolCallPart, ReasoningPart, OpaquePart)):
            output.append(part)
        else:
            # Responses hold no images, documents or tool results; keep them verbatim.
            output.append(OpaquePart(source=PROTOCOL, data=item))
    flush()
    response.output = output

    stop = _r.opt_str(body, "stop_reason", "")
    response.raw_stop_reason = stop
    response.stop_reason = "end_turn" if stop is None else _STOP_REASONS.get(stop, "other")
    response.stop_sequence = _r.opt_str(body, "stop_sequence", "")
    usage = _r.opt_obj(body, "usage", "")
    if usage is not None:
        response.usage = _decode_usage(usage, "usage")
    unknown = extras(body, _RESPONSE_KEYS)
    if unknown.get("stop_details", 0) is None:
        # Null is the SDK default; keeping it would be reported as a loss elsewhere.
        del unknown["stop_details"]
    response.extensions = with_extension(PROTOCOL, unknown)
    return response


# =========================================================================== encoding


def _single_text(parts: List[Part]) -> Optional[str]:
    """The text when ``parts`` is one text part that a bare string represents exactly."""
    if len(parts) != 1:
        return None
    part = parts[0]
    if isinstance(part, TextPart) and part.cache_control is None and not part.extensions:
        return part.text
    return None


def _add_cache(out: Obj, cc: Optional[CacheControl]) -> None:
    if cc is not None:
        out["cache_control"] = cache_control_dict(cc)


class _Encoder:
    """One encode's block writers, sharing its loss log."""

    __slots__ = ("losses",)

    def __init__(self, losses: LossLog) -> None:
        self.losses = losses

    def lose(self, code: str, path: str, detail: str) -> None:
        self.losses.add(code, path, detail)

    # ----------------------------------------------------------------- parts

    def text(self, part: TextPart, path: str) -> Obj:
        out: Obj = {"type": "text", "text": part.text}
        _add_cache(out, part.cache_control)
        restore_extensions(out, part.extensions, PROTOCOL, self.losses, path)
        return out

    def image(self, part: ImagePart, path: str) -> Optional[Obj]:
        source: Obj
        data, media_type = part.data, part.media_type
        if data is None and part.url is not None:
            parsed = parse_data_url(part.url)
            if parsed is not None:
                media_type, data = parsed
        if data is not None:
            if media_type not in _IMAGE_MEDIA_TYPES:
                self.lose(
                    "L-MEDIA-TYPE",
                    path,
                    f"image media type {media_type!r} is not accepted by {PROTOCOL} (jpeg, png, gif, webp only)",
                )
                return None
            source = {"type": "base64", "media_type": media_type, "data": data}
        elif part.url is not None:
            source = {"type": "url", "url": part.url}
        elif part.file_id is not None:
            source = {"type": "file", "file_id": part.file_id}
        else:
            raise EncodeError(PROTOCOL, path, "image part has no url, data or file_id")
        if part.detail is not None:
            self.lose("L-MEDIA-DETAIL", join(path, "detail"), f"image detail is not supported by {PROTOCOL}")
        out: Obj = {"type": "image", "source": source}
        _add_cache(out, part.cache_control)
        restore_extensions(out, part.extensions, PROTOCOL, self.losses, path)
        return out

    def document(self, part: FilePart, path: str) -> Optional[Obj]:
        source: Obj
        data, media_type = part.data, part.media_type
        if data is None and part.url is not None:
            parsed = parse_data_url(part.url)
            if parsed is not None:
                media_type, data = parsed
        text = part.text
        if data is not None and media_type == "text/plain" and text is None:
            # Inline plain text arrives base64-encoded from file-based protocols; Anthropic
            # takes it as a text source.
            text = _base64_text(data)
            if text is not None:
                data = None
        if data is not None:
            if media_type != "application/pdf":
                self.lose(
                    "L-MEDIA-TYPE",
                    path,
                    f"document media type {media_type!r} is not accepted inline by {PROTOCOL} (PDF or plain text)",
                )
                return None
            source = {"type": "base64", "media_type": media_type, "data": data}
        elif text is not None:
            source = {"type": "text", "media_type": "text/plain", "data": text}
            if part.media_type not in (None, "text/plain"):
                self.lose("L-MEDIA-TYPE", path, f"document media type {part.media_type!r} sent as text/plain")
        elif part.url is not None:
            source = {"type": "url", "url": part.url}
        elif part.file_id is not None:
            source = {"type": "file", "file_id": part.file_id}
        else:
            raise EncodeError(PROTOCOL, path, "file part has no url, data, text or file_id")
        out: Obj = {"type": "document", "source": source}
        if part.title is not None:
            out["title"] = part.title
        if part.filename is not None:
            self.lose("L-FILE-NAME", join(path, "filename"), f"document filename is not supported by {PROTOCOL}")
        _add_cache(out, part.cache_control)
        restore_extensions(out, part.extensions, PROTOCOL, self.losses, path)
        return out

    def tool_call(self, part: ToolCallPart, path: str) -> Obj:
        value, ok = load_arguments(part.arguments)
        if not ok:
            self.lose(
                "L-TOOL-ARGS-INVALID-JSON",
                join(path, "arguments"),
                f"tool call arguments are not a JSON object; {PROTOCOL} gets them under '_raw'",
            )
        elif part.arguments and dump_arguments(value, PROTOCOL, join(path, "arguments"), False) != part.arguments:
            self.lose(
                "L-TOOL-ARGS-FORMAT",
                join(path, "arguments"),
                f"{PROTOCOL} carries arguments as an object; their original JSON formatting is not kept",
            )
        if part.synthetic_id:
            self.lose("L-TOOL-ID-SYNTH", join(path, "id"), f"tool call id {part.id!r} was made up for {PROTOCOL}")
        out: Obj = {"type": "tool_use", "id": part.id, "name": part.name, "input": value}
        _add_cache(out, part.cache_control)
        restore_extensions(out, part.extensions, PROTOCOL, self.losses, path)
        return out

    def tool_result(self, part: ToolResultPart, path: str, raw: Optional[Obj]) -> Obj:
        out: Obj = {"type": "tool_result", "tool_use_id": part.call_id}
        if part.synthetic_id:
            self.lose(
                "L-TOOL-ID-SYNTH", join(path, "call_id"), f"tool result id {part.call_id!r} was made up for {PROTOCOL}"
            )
        single = _single_text(part.content)
        if single is not None and (raw is None or isinstance(raw.get("content"), str)):
            out["content"] = single
        elif part.content or (raw is not None and "content" in raw):
            out["content"] = self.blocks(part.content, join(path, "content"), result=True)
        if part.is_error or (raw is not None and "is_error" in raw):
            out["is_error"] = part.is_error
        _add_cache(out, part.cache_control)
        restore_extensions(out, part.extensions, PROTOCOL, self.losses, path)
        return out

    def reasoning_history(self, part: ReasoningPart, path: str) -> Optional[Obj]:
        if part.source != PROTOCOL:
            self.lose(
                "L-REASONING-OPAQUE",
                path,
                f"reasoning from {part.source or 'an unknown source'} cannot be replayed to {PROTOCOL} "
                "without an Anthropic signature; dropped",
            )
            return None
        return self.signed_reasoning(part, path)

    def signed_reasoning(self, part: ReasoningPart, path: str) -> Obj:
        out: Obj
        if part.redacted:
            out = {"type": "redacted_thinking", "data": part.encrypted_content or ""}
        else:
            out = {"type": "thinking", "thinking": part.text or ""}
            if part.signature is not None:
                out["signature"] = part.signature
        restore_extensions(out, part.extensions, PROTOCOL, self.losses, path)
        return out

    def opaque(self, part: OpaquePart, path: str) -> Optional[Obj]:
        if part.source == PROTOCOL:
            return part.data
        kind = part.data.get("type", "item")
        self.lose("L-OPAQUE", path, f"{part.source} item {kind!r} has no equivalent in {PROTOCOL}")
        return None

    def block(self, part: Part, path: str, raw_blocks: Dict[str, Obj], result: bool = False) -> Optional[Obj]:
        if isinstance(part, TextPart):
            return self.text(part, path)
        if isinstance(part, ImagePart):
            return self.image(part, path)
        if isinstance(part, FilePart):
            return self.document(part, path)
        if isinstance(part, OpaquePart):
            return self.opaque(part, path)
        if isinstance(part, AudioPart):
            self.lose("L-AUDIO", path, f"audio input is not supported by {PROTOCOL}")
            return None
        if isinstance(part, RefusalPart):
            self.lose("L-REFUSAL-PART", path, f"refusal is sent as plain text: {PROTOCOL} has no refusal block")
            return {"type": "text", "text": part.text}
        if result:
            self.lose("L-RESULT-MEDIA", path, f"{type(part).__name__} is not allowed inside a {PROTOCOL} tool_result")
            return None
        if isinstance(part, ToolCallPart):
            return self.tool_call(part, path)
        if isinstance(part, ToolResultPart):
            return self.tool_result(part, path, raw_blocks.get(part.call_id))
        return self.reasoning_history(part, path)

    def blocks(
        self, parts: List[Part], path: str, raw_blocks: Optional[Dict[str, Obj]] = None, result: bool = False
    ) -> List[Obj]:
        out: List[Obj] = []
        raw = raw_blocks or {}
        for i, part in enumerate(parts):
            block = self.block(part, index(path, i), raw, result)
            if block is not None:
                out.append(block)
        return out


# --------------------------------------------------------------------------- request


def _raw_tool_results(message: Message) -> Dict[str, Obj]:
    """The wire tool_result blocks of a message decoded from this format, by tool_use_id."""
    found: Dict[str, Obj] = {}
    if message.raw_format != PROTOCOL or message.raw_message is None:
        return found
    content = message.raw_message.get("content")
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                key = block.get("tool_use_id")
                if isinstance(key, str):
                    found.setdefault(key, block)
    return found


def _is_native_system(message: Message) -> bool:
    """A ``system`` message decoded from inside this format's ``messages`` array."""
    return (
        message.role == "system"
        and message.raw_format == PROTOCOL
        and message.raw_message is not None
        and message.raw_message.get("role") == "system"
    )


def _encode_system(request: LlmRequest, enc: _Encoder) -> Tuple[Optional[Any], List[int]]:
    """The top-level ``system`` value and the indexes of the messages it absorbed."""
    absorbed: List[int] = []
    parts: List[Tuple[Part, str]] = []
    hint: Optional[Any] = None
    if request.instructions is not None:
        parts.append((TextPart(request.instructions), "instructions"))
    leading = True
    for i, message in enumerate(request.messages):
        if message.role not in ("system", "developer") or _is_native_system(message):
            leading = False
            continue
        path = index("messages", i)
        if not leading:
            enc.lose(
                "L-ROLE-SYSTEM-POSITION",
                path,
                f"{message.role} message in mid-conversation is moved into the top-level system prompt of {PROTOCOL}",
            )
        elif absorbed or request.instructions is not None:
            enc.lose(
                "L-ROLE-SYSTEM-POSITION",
                path,
                f"{message.role} message is merged with the preceding system prompt: {PROTOCOL} has one system slot",
            )
        if message.role == "developer":
            enc.lose("L-ROLE-DEVELOPER", path, f"developer message is folded into the {PROTOCOL} system prompt")
        if message.name is not None:
            enc.lose("L-ROLE-NAME", join(path, "name"), f"message name is not supported by {PROTOCOL}")
        restore_extensions({}, message.extensions, PROTOCOL, enc.losses, path)
        if message.raw_format == PROTOCOL and message.raw_message is not None and "system" in message.raw_message:
            hint = message.raw_message["system"]
        absorbed.append(i)
        for j, part in enumerate(message.content):
            parts.append((part, index(join(path, "content"), j)))
    if not absorbed and request.instructions is None:
        return None, absorbed
    blocks: List[Obj] = []
    for part, path in parts:
        if isinstance(part, TextPart):
            blocks.append(enc.text(part, path))
        elif isinstance(part, OpaquePart) and part.source == PROTOCOL:
            blocks.append(part.data)
        else:
            enc.lose("L-SYSTEM-MEDIA", path, f"{type(part).__name__} cannot appear in the {PROTOCOL} system prompt")
    if _single_text([p for p, _ in parts]) is not None and not isinstance(hint, list):
        return blocks[0]["text"], absorbed
    return blocks, absorbed


def _user_turn_content(message: Message) -> bool:
    """Whether the wire form of a message decoded from this format was a string."""
    return (
        message.raw_format == PROTOCOL
        and message.raw_message is not None
        and isinstance(message.raw_message.get("content"), str)
    )


def _encode_messages(request: LlmRequest, enc: _Encoder, absorbed: List[int]) -> List[Obj]:
    skip = set(absorbed)
    out: List[Obj] = []
    pending: Optional[Obj] = None  # the user turn collecting a run of tool messages
    for i, message in enumerate(request.messages):
        if i in skip:
            continue
        path = index("messages", i)
        if message.name is not None:
            enc.lose("L-ROLE-NAME", join(path, "name"), f"message name is not supported by {PROTOCOL}")
        role = message.role
        if role == "tool":
            if not any(isinstance(p, ToolResultPart) for p in message.content):
                raise EncodeError(PROTOCOL, path, "tool message holds no tool result")
            blocks = enc.blocks(message.content, join(path, "content"))
            restore_extensions({}, message.extensions, PROTOCOL, enc.losses, path)
            if pending is None:
                pending = {"role": "user", "content": blocks}
                out.append(pending)
            else:
                pending["content"].extend(blocks)
            continue
        raw_results = _raw_tool_results(message)
        blocks = enc.blocks(message.content, join(path, "content"), raw_results)
        if message.raw_format != PROTOCOL and len(blocks) > 1:
            # The API rejects empty text blocks; other formats use "" for "no text".
            blocks = [b for b in blocks if b.get("type") != "text" or b.get("text")] or blocks
        if pending is not None and role == "user":
            # Anthropic wants every result of a tool run and the user's follow-up in one turn.
            pending["content"].extend(blocks)
            restore_extensions(pending, message.extensions, PROTOCOL, enc.losses, path)
            pending = None
            continue
        pending = None
        if message.content and not blocks:
            continue  # every part was dropped (and reported): an empty turn is invalid
        wire_role = role if role in ("user", "assistant") else "system"
        turn: Obj = {"role": wire_role}
        single = _single_text(message.content)
        if single is not None and (message.raw_format != PROTOCOL or _user_turn_content(message)):
            turn["content"] = single
        else:
            turn["content"] = blocks
        restore_extensions(turn, message.extensions, PROTOCOL, enc.losses, path)
        out.append(turn)
    return out


def _encode_tools(request: LlmRequest, enc: _Encoder) -> List[Obj]:
    out: List[Obj] = []
    for i, tool in enumerate(request.tools):
        path = index("tools", i)
        if isinstance(tool, BuiltinTool):
            if tool.source == PROTOCOL:
                built: Obj = {"type": tool.type}
                built.update(tool.options)
                restore_extensions(built, tool.extensions, PROTOCOL, enc.losses, path)
                out.append(built)
            else:
                enc.lose(
                    "L-TOOL-CUSTOM",
                    path,
                    f"{builtin_label(tool)} from {tool.source or 'another format'} has no equivalent in {PROTOCOL}",
                )
            continue
        spec: Obj = {"name": tool.name}
        if tool.description is not None:
            spec["description"] = tool.description
        spec["input_schema"] = tool.parameters if tool.parameters is not None else dict(_EMPTY_SCHEMA)
        if tool.strict is not None:
            spec["strict"] = tool.strict
        _add_cache(spec, tool.cache_control)
        restore_extensions(spec, tool.extensions, PROTOCOL, enc.losses, path)
        out.append(spec)
    return out


def _encode_tool_choice(request: LlmRequest, thinking_on: bool, enc: _Encoder) -> Optional[Obj]:
    choice = request.tool_choice
    parallel = request.parallel_tool_calls
    out: Obj
    if choice is None:
        if parallel is None:
            return None
        if not request.tools:
            enc.lose("L-TC-PARALLEL", "parallel_tool_calls", f"{PROTOCOL} has no parallel switch without tools")
            return None
        out = {"type": "auto"}
    else:
        mode, name = choice.mode, choice.name
        if choice.allowed is not None:
            if mode == "required" and len(choice.allowed) == 1:
                mode, name = "tool", choice.allowed[0]
            else:
                enc.lose(
                    "L-TC-SUBSET",
                    "tool_choice.allowed",
                    f"{PROTOCOL} cannot restrict the choice to a subset of tools; all tools are offered",
                )
        if mode in ("required", "tool") and thinking_on:
            enc.lose(
                "L-TC-FORCED-THINKING",
                "tool_choice",
                f"{PROTOCOL} does not allow forcing a tool while thinking is on; tool_choice downgraded to auto",
            )
            mode = "auto"
        if mode == "tool":
            if name is None:
                raise EncodeError(PROTOCOL, "tool_choice.name", "a forced tool choice needs a tool name")
            out = {"type": "tool", "name": name}
        elif mode == "required":
            out = {"type": "any"}
        elif mode == "none":
            out = {"type": "none"}
        else:
            if mode != "auto":
                raise EncodeError(PROTOCOL, "tool_choice.mode", f"unknown tool choice mode {mode!r}")
            out = {"type": "auto"}
        restore_extensions(out, choice.extensions, PROTOCOL, enc.losses, "tool_choice")
    if parallel is not None:
        if out["type"] == "none":
            enc.lose("L-TC-PARALLEL", "parallel_tool_calls", f"{PROTOCOL} tool_choice none has no parallel switch")
        else:
            out["disable_parallel_tool_use"] = not parallel
    return out


def _clamp_budget(budget: int, max_tokens: int, enc: _Encoder) -> Optional[int]:
    """A thinking budget within Anthropic's ``1024 <= budget < max_tokens``; None if impossible."""
    if budget < MIN_THINKING_BUDGET:
        enc.lose(
            "L-REASONING-EFFORT-BUDGET",
            "reasoning.budget_tokens",
            f"thinking budget {budget} raised to the {PROTOCOL} minimum of {MIN_THINKING_BUDGET}",
        )
        budget = MIN_THINKING_BUDGET
    if budget >= max_tokens:
        if max_tokens <= MIN_THINKING_BUDGET:
            enc.lose(
                "L-REASONING-EFFORT-BUDGET",
                "reasoning.budget_tokens",
                f"max_tokens {max_tokens} leaves no room for a {PROTOCOL} thinking budget; thinking not requested",
            )
            return None
        enc.lose(
            "L-REASONING-EFFORT-BUDGET",
            "reasoning.budget_tokens",
            f"thinking budget {budget} clamped to {max_tokens - 1}, below max_tokens as {PROTOCOL} requires",
        )
        budget = max_tokens - 1
    return budget


def _encode_reasoning(config: ReasoningConfig, max_tokens: int, enc: _Encoder) -> Tuple[Optional[Obj], Optional[str]]:
    """The ``thinking`` object and the ``output_config.effort`` value."""
    effort = config.effort
    enabled = config.enabled
    budget = config.budget_tokens
    thinking: Optional[Obj] = None
    if effort is not None and effort not in _EFFORTS:
        if effort == "none" and enabled is not True and budget is None:
            enc.lose(
                "L-REASONING-EFFORT-BUDGET",
                "reasoning.effort",
                f"reasoning effort 'none' is sent as {PROTOCOL} thinking type 'disabled'",
            )
            enabled = False
        elif effort != "none" and budget is None and enabled is not False:
            budget = _EFFORT_BUDGET.get(effort, _EFFORT_BUDGET["medium"])
            enc.lose(
                "L-REASONING-EFFORT-BUDGET",
                "reasoning.effort",
                f"reasoning effort {effort!r} has no {PROTOCOL} equivalent; sent as a thinking budget of {budget}",
            )
            enabled = True
        else:
            enc.lose("L-REASONING-EFFORT-BUDGET", "reasoning.effort", f"reasoning effort {effort!r} dropped")
        effort = None
    if budget is not None and enabled is not False:
        clamped = _clamp_budget(budget, max_tokens, enc)
        if clamped is not None:
            thinking = {"type": "enabled", "budget_tokens": clamped}
    elif enabled is True:
        thinking = {"type": "adaptive"}
    elif enabled is False:
        thinking = {"type": "disabled"}
        if budget is not None:
            enc.lose("L-REASONING-EFFORT-BUDGET", "reasoning.budget_tokens", "thinking budget dropped: thinking is off")
    if config.summary is not None:
        enc.lose(
            "L-REASONING-SUMMARY",
            "reasoning.summary",
            f"reasoning summary mode {config.summary!r} has no {PROTOCOL} equivalent (thinking is summarized)",
        )
    if config.include_thoughts is not None:
        enc.lose(
            "L-REASONING-SUMMARY",
            "reasoning.include_thoughts",
            f"include_thoughts has no {PROTOCOL} switch (thinking is returned when on)",
        )
    if thinking is not None:
        restore_extensions(thinking, config.extensions, PROTOCOL, enc.losses, "reasoning")
    else:
        restore_extensions({}, config.extensions, PROTOCOL, enc.losses, "reasoning")
    return thinking, effort


def _encode_output_format(fmt: OutputFormat, enc: _Encoder) -> Optional[Obj]:
    if fmt.type == "text":
        restore_extensions({}, fmt.extensions, PROTOCOL, enc.losses, "output_format")
        return None
    if fmt.type != "json_schema" or fmt.schema is None:
        enc.lose(
            "L-SO-JSON-MODE",
            "output_format",
            f"{PROTOCOL} has no schema-less JSON mode; the output format is dropped",
        )
        return None
    out: Obj = {"type": "json_schema", "schema": fmt.schema}
    if fmt.name is not None or fmt.description is not None:
        enc.lose("L-SO-NAME", "output_format.name", f"{PROTOCOL} json_schema output has no name or description")
    if fmt.strict is not None:
        enc.lose("L-SO-STRICT", "output_format.strict", f"{PROTOCOL} json_schema output has no strict flag")
    restore_extensions(out, fmt.extensions, PROTOCOL, enc.losses, "output_format")
    return out


def _encode_sampling(request: LlmRequest, out: Obj, enc: _Encoder) -> None:
    # Sent only when the caller set them: API version 2026-10-21 rejects them outright.
    if request.temperature is not None:
        value = request.temperature
        if value > 1 or value < 0:
            clamped = 1 if value > 1 else 0
            enc.lose(
                "L-SAMPLING-CLAMP",
                "temperature",
                f"temperature {value} is outside the {PROTOCOL} range 0..1; clamped to {clamped}",
            )
            value = clamped
        out["temperature"] = value
    if request.top_p is not None:
        out["top_p"] = request.top_p
    if request.top_k is not None:
        out["top_k"] = request.top_k
    if request.stop is not None:
        out["stop_sequences"] = list(request.stop)
    if request.seed is not None:
        enc.lose("L-SEED", "seed", f"seed is not supported by {PROTOCOL}")
    if request.presence_penalty is not None:
        enc.lose("L-PENALTIES", "presence_penalty", f"presence_penalty is not supported by {PROTOCOL}")
    if request.frequency_penalty is not None:
        enc.lose("L-PENALTIES", "frequency_penalty", f"frequency_penalty is not supported by {PROTOCOL}")
    if request.logprobs:
        enc.lose("L-LOGPROBS", "logprobs", f"logprobs are not supported by {PROTOCOL}")
    if request.top_logprobs is not None:
        enc.lose("L-LOGPROBS", "top_logprobs", f"top_logprobs is not supported by {PROTOCOL}")
    if request.n is not None and request.n != 1:
        enc.lose("L-N-CANDIDATES", "n", f"n={request.n}: {PROTOCOL} returns one candidate")


@entry_point(PROTOCOL, decoding=False)
def encode_request(request: LlmRequest, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """Encode an `LlmRequest` as a Messages create body, recording what is lost."""
    enc = _Encoder(losses if losses is not None else LossLog(PROTOCOL))
    out: Obj = {"model": request.model}
    if request.max_output_tokens is not None:
        max_tokens = request.max_output_tokens
    else:
        max_tokens = DEFAULT_MAX_TOKENS
        enc.lose(
            "L-MAXTOKENS-DEFAULT",
            "max_output_tokens",
            f"{PROTOCOL} requires max_tokens; {DEFAULT_MAX_TOKENS} was sent",
        )
    out["max_tokens"] = max_tokens
    system, absorbed = _encode_system(request, enc)
    if system is not None:
        out["system"] = system
    out["messages"] = _encode_messages(request, enc, absorbed)
    _encode_sampling(request, out, enc)
    if request.stream is not None:
        out["stream"] = request.stream
    if request.tools:
        out["tools"] = _encode_tools(request, enc)

    output_config: Obj = {}
    thinking_on = False
    if request.reasoning is not None:
        thinking, effort = _encode_reasoning(request.reasoning, max_tokens, enc)
        if thinking is not None:
            out["thinking"] = thinking
            thinking_on = thinking["type"] in ("enabled", "adaptive")
        if effort is not None:
            output_config["effort"] = effort
    if request.output_format is not None:
        fmt = _encode_output_format(request.output_format, enc)
        if fmt is not None:
            output_config["format"] = fmt
    tool_choice = _encode_tool_choice(request, thinking_on, enc)
    if tool_choice is not None:
        out["tool_choice"] = tool_choice

    if request.user is not None:
        out["metadata"] = {"user_id": request.user}
    if request.metadata:
        enc.lose("L-METADATA", "metadata", f"free-form metadata is not supported by {PROTOCOL}")
    if request.service_tier is not None:
        tier = _SERVICE_TIERS_BACK.get(request.service_tier)
        if tier is None:
            enc.lose(
                "L-SERVICE-TIER",
                "service_tier",
                f"service tier {request.service_tier!r} has no equivalent in {PROTOCOL} (auto, standard_only)",
            )
        else:
            out["service_tier"] = tier
    if request.prompt_cache_key is not None:
        enc.lose("L-CACHE-MARKERS", "prompt_cache_key", f"prompt_cache_key is not supported by {PROTOCOL}")

    extensions = request.extensions
    own = extensions.get(PROTOCOL)
    if own and isinstance(own.get("output_config"), dict):
        # Unknown output_config fields live under one key; merge them into the object.
        own = dict(own)
        for key, value in own.pop("output_config").items():
            output_config.setdefault(key, value)
        if not output_config:
            out["output_config"] = {}
        extensions = dict(extensions)
        extensions[PROTOCOL] = own
    if output_config:
        out["output_config"] = output_config
    restore_extensions(out, extensions, PROTOCOL, enc.losses, "")
    return out


# --------------------------------------------------------------------------- response


def _encode_usage(usage: Optional[Usage], enc: _Encoder) -> Obj:
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0}
    read = usage.cached_input_tokens
    written = usage.cache_creation_input_tokens
    out: Obj = {"input_tokens": max(0, usage.input_tokens - (read or 0) - (written or 0))}
    if written is not None:
        out["cache_creation_input_tokens"] = written
    if read is not None:
        out["cache_read_input_tokens"] = read
    out["output_tokens"] = usage.output_tokens
    if usage.reasoning_tokens is not None:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    if usage.total_tokens is not None and usage.total_tokens != usage.input_tokens + usage.output_tokens:
        enc.lose(
            "L-USAGE-TOTAL",
            "usage.total_tokens",
            f"{PROTOCOL} has no total; {usage.total_tokens} differs from input plus output",
        )
    restore_extensions(out, usage.extensions, PROTOCOL, enc.losses, "usage")
    return out


def _stop_reason(response: LlmResponse, enc: _Encoder) -> str:
    raw = response.raw_stop_reason
    if raw is not None and _STOP_REASONS.get(raw) == response.stop_reason:
        return raw
    wire = _STOP_REASONS_BACK.get(response.stop_reason)
    if wire is not None:
        note_finer_stop(enc.losses, "stop_reason", PROTOCOL, response.stop_reason, raw, wire)
        return wire
    closest = "refusal" if response.stop_reason == "content_filter" else "end_turn"
    enc.lose(
        "L-FINISH-GRANULARITY",
        "stop_reason",
        f"stop reason {response.stop_reason!r} has no {PROTOCOL} equivalent; sent as {closest!r}",
    )
    return closest


def _response_reasoning(part: ReasoningPart, path: str, enc: _Encoder) -> Optional[Obj]:
    if part.source == PROTOCOL:
        return enc.signed_reasoning(part, path)
    text = part.text
    if text is None and part.summary:
        text = "\n\n".join(part.summary)
        enc.lose("L-REASONING-SUMMARY", path, f"reasoning summaries are sent as one {PROTOCOL} thinking text")
    if text is None:
        enc.lose(
            "L-REASONING-OPAQUE",
            path,
            f"reasoning from {part.source or 'an unknown source'} has no text and no {PROTOCOL} signature; dropped",
        )
        return None
    enc.lose(
        "L-REASONING-OPAQUE",
        path,
        f"reasoning from {part.source or 'an unknown source'} is sent with an empty {PROTOCOL} signature "
        "and cannot be replayed to Anthropic",
    )
    out: Obj = {"type": "thinking", "thinking": text, "signature": ""}
    restore_extensions(out, part.extensions, PROTOCOL, enc.losses, path)
    return out


def _encode_output(items: List[OutputItem], enc: _Encoder, message_fields: Obj) -> List[Obj]:
    """The content blocks of ``items``; this protocol's message-level extension fields go
    to ``message_fields`` (the Messages response is itself the one assistant message)."""
    content: List[Obj] = []
    for i, item in enumerate(items):
        path = index("output", i)
        block: Optional[Obj]
        if isinstance(item, Message):
            if item.role != "assistant":
                raise EncodeError(PROTOCOL, join(path, "role"), f"response output message has role {item.role!r}")
            if item.extensions:
                # Loss is never silent: other protocols' message fields (chat annotations,
                # Responses item ids) are reported like every other target does.
                restore_extensions(message_fields, item.extensions, PROTOCOL, enc.losses, path)
            for j, part in enumerate(item.content):
                where = index(join(path, "content"), j)
                if isinstance(part, ReasoningPart):
                    block = _response_reasoning(part, where, enc)
                elif isinstance(part, (ImagePart, FilePart)):
                    enc.lose("L-OPAQUE", where, f"{type(part).__name__} output has no equivalent in {PROTOCOL}")
                    block = None
                else:
                    block = enc.block(part, where, {})
                if block is not None:
                    content.append(block)
            continue
        if isinstance(item, ToolCallPart):
            block = enc.tool_call(item, path)
        elif isinstance(item, ReasoningPart):
            block = _response_reasoning(item, path, enc)
        else:
            block = enc.opaque(item, path)
        if block is not None:
            content.append(block)
    return content


@entry_point(PROTOCOL, decoding=False)
def encode_response(response: LlmResponse, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """Encode an `LlmResponse` as a Messages response body, recording what is lost."""
    enc = _Encoder(losses if losses is not None else LossLog(PROTOCOL))
    message_fields: Obj = {}
    out: Obj = {
        "id": response.id,
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": _encode_output(response.output, enc, message_fields),
        "stop_reason": _stop_reason(response, enc),
        # The API always sends stop_sequence, null unless a custom sequence matched.
        "stop_sequence": response.stop_sequence,
        "usage": _encode_usage(response.usage, enc),
    }
    if response.choices:
        enc.lose(
            "L-N-CANDIDATES",
            "choices",
            f"{len(response.choices)} extra candidate(s) dropped: {PROTOCOL} returns one",
        )
    if response.created:  # 0 is the placeholder other encoders write for "unknown"
        enc.lose("L-CREATED", "created", f"the creation time has no field in {PROTOCOL}")
    restore_extensions(out, response.extensions, PROTOCOL, enc.losses, "")
    for key, value in message_fields.items():
        out.setdefault(key, value)
    return out


__all__ = ["PROTOCOL", "decode_request", "decode_response", "encode_request", "encode_response"]
