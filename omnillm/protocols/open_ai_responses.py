"""OpenAI Responses (``POST /v1/responses``) codec: wire dicts <-> canonical model.

Decisions worth knowing:

* ``input`` as a bare string decodes to one user `Message`; a shape marker restores the
  string form on a same-protocol round trip.
* Consecutive assistant-side input items (assistant ``message``, ``function_call``,
  ``reasoning`` and hosted-tool calls) decode into ONE assistant `Message` whose parts keep
  the item order. The item-level fields of a message item (``id``, ``status``, ``phase``,
  unknown keys) ride on the first part of that item under the extension key
  ``"open_ai_responses~item"``; function-call and reasoning item fields live on their
  `ToolCallPart` (``item_id`` + extensions) / `ReasoningPart` (``id`` + extensions). The
  encoder splits the parts back into items. Output messages of a response use the same
  scheme, so ``LlmResponse.message`` replays with its ids.
* ``function_call_output`` items decode to ``Message(role="tool")`` with one
  `ToolResultPart`; output-side hosted items (``*_output``, ``mcp_approval_response``,
  ``item_reference``) to a user `Message` holding an `OpaquePart`. A content part of an
  unknown type is an `OpaquePart` too, marked ``"open_ai_responses~part"`` so that it is
  written back inside its message item rather than as an item of its own.
* Hosted tools and ``custom`` tools decode to `BuiltinTool`; forcing one of them with
  ``tool_choice`` decodes to mode ``required`` with the wire object kept in extensions.
* ``text.format`` <-> `OutputFormat`; ``text.verbosity`` and other ``text`` keys stay
  request extensions (under ``text``). ``include`` containing
  ``message.output_text.logprobs`` decodes to ``logprobs=True``.
* Image ``detail: "auto"`` (the default) decodes to ``None``; the SDK requires the key, so
  ``None`` encodes as ``"auto"`` unless the same-protocol input omitted it.
* A leading text-only ``system`` message of another protocol (with no ``instructions`` set)
  encodes as ``instructions``, the Responses system slot.
* A completed response with a ``function_call`` or a ``custom_tool_call`` item stops for
  ``tool_use`` (mapping table 3.2), although the custom call itself is an `OpaquePart`.
* Responses of other protocols get the keys the SDK `Response` model requires
  (``object``, ``parallel_tool_calls``, ``tool_choice``, ``tools``, usage details), message
  ids ``msg_<response id>_<n>``, call item ids ``fc_<call_id>`` and reasoning ids
  ``rs_<response id>_<n>``. Decoding does not keep those keys when they hold exactly the
  default, so they are not reported as losses elsewhere.
* Codes not in the mapping-table catalogue: L-TOP-K (``top_k`` dropped) and L-MEDIA-ROLE
  (media parts in an assistant turn, which Responses holds as text only).

Shape markers: wire choices that are not information (a key sent as ``null`` or ``[]``, a
key left out, string versus list content, an absent ``type``) are kept as extension keys
``"open_ai_responses~<marker>"`` with an empty dict value: same-protocol round trips restore
them exactly, and `restore_extensions` in other codecs, which reports only non-empty
fields, does not count them as losses.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any, Dict, FrozenSet, List, Optional, Tuple, Union

from ..errors import EncodeError
from ..model import (
    AudioPart,
    BuiltinTool,
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
    data_url,
    describe,
    entry_point,
    index,
    join,
    note_finer_stop,
    parse_data_url,
    restore_extensions,
)

PROTOCOL = "open_ai_responses"

_R = Reader(PROTOCOL)
_MARK = PROTOCOL + "~"
_ITEM = _MARK + "item"
"""Extension key holding the item-level fields of the message item a part starts."""
_PART = _MARK + "part"
"""Extension key marking an `OpaquePart` that was a message content part, not an input item."""

_REQUEST_KEYS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "text",
        "reasoning",
        "max_output_tokens",
        "temperature",
        "top_p",
        "top_logprobs",
        "metadata",
        "user",
        "service_tier",
        "prompt_cache_key",
        "stream",
    }
)
_MESSAGE_KEYS = frozenset({"type", "role", "content"})
_TEXT_KEYS = frozenset({"type", "text"})
_REFUSAL_KEYS = frozenset({"type", "refusal"})
_IMAGE_KEYS = frozenset({"type", "image_url", "file_id", "detail"})
_FILE_KEYS = frozenset({"type", "file_id", "file_url", "file_data", "filename"})
_CALL_KEYS = frozenset({"type", "call_id", "name", "arguments", "id"})
_RESULT_KEYS = frozenset({"type", "call_id", "output", "name"})
_REASONING_KEYS = frozenset({"type", "id", "summary", "content", "encrypted_content"})
_FUNCTION_TOOL_KEYS = frozenset({"type", "name", "description", "parameters", "strict"})
_FORMAT_KEYS = frozenset({"type", "name", "schema", "description", "strict"})
_REASONING_CONFIG_KEYS = frozenset({"effort", "summary"})
_RESPONSE_KEYS = frozenset(
    {
        "id",
        "object",
        "created_at",
        "status",
        "incomplete_details",
        "error",
        "model",
        "output",
        "usage",
        "parallel_tool_calls",
        "tool_choice",
        "tools",
    }
)
_USAGE_KEYS = frozenset(
    {"input_tokens", "output_tokens", "total_tokens", "input_tokens_details", "output_tokens_details"}
)
_INPUT_DETAIL_KEYS = frozenset({"cached_tokens", "cache_write_tokens"})
_OUTPUT_DETAIL_KEYS = frozenset({"reasoning_tokens"})

_INPUT_ROLES = frozenset({"user", "system", "developer"})
_TOOL_CHOICE_MODES = frozenset({"auto", "none", "required"})
_SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority", "fast", "ultrafast"})
_LOGPROBS_INCLUDE = "message.output_text.logprobs"
# Output-side hosted items are sent by the caller; every other unknown item is the model's.
_CALLER_ITEM_TYPES = frozenset({"mcp_approval_response", "item_reference", "compaction_trigger"})
_FINISH_STATUSES = frozenset({"completed", "incomplete", "failed", "cancelled", "in_progress", "queued"})


# --------------------------------------------------------------------------- markers and extensions


def _mark(ext: Extensions, name: str) -> None:
    ext[_MARK + name] = {}


def _marked(ext: Extensions, name: str) -> bool:
    return (_MARK + name) in ext


def _ext(d: Obj, known: FrozenSet[str], ext: Optional[Extensions] = None) -> Extensions:
    """Unknown fields of ``d`` as extensions; any key sent as ``null`` or ``[]`` becomes a marker.

    Marking known keys too is safe: markers only fill keys the encoder left out.
    """
    out: Extensions = {} if ext is None else ext
    real: Obj = {}
    for k, v in d.items():
        if v is None:
            _mark(out, f"null:{k}")
        elif isinstance(v, list) and not v:
            _mark(out, f"empty:{k}")
        elif k not in known:
            real[k] = v
    if real:
        out.setdefault(PROTOCOL, {}).update(real)
    return out


def _absent(d: Obj, keys: Tuple[str, ...], ext: Extensions) -> None:
    """Mark keys the encoder fills by default but the wire object left out."""
    for k in keys:
        if k not in d:
            _mark(ext, f"absent:{k}")


def _restore(out: Obj, ext: Extensions, losses: LossLog, path: str) -> None:
    """Write back this protocol's fields and markers; report other protocols' fields."""
    if not ext:
        return
    plain = {k: v for k, v in ext.items() if not k.startswith(_MARK)}
    if plain:
        restore_extensions(out, plain, PROTOCOL, losses, path)
    if len(plain) == len(ext):
        return
    for key in ext:
        if not key.startswith(_MARK):
            continue
        kind, _, name = key[len(_MARK) :].partition(":")
        if kind == "null":
            out.setdefault(name, None)
        elif kind == "empty":
            out.setdefault(name, [])


def restore_fields(out: Obj, ext: Extensions, losses: LossLog, path: str) -> None:
    """`_restore` for the stream codec: this protocol's fields and shape markers written back."""
    _restore(out, ext, losses, path)


def split_item_fields(ext: Extensions) -> Tuple[Obj, Extensions]:
    """(message item fields, the rest) of a first output part's extensions (see ``~item``)."""
    fields = ext.get(_ITEM) or {}
    rest = {k: v for k, v in ext.items() if k != _ITEM and not k.startswith(_MARK + "form:")}
    return dict(fields), rest


def _mine(ext: Extensions) -> Obj:
    return ext.get(PROTOCOL) or {}


# --------------------------------------------------------------------------- decoding: parts


def _decode_image(d: Obj, path: str) -> ImagePart:
    url = _R.opt_str(d, "image_url", path)
    file_id = _R.opt_str(d, "file_id", path)
    detail = _R.opt_str(d, "detail", path)
    ext = _ext(d, _IMAGE_KEYS)
    if "detail" not in d:
        _mark(ext, "absent:detail")
    elif detail == "auto":
        # "auto" is the default: canonical None, so that it matches protocols that omit it.
        detail = None
    if url is not None:
        parsed = parse_data_url(url)
        if parsed is not None:
            return ImagePart(data=parsed[1], media_type=parsed[0], file_id=file_id, detail=detail, extensions=ext)
    return ImagePart(url=url, file_id=file_id, detail=detail, extensions=ext)


def _decode_file(d: Obj, path: str) -> FilePart:
    file_data = _R.opt_str(d, "file_data", path)
    ext = _ext(d, _FILE_KEYS)
    part = FilePart(
        url=_R.opt_str(d, "file_url", path),
        file_id=_R.opt_str(d, "file_id", path),
        filename=_R.opt_str(d, "filename", path),
        extensions=ext,
    )
    if file_data is not None:
        parsed = parse_data_url(file_data)
        if parsed is None:
            # Not a data URL (raw base64): keep it as is and remember the form.
            part.data = file_data
            _mark(ext, "raw:file_data")
        else:
            part.media_type, part.data = parsed
    return part


def _decode_part(raw: Any, path: str) -> Part:
    """One content part of a message or a function_call_output (any role)."""
    d = _R.obj(raw, path)
    kind = _R.req_str(d, "type", path)
    if kind in ("input_text", "output_text"):
        ext = _ext(d, _TEXT_KEYS)
        _mark(ext, f"type:{kind}")
        if kind == "output_text":
            _absent(d, ("annotations",), ext)
        return TextPart(_R.req_str(d, "text", path), extensions=ext)
    if kind == "refusal":
        return RefusalPart(_R.req_str(d, "refusal", path), extensions=_ext(d, _REFUSAL_KEYS))
    if kind == "input_image":
        return _decode_image(d, path)
    if kind == "input_file":
        return _decode_file(d, path)
    return OpaquePart(PROTOCOL, d, extensions={_PART: {}})


def _decode_content(item: Obj, path: str, ext: Extensions) -> List[Part]:
    """The parts of a message item; string content becomes one text part plus a marker."""
    content = _R.req(item, "content", path)
    where = join(path, "content")
    if isinstance(content, str):
        _mark(ext, "form:string")
        return [TextPart(content)]
    items = _R.arr(content, where)
    return [_decode_part(p, index(where, i)) for i, p in enumerate(items)]


def _decode_call(d: Obj, path: str) -> ToolCallPart:
    ext = _ext(d, _CALL_KEYS)
    _absent(d, ("id", "status"), ext)
    return ToolCallPart(
        id=_R.req_str(d, "call_id", path),
        name=_R.req_str(d, "name", path),
        arguments=_R.req_str(d, "arguments", path),
        item_id=_R.opt_str(d, "id", path),
        extensions=ext,
    )


def _texts(d: Obj, key: str, kind: str, path: str, ext: Extensions) -> Optional[List[str]]:
    """The texts of a reasoning ``summary``/``content`` list; irregular lists stay raw in ext."""
    value = _R.opt_arr(d, key, path)
    if value is None:
        return None
    where = join(path, key)
    texts = []
    regular = True
    for i, entry in enumerate(value):
        e = _R.obj(entry, index(where, i))
        texts.append(_R.req_str(e, "text", index(where, i)))
        regular = regular and set(e) == {"type", "text"} and e.get("type") == kind
    if not regular:
        ext.setdefault(PROTOCOL, {})[key] = value
    return texts


def _decode_reasoning(d: Obj, path: str) -> ReasoningPart:
    ext = _ext(d, _REASONING_KEYS)
    summary = _texts(d, "summary", "summary_text", path, ext)
    content = _texts(d, "content", "reasoning_text", path, ext)
    text: Optional[str] = None
    if content:
        text = "".join(content)
        if len(content) > 1:
            ext.setdefault(PROTOCOL, {}).setdefault("content", d["content"])
    encrypted = _R.opt_str(d, "encrypted_content", path)
    if summary is None:
        _mark(ext, "absent:summary")
    return ReasoningPart(
        text=text,
        summary=summary or [],
        encrypted_content=encrypted,
        id=_R.opt_str(d, "id", path),
        source=PROTOCOL if encrypted is not None else None,
        extensions=ext,
    )


def _decode_result(d: Obj, path: str) -> ToolResultPart:
    ext = _ext(d, _RESULT_KEYS)
    output = _R.req(d, "output", path)
    where = join(path, "output")
    if isinstance(output, str):
        _mark(ext, "form:string")
        content: List[Part] = [TextPart(output)]
    else:
        content = [_decode_part(p, index(where, i)) for i, p in enumerate(_R.arr(output, where))]
    return ToolResultPart(
        call_id=_R.req_str(d, "call_id", path),
        content=content,
        name=_R.opt_str(d, "name", path),
        extensions=ext,
    )


def _item_fields(item: Obj) -> Obj:
    return {k: v for k, v in item.items() if k not in _MESSAGE_KEYS}


def _decode_assistant_item(item: Obj, path: str) -> Tuple[List[Part], Extensions]:
    """Parts of an assistant message item; item fields go on the first part (or are returned)."""
    form: Extensions = {}
    if "type" not in item:
        _mark(form, "form:easy")
    parts = _decode_content(item, path, form)
    info: Extensions = {_ITEM: _item_fields(item), **form}
    if parts:
        parts[0].extensions.update(info)
        return parts, {}
    return parts, info


def _decode_message(item: Obj, role: str, path: str) -> Message:
    """A user, system or developer message item: one `Message`."""
    ext: Extensions = {}
    if "type" not in item:
        _mark(ext, "form:easy")
    parts = _decode_content(item, path, ext)
    _ext(item, _MESSAGE_KEYS, ext)
    return Message(role, parts, raw_message=item, raw_format=PROTOCOL, extensions=ext)


def _item_type(item: Obj, path: str) -> str:
    kind = item.get("type")
    if kind is None:
        if "role" in item:
            return "message"
        if "id" in item:
            return "item_reference"
        raise _R.fail(join(path, "type"), "required field is missing")
    if not isinstance(kind, str):
        raise _R.fail(join(path, "type"), f"expected a string, got {describe(kind)}")
    return kind


def _decode_input(items: List[Any], path: str) -> List[Message]:
    messages: List[Message] = []
    run: Optional[Message] = None
    run_items: List[Obj] = []

    def join_run(parts: List[Part], item: Obj) -> None:
        nonlocal run
        if run is None:
            run = Message("assistant", [], raw_message={"items": run_items}, raw_format=PROTOCOL)
            messages.append(run)
        run.content.extend(parts)
        run_items.append(item)

    for i, raw in enumerate(items):
        p = index(path, i)
        item = _R.obj(raw, p)
        kind = _item_type(item, p)
        if kind == "message":
            role = _R.req_str(item, "role", p)
            if role == "assistant":
                parts, info = _decode_assistant_item(item, p)
                if info:
                    # An empty assistant message item keeps its fields on a message of its own.
                    run, run_items = None, []
                    messages.append(Message("assistant", [], raw_message=item, raw_format=PROTOCOL, extensions=info))
                else:
                    join_run(parts, item)
                continue
            if role not in _INPUT_ROLES:
                raise _R.fail(join(p, "role"), f"unknown role {role!r}")
            run, run_items = None, []
            messages.append(_decode_message(item, role, p))
        elif kind == "function_call":
            join_run([_decode_call(item, p)], item)
        elif kind == "reasoning":
            join_run([_decode_reasoning(item, p)], item)
        elif kind == "function_call_output":
            run, run_items = None, []
            messages.append(Message("tool", [_decode_result(item, p)], raw_message=item, raw_format=PROTOCOL))
        elif kind.endswith("_output") or kind in _CALLER_ITEM_TYPES:
            run, run_items = None, []
            messages.append(Message("user", [OpaquePart(PROTOCOL, item)], raw_message=item, raw_format=PROTOCOL))
        else:
            join_run([OpaquePart(PROTOCOL, item)], item)
    return messages


# --------------------------------------------------------------------------- decoding: request


def _decode_tool(raw: Any, path: str) -> Tool:
    d = _R.obj(raw, path)
    kind = _R.req_str(d, "type", path)
    if kind == "function":
        return FunctionTool(
            name=_R.req_str(d, "name", path),
            description=_R.opt_str(d, "description", path),
            parameters=_R.opt_obj(d, "parameters", path),
            strict=_R.opt_bool(d, "strict", path),
            extensions=_ext(d, _FUNCTION_TOOL_KEYS),
        )
    return BuiltinTool(type=kind, options={k: v for k, v in d.items() if k != "type"}, source=PROTOCOL)


def _decode_tool_choice(value: Any, path: str) -> ToolChoice:
    if isinstance(value, str):
        if value not in _TOOL_CHOICE_MODES:
            raise _R.fail(path, f"unknown tool_choice {value!r}")
        return ToolChoice(mode=value)
    d = _R.obj(value, path)
    kind = _R.req_str(d, "type", path)
    if kind == "function":
        return ToolChoice(
            mode="tool", name=_R.req_str(d, "name", path), extensions=_ext(d, frozenset({"type", "name"}))
        )
    if kind == "allowed_tools":
        mode = _R.req_str(d, "mode", path)
        if mode not in ("auto", "required"):
            raise _R.fail(join(path, "mode"), f"unknown allowed_tools mode {mode!r}")
        tools = _R.req_arr(d, "tools", path)
        names: List[str] = []
        regular = True
        for i, t in enumerate(tools):
            entry = _R.obj(t, index(join(path, "tools"), i))
            name = entry.get("name")
            if isinstance(name, str):
                names.append(name)
            regular = regular and entry.get("type") == "function" and isinstance(name, str) and len(entry) == 2
        ext = _ext(d, frozenset({"type", "mode", "tools"}))
        if not regular:
            ext.setdefault(PROTOCOL, {})["tools"] = tools
        return ToolChoice(mode=mode, allowed=names, extensions=ext)
    # Forcing a hosted or custom tool: "some tool must be called", the wire object kept.
    return ToolChoice(mode="required", extensions={PROTOCOL: dict(d)})


def _decode_format(value: Any, path: str) -> OutputFormat:
    d = _R.obj(value, path)
    kind = _R.req_str(d, "type", path)
    ext = _ext(d, _FORMAT_KEYS)
    if kind in ("text", "json_object"):
        return OutputFormat(type=kind, extensions=ext)
    if kind != "json_schema":
        raise _R.fail(join(path, "type"), f"unknown format type {kind!r}")
    return OutputFormat(
        type="json_schema",
        schema=_R.req_obj(d, "schema", path),
        name=_R.req_str(d, "name", path),
        description=_R.opt_str(d, "description", path),
        strict=_R.opt_bool(d, "strict", path),
        extensions=ext,
    )


def _decode_reasoning_config(d: Obj, path: str) -> ReasoningConfig:
    effort = _R.opt_str(d, "effort", path)
    return ReasoningConfig(
        effort=effort,
        enabled=False if effort == "none" else None,
        summary=_R.opt_str(d, "summary", path),
        extensions=_ext(d, _REASONING_CONFIG_KEYS),
    )


@entry_point(PROTOCOL, decoding=True)
def decode_request(raw: Dict[str, Any]) -> LlmRequest:
    """Decode a Responses request body into an `LlmRequest`."""
    d = _R.obj(raw, "")
    ext = _ext(d, _REQUEST_KEYS)
    req = LlmRequest(model=_R.req_str(d, "model", ""), extensions=ext)
    _absent(d, ("input",), ext)
    value = d.get("input")
    if isinstance(value, str):
        _mark(ext, "input:string")
        req.messages = [Message("user", [TextPart(value)], raw_message={"input": value}, raw_format=PROTOCOL)]
    elif value is not None:
        req.messages = _decode_input(_R.arr(value, "input"), "input")
    req.instructions = _R.opt_str(d, "instructions", "")
    tools = _R.opt_arr(d, "tools", "")
    if tools is not None:
        req.tools = [_decode_tool(t, index("tools", i)) for i, t in enumerate(tools)]
    if d.get("tool_choice") is not None:
        req.tool_choice = _decode_tool_choice(d["tool_choice"], "tool_choice")
    req.parallel_tool_calls = _R.opt_bool(d, "parallel_tool_calls", "")
    text = _R.opt_obj(d, "text", "")
    if text is not None:
        if text.get("format") is not None:
            req.output_format = _decode_format(text["format"], "text.format")
        rest = {k: v for k, v in text.items() if k != "format" or v is None}
        if rest or "format" not in text:
            ext.setdefault(PROTOCOL, {})["text"] = rest
    reasoning = _R.opt_obj(d, "reasoning", "")
    if reasoning is not None:
        req.reasoning = _decode_reasoning_config(reasoning, "reasoning")
    req.max_output_tokens = _R.opt_int(d, "max_output_tokens", "")
    req.temperature = _R.opt_num(d, "temperature", "")
    req.top_p = _R.opt_num(d, "top_p", "")
    req.top_logprobs = _R.opt_int(d, "top_logprobs", "")
    req.metadata = _R.opt_str_map(d, "metadata", "")
    req.user = _R.opt_str(d, "user", "")
    req.service_tier = _R.opt_str(d, "service_tier", "")
    req.prompt_cache_key = _R.opt_str(d, "prompt_cache_key", "")
    req.stream = _R.opt_bool(d, "stream", "")
    include = _R.opt_str_list(d, "include", "")
    if include is not None and _LOGPROBS_INCLUDE in include:
        req.logprobs = True
    return req


# --------------------------------------------------------------------------- encoding: parts


def _encode_text(p: TextPart, default_type: str, path: str, losses: LossLog) -> Obj:
    kind = default_type
    for candidate in ("input_text", "output_text"):
        if _marked(p.extensions, f"type:{candidate}"):
            kind = candidate
    out: Obj = {"type": kind, "text": p.text}
    _cache_loss(p.cache_control, path, losses)
    _restore(out, p.extensions, losses, path)
    if kind == "output_text" and not _marked(p.extensions, "absent:annotations"):
        out.setdefault("annotations", [])
    return out


def _cache_loss(cc: Any, path: str, losses: LossLog) -> None:
    if cc is not None:
        losses.add("L-CACHE-MARKERS", join(path, "cache_control"), f"cache markers are not supported by {PROTOCOL}")


def _encode_image(p: ImagePart, path: str, losses: LossLog) -> Obj:
    out: Obj = {"type": "input_image"}
    if p.data is not None:
        media_type = p.media_type
        if media_type is None:
            media_type = "application/octet-stream"
            losses.add("L-MEDIA-TYPE", path, f"image without a media type is sent as {media_type} to {PROTOCOL}")
        out["image_url"] = data_url(media_type, p.data)
    elif p.url is not None:
        out["image_url"] = p.url
    if p.file_id is not None:
        out["file_id"] = p.file_id
    if p.detail is not None:
        out["detail"] = p.detail
    elif not _marked(p.extensions, "absent:detail"):
        out["detail"] = "auto"
    _cache_loss(p.cache_control, path, losses)
    _restore(out, p.extensions, losses, path)
    return out


def _encode_file(p: FilePart, path: str, losses: LossLog) -> Obj:
    data, media_type = p.data, p.media_type
    if p.text is not None and data is None and p.url is None and p.file_id is None:
        # A plain-text document travels as a text/plain file, its text intact.
        data = base64.b64encode(p.text.encode("utf-8")).decode("ascii")
        media_type = "text/plain"
    out: Obj = {"type": "input_file"}
    if data is not None:
        if _marked(p.extensions, "raw:file_data"):
            out["file_data"] = data
        else:
            out["file_data"] = data_url(media_type or "application/octet-stream", data)
            if media_type is None:
                losses.add(
                    "L-MEDIA-TYPE", path, f"file without a media type is sent as application/octet-stream to {PROTOCOL}"
                )
    elif p.url is not None:
        out["file_url"] = p.url
        if p.media_type is not None:
            losses.add("L-MEDIA-TYPE", join(path, "media_type"), f"file_url carries no media type in {PROTOCOL}")
    if p.file_id is not None:
        out["file_id"] = p.file_id
    if p.filename is not None:
        out["filename"] = p.filename
    if p.title is not None:
        losses.add("L-FILE-NAME", join(path, "title"), f"document title is not supported by {PROTOCOL}")
    if p.text is not None and data is p.data:
        losses.add("L-MEDIA-TYPE", join(path, "text"), f"document text beside its file is dropped by {PROTOCOL}")
    _cache_loss(p.cache_control, path, losses)
    _restore(out, p.extensions, losses, path)
    return out


def _encode_input_part(p: Part, path: str, losses: LossLog) -> Optional[Obj]:
    """A part of a user/system/developer message or a tool result; None when dropped."""
    if isinstance(p, TextPart):
        return _encode_text(p, "input_text", path, losses)
    if isinstance(p, ImagePart):
        return _encode_image(p, path, losses)
    if isinstance(p, FilePart):
        return _encode_file(p, path, losses)
    if isinstance(p, AudioPart):
        losses.add("L-AUDIO", path, f"audio input is not supported by {PROTOCOL}")
        return None
    if isinstance(p, RefusalPart):
        out: Obj = {"type": "refusal", "refusal": p.text}
        _restore(out, p.extensions, losses, path)
        return out
    if isinstance(p, OpaquePart):
        return _opaque(p, path, losses)
    losses.add("L-RESULT-MEDIA", path, f"a {type(p).__name__} cannot appear here in {PROTOCOL}")
    return None


def _opaque(p: OpaquePart, path: str, losses: LossLog) -> Optional[Obj]:
    if p.source == PROTOCOL:
        return dict(p.data)
    losses.add("L-OPAQUE", path, f"{p.source} item has no equivalent in {PROTOCOL}")
    return None


def _encode_call(p: ToolCallPart, path: str, losses: LossLog, derive_id: bool) -> Obj:
    out: Obj = {"type": "function_call", "call_id": p.id, "name": p.name, "arguments": p.arguments}
    if p.synthetic_id:
        losses.add("L-TOOL-ID-SYNTH", join(path, "id"), f"tool call id {p.id!r} was made up for {PROTOCOL}")
    if p.item_id is not None:
        out["id"] = p.item_id
    elif derive_id and not _marked(p.extensions, "absent:id"):
        out["id"] = f"fc_{p.id}"
    _cache_loss(p.cache_control, path, losses)
    _restore(out, p.extensions, losses, path)
    if derive_id and "status" not in out and not _marked(p.extensions, "absent:status"):
        out["status"] = "completed"
    return out


def _summary_list(p: ReasoningPart) -> List[Any]:
    raw = _mine(p.extensions).get("summary")
    if isinstance(raw, list) and [e.get("text") if isinstance(e, dict) else None for e in raw] == p.summary:
        return raw
    return [{"type": "summary_text", "text": t} for t in p.summary]


def _content_list(p: ReasoningPart, text: str) -> List[Any]:
    raw = _mine(p.extensions).get("content")
    if isinstance(raw, list):
        texts = [e.get("text") if isinstance(e, dict) else None for e in raw]
        if all(isinstance(t, str) for t in texts) and "".join(t for t in texts if t is not None) == text:
            return raw
    return [{"type": "reasoning_text", "text": text}]


def _encode_reasoning(p: ReasoningPart, path: str, losses: LossLog, rid: Optional[str]) -> Optional[Obj]:
    """A reasoning item; ``rid`` is the id to use when the part has none (responses only)."""
    native = p.source == PROTOCOL
    opaque = p.signature is not None or p.encrypted_content is not None or p.redacted
    if opaque and not native:
        origin = p.source or "another protocol's"
        if p.redacted or rid is None:
            losses.add(
                "L-REASONING-OPAQUE", path, f"{origin} reasoning cannot be replayed in {PROTOCOL} without its token"
            )
            return None
        losses.add("L-REASONING-OPAQUE", path, f"the {origin} reasoning token is not valid in {PROTOCOL}")
    item_id = p.id if p.id is not None else rid
    if item_id is None:
        # Request history: a reasoning item needs the id the server gave it.
        losses.add("L-REASONING-OPAQUE", path, f"reasoning without a {PROTOCOL} item id cannot be replayed")
        return None
    out: Obj = {"type": "reasoning", "id": item_id}
    if p.summary or not _marked(p.extensions, "absent:summary"):
        out["summary"] = _summary_list(p)
    if p.text is not None:
        out["content"] = _content_list(p, p.text)
    if native and p.encrypted_content is not None:
        out["encrypted_content"] = p.encrypted_content
    ext = p.extensions
    mine = _mine(ext)
    if "summary" in mine or "content" in mine:
        ext = dict(ext)
        ext[PROTOCOL] = {k: v for k, v in mine.items() if k not in ("summary", "content")}
    _restore(out, ext, losses, path)
    return out


def _encode_result(p: ToolResultPart, path: str, losses: LossLog) -> Obj:
    out: Obj = {"type": "function_call_output", "call_id": p.call_id}
    if p.synthetic_id:
        losses.add("L-TOOL-ID-SYNTH", join(path, "call_id"), f"tool result id {p.call_id!r} was made up for {PROTOCOL}")
    texts_only = all(isinstance(q, TextPart) and not q.extensions for q in p.content)
    if texts_only and (_marked(p.extensions, "form:string") or len(p.content) <= 1):
        out["output"] = "".join(q.text for q in p.content if isinstance(q, TextPart))
    else:
        parts = []
        for j, q in enumerate(p.content):
            wire = _encode_input_part(q, index(join(path, "content"), j), losses)
            if wire is not None:
                parts.append(wire)
        out["output"] = parts
    if p.name is not None:
        out["name"] = p.name
    if p.is_error:
        losses.add("L-RESULT-ERROR-FLAG", join(path, "is_error"), f"tool results carry no error flag in {PROTOCOL}")
    _cache_loss(p.cache_control, path, losses)
    _restore(out, p.extensions, losses, path)
    return out


# --------------------------------------------------------------------------- encoding: messages


class _Items:
    """Collects the wire items of one canonical message, in order."""

    __slots__ = ("items", "losses", "offset", "response_id")

    def __init__(self, losses: LossLog, response_id: Optional[str] = None, offset: int = 0) -> None:
        self.items: List[Obj] = []
        self.losses = losses
        self.response_id = response_id
        self.offset = offset

    @property
    def n(self) -> int:
        return self.offset + len(self.items)

    def derived(self, prefix: str) -> Optional[str]:
        if self.response_id is None:
            return None
        return f"{prefix}_{self.response_id}_{self.n}"

    def common(self, p: Part, path: str) -> bool:
        """Encode a part that has the same item form in every role; False if not such a part."""
        losses = self.losses
        if isinstance(p, ToolCallPart):
            self.items.append(_encode_call(p, path, losses, self.response_id is not None))
        elif isinstance(p, ReasoningPart):
            item = _encode_reasoning(p, path, losses, self.derived("rs"))
            if item is not None:
                self.items.append(item)
        elif isinstance(p, ToolResultPart):
            self.items.append(_encode_result(p, path, losses))
        elif isinstance(p, OpaquePart):
            item = _opaque(p, path, losses)
            if item is not None:
                self.items.append(item)
        else:
            return False
        return True


_ContentPart = Union[TextPart, RefusalPart, OpaquePart]
"""A part that travels inside an assistant message item."""


def _flush_assistant(
    acc: _Items,
    parts: List[Tuple[_ContentPart, str]],
    info: Optional[Tuple[Obj, Extensions]],
    path: str,
) -> None:
    """Emit one assistant message item holding ``parts``; ``info`` is (item fields, markers)."""
    losses = acc.losses
    full: bool
    if info is not None:
        fields, marks = info
        item: Obj = dict(fields)
        full = not _marked(marks, "form:easy")
        string = _marked(marks, "form:string")
        if acc.response_id is not None:
            item.setdefault("id", acc.derived("msg"))
            item.setdefault("status", "completed")
    else:
        item = {}
        refusal = any(isinstance(p, RefusalPart) for p, _ in parts)
        full = acc.response_id is not None or refusal
        string = not full and len(parts) == 1 and not parts[0][0].extensions
        if full:
            item["id"] = acc.derived("msg") or f"msg_{path.replace('messages[', '').replace(']', '')}_{acc.n}"
            item["status"] = "completed"
    item["role"] = "assistant"
    if full:
        item["type"] = "message"
    if string and len(parts) == 1 and isinstance(parts[0][0], TextPart):
        item["content"] = parts[0][0].text
    else:
        content = []
        for p, ppath in parts:
            if isinstance(p, TextPart):
                content.append(_encode_text(p, "output_text" if full else "input_text", ppath, losses))
            elif isinstance(p, OpaquePart):
                content.append(dict(p.data))
            else:
                wire: Obj = {"type": "refusal", "refusal": p.text}
                _restore(wire, p.extensions, losses, ppath)
                content.append(wire)
        item["content"] = content
    acc.items.append(item)


def _item_info(ext: Extensions) -> Optional[Tuple[Obj, Extensions]]:
    fields = ext.get(_ITEM)
    if fields is None:
        return None
    return dict(fields), ext


def _without_item(p: _ContentPart) -> _ContentPart:
    """The part with its item-level extension keys hidden from part encoding."""
    if not any(k == _ITEM or k.startswith(_MARK + "form:") for k in p.extensions):
        return p
    ext = {k: v for k, v in p.extensions.items() if k != _ITEM and not k.startswith(_MARK + "form:")}
    if isinstance(p, TextPart):
        return TextPart(p.text, p.cache_control, ext)
    if isinstance(p, OpaquePart):
        return OpaquePart(p.source, p.data, ext)
    return RefusalPart(p.text, ext)


def _content_opaque(p: Part) -> bool:
    """An unknown message content part of this format (kept inside its message item)."""
    return isinstance(p, OpaquePart) and p.source == PROTOCOL and _PART in p.extensions


def _encode_assistant(m: Message, path: str, acc: _Items) -> None:
    losses = acc.losses
    pending: List[Tuple[_ContentPart, str]] = []
    info: Optional[Tuple[Obj, Extensions]] = None

    def flush() -> None:
        nonlocal pending, info
        if pending:
            _flush_assistant(acc, pending, info, path)
        pending, info = [], None

    if not m.content and _ITEM in m.extensions:
        _flush_assistant(acc, [], _item_info(m.extensions), path)
        return
    for j, p in enumerate(m.content):
        ppath = index(join(path, "content"), j)
        if isinstance(p, (TextPart, RefusalPart)) or (isinstance(p, OpaquePart) and _content_opaque(p)):
            starts = _item_info(p.extensions)
            if starts is not None:
                flush()
                info = starts
            pending.append((_without_item(p), ppath))
            continue
        flush()
        if acc.common(p, ppath):
            continue
        losses.add("L-MEDIA-ROLE", ppath, f"assistant messages hold text only in {PROTOCOL}")
    flush()


def _encode_plain(m: Message, path: str, acc: _Items) -> None:
    """A user, system or developer message (also the non-result parts of a tool message)."""
    losses = acc.losses
    ext = m.extensions
    easy = _marked(ext, "form:easy") or m.raw_format != PROTOCOL
    role = "user" if m.role == "tool" else m.role
    pending: List[Obj] = []
    first = [True]

    def flush(force: bool = False) -> None:
        if not pending and not force:
            return
        item: Obj = {} if easy else {"type": "message"}
        item["role"] = role
        texts_only = len(pending) == 1 and pending[0].get("type") == "input_text" and set(pending[0]) == _TEXT_KEYS
        if texts_only and (_marked(ext, "form:string") or m.raw_format != PROTOCOL):
            item["content"] = pending[0]["text"]
        elif force and not pending and _marked(ext, "form:string"):
            item["content"] = ""
        else:
            item["content"] = list(pending)
        if first[0]:
            _restore(item, ext, losses, path)
            first[0] = False
        acc.items.append(item)
        pending.clear()

    start = len(acc.items)
    for j, p in enumerate(m.content):
        ppath = index(join(path, "content"), j)
        if isinstance(p, (ToolCallPart, ReasoningPart, ToolResultPart)) or (
            isinstance(p, OpaquePart) and not _content_opaque(p)
        ):
            flush()
            acc.common(p, ppath)
            continue
        wire = _encode_input_part(p, ppath, losses)
        if wire is not None:
            pending.append(wire)
    flush(force=len(acc.items) == start)


def _encode_messages(request: LlmRequest, losses: LossLog) -> Union[str, List[Obj]]:
    msgs = request.messages
    if _marked(request.extensions, "input:string") and len(msgs) == 1:
        m = msgs[0]
        only = m.content[0] if len(m.content) == 1 else None
        plain = m.role == "user" and m.name is None and not m.extensions
        if plain and isinstance(only, TextPart) and not only.extensions and only.cache_control is None:
            return only.text
    acc = _Items(losses)
    for i, m in enumerate(msgs):
        path = index("messages", i)
        if m.name is not None:
            losses.add("L-ROLE-NAME", join(path, "name"), f"message names are not supported by {PROTOCOL}")
        if m.role == "assistant":
            _encode_assistant(m, path, acc)
            _report_foreign(m.extensions, losses, path)
        elif m.role == "tool":
            results = [p for p in m.content if isinstance(p, ToolResultPart)]
            if not results:
                raise EncodeError(PROTOCOL, path, "a tool message holds no tool result")
            start = len(acc.items)
            for j, p in enumerate(m.content):
                if isinstance(p, ToolResultPart):
                    acc.items.append(_encode_result(p, index(join(path, "content"), j), losses))
            rest: List[Part] = [p for p in m.content if not isinstance(p, ToolResultPart)]
            if rest:
                _encode_plain(Message("user", rest), path, acc)
            _restore(acc.items[start], m.extensions, losses, path)
        elif m.role in ("user", "system", "developer"):
            _encode_plain(m, path, acc)
        else:
            raise EncodeError(PROTOCOL, join(path, "role"), f"unknown role {m.role!r}")
    return acc.items


def _report_foreign(ext: Extensions, losses: LossLog, path: str) -> None:
    """Report other protocols' message-level fields of a message that has no single wire item."""
    sink: Obj = {}
    _restore(sink, {k: v for k, v in ext.items() if k != PROTOCOL and k != _ITEM}, losses, path)


# --------------------------------------------------------------------------- encoding: request


def _encode_tools(tools: List[Tool], losses: LossLog) -> List[Obj]:
    out: List[Obj] = []
    for i, t in enumerate(tools):
        path = index("tools", i)
        if isinstance(t, FunctionTool):
            wire: Obj = {"type": "function", "name": t.name}
            if t.description is not None:
                wire["description"] = t.description
            wire["parameters"] = t.parameters
            wire["strict"] = t.strict
            _cache_loss(t.cache_control, path, losses)
            _restore(wire, t.extensions, losses, path)
            out.append(wire)
        elif t.source == PROTOCOL:
            wire = {"type": t.type}
            wire.update(t.options)
            out.append(wire)
        else:
            losses.add("L-TOOL-CUSTOM", path, f"{builtin_label(t)} has no equivalent in {PROTOCOL}")
    return out


def _encode_tool_choice(tc: ToolChoice, losses: LossLog) -> Union[str, Obj]:
    mine = _mine(tc.extensions)
    if tc.mode == "required" and isinstance(mine.get("type"), str) and tc.allowed is None:
        return dict(mine)
    if tc.allowed is not None and tc.mode in ("auto", "required"):
        mode = tc.mode
        raw = mine.get("tools")
        tools: List[Any]
        if isinstance(raw, list) and [e.get("name") for e in raw if isinstance(e, dict)] == tc.allowed:
            tools = raw
        else:
            tools = [{"type": "function", "name": n} for n in tc.allowed]
        out: Obj = {"type": "allowed_tools", "mode": mode, "tools": tools}
        ext = dict(tc.extensions)
        if "tools" in mine:
            ext[PROTOCOL] = {k: v for k, v in mine.items() if k != "tools"}
        _restore(out, ext, losses, "tool_choice")
        return out
    if tc.allowed is not None:
        # "none" calls no tool and "tool" the named one: the subset has no wire form beside them.
        losses.add("L-TC-SUBSET", "tool_choice", f"the tool subset of tool_choice {tc.mode!r} is dropped by {PROTOCOL}")
    if tc.mode == "tool" and tc.name is not None:
        out = {"type": "function", "name": tc.name}
        _restore(out, tc.extensions, losses, "tool_choice")
        return out
    mode = tc.mode if tc.mode in _TOOL_CHOICE_MODES else "required"
    _restore({}, tc.extensions, losses, "tool_choice")
    return mode


def _encode_format(fmt: OutputFormat, losses: LossLog) -> Obj:
    path = "output_format"
    if fmt.type == "json_schema":
        out: Obj = {"type": "json_schema", "name": fmt.name or "response", "schema": fmt.schema or {}}
        if fmt.description is not None:
            out["description"] = fmt.description
        if fmt.strict is not None:
            out["strict"] = fmt.strict
    elif fmt.type in ("text", "json_object"):
        out = {"type": fmt.type}
    else:
        losses.add("L-SO-JSON-MODE", path, f"output format {fmt.type!r} is sent as text to {PROTOCOL}")
        out = {"type": "text"}
    _restore(out, fmt.extensions, losses, path)
    return out


def _effort_for_budget(budget: int) -> str:
    if budget <= 4096:
        return "low"
    if budget <= 12288:
        return "medium"
    return "high"


def _encode_reasoning_config(rc: ReasoningConfig, losses: LossLog) -> Obj:
    out: Obj = {}
    effort = rc.effort
    if effort is None and rc.enabled is False:
        effort = "none"
    if rc.budget_tokens is not None:
        if effort is None and rc.enabled is not False:
            effort = _effort_for_budget(rc.budget_tokens)
            detail = f"budget_tokens {rc.budget_tokens} approximated as effort {effort!r}"
        else:
            detail = f"budget_tokens is not supported by {PROTOCOL}"
        losses.add("L-REASONING-EFFORT-BUDGET", "reasoning.budget_tokens", detail)
    if effort is not None:
        out["effort"] = effort
    summary = rc.summary
    if summary is None and rc.include_thoughts:
        summary = "auto"
    if summary is not None:
        out["summary"] = summary
    _restore(out, rc.extensions, losses, "reasoning")
    return out


def _sampling_losses(request: LlmRequest, losses: LossLog) -> None:
    if request.top_k is not None:
        losses.add("L-TOP-K", "top_k", f"top_k is not supported by {PROTOCOL}")
    if request.stop:
        losses.add("L-STOP-UNSUPPORTED", "stop", f"stop sequences are not supported by {PROTOCOL}")
    if request.seed is not None:
        losses.add("L-SEED", "seed", f"seed is not supported by {PROTOCOL}")
    for name in ("presence_penalty", "frequency_penalty"):
        if getattr(request, name) is not None:
            losses.add("L-PENALTIES", name, f"{name} is not supported by {PROTOCOL}")
    if request.n is not None and request.n != 1:
        losses.add("L-N-CANDIDATES", "n", f"n={request.n} candidates are not supported by {PROTOCOL}")


def _leading_system(request: LlmRequest) -> Optional[str]:
    """The text of another protocol's leading plain system prompt, which is ``instructions`` here."""
    if not request.messages:
        return None
    first = request.messages[0]
    if first.role != "system" or first.raw_format == PROTOCOL or first.name is not None or len(first.content) != 1:
        return None
    part = first.content[0]
    if not isinstance(part, TextPart) or part.cache_control is not None or part.extensions:
        return None
    if any(v for k, v in first.extensions.items()):
        return None
    return part.text


@entry_point(PROTOCOL, decoding=False)
def encode_request(request: LlmRequest, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """Encode an `LlmRequest` as a Responses request body, recording every loss."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    out: Obj = {"model": request.model}
    instructions = request.instructions
    if instructions is None:
        instructions = _leading_system(request)
        if instructions is not None:
            request = replace(request, messages=request.messages[1:])
    if instructions is not None:
        out["instructions"] = instructions
    if request.messages or not _marked(request.extensions, "absent:input"):
        out["input"] = _encode_messages(request, losses)
    if request.tools:
        out["tools"] = _encode_tools(request.tools, losses)
    if request.tool_choice is not None:
        out["tool_choice"] = _encode_tool_choice(request.tool_choice, losses)
    if request.parallel_tool_calls is not None:
        out["parallel_tool_calls"] = request.parallel_tool_calls
    mine = _mine(request.extensions)
    text = mine.get("text")
    if request.output_format is not None or isinstance(text, dict):
        text_out: Obj = {}
        if request.output_format is not None:
            text_out["format"] = _encode_format(request.output_format, losses)
        if isinstance(text, dict):
            for k, v in text.items():
                text_out.setdefault(k, v)
        out["text"] = text_out
    if request.reasoning is not None:
        out["reasoning"] = _encode_reasoning_config(request.reasoning, losses)
    if request.max_output_tokens is not None:
        out["max_output_tokens"] = request.max_output_tokens
    if request.temperature is not None:
        temperature = request.temperature
        if temperature > 2:
            temperature = 2
            losses.add("L-SAMPLING-CLAMP", "temperature", f"temperature {request.temperature} clamped to 2")
        out["temperature"] = temperature
    if request.top_p is not None:
        out["top_p"] = request.top_p
    if request.top_logprobs is not None:
        out["top_logprobs"] = request.top_logprobs
    if request.logprobs:
        include = list(mine.get("include") or [])
        if _LOGPROBS_INCLUDE not in include:
            include.append(_LOGPROBS_INCLUDE)
        out["include"] = include
    if request.metadata is not None:
        out["metadata"] = request.metadata
    if request.user is not None:
        out["user"] = request.user
    if request.service_tier is not None:
        tier: Optional[str] = request.service_tier
        if tier not in _SERVICE_TIERS:
            mapped = "default" if request.service_tier.startswith("standard") else None
            losses.add("L-SERVICE-TIER", "service_tier", f"service tier {tier!r} is sent as {mapped!r} to {PROTOCOL}")
            tier = mapped
        if tier is not None:
            out["service_tier"] = tier
    if request.prompt_cache_key is not None:
        out["prompt_cache_key"] = request.prompt_cache_key
    if request.stream is not None:
        out["stream"] = request.stream
    _sampling_losses(request, losses)
    ext = request.extensions
    if "text" in mine:
        ext = dict(ext)
        ext[PROTOCOL] = {k: v for k, v in mine.items() if k != "text"}
    _restore(out, ext, losses, "")
    return out


# --------------------------------------------------------------------------- decoding: response


def _stop_reason(status: Optional[str], reason: Optional[str], output: List[OutputItem]) -> str:
    if status == "completed":
        # Custom tool calls also wait for the caller's output (mapping table 3.2).
        if any(
            isinstance(i, ToolCallPart) or (isinstance(i, OpaquePart) and i.data.get("type") == "custom_tool_call")
            for i in output
        ):
            return "tool_use"
        for item in output:
            if isinstance(item, Message) and any(isinstance(p, RefusalPart) for p in item.content):
                return "refusal"
        return "end_turn"
    if status == "incomplete":
        return {"max_output_tokens": "max_tokens", "content_filter": "content_filter"}.get(reason or "", "other")
    if status == "failed":
        return "error"
    return "other"


def _decode_output(items: List[Any], path: str) -> List[OutputItem]:
    return [decode_output_item(raw, index(path, i)) for i, raw in enumerate(items)]


def decode_output_item(raw: Any, path: str) -> OutputItem:
    """One item of a response's ``output`` (also what the stream codec's ``output_item.done`` holds)."""
    item = _R.obj(raw, path)
    kind = _R.req_str(item, "type", path)
    if kind == "message":
        role = _R.req_str(item, "role", path)
        if role != "assistant":
            raise _R.fail(join(path, "role"), f"output messages have role assistant, got {role!r}")
        parts, info = _decode_assistant_item(item, path)
        return Message("assistant", parts, raw_message=item, raw_format=PROTOCOL, extensions=info)
    if kind == "function_call":
        return _decode_call(item, path)
    if kind == "reasoning":
        return _decode_reasoning(item, path)
    return OpaquePart(PROTOCOL, item)


def _decode_usage(raw: Any, path: str) -> Usage:
    u = _R.obj(raw, path)
    ext = _ext(u, _USAGE_KEYS)
    usage = Usage(
        input_tokens=_R.req_int(u, "input_tokens", path),
        output_tokens=_R.req_int(u, "output_tokens", path),
        total_tokens=_R.opt_int(u, "total_tokens", path),
        extensions=ext,
    )
    _absent(u, ("total_tokens", "input_tokens_details", "output_tokens_details"), ext)
    inp = _R.opt_obj(u, "input_tokens_details", path)
    if inp is not None:
        where = join(path, "input_tokens_details")
        usage.cached_input_tokens = _R.opt_int(inp, "cached_tokens", where)
        usage.cache_creation_input_tokens = _R.opt_int(inp, "cache_write_tokens", where)
        _absent(inp, ("cached_tokens", "cache_write_tokens"), ext)
        _nest(ext, inp, _INPUT_DETAIL_KEYS, "input_tokens_details")
    outp = _R.opt_obj(u, "output_tokens_details", path)
    if outp is not None:
        usage.reasoning_tokens = _R.opt_int(outp, "reasoning_tokens", join(path, "output_tokens_details"))
        _absent(outp, ("reasoning_tokens",), ext)
        _nest(ext, outp, _OUTPUT_DETAIL_KEYS, "output_tokens_details")
    return usage


def _nest(ext: Extensions, d: Obj, known: FrozenSet[str], key: str) -> None:
    unknown = {k: v for k, v in d.items() if k not in known}
    if unknown:
        ext.setdefault(PROTOCOL, {})[key] = unknown


@entry_point(PROTOCOL, decoding=True)
def decode_response(raw: Dict[str, Any]) -> LlmResponse:
    """Decode a Responses response body into an `LlmResponse`."""
    d = _R.obj(raw, "")
    ext = _ext(d, _RESPONSE_KEYS)
    _absent(d, ("object", "created_at", "status", "incomplete_details", "error", "parallel_tool_calls"), ext)
    _absent(d, ("tool_choice", "tools"), ext)
    mine: Obj = {}
    # Keys the SDK requires are kept only when they differ from the default filled on encoding.
    for key, default in (("object", "response"), ("parallel_tool_calls", True), ("tool_choice", "auto")):
        if key in d and d[key] is not None and d[key] != default:
            mine[key] = d[key]
    if isinstance(d.get("tools"), list) and d["tools"]:
        mine["tools"] = d["tools"]
    if d.get("error") is not None:
        mine["error"] = _R.obj(d["error"], "error")
    created_at = _R.opt_num(d, "created_at", "")
    created: Optional[int] = None
    if created_at is not None:
        if isinstance(created_at, int) or created_at.is_integer():
            # 0 is the placeholder written when the source gave no time (the SDK requires the key).
            created = int(created_at) or None
        else:
            mine["created_at"] = created_at
    status = _R.opt_str(d, "status", "")
    if status is not None and status not in _FINISH_STATUSES:
        mine["status"] = status
    details = _R.opt_obj(d, "incomplete_details", "")
    reason: Optional[str] = None
    if details is not None:
        reason = _R.opt_str(details, "reason", "incomplete_details")
        _nest(ext, details, frozenset({"reason"}), "incomplete_details")
    if mine:
        ext.setdefault(PROTOCOL, {}).update(mine)
    output = _decode_output(_R.req_arr(d, "output", ""), "output")
    resp = LlmResponse(
        id=_R.req_str(d, "id", ""),
        model=_R.req_str(d, "model", ""),
        output=output,
        stop_reason=_stop_reason(status, reason, output),
        raw_stop_reason=status if status != "incomplete" or reason is None else f"incomplete:{reason}",
        created=created,
        extensions=ext,
    )
    if d.get("usage") is not None:
        resp.usage = _decode_usage(d["usage"], "usage")
    return resp


# --------------------------------------------------------------------------- encoding: response


_STATUS_FOR_STOP: Dict[str, Tuple[str, Optional[str]]] = {
    "end_turn": ("completed", None),
    "stop_sequence": ("completed", None),
    "tool_use": ("completed", None),
    "refusal": ("completed", None),
    "max_tokens": ("incomplete", "max_output_tokens"),
    "content_filter": ("incomplete", "content_filter"),
    "pause": ("incomplete", None),
    "error": ("failed", None),
    "other": ("incomplete", None),
}


def _status(response: LlmResponse, losses: LossLog) -> Tuple[str, Optional[str]]:
    raw = response.raw_stop_reason
    if raw is not None:
        raw_status, _, raw_reason = raw.partition(":")
        same = _stop_reason(raw_status, raw_reason or None, response.output) == response.stop_reason
        if raw_status in _FINISH_STATUSES and same:
            return raw_status, raw_reason or None
    status, reason = _STATUS_FOR_STOP.get(response.stop_reason, ("incomplete", None))
    derived = _stop_reason(status, reason, response.output)
    if response.stop_reason == "pause":
        losses.add("L-FINISH-PAUSE", "stop_reason", f"pause/continue has no equivalent in {PROTOCOL}")
    elif response.stop_reason == "stop_sequence" or response.stop_sequence is not None:
        losses.add("L-FINISH-STOPSEQ", "stop_sequence", f"a matched stop sequence is not representable in {PROTOCOL}")
    elif derived != response.stop_reason:
        losses.add(
            "L-FINISH-GRANULARITY",
            "stop_reason",
            f"stop reason {response.stop_reason!r} is reported as {status!r} by {PROTOCOL}",
        )
    else:
        sent = status if reason is None else f"{status}:{reason}"
        note_finer_stop(losses, "stop_reason", PROTOCOL, response.stop_reason, raw, sent)
    return status, reason


def _encode_usage(usage: Usage, losses: LossLog) -> Obj:
    ext = usage.extensions
    mine = _mine(ext)
    out: Obj = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
    if usage.total_tokens is not None or not _marked(ext, "absent:total_tokens"):
        out["total_tokens"] = usage.total
    for key, fields in (
        (
            "input_tokens_details",
            (("cached_tokens", usage.cached_input_tokens), ("cache_write_tokens", usage.cache_creation_input_tokens)),
        ),
        ("output_tokens_details", (("reasoning_tokens", usage.reasoning_tokens),)),
    ):
        details: Obj = {}
        # Counts the source did not give are written as 0 (the SDK requires them), except
        # where a body of this format left out the counts or their whole details object.
        absent = _marked(ext, f"absent:{key}")
        for name, value in fields:
            if value is not None:
                details[name] = value
            elif not absent and not _marked(ext, f"absent:{name}"):
                details[name] = 0
        nested = mine.get(key)
        if isinstance(nested, dict):
            for k, v in nested.items():
                details.setdefault(k, v)
        if details or not _marked(ext, f"absent:{key}"):
            out[key] = details
    rest = dict(ext)
    if "input_tokens_details" in mine or "output_tokens_details" in mine:
        rest[PROTOCOL] = {k: v for k, v in mine.items() if k not in ("input_tokens_details", "output_tokens_details")}
    _restore(out, rest, losses, "usage")
    return out


@entry_point(PROTOCOL, decoding=False)
def encode_response(response: LlmResponse, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """Encode an `LlmResponse` as a Responses response body, recording every loss."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    ext = response.extensions
    mine = dict(_mine(ext))
    out: Obj = {"id": response.id}

    def fill(key: str, value: Any) -> None:
        if key in mine:
            out[key] = mine.pop(key)
        elif not _marked(ext, f"absent:{key}"):
            out[key] = value

    fill("object", "response")
    if response.created is not None:
        out["created_at"] = response.created
    else:
        fill("created_at", 0)
    status, reason = _status(response, losses)
    if "status" in mine:
        out["status"] = mine.pop("status")
    elif not _marked(ext, "absent:status"):
        out["status"] = status
    fill("error", None)
    details: Optional[Obj] = {"reason": reason} if reason is not None else None
    nested = mine.pop("incomplete_details", None)
    if isinstance(nested, dict):
        details = {**nested, **(details or {})}
    fill("incomplete_details", details)
    out["model"] = response.model
    items: List[Obj] = []
    for k, item in enumerate(response.output):
        path = index("output", k)
        acc = _Items(losses, response.id, len(items))
        if isinstance(item, Message):
            if item.role != "assistant":
                raise EncodeError(PROTOCOL, join(path, "role"), f"output messages must be assistant, got {item.role!r}")
            _encode_assistant(item, path, acc)
            _report_foreign(item.extensions, losses, path)
        else:
            acc.common(item, path)
        items.extend(acc.items)
    out["output"] = items
    fill("parallel_tool_calls", True)
    fill("tool_choice", "auto")
    fill("tools", [])
    if response.usage is not None:
        out["usage"] = _encode_usage(response.usage, losses)
    if response.choices:
        losses.add("L-N-CANDIDATES", "choices", f"{PROTOCOL} returns a single candidate; extra choices dropped")
    rest = dict(ext)
    if PROTOCOL in ext:
        rest[PROTOCOL] = mine
    _restore(out, rest, losses, "")
    return out
