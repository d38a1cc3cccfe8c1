"""Hand-written OpenAI Responses streams (``stream: true``), shaped like what the API sends.

Each stream is built from its event payloads: `_sse` numbers them (``sequence_number``
0..n) and frames them as ``event: <type>`` + ``data: <json>``, exactly as the API does.
Ids, texts and token counts are made up.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

Obj = Dict[str, Any]


def _sse(events: List[Obj]) -> str:
    out = []
    for n, event in enumerate(events):
        payload = {"type": event["type"], "sequence_number": n, **event}
        out.append(f"event: {event['type']}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n")
    return "".join(out)


def _response(
    rid: str,
    status: str,
    output: List[Obj],
    usage: Optional[Obj] = None,
    *,
    model: str = "gpt-5-2025-08-07",
    incomplete: Optional[str] = None,
    effort: Optional[str] = None,
    tools: Optional[List[Obj]] = None,
) -> Obj:
    return {
        "id": rid,
        "object": "response",
        "created_at": 1763474589,
        "status": status,
        "background": False,
        "completed_at": 1763474593 if status == "completed" else None,
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": None,
        "max_output_tokens": 64 if incomplete == "max_output_tokens" else None,
        "max_tool_calls": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "prompt_cache_key": None,
        "reasoning": {"effort": effort, "summary": "auto" if effort else None},
        "safety_identifier": None,
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": tools or [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def _usage(inp: int, out: int, cached: int = 0, reasoning: int = 0, cache_write: int = 0) -> Obj:
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": cache_write},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": inp + out,
    }


def _start(rid: str, **kw: Any) -> List[Obj]:
    return [
        {"type": "response.created", "response": _response(rid, "in_progress", [], **kw)},
        {"type": "response.in_progress", "response": _response(rid, "in_progress", [], **kw)},
    ]


def _text_part(text: str) -> Obj:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _message_events(
    output_index: int, mid: str, deltas: List[str], *, status: str = "completed", phase: Optional[str] = None
) -> List[Obj]:
    text = "".join(deltas)
    ref = {"item_id": mid, "output_index": output_index, "content_index": 0}
    added: Obj = {"id": mid, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
    done: Obj = {"id": mid, "type": "message", "status": status, "content": [_text_part(text)], "role": "assistant"}
    if phase is not None:
        added["phase"] = done["phase"] = phase
    return [
        {"type": "response.output_item.added", "output_index": output_index, "item": added},
        {"type": "response.content_part.added", **ref, "part": _text_part("")},
        *[{"type": "response.output_text.delta", **ref, "delta": d, "logprobs": []} for d in deltas],
        {"type": "response.output_text.done", **ref, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **ref, "part": _text_part(text)},
        {"type": "response.output_item.done", "output_index": output_index, "item": done},
    ]


def _message_item(mid: str, text: str, status: str = "completed") -> Obj:
    return {"id": mid, "type": "message", "status": status, "content": [_text_part(text)], "role": "assistant"}


def _call_events(output_index: int, fid: str, call_id: str, name: str, deltas: List[str]) -> List[Obj]:
    arguments = "".join(deltas)
    ref = {"item_id": fid, "output_index": output_index}
    item = {
        "id": fid,
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": call_id,
        "name": name,
    }
    return [
        {"type": "response.output_item.added", "output_index": output_index, "item": item},
        *[{"type": "response.function_call_arguments.delta", **ref, "delta": d} for d in deltas],
        {"type": "response.function_call_arguments.done", **ref, "arguments": arguments},
        {
            "type": "response.output_item.done",
            "output_index": output_index,
            "item": {**item, "status": "completed", "arguments": arguments},
        },
    ]


def _call_item(fid: str, call_id: str, name: str, arguments: str) -> Obj:
    return {
        "id": fid,
        "type": "function_call",
        "status": "completed",
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}


def _text() -> str:
    rid, mid = "resp_68f1a0c3b2e48190a1", "msg_68f1a0c4d5f08190b2"
    deltas = ["Hello", "!", " How", " can", " I", " help", " you", " today", "?"]
    return _sse(
        [
            *_start(rid),
            *_message_events(0, mid, deltas),
            {
                "type": "response.completed",
                "response": _response(rid, "completed", [_message_item(mid, "".join(deltas))], _usage(12, 11)),
            },
        ]
    )


def _tool_call() -> str:
    rid, fid = "resp_68f1a1e7c0a88190c3", "fc_68f1a1e8a1b48190d4"
    deltas = ['{"', "city", '":"', "Paris", '"}']
    return _sse(
        [
            *_start(rid, tools=[WEATHER_TOOL]),
            *_call_events(0, fid, "call_k3J9xQeWm2", "get_weather", deltas),
            {
                "type": "response.completed",
                "response": _response(
                    rid,
                    "completed",
                    [_call_item(fid, "call_k3J9xQeWm2", "get_weather", '{"city":"Paris"}')],
                    _usage(74, 18),
                    tools=[WEATHER_TOOL],
                ),
            },
        ]
    )


def _parallel_tool_calls() -> str:
    rid = "resp_68f1a2b9e7c48190e5"
    calls = [
        (
            "fc_68f1a2bad0c88190f6",
            "call_Pq81",
            ["{", '"ci', 'ty":', ' "Pa', "ris", '",', ' "unit', '": "c', 'elsius"', "}"],
        ),
        ("fc_68f1a2bb0a208190a7", "call_Rt92", ['{"city', '": "', "Tok", "yo", '", "unit": ', '"celsius"}']),
        ("fc_68f1a2bb3c1c8190b8", "call_Sv03", ['{"c', 'ity": "New', " York", '", "un', 'it": "fahr', 'enheit"}']),
    ]
    events = [*_start(rid, tools=[WEATHER_TOOL])]
    output = []
    for i, (fid, call_id, deltas) in enumerate(calls):
        events.extend(_call_events(i, fid, call_id, "get_weather", deltas))
        output.append(_call_item(fid, call_id, "get_weather", "".join(deltas)))
    events.append(
        {
            "type": "response.completed",
            "response": _response(rid, "completed", output, _usage(96, 71), tools=[WEATHER_TOOL]),
        }
    )
    return _sse(events)


ENCRYPTED = "gAAAAABo8aPZ3xS1k2q9Lw8VnR0c4YtA7uJm5eHfK1pGd6sQzB0vXy2WcN3rT8iE4oU9aD5lS7gF1hJ6kP0mZ2xC=="


def _reasoning() -> str:
    rid, rsid, mid = "resp_68f1a3c4f2d88190c9", "rs_68f1a3c5a3e08190da", "msg_68f1a3d1b4f88190eb"
    summary = [
        ["**Comparing", " numbers**\n\n", "9.11 has", " fewer tenths than 9.9."],
        ["**Answer", "ing**\n\nSo ", "9.9 is larger."],
    ]
    ref = {"item_id": rsid, "output_index": 0}
    events: List[Obj] = [
        *_start(rid, effort="medium"),
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"id": rsid, "type": "reasoning", "encrypted_content": "gAAAAABo8aPZpartial==", "summary": []},
        },
    ]
    for si, deltas in enumerate(summary):
        text = "".join(deltas)
        sref = {**ref, "summary_index": si}
        events.append(
            {"type": "response.reasoning_summary_part.added", **sref, "part": {"type": "summary_text", "text": ""}}
        )
        events.extend({"type": "response.reasoning_summary_text.delta", **sref, "delta": d} for d in deltas)
        events.append({"type": "response.reasoning_summary_text.done", **sref, "text": text})
        events.append(
            {"type": "response.reasoning_summary_part.done", **sref, "part": {"type": "summary_text", "text": text}}
        )
    reasoning_item = {
        "id": rsid,
        "type": "reasoning",
        "encrypted_content": ENCRYPTED,
        "summary": [{"type": "summary_text", "text": "".join(d)} for d in summary],
    }
    events.append({"type": "response.output_item.done", "output_index": 0, "item": reasoning_item})
    answer = ["9.9", " is", " larger", " than", " 9.11", "."]
    events.extend(_message_events(1, mid, answer))
    events.append(
        {
            "type": "response.completed",
            "response": _response(
                rid,
                "completed",
                [reasoning_item, _message_item(mid, "".join(answer))],
                _usage(31, 402, reasoning=384),
                effort="medium",
            ),
        }
    )
    return _sse(events)


def _reasoning_text() -> str:
    """Raw reasoning as ``reasoning_text`` content (open-weight models behind a Responses server)."""
    rid, rsid, mid = "resp_oss_5d1e", "rs_oss_5d1e_0", "msg_oss_5d1e_1"
    ref = {"item_id": rsid, "output_index": 0, "content_index": 0}
    thought = ["The user", " asks for", " a greeting.", " Keep it short."]
    item = {
        "id": rsid,
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "".join(thought)}],
    }
    return _sse(
        [
            *_start(rid, model="gpt-oss-120b"),
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"id": rsid, "type": "reasoning", "summary": [], "content": []},
            },
            {"type": "response.content_part.added", **ref, "part": {"type": "reasoning_text", "text": ""}},
            *[{"type": "response.reasoning_text.delta", **ref, "delta": d} for d in thought],
            {"type": "response.reasoning_text.done", **ref, "text": "".join(thought)},
            {"type": "response.content_part.done", **ref, "part": {"type": "reasoning_text", "text": "".join(thought)}},
            {"type": "response.output_item.done", "output_index": 0, "item": item},
            *_message_events(1, mid, ["Hi", " there", "!"]),
            {
                "type": "response.completed",
                "response": _response(
                    rid,
                    "completed",
                    [item, _message_item(mid, "Hi there!")],
                    _usage(20, 31, reasoning=24),
                    model="gpt-oss-120b",
                ),
            },
        ]
    )


def _refusal() -> str:
    rid, mid = "resp_68f1a4e0c5a88190fc", "msg_68f1a4e1d6b08190ad"
    ref = {"item_id": mid, "output_index": 0, "content_index": 0}
    deltas = ["I'm sorry", ", but I", " can't help", " with that."]
    text = "".join(deltas)
    part = {"type": "refusal", "refusal": text}
    item = {"id": mid, "type": "message", "status": "completed", "content": [part], "role": "assistant"}
    return _sse(
        [
            *_start(rid),
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**item, "status": "in_progress", "content": []},
            },
            {"type": "response.content_part.added", **ref, "part": {"type": "refusal", "refusal": ""}},
            *[{"type": "response.refusal.delta", **ref, "delta": d} for d in deltas],
            {"type": "response.refusal.done", **ref, "refusal": text},
            {"type": "response.content_part.done", **ref, "part": part},
            {"type": "response.output_item.done", "output_index": 0, "item": item},
            {"type": "response.completed", "response": _response(rid, "completed", [item], _usage(40, 10))},
        ]
    )


def _usage_stream() -> str:
    """Cached prompt tokens, cache writes and reasoning tokens, with a text answer."""
    rid, rsid, mid = "resp_68f1a5f2e7c08190be", "rs_68f1a5f3f8d88190cf", "msg_68f1a5f9a9e08190d0"
    reasoning_item = {"id": rsid, "type": "reasoning", "summary": []}
    deltas = ["The", " capital", " of", " France", " is", " Paris", "."]
    return _sse(
        [
            *_start(rid, effort="low"),
            {"type": "response.output_item.added", "output_index": 0, "item": reasoning_item},
            {"type": "response.output_item.done", "output_index": 0, "item": reasoning_item},
            *_message_events(1, mid, deltas),
            {
                "type": "response.completed",
                "response": _response(
                    rid,
                    "completed",
                    [reasoning_item, _message_item(mid, "".join(deltas))],
                    _usage(6047, 1623, cached=2944, reasoning=1408, cache_write=512),
                    effort="low",
                ),
            },
        ]
    )


def _max_tokens() -> str:
    rid, mid = "resp_68f1a6a0b1c88190e1", "msg_68f1a6a1c2d08190f2"
    deltas = ["Once", " upon", " a", " time", ",", " in", " a"]
    return _sse(
        [
            *_start(rid),
            *_message_events(0, mid, deltas, status="incomplete"),
            {
                "type": "response.incomplete",
                "response": _response(
                    rid,
                    "incomplete",
                    [_message_item(mid, "".join(deltas), "incomplete")],
                    _usage(15, 64),
                    incomplete="max_output_tokens",
                ),
            },
        ]
    )


def _text_and_tool() -> str:
    """A preamble message (phase ``commentary``), then a call: the stop reason is tool use."""
    rid, mid, fid = "resp_68f1a7b3c4e08190a3", "msg_68f1a7b4d5f88190b4", "fc_68f1a7b6e6a08190c5"
    deltas = ["Let", " me", " check", " the", " weather", "."]
    args = ['{"city":', '"Lyon"}']
    return _sse(
        [
            *_start(rid, tools=[WEATHER_TOOL]),
            *_message_events(0, mid, deltas, phase="commentary"),
            *_call_events(1, fid, "call_Ly0n", "get_weather", args),
            {
                "type": "response.completed",
                "response": _response(
                    rid,
                    "completed",
                    [
                        {**_message_item(mid, "".join(deltas)), "phase": "commentary"},
                        _call_item(fid, "call_Ly0n", "get_weather", "".join(args)),
                    ],
                    _usage(88, 30),
                    tools=[WEATHER_TOOL],
                ),
            },
        ]
    )


def _error() -> str:
    rid, mid = "resp_68f1a8c4d5f08190d6", "msg_68f1a8c5e6a88190e7"
    ref = {"item_id": mid, "output_index": 0, "content_index": 0}
    return _sse(
        [
            *_start(rid),
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"id": mid, "type": "message", "status": "in_progress", "content": [], "role": "assistant"},
            },
            {"type": "response.content_part.added", **ref, "part": _text_part("")},
            {"type": "response.output_text.delta", **ref, "delta": "Partial", "logprobs": []},
            {
                "type": "error",
                "code": "server_error",
                "message": "The server had an error while processing your request. Sorry about that!",
                "param": None,
            },
        ]
    )


def _failed() -> str:
    """Text, then ``response.failed`` (status failed, an error object, usage so far)."""
    rid, mid = "resp_68f1a8d7e8a08190f1", "msg_68f1a8d8f9b88190f2"
    ref = {"item_id": mid, "output_index": 0, "content_index": 0}
    failed = _response(rid, "failed", [], _usage(12, 2))
    failed["error"] = {"code": "server_error", "message": "The model produced invalid content."}
    return _sse(
        [
            *_start(rid),
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"id": mid, "type": "message", "status": "in_progress", "content": [], "role": "assistant"},
            },
            {"type": "response.content_part.added", **ref, "part": _text_part("")},
            {"type": "response.output_text.delta", **ref, "delta": "Half an", "logprobs": []},
            {"type": "response.output_text.delta", **ref, "delta": " answer", "logprobs": []},
            {"type": "response.failed", "response": failed},
        ]
    )


STREAMS: Dict[str, str] = {
    "text": _text(),
    "tool_call": _tool_call(),
    "parallel_tool_calls": _parallel_tool_calls(),
    "reasoning": _reasoning(),
    "reasoning_text": _reasoning_text(),
    "refusal": _refusal(),
    "usage": _usage_stream(),
    "max_tokens": _max_tokens(),
    "text_and_tool": _text_and_tool(),
    "error": _error(),
    "failed": _failed(),
}
