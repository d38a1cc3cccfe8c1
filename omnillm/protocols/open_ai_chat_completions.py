"""OpenAI Chat Completions (``POST /v1/chat/completions``) codec: wire dicts <-> canonical model.

Decisions worth knowing:

* Legacy ``function`` role messages decode to ``Message(role="tool")`` holding one
  `ToolResultPart` with ``name`` and ``synthetic_id=True``; the id pairs it with the
  latest preceding legacy ``function_call`` of the same name (which decodes to a
  synthetic-id `ToolCallPart`). Both encode back to their legacy form.
* ``custom`` tools decode to `BuiltinTool` and ``custom`` tool calls to `OpaquePart`:
  they survive only into Chat (elsewhere: L-TOOL-CUSTOM / L-OPAQUE).
* Non-standard ``reasoning_content`` / ``reasoning`` text on assistant messages
  (DeepSeek, vLLM, OpenRouter) decodes to a `ReasoningPart` with ``source`` set to this
  protocol (it carries no opaque token), placed before the text. Only such parts are
  written back. Reasoning from other protocols has no slot in standard Chat: dropped
  with L-REASONING-SUMMARY in responses and L-REASONING-OPAQUE in request history.
* Encoding from another protocol uses ``max_completion_tokens``; a request that used
  legacy ``max_tokens`` keeps it on a same-protocol round trip.
* Explicit cache markers (``cache_control``) have no Chat equivalent (L-CACHE-MARKERS);
  Chat's own ``prompt_cache_breakpoint`` stays a part extension field.
* Codes not in the mapping-table catalogue: L-TOP-K (``top_k`` dropped) and
  L-MEDIA-ROLE (image/file parts in a system or assistant message, which Chat holds as
  text only).

Shape markers: some wire choices have no canonical slot and are not information
(``stop`` as a string, a key sent as ``null`` or ``[]``, zero-valued detail counters,
``max_tokens`` versus ``max_completion_tokens``). They are kept as extension keys
``"open_ai_chat_completions~<marker>"`` whose value is an empty dict, so that a
same-protocol round trip restores them exactly while `restore_extensions` in other
codecs, which reports only non-empty fields, does not count them as losses.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, List, Optional, Tuple, Union

from ..errors import EncodeError
from ..model import (
    AudioPart,
    BuiltinTool,
    Choice,
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

PROTOCOL = "open_ai_chat_completions"

_R = Reader(PROTOCOL)
_MARK = PROTOCOL + "~"

# --------------------------------------------------------------------------- known keys

_REQUEST_KEYS = frozenset(
    {
        "model",
        "messages",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "reasoning_effort",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "top_logprobs",
        "n",
        "metadata",
        "user",
        "service_tier",
        "prompt_cache_key",
        "stream",
    }
)
_PLAIN_MESSAGE_KEYS = frozenset({"role", "content", "name"})
_ASSISTANT_KEYS = frozenset(
    {"role", "content", "name", "refusal", "tool_calls", "function_call", "reasoning_content", "reasoning"}
)
_TOOL_MESSAGE_KEYS = frozenset({"role", "content", "tool_call_id", "name"})
_FUNCTION_MESSAGE_KEYS = frozenset({"role", "content", "name"})
_TEXT_KEYS = frozenset({"type", "text"})
_IMAGE_KEYS = frozenset({"type", "image_url"})
_IMAGE_URL_KEYS = frozenset({"url", "detail"})
_AUDIO_KEYS = frozenset({"type", "input_audio"})
_INPUT_AUDIO_KEYS = frozenset({"data", "format"})
_FILE_KEYS = frozenset({"type", "file"})
_FILE_FILE_KEYS = frozenset({"file_data", "file_id", "filename"})
_REFUSAL_KEYS = frozenset({"type", "refusal"})
_TOOL_CALL_KEYS = frozenset({"id", "type", "function"})
_CALL_FUNCTION_KEYS = frozenset({"name", "arguments"})
_TOOL_KEYS = frozenset({"type", "function"})
_FUNCTION_DEF_KEYS = frozenset({"name", "description", "parameters", "strict"})
_NAMED_CHOICE_KEYS = frozenset({"type", "function", "custom"})
_ALLOWED_CHOICE_KEYS = frozenset({"type", "allowed_tools"})
_ALLOWED_TOOLS_KEYS = frozenset({"mode", "tools"})
_FORMAT_KEYS = frozenset({"type", "json_schema"})
_JSON_SCHEMA_KEYS = frozenset({"name", "description", "schema", "strict"})
_RESPONSE_KEYS = frozenset({"id", "object", "created", "model", "choices", "usage"})
_CHOICE_KEYS = frozenset({"index", "message", "finish_reason"})
_RESPONSE_MESSAGE_KEYS = frozenset(
    {"role", "content", "refusal", "tool_calls", "function_call", "reasoning_content", "reasoning"}
)
_USAGE_KEYS = frozenset(
    {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details"}
)
_PROMPT_DETAIL_KEYS = frozenset({"cached_tokens", "cache_write_tokens"})
_COMPLETION_DETAIL_KEYS = frozenset({"reasoning_tokens"})

_EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh", "max"})
_SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority", "fast"})
_AUDIO_FORMATS = frozenset({"wav", "mp3"})

_FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
}
_STOP_TO_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "stop",
}

# --------------------------------------------------------------------------- markers and extensions


def _mark(ext: Extensions, name: str) -> None:
    ext[_MARK + name] = {}


def _marked(ext: Extensions, name: str) -> bool:
    return (_MARK + name) in ext


def _ext(d: Obj, known: FrozenSet[str], scope: str = "", ext: Optional[Extensions] = None) -> Extensions:
    """Unknown fields of ``d`` as extensions; ``null`` and ``[]`` values become shape markers.

    ``scope`` prefixes the marker names (``message.``) when the markers are stored on an
    object other than the one they describe.
    """
    out: Extensions = {} if ext is None else ext
    real: Obj = {}
    for k, v in d.items():
        if k in known:
            continue
        if v is None:
            _mark(out, f"null:{scope}{k}")
        elif isinstance(v, list) and not v:
            _mark(out, f"empty:{scope}{k}")
        else:
            real[k] = v
    if real:
        out.setdefault(PROTOCOL, {}).update(real)
    return out


def _nest(ext: Extensions, d: Obj, known: FrozenSet[str], key: str) -> None:
    """Keep the unknown fields of the nested object ``d`` under ``key`` in ``ext``."""
    unknown = {k: v for k, v in d.items() if k not in known}
    if unknown:
        ext.setdefault(PROTOCOL, {})[key] = unknown


def _apply_markers(out: Obj, ext: Extensions, scope: str = "") -> None:
    """Put back the ``null``/``[]`` keys recorded by `_ext` (never over a value already set)."""
    for key in ext:
        if not key.startswith(_MARK):
            continue
        kind, _, name = key[len(_MARK) :].partition(":")
        if kind not in ("null", "empty") or not name.startswith(scope):
            continue
        name = name[len(scope) :]
        if name and "." not in name:
            out.setdefault(name, None if kind == "null" else [])


def _restore(
    out: Obj, ext: Extensions, losses: LossLog, path: str, nested: Tuple[str, ...] = (), skip: Tuple[str, ...] = ()
) -> None:
    """Write back this protocol's fields (including nested ones) and report other protocols'."""
    if not ext:
        return
    mine = ext.get(PROTOCOL)
    if mine and (nested or skip):
        for key in nested:
            inner = mine.get(key)
            target = out.get(key)
            if isinstance(inner, dict) and isinstance(target, dict):
                for k, v in inner.items():
                    target.setdefault(k, v)
        ext = dict(ext)
        ext[PROTOCOL] = {k: v for k, v in mine.items() if k not in nested and k not in skip}
    restore_extensions(out, ext, PROTOCOL, losses, path)
    _apply_markers(out, ext)


def _raw_nulls(out: Obj, raw: Obj) -> None:
    """Same-protocol shape hint: keys the wire message sent as ``null`` or ``[]``."""
    for k, v in raw.items():
        if (v is None or (isinstance(v, list) and not v)) and k not in out:
            out[k] = v


# --------------------------------------------------------------------------- decoding: parts


def _decode_part(raw: Any, path: str, assistant: bool = False) -> Part:
    part = _R.obj(raw, path)
    kind = _R.req_str(part, "type", path)
    if kind == "text":
        return TextPart(_R.req_str(part, "text", path), extensions=_ext(part, _TEXT_KEYS))
    if kind == "image_url":
        where = join(path, "image_url")
        image = _R.req_obj(part, "image_url", path)
        url = _R.req_str(image, "url", where)
        detail = _R.opt_str(image, "detail", where)
        ext = _ext(part, _IMAGE_KEYS)
        _nest(ext, image, _IMAGE_URL_KEYS, "image_url")
        parsed = parse_data_url(url)
        if parsed is not None:
            return ImagePart(data=parsed[1], media_type=parsed[0], detail=detail, extensions=ext)
        return ImagePart(url=url, detail=detail, extensions=ext)
    if kind == "input_audio":
        where = join(path, "input_audio")
        audio = _R.req_obj(part, "input_audio", path)
        ext = _ext(part, _AUDIO_KEYS)
        _nest(ext, audio, _INPUT_AUDIO_KEYS, "input_audio")
        return AudioPart(_R.req_str(audio, "data", where), _R.req_str(audio, "format", where), extensions=ext)
    if kind == "file":
        where = join(path, "file")
        f = _R.req_obj(part, "file", path)
        file_data = _R.opt_str(f, "file_data", where)
        ext = _ext(part, _FILE_KEYS)
        _nest(ext, f, _FILE_FILE_KEYS, "file")
        media_type: Optional[str] = None
        if file_data is not None:
            parsed = parse_data_url(file_data)
            if parsed is not None:
                media_type, file_data = parsed
        return FilePart(
            data=file_data,
            media_type=media_type,
            file_id=_R.opt_str(f, "file_id", where),
            filename=_R.opt_str(f, "filename", where),
            extensions=ext,
        )
    if kind == "refusal" and assistant:
        ext = _ext(part, _REFUSAL_KEYS)
        _mark(ext, "in-content")
        return RefusalPart(_R.req_str(part, "refusal", path), extensions=ext)
    return OpaquePart(PROTOCOL, part)


def _decode_content(msg: Obj, path: str, assistant: bool = False) -> List[Part]:
    """``content`` as a string or an array of parts (required, not null)."""
    value = _R.req(msg, "content", path)
    where = join(path, "content")
    if isinstance(value, str):
        return [TextPart(value)]
    items = _R.arr(value, where)
    return [_decode_part(p, index(where, i), assistant) for i, p in enumerate(items)]


def _decode_tool_call(raw: Any, path: str) -> Union[ToolCallPart, OpaquePart]:
    call = _R.obj(raw, path)
    kind = _R.opt_str(call, "type", path)
    if kind is None and "function" in call:
        kind = "function"
    if kind != "function":
        if kind is None:
            raise _R.fail(join(path, "type"), "required field is missing")
        ext: Extensions = {}
        _mark(ext, "tool-call")
        return OpaquePart(PROTOCOL, call, extensions=ext)
    where = join(path, "function")
    fn = _R.req_obj(call, "function", path)
    ext = _ext(call, _TOOL_CALL_KEYS)
    _nest(ext, fn, _CALL_FUNCTION_KEYS, "function")
    if "type" not in call:
        _mark(ext, "no-type")
    return ToolCallPart(
        id=_R.req_str(call, "id", path),
        name=_R.req_str(fn, "name", where),
        arguments=_R.req_str(fn, "arguments", where),
        extensions=ext,
    )


def _decode_function_call(msg: Obj, path: str, call_id: str) -> ToolCallPart:
    where = join(path, "function_call")
    fc = _R.req_obj(msg, "function_call", path)
    ext: Extensions = {}
    _nest(ext, fc, _CALL_FUNCTION_KEYS, "function")
    _mark(ext, "function_call")
    return ToolCallPart(
        id=call_id,
        name=_R.req_str(fc, "name", where),
        arguments=_R.req_str(fc, "arguments", where),
        synthetic_id=True,
        extensions=ext,
    )


def _decode_reasoning(msg: Obj, path: str) -> Tuple[Optional[ReasoningPart], Optional[str]]:
    """The non-standard reasoning text and the key it came in (the first of the two)."""
    for key in ("reasoning_content", "reasoning"):
        text = msg.get(key)
        if text is None:
            continue
        if not isinstance(text, str):
            raise _R.fail(join(path, key), f"expected a string, got {describe(text)}")
        return ReasoningPart(text=text, source=PROTOCOL), key
    return None, None


def _decode_assistant_parts(
    msg: Obj, path: str, legacy_id: str
) -> Tuple[List[ReasoningPart], List[Part], List[Union[ToolCallPart, OpaquePart]], Optional[str]]:
    """(reasoning, text and refusal parts, tool calls, reasoning key) of an assistant message."""
    reasoning_part, reasoning_key = _decode_reasoning(msg, path)
    reasoning = [reasoning_part] if reasoning_part is not None else []
    content: List[Part] = []
    value = msg.get("content")
    if value is not None:
        content = _decode_content(msg, path, assistant=True)
    refusal = _R.opt_str(msg, "refusal", path)
    if refusal is not None:
        content.append(RefusalPart(refusal))
    calls: List[Union[ToolCallPart, OpaquePart]] = []
    raw_calls = _R.opt_arr(msg, "tool_calls", path)
    if raw_calls:
        where = join(path, "tool_calls")
        calls = [_decode_tool_call(c, index(where, i)) for i, c in enumerate(raw_calls)]
    if msg.get("function_call") is not None:
        calls.append(_decode_function_call(msg, path, legacy_id))
    return reasoning, content, calls, reasoning_key


# --------------------------------------------------------------------------- decoding: requests


def _decode_message(item: Any, i: int, legacy_ids: Dict[str, str]) -> Message:
    path = index("messages", i)
    msg = _R.obj(item, path)
    role = _R.req_str(msg, "role", path)
    if role in ("system", "developer", "user"):
        return Message(
            role,
            _decode_content(msg, path),
            name=_R.opt_str(msg, "name", path),
            raw_message=msg,
            raw_format=PROTOCOL,
            extensions=_ext(msg, _PLAIN_MESSAGE_KEYS),
        )
    if role == "assistant":
        legacy_id = f"function_call_{i}"
        reasoning, content, calls, reasoning_key = _decode_assistant_parts(msg, path, legacy_id)
        for call in calls:
            if isinstance(call, ToolCallPart) and call.synthetic_id:
                legacy_ids[call.name] = call.id
        known = _ASSISTANT_KEYS
        if reasoning_key == "reasoning_content" and msg.get("reasoning") is not None:
            known = known - {"reasoning"}
        parts: List[Part] = [*reasoning, *content, *calls]
        return Message(
            "assistant",
            parts,
            name=_R.opt_str(msg, "name", path),
            raw_message=msg,
            raw_format=PROTOCOL,
            extensions=_ext(msg, known),
        )
    if role == "tool":
        result = ToolResultPart(
            _R.req_str(msg, "tool_call_id", path),
            _decode_content(msg, path),
            name=_R.opt_str(msg, "name", path),
            extensions=_ext(msg, _TOOL_MESSAGE_KEYS),
        )
        return Message("tool", [result], raw_message=msg, raw_format=PROTOCOL)
    if role == "function":
        name = _R.req_str(msg, "name", path)
        text = _R.opt_str(msg, "content", path)
        result = ToolResultPart(
            legacy_ids.get(name, f"function_call_{i}"),
            [TextPart(text)] if text is not None else [],
            name=name,
            synthetic_id=True,
            extensions=_ext(msg, _FUNCTION_MESSAGE_KEYS),
        )
        return Message("tool", [result], raw_message=msg, raw_format=PROTOCOL)
    raise _R.fail(join(path, "role"), f"unknown role {role!r}")


def _decode_tool(raw: Any, path: str) -> Tool:
    tool = _R.obj(raw, path)
    kind = _R.req_str(tool, "type", path)
    if kind != "function":
        return BuiltinTool(kind, {k: v for k, v in tool.items() if k != "type"}, source=PROTOCOL)
    where = join(path, "function")
    fn = _R.req_obj(tool, "function", path)
    ext = _ext(tool, _TOOL_KEYS)
    _nest(ext, fn, _FUNCTION_DEF_KEYS, "function")
    for key in ("description", "parameters", "strict"):
        if key in fn and fn[key] is None:
            _mark(ext, f"null:function.{key}")
    return FunctionTool(
        name=_R.req_str(fn, "name", where),
        description=_R.opt_str(fn, "description", where),
        parameters=_R.opt_obj(fn, "parameters", where),
        strict=_R.opt_bool(fn, "strict", where),
        extensions=ext,
    )


def _named(d: Obj, key: str, path: str) -> str:
    inner = _R.req_obj(d, key, path)
    return _R.req_str(inner, "name", join(path, key))


def _decode_tool_choice(value: Any, path: str) -> ToolChoice:
    if isinstance(value, str):
        if value in ("auto", "none", "required"):
            return ToolChoice(value)
        raise _R.fail(path, f"unknown tool_choice {value!r}")
    choice = _R.obj(value, path)
    kind = _R.req_str(choice, "type", path)
    if kind in ("function", "custom"):
        ext = _ext(choice, _NAMED_CHOICE_KEYS)
        _nest(ext, _R.req_obj(choice, kind, path), frozenset({"name"}), kind)
        if kind == "custom":
            _mark(ext, "custom")
        return ToolChoice("tool", name=_named(choice, kind, path), extensions=ext)
    if kind == "allowed_tools":
        where = join(path, "allowed_tools")
        allowed = _R.req_obj(choice, "allowed_tools", path)
        mode = _R.req_str(allowed, "mode", where)
        if mode not in ("auto", "required"):
            raise _R.fail(join(where, "mode"), f"unknown allowed_tools mode {mode!r}")
        names: List[str] = []
        tools_path = join(where, "tools")
        for i, entry in enumerate(_R.req_arr(allowed, "tools", where)):
            epath = index(tools_path, i)
            e = _R.obj(entry, epath)
            etype = _R.req_str(e, "type", epath)
            if etype not in ("function", "custom"):
                raise _R.fail(join(epath, "type"), f"unknown allowed tool type {etype!r}")
            names.append(_named(e, etype, epath))
        ext = _ext(choice, _ALLOWED_CHOICE_KEYS)
        _nest(ext, allowed, _ALLOWED_TOOLS_KEYS, "allowed_tools")
        return ToolChoice(mode, allowed=names, extensions=ext)
    raise _R.fail(join(path, "type"), f"unknown tool_choice type {kind!r}")


def _decode_output_format(value: Obj, path: str) -> Optional[OutputFormat]:
    kind = _R.req_str(value, "type", path)
    if kind in ("text", "json_object"):
        return OutputFormat(kind, extensions=_ext(value, frozenset({"type"})))
    if kind != "json_schema":
        return None
    where = join(path, "json_schema")
    js = _R.req_obj(value, "json_schema", path)
    ext = _ext(value, _FORMAT_KEYS)
    _nest(ext, js, _JSON_SCHEMA_KEYS, "json_schema")
    return OutputFormat(
        "json_schema",
        schema=_R.opt_obj(js, "schema", where),
        name=_R.req_str(js, "name", where),
        description=_R.opt_str(js, "description", where),
        strict=_R.opt_bool(js, "strict", where),
        extensions=ext,
    )


@entry_point(PROTOCOL, decoding=True)
def decode_request(raw: Dict[str, Any]) -> LlmRequest:
    """Decode a Chat Completions request body."""
    d = _R.obj(raw, "")
    model = _R.req_str(d, "model", "")
    items = _R.req_arr(d, "messages", "")
    legacy_ids: Dict[str, str] = {}
    messages = [_decode_message(item, i, legacy_ids) for i, item in enumerate(items)]

    ext = _ext(d, _REQUEST_KEYS | {"max_tokens"})
    for k, v in d.items():
        if v is None and k in _REQUEST_KEYS:
            _mark(ext, f"null:{k}")

    tools: List[Tool] = []
    raw_tools = _R.opt_arr(d, "tools", "")
    if raw_tools is not None:
        tools = [_decode_tool(t, index("tools", i)) for i, t in enumerate(raw_tools)]
        if not raw_tools:
            _mark(ext, "empty:tools")
    tool_choice = None
    if d.get("tool_choice") is not None:
        tool_choice = _decode_tool_choice(d["tool_choice"], "tool_choice")

    output_format = None
    fmt = _R.opt_obj(d, "response_format", "")
    if fmt is not None:
        output_format = _decode_output_format(fmt, "response_format")
        if output_format is None:
            ext.setdefault(PROTOCOL, {})["response_format"] = fmt

    reasoning = None
    effort = _R.opt_str(d, "reasoning_effort", "")
    if effort is not None:
        reasoning = ReasoningConfig(effort=effort, enabled=False if effort == "none" else None)

    max_output = _R.opt_int(d, "max_completion_tokens", "")
    legacy_max = _R.opt_int(d, "max_tokens", "")
    if max_output is None and legacy_max is not None:
        max_output = legacy_max
        _mark(ext, "max_tokens")
    elif legacy_max is not None:
        ext.setdefault(PROTOCOL, {})["max_tokens"] = legacy_max

    stop: Optional[List[str]] = None
    if isinstance(d.get("stop"), str):
        stop = [d["stop"]]
        _mark(ext, "stop-string")
    else:
        stop = _R.opt_str_list(d, "stop", "")

    top_k = _R.opt_int(d, "top_k", "")
    if top_k is not None:
        _mark(ext, "top_k")

    return LlmRequest(
        model=model,
        messages=messages,
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=_R.opt_bool(d, "parallel_tool_calls", ""),
        output_format=output_format,
        reasoning=reasoning,
        max_output_tokens=max_output,
        temperature=_R.opt_num(d, "temperature", ""),
        top_p=_R.opt_num(d, "top_p", ""),
        top_k=top_k,
        stop=stop,
        seed=_R.opt_int(d, "seed", ""),
        presence_penalty=_R.opt_num(d, "presence_penalty", ""),
        frequency_penalty=_R.opt_num(d, "frequency_penalty", ""),
        logprobs=_R.opt_bool(d, "logprobs", ""),
        top_logprobs=_R.opt_int(d, "top_logprobs", ""),
        n=_R.opt_int(d, "n", ""),
        metadata=_R.opt_str_map(d, "metadata", ""),
        user=_R.opt_str(d, "user", ""),
        service_tier=_R.opt_str(d, "service_tier", ""),
        prompt_cache_key=_R.opt_str(d, "prompt_cache_key", ""),
        stream=_R.opt_bool(d, "stream", ""),
        extensions=ext,
    )


# --------------------------------------------------------------------------- encoding: parts


def _is_plain_text(part: Obj) -> bool:
    return part.get("type") == "text" and len(part) == 2


def _encode_text(p: TextPart, path: str, losses: LossLog) -> Obj:
    out: Obj = {"type": "text", "text": p.text}
    if p.cache_control is not None:
        losses.add("L-CACHE-MARKERS", path, "cache_control has no equivalent in open_ai_chat_completions")
    _restore(out, p.extensions, losses, path)
    return out


def _encode_media(p: Part, path: str, losses: LossLog) -> Optional[Obj]:
    """A user-content image, audio or file part (None when dropped with a loss)."""
    if isinstance(p, ImagePart):
        if p.url is not None:
            url: Optional[str] = p.url
        elif p.data is not None:
            if p.media_type is None:
                losses.add("L-MEDIA-TYPE", path, f"image without a media type is sent as image/png to {PROTOCOL}")
            url = data_url(p.media_type or "image/png", p.data)
        else:
            url = None
        if url is None:
            if p.file_id is None:
                raise EncodeError(PROTOCOL, path, "an image needs a url, data or a file id")
            out: Obj = {"type": "file", "file": {"file_id": p.file_id}}
            if p.detail is not None:
                losses.add("L-MEDIA-DETAIL", join(path, "detail"), f"image detail is lost on a file part in {PROTOCOL}")
        else:
            image: Obj = {"url": url}
            if p.detail is not None:
                image["detail"] = p.detail
            out = {"type": "image_url", "image_url": image}
        nested: Tuple[str, ...] = ("image_url",)
    elif isinstance(p, AudioPart):
        if p.format not in _AUDIO_FORMATS:
            losses.add("L-AUDIO", path, f"audio format {p.format!r} is not supported by open_ai_chat_completions")
            return None
        out = {"type": "input_audio", "input_audio": {"data": p.data, "format": p.format}}
        nested = ("input_audio",)
    elif isinstance(p, FilePart):
        if p.text is not None and p.data is None and p.file_id is None:
            # Chat has no document part for plain text: the text travels as a text part.
            losses.add("L-DOCUMENT-AS-TEXT", path, f"a plain-text document is sent as a text part to {PROTOCOL}")
            if p.title is not None:
                losses.add("L-FILE-NAME", join(path, "title"), f"document title is not supported by {PROTOCOL}")
            out = {"type": "text", "text": p.text}
            nested = ()
        else:
            f: Obj = {}
            if p.data is not None:
                f["file_data"] = data_url(p.media_type, p.data) if p.media_type else p.data
            if p.file_id is not None:
                f["file_id"] = p.file_id
            if not f:
                losses.add("L-MEDIA-URL-FETCH", path, "a file given by URL cannot be sent to open_ai_chat_completions")
                return None
            name = p.filename if p.filename is not None else p.title
            if name is not None:
                f["filename"] = name
            out = {"type": "file", "file": f}
            nested = ("file",)
    else:  # pragma: no cover - callers pass media parts only
        raise EncodeError(PROTOCOL, path, f"unexpected part {type(p).__name__}")
    if getattr(p, "cache_control", None) is not None:
        losses.add("L-CACHE-MARKERS", path, "cache_control has no equivalent in open_ai_chat_completions")
    _restore(out, p.extensions, losses, path, nested)
    return out


def _opaque(p: OpaquePart, path: str, losses: LossLog) -> Optional[Obj]:
    if p.source == PROTOCOL:
        return p.data
    kind = p.data.get("type", "item")
    losses.add("L-OPAQUE", path, f"{p.source} item {kind!r} has no equivalent in open_ai_chat_completions")
    return None


def _drop_reasoning(p: ReasoningPart, path: str, losses: LossLog, code: str) -> None:
    source = p.source or "another protocol"
    if code == "L-REASONING-OPAQUE" or p.signature or p.encrypted_content or p.redacted:
        losses.add(
            "L-REASONING-OPAQUE", path, f"reasoning from {source} cannot be replayed in open_ai_chat_completions"
        )
    if code == "L-REASONING-SUMMARY" and (p.text or p.summary):
        losses.add("L-REASONING-SUMMARY", path, "open_ai_chat_completions has no slot for reasoning text")


def _content_value(parts: List[Obj], raw: Optional[Obj]) -> Union[str, List[Obj]]:
    """A string when the parts are plain text and the source (or its absence) allows."""
    form = raw.get("content") if raw is not None else None
    plain = all(_is_plain_text(p) for p in parts)
    if plain and (isinstance(form, str) or (raw is None and len(parts) <= 1)):
        return "".join(p["text"] for p in parts)
    return parts


# --------------------------------------------------------------------------- encoding: messages


def _raw(m: Message) -> Optional[Obj]:
    return m.raw_message if m.raw_format == PROTOCOL and isinstance(m.raw_message, dict) else None


def _encode_system(m: Message, path: str, losses: LossLog) -> Obj:
    parts: List[Obj] = []
    for j, p in enumerate(m.content):
        ppath = index(join(path, "content"), j)
        if isinstance(p, TextPart):
            parts.append(_encode_text(p, ppath, losses))
        elif isinstance(p, OpaquePart):
            data = _opaque(p, ppath, losses)
            if data is not None:
                parts.append(data)
        elif isinstance(p, ReasoningPart):
            _drop_reasoning(p, ppath, losses, "L-REASONING-OPAQUE")
        elif isinstance(p, (ImagePart, FilePart, AudioPart, RefusalPart)):
            losses.add("L-MEDIA-ROLE", ppath, f"{m.role} messages hold text only in open_ai_chat_completions")
        else:
            raise EncodeError(PROTOCOL, ppath, f"a {type(p).__name__} cannot appear in a {m.role} message")
    raw = _raw(m)
    out: Obj = {"role": m.role, "content": _content_value(parts, raw)}
    if m.name is not None:
        out["name"] = m.name
    _restore(out, m.extensions, losses, path)
    if raw is not None:
        _raw_nulls(out, raw)
    return out


def _encode_tool_call(p: ToolCallPart, path: str, losses: LossLog) -> Obj:
    out: Obj = {"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
    if _marked(p.extensions, "no-type"):
        del out["type"]
    if p.synthetic_id and not _marked(p.extensions, "function_call"):
        losses.add("L-TOOL-ID-SYNTH", join(path, "id"), f"tool call id {p.id!r} was made up for {PROTOCOL}")
    if p.cache_control is not None:
        losses.add("L-CACHE-MARKERS", path, "cache_control has no equivalent in open_ai_chat_completions")
    _restore(out, p.extensions, losses, path, ("function",))
    return out


def _reasoning_key(flags: Obj) -> str:
    if "reasoning" in flags and "reasoning_content" not in flags:
        return "reasoning"
    return "reasoning_content"


def _encode_assistant(m: Message, path: str, losses: LossLog) -> Obj:
    raw = _raw(m)
    parts: List[Obj] = []
    refusals: List[str] = []
    calls: List[Obj] = []
    legacy: Optional[ToolCallPart] = None
    reasoning: List[str] = []
    for j, p in enumerate(m.content):
        ppath = index(join(path, "content"), j)
        if isinstance(p, TextPart):
            parts.append(_encode_text(p, ppath, losses))
        elif isinstance(p, RefusalPart):
            if _marked(p.extensions, "in-content"):
                part: Obj = {"type": "refusal", "refusal": p.text}
                _restore(part, p.extensions, losses, ppath)
                parts.append(part)
            else:
                refusals.append(p.text)
                _restore({}, p.extensions, losses, ppath)
        elif isinstance(p, ToolCallPart):
            if _marked(p.extensions, "function_call"):
                legacy = p
            calls.append(_encode_tool_call(p, ppath, losses))
        elif isinstance(p, ReasoningPart):
            if p.source == PROTOCOL and p.text is not None:
                reasoning.append(p.text)
            else:
                _drop_reasoning(p, ppath, losses, "L-REASONING-OPAQUE")
        elif isinstance(p, OpaquePart):
            data = _opaque(p, ppath, losses)
            if data is not None:
                (calls if _marked(p.extensions, "tool-call") else parts).append(data)
        elif isinstance(p, AudioPart):
            losses.add("L-AUDIO", ppath, "assistant audio cannot be sent to open_ai_chat_completions")
        elif isinstance(p, (ImagePart, FilePart)):
            losses.add("L-MEDIA-ROLE", ppath, "assistant messages hold text only in open_ai_chat_completions")
        else:
            raise EncodeError(PROTOCOL, ppath, f"a {type(p).__name__} cannot appear in an assistant message")

    out: Obj = {"role": "assistant"}
    if reasoning:
        out[_reasoning_key(raw or {})] = "".join(reasoning)
    form = raw.get("content", "absent") if raw is not None else None
    if parts:
        plain = all(_is_plain_text(p) for p in parts)
        if plain and (isinstance(form, str) or (not isinstance(form, list) and len(parts) == 1)):
            out["content"] = "".join(p["text"] for p in parts)
        else:
            out["content"] = parts
    elif isinstance(form, list):
        out["content"] = []
    elif form != "absent":
        out["content"] = None
    if refusals:
        out["refusal"] = "".join(refusals)
    if legacy is not None and len(calls) == 1:
        fc: Obj = {"name": legacy.name, "arguments": legacy.arguments}
        mine = legacy.extensions.get(PROTOCOL, {}).get("function")
        if isinstance(mine, dict):
            for k, v in mine.items():
                fc.setdefault(k, v)
        out["function_call"] = fc
    elif calls:
        out["tool_calls"] = calls
    if m.name is not None:
        out["name"] = m.name
    _restore(out, m.extensions, losses, path)
    if raw is not None:
        _raw_nulls(out, raw)
    return out


def _encode_result(p: ToolResultPart, m: Message, raw: Optional[Obj], path: str, losses: LossLog) -> Obj:
    parts: List[Obj] = []
    for k, q in enumerate(p.content):
        qpath = index(join(path, "content"), k)
        if isinstance(q, TextPart):
            parts.append(_encode_text(q, qpath, losses))
        else:
            losses.add("L-RESULT-MEDIA", qpath, "tool results hold text only in open_ai_chat_completions; part dropped")
    if p.is_error:
        losses.add("L-RESULT-ERROR-FLAG", path, "open_ai_chat_completions cannot flag a tool result as an error")
    if p.cache_control is not None:
        losses.add("L-CACHE-MARKERS", path, "cache_control has no equivalent in open_ai_chat_completions")
    if raw is not None and raw.get("role") not in ("tool", "function"):
        raw = None
    if raw is not None and raw.get("role") == "function":
        text = "".join(q["text"] for q in parts)
        content: Any = None if raw.get("content") is None and not parts else text
        out: Obj = {"role": "function", "name": p.name or "", "content": content}
    else:
        out = {"role": "tool", "tool_call_id": p.call_id}
        if p.synthetic_id:
            losses.add(
                "L-TOOL-ID-SYNTH", join(path, "call_id"), f"tool result id {p.call_id!r} was made up for {PROTOCOL}"
            )
        form = raw.get("content") if raw is not None else None
        plain = all(_is_plain_text(q) for q in parts)
        if plain and (isinstance(form, str) or (not isinstance(form, list) and len(parts) <= 1)):
            out["content"] = "".join(q["text"] for q in parts)
        else:
            out["content"] = parts
        if raw is not None and "name" in raw and p.name is not None:
            out["name"] = p.name
    _restore(out, p.extensions, losses, path)
    if raw is not None:
        _raw_nulls(out, raw)
    return out


def _encode_user(m: Message, path: str, losses: LossLog) -> List[Obj]:
    """A user or tool message: one ``tool`` message per result, then the other parts as user."""
    raw = _raw(m)
    out: List[Obj] = []
    parts: List[Obj] = []
    for j, p in enumerate(m.content):
        ppath = index(join(path, "content"), j)
        if isinstance(p, ToolResultPart):
            out.append(_encode_result(p, m, raw, ppath, losses))
        elif isinstance(p, TextPart):
            parts.append(_encode_text(p, ppath, losses))
        elif isinstance(p, (ImagePart, AudioPart, FilePart)):
            media = _encode_media(p, ppath, losses)
            if media is not None:
                parts.append(media)
        elif isinstance(p, OpaquePart):
            data = _opaque(p, ppath, losses)
            if data is not None:
                parts.append(data)
        elif isinstance(p, ReasoningPart):
            _drop_reasoning(p, ppath, losses, "L-REASONING-OPAQUE")
        else:
            raise EncodeError(PROTOCOL, ppath, f"a {type(p).__name__} cannot appear in a {m.role} message")
    if m.role == "tool" and not out:
        raise EncodeError(PROTOCOL, path, "a tool message holds no tool results")
    if parts or (m.role == "user" and not out):
        user: Obj = {"role": "user", "content": _content_value(parts, raw if m.role == "user" else None)}
        if m.name is not None:
            user["name"] = m.name
        _restore(user, m.extensions, losses, path)
        if raw is not None and m.role == "user":
            _raw_nulls(user, raw)
        out.append(user)
    else:
        if m.name is not None:
            losses.add("L-ROLE-NAME", join(path, "name"), "tool messages carry no name in open_ai_chat_completions")
        _restore(out[0], m.extensions, losses, path)
    return out


def _encode_messages(request: LlmRequest, losses: LossLog) -> List[Obj]:
    out: List[Obj] = []
    if request.instructions is not None:
        out.append({"role": "system", "content": request.instructions})
    for i, m in enumerate(request.messages):
        path = index("messages", i)
        if m.role in ("system", "developer"):
            out.append(_encode_system(m, path, losses))
        elif m.role == "assistant":
            out.append(_encode_assistant(m, path, losses))
        elif m.role in ("user", "tool"):
            out.extend(_encode_user(m, path, losses))
        else:
            raise EncodeError(PROTOCOL, join(path, "role"), f"unknown role {m.role!r}")
    return out


# --------------------------------------------------------------------------- encoding: request options


def _encode_tools(tools: List[Tool], losses: LossLog) -> List[Obj]:
    out: List[Obj] = []
    for i, t in enumerate(tools):
        path = index("tools", i)
        if isinstance(t, FunctionTool):
            fn: Obj = {"name": t.name}
            if t.description is not None:
                fn["description"] = t.description
            if t.parameters is not None:
                fn["parameters"] = t.parameters
            if t.strict is not None:
                fn["strict"] = t.strict
            if t.cache_control is not None:
                losses.add("L-CACHE-MARKERS", path, "cache_control has no equivalent in open_ai_chat_completions")
            tool: Obj = {"type": "function", "function": fn}
            _restore(tool, t.extensions, losses, path, ("function",))
            _apply_markers(fn, t.extensions, "function.")
            out.append(tool)
        elif t.source == PROTOCOL:
            out.append({"type": t.type, **t.options})
        else:
            losses.add("L-TOOL-CUSTOM", path, f"{builtin_label(t)} has no equivalent in open_ai_chat_completions")
    return out


def _custom_tool_names(tools: List[Tool]) -> FrozenSet[str]:
    names = set()
    for t in tools:
        if isinstance(t, BuiltinTool) and t.source == PROTOCOL and t.type == "custom":
            custom = t.options.get("custom")
            if isinstance(custom, dict) and isinstance(custom.get("name"), str):
                names.add(custom["name"])
    return frozenset(names)


def _named_choice(name: str, custom: bool) -> Obj:
    kind = "custom" if custom else "function"
    return {"type": kind, kind: {"name": name}}


def _encode_tool_choice(tc: ToolChoice, tools: List[Tool], losses: LossLog) -> Union[str, Obj]:
    path = "tool_choice"
    customs = _custom_tool_names(tools)
    if tc.mode == "tool":
        if tc.name is None:
            raise EncodeError(PROTOCOL, path, "a tool choice of mode 'tool' needs a name")
        custom = _marked(tc.extensions, "custom") or tc.name in customs
        if tc.allowed is not None:
            losses.add("L-TC-SUBSET", path, f"the tool subset is dropped: {PROTOCOL} forces the one named tool")
        out: Obj = _named_choice(tc.name, custom)
        _restore(out, tc.extensions, losses, path, (str(out["type"]),))
        return out
    if tc.mode not in ("auto", "none", "required"):
        raise EncodeError(PROTOCOL, path, f"unknown tool choice mode {tc.mode!r}")
    if tc.allowed is not None and tc.mode != "none":
        allowed: Obj = {"mode": tc.mode, "tools": [_named_choice(n, n in customs) for n in tc.allowed]}
        out = {"type": "allowed_tools", "allowed_tools": allowed}
        _restore(out, tc.extensions, losses, path, ("allowed_tools",))
        return out
    if tc.allowed is not None:
        losses.add("L-TC-SUBSET", path, f"the tool subset is dropped: tool_choice none calls no tool in {PROTOCOL}")
    restore_extensions({}, tc.extensions, PROTOCOL, losses, path)
    return tc.mode


def _encode_output_format(fmt: OutputFormat, losses: LossLog) -> Obj:
    path = "output_format"
    if fmt.type in ("text", "json_object"):
        out: Obj = {"type": fmt.type}
    elif fmt.type == "json_schema":
        js: Obj = {"name": fmt.name or "response"}
        if fmt.description is not None:
            js["description"] = fmt.description
        if fmt.schema is not None:
            js["schema"] = fmt.schema
        if fmt.strict is not None:
            js["strict"] = fmt.strict
        out = {"type": "json_schema", "json_schema": js}
    else:
        raise EncodeError(PROTOCOL, path, f"output format {fmt.type!r} has no equivalent")
    _restore(out, fmt.extensions, losses, path, ("json_schema",))
    return out


def _effort_for_budget(budget: int) -> str:
    # Heuristic bridge from mapping-tables.md section 10.
    if budget < 1536:
        return "minimal"
    if budget < 6144:
        return "low"
    if budget < 12288:
        return "medium"
    if budget < 28672:
        return "high"
    return "xhigh"


def _encode_reasoning(rc: ReasoningConfig, out: Obj, losses: LossLog) -> None:
    path = "reasoning"
    effort = rc.effort
    if rc.budget_tokens is not None:
        if effort is None and rc.budget_tokens > 0:
            effort = _effort_for_budget(rc.budget_tokens)
            detail = f"budget_tokens {rc.budget_tokens} approximated as reasoning_effort {effort!r}"
        else:
            detail = "budget_tokens is not supported by open_ai_chat_completions"
        losses.add("L-REASONING-EFFORT-BUDGET", join(path, "budget_tokens"), detail)
    if effort is None and rc.enabled is False:
        effort = "none"
    if effort is not None:
        if effort in _EFFORTS:
            out["reasoning_effort"] = effort
        else:
            losses.add(
                "L-REASONING-EFFORT-BUDGET",
                join(path, "effort"),
                f"reasoning effort {effort!r} is not supported by open_ai_chat_completions",
            )
    if rc.summary is not None:
        losses.add("L-REASONING-SUMMARY", join(path, "summary"), "open_ai_chat_completions cannot ask for summaries")
    if rc.include_thoughts:
        losses.add(
            "L-REASONING-SUMMARY",
            join(path, "include_thoughts"),
            "open_ai_chat_completions cannot ask for reasoning text",
        )
    restore_extensions(out, rc.extensions, PROTOCOL, losses, path)


@entry_point(PROTOCOL, decoding=False)
def encode_request(request: LlmRequest, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """Encode a canonical request as a Chat Completions request body."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    ext = request.extensions
    out: Obj = {"model": request.model, "messages": _encode_messages(request, losses)}
    if request.tools or _marked(ext, "empty:tools"):
        tools = _encode_tools(request.tools, losses)
        # The API rejects an empty tools array; send none when every tool was dropped.
        if tools or not request.tools:
            out["tools"] = tools
    if request.tool_choice is not None:
        out["tool_choice"] = _encode_tool_choice(request.tool_choice, request.tools, losses)
    if request.parallel_tool_calls is not None:
        out["parallel_tool_calls"] = request.parallel_tool_calls
    if request.output_format is not None:
        out["response_format"] = _encode_output_format(request.output_format, losses)
    if request.reasoning is not None:
        _encode_reasoning(request.reasoning, out, losses)
    if request.max_output_tokens is not None:
        key = "max_tokens" if _marked(ext, "max_tokens") else "max_completion_tokens"
        out[key] = request.max_output_tokens
    if request.temperature is not None:
        temperature = request.temperature
        if not 0 <= temperature <= 2:
            temperature = min(max(temperature, 0), 2)
            losses.add(
                "L-SAMPLING-CLAMP",
                "temperature",
                f"temperature {request.temperature} clamped to {temperature} for open_ai_chat_completions",
            )
        out["temperature"] = temperature
    if request.top_p is not None:
        out["top_p"] = request.top_p
    if request.top_k is not None:
        if _marked(ext, "top_k"):
            out["top_k"] = request.top_k
        else:
            losses.add("L-TOP-K", "top_k", "top_k is not supported by open_ai_chat_completions")
    if request.stop is not None:
        stop = request.stop
        out["stop"] = stop[0] if _marked(ext, "stop-string") and len(stop) == 1 else stop
    for key in ("seed", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs", "n", "metadata"):
        value = getattr(request, key)
        if value is not None:
            out[key] = value
    if request.user is not None:
        out["user"] = request.user
    if request.service_tier is not None:
        tier = request.service_tier
        if tier in _SERVICE_TIERS:
            out["service_tier"] = tier
        elif tier in ("standard", "standard_only"):
            out["service_tier"] = "default"
            losses.add("L-SERVICE-TIER", "service_tier", f"service tier {tier!r} approximated as 'default'")
        else:
            losses.add(
                "L-SERVICE-TIER", "service_tier", f"service tier {tier!r} is not supported by open_ai_chat_completions"
            )
    if request.prompt_cache_key is not None:
        out["prompt_cache_key"] = request.prompt_cache_key
    if request.stream is not None:
        out["stream"] = request.stream
    _restore(out, ext, losses, "")
    return out


# --------------------------------------------------------------------------- responses


def _stop_reason(finish: Optional[str], refused: bool) -> str:
    if finish == "stop" and refused:
        return "refusal"
    if finish is None:
        return "other"
    mapped = _FINISH_TO_STOP.get(finish)
    if mapped is not None:
        return mapped
    return "error" if finish == "error" else "other"


def _decode_choice(
    raw: Any, position_in_list: int, ext: Extensions
) -> Tuple[int, List[OutputItem], str, Optional[str]]:
    """(index, output items, stop reason, raw finish reason); shape markers go into ``ext``."""
    path = index("choices", position_in_list)
    choice = _R.obj(raw, path)
    position = _R.opt_int(choice, "index", path)
    finish = _R.opt_str(choice, "finish_reason", path)
    where = join(path, "message")
    msg = _R.req_obj(choice, "message", path)
    real: Extensions = {}
    _ext(choice, _CHOICE_KEYS, "choice.", real)
    if PROTOCOL in real:
        ext.setdefault(PROTOCOL, {})["choice"] = real.pop(PROTOCOL)
    ext.update(real)
    for key in ("content", "refusal"):
        if key not in msg:
            _mark(ext, f"absent:message.{key}")
    reasoning, content, calls, reasoning_key = _decode_assistant_parts(msg, where, f"function_call_{position_in_list}")
    if reasoning_key == "reasoning":
        _mark(ext, "reasoning")
    known = _RESPONSE_MESSAGE_KEYS
    if reasoning_key == "reasoning_content" and msg.get("reasoning") is not None:
        known = known - {"reasoning"}
    msg_ext = _ext(msg, known, "message.")
    for key in list(msg_ext):
        if key.startswith(_MARK):
            ext[key] = msg_ext.pop(key)
    for key in ("content", "refusal", "tool_calls", "function_call", "reasoning_content", "reasoning"):
        value = msg.get(key, 0)
        if value is None:
            _mark(ext, f"null:message.{key}")
        elif isinstance(value, list) and not value:
            _mark(ext, f"empty:message.{key}")
    items: List[OutputItem] = [*reasoning]
    if content or msg_ext:
        items.append(Message("assistant", content, raw_message=msg, raw_format=PROTOCOL, extensions=msg_ext))
    items.extend(calls)
    refused = any(isinstance(p, RefusalPart) for p in content)
    return (position if position is not None else position_in_list), items, _stop_reason(finish, refused), finish


def _decode_details(d: Obj, key: str, known: FrozenSet[str], path: str, ext: Extensions) -> Obj:
    value = d.get(key)
    if value is None:
        if key in d:
            _mark(ext, f"null:{key}")
        return {}
    details = _R.obj(value, join(path, key))
    real: Obj = {}
    for k, v in details.items():
        if k in known:
            continue
        if v is None:
            _mark(ext, f"null:{key}.{k}")
        elif v == 0 and not isinstance(v, bool):
            _mark(ext, f"zero:{key}.{k}")
        else:
            real[k] = v
    if not details:
        _mark(ext, f"empty-object:{key}")
    if real:
        ext.setdefault(PROTOCOL, {})[key] = real
    return details


def _decode_usage(raw: Any, path: str) -> Usage:
    u = _R.obj(raw, path)
    ext: Extensions = {}
    real: Obj = {}
    for k, v in u.items():
        if k in _USAGE_KEYS:
            continue
        if v is None:
            _mark(ext, f"null:{k}")
        elif v == 0 and not isinstance(v, bool):
            _mark(ext, f"zero:{k}")
        else:
            real[k] = v
    if real:
        ext[PROTOCOL] = real
    prompt = _decode_details(u, "prompt_tokens_details", _PROMPT_DETAIL_KEYS, path, ext)
    completion = _decode_details(u, "completion_tokens_details", _COMPLETION_DETAIL_KEYS, path, ext)
    ppath, cpath = join(path, "prompt_tokens_details"), join(path, "completion_tokens_details")
    return Usage(
        input_tokens=_R.opt_int(u, "prompt_tokens", path) or 0,
        output_tokens=_R.opt_int(u, "completion_tokens", path) or 0,
        total_tokens=_R.opt_int(u, "total_tokens", path),
        cached_input_tokens=_R.opt_int(prompt, "cached_tokens", ppath),
        cache_creation_input_tokens=_R.opt_int(prompt, "cache_write_tokens", ppath),
        reasoning_tokens=_R.opt_int(completion, "reasoning_tokens", cpath),
        extensions=ext,
    )


@entry_point(PROTOCOL, decoding=True)
def decode_response(raw: Dict[str, Any]) -> LlmResponse:
    """Decode a Chat Completions response body (n > 1 choices go to ``choices``)."""
    d = _R.obj(raw, "")
    ext = _ext(d, _RESPONSE_KEYS)
    raw_choices = _R.req_arr(d, "choices", "")
    output: List[OutputItem] = []
    stop_reason, finish = "end_turn", None
    choices: List[Choice] = []
    if not raw_choices:
        _mark(ext, "empty:choices")
    for i, c in enumerate(raw_choices):
        if i == 0:
            _, output, stop_reason, finish = _decode_choice(c, i, ext)
        else:
            cext: Extensions = {}
            position, items, reason, raw_finish = _decode_choice(c, i, cext)
            mine = cext.get(PROTOCOL)
            if mine is not None:
                cext[PROTOCOL] = mine.pop("choice", {})
                if not cext[PROTOCOL]:
                    del cext[PROTOCOL]
            choices.append(Choice(position, items, reason, raw_finish, cext))
    if "object" not in d:
        _mark(ext, "no-object")
    usage = _R.opt_obj(d, "usage", "")
    return LlmResponse(
        id=_R.opt_str(d, "id", "") or "",
        model=_R.opt_str(d, "model", "") or "",
        output=output,
        stop_reason=stop_reason,
        raw_stop_reason=finish,
        usage=_decode_usage(usage, "usage") if usage is not None else None,
        # 0 is the placeholder written when the source gave no time (the SDK requires the key).
        created=_R.opt_int(d, "created", "") or None,
        choices=choices,
        extensions=ext,
    )


def _finish_reason(stop_reason: str, raw: Optional[str], refused: bool, losses: LossLog, path: str) -> str:
    # "error" is not in the SDK's values, but compatible servers send it: keep it on a round trip.
    known = raw is not None and (raw in _FINISH_TO_STOP or raw == "error")
    if known and raw is not None and _stop_reason(raw, refused) == stop_reason:
        return raw
    finish = _STOP_TO_FINISH.get(stop_reason)
    if stop_reason == "stop_sequence":
        losses.add("L-FINISH-STOPSEQ", path, "open_ai_chat_completions cannot say that a stop sequence matched")
    elif stop_reason == "refusal" and not refused:
        losses.add(
            "L-FINISH-GRANULARITY", path, "a refusal without refusal text becomes 'stop' in open_ai_chat_completions"
        )
    elif stop_reason == "pause":
        losses.add("L-FINISH-PAUSE", path, "open_ai_chat_completions cannot express a paused turn")
    elif finish is None:
        losses.add(
            "L-FINISH-GRANULARITY",
            path,
            f"stop reason {stop_reason!r} has no equivalent in open_ai_chat_completions; sent as 'stop'",
        )
    else:
        note_finer_stop(losses, path, "open_ai_chat_completions", stop_reason, raw, finish)
    return finish or "stop"


def _encode_choice(
    position: int,
    items: List[OutputItem],
    stop_reason: str,
    raw_finish: Optional[str],
    ext: Extensions,
    choice_extra: Optional[Obj],
    losses: LossLog,
    path: str,
) -> Obj:
    texts: List[str] = []
    refusals: List[str] = []
    calls: List[Obj] = []
    legacy: Optional[ToolCallPart] = None
    reasoning: List[str] = []
    messages: List[Tuple[Message, str]] = []

    def add(p: Union[Part, OutputItem], ppath: str) -> None:
        nonlocal legacy
        if isinstance(p, TextPart):
            texts.append(p.text)
            _restore({}, p.extensions, losses, ppath)
        elif isinstance(p, RefusalPart):
            refusals.append(p.text)
            _restore({}, p.extensions, losses, ppath)
        elif isinstance(p, ToolCallPart):
            if _marked(p.extensions, "function_call"):
                legacy = p
            calls.append(_encode_tool_call(p, ppath, losses))
        elif isinstance(p, ReasoningPart):
            if p.source == PROTOCOL and p.text is not None:
                reasoning.append(p.text)
            else:
                _drop_reasoning(p, ppath, losses, "L-REASONING-SUMMARY")
        elif isinstance(p, OpaquePart):
            data = _opaque(p, ppath, losses)
            if data is not None:
                calls.append(data)
        elif isinstance(p, Message):
            messages.append((p, ppath))
            for j, q in enumerate(p.content):
                add(q, index(join(ppath, "content"), j))
        elif isinstance(p, AudioPart):
            losses.add("L-AUDIO", ppath, "audio output cannot be expressed in open_ai_chat_completions")
        else:
            kind = type(p).__name__
            losses.add("L-MEDIA-ROLE", ppath, f"a {kind} in the output has no equivalent in open_ai_chat_completions")

    for i, item in enumerate(items):
        add(item, index(path, i))

    message: Obj = {"role": "assistant"}
    if reasoning:
        message["reasoning" if _marked(ext, "reasoning") else "reasoning_content"] = "".join(reasoning)
    if texts:
        message["content"] = "".join(texts)
    elif not _marked(ext, "absent:message.content"):
        message["content"] = None
    if refusals:
        message["refusal"] = "".join(refusals)
    elif not _marked(ext, "absent:message.refusal"):
        message["refusal"] = None
    if legacy is not None and len(calls) == 1:
        message["function_call"] = {"name": legacy.name, "arguments": legacy.arguments}
    elif calls:
        message["tool_calls"] = calls
    for m, mpath in messages:
        _restore(message, m.extensions, losses, mpath)
    _apply_markers(message, ext, "message.")
    finish = _finish_reason(stop_reason, raw_finish, bool(refusals), losses, join(path, "stop_reason"))
    choice: Obj = {"index": position, "message": message, "finish_reason": finish}
    if choice_extra:
        for k, v in choice_extra.items():
            choice.setdefault(k, v)
    _apply_markers(choice, ext, "choice.")
    return choice


def _encode_usage(u: Usage, losses: LossLog) -> Obj:
    out: Obj = {"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens, "total_tokens": u.total}
    prompt: Obj = {}
    if u.cached_input_tokens is not None:
        prompt["cached_tokens"] = u.cached_input_tokens
    if u.cache_creation_input_tokens is not None:
        prompt["cache_write_tokens"] = u.cache_creation_input_tokens
    completion: Obj = {}
    if u.reasoning_tokens is not None:
        completion["reasoning_tokens"] = u.reasoning_tokens
    details = {"prompt_tokens_details": prompt, "completion_tokens_details": completion}
    mine = u.extensions.get(PROTOCOL, {})
    for key, target in details.items():
        extra = mine.get(key)
        if isinstance(extra, dict):
            for k, v in extra.items():
                target.setdefault(k, v)
    for marker in u.extensions:
        if not marker.startswith(_MARK):
            continue
        kind, _, name = marker[len(_MARK) :].partition(":")
        parent, _, child = name.partition(".")
        if kind == "zero" and not child:
            out.setdefault(parent, 0)
        elif kind in ("zero", "null") and child and parent in details:
            details[parent].setdefault(child, 0 if kind == "zero" else None)
    for key, target in details.items():
        if target or _marked(u.extensions, f"empty-object:{key}"):
            out[key] = target
    _restore(out, u.extensions, losses, "usage")
    return out


@entry_point(PROTOCOL, decoding=False)
def encode_response(response: LlmResponse, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """Encode a canonical response as a Chat Completions response body."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    ext = response.extensions
    out: Obj = {
        "id": response.id,
        "object": "chat.completion",
        "created": response.created if response.created is not None else 0,
        "model": response.model,
    }
    if _marked(ext, "no-object"):
        del out["object"]
    choices: List[Obj] = []
    if response.output or not _marked(ext, "empty:choices") or response.choices:
        first_extra = ext.get(PROTOCOL, {}).get("choice")
        choices.append(
            _encode_choice(
                0,
                response.output,
                response.stop_reason,
                response.raw_stop_reason,
                ext,
                first_extra if isinstance(first_extra, dict) else None,
                losses,
                "output",
            )
        )
    for k, c in enumerate(response.choices):
        path = index("choices", k)
        choice = _encode_choice(c.index, c.output, c.stop_reason, c.raw_stop_reason, c.extensions, None, losses, path)
        _restore(choice, c.extensions, losses, path)
        choices.append(choice)
    out["choices"] = choices
    if response.stop_sequence is not None and response.stop_reason != "stop_sequence":
        losses.add(
            "L-FINISH-STOPSEQ", "stop_sequence", "open_ai_chat_completions cannot say which stop sequence matched"
        )
    if response.usage is not None:
        out["usage"] = _encode_usage(response.usage, losses)
    _restore(out, ext, losses, "", skip=("choice",))
    return out
