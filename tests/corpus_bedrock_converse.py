"""Realistic Bedrock Converse wire payloads, written for the tests (not recorded).

Requests are in the shape boto3's ``converse(**params)`` takes: the body plus ``modelId``
(which the HTTP API puts in the URL path). Blob members are base64 strings, as in the JSON
body. Every payload validates against botocore's service model (see judge_bedrock_converse).
"""

from __future__ import annotations

import json
from typing import Any, Dict

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-pro-v1:0"

WEATHER_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city"],
}

WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "inputSchema": {"json": WEATHER_SCHEMA},
    }
}

TIME_TOOL = {
    "toolSpec": {
        "name": "get_time",
        "description": "Current local time in a city",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    }
}

# A 1x1 PNG and a tiny PDF, base64.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
PDF = "JVBERi0xLjQKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK"

EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "date": {"type": "string"},
        "participants": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "date", "participants"],
    "additionalProperties": False,
}

REQUESTS: Dict[str, Dict[str, Any]] = {
    "text": {
        "modelId": CLAUDE,
        "system": [{"text": "You are a concise assistant."}],
        "messages": [{"role": "user", "content": [{"text": "What is the capital of Australia?"}]}],
        "inferenceConfig": {"maxTokens": 1024},
    },
    "multi_turn": {
        "modelId": NOVA,
        "system": [
            {"text": "You are a patient maths tutor."},
            {"text": "Explain each step briefly."},
            {"cachePoint": {"type": "default"}},
        ],
        "messages": [
            {"role": "user", "content": [{"text": "What is 12 squared?"}]},
            {"role": "assistant", "content": [{"text": "12 squared is 144."}]},
            {
                "role": "user",
                "content": [{"text": "And its square root?"}, {"cachePoint": {"type": "default", "ttl": "1h"}}],
            },
        ],
        "inferenceConfig": {"maxTokens": 512},
    },
    "image": {
        "modelId": CLAUDE,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"image": {"format": "png", "source": {"bytes": PNG}}},
                    {"image": {"format": "jpeg", "source": {"s3Location": {"uri": "s3://my-bucket/photos/cat.jpg"}}}},
                    {"text": "Compare these two images."},
                ],
            }
        ],
        "inferenceConfig": {"maxTokens": 300},
    },
    "document": {
        "modelId": CLAUDE,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "document": {
                            "format": "pdf",
                            "name": "Quarterly report",
                            "source": {"bytes": PDF},
                            "context": "Internal, Q3 figures",
                            "citations": {"enabled": True},
                        }
                    },
                    {"cachePoint": {"type": "default"}},
                    {"document": {"format": "txt", "name": "Notes", "source": {"text": "Revenue grew 12%."}}},
                    {"text": "Summarise the report and cite the notes."},
                ],
            }
        ],
        "inferenceConfig": {"maxTokens": 800},
    },
    "tools": {
        "modelId": CLAUDE,
        "messages": [{"role": "user", "content": [{"text": "What's the weather in Paris right now?"}]}],
        "inferenceConfig": {"maxTokens": 1024},
        "toolConfig": {
            "tools": [{"toolSpec": {**WEATHER_TOOL["toolSpec"], "strict": True}}, {"cachePoint": {"type": "default"}}],
            "toolChoice": {"auto": {}},
        },
    },
    "parallel_tool_calls": {
        "modelId": CLAUDE,
        "messages": [{"role": "user", "content": [{"text": "Weather and time in Tokyo, please."}]}],
        "inferenceConfig": {"maxTokens": 1024},
        "toolConfig": {"tools": [WEATHER_TOOL, TIME_TOOL], "toolChoice": {"any": {}}},
    },
    "tool_results": {
        "modelId": CLAUDE,
        "messages": [
            {"role": "user", "content": [{"text": "Weather and local time in Tokyo?"}]},
            {
                "role": "assistant",
                "content": [
                    {"text": "Let me check both."},
                    {
                        "toolUse": {
                            "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                            "name": "get_weather",
                            "input": {"city": "Tokyo"},
                        }
                    },
                    {
                        "toolUse": {
                            "toolUseId": "tooluse_Rj9Yb5dZTxqo3hM0CkS2nw",
                            "name": "get_time",
                            "input": {"city": "Tokyo"},
                        }
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "toolResult": {
                            "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                            "content": [{"json": {"temp_c": 18, "sky": "light rain"}}],
                            "status": "success",
                        }
                    },
                    {
                        "toolResult": {
                            "toolUseId": "tooluse_Rj9Yb5dZTxqo3hM0CkS2nw",
                            "content": [{"text": "clock service unavailable"}],
                            "status": "error",
                        }
                    },
                    {"text": "Retry the time if you can."},
                ],
            },
        ],
        "inferenceConfig": {"maxTokens": 1024},
        "toolConfig": {"tools": [WEATHER_TOOL, TIME_TOOL]},
    },
    "structured_output": {
        "modelId": CLAUDE,
        "system": [{"text": "Extract the event."}],
        "messages": [{"role": "user", "content": [{"text": "Alice and Bob are going to a science fair on Friday."}]}],
        "inferenceConfig": {"maxTokens": 512},
        "outputConfig": {
            "textFormat": {
                "type": "json_schema",
                "structure": {
                    "jsonSchema": {
                        "schema": json.dumps(EVENT_SCHEMA, separators=(",", ":")),
                        "name": "calendar_event",
                        "description": "A calendar event with participants.",
                    }
                },
            }
        },
    },
    "reasoning": {
        "modelId": CLAUDE,
        "messages": [
            {"role": "user", "content": [{"text": "Should I take an umbrella in Paris today?"}]},
            {
                "role": "assistant",
                "content": [
                    {
                        "reasoningContent": {
                            "reasoningText": {
                                "text": "I need the current weather in Paris.",
                                "signature": "EqQBCkYIARgCKkBsig0001",
                            }
                        }
                    },
                    {"reasoningContent": {"redactedContent": "RW13S0FoZ0JFZ3kzcmVkYWN0ZWQwMDAx"}},
                    {"toolUse": {"toolUseId": "tooluse_02", "name": "get_weather", "input": {"city": "Paris"}}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "tooluse_02", "content": [{"text": "Rain expected at 15:00"}]}}
                ],
            },
        ],
        "inferenceConfig": {"maxTokens": 16000},
        "toolConfig": {"tools": [WEATHER_TOOL]},
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 10000}},
    },
    "metadata": {
        "modelId": NOVA,
        "messages": [{"role": "user", "content": [{"text": "Say hello."}]}],
        "inferenceConfig": {"maxTokens": 256},
        "requestMetadata": {"session": "s-1842", "feature": "greeting"},
        "serviceTier": {"type": "flex"},
        "performanceConfig": {"latency": "optimized"},
        "guardrailConfig": {"guardrailIdentifier": "gr4x9k2m1p7q", "guardrailVersion": "1", "trace": "enabled"},
    },
    "sampling": {
        "modelId": "anthropic.claude-3-5-haiku-20241022-v1:0",
        "messages": [{"role": "user", "content": [{"text": "List three fruits, then write END."}]}],
        "inferenceConfig": {"maxTokens": 200, "temperature": 0.3, "topP": 0.9, "stopSequences": ["\n\nHuman:", "END"]},
        "additionalModelRequestFields": {"top_k": 40},
        "additionalModelResponseFieldPaths": ["/stop_sequence"],
    },
}


def _response(content: Any, stop: str, usage: Dict[str, Any], latency: int = 812, **more: Any) -> Dict[str, Any]:
    body = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": usage,
        "metrics": {"latencyMs": latency},
    }
    body.update(more)
    return body


def _usage(inp: int, out: int, **cache: int) -> Dict[str, Any]:
    return {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out + sum(cache.values()), **cache}


RESPONSES: Dict[str, Dict[str, Any]] = {
    "text": _response([{"text": "The capital of Australia is Canberra."}], "end_turn", _usage(25, 14)),
    "tool_call": _response(
        [
            {"text": "Let me look that up."},
            {
                "toolUse": {
                    "toolUseId": "tooluse_hG2cR5nQS0qL6uWmY1fZxA",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                }
            },
        ],
        "tool_use",
        _usage(410, 61),
    ),
    "parallel_tool_calls": _response(
        [
            {"toolUse": {"toolUseId": "tooluse_P1", "name": "get_weather", "input": {"city": "Tokyo"}}},
            {"toolUse": {"toolUseId": "tooluse_P2", "name": "get_time", "input": {"city": "Tokyo"}}},
        ],
        "tool_use",
        _usage(480, 92),
        latency=1304,
    ),
    "reasoning": _response(
        [
            {
                "reasoningContent": {
                    "reasoningText": {
                        "text": "Rain is forecast for the afternoon, so an umbrella is sensible.",
                        "signature": "EqQBCkYIARgCKkBsig0002",
                    }
                }
            },
            {"text": "Yes, take an umbrella: rain is expected this afternoon."},
        ],
        "end_turn",
        _usage(530, 180),
        latency=2210,
    ),
    "max_tokens": _response([{"text": "Once upon a time, in a land far"}], "max_tokens", _usage(25, 10)),
    "structured_output": _response(
        [{"text": '{"name":"Science fair","date":"Friday","participants":["Alice","Bob"]}'}],
        "end_turn",
        _usage(222, 19),
    ),
    "stop_sequence": _response(
        [{"text": "1. Apple\n2. Pear\n3. Plum\n"}],
        "stop_sequence",
        _usage(25, 14),
        additionalModelResponseFields={"stop_sequence": "END"},
    ),
    "usage_cached": _response(
        [{"text": "Section 2 covers the refund policy."}],
        "end_turn",
        _usage(12, 30, cacheReadInputTokens=2048, cacheWriteInputTokens=248),
    ),
    "guardrail": _response(
        [{"text": "Sorry, the model cannot answer this question."}],
        "guardrail_intervened",
        _usage(40, 0),
        latency=95,
        trace={"guardrail": {"modelOutput": [], "actionReason": "Guardrail blocked."}},
    ),
    "citations": _response(
        [
            {
                "citationsContent": {
                    "content": [{"text": "Revenue grew 12% in Q3."}],
                    "citations": [
                        {
                            "title": "Quarterly report",
                            "sourceContent": [{"text": "Revenue grew 12%."}],
                            "location": {"documentPage": {"documentIndex": 0, "start": 2, "end": 3}},
                        }
                    ],
                }
            }
        ],
        "end_turn",
        _usage(1630, 22),
    ),
}
