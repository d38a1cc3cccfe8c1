"""`MockProvider`: a real HTTP server on 127.0.0.1 that speaks the providers' protocols.

It answers every generation protocol omnillm speaks (streaming and not) at the paths the
providers use, so a `Client` or `Gateway` pointed at ``mock.base_url`` exercises the same
code as against the real service:

* ``.../chat/completions`` (OpenAI Chat Completions, also Azure deployment paths),
* ``.../responses`` (OpenAI Responses),
* ``.../messages`` (Anthropic Messages),
* ``.../models/{model}:generateContent`` and ``:streamGenerateContent`` (Gemini),

plus every other endpoint family (``/embeddings``, ``:embedContent``,
``/images/generations``, ``/audio/transcriptions``, ``/audio/speech``, ``/rerank``: see
``omnillm.testing.endpoints``) and Claude on Vertex AI (``:rawPredict``). Extra routes
can be added in `MockProvider.endpoints`.
Incoming bodies are decoded with omnillm's own codecs: a malformed request gets a 400 in
the protocol's error shape, as a strict provider would answer.

Replies are canned (`MockReply`), scripted (`MockProvider.queue`) or computed by a
callable; `Fault` values inject failures per route or per key. Every request is recorded
in `MockProvider.requests` for assertions.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import unquote

from ..errors import OmniLLMError
from ..model import LlmRequest, LlmResponse, Message, ReasoningPart, TextPart, ToolCallPart, Usage
from ..protocols import codec, stream_codec
from ..stream import events_from_response
from .endpoints import ENDPOINT_ROUTES, ROUTE_FORMATS, route_of
from .server import Fault, FaultServer, RecordedRequest, Reply, credential_of


@dataclass
class MockReply:
    """A canned answer, in canonical terms; the mock encodes it in the caller's protocol.

    ``text`` is the assistant text (``None``: echo the last user message), ``tool_calls``
    a list of (name, arguments dict) pairs, ``reasoning`` optional reasoning text,
    ``stop_reason`` a canonical stop reason (default ``tool_use`` when there are tool
    calls, else ``end_turn``), ``usage`` the token counts (default: estimated from the
    request and reply sizes, about 4 characters a token; a text longer than the request's
    ``max_output_tokens`` then stops there with ``max_tokens``, as a provider would).
    ``response`` overrides all of them with a full response.
    """

    text: Optional[str] = None
    tool_calls: Sequence[Tuple[str, Dict[str, Any]]] = ()
    reasoning: Optional[str] = None
    stop_reason: Optional[str] = None
    usage: Optional[Usage] = None
    response: Optional[LlmResponse] = None
    headers: Dict[str, str] = field(default_factory=dict)


ReplySource = Union[MockReply, Callable[[RecordedRequest, Optional[LlmRequest]], MockReply]]

#: (path suffix or marker, wire format); checked in order.
_GENERATION_ROUTES: Tuple[Tuple[str, str], ...] = (
    ("/chat/completions", "open_ai_chat_completions"),
    ("/responses", "open_ai_responses"),
    ("/messages", "anthropic_messages"),
    (":generateContent", "gemini_generate_content"),
    (":streamGenerateContent", "gemini_generate_content"),
    # Claude on Vertex AI (rawPredict) speaks Anthropic Messages with the model in the URL.
    (":rawPredict", "anthropic_messages"),
    (":streamRawPredict", "anthropic_messages"),
    # Bedrock: Converse / ConverseStream, and InvokeModel for Claude (Anthropic bodies).
    ("/converse", "bedrock_converse"),
    ("/converse-stream", "bedrock_converse"),
    ("/invoke", "anthropic_messages"),
    ("/invoke-with-response-stream", "anthropic_messages"),
)

_BEDROCK_ERRORS = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}

_EVENT_STREAM = "application/vnd.amazon.eventstream"

_ERROR_TYPES = {
    400: ("invalid_request_error", "INVALID_ARGUMENT"),
    401: ("authentication_error", "UNAUTHENTICATED"),
    403: ("permission_error", "PERMISSION_DENIED"),
    404: ("not_found_error", "NOT_FOUND"),
    413: ("request_too_large", "INVALID_ARGUMENT"),
    422: ("invalid_request_error", "INVALID_ARGUMENT"),
    429: ("rate_limit_error", "RESOURCE_EXHAUSTED"),
    500: ("api_error", "INTERNAL"),
    502: ("api_error", "UNAVAILABLE"),
    503: ("overloaded_error", "UNAVAILABLE"),
    504: ("timeout_error", "DEADLINE_EXCEEDED"),
    529: ("overloaded_error", "UNAVAILABLE"),
}


EndpointHandler = Callable[[RecordedRequest], Reply]


class MockProvider:
    """A mock LLM provider on 127.0.0.1; a context manager. See the module docstring.

    ``reply`` is the default answer (a `MockReply` or a callable taking the recorded
    request and the decoded `LlmRequest`). ``chunk_chars`` sets the size of streamed
    text deltas. ``rate_limit_headers=True`` adds the provider's rate-limit headers to
    successful OpenAI and Anthropic answers (see `rate_limit_headers`).
    """

    def __init__(
        self,
        reply: Optional[ReplySource] = None,
        *,
        chunk_chars: int = 8,
        port: int = 0,
        rate_limit_headers: bool = False,
    ) -> None:
        self.default_reply: ReplySource = reply if reply is not None else MockReply()
        self.chunk_chars = chunk_chars
        self.rate_limit_headers = rate_limit_headers
        self._served = itertools.count(1)
        self.requests: List[RecordedRequest] = []
        #: Extra routes: path suffix -> handler (used for the non-generation endpoint families).
        self.endpoints: Dict[str, EndpointHandler] = {}
        self._queue: List[ReplySource] = []
        self._faults: List[List[Any]] = []  # [fault, remaining or None]
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = FaultServer(self._handle, port=port)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> MockProvider:
        """Start serving; returns self."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def __enter__(self) -> MockProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: join a provider's path prefix (``/v1``) to it."""
        return self._server.base_url

    @property
    def connections_opened(self) -> int:
        """How many TCP connections the server has accepted."""
        return self._server.connections_opened

    # ------------------------------------------------------------------ scripting

    def queue(self, *replies: ReplySource) -> None:
        """Answer the next requests with ``replies``, in order, then the default again."""
        with self._lock:
            self._queue.extend(replies)

    def add_fault(self, fault: Fault) -> Fault:
        """Inject ``fault`` for matching requests (``fault.times`` of them, or all)."""
        with self._lock:
            self._faults.append([fault, fault.times])
        return fault

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget recorded requests, queued replies and faults."""
        with self._lock:
            self.requests.clear()
            self._queue.clear()
            self._faults.clear()

    def requests_for(self, protocol: Optional[str] = None, key: Optional[str] = None) -> List[RecordedRequest]:
        """Recorded requests, filtered by protocol and/or credential."""
        with self._lock:
            found = list(self.requests)
        return [r for r in found if (protocol is None or r.protocol == protocol) and (key is None or r.key == key)]

    # ------------------------------------------------------------------ serving

    def _take_fault(self, request: RecordedRequest) -> Optional[Fault]:
        with self._lock:
            for entry in self._faults:
                fault, left = entry
                if fault.matches(request) and (left is None or left > 0):
                    if left is not None:
                        entry[1] = left - 1
                    return fault  # type: ignore[no-any-return]
        return None

    def _next_reply(self) -> ReplySource:
        with self._lock:
            return self._queue.pop(0) if self._queue else self.default_reply

    def _handle(self, request: RecordedRequest) -> Tuple[Reply, Optional[Fault]]:
        request.key = credential_of(request.headers, request.query)
        protocol = _route(request.path)
        custom = next((s for s in self.endpoints if request.path.endswith(s)), None)
        builtin = route_of(request.path)
        request.protocol = protocol or custom or (ROUTE_FORMATS[builtin] if builtin else "")
        if request.body:
            try:
                request.json = json.loads(request.body)
            except ValueError:
                request.json = None
        with self._lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        if fault is not None and fault.status is not None:
            shape = "bedrock" if _on_bedrock(request.path) else (protocol or "")
            return _error_reply(shape, fault.status, fault.message), fault
        if protocol is None:
            handler = self.endpoints.get(custom) if custom else None
            if handler is None and builtin is not None:
                handler = ENDPOINT_ROUTES[builtin]
            if handler is None:
                return _error_reply("", 404, f"no mock route for {request.path}"), fault
            return self._endpoint(handler, request, fault), fault
        return self._generation(protocol, request, fault), fault

    def _endpoint(self, handler: EndpointHandler, request: RecordedRequest, fault: Optional[Fault]) -> Reply:
        reply = handler(request)
        if fault is not None and fault.malformed_json:
            reply.body = reply.body[: max(1, len(reply.body) // 2)]
        return reply

    def _generation(self, protocol: str, request: RecordedRequest, fault: Optional[Fault]) -> Reply:
        body = request.json
        if not isinstance(body, dict):
            return _error_reply(protocol, 400, "the request body is not a JSON object")
        bedrock = _on_bedrock(request.path)
        if (
            protocol == "gemini_generate_content"
            or ":rawPredict" in request.path
            or ":streamRawPredict" in request.path
        ):
            body = dict(body)
            body.setdefault("model", request.path.rsplit("/", 1)[-1].split(":", 1)[0])
        elif bedrock:
            body = dict(body)
            model_id = unquote(request.path.split("/model/", 1)[1].rsplit("/", 1)[0])
            body.setdefault("modelId" if protocol == "bedrock_converse" else "model", model_id)
        try:
            decoded = codec(protocol).decode_request(body)
        except OmniLLMError as exc:
            return _error_reply("bedrock" if bedrock else protocol, 400, str(exc))
        source = self._next_reply()
        canned = source(request, decoded) if callable(source) else source
        response = self._build(canned, decoded, protocol)
        streaming = bool(body.get("stream")) or request.path.endswith(
            (":streamGenerateContent", ":streamRawPredict", "/converse-stream", "/invoke-with-response-stream")
        )
        headers = {"x-request-id": f"req_mock_{next(self._ids)}", **canned.headers}
        if self.rate_limit_headers and not bedrock and ":" not in request.path:
            headers = {**rate_limit_headers(protocol, next(self._served), response.usage), **headers}
        malformed = fault is not None and fault.malformed_json
        if malformed and not streaming:
            return Reply(200, headers, b'{"id": "broken", "choices": [', content_type="application/json")
        if not streaming:
            wire = codec(protocol).encode_response(response)
            return Reply(200, headers, json.dumps(wire).encode("utf-8"))
        encoder = stream_codec(protocol).StreamEncoder()
        frames: List[Union[str, bytes]] = []
        for event in events_from_response(response, chunk_chars=self.chunk_chars):
            frames.extend(encoder.encode(event))
        frames.extend(encoder.finish())
        if protocol == "bedrock_converse":
            binary = [f if isinstance(f, bytes) else f.encode("utf-8") for f in frames]
            if malformed:
                binary.insert(len(binary) // 2, _frame(_MALFORMED, "contentBlockDelta"))
            return Reply(200, headers, pieces=binary, content_type=_EVENT_STREAM)
        if bedrock:
            chunks = [_invoke_chunk(str(f)) for f in frames]
            if malformed:
                chunks.insert(len(chunks) // 2, _invoke_chunk(f"data: {_MALFORMED.decode()}\n\n"))
            return Reply(200, headers, pieces=chunks, content_type=_EVENT_STREAM)
        pieces = [str(f).encode("utf-8") for f in frames]
        if malformed:
            # A well-framed SSE event whose data is not JSON, mid-stream: the stream codec's problem.
            pieces.insert(len(pieces) // 2, b"data: " + _MALFORMED + b"\n\n")
        return Reply(200, headers, pieces=pieces, content_type="text/event-stream")

    def _build(self, canned: MockReply, request: LlmRequest, protocol: str) -> LlmResponse:
        if canned.response is not None:
            return canned.response
        n = next(self._ids)
        output: List[Any] = []
        if canned.reasoning:
            output.append(ReasoningPart(text=canned.reasoning, source=protocol))
        text = canned.text if canned.text is not None else _echo(request)
        stop = canned.stop_reason or ("tool_use" if canned.tool_calls else "end_turn")
        limit = request.max_output_tokens
        if canned.usage is None and limit is not None and text and len(text) > limit * 4:
            # A provider stops at max_tokens: cut the text where the estimate reaches it.
            text, stop = text[: limit * 4], "max_tokens"
        if text:
            output.append(Message("assistant", [TextPart(text)]))
        for k, (name, arguments) in enumerate(canned.tool_calls):
            output.append(ToolCallPart(f"call_mock_{n}_{k}", name, json.dumps(arguments, separators=(",", ":"))))
        usage = canned.usage or _estimate_usage(request, text or "")
        return LlmResponse(id=f"mock_{n}", model=request.model, output=output, stop_reason=stop, usage=usage)


def _on_bedrock(path: str) -> bool:
    return path.startswith("/model/") and path.endswith(
        ("/converse", "/converse-stream", "/invoke", "/invoke-with-response-stream")
    )


#: The payload of a ``malformed_json`` fault's event on a stream: cut-off JSON.
_MALFORMED = b'{"type": "broken", "delta": {"text": "cut'


def _frame(payload: bytes, event_type: str) -> bytes:
    """One AWS event-stream ``event`` message (valid framing and CRCs) carrying ``payload``."""
    from ..eventstream import format_message

    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return format_message(headers, payload)


def _invoke_chunk(sse_text: str) -> bytes:
    """One Anthropic SSE event as Bedrock InvokeModelWithResponseStream sends it: a ``chunk`` frame."""
    data = "\n".join(line[5:].lstrip(" ") for line in sse_text.splitlines() if line.startswith("data:"))
    payload = json.dumps({"bytes": base64.b64encode(data.encode("utf-8")).decode("ascii")}).encode("utf-8")
    return _frame(payload, "chunk")


def _route(path: str) -> Optional[str]:
    for marker, protocol in _GENERATION_ROUTES:
        if path.endswith(marker) or (marker.startswith(":") and marker in path):
            return protocol
    return None


def _echo(request: LlmRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user" and message.text:
            return f"Mock reply to: {message.text}"
    return "Mock reply."


def _estimate_usage(request: LlmRequest, text: str) -> Usage:
    chars = sum(len(m.text) for m in request.messages) + len(request.instructions or "")
    return Usage(input_tokens=max(1, chars // 4), output_tokens=max(1, len(text) // 4))


def error_body(protocol: str, status: int, message: str) -> Tuple[Dict[str, str], bytes]:
    """Headers and body of an error answer in ``protocol``'s shape."""
    kind, google_status = _ERROR_TYPES.get(
        status, ("api_error" if status >= 500 else "invalid_request_error", "UNKNOWN")
    )
    headers: Dict[str, str] = {}
    payload: Dict[str, Any]
    if protocol == "bedrock":
        name = _BEDROCK_ERRORS.get(status, "InternalServerException" if status >= 500 else "ValidationException")
        headers["x-amzn-ErrorType"] = f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"
        headers["x-amzn-RequestId"] = "req-mock-error"
        payload = {"message": message}
    elif protocol == "anthropic_messages":
        payload = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_mock_error"}
        headers["request-id"] = "req_mock_error"
    elif protocol == "gemini_generate_content":
        payload = {"error": {"code": status, "message": message, "status": google_status}}
    else:
        openai_type = {
            "authentication_error": "invalid_request_error",
            "permission_error": "invalid_request_error",
            "rate_limit_error": "rate_limit_exceeded",
            "overloaded_error": "server_error",
            "api_error": "server_error",
        }.get(kind, kind)
        code = {429: "rate_limit_exceeded", 401: "invalid_api_key", 404: "model_not_found"}.get(status)
        payload = {"error": {"message": message, "type": openai_type, "param": None, "code": code}}
        headers["x-request-id"] = "req_mock_error"
    return headers, json.dumps(payload).encode("utf-8")


def _error_reply(protocol: str, status: int, message: str) -> Reply:
    headers, body = error_body(protocol, status, message)
    return Reply(status, headers, body)


#: The windows `rate_limit_headers` reports: requests and tokens per minute.
MOCK_RPM = 1000
MOCK_TPM = 100000


def rate_limit_headers(protocol: str, served: int, usage: Optional[Usage]) -> Dict[str, str]:
    """The rate-limit headers a provider sends with its ``served``-th answer (one minute windows).

    OpenAI protocols get ``x-ratelimit-*`` (Go durations), Anthropic Messages gets
    ``anthropic-ratelimit-*`` (RFC 3339 reset times); remaining requests count down from
    `MOCK_RPM`, remaining tokens from `MOCK_TPM` by this answer's usage. Others get none.
    """
    import time
    from datetime import datetime, timezone

    used = (usage.input_tokens or 0) + (usage.output_tokens or 0) if usage is not None else 0
    left_requests, left_tokens = str(max(MOCK_RPM - served, 0)), str(max(MOCK_TPM - used, 0))
    if protocol.startswith("open_ai_"):
        return {
            "x-ratelimit-limit-requests": str(MOCK_RPM),
            "x-ratelimit-remaining-requests": left_requests,
            "x-ratelimit-reset-requests": "60ms",
            "x-ratelimit-limit-tokens": str(MOCK_TPM),
            "x-ratelimit-remaining-tokens": left_tokens,
            "x-ratelimit-reset-tokens": "1m0s",
        }
    if protocol == "anthropic_messages":
        reset = datetime.fromtimestamp(int(time.time()) + 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {}
        for kind, limit, left in (("requests", MOCK_RPM, left_requests), ("tokens", MOCK_TPM, left_tokens)):
            headers[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
            headers[f"anthropic-ratelimit-{kind}-remaining"] = left
            headers[f"anthropic-ratelimit-{kind}-reset"] = reset
        return headers
    return {}
