"""The contenders the transport and gateway benchmarks run against the canned server.

Every contender sends the same chat-completions request to the same `_server` process
and reads the whole answer: one call, or one stream read to its terminal event. The
floor is the least an HTTP client must do: urllib3 ``PoolManager.request`` with a
``json.dumps`` body and ``json.loads`` of the answer; for a stream, urllib3's ``stream()``, SSE
lines split by hand and ``json.loads`` per chunk.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from _server import CannedServer

from omnillm.client import Client
from omnillm.endpoints import emit_transport_request
from omnillm.gateway import Gateway, KeyConfig, PoolConfig
from omnillm.model import LlmRequest
from omnillm.protocols import codec

API_KEY = "sk-bench-0000000000000000"
CHAT = "open_ai_chat_completions"

# One typical request: a system prompt, three turns, one tool, sampling settings.
CHAT_REQUEST: Dict[str, Any] = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant that answers briefly and cites sources."},
        {"role": "user", "content": "What is the capital of France, and what is the weather there today? " * 4},
        {"role": "assistant", "content": "Paris is the capital of France. Let me check the weather for you."},
        {"role": "user", "content": "Please do, and give me the temperature in Celsius."},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                    "required": ["city"],
                },
            },
        }
    ],
    "max_completion_tokens": 512,
    "temperature": 0.7,
}

Call = Callable[[], object]


def llm_request(stream: bool = False) -> LlmRequest:
    """The typical request as omnillm's canonical value."""
    request: LlmRequest = codec(CHAT).decode_request(dict(CHAT_REQUEST))
    request.stream = stream or None
    return request


def wire_body(stream: bool = False) -> Dict[str, Any]:
    """The body omnillm sends for the typical request, so that the floor sends the same bytes."""
    body = emit_transport_request(llm_request(stream), CHAT).body
    value: Dict[str, Any] = body.value  # type: ignore[union-attr]
    return value


def raw_headers() -> Dict[str, str]:
    """What the floor sends besides the body."""
    return {
        "content-type": "application/json",
        "accept": "application/json",
        "authorization": f"Bearer {API_KEY}",
        "user-agent": "bench-floor",
    }


# --------------------------------------------------------------------------- the floor


def raw_pool(maxsize: int = 10) -> Any:
    """A urllib3 pool like the one omnillm's transport keeps."""
    import urllib3

    return urllib3.PoolManager(maxsize=maxsize, block=False, retries=False)


def raw_call(server: CannedServer, pool: Any) -> Call:
    """urllib3 request, ``json.dumps`` body, ``json.loads`` answer."""
    url, headers, body = server.url, raw_headers(), wire_body()

    def call() -> object:
        response = pool.request("POST", url, body=json.dumps(body).encode(), headers=headers)
        return json.loads(response.data)

    return call


def raw_stream(server: CannedServer, pool: Any) -> Call:
    """urllib3 ``stream()`` (one HTTP chunk a piece), SSE ``data:`` lines split by hand, ``json.loads`` per chunk."""
    url, headers, body = server.url, dict(raw_headers(), accept="text/event-stream"), wire_body(stream=True)

    def stream() -> object:
        response = pool.request(
            "POST", url, body=json.dumps(body).encode(), headers=headers, preload_content=False, retries=False
        )
        rest = b""
        count = 0
        for piece in response.stream(65536):
            *lines, rest = (rest + piece).split(b"\n")
            for line in lines:
                if line.startswith(b"data: ") and line != b"data: [DONE]":
                    json.loads(line[6:])
                    count += 1
        response.release_conn()
        return count

    return stream


# --------------------------------------------------------------------------- omnillm


def omnillm_client(server: CannedServer, *, requests_session: bool = False, pool_maxsize: int = 10) -> Client:
    """A `Client` on the urllib3 transport (or on a ``requests.Session``)."""
    if requests_session:
        import requests

        return Client("openai", api_key=API_KEY, base_url=server.base_url, wire_format=CHAT, session=requests.Session())
    from omnillm.transport.urllib3_transport import Urllib3Transport

    transport = Urllib3Transport(pool_maxsize=pool_maxsize)
    return Client("openai", api_key=API_KEY, base_url=server.base_url, wire_format=CHAT, transport=transport)


def client_call(client: Client) -> Call:
    """`Client.call` of the typical request."""
    request = llm_request()
    return lambda: client.call(request)


def client_execute(client: Client) -> Call:
    """`Client.execute` of the typical request."""
    request = llm_request()
    return lambda: client.execute(request)


def _read_to_end(open_stream: Callable[[LlmRequest], Any]) -> Call:
    """A call that opens a stream of the typical request and reads every event."""
    request = llm_request(stream=True)

    def stream() -> object:
        count = 0
        with open_stream(request) as events:
            for _ in events:
                count += 1
        return count

    return stream


def client_stream(client: Client) -> Call:
    """`Client.stream` of the typical request, read to the end."""
    return _read_to_end(client.stream)


def gateway(server: CannedServer, *, pool_maxsize: int = 10) -> Gateway:
    """A gateway with one key on the canned server (no budget, no local limits)."""
    key = KeyConfig("openai", API_KEY, label="bench", base_url=server.base_url, wire_format=CHAT)
    return Gateway([key], pool_config=PoolConfig(pool_maxsize=pool_maxsize))


def gateway_call(gw: Gateway) -> Call:
    """`Gateway.call` of the typical request."""
    request = llm_request()
    return lambda: gw.call(request)


def gateway_stream(gw: Gateway) -> Call:
    """`Gateway.stream` of the typical request, read to the end."""
    return _read_to_end(gw.stream)


# --------------------------------------------------------------------------- the openai SDK


def openai_client(server: CannedServer) -> Optional[Any]:
    """The official SDK's client, or None when it is not installed."""
    try:
        import openai
    except ImportError:
        return None
    return openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0)


def openai_call(sdk: Any) -> Call:
    """``chat.completions.create`` of the typical request."""
    body = dict(CHAT_REQUEST)
    return lambda: sdk.chat.completions.create(**body)


def openai_stream(sdk: Any) -> Call:
    """``chat.completions.create(stream=True)`` of the typical request, iterated to the end."""
    body = dict(CHAT_REQUEST, stream=True)

    def stream() -> object:
        count = 0
        for _ in sdk.chat.completions.create(**body):
            count += 1
        return count

    return stream


# --------------------------------------------------------------------------- measuring


def stream_chunks() -> int:
    """Wire chunks (``data:`` events before ``[DONE]``) in one canned stream: the per-chunk divisor."""
    from _server import stream_events

    return len(stream_events())


def ratio_table(title: str, unit: str, results: Dict[str, float], floor: str = "floor") -> List[str]:
    """A Markdown table of ``results`` with each contender's ratio to ``floor``."""
    rows = [f"| {title} | {unit} | ratio to floor |", "| --- | ---: | ---: |"]
    for name, value in results.items():
        rows.append(f"| {name} | {value:,.1f} | {value / results[floor]:.2f}x |")
    return rows


def write_section(path: Path, heading: str, lines: List[str]) -> None:
    """Replace (or append) the section under ``heading`` in the results file, leaving the others alone."""
    section = "\n".join([heading, "", *lines, ""])
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    match = re.search(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", text, re.S | re.M)
    if match:
        text = text[: match.start()] + section + ("\n" if match.end() < len(text) else "") + text[match.end() :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")
