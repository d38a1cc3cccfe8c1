"""Realistic Gemini GenerateContent bodies (camelCase wire JSON), written for omnillm's tests.

Request bodies carry no ``model`` (it belongs to the URL) except ``multi_turn``, which shows
omnillm's optional convenience key.
"""

from __future__ import annotations

from typing import Any, Dict

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
PDF = "JVBERi0xLjQKMSAwIG9iago8PCAvVHlwZSAvQ2F0YWxvZyA+PgplbmRvYmoKdHJhaWxlcgo8PCAvUm9vdCAxIDAgUiA+PgolJUVPRgo="
SIGNATURE = "CtQOAVSoXO74PmYr9AFurEIJNTAtfagOIxtRA5FcMPow3t+9ZhbhilokxHpmxmgnjFgyuOV/VCoF1mwTRcWrqItOVgV8sOR1"

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city"],
}

REQUESTS: Dict[str, Dict[str, Any]] = {
    "text": {
        "contents": [{"role": "user", "parts": [{"text": "Write a haiku about the sea."}]}],
    },
    "multi_turn": {
        "model": "gemini-2.5-flash",
        "systemInstruction": {"parts": [{"text": "You are a concise travel assistant."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "I am visiting Lisbon in May."}]},
            {"role": "model", "parts": [{"text": "Great choice! May is warm and sunny there."}]},
            {"role": "user", "parts": [{"text": "What should I pack?"}]},
        ],
        "generationConfig": {"maxOutputTokens": 512},
    },
    "image": {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "What is in this picture?"},
                    {"inlineData": {"mimeType": "image/png", "data": PNG}},
                    {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://my-bucket/photos/cat.jpg"}},
                ],
            }
        ],
    },
    "document": {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
                    {
                        "fileData": {
                            "mimeType": "application/pdf",
                            "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc123",
                        }
                    },
                    {"text": "Summarise both documents in three bullet points."},
                ],
            }
        ],
    },
    "tools": {
        "contents": [{"role": "user", "parts": [{"text": "What's the weather in Paris?"}]}],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "Get the current weather for a city.",
                        "parametersJsonSchema": WEATHER_SCHEMA,
                    },
                    {
                        "name": "get_time",
                        "description": "Get the local time in a city.",
                        "parameters": {
                            "type": "OBJECT",
                            "properties": {
                                "city": {"type": "STRING"},
                                "format": {"type": "STRING", "nullable": True, "enum": ["12h", "24h"]},
                            },
                            "required": ["city"],
                            "propertyOrdering": ["city", "format"],
                        },
                    },
                ]
            }
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
    },
    "parallel_tool_calls": {
        "contents": [
            {"role": "user", "parts": [{"text": "Compare the weather in Paris and Tokyo."}]},
            {
                "role": "model",
                "parts": [
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": SIGNATURE},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Tokyo"}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18, "sky": "cloudy"}}},
                    {"functionResponse": {"name": "get_weather", "response": {"temp_c": 24, "sky": "clear"}}},
                ],
            },
        ],
        "tools": [{"functionDeclarations": [{"name": "get_weather", "parametersJsonSchema": WEATHER_SCHEMA}]}],
    },
    "tool_results": {
        "contents": [
            {"role": "user", "parts": [{"text": "Look up order 42 and email me the status."}]},
            {
                "role": "model",
                "parts": [
                    {"text": "Let me check that order."},
                    {"functionCall": {"id": "fc_01", "name": "lookup_order", "args": {"order_id": 42}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"id": "fc_01", "name": "lookup_order", "response": {"output": "shipped"}}},
                    {"text": "Thanks, also mention the carrier."},
                ],
            },
            {
                "role": "model",
                "parts": [{"functionCall": {"id": "fc_02", "name": "send_email", "args": {"body": "Shipped"}}}],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"id": "fc_02", "name": "send_email", "response": {"error": "SMTP down"}}}
                ],
            },
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "lookup_order",
                        "parametersJsonSchema": {
                            "type": "object",
                            "properties": {"order_id": {"type": "integer"}},
                            "required": ["order_id"],
                        },
                    },
                    {
                        "name": "send_email",
                        "parametersJsonSchema": {"type": "object", "properties": {"body": {"type": "string"}}},
                    },
                ]
            }
        ],
    },
    "structured_output": {
        "contents": [{"role": "user", "parts": [{"text": "Extract: Alice is 31 and lives in Oslo."}]}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "city": {"type": "string"}},
                "required": ["name", "age", "city"],
            },
        },
    },
    "reasoning": {
        "contents": [
            {"role": "user", "parts": [{"text": "Is 1001 prime?"}]},
            {
                "role": "model",
                "parts": [
                    {"text": "**Checking divisors**\n\nTry 7: 7 * 143 = 1001.", "thought": True},
                    {"text": "No: 1001 = 7 x 11 x 13.", "thoughtSignature": SIGNATURE},
                ],
            },
            {"role": "user", "parts": [{"text": "And 1009?"}]},
        ],
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": True}},
    },
    "metadata": {
        "contents": [{"role": "user", "parts": [{"text": "Tell me a joke about compilers."}]}],
        "safetySettings": [
            {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"},
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_MEDIUM_AND_ABOVE"},
        ],
        "labels": {"team": "platform", "env": "staging"},
    },
    "sampling": {
        "contents": [{"role": "user", "parts": [{"text": "Name three colours."}]}],
        "generationConfig": {
            "temperature": 0.7,
            "topP": 0.95,
            "topK": 40,
            "maxOutputTokens": 256,
            "stopSequences": ["END"],
            "seed": 7,
            "presencePenalty": 0.5,
            "frequencyPenalty": 0.25,
            "candidateCount": 2,
            "responseLogprobs": True,
            "logprobs": 3,
        },
    },
}

USAGE = {
    "promptTokenCount": 12,
    "candidatesTokenCount": 9,
    "totalTokenCount": 21,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}],
}

RESPONSES: Dict[str, Dict[str, Any]] = {
    "text": {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "Waves fold into foam,\nsalt wind hums."}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": USAGE,
        "modelVersion": "gemini-2.5-flash",
        "responseId": "Xq5Jac2vBKmdz7IP7cKZ2Q8",
    },
    "tool_call": {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris", "unit": "celsius"}}}],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 7, "totalTokenCount": 47},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "Ab3kac2vBKmdz7IP7cKZ2Q8",
    },
    "parallel_tool_calls": {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Checking both cities."},
                        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                        {"functionCall": {"name": "get_weather", "args": {"city": "Tokyo"}}},
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 52, "candidatesTokenCount": 18, "totalTokenCount": 70},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "Cd9kac2vBKmdz7IP7cKZ2Q8",
    },
    "reasoning": {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "text": "**Testing divisibility**\n\n1009 is not divisible by 2, 3, 5, 7, ...",
                            "thought": True,
                        },
                        {"text": "Yes, 1009 is prime.", "thoughtSignature": SIGNATURE},
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 30,
            "candidatesTokenCount": 8,
            "totalTokenCount": 436,
            "thoughtsTokenCount": 398,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 30}],
        },
        "modelVersion": "gemini-2.5-pro",
        "responseId": "Ef1kac2vBKmdz7IP7cKZ2Q8",
    },
    "max_tokens": {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "The history of Rome begins with"}]},
                "finishReason": "MAX_TOKENS",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 8, "totalTokenCount": 18},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "Gh3kac2vBKmdz7IP7cKZ2Q8",
    },
    "safety": {
        "candidates": [
            {
                "finishReason": "SAFETY",
                "index": 0,
                "safetyRatings": [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True},
                    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
                ],
            }
        ],
        "usageMetadata": {"promptTokenCount": 15, "totalTokenCount": 15},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "Ij5kac2vBKmdz7IP7cKZ2Q8",
    },
    "structured_output": {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": '{"name": "Alice", "age": 31, "city": "Oslo"}'}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 25, "candidatesTokenCount": 16, "totalTokenCount": 41},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "Kl7kac2vBKmdz7IP7cKZ2Q8",
    },
    "usage_cached": {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "Section 4 covers termination."}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 20480,
            "candidatesTokenCount": 6,
            "totalTokenCount": 20486,
            "cachedContentTokenCount": 20000,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 20480}],
            "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 20000}],
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "Mn9kac2vBKmdz7IP7cKZ2Q8",
    },
}
