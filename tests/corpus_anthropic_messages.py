"""Realistic Anthropic Messages wire payloads, written for the tests (not recorded).

Every payload validates against the anthropic SDK 2.12 types (see judge_anthropic_messages;
``sampling`` uses the legacy sampling fields that the judge lists as untyped wire fields).
"""

from __future__ import annotations

from typing import Any, Dict

_WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
}

_TIME_TOOL = {
    "name": "get_time",
    "description": "Current local time in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}

# A 1x1 transparent PNG and a tiny PDF, base64.
_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
_PDF = "JVBERi0xLjQKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK"

REQUESTS: Dict[str, Dict[str, Any]] = {
    "text": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You are a concise assistant.",
        "messages": [{"role": "user", "content": "What is the capital of Australia?"}],
    },
    "multi_turn": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 512,
        "system": [
            {"type": "text", "text": "You are a patient maths tutor."},
            {"type": "text", "text": "Explain each step briefly.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {"role": "user", "content": "What is 12 squared?"},
            {"role": "assistant", "content": "12 squared is 144."},
            {"role": "user", "content": [{"type": "text", "text": "And its square root?"}]},
        ],
    },
    "image": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 300,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": _PNG}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                    {"type": "text", "text": "Compare these two images."},
                ],
            }
        ],
    },
    "document": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 800,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": _PDF},
                        "title": "Quarterly report",
                        "context": "Internal, Q3 figures",
                        "citations": {"enabled": True},
                        "cache_control": {"type": "ephemeral", "ttl": "1h"},
                    },
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "Revenue grew 12%."},
                        "title": "Notes",
                    },
                    {"type": "text", "text": "Summarise the report and cite the notes."},
                ],
            }
        ],
    },
    "tools": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "tools": [
            {**_WEATHER_TOOL, "strict": True, "cache_control": {"type": "ephemeral"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
        ],
        "tool_choice": {"type": "auto"},
        "messages": [{"role": "user", "content": "What's the weather in Paris right now?"}],
    },
    "parallel_tool_calls": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "tools": [_WEATHER_TOOL, _TIME_TOOL],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "messages": [{"role": "user", "content": "Weather and time in Tokyo, please."}],
    },
    "tool_results": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "tools": [_WEATHER_TOOL, _TIME_TOOL],
        "messages": [
            {"role": "user", "content": "Weather and local time in Tokyo?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me check both."},
                    {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Tokyo"}},
                    {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {"city": "Tokyo"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "18°C, light rain"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01B",
                        "content": [{"type": "text", "text": "clock service unavailable"}],
                        "is_error": True,
                    },
                    {"type": "text", "text": "Retry the time if you can."},
                ],
            },
        ],
    },
    "structured_output": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "output_config": {
            "format": {
                "type": "json_schema",
                "schema": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                    "required": ["name", "age"],
                    "additionalProperties": False,
                },
            }
        },
        "messages": [{"role": "user", "content": "Extract: John Doe is 30 years old."}],
    },
    "reasoning": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 16000,
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "tools": [_WEATHER_TOOL],
        "messages": [
            {"role": "user", "content": "Should I take an umbrella in Paris today?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "thinking",
                        "thinking": "I need the current weather in Paris.",
                        "signature": "EqQBCkYIARgCKkBsig0001",
                    },
                    {"type": "redacted_thinking", "data": "EmwKAhgBEgy3redacted0001"},
                    {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"city": "Paris"}},
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_02", "content": "Rain expected at 15:00"}],
            },
        ],
    },
    "metadata": {
        "model": "claude-haiku-4-5",
        "max_tokens": 256,
        "metadata": {"user_id": "user-7f3a"},
        "service_tier": "standard_only",
        "stream": True,
        "messages": [{"role": "user", "content": "Say hello."}],
    },
    "sampling": {
        "model": "claude-3-5-haiku-latest",
        "max_tokens": 200,
        "temperature": 0.3,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["\n\nHuman:", "END"],
        "messages": [{"role": "user", "content": "List three fruits, then write END."}],
    },
}

_USAGE = {
    "input_tokens": 25,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 14,
    "service_tier": "standard",
}


def _response(content: Any, stop_reason: str, usage: Dict[str, Any], **more: Any) -> Dict[str, Any]:
    body = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }
    body.update(more)
    return body


RESPONSES: Dict[str, Dict[str, Any]] = {
    "text": _response([{"type": "text", "text": "The capital of Australia is Canberra."}], "end_turn", _USAGE),
    "tool_call": _response(
        [
            {"type": "text", "text": "Let me look that up."},
            {"type": "tool_use", "id": "toolu_01T1x", "name": "get_weather", "input": {"city": "Paris"}},
        ],
        "tool_use",
        {**_USAGE, "input_tokens": 410, "output_tokens": 61},
    ),
    "parallel_tool_calls": _response(
        [
            {"type": "tool_use", "id": "toolu_01P1", "name": "get_weather", "input": {"city": "Tokyo"}},
            {"type": "tool_use", "id": "toolu_01P2", "name": "get_time", "input": {"city": "Tokyo"}},
        ],
        "tool_use",
        {**_USAGE, "input_tokens": 480, "output_tokens": 92},
    ),
    "reasoning": _response(
        [
            {
                "type": "thinking",
                "thinking": "Rain is forecast for the afternoon, so an umbrella is sensible.",
                "signature": "EqQBCkYIARgCKkBsig0002",
            },
            {"type": "text", "text": "Yes, take an umbrella: rain is expected this afternoon."},
        ],
        "end_turn",
        {**_USAGE, "input_tokens": 530, "output_tokens": 180, "output_tokens_details": {"thinking_tokens": 120}},
    ),
    "max_tokens": _response(
        [{"type": "text", "text": "Once upon a time, in a land far"}],
        "max_tokens",
        {**_USAGE, "output_tokens": 10},
    ),
    "refusal": _response(
        [],
        "refusal",
        {**_USAGE, "output_tokens": 5},
        stop_details={"type": "refusal", "category": "cyber", "explanation": "Blocked under the usage policy."},
    ),
    "structured_output": _response(
        [{"type": "text", "text": '{"name":"John Doe","age":30}'}],
        "end_turn",
        {**_USAGE, "input_tokens": 222},
    ),
    "stop_sequence": {
        **_response([{"type": "text", "text": "1. Apple\n2. Pear\n3. Plum\n"}], "stop_sequence", _USAGE),
        "stop_sequence": "END",
    },
    "usage_cached": _response(
        [{"type": "text", "text": "Section 2 covers the refund policy."}],
        "end_turn",
        {
            "input_tokens": 12,
            "cache_creation_input_tokens": 248,
            "cache_read_input_tokens": 2048,
            "cache_creation": {"ephemeral_5m_input_tokens": 248, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 30,
            "service_tier": "standard",
        },
    ),
}
