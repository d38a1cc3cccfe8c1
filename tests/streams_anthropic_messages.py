"""Hand-written Anthropic Messages SSE streams, shaped like what the API sends.

Each value is a complete ``text/event-stream`` body: ``event: <type>`` plus the JSON data
line, events separated by a blank line, ending with ``message_stop`` (or ``error``).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List


def _sse(*events: Dict[str, Any]) -> str:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events)


def _start(msg_id: str, model: str, usage: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        },
    }


def _usage(inp: int, out: int, read: int = 0, write: int = 0) -> Dict[str, Any]:
    return {
        "input_tokens": inp,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
        "output_tokens": out,
        "service_tier": "standard",
    }


PING = {"type": "ping"}
STOP = {"type": "message_stop"}


def _text_start(i: int) -> Dict[str, Any]:
    return {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}


def _text(i: int, text: str) -> Dict[str, Any]:
    return {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": text}}


def _tool_start(i: int, call_id: str, name: str) -> Dict[str, Any]:
    return {
        "type": "content_block_start",
        "index": i,
        "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}},
    }


def _json(i: int, fragment: str) -> Dict[str, Any]:
    return {"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": fragment}}


def _stop(i: int) -> Dict[str, Any]:
    return {"type": "content_block_stop", "index": i}


def _delta(reason: str, usage: Dict[str, Any], sequence: Any = None) -> Dict[str, Any]:
    return {"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": sequence}, "usage": usage}


def _fragments(i: int, parts: List[str]) -> List[Dict[str, Any]]:
    return [_json(i, p) for p in parts]


STREAMS: Dict[str, str] = {
    "text": _sse(
        _start("msg_01XFDUDYJgAACzvnptvVoYEL", "claude-sonnet-4-5-20250929", _usage(14, 1)),
        _text_start(0),
        PING,
        _text(0, "Bonjour"),
        _text(0, " ! Comment puis-je"),
        _text(0, " vous aider aujourd'hui ?"),
        _stop(0),
        _delta("end_turn", {"output_tokens": 15}),
        STOP,
    ),
    "tool_call": _sse(
        _start("msg_01Aq9w938a90dw8q", "claude-sonnet-4-5-20250929", _usage(472, 2)),
        _text_start(0),
        PING,
        _text(0, "I'll look up the current"),
        _text(0, " weather in Paris."),
        _stop(0),
        _tool_start(1, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        _json(1, ""),
        _json(1, '{"city": "Pa'),
        _json(1, 'ris", "unit'),
        _json(1, '": "celsius"}'),
        _stop(1),
        _delta(
            "tool_use",
            {"input_tokens": 472, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 89},
        ),
        STOP,
    ),
    "parallel_tool_calls": _sse(
        _start("msg_01P4r4llelCa11s9xYzAbCdE", "claude-haiku-4-5-20251001", _usage(610, 3)),
        _tool_start(0, "toolu_01Weather0Paris000000000", "get_weather"),
        PING,
        _json(0, ""),
        *_fragments(0, ['{"ci', 'ty": "', "Par", 'is"', ', "unit"', ': "cel', 'sius"}']),
        _stop(0),
        _tool_start(1, "toolu_01Weather1Tokyo000000000", "get_weather"),
        _json(1, ""),
        *_fragments(1, ['{"city"', ': "To', "kyo", '", "u', 'nit": "fahr', 'enheit"', "}"]),
        _stop(1),
        _tool_start(2, "toolu_01Time2Tokyo00000000000", "get_time"),
        _json(2, ""),
        *_fragments(
            2, ['{"time', 'zone": "Asia/', 'Tokyo", "format', '": {"hour12": ', "false, ", '"seconds": true}}']
        ),
        _stop(2),
        _delta(
            "tool_use",
            {"input_tokens": 610, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 171},
        ),
        STOP,
    ),
    "reasoning": _sse(
        _start("msg_01Th1nk1ngStr3amAbCdEfGh", "claude-sonnet-4-5-20250929", _usage(58, 4)),
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        PING,
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "The user asks for 27 * 453. "},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "27 * 453 = 27 * 400 + 27 * 53 = 10800 + 1431 = 12231."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {
                "type": "signature_delta",
                "signature": "EqQBCkgIBxABGAIiQJ1mLtX2KGn0K4y8VhWw1r3pZ6ms0+Q0kHcXbBq7ZlY0w8J0Y3VrHn0m8c9uR1yYQ==",
            },
        },
        _stop(0),
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlx"},
        },
        _stop(1),
        _text_start(2),
        _text(2, "27 x 453 = "),
        _text(2, "**12,231**"),
        _stop(2),
        _delta(
            "end_turn",
            {
                "input_tokens": 58,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 214,
                "output_tokens_details": {"thinking_tokens": 150},
            },
        ),
        STOP,
    ),
    "refusal": _sse(
        _start("msg_01RefusalCyb3rAbCdEfGhIj", "claude-sonnet-4-5-20250929", _usage(31, 1)),
        _text_start(0),
        _text(0, "I can't help with building"),
        _text(0, " malware."),
        _stop(0),
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": "refusal",
                "stop_sequence": None,
                "stop_details": {"type": "refusal", "category": "cyber", "explanation": None},
            },
            "usage": {"output_tokens": 9},
        },
        STOP,
    ),
    "usage": _sse(
        _start(
            "msg_01CacheHitAbCdEfGhIjKlMn",
            "claude-sonnet-4-5-20250929",
            {**_usage(21, 1, read=1830, write=412), "inference_geo": "not_available"},
        ),
        _text_start(0),
        PING,
        _text(0, "The contract's termination clause"),
        _text(0, " requires 30 days' written notice."),
        _stop(0),
        _delta(
            "end_turn",
            {
                "input_tokens": 21,
                "cache_creation_input_tokens": 412,
                "cache_read_input_tokens": 1830,
                "output_tokens": 19,
            },
        ),
        STOP,
    ),
    "stop_sequence": _sse(
        _start("msg_01StopSeqAbCdEfGhIjKlMno", "claude-haiku-4-5-20251001", _usage(40, 1)),
        _text_start(0),
        _text(0, "1. Apples\n2. Pears\n"),
        _stop(0),
        _delta("stop_sequence", {"output_tokens": 11}, sequence="3."),
        STOP,
    ),
    "max_tokens_tool": _sse(
        _start("msg_01MaxTokensAbCdEfGhIjKlM", "claude-sonnet-4-5-20250929", _usage(120, 1)),
        _tool_start(0, "toolu_01WriteFileAbCdEfGhIjK", "write_file"),
        _json(0, ""),
        _json(0, '{"path": "notes.md", "content": "# Notes\\n\\nFirst'),
        _delta("max_tokens", {"output_tokens": 16}),
        STOP,
    ),
    "server_tool": _sse(
        _start("msg_01WebSearchAbCdEfGhIjKlM", "claude-sonnet-4-5-20250929", _usage(2037, 1)),
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {
                "type": "server_tool_use",
                "id": "srvtoolu_01Bj5uzzLcYG5hfueSLcDH8k",
                "name": "web_search",
                "input": {},
            },
        },
        _json(0, ""),
        _json(0, '{"query": "Apple Ginza reo'),
        _json(0, 'pening date"}'),
        _stop(0),
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "web_search_tool_result",
                "tool_use_id": "srvtoolu_01Bj5uzzLcYG5hfueSLcDH8k",
                "content": [
                    {
                        "type": "web_search_result",
                        "title": "Apple Ginza reopens",
                        "url": "https://www.apple.com/newsroom/2025/09/apple-ginza/",
                        "encrypted_content": "ErkeCioICBgCIiRiY2Jj",
                        "page_age": "1 day ago",
                    }
                ],
            },
        },
        _stop(1),
        {"type": "content_block_start", "index": 2, "content_block": {"citations": [], "type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {
                "type": "citations_delta",
                "citation": {
                    "type": "web_search_result_location",
                    "cited_text": "Apple Ginza reopens on Friday.",
                    "url": "https://www.apple.com/newsroom/2025/09/apple-ginza/",
                    "title": "Apple Ginza reopens",
                    "encrypted_index": "Eo8BCioIBxgCIiQ4",
                },
            },
        },
        _text(2, "Apple Ginza reopens on Friday, September 26."),
        _stop(2),
        _delta(
            "end_turn",
            {
                "input_tokens": 2037,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 96,
                "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0},
            },
        ),
        STOP,
    ),
    "error": _sse(
        _start("msg_01OverloadedAbCdEfGhIjKl", "claude-sonnet-4-5-20250929", _usage(25, 1)),
        _text_start(0),
        _text(0, "Once upon"),
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ),
}
