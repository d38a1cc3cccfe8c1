"""AWS Bedrock Converse (``POST /model/{modelId}/converse``) codec: wire dicts <-> the canonical model.

Wire facts follow botocore's ``bedrock-runtime`` service model (the ``Converse`` operation's
input and output shapes), which wins over the reference notes where they disagree: the
message role is only ``user`` or ``assistant``, and ``outputConfig`` has only
``textFormat``. JSON is camelCase; blob members (image, document, audio and video
``bytes``, ``redactedContent``) are base64 strings.

Choices worth knowing:

* **modelId**: the API takes it from the URL path. `decode_request` reads an optional
  top-level ``modelId`` (the shape boto3's ``converse(modelId=..., ...)`` parameters take);
  a bare body decodes with ``model == ""``. `encode_request` writes ``modelId`` first
  whenever the canonical request names a model; the transport moves it into the path.
* **Content blocks are unions** (exactly one member per block; anything else is a
  `DecodeError`). ``text``, ``image``, ``document``, ``audio``, ``toolUse``, ``toolResult``
  and ``reasoningContent`` map to canonical parts; ``video``, ``guardContent``,
  ``searchResult``, server-side ``toolUse`` (with ``type``) and members newer than this
  codec are `OpaquePart` s that survive only into this format. A ``citationsContent``
  block holding one text is a `TextPart` whose extensions carry the citations.
* **cachePoint** blocks (in ``system``, ``messages[].content`` and ``toolConfig.tools``)
  become the ``cache_control`` of the part or tool just before them, and any canonical
  ``cache_control`` is written as a ``cachePoint`` after its block. A cache point with no
  such predecessor stays an opaque block.
* **Roles**: the top-level ``system`` becomes one leading ``Message(role="system")``.
  System and developer messages from other formats are hoisted into ``system``
  (L-ROLE-SYSTEM-POSITION, L-ROLE-DEVELOPER); ``tool`` messages become ``toolResult``
  blocks in a user turn, and adjacent turns of the same role are merged (Bedrock expects
  alternation) unless both were separate turns decoded from this format.
* **Tool ids** must match ``[a-zA-Z0-9_.:-]{1,64}``; other ids are rewritten
  deterministically (invalid characters replaced, a hash suffix keeps them unique), the
  same way for a call and its result (L-TOOL-ID-REWRITE).
* **Tool results**: ``json`` blocks decode to `TextPart` s holding the value's compact JSON
  text, with a shape marker (below) so that this codec writes them back as ``json``.
  ``status: "error"`` is ``is_error``.
* **Model-native fields**: ``additionalModelRequestFields`` is a free-form document that
  the model provider interprets. For Anthropic models (a ``modelId`` containing
  ``anthropic.`` or starting with ``claude``) its ``top_k`` and ``thinking`` (Anthropic's ``{"type": "enabled",
  "budget_tokens": N}`` / ``adaptive`` / ``disabled``) map to ``top_k`` and
  `ReasoningConfig`, both ways; for other models the document stays verbatim in
  ``extensions`` and canonical ``top_k`` / reasoning are reported lost (L-TOP-K,
  L-REASONING-EFFORT-BUDGET). An effort level becomes a thinking budget by the
  mapping-tables bridge; budgets are kept within Claude's ``1024 <= N < maxTokens``.
* **Structured output**: ``outputConfig.textFormat.structure.jsonSchema.schema`` is a JSON
  *string*; it decodes to the schema object. When the string is not the compact form
  this codec writes, the original text is kept in the format's extensions and written
  back while the schema is unchanged.
* **tool_choice**: ``auto`` -> ``{"auto": {}}``, ``required`` -> ``{"any": {}}``, ``tool``
  -> ``{"tool": {"name": ...}}``. There is no "none": ``toolConfig`` is omitted, or kept
  without a choice when the history holds tool blocks (which Bedrock then requires)
  (L-TC-NONE). There is no parallel switch (L-TC-PARALLEL) and no subset restriction
  (L-TC-SUBSET: all tools are offered).
* **Documents** need a ``name``: the canonical ``title`` (a document's name is what the
  model sees), else the filename without its extension, sanitised to the characters AWS
  allows (letters, digits, single spaces, hyphens, parentheses, square brackets), else
  ``document-<n>`` (L-FILE-NAME whenever the name is not the title as given).
* **Media by URL**: Bedrock takes inline bytes or ``s3://`` locations only; other URLs
  and file ids are dropped (L-MEDIA-URL-FETCH).
* **Responses** have no id, model or creation time: they decode as ``""`` / ``None``, and
  encoding from another format reports them (L-RESPONSE-ID, L-RESPONSE-MODEL, L-CREATED).
  ``metrics`` is kept in extensions unless it is ``{"latencyMs": 0}``, the placeholder
  this codec writes when the latency is unknown. The matched stop sequence is read from
  and written to ``additionalModelResponseFields.stop_sequence`` (where Claude models put
  it when asked through ``additionalModelResponseFieldPaths``).
* **Usage**: ``inputTokens`` excludes cache reads and writes (as for Anthropic models,
  per the AWS prompt-caching documentation; the notes call it unverified): canonical
  ``input_tokens`` adds them, encoding subtracts them.
* **Shape markers**: wire choices that carry no information but must survive a same-format
  round trip (a ``json`` tool result, an explicit ``status: "success"``, a
  ``citationsContent`` block, an absent ``messages``) are extension keys
  ``"bedrock_converse~<marker>"`` holding an empty dict, which other codecs ignore.
* Loss codes beyond the mapping-tables catalogue: L-RESPONSE-ID, L-RESPONSE-MODEL,
  L-CREATED, L-METADATA (end-user id; metadata Bedrock cannot hold), L-MEDIA-TYPE,
  L-MEDIA-DETAIL, L-FILE-NAME, L-SYSTEM-MEDIA, L-REFUSAL-PART, L-TOP-K, L-OPAQUE,
  L-EXTENSION, L-TC-NO-TOOLS (a tool choice with no function tool to send).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

from ..errors import EncodeError
from ..model import (
    AudioPart,
    BuiltinTool,
    CacheControl,
    Extensions,
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
    describe,
    dump_arguments,
    entry_point,
    extras,
    index,
    join,
    note_finer_stop,
    parse_data_url,
    reject_json_constant,
    with_extension,
)

PROTOCOL = "bedrock_converse"

_R = Reader(PROTOCOL)
_MARK = PROTOCOL + "~"
_JSON_RESULT = _MARK + "json"
_STATUS_SUCCESS = _MARK + "status"
_CITATIONS_BLOCK = _MARK + "citations"
_NO_MESSAGES = _MARK + "no-messages"

DEFAULT_LATENCY: Obj = {"latencyMs": 0}
MIN_THINKING_BUDGET = 1024

_REQUEST_KEYS = frozenset(
    {
        "modelId",
        "messages",
        "system",
        "inferenceConfig",
        "toolConfig",
        "additionalModelRequestFields",
        "outputConfig",
        "requestMetadata",
        "serviceTier",
    }
)
_MESSAGE_KEYS = frozenset({"role", "content"})
_INFERENCE_KEYS = frozenset({"maxTokens", "temperature", "topP", "stopSequences"})
_TOOL_CONFIG_KEYS = frozenset({"tools", "toolChoice"})
_TOOL_SPEC_KEYS = frozenset({"name", "description", "inputSchema", "strict"})
_MEDIA_KEYS = frozenset({"format", "source"})
_DOCUMENT_KEYS = frozenset({"format", "name", "source"})
_TOOL_USE_KEYS = frozenset({"toolUseId", "name", "input"})
_TOOL_RESULT_KEYS = frozenset({"toolUseId", "content", "status"})
_REASONING_TEXT_KEYS = frozenset({"text", "signature"})
_JSON_SCHEMA_KEYS = frozenset({"schema", "name", "description"})
_CACHE_POINT_KEYS = frozenset({"type", "ttl"})
_RESPONSE_KEYS = frozenset({"output", "stopReason", "usage", "metrics", "additionalModelResponseFields"})
_USAGE_KEYS = frozenset({"inputTokens", "outputTokens", "totalTokens", "cacheReadInputTokens", "cacheWriteInputTokens"})
# The streaming metadata event's fields beyond usage; the stream decoder keeps them on Usage.
METADATA_KEYS = frozenset({"metrics", "trace", "performanceConfig", "serviceTier", "additionalModelResponseFields"})

_EMPTY_SCHEMA: Obj = {"type": "object", "properties": {}}
_TOOL_ID = re.compile(r"[a-zA-Z0-9_.:-]{1,64}")
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_METADATA_TEXT = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,\-.]{0,256}")
_NAME_JUNK = re.compile(r"[^A-Za-z0-9()\[\]\- ]+")
_SPACES = re.compile(r"\s+")

_IMAGE_FORMATS = frozenset({"png", "jpeg", "gif", "webp"})
_AUDIO_FORMATS = frozenset(
    {"mp3", "opus", "wav", "aac", "flac", "mp4", "ogg", "mkv", "mka", "x-aac", "m4a", "mpeg", "mpga", "pcm", "webm"}
)
_DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "csv": "text/csv",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html",
    "txt": "text/plain",
    "md": "text/markdown",
}
_DOCUMENT_FORMATS = {v: k for k, v in _DOCUMENT_TYPES.items()}
_SERVICE_TIERS = frozenset({"priority", "default", "flex", "reserved"})
_CACHE_TTLS = frozenset({"5m", "1h"})
# mapping-tables section 10: effort <-> thinking budget, heuristic (as the Anthropic codec).
_EFFORT_BUDGET = {"minimal": 1024, "low": 4096, "medium": 8192, "high": 16384, "xhigh": 32768, "max": 32768}

_TOOL_CHOICES = {"auto": "auto", "any": "required", "tool": "tool"}

_STOP_REASONS = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "malformed_model_output": "error",
    "malformed_tool_use": "error",
    "model_context_window_exceeded": "max_tokens",
}
# Canonical -> stopReason, with the loss recorded when the category does not survive.
_STOP_REASONS_BACK: Dict[str, Tuple[str, Optional[str]]] = {
    "end_turn": ("end_turn", None),
    "tool_use": ("tool_use", None),
    "max_tokens": ("max_tokens", None),
    "stop_sequence": ("stop_sequence", None),
    "content_filter": ("content_filtered", None),
    "refusal": ("content_filtered", "L-FINISH-GRANULARITY"),
    "pause": ("end_turn", "L-FINISH-PAUSE"),
    "error": ("end_turn", "L-FINISH-GRANULARITY"),
    "other": ("end_turn", "L-FINISH-GRANULARITY"),
}


def is_anthropic_model(model_id: str) -> bool:
    """Whether a model id names an Anthropic model, whose native fields this codec maps.

    Bedrock ids (``anthropic.claude-...``, ``us.anthropic.claude-...``, ARNs holding one)
    and the Anthropic API's own names (``claude-...``) both count.
    """
    return "anthropic." in model_id or model_id.startswith("claude")


# =========================================================================== helpers


def _ext(d: Obj, known: FrozenSet[str]) -> Extensions:
    if d.keys() <= known:
        return {}
    return with_extension(PROTOCOL, extras(d, known))


def _mark(extensions: Extensions, marker: str) -> Extensions:
    out = dict(extensions)
    out[marker] = {}
    return out


def _merge(out: Obj, fields: Obj) -> None:
    """Write extension fields back; nested objects the encoder also wrote are merged key by key."""
    for key, value in fields.items():
        current = out.get(key)
        if key not in out:
            out[key] = value
        elif isinstance(current, dict) and isinstance(value, dict):
            _merge(current, value)


def _restore(out: Obj, extensions: Extensions, losses: LossLog, path: str) -> None:
    """Write back this protocol's extension fields; report other protocols' as lost."""
    for proto, fields in extensions.items():
        if proto == PROTOCOL:
            _merge(out, fields)
        elif fields:
            rest = dict(fields)
            if "citations" in rest:
                del rest["citations"]
                losses.add("L-CITATIONS", path, f"{proto} citations have no equivalent in {PROTOCOL}")
            if rest:
                names = ", ".join(sorted(rest))
                losses.add("L-EXTENSION", path, f"{proto} field(s) {names} have no equivalent in {PROTOCOL}")


def _member(value: Any, path: str) -> Tuple[Obj, str, Any]:
    """A union object, its one member's name and value."""
    d = _R.obj(value, path)
    if len(d) != 1:
        names = ", ".join(sorted(d)) or "none"
        raise _R.fail(path, f"expected exactly one member in this union, got {len(d)} ({names})")
    ((key, member),) = d.items()
    return d, key, member


def _cache_control(point: Any) -> Optional[CacheControl]:
    """The canonical marker a ``cachePoint`` member stands for, or None if it has fields beyond it."""
    if not isinstance(point, dict) or not point.keys() <= _CACHE_POINT_KEYS or point.get("type") != "default":
        return None
    ttl = point.get("ttl")
    if ttl is not None and not isinstance(ttl, str):
        return None
    return CacheControl(type="ephemeral", ttl=ttl)


def _attach_cache_point(parts: List[Any], point: Any) -> bool:
    """Give the last part the ``cachePoint`` that follows it; False if it cannot hold it."""
    if not parts:
        return False
    last = parts[-1]
    cc = _cache_control(point)
    if cc is None or not hasattr(last, "cache_control") or last.cache_control is not None:
        return False
    last.cache_control = cc
    return True


def wire_tool_id(call_id: str) -> str:
    """The Bedrock form of a tool call id: unchanged when valid, else a deterministic rewrite."""
    if _TOOL_ID.fullmatch(call_id):
        return call_id
    digest = hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    cleaned = re.sub(r"[^a-zA-Z0-9_.:-]", "_", call_id)[:53]
    return f"{cleaned}_{digest}" if cleaned else f"id_{digest}"


# =========================================================================== decoding


def _decode_media_source(member: Obj, path: str) -> Optional[Tuple[str, str]]:
    """("bytes", base64) or ("s3", uri) for a plain source; None for any other shape."""
    source = _R.req_obj(member, "source", path)
    where = join(path, "source")
    _, kind, value = _member(source, where)
    if kind == "bytes":
        return "bytes", _R.req_str(source, "bytes", where)
    if kind == "s3Location":
        location = _R.obj(value, join(where, "s3Location"))
        uri = _R.req_str(location, "uri", join(where, "s3Location"))
        if set(location) == {"uri"}:
            return "s3", uri
    return None


def _decode_image(block: Obj, value: Any, path: str) -> Part:
    d = _R.obj(value, path)
    fmt = _R.req_str(d, "format", path)
    source = _decode_media_source(d, path)
    if source is None:
        return OpaquePart(source=PROTOCOL, data=block)
    kind, text = source
    part = ImagePart(media_type=f"image/{fmt}", extensions=_ext(d, _MEDIA_KEYS))
    if kind == "bytes":
        part.data = text
    else:
        part.url = text
    return part


def _decode_document(block: Obj, value: Any, path: str) -> Part:
    d = _R.obj(value, path)
    fmt = _R.opt_str(d, "format", path)
    name = _R.req_str(d, "name", path)
    source = _R.req_obj(d, "source", path)
    where = join(path, "source")
    _, kind, _value = _member(source, where)
    media_type = None
    if fmt is not None:
        media_type = _DOCUMENT_TYPES.get(fmt)
        if media_type is None:
            return OpaquePart(source=PROTOCOL, data=block)
    part = FilePart(media_type=media_type, title=name, extensions=_ext(d, _DOCUMENT_KEYS))
    if kind == "bytes":
        part.data = _R.req_str(source, "bytes", where)
    elif kind == "text":
        part.text = _R.req_str(source, "text", where)
    else:
        located = _decode_media_source(d, path)
        if located is None:
            # A list of content blocks, or a source newer than this codec.
            return OpaquePart(source=PROTOCOL, data=block)
        part.url = located[1]
    return part


def _decode_audio(block: Obj, value: Any, path: str) -> Part:
    d = _R.obj(value, path)
    fmt = _R.req_str(d, "format", path)
    source = _decode_media_source(d, path)
    if source is None or source[0] != "bytes":
        return OpaquePart(source=PROTOCOL, data=block)
    return AudioPart(data=source[1], format=fmt, extensions=_ext(d, _MEDIA_KEYS))


def _decode_tool_use(block: Obj, value: Any, path: str) -> Part:
    d = _R.obj(value, path)
    call_id = _R.req_str(d, "toolUseId", path)
    name = _R.req_str(d, "name", path)
    arguments = _R.req(d, "input", path)
    if "type" in d:
        # A server-side (provider-hosted) tool use: no canonical meaning.
        return OpaquePart(source=PROTOCOL, data=block)
    return ToolCallPart(
        id=call_id,
        name=name,
        arguments=dump_arguments(arguments, PROTOCOL, join(path, "input")),
        extensions=_ext(d, _TOOL_USE_KEYS),
    )


def _decode_result_block(value: Any, path: str) -> Part:
    block, kind, member = _member(value, path)
    where = join(path, kind)
    if kind == "text":
        return TextPart(_R.req_str(block, "text", path))
    if kind == "json":
        return TextPart(dump_arguments(member, PROTOCOL, where), extensions={_JSON_RESULT: {}})
    if kind == "image":
        return _decode_image(block, member, where)
    if kind == "document":
        return _decode_document(block, member, where)
    return OpaquePart(source=PROTOCOL, data=block)


def _decode_tool_result(value: Any, path: str) -> ToolResultPart:
    d = _R.obj(value, path)
    status = _R.opt_str(d, "status", path)
    content = _R.req_arr(d, "content", path)
    where = join(path, "content")
    part = ToolResultPart(
        call_id=_R.req_str(d, "toolUseId", path),
        content=[_decode_result_block(item, index(where, i)) for i, item in enumerate(content)],
        is_error=status == "error",
        extensions=_ext(d, _TOOL_RESULT_KEYS),
    )
    if status is not None and status != "error":
        if status != "success":
            raise _R.fail(join(path, "status"), f"expected 'success' or 'error', got {status!r}")
        part.extensions = _mark(part.extensions, _STATUS_SUCCESS)
    return part


def _decode_reasoning(block: Obj, value: Any, path: str) -> Part:
    _, kind, member = _member(value, path)
    where = join(path, kind)
    if kind == "reasoningText":
        d = _R.obj(member, where)
        return ReasoningPart(
            text=_R.req_str(d, "text", where),
            signature=_R.opt_str(d, "signature", where),
            source=PROTOCOL,
            extensions=_ext(d, _REASONING_TEXT_KEYS),
        )
    if kind == "redactedContent":
        if not isinstance(member, str):
            raise _R.fail(where, f"expected a base64 string, got {describe(member)}")
        return ReasoningPart(encrypted_content=member, redacted=True, source=PROTOCOL)
    return OpaquePart(source=PROTOCOL, data=block)


def _decode_citations(block: Obj, value: Any, path: str) -> Part:
    d = _R.obj(value, path)
    content = _R.opt_arr(d, "content", path)
    if content is not None and len(content) == 1:
        only = content[0]
        if isinstance(only, dict) and set(only) == {"text"} and isinstance(only["text"], str):
            rest = extras(d, frozenset({"content"}))
            return TextPart(only["text"], extensions=_mark(with_extension(PROTOCOL, rest), _CITATIONS_BLOCK))
    return OpaquePart(source=PROTOCOL, data=block)


def _decode_block(value: Any, path: str) -> Part:
    block, kind, member = _member(value, path)
    where = join(path, kind)
    if kind == "text":
        return TextPart(_R.req_str(block, "text", path))
    if kind == "image":
        return _decode_image(block, member, where)
    if kind == "document":
        return _decode_document(block, member, where)
    if kind == "audio":
        return _decode_audio(block, member, where)
    if kind == "toolUse":
        return _decode_tool_use(block, member, where)
    if kind == "toolResult":
        return _decode_tool_result(member, where)
    if kind == "reasoningContent":
        return _decode_reasoning(block, member, where)
    if kind == "citationsContent":
        return _decode_citations(block, member, where)
    # video, guardContent, searchResult, an unattached cachePoint, newer members.
    return OpaquePart(source=PROTOCOL, data=block)


def _decode_blocks(values: List[Any], path: str) -> Tuple[List[Part], List[Obj]]:
    """The canonical parts of a content list, and the wire block each part came from."""
    parts: List[Part] = []
    blocks: List[Obj] = []
    for i, value in enumerate(values):
        where = index(path, i)
        block = _R.obj(value, where)
        if len(block) == 1 and "cachePoint" in block and _attach_cache_point(parts, block["cachePoint"]):
            continue
        parts.append(_decode_block(block, where))
        blocks.append(block)
    return parts, blocks


def _decode_system(values: List[Any]) -> List[Part]:
    parts: List[Part] = []
    for i, value in enumerate(values):
        where = index("system", i)
        block, kind, member = _member(value, where)
        if kind == "text":
            parts.append(TextPart(_R.req_str(block, "text", where)))
        elif kind == "cachePoint" and _attach_cache_point(parts, member):
            continue
        else:
            parts.append(OpaquePart(source=PROTOCOL, data=block))
    return parts


def _decode_message(value: Any, path: str) -> Message:
    raw = _R.obj(value, path)
    role = _R.req_str(raw, "role", path)
    if role not in ("user", "assistant"):
        raise _R.fail(join(path, "role"), f"expected 'user' or 'assistant', got {role!r}")
    content, _ = _decode_blocks(_R.req_arr(raw, "content", path), join(path, "content"))
    return Message(
        role=role, content=content, raw_message=raw, raw_format=PROTOCOL, extensions=_ext(raw, _MESSAGE_KEYS)
    )


def _decode_tools(values: List[Any]) -> List[Tool]:
    tools: List[Tool] = []
    for i, value in enumerate(values):
        where = index("toolConfig.tools", i)
        _, kind, member = _member(value, where)
        inner = join(where, kind)
        if kind == "cachePoint" and _attach_cache_point(tools, member):
            continue
        spec = _R.obj(member, inner)
        if kind == "toolSpec":
            schema_holder = _R.req_obj(spec, "inputSchema", inner)
            _, schema_kind, schema = _member(schema_holder, join(inner, "inputSchema"))
            if schema_kind == "json" and isinstance(schema, dict):
                tools.append(
                    FunctionTool(
                        name=_R.req_str(spec, "name", inner),
                        description=_R.opt_str(spec, "description", inner),
                        # The schema Bedrock requires for a tool without parameters means none.
                        parameters=None if schema == _EMPTY_SCHEMA else schema,
                        strict=_R.opt_bool(spec, "strict", inner),
                        extensions=_ext(spec, _TOOL_SPEC_KEYS),
                    )
                )
                continue
        # systemTool, cache points that follow no tool, members newer than this codec.
        tools.append(BuiltinTool(type=kind, options=dict(spec), source=PROTOCOL))
    return tools


def _decode_tool_choice(raw: Obj) -> Optional[ToolChoice]:
    """The tool choice, or None when its member is unknown (kept verbatim by the caller)."""
    _, kind, member = _member(raw, "toolConfig.toolChoice")
    mode = _TOOL_CHOICES.get(kind)
    if mode is None:
        return None
    where = join("toolConfig.toolChoice", kind)
    d = _R.obj(member, where)
    choice = ToolChoice(mode=mode)
    if mode == "tool":
        choice.name = _R.req_str(d, "name", where)
        choice.extensions = _ext(d, frozenset({"name"}))
    else:
        choice.extensions = with_extension(PROTOCOL, dict(d))
    return choice


def _decode_model_fields(fields: Obj, request: LlmRequest) -> Obj:
    """Map Anthropic's ``top_k`` and ``thinking``; return what stays verbatim."""
    rest = dict(fields)
    top_k = rest.get("top_k")
    if isinstance(top_k, int) and not isinstance(top_k, bool):
        request.top_k = top_k
        del rest["top_k"]
    thinking = rest.get("thinking")
    if isinstance(thinking, dict):
        kind = thinking.get("type")
        budget = thinking.get("budget_tokens")
        config: Optional[ReasoningConfig] = None
        if kind == "enabled" and set(thinking) == {"type", "budget_tokens"}:
            if isinstance(budget, int) and not isinstance(budget, bool):
                config = ReasoningConfig(enabled=True, budget_tokens=budget)
        elif kind in ("adaptive", "disabled") and set(thinking) == {"type"}:
            config = ReasoningConfig(enabled=kind == "adaptive")
        if config is not None:
            request.reasoning = config
            del rest["thinking"]
    return rest


def _decode_output_config(raw: Obj, request: LlmRequest) -> Optional[Obj]:
    """Set the output format; return the outputConfig fields that stay verbatim (None: nothing)."""
    rest = extras(raw, frozenset({"textFormat"}))
    fmt = _R.opt_obj(raw, "textFormat", "outputConfig")
    if fmt is None:
        return rest
    where = "outputConfig.textFormat"
    kind = _R.req_str(fmt, "type", where)
    structure = _R.req_obj(fmt, "structure", where)
    _, member_kind, member = _member(structure, join(where, "structure"))
    if kind != "json_schema" or member_kind != "jsonSchema":
        rest["textFormat"] = fmt
        return rest
    inner = join(where, "structure.jsonSchema")
    definition = _R.obj(member, inner)
    text = _R.req_str(definition, "schema", inner)
    try:
        schema = json.loads(text)
    except RecursionError:
        raise _R.fail(join(inner, "schema"), "the schema is nested too deeply to parse") from None
    except ValueError as exc:
        raise _R.fail(join(inner, "schema"), f"expected the JSON text of a schema object: {exc}") from None
    if not isinstance(schema, dict):
        raise _R.fail(join(inner, "schema"), f"expected the JSON text of a schema object, got {describe(schema)}")
    ext = extras(definition, _JSON_SCHEMA_KEYS)
    if dump_arguments(schema, PROTOCOL, join(inner, "schema")) != text:
        ext["schema"] = text  # the original text, written back while the schema is unchanged
    request.output_format = OutputFormat(
        type="json_schema",
        schema=schema,
        name=_R.opt_str(definition, "name", inner),
        description=_R.opt_str(definition, "description", inner),
        extensions=with_extension(PROTOCOL, ext),
    )
    format_rest = extras(fmt, frozenset({"type", "structure"}))
    if format_rest:
        rest["textFormat"] = format_rest
    return rest if rest else None


@entry_point(PROTOCOL, decoding=True)
def decode_request(raw: Dict[str, Any]) -> LlmRequest:
    """Decode a Converse request (the body, optionally with ``modelId``) into an `LlmRequest`."""
    body = _R.obj(raw, "")
    unknown = extras(body, _REQUEST_KEYS)
    markers: Extensions = {}
    request = LlmRequest(model=_R.opt_str(body, "modelId", "") or "")

    system = _R.opt_arr(body, "system", "")
    if system is not None:
        request.messages.append(
            Message("system", _decode_system(system), raw_message={"system": system}, raw_format=PROTOCOL)
        )
    messages = _R.opt_arr(body, "messages", "")
    if messages is None:
        markers[_NO_MESSAGES] = {}
    else:
        request.messages.extend(_decode_message(m, index("messages", i)) for i, m in enumerate(messages))

    inference = _R.opt_obj(body, "inferenceConfig", "")
    if inference is not None:
        where = "inferenceConfig"
        request.max_output_tokens = _R.opt_int(inference, "maxTokens", where)
        request.temperature = _R.opt_num(inference, "temperature", where)
        request.top_p = _R.opt_num(inference, "topP", where)
        request.stop = _R.opt_str_list(inference, "stopSequences", where)
        rest = extras(inference, _INFERENCE_KEYS)
        if rest or not inference:
            unknown["inferenceConfig"] = rest

    tool_config = _R.opt_obj(body, "toolConfig", "")
    if tool_config is not None:
        tools = _R.opt_arr(tool_config, "tools", "toolConfig")
        if tools is not None:
            request.tools = _decode_tools(tools)
        rest = extras(tool_config, _TOOL_CONFIG_KEYS)
        choice = _R.opt_obj(tool_config, "toolChoice", "toolConfig")
        if choice is not None:
            request.tool_choice = _decode_tool_choice(choice)
            if request.tool_choice is None:
                rest["toolChoice"] = choice
        if rest or tools is None:
            unknown["toolConfig"] = rest

    model_fields = body.get("additionalModelRequestFields")
    if isinstance(model_fields, dict) and is_anthropic_model(request.model):
        rest = _decode_model_fields(model_fields, request)
        if rest or not model_fields:
            unknown["additionalModelRequestFields"] = rest
    elif model_fields is not None:
        unknown["additionalModelRequestFields"] = model_fields

    output_config = _R.opt_obj(body, "outputConfig", "")
    if output_config is not None:
        rest_output = _decode_output_config(output_config, request)
        if rest_output is not None:
            unknown["outputConfig"] = rest_output

    request.metadata = _R.opt_str_map(body, "requestMetadata", "")
    tier = _R.opt_obj(body, "serviceTier", "")
    if tier is not None:
        kind = _R.req_str(tier, "type", "serviceTier")
        if kind in _SERVICE_TIERS:
            request.service_tier = kind
            rest = extras(tier, frozenset({"type"}))
            if rest:
                unknown["serviceTier"] = rest
        else:
            unknown["serviceTier"] = tier  # a tier newer than this codec
    request.extensions = {**markers, **with_extension(PROTOCOL, unknown)}
    return request


# --------------------------------------------------------------------------- response


def decode_usage(raw: Obj, path: str) -> Usage:
    """Canonical usage from a ``TokenUsage`` object (input counts the cache reads and writes)."""
    fresh = _R.req_int(raw, "inputTokens", path)
    read = _R.opt_int(raw, "cacheReadInputTokens", path)
    written = _R.opt_int(raw, "cacheWriteInputTokens", path)
    return Usage(
        input_tokens=fresh + (read or 0) + (written or 0),
        output_tokens=_R.req_int(raw, "outputTokens", path),
        total_tokens=_R.opt_int(raw, "totalTokens", path),
        cached_input_tokens=read,
        cache_creation_input_tokens=written,
        extensions=with_extension(PROTOCOL, extras(raw, _USAGE_KEYS)),
    )


def split_stop_sequence(fields: Any) -> Tuple[Optional[str], Any]:
    """The matched stop sequence in ``additionalModelResponseFields``, and what stays verbatim."""
    if not isinstance(fields, dict):
        return None, fields
    sequence = fields.get("stop_sequence")
    if not isinstance(sequence, str):
        return None, fields
    rest = {k: v for k, v in fields.items() if k != "stop_sequence"}
    return sequence, (rest if rest else None)


def decode_stop_reason(raw: str) -> str:
    """The canonical stop reason for a ``stopReason`` value (unknown ones are ``other``)."""
    return _STOP_REASONS.get(raw, "other")


def _decode_output(blocks: List[Any], path: str) -> List[OutputItem]:
    parts, wire = _decode_blocks(blocks, path)
    output: List[OutputItem] = []
    texts: List[Part] = []
    raw_texts: List[Obj] = []

    def flush() -> None:
        if texts:
            raw = {"role": "assistant", "content": list(raw_texts)}
            output.append(Message("assistant", list(texts), raw_message=raw, raw_format=PROTOCOL))
            texts.clear()
            raw_texts.clear()

    for part, block in zip(parts, wire):
        if isinstance(part, TextPart):
            texts.append(part)
            raw_texts.append(block)
            continue
        flush()
        if isinstance(part, (ToolCallPart, ReasoningPart, OpaquePart)):
            output.append(part)
        else:
            # Images, documents, audio or tool results in a response: kept verbatim.
            output.append(OpaquePart(source=PROTOCOL, data=block))
    flush()
    return output


@entry_point(PROTOCOL, decoding=True)
def decode_response(raw: Dict[str, Any]) -> LlmResponse:
    """Decode a Converse response body into an `LlmResponse` (``id`` and ``model`` are ``""``)."""
    body = _R.obj(raw, "")
    unknown = extras(body, _RESPONSE_KEYS)
    response = LlmResponse(id="", model="")
    output = _R.req_obj(body, "output", "")
    message = _R.opt_obj(output, "message", "output")
    if message is None or len(output) != 1:
        _member(output, "output")
        unknown["output"] = output
    else:
        role = _R.req_str(message, "role", "output.message")
        if role != "assistant":
            raise _R.fail("output.message.role", f"expected 'assistant', got {role!r}")
        if not message.keys() <= _MESSAGE_KEYS:
            unknown["output"] = {"message": extras(message, _MESSAGE_KEYS)}
        content = _R.req_arr(message, "content", "output.message")
        response.output = _decode_output(content, "output.message.content")

    stop = _R.req_str(body, "stopReason", "")
    response.raw_stop_reason = stop
    response.stop_reason = decode_stop_reason(stop)
    usage = _R.opt_obj(body, "usage", "")
    if usage is not None:
        response.usage = decode_usage(usage, "usage")
    metrics = _R.opt_obj(body, "metrics", "")
    if metrics is not None:
        _R.opt_int(metrics, "latencyMs", "metrics")
        if metrics != DEFAULT_LATENCY:
            unknown["metrics"] = metrics
    if "additionalModelResponseFields" in body:
        response.stop_sequence, rest = split_stop_sequence(body["additionalModelResponseFields"])
        if rest is not None:
            unknown["additionalModelResponseFields"] = rest
    response.extensions = with_extension(PROTOCOL, unknown)
    return response


# =========================================================================== encoding


def _clean_name(text: str) -> str:
    return _SPACES.sub(" ", _NAME_JUNK.sub(" ", text)).strip()[:200].strip()


class _Encoder:
    """One encode's block writers, sharing its loss log."""

    __slots__ = ("documents", "losses")

    def __init__(self, losses: LossLog) -> None:
        self.losses = losses
        self.documents = 0

    def lose(self, code: str, path: str, detail: str) -> None:
        self.losses.add(code, path, detail)

    # ----------------------------------------------------------------- media

    def cache_point(self, cc: Optional[CacheControl], path: str) -> Optional[Obj]:
        if cc is None:
            return None
        point: Obj = {"type": "default"}
        if cc.ttl is not None:
            if cc.ttl in _CACHE_TTLS:
                point["ttl"] = cc.ttl
            else:
                self.lose(
                    "L-CACHE-MARKERS", join(path, "cache_control.ttl"), f"cache ttl {cc.ttl!r} is not one of 5m, 1h"
                )
        return {"cachePoint": point}

    def _inline(
        self, data: Optional[str], url: Optional[str], media_type: Optional[str], file_id: Optional[str], path: str
    ) -> Tuple[Optional[Obj], Optional[str]]:
        """A ``source`` union (bytes or s3Location) and the media type; (None, _) when impossible."""
        if data is None and url is not None:
            parsed = parse_data_url(url)
            if parsed is not None:
                media_type, data = parsed
        if data is not None:
            return {"bytes": data}, media_type
        if url is not None:
            if url.startswith("s3://"):
                return {"s3Location": {"uri": url}}, media_type
            self.lose(
                "L-MEDIA-URL-FETCH", path, f"{PROTOCOL} takes inline bytes or s3:// locations only; URL {url!r} dropped"
            )
            return None, media_type
        if file_id is not None:
            self.lose("L-MEDIA-URL-FETCH", path, f"file id {file_id!r} cannot be referenced in {PROTOCOL}; dropped")
            return None, media_type
        raise EncodeError(PROTOCOL, path, "media part has no data, url or file_id")

    def image(self, part: ImagePart, path: str) -> Optional[Obj]:
        source, media_type = self._inline(part.data, part.url, part.media_type, part.file_id, path)
        if source is None:
            return None
        fmt = (media_type or "").partition("/")[2]
        if not (media_type or "").startswith("image/") or fmt not in _IMAGE_FORMATS:
            self.lose(
                "L-MEDIA-TYPE", path, f"image type {media_type!r} is not accepted by {PROTOCOL} (png, jpeg, gif, webp)"
            )
            return None
        if part.detail is not None:
            self.lose("L-MEDIA-DETAIL", join(path, "detail"), f"image detail is not supported by {PROTOCOL}")
        out: Obj = {"format": fmt, "source": source}
        _restore(out, part.extensions, self.losses, path)
        return {"image": out}

    def document(self, part: FilePart, path: str, native: bool) -> Optional[Obj]:
        source: Optional[Obj]
        media_type = part.media_type
        if part.text is not None and part.data is None:
            source = {"text": part.text}
        else:
            source, media_type = self._inline(part.data, part.url, part.media_type, part.file_id, path)
            if source is None:
                return None
        out: Obj = {}
        if media_type is not None:
            fmt = _DOCUMENT_FORMATS.get(media_type)
            if fmt is None:
                self.lose("L-MEDIA-TYPE", path, f"document type {media_type!r} is not accepted by {PROTOCOL}")
                return None
            out["format"] = fmt
        elif "bytes" in source:
            self.lose("L-MEDIA-TYPE", path, f"a {PROTOCOL} document of bytes needs a known media type")
            return None
        out["name"] = self._document_name(part, path, native)
        out["source"] = source
        _restore(out, part.extensions, self.losses, path)
        return {"document": out}

    def _document_name(self, part: FilePart, path: str, native: bool) -> str:
        self.documents += 1
        if part.title is not None and native:
            return part.title
        if part.title is not None:
            name = _clean_name(part.title)
            if part.filename is not None:
                self.lose("L-FILE-NAME", join(path, "filename"), f"{PROTOCOL} documents have one name: the title")
            if name == part.title:
                return name
        elif part.filename is not None:
            stem = part.filename.rsplit(".", 1)[0] if "." in part.filename.strip(".") else part.filename
            name = _clean_name(stem)
        else:
            name = ""
        name = name or f"document-{self.documents}"
        self.lose(
            "L-FILE-NAME", path, f"{PROTOCOL} requires a document name of letters, digits and spaces; sent {name!r}"
        )
        return name

    def audio(self, part: AudioPart, path: str) -> Optional[Obj]:
        if part.format not in _AUDIO_FORMATS:
            self.lose("L-AUDIO", path, f"audio format {part.format!r} is not accepted by {PROTOCOL}")
            return None
        out: Obj = {"format": part.format, "source": {"bytes": part.data}}
        _restore(out, part.extensions, self.losses, path)
        return {"audio": out}

    # ----------------------------------------------------------------- text and tools

    def text(self, part: TextPart, path: str) -> Obj:
        own = part.extensions.get(PROTOCOL)
        if own or _CITATIONS_BLOCK in part.extensions:
            out: Obj = {"content": [{"text": part.text}]}
            _restore(out, part.extensions, self.losses, path)
            return {"citationsContent": out}
        _restore({}, part.extensions, self.losses, path)
        return {"text": part.text}

    def tool_id(self, call_id: str, synthetic: bool, path: str) -> str:
        if synthetic:
            self.lose("L-TOOL-ID-SYNTH", path, f"tool call id {call_id!r} was made up for {PROTOCOL}")
        wire = wire_tool_id(call_id)
        if wire != call_id:
            self.lose(
                "L-TOOL-ID-REWRITE",
                path,
                f"tool call id {call_id!r} sent as {wire!r}: {PROTOCOL} ids are [a-zA-Z0-9_.:-]{{1,64}}",
            )
        return wire

    def tool_call(self, part: ToolCallPart, path: str) -> Obj:
        value, valid = parse_arguments(part.arguments)
        if not valid:
            self.lose(
                "L-TOOL-ARGS-INVALID-JSON",
                join(path, "arguments"),
                f"tool call arguments are not JSON; {PROTOCOL} gets them under '_raw'",
            )
        elif part.arguments and dump_arguments(value, PROTOCOL, join(path, "arguments"), False) != part.arguments:
            self.lose(
                "L-TOOL-ARGS-FORMAT",
                join(path, "arguments"),
                f"{PROTOCOL} carries arguments as a document; their original JSON formatting is not kept",
            )
        out: Obj = {
            "toolUseId": self.tool_id(part.id, part.synthetic_id, join(path, "id")),
            "name": part.name,
            "input": value,
        }
        _restore(out, part.extensions, self.losses, path)
        return {"toolUse": out}

    def tool_result(self, part: ToolResultPart, path: str, native: bool) -> Obj:
        content: List[Obj] = []
        where = join(path, "content")
        for i, item in enumerate(part.content):
            at = index(where, i)
            block: Optional[Obj] = None
            if isinstance(item, TextPart):
                block = self.result_text(item)
            elif isinstance(item, ImagePart):
                block = self.image(item, at)
            elif isinstance(item, FilePart):
                block = self.document(item, at, native)
            elif isinstance(item, OpaquePart):
                block = self.opaque(item, at)
            else:
                self.lose("L-RESULT-MEDIA", at, f"{type(item).__name__} is not allowed inside a {PROTOCOL} toolResult")
            if block is not None:
                content.append(block)
        out: Obj = {
            "toolUseId": self.tool_id(part.call_id, part.synthetic_id, join(path, "call_id")),
            "content": content,
        }
        if part.is_error:
            out["status"] = "error"
        elif _STATUS_SUCCESS in part.extensions:
            out["status"] = "success"
        _restore(out, part.extensions, self.losses, path)
        return {"toolResult": out}

    def result_text(self, part: TextPart) -> Obj:
        if _JSON_RESULT in part.extensions:
            try:
                return {"json": json.loads(part.text, parse_constant=reject_json_constant)}
            except (ValueError, RecursionError):
                pass  # the text was edited into something else: it stays text
        return {"text": part.text}

    def reasoning_history(self, part: ReasoningPart, path: str) -> Optional[Obj]:
        if part.source != PROTOCOL:
            self.lose(
                "L-REASONING-OPAQUE",
                path,
                f"reasoning from {part.source or 'an unknown source'} cannot be replayed to {PROTOCOL}; dropped",
            )
            return None
        return self.own_reasoning(part, path)

    def own_reasoning(self, part: ReasoningPart, path: str) -> Obj:
        if part.redacted:
            return {"reasoningContent": {"redactedContent": part.encrypted_content or ""}}
        out: Obj = {"text": part.text or ""}
        if part.signature is not None:
            out["signature"] = part.signature
        _restore(out, part.extensions, self.losses, path)
        return {"reasoningContent": {"reasoningText": out}}

    def response_reasoning(self, part: ReasoningPart, path: str) -> Optional[Obj]:
        if part.source == PROTOCOL:
            return self.own_reasoning(part, path)
        text = part.text
        if text is None and part.summary:
            text = "\n\n".join(part.summary)
            self.lose("L-REASONING-SUMMARY", path, f"reasoning summaries are sent as one {PROTOCOL} reasoning text")
        origin = part.source or "an unknown source"
        if text is None:
            self.lose("L-REASONING-OPAQUE", path, f"reasoning from {origin} has no text for {PROTOCOL}; dropped")
            return None
        if part.signature is not None or part.encrypted_content is not None:
            self.lose("L-REASONING-OPAQUE", path, f"the opaque reasoning token from {origin} is dropped for {PROTOCOL}")
        out: Obj = {"text": text}
        _restore(out, part.extensions, self.losses, path)
        return {"reasoningContent": {"reasoningText": out}}

    def opaque(self, part: OpaquePart, path: str) -> Optional[Obj]:
        if part.source == PROTOCOL:
            return part.data
        kind = part.data.get("type", "item")
        self.lose("L-OPAQUE", path, f"{part.source} item {kind!r} has no equivalent in {PROTOCOL}")
        return None

    def block(self, part: Part, path: str, native: bool) -> Optional[Obj]:
        if isinstance(part, TextPart):
            return self.text(part, path)
        if isinstance(part, ImagePart):
            return self.image(part, path)
        if isinstance(part, FilePart):
            return self.document(part, path, native)
        if isinstance(part, AudioPart):
            return self.audio(part, path)
        if isinstance(part, ToolCallPart):
            return self.tool_call(part, path)
        if isinstance(part, ToolResultPart):
            return self.tool_result(part, path, native)
        if isinstance(part, ReasoningPart):
            return self.reasoning_history(part, path)
        if isinstance(part, RefusalPart):
            self.lose("L-REFUSAL-PART", path, f"refusal is sent as plain text: {PROTOCOL} has no refusal block")
            return {"text": part.text}
        return self.opaque(part, path)

    def add(self, out: List[Obj], part: Part, path: str, native: bool) -> None:
        """Append the block(s) of one part: its block, then its cache point."""
        block = self.block(part, path, native)
        if block is None:
            return
        if not native and block.get("text") == "":
            return  # other formats use "" for "no text"; Bedrock rejects blank text blocks
        out.append(block)
        point = self.cache_point(getattr(part, "cache_control", None), path)
        if point is not None:
            out.append(point)

    def blocks(self, parts: List[Part], path: str, native: bool) -> List[Obj]:
        out: List[Obj] = []
        for i, part in enumerate(parts):
            self.add(out, part, index(path, i), native)
        return out


def parse_arguments(text: str) -> Tuple[Any, bool]:
    """Tool-call argument text as a JSON document: (value, True), or ({"_raw": text}, False)."""
    if text == "":
        return {}, True
    try:
        return json.loads(text, parse_constant=reject_json_constant), True
    except (ValueError, RecursionError):
        return {"_raw": text}, False


# --------------------------------------------------------------------------- request


def _encode_system(request: LlmRequest, enc: _Encoder) -> Tuple[Optional[List[Obj]], List[int]]:
    """The ``system`` blocks and the indexes of the messages they absorbed."""
    absorbed: List[int] = []
    blocks: List[Obj] = []
    if request.instructions:
        blocks.append({"text": request.instructions})
    leading = True
    for i, message in enumerate(request.messages):
        if message.role not in ("system", "developer"):
            leading = False
            continue
        path = index("messages", i)
        if not leading:
            enc.lose(
                "L-ROLE-SYSTEM-POSITION",
                path,
                f"{message.role} message in mid-conversation is moved into the top-level system of {PROTOCOL}",
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
        _restore({}, message.extensions, enc.losses, path)
        absorbed.append(i)
        for j, part in enumerate(message.content):
            where = index(join(path, "content"), j)
            if isinstance(part, TextPart):
                if part.text:  # system text must not be empty
                    blocks.append({"text": part.text})
                _restore({}, part.extensions, enc.losses, where)
                point = enc.cache_point(part.cache_control, where)
                if point is not None:
                    blocks.append(point)
            elif isinstance(part, OpaquePart) and part.source == PROTOCOL:
                blocks.append(part.data)
            else:
                enc.lose(
                    "L-SYSTEM-MEDIA", where, f"{type(part).__name__} cannot appear in the {PROTOCOL} system prompt"
                )
    if not absorbed and request.instructions is None:
        return None, absorbed
    return blocks, absorbed


def _encode_messages(request: LlmRequest, enc: _Encoder, absorbed: List[int]) -> List[Obj]:
    skip = set(absorbed)
    out: List[Obj] = []
    previous: Optional[Message] = None
    for i, message in enumerate(request.messages):
        if i in skip:
            continue
        path = index("messages", i)
        if message.name is not None:
            enc.lose("L-ROLE-NAME", join(path, "name"), f"message name is not supported by {PROTOCOL}")
        if message.role not in ("user", "assistant", "tool"):
            raise EncodeError(PROTOCOL, join(path, "role"), f"unknown role {message.role!r}")
        if message.role == "tool" and not any(isinstance(p, ToolResultPart) for p in message.content):
            raise EncodeError(PROTOCOL, path, "tool message holds no tool result")
        native = message.raw_format == PROTOCOL
        blocks = enc.blocks(message.content, join(path, "content"), native)
        if not blocks and (message.content or not native):
            _restore({}, message.extensions, enc.losses, path)
            continue  # every part was dropped (and reported), or there were none: an empty turn is invalid
        role = "assistant" if message.role == "assistant" else "user"
        # Bedrock expects alternating turns: merge a turn into the previous one of the same
        # role, except where both came from this format as separate turns.
        if (
            out
            and out[-1]["role"] == role
            and not (native and previous is not None and previous.raw_format == PROTOCOL)
        ):
            out[-1]["content"].extend(blocks)
            _restore(out[-1], message.extensions, enc.losses, path)
        else:
            turn: Obj = {"role": role, "content": blocks}
            _restore(turn, message.extensions, enc.losses, path)
            out.append(turn)
        previous = message
    return out


def _encode_tools(request: LlmRequest, enc: _Encoder) -> List[Obj]:
    out: List[Obj] = []
    for i, tool in enumerate(request.tools):
        path = index("tools", i)
        if isinstance(tool, BuiltinTool):
            if tool.source == PROTOCOL:
                out.append({tool.type: dict(tool.options)})
            else:
                enc.lose(
                    "L-TOOL-CUSTOM",
                    path,
                    f"{builtin_label(tool)} from {tool.source or 'another format'} has no equivalent in {PROTOCOL}",
                )
            continue
        if not _TOOL_NAME.fullmatch(tool.name):
            raise EncodeError(PROTOCOL, join(path, "name"), f"tool name {tool.name!r} must match [a-zA-Z0-9_-]{{1,64}}")
        spec: Obj = {"name": tool.name}
        if tool.description:
            spec["description"] = tool.description
        spec["inputSchema"] = {"json": tool.parameters if tool.parameters is not None else dict(_EMPTY_SCHEMA)}
        if tool.strict is not None:
            spec["strict"] = tool.strict
        _restore(spec, tool.extensions, enc.losses, path)
        out.append({"toolSpec": spec})
        point = enc.cache_point(tool.cache_control, path)
        if point is not None:
            out.append(point)
    return out


def _history_has_tool_blocks(request: LlmRequest) -> bool:
    return any(isinstance(p, (ToolCallPart, ToolResultPart)) for m in request.messages for p in m.content)


def _encode_tool_choice(request: LlmRequest, have_tools: bool, enc: _Encoder) -> Tuple[Optional[Obj], bool]:
    """The ``toolChoice`` union, and whether ``toolConfig`` should be sent at all."""
    choice = request.tool_choice
    if request.parallel_tool_calls is not None:
        enc.lose(
            "L-TC-PARALLEL",
            "parallel_tool_calls",
            f"{PROTOCOL} has no parallel tool call switch; the model's default applies",
        )
    if choice is None:
        return None, True
    if not have_tools:
        if choice.mode in ("required", "tool"):
            enc.lose("L-TC-NO-TOOLS", "tool_choice", f"no function tool can be sent to {PROTOCOL}; tool_choice dropped")
        return None, False
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
    out: Optional[Obj]
    if mode == "none":
        if _history_has_tool_blocks(request):
            enc.lose(
                "L-TC-NONE",
                "tool_choice",
                f"{PROTOCOL} has no 'none' tool choice and needs the tools for the tool blocks in the history; "
                "the model may still call a tool",
            )
            return None, True
        enc.lose("L-TC-NONE", "tool_choice", f"{PROTOCOL} has no 'none' tool choice; the tools are not sent")
        return None, False
    if mode == "auto":
        out = {"auto": {}}
    elif mode == "required":
        out = {"any": {}}
    elif mode == "tool":
        if name is None:
            raise EncodeError(PROTOCOL, "tool_choice.name", "a forced tool choice needs a tool name")
        out = {"tool": {"name": name}}
    else:
        raise EncodeError(PROTOCOL, "tool_choice.mode", f"unknown tool choice mode {mode!r}")
    ((_, member),) = out.items()
    _restore(member, choice.extensions, enc.losses, "tool_choice")
    return out, True


def _clamp_budget(budget: int, max_tokens: Optional[int], enc: _Encoder) -> Optional[int]:
    """A thinking budget within Claude's ``1024 <= budget < maxTokens``; None if impossible."""
    if budget < MIN_THINKING_BUDGET:
        enc.lose(
            "L-REASONING-EFFORT-BUDGET",
            "reasoning.budget_tokens",
            f"thinking budget {budget} raised to Claude's minimum of {MIN_THINKING_BUDGET}",
        )
        budget = MIN_THINKING_BUDGET
    if max_tokens is not None and budget >= max_tokens:
        if max_tokens <= MIN_THINKING_BUDGET:
            enc.lose(
                "L-REASONING-EFFORT-BUDGET",
                "reasoning.budget_tokens",
                f"maxTokens {max_tokens} leaves no room for a thinking budget; thinking not requested",
            )
            return None
        enc.lose(
            "L-REASONING-EFFORT-BUDGET",
            "reasoning.budget_tokens",
            f"thinking budget {budget} clamped to {max_tokens - 1}, below maxTokens as Claude requires",
        )
        budget = max_tokens - 1
    return budget


def _encode_thinking(config: ReasoningConfig, max_tokens: Optional[int], enc: _Encoder) -> Optional[Obj]:
    """Anthropic's ``thinking`` object for ``additionalModelRequestFields``."""
    enabled, budget = config.enabled, config.budget_tokens
    if config.effort is not None:
        if config.effort == "none" and enabled is not True and budget is None:
            enabled = False
            detail = "reasoning effort 'none' is sent as thinking type 'disabled'"
        elif config.effort != "none" and budget is None and enabled is not False:
            budget = _EFFORT_BUDGET.get(config.effort, _EFFORT_BUDGET["medium"])
            enabled = True
            detail = f"reasoning effort {config.effort!r} is sent as a thinking budget of {budget}"
        else:
            detail = f"reasoning effort {config.effort!r} dropped"
        enc.lose("L-REASONING-EFFORT-BUDGET", "reasoning.effort", f"{detail} ({PROTOCOL} has no effort field)")
    thinking: Optional[Obj] = None
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
    if config.summary is not None or config.include_thoughts is not None:
        enc.lose("L-REASONING-SUMMARY", "reasoning", f"{PROTOCOL} has no reasoning summary or include-thoughts switch")
    _restore({}, config.extensions, enc.losses, "reasoning")
    return thinking


def _encode_output_format(fmt: OutputFormat, enc: _Encoder) -> Optional[Obj]:
    if fmt.type == "text":
        _restore({}, fmt.extensions, enc.losses, "output_format")
        return None
    if fmt.type != "json_schema" or fmt.schema is None:
        enc.lose(
            "L-SO-JSON-MODE", "output_format", f"{PROTOCOL} has no schema-less JSON mode; the output format is dropped"
        )
        return None
    extensions = fmt.extensions
    own = dict(extensions.get(PROTOCOL) or {})
    text = own.pop("schema", None)
    if not isinstance(text, str) or _loads(text) != fmt.schema:
        text = dump_arguments(fmt.schema, PROTOCOL, "output_format.schema", False)
    definition: Obj = {"schema": text}
    if fmt.name is not None:
        definition["name"] = fmt.name
    if fmt.description is not None:
        definition["description"] = fmt.description
    if fmt.strict is not None:
        enc.lose("L-SO-STRICT", "output_format.strict", f"{PROTOCOL} textFormat has no strict flag")
    extensions = dict(extensions)
    extensions[PROTOCOL] = own
    _restore(definition, extensions, enc.losses, "output_format")
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _encode_inference(request: LlmRequest, enc: _Encoder) -> Obj:
    out: Obj = {}
    if request.max_output_tokens is not None:
        out["maxTokens"] = request.max_output_tokens
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
        out["topP"] = request.top_p
    if request.stop is not None:
        kept = [s for s in request.stop if s]
        if len(kept) != len(request.stop):
            enc.lose("L-STOP-UNSUPPORTED", "stop", f"empty stop sequences are not accepted by {PROTOCOL}")
        out["stopSequences"] = kept
    return out


def _encode_metadata(metadata: Dict[str, str], enc: _Encoder) -> Optional[Dict[str, str]]:
    out: Dict[str, str] = {}
    for key, value in metadata.items():
        if len(out) == 16:
            enc.lose("L-METADATA", join("metadata", key), f"{PROTOCOL} requestMetadata holds at most 16 entries")
            continue
        if not key or not _METADATA_TEXT.fullmatch(key) or not _METADATA_TEXT.fullmatch(value):
            enc.lose("L-METADATA", join("metadata", key), f"characters outside the {PROTOCOL} requestMetadata set")
            continue
        out[key] = value
    return out or None


def _encode_unsupported(request: LlmRequest, enc: _Encoder, native_fields: bool) -> None:
    if request.top_k is not None and not native_fields:
        enc.lose("L-TOP-K", "top_k", f"top_k has no {PROTOCOL} field for model {request.model!r}")
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
    if request.user is not None:
        enc.lose("L-METADATA", "user", f"an end-user id has no field in {PROTOCOL}")
    if request.prompt_cache_key is not None:
        enc.lose("L-CACHE-MARKERS", "prompt_cache_key", f"prompt_cache_key is not supported by {PROTOCOL}")
    if request.stream is not None:
        enc.lose(
            "L-EXTENSION",
            "stream",
            f"stream={request.stream} is not a body field in {PROTOCOL}: "
            "the endpoint (converse or converse-stream) chooses",
        )


@entry_point(PROTOCOL, decoding=False)
def encode_request(request: LlmRequest, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """Encode an `LlmRequest` as a Converse request (with ``modelId`` when it names a model)."""
    enc = _Encoder(losses if losses is not None else LossLog(PROTOCOL))
    out: Obj = {}
    if request.model:
        out["modelId"] = request.model
    native_fields = is_anthropic_model(request.model)
    system, absorbed = _encode_system(request, enc)
    messages = _encode_messages(request, enc, absorbed)
    if messages or _NO_MESSAGES not in request.extensions:
        out["messages"] = messages
    if system is not None:
        out["system"] = system
    inference = _encode_inference(request, enc)
    if inference:
        out["inferenceConfig"] = inference

    tools = _encode_tools(request, enc) if request.tools else []
    choice, send_tools = _encode_tool_choice(request, bool(tools), enc)
    if tools and send_tools:
        config: Obj = {"tools": tools}
        if choice is not None:
            config["toolChoice"] = choice
        out["toolConfig"] = config

    model_fields: Obj = {}
    if request.reasoning is not None:
        if native_fields:
            thinking = _encode_thinking(request.reasoning, request.max_output_tokens, enc)
            if thinking is not None:
                model_fields["thinking"] = thinking
        else:
            enc.lose(
                "L-REASONING-EFFORT-BUDGET",
                "reasoning",
                f"{PROTOCOL} has no portable reasoning field for model {request.model!r}; dropped",
            )
    if request.top_k is not None and native_fields:
        model_fields["top_k"] = request.top_k
    if model_fields:
        out["additionalModelRequestFields"] = model_fields
    if request.output_format is not None:
        output_config = _encode_output_format(request.output_format, enc)
        if output_config is not None:
            out["outputConfig"] = output_config
    if request.metadata:
        metadata = _encode_metadata(request.metadata, enc)
        if metadata is not None:
            out["requestMetadata"] = metadata
    if request.service_tier is not None:
        if request.service_tier in _SERVICE_TIERS:
            out["serviceTier"] = {"type": request.service_tier}
        else:
            enc.lose(
                "L-SERVICE-TIER",
                "service_tier",
                f"service tier {request.service_tier!r} has no equivalent in {PROTOCOL} "
                "(priority, default, flex, reserved)",
            )
    _encode_unsupported(request, enc, native_fields)
    _restore(out, request.extensions, enc.losses, "")
    return out


# --------------------------------------------------------------------------- response


def encode_usage(usage: Optional[Usage], losses: LossLog, path: str = "usage") -> Obj:
    """A ``TokenUsage`` object (zeros when unknown: the field is required)."""
    if usage is None:
        return {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
    read, written = usage.cached_input_tokens, usage.cache_creation_input_tokens
    out: Obj = {
        "inputTokens": max(0, usage.input_tokens - (read or 0) - (written or 0)),
        "outputTokens": usage.output_tokens,
        "totalTokens": usage.total,
    }
    if read is not None:
        out["cacheReadInputTokens"] = read
    if written is not None:
        out["cacheWriteInputTokens"] = written
    if usage.reasoning_tokens:  # a count of 0 loses nothing
        losses.add(
            "L-USAGE-REASONING", join(path, "reasoning_tokens"), f"{PROTOCOL} does not break out reasoning tokens"
        )
    extensions = usage.extensions
    own = extensions.get(PROTOCOL)
    if own and own.keys() & METADATA_KEYS:
        # Fields of a streamed metadata event: they belong to the response, not to usage.
        extensions = dict(extensions)
        extensions[PROTOCOL] = {k: v for k, v in own.items() if k not in METADATA_KEYS}
    _restore(out, extensions, losses, path)
    return out


def encode_stop_reason(canonical: str, raw: Optional[str], losses: LossLog) -> str:
    """The ``stopReason`` for a canonical stop reason (the raw value when it maps back to it)."""
    if raw is not None and _STOP_REASONS.get(raw) == canonical:
        return raw
    wire, loss = _STOP_REASONS_BACK.get(canonical, ("end_turn", "L-FINISH-GRANULARITY"))
    if loss is not None:
        losses.add(loss, "stop_reason", f"stop reason {canonical!r} has no equivalent in {PROTOCOL}; sent as {wire!r}")
    else:
        note_finer_stop(losses, "stop_reason", PROTOCOL, canonical, raw, wire)
    return wire


def _encode_output(items: List[OutputItem], enc: _Encoder) -> List[Obj]:
    content: List[Obj] = []
    for i, item in enumerate(items):
        path = index("output", i)
        if isinstance(item, Message):
            if item.role != "assistant":
                raise EncodeError(PROTOCOL, join(path, "role"), f"response output message has role {item.role!r}")
            native = item.raw_format == PROTOCOL
            for j, part in enumerate(item.content):
                where = index(join(path, "content"), j)
                if isinstance(part, ReasoningPart):
                    reasoning = enc.response_reasoning(part, where)
                    if reasoning is not None:
                        content.append(reasoning)
                else:
                    enc.add(content, part, where, native)
            _restore({}, item.extensions, enc.losses, path)
            continue
        block: Optional[Obj]
        if isinstance(item, ToolCallPart):
            block = enc.tool_call(item, path)
        elif isinstance(item, ReasoningPart):
            block = enc.response_reasoning(item, path)
        else:
            block = enc.opaque(item, path)
        if block is not None:
            content.append(block)
    return content


@entry_point(PROTOCOL, decoding=False)
def encode_response(response: LlmResponse, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """Encode an `LlmResponse` as a Converse response body, recording what is lost."""
    enc = _Encoder(losses if losses is not None else LossLog(PROTOCOL))
    out: Obj = {
        "output": {"message": {"role": "assistant", "content": _encode_output(response.output, enc)}},
        "stopReason": encode_stop_reason(response.stop_reason, response.raw_stop_reason, enc.losses),
        "usage": encode_usage(response.usage, enc.losses),
    }
    extensions = response.extensions
    streamed = (response.usage.extensions.get(PROTOCOL) if response.usage is not None else None) or {}
    if streamed.keys() & METADATA_KEYS:
        extensions = dict(extensions)
        extensions[PROTOCOL] = {
            **{k: v for k, v in streamed.items() if k in METADATA_KEYS},
            **extensions.get(PROTOCOL, {}),
        }
    own = extensions.get(PROTOCOL, {})
    kept = own.get("output")
    if isinstance(kept, dict) and "message" not in kept and not response.output:
        out["output"] = kept  # an output union member newer than this codec
    out["metrics"] = dict(DEFAULT_LATENCY) if "metrics" not in own else own["metrics"]
    if response.stop_sequence is not None:
        out["additionalModelResponseFields"] = {"stop_sequence": response.stop_sequence}
    if response.id:
        enc.lose("L-RESPONSE-ID", "id", f"{PROTOCOL} responses have no id (the x-amzn-RequestId header carries one)")
    if response.model:
        enc.lose("L-RESPONSE-MODEL", "model", f"{PROTOCOL} responses do not name the model")
    if response.created:  # 0 is the placeholder other encoders write for "unknown"
        enc.lose("L-CREATED", "created", f"the creation time has no field in {PROTOCOL}")
    if response.choices:
        enc.lose(
            "L-N-CANDIDATES", "choices", f"{len(response.choices)} extra candidate(s) dropped: {PROTOCOL} returns one"
        )
    _restore(out, extensions, enc.losses, "")
    return out


__all__ = [
    "PROTOCOL",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "is_anthropic_model",
    "wire_tool_id",
]
