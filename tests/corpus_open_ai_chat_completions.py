"""Realistic OpenAI Chat Completions bodies, hand-written for the codec and matrix tests.

Every payload validates against the openai SDK types (see judge_open_ai_chat_completions).
"""

from __future__ import annotations

from typing import Any, Dict

WEATHER_TOOL: Dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}

TIME_TOOL: Dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_local_time",
        "description": "Get the local time in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PDF_B64 = "JVBERi0xLjQKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK"

REQUESTS: Dict[str, Dict[str, Any]] = {
    "text": {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "Name three primary colours."},
        ],
        "max_completion_tokens": 100,
    },
    "multi_turn": {
        "model": "gpt-4.1",
        "messages": [
            {"role": "developer", "content": "Answer in one sentence."},
            {"role": "user", "name": "alice", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "The capital of France is Paris."},
            {"role": "user", "name": "alice", "content": "And of Italy?"},
        ],
        "temperature": 0.3,
    },
    "image": {
        "model": "gpt-4o",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these two images?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://upload.example.org/cat.jpg", "detail": "high"},
                    },
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX}"}},
                ],
            }
        ],
        "max_completion_tokens": 300,
    },
    "document": {
        "model": "gpt-4.1",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "file",
                        "file": {"filename": "invoice.pdf", "file_data": f"data:application/pdf;base64,{PDF_B64}"},
                    },
                    {"type": "text", "text": "Summarise this invoice in two bullet points."},
                ],
            }
        ],
    },
    "tools": {
        "model": "gpt-5",
        "messages": [
            {"role": "system", "content": "Use the tools when they help."},
            {"role": "user", "content": "What's the weather in Paris right now?"},
        ],
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
    },
    "parallel_tool_calls": {
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "Weather and local time in Tokyo and Oslo, please."}],
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "tool_choice": "required",
        "parallel_tool_calls": True,
    },
    "tool_results": {
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome in celsius?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_Pa7qMx2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris","unit":"celsius"}'},
                    },
                    {
                        "id": "call_Ro9kLw4",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Rome","unit":"celsius"}'},
                    },
                ],
                "refusal": None,
            },
            {"role": "tool", "tool_call_id": "call_Pa7qMx2", "content": '{"temp_c": 18, "sky": "cloudy"}'},
            {
                "role": "tool",
                "tool_call_id": "call_Ro9kLw4",
                "content": [{"type": "text", "text": '{"temp_c": 24, "sky": "sunny"}'}],
            },
        ],
        "tools": [WEATHER_TOOL],
    },
    "structured_output": {
        "model": "gpt-4o-2024-08-06",
        "messages": [
            {"role": "system", "content": "Extract the event."},
            {"role": "user", "content": "Alice and Bob are going to a science fair on Friday."},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "calendar_event",
                "description": "A calendar event with participants.",
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
        },
    },
    "reasoning": {
        "model": "o4-mini",
        "messages": [
            {"role": "developer", "content": "Think carefully, then answer briefly."},
            {"role": "user", "content": "How many prime numbers are there below 100?"},
        ],
        "reasoning_effort": "high",
        "max_completion_tokens": 4000,
    },
    "metadata": {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Write a haiku about autumn."}],
        "metadata": {"session": "s-1842", "feature": "haiku"},
        "store": True,
        "user": "user-7781",
        "safety_identifier": "c4ca4238a0b923820dcc509a6f75849b",
        "service_tier": "flex",
        "prompt_cache_key": "haiku-v2",
        "stream": True,
        "stream_options": {"include_usage": True},
    },
    "sampling": {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "List five fruits, one per line."}],
        "max_tokens": 120,
        "temperature": 1.2,
        "top_p": 0.9,
        "stop": ["\n\n", "END"],
        "seed": 42,
        "presence_penalty": 0.4,
        "frequency_penalty": 0.2,
        "logprobs": True,
        "top_logprobs": 3,
        "logit_bias": {"50256": -100},
        "n": 2,
    },
}

_USAGE_PLAIN: Dict[str, Any] = {
    "prompt_tokens": 25,
    "completion_tokens": 12,
    "total_tokens": 37,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def _message(**fields: Any) -> Dict[str, Any]:
    message: Dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    message.update(fields)
    return message


def _completion(cid: str, message: Dict[str, Any], finish: str, usage: Dict[str, Any], **top: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "id": cid,
        "object": "chat.completion",
        "created": 1760001234,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_07871e2ad8",
    }
    body.update(top)
    return body


RESPONSES: Dict[str, Dict[str, Any]] = {
    "text": _completion(
        "chatcmpl-CA1xText0001",
        _message(content="Red, yellow and blue."),
        "stop",
        _USAGE_PLAIN,
    ),
    "tool_call": _completion(
        "chatcmpl-CA1xTool0002",
        _message(
            tool_calls=[
                {
                    "id": "call_W3aXk1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris","unit":"celsius"}'},
                }
            ]
        ),
        "tool_calls",
        {**_USAGE_PLAIN, "prompt_tokens": 88, "completion_tokens": 19, "total_tokens": 107},
    ),
    "parallel_tool_calls": _completion(
        "chatcmpl-CA1xPara0003",
        _message(
            tool_calls=[
                {
                    "id": "call_Tk1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Tokyo","unit":"celsius"}'},
                },
                {
                    "id": "call_Os2",
                    "type": "function",
                    "function": {"name": "get_local_time", "arguments": '{"city":"Oslo"}'},
                },
            ]
        ),
        "tool_calls",
        {**_USAGE_PLAIN, "prompt_tokens": 120, "completion_tokens": 44, "total_tokens": 164},
    ),
    "reasoning": {
        "id": "6f1d2c3b-8a9e-4c1d-9b7a-0e5f4d3c2b1a",
        "object": "chat.completion",
        "created": 1760001300,
        "model": "deepseek-reasoner",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "There are 25 primes below 100.",
                    "reasoning_content": "Count primes per decade: 4, 4, 2, 2, 3, 2, 2, 3, 2, 1. That sums to 25.",
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 21,
            "completion_tokens": 230,
            "total_tokens": 251,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 214},
        },
        "system_fingerprint": "fp_7e73fd9a08_prod0820_fp8_kvcache",
    },
    "max_tokens": _completion(
        "chatcmpl-CA1xLen00005",
        _message(content="1. Apple\n2. Banana\n3. Cher"),
        "length",
        {**_USAGE_PLAIN, "completion_tokens": 10, "total_tokens": 35},
    ),
    "refusal": _completion(
        "chatcmpl-CA1xRef00006",
        _message(refusal="I'm sorry, but I can't help with that request."),
        "stop",
        {**_USAGE_PLAIN, "prompt_tokens": 79, "completion_tokens": 12, "total_tokens": 91},
    ),
    "structured_output": _completion(
        "chatcmpl-CA1xJson0007",
        _message(content='{"name":"Science Fair","date":"Friday","participants":["Alice","Bob"]}'),
        "stop",
        {**_USAGE_PLAIN, "prompt_tokens": 92, "completion_tokens": 17, "total_tokens": 109},
    ),
    "usage_cached": _completion(
        "chatcmpl-CA1xCach0008",
        _message(content="Here is the summary of the contract you shared earlier."),
        "stop",
        {
            "prompt_tokens": 2048,
            "completion_tokens": 300,
            "total_tokens": 2348,
            "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 128,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        model="o4-mini-2025-04-16",
        service_tier="priority",
    ),
}
