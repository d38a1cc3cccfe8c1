"""Judge: is a dict a valid Bedrock Converse request/response, per botocore's service model?

botocore's ``bedrock-runtime`` model (the ``Converse`` / ``ConverseStream`` operation shapes)
is the authority, applied three ways:

* a walker over the shapes that checks every key is a member, required members are
  present, unions hold exactly one member, and types, enums, lengths, ranges and patterns
  (``re.fullmatch``, as the service applies them) hold; blob members must be base64
  strings, which it turns into ``bytes`` for the next step;
* requests: ``botocore.validate.ParamValidator`` on the converted parameters, exactly what
  ``client.converse(**params)`` runs before sending;
* responses: botocore's ``RestJSONParser`` parses the serialised body as the client does
  (it ignores unknown keys, which is why the walker runs first);
* streams: `sdk_stream` serves event-stream bytes on 127.0.0.1 to a real botocore client
  (``converse_stream``) with dummy credentials and returns the events it yields.

Rules the service enforces beyond the shapes, checked too: ``toolUse`` only in assistant
turns and ``toolResult`` only in user turns, each result answering an earlier call, and no
blank text blocks. A request body may omit ``modelId`` (it belongs to the URL); it is then
validated with a placeholder model id.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import functools
import json
import re
from typing import Any, Dict, List, Optional

import botocore.session
from botocore import parsers
from botocore.config import Config
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator
from sdk_server import CannedServer

PLACEHOLDER_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@functools.cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("bedrock-runtime")


def operation(name: str) -> OperationModel:
    return service_model().operation_model(name)


@functools.cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def walk(value: Any, shape: Shape, path: str) -> Any:
    """Check ``value`` against ``shape``; return it with blob members as bytes."""
    meta = shape.metadata
    kind = shape.type_name
    if meta.get("document"):
        json.dumps(value)  # any JSON value
        return value
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: expected an object for {shape.name}, got {type(value).__name__}"
        members = shape.members
        unknown = sorted(set(value) - set(members))
        assert not unknown, f"{path}: {unknown} not member(s) of {shape.name}"
        if meta.get("union"):
            present = [k for k, v in value.items() if v is not None]
            assert len(present) == 1, f"{path}: union {shape.name} must hold exactly one member, got {present}"
        for name in shape.required_members:
            assert value.get(name) is not None, f"{path}: {shape.name} misses required member {name!r}"
        return {k: walk(v, members[k], f"{path}.{k}" if path else k) for k, v in value.items()}
    if kind == "list":
        assert isinstance(value, list), f"{path}: expected an array, got {type(value).__name__}"
        _bounds(len(value), meta, path, "items")
        return [walk(v, shape.member, f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "map":
        assert isinstance(value, dict), f"{path}: expected an object (map)"
        _bounds(len(value), meta, path, "entries")
        for k in value:
            walk(k, shape.key, f"{path}.<key {k!r}>")
        return {k: walk(v, shape.value, f"{path}.{k}") for k, v in value.items()}
    if kind == "string":
        assert isinstance(value, str), f"{path}: expected a string, got {type(value).__name__}"
        if shape.enum:
            assert value in shape.enum, f"{path}: {value!r} is not one of {shape.enum}"
        _bounds(len(value), meta, path, "characters")
        if "pattern" in meta:
            assert _pattern(meta["pattern"]).fullmatch(value), f"{path}: {value!r} does not match {meta['pattern']!r}"
        return value
    if kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: expected an integer, got {value!r}"
        _bounds(value, meta, path, "")
        return value
    if kind in ("float", "double"):
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{path}: expected a number"
        _bounds(value, meta, path, "")
        return value
    if kind == "boolean":
        assert isinstance(value, bool), f"{path}: expected a boolean, got {value!r}"
        return value
    if kind == "blob":
        assert isinstance(value, str), f"{path}: a blob is a base64 string in JSON, got {type(value).__name__}"
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise AssertionError(f"{path}: not base64: {exc}") from None
        _bounds(len(raw), meta, path, "bytes")
        return raw
    raise AssertionError(f"judge cannot check {path}: shape type {kind}")


def _bounds(amount: float, meta: Dict[str, Any], path: str, unit: str) -> None:
    if "min" in meta:
        assert amount >= meta["min"], f"{path}: {amount} {unit} is below the minimum {meta['min']}".replace("  ", " ")
    if "max" in meta:
        assert amount <= meta["max"], f"{path}: {amount} {unit} is above the maximum {meta['max']}".replace("  ", " ")


def _check_turns(body: Dict[str, Any]) -> None:
    calls = set()
    for i, message in enumerate(body.get("messages") or []):
        for j, block in enumerate(message["content"]):
            where = f"messages[{i}].content[{j}]"
            if "text" in block:
                assert block["text"].strip(), f"{where}: blank text block"
            if "toolUse" in block:
                assert message["role"] == "assistant", f"{where}: toolUse in a {message['role']} turn"
                calls.add(block["toolUse"]["toolUseId"])
            if "toolResult" in block:
                assert message["role"] == "user", f"{where}: toolResult in a {message['role']} turn"
                result_id = block["toolResult"]["toolUseId"]
                assert result_id in calls, f"{where}: toolResult {result_id!r} answers no earlier toolUse"


def validate_request(d: Dict[str, Any]) -> None:
    """Raise AssertionError unless ``d`` is a valid Converse request (``modelId`` optional)."""
    assert isinstance(d, dict), f"request must be an object, got {type(d).__name__}"
    params = d if "modelId" in d else {"modelId": PLACEHOLDER_MODEL, **d}
    shape = operation("Converse").input_shape
    converted = walk(params, shape, "")
    report = ParamValidator().validate(converted, shape)
    assert not report.has_errors(), f"botocore rejects the request: {report.generate_report()}"
    _check_turns(d)


def validate_response(d: Dict[str, Any]) -> None:
    """Raise AssertionError unless ``d`` is a valid Converse response body."""
    assert isinstance(d, dict), f"response must be an object, got {type(d).__name__}"
    shape = operation("Converse").output_shape
    walk(d, shape, "")
    parsed = parsers.create_parser("rest-json").parse(
        {"status_code": 200, "headers": {}, "body": json.dumps(d).encode("utf-8")}, shape
    )
    assert "Error" not in parsed, parsed.get("Error")
    assert set(parsed) - {"ResponseMetadata"} == set(d), f"botocore parsed {sorted(parsed)}, body has {sorted(d)}"


# --------------------------------------------------------------------------- streams

_STREAM_EVENTS = frozenset(operation("ConverseStream").output_shape.members["stream"].members)


def validate_event(event_type: str, payload: Dict[str, Any]) -> None:
    """Raise AssertionError unless ``payload`` is a valid ConverseStream event (or exception) body."""
    assert event_type in _STREAM_EVENTS, f"unknown ConverseStream event {event_type!r}"
    stream_shape = operation("ConverseStream").output_shape.members["stream"]
    walk(payload, stream_shape.members[event_type], event_type)


class _StreamJudge:
    """One local server and one botocore client, reused: creating a client costs most of a second."""

    def __init__(self) -> None:
        self.server = CannedServer(b"", content_type="application/vnd.amazon.eventstream")
        self.server.start()
        atexit.register(self.server.stop)
        self.client = botocore.session.get_session().create_client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=self.server.base_url,
            aws_access_key_id="x",
            aws_secret_access_key="y",
            config=Config(retries={"total_max_attempts": 1}),
        )


@functools.cache
def _judge() -> _StreamJudge:
    return _StreamJudge()


def sdk_stream(body: bytes) -> List[Dict[str, Any]]:
    """The events botocore's ``converse_stream`` yields for ``body`` served over 127.0.0.1.

    An exception event raises botocore's ``EventStreamError`` from the iteration, as for a
    real service. The request the client sent is checked to be a signed ConverseStream call.
    """
    judge = _judge()
    judge.server.body = body
    response = judge.client.converse_stream(
        modelId=PLACEHOLDER_MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )
    method, path, headers, _ = judge.server.requests[-1]
    assert method == "POST" and path.endswith("/converse-stream"), path
    assert headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256")
    return list(response["stream"])


def sdk_final(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Fold botocore's stream events into what a client keeps: a Converse-like result.

    ``content`` holds one entry per ``contentBlockIndex`` in order: ``{"text": ...}``,
    ``{"toolUse": {"toolUseId", "name", "input"}}`` (input parsed from the concatenated
    fragments, or the raw text when it is not JSON) or ``{"reasoningContent": {...}}``.
    """
    blocks: Dict[int, Dict[str, Any]] = {}
    stop: Optional[str] = None
    usage: Optional[Dict[str, Any]] = None
    for event in events:
        ((kind, body),) = event.items()
        if kind == "contentBlockStart":
            start = body["start"]
            if "toolUse" in start:
                blocks[body["contentBlockIndex"]] = {"toolUse": {**start["toolUse"], "input": ""}}
        elif kind == "contentBlockDelta":
            block = blocks.setdefault(body["contentBlockIndex"], {})
            delta = body["delta"]
            if "text" in delta:
                block["text"] = block.get("text", "") + delta["text"]
            elif "toolUse" in delta:
                block["toolUse"]["input"] += delta["toolUse"]["input"]
            elif "reasoningContent" in delta:
                reasoning = block.setdefault("reasoningContent", {})
                for key, value in delta["reasoningContent"].items():
                    reasoning[key] = reasoning.get(key, b"" if isinstance(value, bytes) else "") + value
        elif kind == "messageStop":
            stop = body["stopReason"]
        elif kind == "metadata":
            usage = body["usage"]
    content = []
    for i in sorted(blocks):
        block = blocks[i]
        if "toolUse" in block:
            text = block["toolUse"]["input"]
            with contextlib.suppress(ValueError):
                block["toolUse"]["input"] = json.loads(text) if text else {}
        content.append(block)
    return {"content": content, "stopReason": stop, "usage": usage}
