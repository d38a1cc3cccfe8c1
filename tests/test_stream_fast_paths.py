"""The stream decoders' fast paths decide exactly what their general paths decide.

A fast path recognises the common event (one more text fragment) with a few type checks
and leaves everything else to the general decoding. These tests run every stream we
have, and mutations of them, through the decoder twice (fast path on, and switched off)
and require the same events, the same folded response, or the same error.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any, Callable, Iterator, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streams_anthropic_messages import STREAMS as ANTHROPIC_STREAMS
from streams_gemini_generate_content import STREAMS as GEMINI_STREAMS
from streams_open_ai_chat_completions import STREAMS as CHAT_STREAMS
from streams_open_ai_responses import STREAMS as RESPONSES_STREAMS

from omnillm import OmniLLMError
from omnillm.protocols import anthropic_messages_stream as anthropic_stream
from omnillm.protocols import gemini_generate_content_stream as gemini_stream
from omnillm.protocols import open_ai_chat_completions_stream as chat_stream
from omnillm.protocols import open_ai_responses_stream as responses_stream
from omnillm.stream import StreamAccumulator, TextDelta
from omnillm.streaming import decode_stream

CHAT = "open_ai_chat_completions"
REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"


def _outcome(body: str, fmt: str, lean: bool = False) -> Tuple[str, Any]:
    acc = StreamAccumulator()
    try:
        events = list(decode_stream([body.encode()], fmt, accumulator=acc, lean=lean))
    except OmniLLMError as exc:
        return "error", (type(exc).__name__, str(exc))
    return "ok", (events, acc.response())


def _both(body: str, fmt: str, switch_off: Callable[[], Any], lean: bool = False) -> None:
    fast = _outcome(body, fmt, lean)
    with switch_off():
        general = _outcome(body, fmt, lean)
    assert fast == general


DECODERS = {
    CHAT: chat_stream.StreamDecoder,
    "anthropic_messages": anthropic_stream.StreamDecoder,
    "open_ai_responses": responses_stream.StreamDecoder,
    "gemini_generate_content": gemini_stream.StreamDecoder,
}
CORPORA = {
    CHAT: CHAT_STREAMS,
    "anthropic_messages": ANTHROPIC_STREAMS,
    "open_ai_responses": RESPONSES_STREAMS,
    "gemini_generate_content": GEMINI_STREAMS,
}


@contextlib.contextmanager
def _general_only(fmt: str) -> Iterator[None]:
    """The decoder of ``fmt`` with its fast path switched off."""
    decoder = DECODERS[fmt]
    saved = decoder._text_only
    decoder._text_only = lambda self, *payload: None  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        decoder._text_only = saved  # type: ignore[method-assign]


def _bodies() -> List[Tuple[str, str, str]]:
    found = []
    for fmt, corpus in CORPORA.items():
        found += [(fmt, name, body) for name, body in corpus.items()]
        folder = REAL / fmt / "streams"
        if folder.is_dir():
            found += [(fmt, f"real:{path.stem}", path.read_text()) for path in sorted(folder.glob("*.sse"))]
    return found


BODIES = _bodies()
# Fast-path text deltas in each corpus "text" stream: Chat 3 of 4 and Gemini 2 of 4 (the
# first opens the message; Gemini's last also finishes), Anthropic 3 of 3, Responses 9 of 9
# (their items open with events of their own).
FAST_IN_TEXT = {CHAT: 3, "anthropic_messages": 3, "open_ai_responses": 9, "gemini_generate_content": 2}


@pytest.mark.parametrize("fmt, name", [(fmt, name) for fmt, name, _ in BODIES])
def test_the_fast_path_takes_text_fragments(fmt: str, name: str) -> None:
    # Not a timing claim: that the fast path is the one text fragments take at all.
    body = dict(((f, n), b) for f, n, b in BODIES)[(fmt, name)]
    decoder = DECODERS[fmt]
    seen: List[bool] = []
    original = decoder._text_only

    def spy(self: Any, *payload: Any) -> Any:
        result = original(self, *payload)
        seen.append(result is not None)
        return result

    decoder._text_only = spy  # type: ignore[method-assign]
    try:
        outcome, value = _outcome(body, fmt)
    finally:
        decoder._text_only = original  # type: ignore[method-assign]
    fast = seen.count(True)
    if outcome == "ok":
        deltas = sum(isinstance(e, TextDelta) for e in value[0])
        assert fast <= deltas  # the fast path only ever makes text deltas
    if name == "text":
        assert fast == FAST_IN_TEXT[fmt]


@pytest.mark.parametrize("lean", [False, True])
@pytest.mark.parametrize("fmt, name", [(fmt, name) for fmt, name, _ in BODIES])
def test_streams_decode_the_same_either_way(fmt: str, name: str, lean: bool) -> None:
    body = dict(((f, n), b) for f, n, b in BODIES)[(fmt, name)]
    _both(body, fmt, lambda: _general_only(fmt), lean)


def _payloads(body: str) -> List[Tuple[str, Any]]:
    """The (event name, JSON payload) pairs of an SSE body, [DONE] left out."""
    out = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data and data != ["[DONE]"]:
            out.append((name, json.loads("\n".join(data))))
    return out


def _sse(fmt: str, events: List[Tuple[str, Any]]) -> str:
    text = "".join((f"event: {name}\n" if name else "") + f"data: {json.dumps(p)}\n\n" for name, p in events)
    return text + ("data: [DONE]\n\n" if fmt == CHAT else "")


_VALUES = st.sampled_from(
    [None, 0, 1, -1, 2, 1.0, True, False, "", "x", " of", [], [{}], {}, {"content": "y"}, "stop", {"a": None}]
)
_KEYS = [
    *("extra", "role", "content", "refusal", "tool_calls", "usage", "error", "index", "type", "delta", "text"),
    *("parts", "thought", "thoughtSignature", "finishReason", "usageMetadata", "promptFeedback", "functionCall"),
]


def _places(value: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _places(item, (*prefix, i))
    return found


MUTABLE = {
    CHAT: ["text", "usage", "refusal", "text_then_tool_call", "reasoning"],
    "anthropic_messages": ["text", "refusal", "usage", "stop_sequence", "reasoning"],
    "open_ai_responses": ["text", "refusal", "usage", "text_and_tool", "reasoning_text"],
    "gemini_generate_content": ["text", "usage", "text_then_tool_call", "reasoning", "max_tokens", "safety"],
}


@settings(max_examples=800, deadline=None)
@given(data=st.data())
def test_mutated_streams_decode_the_same_either_way(data: st.DataObject) -> None:
    fmt = data.draw(st.sampled_from(sorted(MUTABLE)))
    events = _payloads(CORPORA[fmt][data.draw(st.sampled_from(MUTABLE[fmt]))])
    at = data.draw(st.integers(0, len(events) - 1))
    name, payload = events[at]
    payload = copy.deepcopy(payload)
    place = data.draw(st.sampled_from(_places(payload)[1:]))
    *parent_path, last = place
    parent = payload
    for step in parent_path:
        parent = parent[step]
    action = data.draw(st.sampled_from(["set", "drop", "add"]))
    if action == "drop" and isinstance(parent, dict):
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[data.draw(st.sampled_from(_KEYS))] = data.draw(_VALUES)
    else:
        parent[last] = data.draw(_VALUES)
    events[at] = (name, payload)
    if data.draw(st.booleans()):
        # Out of order as well: a copy of some event elsewhere (a delta after its block or
        # item closed, before it opened, after the end).
        source = data.draw(st.integers(0, len(events) - 1))
        events.insert(data.draw(st.integers(0, len(events))), events[source])
    _both(_sse(fmt, events), fmt, lambda: _general_only(fmt), lean=data.draw(st.booleans()))
