"""Realistic OpenAI Responses wire payloads (written for omnillm, valid for the openai SDK types)."""

from __future__ import annotations

from typing import Any, Dict

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
PDF_B64 = "JVBERi0xLjQKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK"

WEATHER_TOOL: Dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}

TIME_TOOL: Dict[str, Any] = {
    "type": "function",
    "name": "get_time",
    "description": "Local time in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": None,
}

REQUESTS: Dict[str, Dict[str, Any]] = {
    "text": {
        "model": "gpt-5",
        "instructions": "You are a concise assistant.",
        "input": "Name three primary colours.",
    },
    # Built to be lossless into every format: a limit (Anthropic requires one), a
    # tool with a call and its result, nothing any target lacks.
    "portable_tool_turn": {
        "model": "gpt-5",
        "instructions": "Use the tool when asked about weather.",
        "input": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "call_id": "call_portable_1",
                "name": "get_weather",
                "arguments": '{"city":"Paris"}',
            },
            {"type": "function_call_output", "call_id": "call_portable_1", "output": "18C, clear"},
        ],
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                "strict": None,
            }
        ],
        "max_output_tokens": 256,
        "temperature": 0.5,
    },
    "multi_turn": {
        "model": "gpt-5-mini",
        "input": [
            {"role": "developer", "content": "Answer in one sentence."},
            {"role": "user", "content": "What is the capital of France?"},
            {
                "type": "message",
                "id": "msg_0a1b2c3d4e5f",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "The capital of France is Paris.", "annotations": []}],
            },
            {"role": "user", "content": "And of Italy?"},
            {"role": "assistant", "content": "Rome.", "phase": "final_answer"},
            {"role": "system", "content": "From now on answer in French."},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And of Spain?"}]},
        ],
        "max_output_tokens": 200,
    },
    "image": {
        "model": "gpt-4.1",
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is in these images?"},
                    {"type": "input_image", "image_url": "https://upload.example.org/cat.jpg", "detail": "high"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{PNG_1PX}", "detail": "auto"},
                    {"type": "input_image", "file_id": "file-6F2ksmvXxt4VdoqmHRw6kL", "detail": "low"},
                ],
            }
        ],
    },
    "document": {
        "model": "gpt-4.1",
        "input": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "input_file",
                        "filename": "report.pdf",
                        "file_data": f"data:application/pdf;base64,{PDF_B64}",
                    },
                    {"type": "input_file", "file_url": "https://example.org/papers/attention.pdf"},
                    {"type": "input_file", "file_id": "file-9GkXq2mT1Lw8pZr4sN"},
                    {"type": "input_text", "text": "Summarise these documents in two bullet points each."},
                ],
            }
        ],
    },
    "tools": {
        "model": "gpt-5",
        "input": [{"role": "user", "content": "What's the weather in Paris, in celsius?"}],
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
    },
    "parallel_tool_calls": {
        "model": "gpt-5",
        "input": [
            {"role": "user", "content": "Weather and time in Paris and Tokyo?"},
            {
                "type": "function_call",
                "id": "fc_68a1",
                "call_id": "call_paris_w",
                "name": "get_weather",
                "arguments": '{"city":"Paris","unit":"c"}',
                "status": "completed",
            },
            {
                "type": "function_call",
                "id": "fc_68a2",
                "call_id": "call_tokyo_t",
                "name": "get_time",
                "arguments": '{"city":"Tokyo"}',
                "status": "completed",
            },
            {"type": "function_call_output", "call_id": "call_paris_w", "output": '{"temp_c":18,"sky":"cloudy"}'},
            {"type": "function_call_output", "call_id": "call_tokyo_t", "output": '{"time":"22:14"}'},
        ],
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "tool_choice": {
            "type": "allowed_tools",
            "mode": "required",
            "tools": [{"type": "function", "name": "get_weather"}, {"type": "function", "name": "get_time"}],
        },
        "parallel_tool_calls": True,
    },
    "tool_results": {
        "model": "gpt-5",
        "instructions": "Use the tools when needed.",
        "input": [
            {"role": "user", "content": "Show me the chart for ACME and tell me the price."},
            {
                "type": "reasoning",
                "id": "rs_68c0aa",
                "summary": [{"type": "summary_text", "text": "Need the price and the chart."}],
                "encrypted_content": "gAAAAABo-enc-1",
            },
            {
                "type": "message",
                "id": "msg_68c0ab",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "Let me look that up.", "annotations": []}],
            },
            {
                "type": "function_call",
                "id": "fc_68c0ac",
                "call_id": "call_price",
                "name": "get_price",
                "arguments": '{"ticker":"ACME"}',
                "status": "completed",
            },
            {"type": "function_call_output", "call_id": "call_price", "output": "132.50 USD"},
            {
                "type": "function_call",
                "id": "fc_68c0ad",
                "call_id": "call_chart",
                "name": "get_chart",
                "arguments": '{"ticker":"ACME"}',
                "status": "completed",
            },
            {
                "type": "function_call_output",
                "call_id": "call_chart",
                "output": [
                    {"type": "input_text", "text": "Chart for ACME, last 30 days:"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{PNG_1PX}"},
                ],
            },
        ],
        "tools": [
            {
                "type": "function",
                "name": "get_price",
                "description": "Share price",
                "strict": True,
                "parameters": {
                    "type": "object",
                    "properties": {"ticker": {"type": "string"}},
                    "required": ["ticker"],
                    "additionalProperties": False,
                },
            },
            {"type": "function", "name": "get_chart", "parameters": None, "strict": None},
        ],
        "include": ["reasoning.encrypted_content"],
        "store": False,
    },
    "structured_output": {
        "model": "gpt-4o-2024-08-06",
        "input": [
            {"role": "system", "content": "Extract the event information."},
            {"role": "user", "content": "Alice and Bob are going to a science fair on Friday."},
        ],
        "text": {
            "format": {
                "type": "json_schema",
                "name": "calendar_event",
                "description": "An event on a calendar",
                "schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "date": {"type": "string"},
                        "participants": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["name", "date", "participants"],
                    "additionalProperties": False,
                },
                "strict": True,
            },
            "verbosity": "low",
        },
    },
    "reasoning": {
        "model": "o4-mini",
        "input": [{"role": "user", "content": "How many r's are in 'strawberry'? Think carefully."}],
        "reasoning": {"effort": "high", "summary": "detailed"},
        "max_output_tokens": 4000,
        "include": ["reasoning.encrypted_content", "message.output_text.logprobs"],
        "top_logprobs": 3,
    },
    "metadata": {
        "model": "gpt-5-nano",
        "input": "Ping",
        "metadata": {"customer_id": "cus_1029", "session": "s-88"},
        "user": "user-4821",
        "safety_identifier": "8f14e45fceea167a5a36dedd4bea2543",
        "prompt_cache_key": "tenant-17",
        "service_tier": "flex",
        "store": True,
        "previous_response_id": "resp_68b1f0c2a9d08190a6b5f1c1e2d3c4b5",
        "truncation": "auto",
        "background": False,
    },
    "sampling": {
        "model": "gpt-4.1-mini",
        "input": [{"role": "user", "content": "Write a haiku about autumn."}],
        "temperature": 1.2,
        "top_p": 0.9,
        "max_output_tokens": 120,
        "stream": False,
    },
    "builtin_tools": {
        "model": "gpt-5",
        "input": [
            {"role": "user", "content": "Find today's tech news and plot the headline count."},
            {
                "type": "web_search_call",
                "id": "ws_68d1",
                "status": "completed",
                "action": {"type": "search", "query": "tech news today"},
            },
            {
                "type": "custom_tool_call",
                "id": "ctc_68d2",
                "call_id": "call_sql_1",
                "name": "run_sql",
                "input": "SELECT count(*) FROM headlines",
            },
            {"type": "custom_tool_call_output", "call_id": "call_sql_1", "output": "42"},
            {"type": "item_reference", "id": "msg_68d0prev"},
        ],
        "tools": [
            {"type": "web_search", "search_context_size": "low"},
            {"type": "code_interpreter", "container": {"type": "auto"}},
            {
                "type": "custom",
                "name": "run_sql",
                "description": "Run a read-only SQL query",
                "format": {"type": "grammar", "syntax": "lark", "definition": "start: /SELECT .+/"},
            },
        ],
        "tool_choice": {"type": "web_search_preview"},
        "max_tool_calls": 5,
    },
}

_ECHO: Dict[str, Any] = {
    "background": False,
    "instructions": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "previous_response_id": None,
    "prompt_cache_key": None,
    "reasoning": {"effort": None, "summary": None},
    "safety_identifier": None,
    "service_tier": "default",
    "store": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}, "verbosity": "medium"},
    "top_logprobs": 0,
    "top_p": 1.0,
    "truncation": "disabled",
    "user": None,
    "metadata": {},
}


def _usage(inp: int, out: int, cached: int = 0, reasoning: int = 0) -> Dict[str, Any]:
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": inp + out,
    }


def _response(rid: str, model: str, output: Any, usage: Dict[str, Any], **over: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "id": rid,
        "object": "response",
        "created_at": 1754925861,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }
    body.update(_ECHO)
    body.update(over)
    return body


def _message(mid: str, *content: Dict[str, Any], status: str = "completed") -> Dict[str, Any]:
    return {"id": mid, "type": "message", "status": status, "role": "assistant", "content": list(content)}


def _text(text: str) -> Dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


RESPONSES: Dict[str, Dict[str, Any]] = {
    "text": _response(
        "resp_689a0b25aa01",
        "gpt-4o-mini-2024-07-18",
        [_message("msg_689a0b26bb01", _text("Red, yellow and blue."))],
        _usage(14, 8),
    ),
    "tool_call": _response(
        "resp_0a2fa1b5aa02",
        "gpt-5.1",
        [
            {
                "id": "fc_0a2fa1b5bb02",
                "type": "function_call",
                "status": "completed",
                "arguments": '{"city":"Paris","unit":"c"}',
                "call_id": "call_YunNGbIwdVJ2",
                "name": "get_weather",
            }
        ],
        _usage(61, 19),
        tools=[WEATHER_TOOL],
    ),
    "parallel_tool_calls": _response(
        "resp_0b3fa1b5aa03",
        "gpt-5.1",
        [
            {
                "id": "fc_0b3f01",
                "type": "function_call",
                "status": "completed",
                "arguments": '{"city":"Paris","unit":"c"}',
                "call_id": "call_paris_w",
                "name": "get_weather",
            },
            {
                "id": "fc_0b3f02",
                "type": "function_call",
                "status": "completed",
                "arguments": '{"city":"Tokyo"}',
                "call_id": "call_tokyo_t",
                "name": "get_time",
            },
        ],
        _usage(88, 41),
        tools=[WEATHER_TOOL, TIME_TOOL],
    ),
    "reasoning": _response(
        "resp_0f35ed53aa04",
        "gpt-5-mini-2025-08-07",
        [
            {
                "id": "rs_0f35ed53bb04",
                "type": "reasoning",
                "encrypted_content": "gAAAAABpPMlc-opaque-token",
                "summary": [
                    {"type": "summary_text", "text": "**Counting letters**\n\nS-t-r-a-w-b-e-r-r-y has three r's."}
                ],
            },
            _message("msg_0f35ed53cc04", _text("There are 3 r's in 'strawberry'.")),
        ],
        _usage(21, 310, reasoning=256),
        reasoning={"effort": "high", "summary": "detailed"},
        store=False,
    ),
    "max_tokens": _response(
        "resp_0c11aa05",
        "gpt-4.1-mini",
        [_message("msg_0c11bb05", _text("Once upon a time, in a land far"), status="incomplete")],
        _usage(12, 16),
        status="incomplete",
        incomplete_details={"reason": "max_output_tokens"},
        max_output_tokens=16,
    ),
    "refusal": _response(
        "resp_0d22aa06",
        "gpt-4o-2024-08-06",
        [_message("msg_0d22bb06", {"type": "refusal", "refusal": "I'm sorry, I can't help with that."})],
        _usage(25, 10),
    ),
    "structured_output": _response(
        "resp_0e33aa07",
        "gpt-4o-2024-08-06",
        [_message("msg_0e33bb07", _text('{"name":"Science fair","date":"Friday","participants":["Alice","Bob"]}'))],
        _usage(66, 22),
        text={
            "format": {
                "type": "json_schema",
                "name": "calendar_event",
                "description": None,
                "schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "date": {"type": "string"},
                        "participants": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["name", "date", "participants"],
                    "additionalProperties": False,
                },
                "strict": True,
            },
            "verbosity": "medium",
        },
    ),
    "usage_cached": _response(
        "resp_0f44aa08",
        "gpt-5.1",
        [
            {
                "id": "msg_0f44bb08",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "phase": "final_answer",
                "content": [
                    {
                        "type": "output_text",
                        "logprobs": [],
                        "text": "Anthropic announced new models this week.",
                        "annotations": [
                            {
                                "type": "url_citation",
                                "url": "https://www.anthropic.com/news",
                                "title": "Newsroom",
                                "start_index": 0,
                                "end_index": 9,
                            }
                        ],
                    }
                ],
            }
        ],
        {
            "input_tokens": 7243,
            "input_tokens_details": {"cached_tokens": 3072, "cache_write_tokens": 1024},
            "output_tokens": 423,
            "output_tokens_details": {"reasoning_tokens": 58},
            "total_tokens": 7666,
        },
        prompt_cache_key="tenant-17",
    ),
    "failed": _response(
        "resp_1055aa09",
        "gpt-5",
        [],
        _usage(30, 0),
        status="failed",
        error={"code": "server_error", "message": "The server had an error while processing your request."},
    ),
    "hosted_tools": _response(
        "resp_1166aa10",
        "gpt-5-mini-2025-08-07",
        [
            {"id": "rs_1166bb10", "type": "reasoning", "summary": []},
            {
                "id": "ws_1166cc10",
                "type": "web_search_call",
                "status": "completed",
                "action": {"type": "search", "query": "tech news today"},
            },
            _message("msg_1166dd10", _text("Here are today's headlines.")),
            {
                "type": "custom_tool_call",
                "id": "ctc_1166ee10",
                "call_id": "call_sql_9",
                "name": "run_sql",
                "input": "SELECT * FROM headlines",
            },
        ],
        _usage(900, 150, reasoning=64),
        tools=[{"type": "web_search", "search_context_size": "medium", "filters": None, "user_location": None}],
    ),
}
