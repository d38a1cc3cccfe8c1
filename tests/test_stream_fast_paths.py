"""The stream decoders' fast paths decide exactly what their general paths decide.

A fast path recognises the common event (one more text fragment) with a few type checks
and leaves everything else to the general decoding. These tests run every stream we
have, and mutations of them, through the decoder twice (fast path on, and switched off)
and require the same events, the same folded response, or the same error.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streams_open_ai_chat_completions import STREAMS as CHAT_STREAMS

from omnillm import OmniLLMError
from omnillm.protocols import open_ai_chat_completions_stream as chat_stream
from omnillm.stream import StreamAccumulator
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


class _ChatGeneralOnly:
    """Context manager: the chat decoder with its fast path switched off."""

    def __enter__(self) -> None:
        self._saved = chat_stream.StreamDecoder._text_only
        chat_stream.StreamDecoder._text_only = lambda self, chunk: None  # type: ignore[assignment,method-assign]

    def __exit__(self, *exc: object) -> None:
        chat_stream.StreamDecoder._text_only = self._saved  # type: ignore[method-assign]


def _chat_bodies() -> Dict[str, str]:
    bodies = dict(CHAT_STREAMS)
    folder = REAL / CHAT / "streams"
    if folder.is_dir():
        for path in sorted(folder.glob("*.sse")):
            bodies[f"real:{path.stem}"] = path.read_text()
    return bodies


CHAT_BODIES = _chat_bodies()


def test_the_fast_path_takes_most_text_chunks() -> None:
    # Not a timing claim: that the fast path is the one the common chunk takes at all.
    seen: List[bool] = []
    original = chat_stream.StreamDecoder._text_only

    def spy(self: Any, chunk: Any) -> Any:
        result = original(self, chunk)
        seen.append(result is not None)
        return result

    chat_stream.StreamDecoder._text_only = spy  # type: ignore[method-assign]
    try:
        _outcome(CHAT_STREAMS["text"], CHAT)
    finally:
        chat_stream.StreamDecoder._text_only = original  # type: ignore[method-assign]
    assert seen.count(True) == 3  # every content fragment after the one that opened the message


@pytest.mark.parametrize("lean", [False, True])
@pytest.mark.parametrize("name", sorted(CHAT_BODIES))
def test_chat_streams_decode_the_same_either_way(name: str, lean: bool) -> None:
    _both(CHAT_BODIES[name], CHAT, _ChatGeneralOnly, lean)


def _chunks(body: str) -> List[Any]:
    return [json.loads(line[6:]) for line in body.split("\n") if line.startswith("data: ") and line != "data: [DONE]"]


def _sse(chunks: List[Any]) -> str:
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


_VALUES = st.sampled_from(
    [None, 0, 1, -1, 2, True, False, "", "x", " of", [], [{}], {}, {"content": "y"}, 1.5, "stop", {"a": None}]
)


def _places(value: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _places(item, (*prefix, i))
    return found


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_mutated_text_chunks_decode_the_same_either_way(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(["text", "usage", "refusal", "text_then_tool_call", "reasoning"]))
    chunks = _chunks(CHAT_STREAMS[name])
    at = data.draw(st.integers(0, len(chunks) - 1))
    chunk = copy.deepcopy(chunks[at])
    place = data.draw(st.sampled_from(_places(chunk)[1:]))
    *parent_path, last = place
    parent = chunk
    for step in parent_path:
        parent = parent[step]
    action = data.draw(st.sampled_from(["set", "drop", "add"]))
    if action == "drop" and isinstance(parent, dict):
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[data.draw(st.sampled_from(["extra", "role", "content", "refusal", "tool_calls", "usage", "error"]))] = (
            data.draw(_VALUES)
        )
    else:
        parent[last] = data.draw(_VALUES)
    chunks[at] = chunk
    _both(_sse(chunks), CHAT, _ChatGeneralOnly, lean=data.draw(st.booleans()))
