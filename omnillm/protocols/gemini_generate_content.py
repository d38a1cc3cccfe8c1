"""Codec for Google Gemini GenerateContent (``models/{model}:generateContent``), camelCase JSON.

Wire shape per google-genai 3.4 (``google/genai/types.py`` and the request converters in
``models.py``). Choices worth knowing:

* **model**: the API takes the model from the URL, not the body. `decode_request` reads an
  optional top-level ``model`` key (a bare body decodes with ``model == ""``);
  `encode_request` writes ``model`` whenever the canonical request names one, so that
  transcoding keeps it. Callers sending the body to Google move it into the URL and drop
  the key (``Obj.pop("model")``).
* **parts**: one canonical part per wire part. ``thought: true`` text is a `ReasoningPart`.
  A ``thoughtSignature`` on a thought part stays on that `ReasoningPart`; on any other part
  it becomes a signature-only `ReasoningPart` (``text=None``) placed just before it, so
  other formats see an opaque reasoning token (L-REASONING-OPAQUE) and this codec puts the
  signature back on the following part. ``inlineData``/``fileData`` map by MIME type
  (``image/*`` -> `ImagePart`, ``audio/*`` inline -> `AudioPart`, PDF and plain text ->
  `FilePart`); other MIME types, ``executableCode``, ``codeExecutionResult`` and unknown
  parts are `OpaquePart`.
* **function calls without ``args``** have ``arguments == ""`` (and vice versa).
* **function calls without id** get ``call_<n>`` (n = how many ids were made up so far in
  this body) and ``synthetic_id=True``; results without id pair with the first unpaired
  call of the same name. Synthetic ids are never written back.
* **function results**: ``{"output": str}`` / ``{"result": str}`` unwrap to text,
  ``{"error": str}`` to text with ``is_error``; any other object becomes its compact JSON
  text. The encoder writes text that is exactly such compact JSON of an object back as
  the object, else wraps it as ``{"output": text}`` (``{"error": text}`` when ``is_error``);
  for messages decoded from Gemini the original wrapping key is reused.
* **schemas**: ``parametersJsonSchema``/``responseJsonSchema`` are JSON Schema already.
  The OpenAPI-subset ``parameters``/``responseSchema`` convert to JSON Schema (lower-case
  types, ``nullable`` -> ``type: [t, "null"]``, ``propertyOrdering``/``example`` dropped)
  and the original is kept in ``extensions`` and written back while the canonical schema
  is unchanged. Schemas from other formats are sent as ``parametersJsonSchema`` /
  ``responseJsonSchema``.
* **tools**: every run of function tools becomes one ``functionDeclarations`` tool; each
  other tool kind (``googleSearch``, ``codeExecution``, ...) one tool object of its own.
  A body that splits function declarations over several tool objects, or mixes them with
  another kind in one object, is regrouped on re-encoding.
* **responses**: candidate 0 is the response, the others `Choice` s. Output items follow
  the candidate's parts (consecutive text/media parts form one assistant `Message`, whose
  ``raw_message`` is the wire *candidate*: it carries the shape hints). Candidate-0 fields
  without a canonical slot (``safetyRatings``, ``citationMetadata``, ...) live in the
  response's extensions. ``responseId`` is the id (``""`` when absent, and then not
  written), ``modelVersion`` the model, ``createTime`` the ``created`` second.
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone
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

PROTOCOL = "gemini_generate_content"

_R = Reader(PROTOCOL)

_REQUEST_KEYS = frozenset({"model", "contents", "systemInstruction", "tools", "toolConfig", "generationConfig"})
_CONTENT_KEYS = frozenset({"role", "parts"})
_GENERATION_KEYS = frozenset(
    {
        "maxOutputTokens",
        "temperature",
        "topP",
        "topK",
        "stopSequences",
        "seed",
        "presencePenalty",
        "frequencyPenalty",
        "candidateCount",
        "responseLogprobs",
        "logprobs",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "thinkingConfig",
    }
)
_THINKING_KEYS = frozenset({"thinkingBudget", "thinkingLevel", "includeThoughts"})
_FUNCTION_KEYS = frozenset({"name", "description", "parameters", "parametersJsonSchema"})
_CALLING_KEYS = frozenset({"mode", "allowedFunctionNames"})
_RESPONSE_KEYS = frozenset({"candidates", "usageMetadata", "modelVersion", "responseId", "createTime"})
_CANDIDATE_KEYS = frozenset({"content", "finishReason", "index"})
# Candidate fields (google-genai `Candidate`) that candidate 0 keeps in the response's extensions.
_CANDIDATE_EXTRA_KEYS = frozenset(
    {
        "citationMetadata",
        "index",
        "finishMessage",
        "tokenCount",
        "groundingMetadata",
        "avgLogprobs",
        "logprobsResult",
        "safetyRatings",
        "urlContextMetadata",
        "continuationToken",
    }
)
_USAGE_KEYS = frozenset(
    {"promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount", "totalTokenCount"}
)
_BLOB_KEYS = frozenset({"mimeType", "data"})
_SIGNATURE_KEYS = frozenset({"thoughtSignature"})
_TEXT_KEYS = frozenset({"text", "thoughtSignature"})
_THOUGHT_KEYS = frozenset({"text", "thought", "thoughtSignature"})
_FILE_KEYS = frozenset({"mimeType", "fileUri"})
_CALL_KEYS = frozenset({"id", "name", "args"})
_RESULT_KEYS = frozenset({"id", "name", "response", "parts"})
# Part-level keys whose extension fields merge into the nested wire object.
_NESTED = ("inlineData", "fileData", "functionCall", "functionResponse", "generationConfig", "toolConfig")

# google-genai `FinishReason`; values not listed in _FINISH_FROM_WIRE mean "other".
_FINISH_VALUES = frozenset(
    {
        "FINISH_REASON_UNSPECIFIED",
        "STOP",
        "MAX_TOKENS",
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "OTHER",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "MALFORMED_FUNCTION_CALL",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_OTHER",
        "NO_IMAGE",
        "IMAGE_RECITATION",
        "UNEXPECTED_TOOL_CALL",
        "TOO_MANY_TOOL_CALLS",
        "MISSING_THOUGHT_SIGNATURE",
        "MALFORMED_RESPONSE",
        "ESCALATION",
        "PUP_LIMITED_DISABLED",
        "CONTINUATION",
        "MODEL_ARMOR",
    }
)

_FINISH_FROM_WIRE = {
    "STOP": "end_turn",
    "MAX_TOKENS": "max_tokens",
    "SAFETY": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "RECITATION": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error",
    "MALFORMED_RESPONSE": "error",
    "MISSING_THOUGHT_SIGNATURE": "error",
}

# Canonical -> finishReason, with the loss recorded when the category does not survive.
_FINISH_TO_WIRE: Dict[str, Tuple[str, Optional[str]]] = {
    "end_turn": ("STOP", None),
    "tool_use": ("STOP", None),
    "max_tokens": ("MAX_TOKENS", None),
    "stop_sequence": ("STOP", "L-FINISH-STOPSEQ"),
    "content_filter": ("SAFETY", None),
    "refusal": ("SAFETY", "L-FINISH-GRANULARITY"),
    "pause": ("OTHER", "L-FINISH-PAUSE"),
    "error": ("OTHER", "L-FINISH-GRANULARITY"),
    "other": ("OTHER", None),
}

_AUDIO_FORMAT = {"mpeg": "mp3", "x-wav": "wav", "wave": "wav"}
_AUDIO_MIME = {"mp3": "audio/mp3", "wav": "audio/wav"}
_SUFFIX_MIME = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
}
_LEVELS = ("minimal", "low", "medium", "high", "xhigh")
_RESOLUTION_PREFIX = "MEDIA_RESOLUTION_"
_RESOLUTIONS = ("low", "medium", "high", "ultra_high")


# =========================================================================== shared helpers


def _ext(fields: Obj) -> Extensions:
    return with_extension(PROTOCOL, fields)


def _own(extensions: Extensions) -> Obj:
    return extensions.get(PROTOCOL) or {}


def _restore(out: Obj, extensions: Extensions, losses: LossLog, path: str, skip: FrozenSet[str] = frozenset()) -> None:
    """Write back this protocol's extension fields (merging nested objects); report others'."""
    if not extensions:
        return
    others = {k: v for k, v in extensions.items() if k != PROTOCOL}
    if others:
        restore_extensions(out, others, PROTOCOL, losses, path)
    for k, v in _own(extensions).items():
        if k in skip:
            continue
        current = out.get(k)
        if k in _NESTED and isinstance(current, dict) and isinstance(v, dict):
            merged = dict(v)
            merged.update(current)
            out[k] = merged
        elif k not in out:
            out[k] = dict(v) if isinstance(v, dict) else v


def _schema_to_json(schema: Any) -> Any:
    """Gemini's OpenAPI-subset `Schema` as JSON Schema (lower-case types, ``nullable`` folded)."""
    if not isinstance(schema, dict):
        return schema
    out: Obj = {}
    nullable = schema.get("nullable") is True
    for k, v in schema.items():
        if k in ("nullable", "propertyOrdering", "example"):
            continue
        if k == "type" and isinstance(v, str):
            kind = v.lower()
            out["type"] = [kind, "null"] if nullable and kind != "null" else kind
        elif k in ("properties", "defs") and isinstance(v, dict):
            out["$defs" if k == "defs" else k] = {name: _schema_to_json(s) for name, s in v.items()}
        elif k == "items":
            out[k] = _schema_to_json(v)
        elif k == "anyOf" and isinstance(v, list):
            out[k] = [_schema_to_json(s) for s in v]
        elif k == "ref":
            out["$ref"] = v
        else:
            out[k] = v
    if nullable and "type" not in out:
        out["nullable"] = True
    return out


def _parse_time(text: str) -> Optional[int]:
    """RFC 3339 ``2025-01-02T03:04:05[.fff]Z`` as Unix seconds; None for other shapes."""
    try:
        moment = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    rest = text[19:]
    if rest.startswith("."):
        digits = rest[1:-1]
        if not digits.isdigit():
            return None
        rest = rest[-1:]
    if rest != "Z":
        return None
    return int(moment.replace(tzinfo=timezone.utc).timestamp())


def _format_time(seconds: int) -> str:
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        raise EncodeError(PROTOCOL, "created", f"{seconds} is not a representable time") from None


def _audio_format(mime: str) -> str:
    sub = mime.partition("/")[2]
    return _AUDIO_FORMAT.get(sub, sub)


def _guess_mime(url: str) -> Optional[str]:
    path = url.split("?", 1)[0].lower()
    dot = path.rfind(".")
    return _SUFFIX_MIME.get(path[dot:]) if dot >= 0 else None


# =========================================================================== decoding: parts


class _Pairing:
    """Synthesises ids for id-less function calls and pairs id-less results with them."""

    __slots__ = ("made", "pending")

    def __init__(self) -> None:
        self.made = 0
        self.pending: Dict[str, List[str]] = {}

    def new_id(self) -> str:
        made = f"call_{self.made}"
        self.made += 1
        return made

    def call(self, name: str, call_id: str) -> None:
        self.pending.setdefault(name, []).append(call_id)

    def result(self, name: str, call_id: Optional[str]) -> str:
        waiting = self.pending.get(name)
        if call_id is not None:
            if waiting and call_id in waiting:
                waiting.remove(call_id)
            return call_id
        if waiting:
            return waiting.pop(0)
        return self.new_id()


def _part_ext(
    d: Obj,
    known: FrozenSet[str],
    nested_key: str = "",
    nested: Optional[Obj] = None,
    nested_known: FrozenSet[str] = frozenset(),
) -> Extensions:
    fields = extras(d, known)
    if nested is not None:
        inner = extras(nested, nested_known)
        if inner:
            fields[nested_key] = inner
    return _ext(fields)


def _decode_media(d: Obj, key: str, path: str, known: FrozenSet[str]) -> Optional[Part]:
    """An ``inlineData``/``fileData`` part (or function-response part); None for unmapped MIME types."""
    where = join(path, key)
    blob = _R.obj(d[key], where)
    if key == "inlineData":
        mime = _R.req_str(blob, "mimeType", where)
        data = _R.req_str(blob, "data", where)
        ext = _part_ext(d, known | {key}, key, blob, _BLOB_KEYS)
        if mime.startswith("audio/"):
            return AudioPart(data=data, format=_audio_format(mime), extensions=ext)
        url = None
    else:
        mime_or_none = _R.opt_str(blob, "mimeType", where)
        url = _R.req_str(blob, "fileUri", where)
        ext = _part_ext(d, known | {key}, key, blob, _FILE_KEYS)
        if mime_or_none is None:
            return FilePart(url=url, extensions=ext)
        mime = mime_or_none
        data = None
    if mime.startswith("image/"):
        image = ImagePart(url=url, data=data, media_type=mime, extensions=ext)
        level = ext.get(PROTOCOL, {}).get("mediaResolution")
        if isinstance(level, dict) and list(level) == ["level"] and isinstance(level["level"], str):
            name = level["level"]
            detail = name[len(_RESOLUTION_PREFIX) :].lower()
            if name.startswith(_RESOLUTION_PREFIX) and detail in _RESOLUTIONS:
                image.detail = detail
                rest = {k: v for k, v in ext[PROTOCOL].items() if k != "mediaResolution"}
                image.extensions = _ext(rest)
        return image
    if mime in ("application/pdf", "text/plain"):
        return FilePart(url=url, data=data, media_type=mime, extensions=ext)
    return None


def _unwrap_result(response: Optional[Obj]) -> Tuple[List[Part], bool]:
    if response is None:
        return [], False
    if len(response) == 1:
        key, value = next(iter(response.items()))
        if isinstance(value, str) and key in ("output", "result", "error"):
            return [TextPart(value)], key == "error"
    return [TextPart(dump_arguments(response, PROTOCOL, "functionResponse.response"))], False


def _decode_part(raw: Any, path: str, pairing: _Pairing) -> List[Part]:
    d = _R.obj(raw, path)
    signature = _R.opt_str(d, "thoughtSignature", path)
    known = _SIGNATURE_KEYS
    part: Part
    if "text" in d:
        text = _R.req_str(d, "text", path)
        if d.get("thought") is True:
            ext = _ext(extras(d, _THOUGHT_KEYS))
            return [ReasoningPart(text=text, signature=signature, source=PROTOCOL, extensions=ext)]
        part = TextPart(text, extensions=_ext(extras(d, _TEXT_KEYS)) if len(d) > 1 else {})
    elif "functionCall" in d:
        where = join(path, "functionCall")
        call = _R.obj(d["functionCall"], where)
        name = _R.req_str(call, "name", where)
        call_id = _R.opt_str(call, "id", where)
        args = _R.opt_obj(call, "args", where)
        synthetic = call_id is None
        ident = pairing.new_id() if call_id is None else call_id
        pairing.call(name, ident)
        part = ToolCallPart(
            id=ident,
            name=name,
            arguments="" if args is None else dump_arguments(args, PROTOCOL, join(where, "args")),
            synthetic_id=synthetic,
            extensions=_part_ext(d, known | {"functionCall"}, "functionCall", call, _CALL_KEYS),
        )
    elif "functionResponse" in d:
        where = join(path, "functionResponse")
        result = _R.obj(d["functionResponse"], where)
        name = _R.req_str(result, "name", where)
        result_id = _R.opt_str(result, "id", where)
        content, is_error = _unwrap_result(_R.opt_obj(result, "response", where))
        for k, item in enumerate(_R.opt_arr(result, "parts", where) or []):
            ppath = index(join(where, "parts"), k)
            media = _R.obj(item, ppath)
            key = "inlineData" if "inlineData" in media else "fileData" if "fileData" in media else ""
            decoded = _decode_media(media, key, ppath, frozenset()) if key else None
            content.append(decoded if decoded is not None else OpaquePart(PROTOCOL, media))
        part = ToolResultPart(
            call_id=pairing.result(name, result_id),
            content=content,
            is_error=is_error,
            name=name,
            synthetic_id=result_id is None,
            extensions=_part_ext(d, known | {"functionResponse"}, "functionResponse", result, _RESULT_KEYS),
        )
    elif "inlineData" in d or "fileData" in d:
        decoded = _decode_media(d, "inlineData" if "inlineData" in d else "fileData", path, known)
        if decoded is None:
            return [OpaquePart(PROTOCOL, d)]
        part = decoded
    elif list(d) == ["thoughtSignature"] and signature is not None:
        return [ReasoningPart(signature=signature, source=PROTOCOL)]
    elif not d:
        raise _R.fail(path, "part has no data field (text, inlineData, fileData, functionCall, ...)")
    else:
        return [OpaquePart(PROTOCOL, d)]
    if signature is not None:
        return [ReasoningPart(signature=signature, source=PROTOCOL), part]
    return [part]


def _decode_parts(d: Obj, path: str, pairing: _Pairing) -> List[Part]:
    content: List[Part] = []
    where = join(path, "parts")
    for j, raw in enumerate(_R.opt_arr(d, "parts", path) or []):
        content.extend(_decode_part(raw, index(where, j), pairing))
    return content


def _decode_content(raw: Any, path: str, pairing: _Pairing) -> Message:
    d = _R.obj(raw, path)
    wire_role = _R.opt_str(d, "role", path)
    if wire_role is None or wire_role == "user":
        role = "user"
    elif wire_role == "model":
        role = "assistant"
    else:
        raise _R.fail(join(path, "role"), f"unknown role {wire_role!r}; expected 'user' or 'model'")
    content = _decode_parts(d, path, pairing)
    return Message(role, content, raw_message=d, raw_format=PROTOCOL, extensions=_ext(extras(d, _CONTENT_KEYS)))


# =========================================================================== decoding: request


def _decode_tools(raw: List[Any], path: str) -> List[Union[FunctionTool, BuiltinTool]]:
    tools: List[Union[FunctionTool, BuiltinTool]] = []
    for i, item in enumerate(raw):
        where = index(path, i)
        d = _R.obj(item, where)
        if not d:
            raise _R.fail(where, "tool has no kind (functionDeclarations, googleSearch, ...)")
        for key, value in d.items():
            if key != "functionDeclarations":
                options = value if isinstance(value, dict) else {"_value": value}
                tools.append(BuiltinTool(type=key, options=options, source=PROTOCOL))
                continue
            decls = _R.arr(value, join(where, key))
            for j, decl in enumerate(decls):
                tools.append(_decode_function(decl, index(join(where, key), j)))
    return tools


def _decode_function(raw: Any, path: str) -> FunctionTool:
    d = _R.obj(raw, path)
    fields = extras(d, _FUNCTION_KEYS)
    json_schema = _R.opt_obj(d, "parametersJsonSchema", path)
    schema = _R.opt_obj(d, "parameters", path)
    parameters = json_schema
    if schema is not None:
        fields["parameters"] = schema
        if parameters is None:
            parameters = _schema_to_json(schema)
    return FunctionTool(
        name=_R.req_str(d, "name", path),
        description=_R.opt_str(d, "description", path),
        parameters=parameters,
        extensions=_ext(fields),
    )


def _decode_tool_choice(d: Obj, path: str) -> ToolChoice:
    mode = _R.opt_str(d, "mode", path)
    names = _R.opt_str_list(d, "allowedFunctionNames", path)
    upper = (mode or "AUTO").upper()
    fields = extras(d, _CALLING_KEYS)
    if upper == "NONE":
        choice = ToolChoice("none", allowed=names)
    elif upper == "ANY" and names is not None and len(names) == 1:
        choice = ToolChoice("tool", name=names[0])
    elif upper == "ANY":
        choice = ToolChoice("required", allowed=names)
    else:
        choice = ToolChoice("auto", allowed=names)
    if mode is not None and mode != _wire_mode(choice):
        fields["mode"] = mode
    choice.extensions = _ext(fields)
    return choice


def _decode_output_format(gc: Obj, path: str) -> Optional[OutputFormat]:
    mime = _R.opt_str(gc, "responseMimeType", path)
    json_schema = _R.opt_obj(gc, "responseJsonSchema", path)
    schema = _R.opt_obj(gc, "responseSchema", path)
    if mime is None and json_schema is None and schema is None:
        return None
    fields: Obj = {}
    canonical = json_schema
    if schema is not None:
        fields["responseSchema"] = schema
        if canonical is None:
            canonical = _schema_to_json(schema)
    if canonical is not None:
        kind = "json_schema"
    elif mime == "application/json":
        kind = "json_object"
    else:
        kind = "text"
    if mime != _default_mime(kind):
        fields["responseMimeType"] = mime
    return OutputFormat(type=kind, schema=canonical, extensions=_ext(fields))


def _decode_reasoning(d: Obj, path: str) -> ReasoningConfig:
    budget = _R.opt_int(d, "thinkingBudget", path)
    level = _R.opt_str(d, "thinkingLevel", path)
    fields = extras(d, _THINKING_KEYS)
    config = ReasoningConfig(include_thoughts=_R.opt_bool(d, "includeThoughts", path))
    if budget == 0:
        config.enabled = False
    elif budget == -1:
        config.enabled = True
    else:
        config.budget_tokens = budget
    if level is not None:
        config.effort = level.lower()
        if level != config.effort.upper():
            fields["thinkingLevel"] = level
    config.extensions = _ext(fields)
    return config


@entry_point(PROTOCOL, decoding=True)
def decode_request(raw: Dict[str, Any]) -> LlmRequest:
    """A GenerateContentRequest body as an `LlmRequest` (``model`` from an optional ``model`` key)."""
    r = _R.obj(raw, "")
    contents = _R.req_arr(r, "contents", "")
    pairing = _Pairing()
    messages: List[Message] = []
    system = _R.opt_obj(r, "systemInstruction", "")
    if system is not None:
        parts = _decode_parts(system, "systemInstruction", pairing)
        fields = extras(system, _CONTENT_KEYS)
        messages.append(
            Message(
                "system",
                parts,
                raw_message={"systemInstruction": system},
                raw_format=PROTOCOL,
                extensions=_ext(fields),
            )
        )
    for i, item in enumerate(contents):
        messages.append(_decode_content(item, index("contents", i), pairing))
    request = LlmRequest(model=_R.opt_str(r, "model", "") or "", messages=messages)
    top = extras(r, _REQUEST_KEYS)
    tools = _R.opt_arr(r, "tools", "")
    if tools is not None:
        request.tools = _decode_tools(tools, "tools")
    tool_config = _R.opt_obj(r, "toolConfig", "")
    if tool_config is not None:
        calling = _R.opt_obj(tool_config, "functionCallingConfig", "toolConfig")
        if calling is not None:
            request.tool_choice = _decode_tool_choice(calling, "toolConfig.functionCallingConfig")
        rest = extras(tool_config, frozenset({"functionCallingConfig"}))
        if rest or calling is None:
            top["toolConfig"] = rest
    gc = _R.opt_obj(r, "generationConfig", "")
    if gc is not None:
        where = "generationConfig"
        request.max_output_tokens = _R.opt_int(gc, "maxOutputTokens", where)
        request.temperature = _R.opt_num(gc, "temperature", where)
        request.top_p = _R.opt_num(gc, "topP", where)
        request.top_k = _R.opt_int(gc, "topK", where)
        request.stop = _R.opt_str_list(gc, "stopSequences", where)
        request.seed = _R.opt_int(gc, "seed", where)
        request.presence_penalty = _R.opt_num(gc, "presencePenalty", where)
        request.frequency_penalty = _R.opt_num(gc, "frequencyPenalty", where)
        request.n = _R.opt_int(gc, "candidateCount", where)
        request.logprobs = _R.opt_bool(gc, "responseLogprobs", where)
        request.top_logprobs = _R.opt_int(gc, "logprobs", where)
        request.output_format = _decode_output_format(gc, where)
        thinking = _R.opt_obj(gc, "thinkingConfig", where)
        if thinking is not None:
            request.reasoning = _decode_reasoning(thinking, join(where, "thinkingConfig"))
        rest = extras(gc, _GENERATION_KEYS)
        if rest or not gc:
            top["generationConfig"] = rest
    request.extensions = _ext(top)
    return request


# =========================================================================== encoding: parts


class _Encoder:
    """Per-call encoding context: the loss log and the function names of known call ids."""

    __slots__ = ("losses", "names", "request")

    def __init__(self, losses: LossLog, names: Dict[str, str], request: bool) -> None:
        self.losses = losses
        self.names = names
        self.request = request

    # ------------------------------------------------------------------ media

    def media(self, part: Part, path: str, hint: Optional[Obj]) -> Optional[Obj]:
        """``{"inlineData": ...}`` or ``{"fileData": ...}`` for an image, audio or file part."""
        if isinstance(part, AudioPart):
            mime = _AUDIO_MIME.get(part.format, f"audio/{part.format}")
            blob = hint.get("inlineData") if hint else None
            if isinstance(blob, dict):
                was = blob.get("mimeType")
                if isinstance(was, str) and was.startswith("audio/") and _audio_format(was) == part.format:
                    mime = was
            return {"inlineData": {"mimeType": mime, "data": part.data}}
        if isinstance(part, ImagePart):
            out = self._locate(part.data, part.url, part.media_type, part.file_id, "image/png", path, "image")
            if out is not None and part.detail is not None and part.detail != "auto":
                if part.detail in _RESOLUTIONS:
                    out["mediaResolution"] = {"level": _RESOLUTION_PREFIX + part.detail.upper()}
                else:
                    self.losses.add(
                        "L-MEDIA-DETAIL", path, f"image detail {part.detail!r} has no equivalent in {PROTOCOL}"
                    )
            self._cache(part.cache_control, path)
            return out
        if isinstance(part, FilePart):
            data = part.data
            media_type = part.media_type
            if data is None and part.text is not None and part.url is None:
                data = base64.b64encode(part.text.encode("utf-8")).decode("ascii")
                media_type = media_type or "text/plain"
            out = self._locate(data, part.url, media_type, part.file_id, "application/pdf", path, "file")
            for label, value in (("filename", part.filename), ("title", part.title)):
                if value is not None:
                    self.losses.add("L-FILE-NAME", path, f"file {label} {value!r} has no equivalent in {PROTOCOL}")
            self._cache(part.cache_control, path)
            return out
        return None

    def _locate(
        self,
        data: Optional[str],
        url: Optional[str],
        media_type: Optional[str],
        file_id: Optional[str],
        fallback: str,
        path: str,
        what: str,
    ) -> Optional[Obj]:
        if data is not None:
            if media_type is None:
                self.losses.add(
                    "L-MEDIA-TYPE", path, f"{what} without a media type is sent as {fallback} to {PROTOCOL}"
                )
            return {"inlineData": {"mimeType": media_type or fallback, "data": data}}
        if url is not None:
            parsed = parse_data_url(url)
            if parsed is not None:
                return {"inlineData": {"mimeType": parsed[0], "data": parsed[1]}}
            ref: Obj = {}
            mime = media_type or _guess_mime(url)
            if mime is not None:
                ref["mimeType"] = mime
            ref["fileUri"] = url
            return {"fileData": ref}
        if file_id is not None:
            self.losses.add(
                "L-MEDIA-URL-FETCH", path, f"{what} file id {file_id!r} cannot be referenced in {PROTOCOL}; dropped"
            )
            return None
        raise EncodeError(PROTOCOL, path, f"{what} part has no data, url or file id")

    def _cache(self, cache_control: Any, path: str) -> None:
        if cache_control is not None:
            self.losses.add("L-CACHE-MARKERS", path, f"cache_control breakpoint has no equivalent in {PROTOCOL}")

    # ------------------------------------------------------------------ one part

    def part(self, part: Part, path: str, hint: Optional[Obj]) -> Optional[Obj]:
        out: Optional[Obj]
        if isinstance(part, TextPart):
            out = {"text": part.text}
            self._cache(part.cache_control, path)
        elif isinstance(part, RefusalPart):
            self.losses.add("L-REFUSAL-PART", path, f"refusal is sent as plain text: {PROTOCOL} has no refusal part")
            out = {"text": part.text}
        elif isinstance(part, (ImagePart, AudioPart, FilePart)):
            out = self.media(part, path, hint)
        elif isinstance(part, ToolCallPart):
            out = {"functionCall": self._call(part, path, hint)}
            self._cache(part.cache_control, path)
        elif isinstance(part, ToolResultPart):
            out = {"functionResponse": self._result(part, path, hint)}
            self._cache(part.cache_control, path)
        elif isinstance(part, OpaquePart):
            if part.source == PROTOCOL:
                return dict(part.data)
            self.losses.add("L-OPAQUE", path, f"{part.source} item has no equivalent in {PROTOCOL}; dropped")
            return None
        else:
            raise EncodeError(PROTOCOL, path, f"cannot encode a {type(part).__name__} here")
        if out is not None:
            _restore(out, part.extensions, self.losses, path)
        return out

    def _call(self, part: ToolCallPart, path: str, hint: Optional[Obj]) -> Obj:
        args, ok = load_arguments(part.arguments)
        if not ok:
            self.losses.add(
                "L-TOOL-ARGS-INVALID-JSON", path, f"arguments of {part.name!r} are not a JSON object; kept under _raw"
            )
        elif part.arguments and dump_arguments(args, PROTOCOL, join(path, "arguments"), False) != part.arguments:
            self.losses.add(
                "L-TOOL-ARGS-FORMAT",
                path,
                f"{PROTOCOL} carries arguments as an object; their original JSON formatting is not kept",
            )
        call: Obj = {"name": part.name}
        if part.arguments != "":
            call["args"] = args
        if not part.synthetic_id:
            call["id"] = part.id
        return call

    def _result(self, part: ToolResultPart, path: str, hint: Optional[Obj]) -> Obj:
        name = part.name or self.names.get(part.call_id)
        if name is None:
            raise EncodeError(
                PROTOCOL, path, f"no function name for tool result {part.call_id!r} (functionResponse needs it)"
            )
        out: Obj = {"name": name}
        if not part.synthetic_id:
            out["id"] = part.call_id
        raw = hint.get("functionResponse") if hint else None
        texts: List[str] = []
        media: List[Obj] = []
        for k, item in enumerate(part.content):
            where = f"{path}.content[{k}]"
            if isinstance(item, TextPart):
                texts.append(item.text)
                continue
            encoded = self.media(item, where, None) if isinstance(item, (ImagePart, FilePart, AudioPart)) else None
            if encoded is None and isinstance(item, OpaquePart) and item.source == PROTOCOL:
                encoded = dict(item.data)
            if encoded is not None:
                _restore(encoded, item.extensions, self.losses, where)
                media.append(encoded)
            elif not isinstance(item, (ImagePart, FilePart, AudioPart)):
                self.losses.add(
                    "L-RESULT-MEDIA", where, f"{type(item).__name__} in a tool result has no equivalent in {PROTOCOL}"
                )
        if len(texts) > 1:
            self.losses.add(
                "L-RESULT-WRAP", path, f"the text parts of a tool result are joined with newlines for {PROTOCOL}"
            )
        response = _wrap_result(texts, part.is_error, raw if isinstance(raw, dict) else None)
        if response is not None:
            out["response"] = response
        if media:
            out["parts"] = media
        return out

    # ------------------------------------------------------------------ part lists

    def parts(self, items: List[Tuple[Part, str]], raw_parts: Optional[List[Any]]) -> List[Obj]:
        """Encode parts in order, putting signature-only reasoning back on the following part."""
        out: List[Obj] = []
        signature: Optional[str] = None
        for part, path in items:
            if isinstance(part, ReasoningPart):
                encoded = self.reasoning(part, path)
                if encoded is None:
                    continue
                if "text" not in encoded and "thought" not in encoded:
                    if signature is not None:
                        out.append({"thoughtSignature": signature})
                    signature = encoded["thoughtSignature"]
                    continue
                if signature is not None:
                    out.append({"thoughtSignature": signature})
                    signature = None
                out.append(encoded)
                continue
            hint = None
            if raw_parts is not None and len(out) < len(raw_parts) and isinstance(raw_parts[len(out)], dict):
                hint = raw_parts[len(out)]
            encoded = self.part(part, path, hint)
            if encoded is None:
                continue
            if signature is not None:
                encoded["thoughtSignature"] = signature
                signature = None
            out.append(encoded)
        if signature is not None:
            out.append({"thoughtSignature": signature})
        return out

    def reasoning(self, part: ReasoningPart, path: str) -> Optional[Obj]:
        if part.source == PROTOCOL:
            if part.text is None and not part.summary:
                if part.signature is None:
                    return None
                return {"thoughtSignature": part.signature}
            out: Obj = {"text": part.text if part.text is not None else "\n\n".join(part.summary), "thought": True}
            if part.signature is not None:
                out["thoughtSignature"] = part.signature
            _restore(out, part.extensions, self.losses, path)
            return out
        origin = part.source or "another format"
        if self.request:
            if part.text or part.summary or part.signature or part.encrypted_content or part.redacted:
                self.losses.add(
                    "L-REASONING-OPAQUE",
                    path,
                    f"reasoning from {origin} cannot be replayed in {PROTOCOL} without its thought signature; dropped",
                )
            return None
        if part.signature or part.encrypted_content or part.redacted:
            self.losses.add(
                "L-REASONING-OPAQUE", path, f"opaque reasoning token from {origin} is not valid in {PROTOCOL}; dropped"
            )
        if part.text is not None:
            text = part.text
        elif part.summary:
            text = "\n\n".join(part.summary)
            self.losses.add(
                "L-REASONING-SUMMARY", path, f"reasoning summary from {origin} becomes a thought part in {PROTOCOL}"
            )
        else:
            return None
        out = {"text": text, "thought": True}
        _restore(out, part.extensions, self.losses, path)
        return out


def _wrap_result(texts: List[str], is_error: bool, raw: Optional[Obj]) -> Optional[Obj]:
    """The ``functionResponse.response`` object for a result's text (see the module docstring)."""
    hint_key = None
    if raw is not None:
        was = raw.get("response")
        if was is None and not texts:
            return None
        if isinstance(was, dict) and len(was) == 1:
            key, value = next(iter(was.items()))
            if isinstance(value, str) and key in ("output", "result", "error"):
                hint_key = key
    if not texts:
        return {"error": ""} if is_error else {}
    text = "\n".join(texts)
    if is_error:
        return {"error": text}
    if hint_key is not None and hint_key != "error":
        return {hint_key: text}
    if hint_key is None and text.startswith("{"):
        value, valid = load_arguments(text)
        if valid and dump_arguments(value, PROTOCOL, "functionResponse.response", False) == text:
            parsed: Obj = value
            return parsed
    return {"output": text}


# =========================================================================== encoding: request


def _wire_mode(choice: ToolChoice) -> str:
    if choice.mode == "none":
        return "NONE"
    if choice.mode in ("required", "tool"):
        return "ANY"
    # allowedFunctionNames is honoured with ANY/VALIDATED only; VALIDATED is "auto within these".
    return "VALIDATED" if choice.allowed else "AUTO"


def _default_mime(kind: str) -> Optional[str]:
    return "text/plain" if kind == "text" else "application/json"


def _encode_tool_choice(choice: ToolChoice, losses: LossLog) -> Obj:
    path = "tool_choice"
    if choice.mode not in ("auto", "none", "required", "tool"):
        raise EncodeError(PROTOCOL, path, f"unknown tool_choice mode {choice.mode!r}")
    mode = _wire_mode(choice)
    own = _own(choice.extensions)
    was = own.get("mode")
    if isinstance(was, str) and _decode_tool_choice({"mode": was}, path).mode == choice.mode:
        mode = was
    out: Obj = {"mode": mode}
    if choice.mode == "tool":
        if not choice.name:
            raise EncodeError(PROTOCOL, path, "tool_choice mode 'tool' needs a tool name")
        out["allowedFunctionNames"] = [choice.name]
        if choice.allowed is not None:
            losses.add("L-TC-SUBSET", path, f"the tool subset is dropped: {PROTOCOL} forces the one named tool")
    elif choice.allowed is not None:
        out["allowedFunctionNames"] = list(choice.allowed)
    _restore(out, choice.extensions, losses, path, frozenset({"mode"}))
    return out


def _encode_function(tool: FunctionTool, path: str, losses: LossLog) -> Obj:
    out: Obj = {"name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    original = _own(tool.extensions).get("parameters")
    if original is not None and _schema_to_json(original) == tool.parameters:
        out["parameters"] = original
    elif tool.parameters is not None:
        out["parametersJsonSchema"] = tool.parameters
    if tool.strict:
        losses.add("L-TOOL-STRICT", path, f"strict schema adherence for {tool.name!r} has no equivalent in {PROTOCOL}")
    if tool.cache_control is not None:
        losses.add("L-CACHE-MARKERS", path, f"cache_control breakpoint has no equivalent in {PROTOCOL}")
    _restore(out, tool.extensions, losses, path, frozenset({"parameters"}))
    return out


def _encode_tools(tools: List[Union[FunctionTool, BuiltinTool]], losses: LossLog) -> List[Obj]:
    out: List[Obj] = []
    group: Optional[List[Obj]] = None
    for i, tool in enumerate(tools):
        path = index("tools", i)
        if isinstance(tool, FunctionTool):
            if group is None:
                group = []
                out.append({"functionDeclarations": group})
            group.append(_encode_function(tool, path, losses))
            continue
        group = None
        if not isinstance(tool, BuiltinTool):
            raise EncodeError(PROTOCOL, path, f"cannot encode a {type(tool).__name__} as a tool")
        if tool.source != PROTOCOL:
            losses.add(
                "L-TOOL-CUSTOM", path, f"{builtin_label(tool)} from {tool.source} has no equivalent in {PROTOCOL}"
            )
            continue
        options = tool.options
        value: Any = options["_value"] if list(options) == ["_value"] else dict(options)
        entry: Obj = {tool.type: value}
        _restore(entry, tool.extensions, losses, path)
        out.append(entry)
    return out


def _encode_output_format(fmt: OutputFormat, gc: Obj, losses: LossLog) -> None:
    path = "output_format"
    own = _own(fmt.extensions)
    if fmt.type not in ("text", "json_object", "json_schema"):
        raise EncodeError(PROTOCOL, path, f"unknown output format type {fmt.type!r}")
    mime = own["responseMimeType"] if "responseMimeType" in own else _default_mime(fmt.type)
    if mime is not None:
        gc["responseMimeType"] = mime
    if fmt.type == "json_schema" and fmt.schema is not None:
        original = own.get("responseSchema")
        if original is not None and _schema_to_json(original) == fmt.schema:
            gc["responseSchema"] = original
        else:
            gc["responseJsonSchema"] = fmt.schema
    if fmt.name is not None or fmt.description is not None:
        losses.add("L-SO-NAME", path, f"structured output name/description have no equivalent in {PROTOCOL}")
    if fmt.strict:
        losses.add("L-SO-STRICT", path, f"strict structured output has no equivalent in {PROTOCOL}")
    _restore(gc, fmt.extensions, losses, path, frozenset({"responseMimeType", "responseSchema"}))


def _encode_reasoning(config: ReasoningConfig, losses: LossLog) -> Obj:
    path = "reasoning"
    out: Obj = {}
    effort = config.effort
    if effort is not None:
        level = _own(config.extensions).get("thinkingLevel")
        if isinstance(level, str) and level.lower() == effort:
            out["thinkingLevel"] = level
        elif effort in _LEVELS:
            out["thinkingLevel"] = effort.upper()
        elif effort == "none":
            out["thinkingBudget"] = 0
            losses.add("L-REASONING-EFFORT-BUDGET", path, f"effort 'none' becomes thinkingBudget 0 in {PROTOCOL}")
        elif effort == "max":
            out["thinkingLevel"] = "XHIGH"
            losses.add("L-REASONING-EFFORT-BUDGET", path, f"effort 'max' becomes thinkingLevel XHIGH in {PROTOCOL}")
        else:
            losses.add("L-REASONING-EFFORT-BUDGET", path, f"effort {effort!r} has no thinkingLevel in {PROTOCOL}")
    if config.enabled is False:
        out["thinkingBudget"] = 0
    elif config.budget_tokens is not None:
        out["thinkingBudget"] = config.budget_tokens
    elif config.enabled and "thinkingLevel" not in out:
        out["thinkingBudget"] = -1
    include = config.include_thoughts
    if config.summary is not None:
        losses.add(
            "L-REASONING-SUMMARY",
            path,
            f"reasoning summary {config.summary!r} is approximated by includeThoughts in {PROTOCOL}",
        )
        if include is None:
            include = True
    if include is not None:
        out["includeThoughts"] = include
    _restore(out, config.extensions, losses, path, frozenset({"thinkingLevel"}))
    return out


def _call_names(messages: List[Message]) -> Dict[str, str]:
    names: Dict[str, str] = {}
    for m in messages:
        for p in m.content:
            if isinstance(p, ToolCallPart):
                names[p.id] = p.name
    return names


def _raw_parts(message: Message, key: Optional[str] = None) -> Optional[List[Any]]:
    raw = message.raw_message if message.raw_format == PROTOCOL else None
    if raw is None:
        return None
    if key is not None:
        raw = raw.get(key)
        if not isinstance(raw, dict):
            return None
    parts = raw.get("parts")
    return parts if isinstance(parts, list) else None


def _encode_messages(request: LlmRequest, enc: _Encoder) -> Tuple[Optional[Obj], List[Obj]]:
    losses = enc.losses
    system_parts: List[Obj] = []
    system: Optional[Obj] = None
    if request.instructions:
        system_parts.append({"text": request.instructions})
        system = {}
    contents: List[Obj] = []
    previous: Optional[Message] = None
    started = False
    for i, m in enumerate(request.messages):
        path = index("messages", i)
        if m.name is not None:
            losses.add("L-ROLE-NAME", path, f"message name has no equivalent in {PROTOCOL}")
        items = [(p, f"{path}.content[{j}]") for j, p in enumerate(m.content)]
        if m.role in ("system", "developer"):
            if m.role == "developer":
                losses.add("L-ROLE-DEVELOPER", path, f"developer message folded into systemInstruction in {PROTOCOL}")
            if started:
                losses.add(
                    "L-ROLE-SYSTEM-POSITION",
                    path,
                    f"system message inside the conversation hoisted into systemInstruction in {PROTOCOL}",
                )
            if system is None:
                system = {}
            raw = m.raw_message.get("systemInstruction") if m.raw_format == PROTOCOL and m.raw_message else None
            if isinstance(raw, dict) and "role" in raw:
                system.setdefault("role", raw["role"])
            system_parts.extend(enc.parts(items, _raw_parts(m, "systemInstruction")))
            _restore(system, m.extensions, losses, path)
            continue
        if m.role not in ("user", "assistant", "tool"):
            raise EncodeError(PROTOCOL, join(path, "role"), f"unknown role {m.role!r}")
        if m.role == "tool" and not any(isinstance(p, ToolResultPart) for p in m.content):
            raise EncodeError(PROTOCOL, path, "tool message holds no tool results")
        started = True
        role = "model" if m.role == "assistant" else "user"
        parts = enc.parts(items, _raw_parts(m))
        # Gemini expects alternating turns: merge a turn into the previous one of the same role,
        # except where both came from Gemini as separate turns.
        if (
            contents
            and previous is not None
            and contents[-1].get("role", "user") == role
            and not (previous.raw_format == PROTOCOL and m.raw_format == PROTOCOL)
        ):
            contents[-1].setdefault("parts", []).extend(parts)
            _restore(contents[-1], m.extensions, losses, path)
            previous = m
            continue
        content: Obj = {"role": role, "parts": parts}
        raw = m.raw_message if m.raw_format == PROTOCOL else None
        if raw is not None:
            if role == "user" and "role" not in raw:
                del content["role"]
            if not parts and "parts" not in raw:
                del content["parts"]
        _restore(content, m.extensions, losses, path)
        contents.append(content)
        previous = m
    if system is not None:
        system["parts"] = system_parts
    return system, contents


@entry_point(PROTOCOL, decoding=False)
def encode_request(request: LlmRequest, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """An `LlmRequest` as a GenerateContentRequest body (with ``model`` when the request names one)."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    enc = _Encoder(losses, _call_names(request.messages), request=True)
    out: Obj = {}
    if request.model:
        out["model"] = request.model
    system, contents = _encode_messages(request, enc)
    out["contents"] = contents
    if system is not None:
        out["systemInstruction"] = system
    tools = _encode_tools(request.tools, losses)
    if tools:
        out["tools"] = tools
    if request.tool_choice is not None:
        out["toolConfig"] = {"functionCallingConfig": _encode_tool_choice(request.tool_choice, losses)}
    if request.parallel_tool_calls is False:
        losses.add("L-TC-PARALLEL", "parallel_tool_calls", f"{PROTOCOL} cannot forbid parallel function calls")
    gc: Obj = {}
    for key, value in (
        ("maxOutputTokens", request.max_output_tokens),
        ("temperature", request.temperature),
        ("topP", request.top_p),
        ("topK", request.top_k),
        ("stopSequences", request.stop),
        ("seed", request.seed),
        ("presencePenalty", request.presence_penalty),
        ("frequencyPenalty", request.frequency_penalty),
        ("candidateCount", request.n),
        ("responseLogprobs", request.logprobs),
        ("logprobs", request.top_logprobs),
    ):
        if value is not None:
            gc[key] = list(value) if isinstance(value, list) else value
    if request.output_format is not None:
        _encode_output_format(request.output_format, gc, losses)
    if request.reasoning is not None:
        gc["thinkingConfig"] = _encode_reasoning(request.reasoning, losses)
    if gc:
        out["generationConfig"] = gc
    if request.metadata is not None:
        losses.add("L-METADATA", "metadata", f"metadata has no equivalent in {PROTOCOL} (labels are Vertex-only)")
    if request.user is not None:
        losses.add("L-EXTENSION", "user", f"end-user id has no equivalent in {PROTOCOL}")
    if request.service_tier is not None:
        losses.add("L-SERVICE-TIER", "service_tier", f"service tier {request.service_tier!r} not mapped to {PROTOCOL}")
    if request.stream is not None:
        losses.add(
            "L-EXTENSION",
            "stream",
            f"stream={request.stream} is not a body field in {PROTOCOL}: the endpoint "
            "(generateContent or streamGenerateContent) chooses",
        )
    if request.prompt_cache_key is not None:
        losses.add("L-CACHE-MARKERS", "prompt_cache_key", f"prompt_cache_key has no equivalent in {PROTOCOL}")
    _restore(out, request.extensions, losses, "")
    return out


# =========================================================================== responses


def _stop_from_wire(finish: Optional[str], has_calls: bool) -> str:
    if finish is None or finish == "STOP":
        return "tool_use" if has_calls else "end_turn"
    return _FINISH_FROM_WIRE.get(finish, "other")


def _decode_candidate(raw: Any, path: str) -> Tuple[List[OutputItem], str, Optional[str], Obj, Optional[int]]:
    d = _R.obj(raw, path)
    finish = _R.opt_str(d, "finishReason", path)
    position = _R.opt_int(d, "index", path)
    items: List[OutputItem] = []
    content = _R.opt_obj(d, "content", path)
    if content is not None:
        where = join(path, "content")
        wire_role = _R.opt_str(content, "role", where)
        if wire_role not in (None, "model"):
            raise _R.fail(join(where, "role"), f"unknown role {wire_role!r}; expected 'model'")
        ext = _ext(extras(content, _CONTENT_KEYS))
        message: Optional[Message] = None
        for part in _decode_parts(content, where, _Pairing()):
            if isinstance(part, (ToolCallPart, ReasoningPart, OpaquePart)):
                items.append(part)
                message = None
                continue
            if message is None:
                message = Message("assistant", [], raw_message=d, raw_format=PROTOCOL, extensions=ext)
                items.append(message)
            message.content.append(part)
        if not items:
            # An empty content ({"role": "model"}) still carries the candidate's shape hints.
            items.append(Message("assistant", [], raw_message=d, raw_format=PROTOCOL, extensions=ext))
    has_calls = any(isinstance(item, ToolCallPart) for item in items)
    fields = extras(d, _CANDIDATE_KEYS)
    if content is None and position is None:
        # No message carries the shape hint here: remember that the index was absent.
        fields["index"] = None
    return items, _stop_from_wire(finish, has_calls), finish, fields, position


def _decode_usage(u: Obj, where: str = "usageMetadata") -> Usage:
    thoughts = _R.opt_int(u, "thoughtsTokenCount", where)
    return Usage(
        input_tokens=_R.opt_int(u, "promptTokenCount", where) or 0,
        output_tokens=(_R.opt_int(u, "candidatesTokenCount", where) or 0) + (thoughts or 0),
        total_tokens=_R.opt_int(u, "totalTokenCount", where),
        cached_input_tokens=_R.opt_int(u, "cachedContentTokenCount", where),
        reasoning_tokens=thoughts,
        extensions=_ext(extras(u, _USAGE_KEYS)),
    )


@entry_point(PROTOCOL, decoding=True)
def decode_response(raw: Dict[str, Any]) -> LlmResponse:
    """A GenerateContentResponse body as an `LlmResponse` (candidate 0 plus `Choice` s)."""
    r = _R.obj(raw, "")
    top = extras(r, _RESPONSE_KEYS)
    response = LlmResponse(
        id=_R.opt_str(r, "responseId", "") or "",
        model=_R.opt_str(r, "modelVersion", "") or "",
    )
    created = _R.opt_str(r, "createTime", "")
    if created is not None:
        response.created = _parse_time(created)
        if response.created is None or _format_time(response.created) != created:
            top["createTime"] = created
    usage = _R.opt_obj(r, "usageMetadata", "")
    if usage is not None:
        response.usage = _decode_usage(usage)
    candidates = _R.opt_arr(r, "candidates", "")
    if candidates == []:
        top["candidates"] = []
    if candidates:
        items, stop, finish, fields, _ = _decode_candidate(candidates[0], "candidates[0]")
        response.output, response.stop_reason, response.raw_stop_reason = items, stop, finish
        top.update(fields)
        for k in range(1, len(candidates)):
            items, stop, finish, fields, position = _decode_candidate(candidates[k], index("candidates", k))
            response.choices.append(
                Choice(
                    index=k if position is None else position,
                    output=items,
                    stop_reason=stop,
                    raw_stop_reason=finish,
                    extensions=_ext(fields),
                )
            )
    else:
        feedback = _R.opt_obj(r, "promptFeedback", "")
        block = _R.opt_str(feedback, "blockReason", "promptFeedback") if feedback is not None else None
        if block is not None:
            response.stop_reason, response.raw_stop_reason = "content_filter", block
    response.extensions = _ext(top)
    return response


def _finish_reason(stop: str, raw: Optional[str], has_calls: bool, losses: LossLog, path: str) -> str:
    # Keep Gemini's own value when it still says what the canonical stop reason says.
    if raw in _FINISH_VALUES and _stop_from_wire(raw, has_calls) in (stop, "end_turn" if stop == "tool_use" else stop):
        return str(raw)
    wire, code = _FINISH_TO_WIRE.get(stop, ("OTHER", "L-FINISH-GRANULARITY"))
    if stop == "tool_use" and not has_calls:
        # Gemini derives "tool use" from functionCall parts; none survived (e.g. hosted-tool calls).
        code = "L-FINISH-GRANULARITY"
    if code is not None:
        losses.add(code, path, f"stop reason {stop!r} has no exact finishReason in {PROTOCOL}; sent {wire}")
    else:
        note_finer_stop(losses, path, PROTOCOL, stop, raw, wire)
    return wire


def _encode_candidate(
    output: List[OutputItem],
    stop: str,
    raw_stop: Optional[str],
    position: int,
    fields: Extensions,
    enc: _Encoder,
    path: str,
) -> Obj:
    items: List[Tuple[Part, str]] = []
    hint: Optional[Obj] = None
    content_ext: Extensions = {}
    for i, item in enumerate(output):
        where = f"{path}[{i}]"
        if isinstance(item, Message):
            if item.role != "assistant":
                raise EncodeError(PROTOCOL, where, f"output message role must be 'assistant', got {item.role!r}")
            if hint is None and item.raw_format == PROTOCOL and isinstance(item.raw_message, dict):
                hint = item.raw_message
                content_ext = item.extensions
            elif item.extensions:
                _restore({}, {k: v for k, v in item.extensions.items() if k != PROTOCOL}, enc.losses, where)
            items.extend((p, f"{where}.content[{j}]") for j, p in enumerate(item.content))
        else:
            items.append((item, where))
    raw_content = hint.get("content") if hint is not None else None
    raw_parts = raw_content.get("parts") if isinstance(raw_content, dict) else None
    parts = enc.parts(items, raw_parts if isinstance(raw_parts, list) else None)
    cand: Obj = {}
    if parts or isinstance(raw_content, dict):
        content: Obj = {"parts": parts, "role": "model"}
        if isinstance(raw_content, dict):
            if "role" not in raw_content:
                del content["role"]
            if not parts and "parts" not in raw_content:
                del content["parts"]
        _restore(content, content_ext, enc.losses, path)
        cand["content"] = content
    has_calls = any(isinstance(p, ToolCallPart) for p, _ in items)
    if not (hint is not None and "finishReason" not in hint and raw_stop is None):
        cand["finishReason"] = _finish_reason(stop, raw_stop, has_calls, enc.losses, "stop_reason")
    no_index = "index" in _own(fields) and _own(fields)["index"] is None
    if (hint is None or "index" in hint) and not no_index:
        cand["index"] = position
    _restore(cand, fields, enc.losses, path, frozenset({"index"}))
    return cand


def _encode_usage(usage: Usage, losses: LossLog) -> Obj:
    out: Obj = {}
    visible = usage.output_tokens - (usage.reasoning_tokens or 0)
    if usage.input_tokens:
        out["promptTokenCount"] = usage.input_tokens
    if visible:
        out["candidatesTokenCount"] = visible
    if usage.total_tokens is not None:
        out["totalTokenCount"] = usage.total_tokens
    if usage.cached_input_tokens is not None:
        out["cachedContentTokenCount"] = usage.cached_input_tokens
    if usage.reasoning_tokens is not None:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cache_creation_input_tokens:
        losses.add("L-USAGE-CACHE-WRITE", "usage", f"cache-write token count has no equivalent in {PROTOCOL}")
    _restore(out, usage.extensions, losses, "usage")
    return out


@entry_point(PROTOCOL, decoding=False)
def encode_response(response: LlmResponse, losses: Optional[LossLog] = None) -> Dict[str, Any]:
    """An `LlmResponse` as a GenerateContentResponse body."""
    if losses is None:
        losses = LossLog(PROTOCOL)
    enc = _Encoder(losses, {}, request=False)
    own = _own(response.extensions)
    candidate_fields = {k: v for k, v in own.items() if k in _CANDIDATE_EXTRA_KEYS}
    top_fields = {k: v for k, v in own.items() if k not in _CANDIDATE_EXTRA_KEYS and k != "createTime"}
    others = {k: v for k, v in response.extensions.items() if k != PROTOCOL}
    out: Obj = {}
    feedback = own.get("promptFeedback")
    blocked = isinstance(feedback, dict) and feedback.get("blockReason") == response.raw_stop_reason
    if response.output or response.choices or not (response.raw_stop_reason is None or blocked):
        candidates = [
            _encode_candidate(
                response.output,
                response.stop_reason,
                response.raw_stop_reason,
                0,
                _ext(candidate_fields),
                enc,
                "output",
            )
        ]
        for k, choice in enumerate(response.choices):
            candidates.append(
                _encode_candidate(
                    choice.output,
                    choice.stop_reason,
                    choice.raw_stop_reason,
                    choice.index,
                    choice.extensions,
                    enc,
                    f"choices[{k}].output",
                )
            )
        out["candidates"] = candidates
    if response.stop_sequence is not None:
        losses.add("L-FINISH-STOPSEQ", "stop_sequence", f"the matched stop sequence has no field in {PROTOCOL}")
    if response.usage is not None:
        out["usageMetadata"] = _encode_usage(response.usage, losses)
    if response.model:
        out["modelVersion"] = response.model
    if response.id:
        out["responseId"] = response.id
    if response.created is not None:
        was = own.get("createTime")
        keep = isinstance(was, str) and _parse_time(was) == response.created
        out["createTime"] = was if keep else _format_time(response.created)
    _restore(out, {**others, PROTOCOL: top_fields}, losses, "")
    return out
