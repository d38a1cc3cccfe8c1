"""CPU per transcode_request / transcode_response for a typical chat exchange, every pair.

The floor, measured in the same run, is `json.loads` + `json.dumps` of the same payload:
the least any JSON-to-JSON converter must do. Run: ``python bench/bench_transcode.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import best_cpu_per_call

import omnillm
from omnillm.wire import GENERATION_FORMATS

# One typical request: system prompt, three turns, one tool, 300 tokens of text.
TYPICAL_CHAT_REQUEST = {
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

TYPICAL_CHAT_RESPONSE = {
    "id": "chatcmpl-123",
    "object": "chat.completion",
    "created": 1741476542,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Paris is the capital of France. It is 18 degrees Celsius and sunny there today. " * 3,
                "refusal": None,
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 120, "completion_tokens": 60, "total_tokens": 180},
}


def main() -> None:
    formats = [f.value for f in GENERATION_FORMATS]
    chat = "open_ai_chat_completions"
    # Express the same typical exchange in every source format first.
    requests = {f: omnillm.transcode_request(TYPICAL_CHAT_REQUEST, chat, f) for f in formats}
    responses = {f: omnillm.transcode_response(TYPICAL_CHAT_RESPONSE, chat, f) for f in formats}
    calls = 2000
    print(f"CPU microseconds per call (best of 7 batches of {calls}, contenders alternated)")
    print(f"{'kind':9} {'source':26} {'target':26} {'omnillm':>9} {'floor':>7} {'ratio':>6}")
    for kind, table, fn in (
        ("request", requests, omnillm.transcode_request),
        ("response", responses, omnillm.transcode_response),
    ):
        for source in formats:
            text = table[source]
            for target in formats:
                result = best_cpu_per_call(
                    {
                        "omnillm": lambda: fn(text, source, target),  # noqa: B023
                        "floor": lambda: json.dumps(json.loads(text)),  # noqa: B023
                    },
                    calls,
                )
                ratio = result["omnillm"] / result["floor"]
                print(f"{kind:9} {source:26} {target:26} {result['omnillm']:9.1f} {result['floor']:7.1f} {ratio:6.1f}")


if __name__ == "__main__":
    main()
