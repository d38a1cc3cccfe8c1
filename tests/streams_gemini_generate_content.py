"""Hand-written Gemini ``streamGenerateContent?alt=sse`` streams, shaped like what the API sends.

Each value is a complete ``text/event-stream`` body: one ``data: <GenerateContentResponse>``
event per chunk, CRLF line ends as Google writes them, no event names and no terminator.
Chunks carry what the API repeats on every chunk (``usageMetadata`` with running totals,
``modelVersion``, ``responseId``); candidate 0's ``index`` is written as Gemini 2.5 and 3
write it. Function calls arrive whole, with the ``thoughtSignature`` thinking models put
on the first call; the final chunk of a reply often carries an empty text part next to
``finishReason``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

SIGNATURE_A = "CiQBjz1rX2Wm9R0sLkQfZs3nVd8aQ2r7uJtY1pE4oHcK6gXbN0w="
SIGNATURE_B = "EqsFCqgFAb4+9vtAF5n87lB4OGDOoTRMOqp35jW65XsYXh6BySMw"


def _sse(*chunks: Dict[str, Any]) -> str:
    return "".join(f"data: {json.dumps(c, separators=(',', ':'), ensure_ascii=False)}\r\n\r\n" for c in chunks)


class _Chunks:
    """Chunk builder for one response: the fields every chunk of it repeats."""

    def __init__(self, response_id: str, model: str, prompt: int) -> None:
        self.response_id = response_id
        self.model = model
        self.prompt = prompt

    def usage(
        self, candidates: Optional[int] = None, thoughts: Optional[int] = None, cached: Optional[int] = None
    ) -> Dict[str, Any]:
        usage: Dict[str, Any] = {"promptTokenCount": self.prompt}
        if candidates is not None:
            usage["candidatesTokenCount"] = candidates
        total = self.prompt + (candidates or 0) + (thoughts or 0)
        usage["totalTokenCount"] = total
        if cached is not None:
            usage["cachedContentTokenCount"] = cached
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": self.prompt}]
        if thoughts is not None:
            usage["thoughtsTokenCount"] = thoughts
        return usage

    def chunk(
        self,
        parts: List[Dict[str, Any]],
        usage: Dict[str, Any],
        finish: Optional[str] = None,
        **candidate: Any,
    ) -> Dict[str, Any]:
        cand: Dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
        if finish is not None:
            cand["finishReason"] = finish
        cand["index"] = 0
        cand.update(candidate)
        return {
            "candidates": [cand],
            "usageMetadata": usage,
            "modelVersion": self.model,
            "responseId": self.response_id,
        }


def _text(text: str) -> Dict[str, Any]:
    return {"text": text}


def _thought(text: str, signature: Optional[str] = None) -> Dict[str, Any]:
    part: Dict[str, Any] = {"text": text, "thought": True}
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def _call(name: str, args: Dict[str, Any], signature: Optional[str] = None) -> Dict[str, Any]:
    part: Dict[str, Any] = {"functionCall": {"name": name, "args": args}}
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


_SAFETY_RATINGS = [
    {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True},
    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
]


def _plain_text() -> str:
    c = _Chunks("qX7LaPnWBI2mz7IPpN3T8Qs", "gemini-2.5-flash", prompt=8)
    return _sse(
        c.chunk([_text("The capital")], c.usage()),
        c.chunk([_text(" of France is Paris — a city of")], c.usage()),
        c.chunk([_text(" cafés, museums and 2.1 million people")], c.usage()),
        c.chunk([_text(". 🥐")], c.usage(24), "STOP"),
    )


def _tool_call() -> str:
    c = _Chunks("b36LacjwM668nsEP2tbsgQQ", "gemini-3-pro-preview", prompt=29)
    return _sse(
        c.chunk([_call("get_weather", {"city": "Paris", "unit": "celsius"}, SIGNATURE_A)], c.usage(15, 45)),
        c.chunk([_text("")], c.usage(15, 45), "STOP"),
    )


def _parallel_tool_calls() -> str:
    c = _Chunks("Wm2LaK3vHfCQ1MkP8ZqB2Ao", "gemini-2.5-pro", prompt=142)
    first = [
        _call("get_weather", {"city": "Edinburgh", "country": "UK"}, SIGNATURE_A),
        _call("get_stock_price", {"ticker": "AAPL", "exchange": "NASDAQ"}),
    ]
    return _sse(
        c.chunk(first, c.usage(30, 210)),
        c.chunk([_call("get_time", {"timezone": "Europe/London", "format": {"hour24": True, "seconds": None}})],
                c.usage(41, 210)),
        c.chunk([_text("")], c.usage(41, 210), "STOP"),
    )  # fmt: skip


def _text_then_tool_call() -> str:
    c = _Chunks("tX0LaZ2oE9Kk1MkPqOrT4Qc", "gemini-2.5-flash", prompt=230)
    return _sse(
        c.chunk([_text("Let me look")], c.usage()),
        c.chunk([_text(" that up in the docs.")], c.usage(8)),
        c.chunk([_call("search_docs", {"query": "refund policy", "limit": 3, "filters": ["eu", "b2c"]})], c.usage(33)),
        c.chunk([_text("")], c.usage(33), "STOP"),
    )


def _reasoning() -> str:
    c = _Chunks("0J-HaJetAqv0jrEPwu-tsQ0", "gemini-2.5-flash", prompt=10)
    return _sse(
        c.chunk([_thought("**Working out 17 * 23**\n\nI split it: 17 * 20 = 340,")], c.usage(None, 70)),
        c.chunk([_thought(" and 17 * 3 = 51.\n\n")], c.usage(None, 118)),
        c.chunk([_thought("**Checking the sum**\n\n340 + 51 = 391.")], c.usage(None, 160)),
        c.chunk([_text("17 * 23")], c.usage(4, 160)),
        c.chunk([_text(" = **391**.")], c.usage(9, 160)),
        c.chunk([{"text": "", "thoughtSignature": SIGNATURE_B}], c.usage(9, 160), "STOP"),
    )


def _reasoning_signed_thought() -> str:
    c = _Chunks("Rk5LaOq0M8ybz7IP7a2VqAk", "gemini-3-pro-preview", prompt=16)
    return _sse(
        c.chunk([_thought("**Picking a greeting**\n\nA short, warm reply fits.", SIGNATURE_A)], c.usage(None, 40)),
        c.chunk([_text("Hello! How can I help you today?")], c.usage(9, 40), "STOP"),
    )


def _usage() -> str:
    c = _Chunks("uS4LaM1xC7Pn1MkPz9aX6Ag", "gemini-2.5-pro", prompt=1536)
    return _sse(
        c.chunk([_text("Hello")], c.usage(1, 12, cached=1280)),
        c.chunk([_text("! How can I")], c.usage(5, 12, cached=1280)),
        c.chunk([_text(" help you today?")], c.usage(10, 12, cached=1280), "STOP"),
    )


def _max_tokens() -> str:
    c = _Chunks("mT5LaBz3D1Qo1MkPlYcN8Aw", "gemini-2.5-flash", prompt=12)
    return _sse(
        c.chunk([_text("Once upon")], c.usage(2)),
        c.chunk([_text(" a time")], c.usage(4), "MAX_TOKENS"),
    )


def _safety() -> str:
    c = _Chunks("sF6LaHw5G3Rp1MkPkXdM0Aq", "gemini-2.5-flash", prompt=14)
    return _sse(
        c.chunk([_text("I can't help with")], c.usage(4)),
        {
            "candidates": [{"finishReason": "SAFETY", "index": 0, "safetyRatings": _SAFETY_RATINGS}],
            "usageMetadata": c.usage(4),
            "modelVersion": c.model,
            "responseId": c.response_id,
        },
    )


def _prompt_blocked() -> str:
    return _sse(
        {
            "promptFeedback": {"blockReason": "PROHIBITED_CONTENT", "safetyRatings": _SAFETY_RATINGS},
            "usageMetadata": {"promptTokenCount": 11, "totalTokenCount": 11},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "pB7LaJx6H4Sq1MkPjWeL2Aj",
        }
    )


def _error() -> str:
    c = _Chunks("eR8LaKy7I5Tr1MkPiVfK4Ak", "gemini-2.5-flash", prompt=9)
    error = {
        "error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}
    }
    return _sse(c.chunk([_text("Partial")], c.usage()), c.chunk([_text(" answer")], c.usage()), error)


STREAMS: Dict[str, str] = {
    "text": _plain_text(),
    "tool_call": _tool_call(),
    "parallel_tool_calls": _parallel_tool_calls(),
    "text_then_tool_call": _text_then_tool_call(),
    "reasoning": _reasoning(),
    "reasoning_signed_thought": _reasoning_signed_thought(),
    "usage": _usage(),
    "max_tokens": _max_tokens(),
    "safety": _safety(),
    "prompt_blocked": _prompt_blocked(),
    "error": _error(),
}
