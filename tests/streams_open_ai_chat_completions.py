"""Hand-written OpenAI Chat Completions SSE streams, shaped like what the API sends.

Each value is a complete ``text/event-stream`` body: one ``data: <chat.completion.chunk>``
event per chunk (no event names), ending with ``data: [DONE]``. Chunks carry what the
API puts on every chunk (``system_fingerprint``, ``obfuscation``, ``logprobs: null``, and
``usage: null`` when the request set ``stream_options.include_usage``). ``reasoning`` is
shaped like a compatible server (vLLM/DeepSeek style ``reasoning_content``): OpenAI itself
streams no reasoning text on Chat Completions.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional


def _sse(*chunks: Dict[str, Any]) -> str:
    body = "".join(f"data: {json.dumps(c, separators=(',', ':'))}\n\n" for c in chunks)
    return body + "data: [DONE]\n\n"


class _Chunks:
    """Chunk builder for one completion: the fields every chunk of it repeats."""

    def __init__(self, cid: str, created: int, model: str, *, usage_opt_in: bool, fingerprint: Optional[str]) -> None:
        self.head: Dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        if fingerprint is not None:
            self.head["service_tier"] = "default"
            self.head["system_fingerprint"] = fingerprint
        self.usage_opt_in = usage_opt_in
        self._pad = 0

    def _padding(self) -> str:
        # The API's ``obfuscation`` field: random padding so that chunk sizes leak nothing.
        self._pad += 1
        return "xQ7pL2vK9mZ"[: 3 + self._pad % 8]

    def delta(self, delta: Dict[str, Any], finish: Optional[str] = None, choice: int = 0) -> Dict[str, Any]:
        chunk = dict(self.head)
        chunk["choices"] = [{"index": choice, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if self.usage_opt_in:
            chunk["usage"] = None
        chunk["obfuscation"] = self._padding()
        return chunk

    def usage(self, prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> Dict[str, Any]:
        chunk = dict(self.head)
        chunk["choices"] = []
        chunk["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        chunk["obfuscation"] = self._padding()
        return chunk


def _call(index: int, call_id: str, name: str) -> Dict[str, Any]:
    return {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}


def _args(index: int, fragment: str) -> Dict[str, Any]:
    return {"index": index, "function": {"arguments": fragment}}


def _text() -> str:
    c = _Chunks("chatcmpl-BnT4x2QeHf7Lk9", 1741476542, "gpt-4o-2024-08-06", usage_opt_in=False, fingerprint="fp_a1b2")
    return _sse(
        c.delta({"role": "assistant", "content": "", "refusal": None}),
        c.delta({"content": "The capital"}),
        c.delta({"content": " of France"}),
        c.delta({"content": " is Paris"}),
        c.delta({"content": "."}),
        c.delta({}, "stop"),
    )


def _tool_call() -> str:
    c = _Chunks("chatcmpl-BnT5aW8cYv3Rq1", 1741476600, "gpt-4o-2024-08-06", usage_opt_in=False, fingerprint="fp_a1b2")
    return _sse(
        c.delta({"role": "assistant", "content": None, "tool_calls": [_call(0, "call_Jk3uF8wQm2", "get_weather")]}),
        c.delta({"tool_calls": [_args(0, '{"ci')]}),
        c.delta({"tool_calls": [_args(0, 'ty": "')]}),
        c.delta({"tool_calls": [_args(0, "Paris")]}),
        c.delta({"tool_calls": [_args(0, '", "unit": ')]}),
        c.delta({"tool_calls": [_args(0, '"celsius"}')]}),
        c.delta({}, "tool_calls"),
    )


def _parallel_tool_calls() -> str:
    c = _Chunks("chatcmpl-BnT6pZ0dNe4Xs8", 1741476700, "gpt-4.1-2025-04-14", usage_opt_in=True, fingerprint="fp_c3d4")
    return _sse(
        c.delta({"role": "assistant", "content": None, "refusal": None}),
        c.delta({"tool_calls": [_call(0, "call_A1b2C3d4E5", "get_weather")]}),
        c.delta({"tool_calls": [_args(0, '{"city"')]}),
        c.delta({"tool_calls": [_call(1, "call_F6g7H8i9J0", "get_stock_price")]}),
        c.delta({"tool_calls": [_args(1, '{"tick')]}),
        c.delta({"tool_calls": [_args(0, ': "Edin')]}),
        c.delta({"tool_calls": [_args(1, 'er": "AA')]}),
        c.delta({"tool_calls": [_args(0, 'burgh", ')]}),
        c.delta({"tool_calls": [_args(1, 'PL", "exchange"')]}),
        c.delta({"tool_calls": [_args(0, '"country": "UK"}'), _args(1, ': "NASDAQ"}')]}),
        c.delta({"tool_calls": [_call(2, "call_K1l2M3n4O5", "get_time")]}),
        c.delta({"tool_calls": [_args(2, '{"timezone": ')]}),
        c.delta({"tool_calls": [_args(2, '"Europe/London"}')]}),
        c.delta({}, "tool_calls"),
        c.usage(149, 72, cached=64),
    )


def _reasoning() -> str:
    c = _Chunks("chatcmpl-7f3e9a1c2b4d", 1741476800, "deepseek-reasoner", usage_opt_in=True, fingerprint=None)
    chunks: List[Dict[str, Any]] = [
        c.delta({"role": "assistant", "content": None, "reasoning_content": ""}),
        c.delta({"content": None, "reasoning_content": "The user asks for"}),
        c.delta({"content": None, "reasoning_content": " 17 * 23. 17 * 20 = 340,"}),
        c.delta({"content": None, "reasoning_content": " 17 * 3 = 51, so 391."}),
        c.delta({"content": "17 * 23", "reasoning_content": None}),
        c.delta({"content": " = **391**.", "reasoning_content": None}),
        c.delta({"content": "", "reasoning_content": None}, "stop"),
        c.usage(18, 61, reasoning=44),
    ]
    for chunk in chunks:
        chunk.pop("obfuscation")  # compatible servers do not pad
        for choice in chunk["choices"]:
            choice.pop("logprobs")
    return _sse(*chunks)


def _refusal() -> str:
    c = _Chunks("chatcmpl-BnT8rX4kLm6Pq2", 1741476900, "gpt-4o-2024-08-06", usage_opt_in=False, fingerprint="fp_a1b2")
    return _sse(
        c.delta({"role": "assistant", "content": "", "refusal": None}),
        c.delta({"refusal": "I'm sorry,"}),
        c.delta({"refusal": " but I can't help"}),
        c.delta({"refusal": " with that request."}),
        c.delta({}, "stop"),
    )


def _usage() -> str:
    c = _Chunks(
        "chatcmpl-BnT9uV6wXy8Za0", 1741477000, "gpt-4o-mini-2024-07-18", usage_opt_in=True, fingerprint="fp_e5f6"
    )
    return _sse(
        c.delta({"role": "assistant", "content": "", "refusal": None}),
        c.delta({"content": "Hello"}),
        c.delta({"content": "! How can I"}),
        c.delta({"content": " help you today?"}),
        c.delta({}, "stop"),
        c.usage(1536, 10, cached=1280),
    )


def _max_tokens() -> str:
    c = _Chunks("chatcmpl-BnTAbC2dEf4Gh6", 1741477100, "gpt-4o-2024-08-06", usage_opt_in=True, fingerprint="fp_a1b2")
    return _sse(
        c.delta({"role": "assistant", "content": "", "refusal": None}),
        c.delta({"content": "Once upon"}),
        c.delta({"content": " a time"}),
        c.delta({}, "length"),
        c.usage(12, 3),
    )


def _text_then_tool_call() -> str:
    c = _Chunks("chatcmpl-BnTBiJ8kLm0No2", 1741477200, "gpt-4o-2024-08-06", usage_opt_in=True, fingerprint="fp_a1b2")
    return _sse(
        c.delta({"role": "assistant", "content": "", "refusal": None}),
        c.delta({"content": "Let me look"}),
        c.delta({"content": " that up."}),
        c.delta({"tool_calls": [_call(0, "call_P3q4R5s6T7", "search_docs")]}),
        c.delta({"tool_calls": [_args(0, '{"query": "refund')]}),
        c.delta({"tool_calls": [_args(0, ' policy", "limit": 3}')]}),
        c.delta({}, "tool_calls"),
        c.usage(230, 41),
    )


STREAMS: Dict[str, str] = {
    "text": _text(),
    "tool_call": _tool_call(),
    "parallel_tool_calls": _parallel_tool_calls(),
    "reasoning": _reasoning(),
    "refusal": _refusal(),
    "usage": _usage(),
    "max_tokens": _max_tokens(),
    "text_then_tool_call": _text_then_tool_call(),
}
