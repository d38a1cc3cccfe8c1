"""Property tests: random and mutated wire dicts into every decoder and encoder.

Whatever the input, only `OmniLLMError` subclasses may escape; never a bare
KeyError, TypeError, AttributeError, IndexError or ValueError, and never a hang.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
from typing import Any, List, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import omnillm
from omnillm.protocols import codec
from omnillm.wire import GENERATION_FORMATS

FORMATS = [f.value for f in GENERATION_FORMATS]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False), st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


def _payloads(kind: str) -> List[Tuple[str, Any]]:
    out = []
    for fmt in FORMATS:
        corpus = importlib.import_module(f"corpus_{fmt}")
        out.extend((fmt, payload) for payload in getattr(corpus, kind).values())
    return out


def _paths(value: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_paths(v, (*prefix, i)))
    return found


def _mutate(payload: Any, path: Tuple[Any, ...], action: str, replacement: Any) -> Any:
    doc = copy.deepcopy(payload)
    if not path:
        return replacement
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "delete":
        del parent[last]
    else:
        parent[last] = replacement
    return doc


def _exercise(fmt: str, kind: str, doc: Any) -> None:
    module = codec(fmt)
    decode = module.decode_request if kind == "REQUESTS" else module.decode_response
    try:
        decoded = decode(doc)
    except omnillm.OmniLLMError:
        return
    # Whatever decoded must encode into every format without a bare exception.
    for target in FORMATS:
        try:
            if kind == "REQUESTS":
                codec(target).encode_request(decoded)
            else:
                codec(target).encode_response(decoded)
        except omnillm.OmniLLMError:
            pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(FORMATS), kind=st.sampled_from(["REQUESTS", "RESPONSES"]), doc=json_values)
def test_random_json_only_raises_omnillm_errors(fmt: str, kind: str, doc: Any) -> None:
    if not isinstance(doc, dict):
        doc = {"model": "m", "messages": doc, "input": doc, "contents": doc, "output": doc, "choices": doc}
    _exercise(fmt, kind, doc)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kind=st.sampled_from(["REQUESTS", "RESPONSES"]))
def test_mutated_payloads_only_raise_omnillm_errors(data: st.DataObject, kind: str) -> None:
    fmt, payload = data.draw(st.sampled_from(_payloads(kind)))
    path = data.draw(st.sampled_from(_paths(payload)))
    action = data.draw(st.sampled_from(["delete", "replace"])) if path else "replace"
    replacement = data.draw(json_values)
    _exercise(fmt, kind, _mutate(payload, path, action, replacement))


@settings(max_examples=200, deadline=None)
@given(fmt=st.sampled_from(FORMATS), text=st.text(max_size=40))
def test_random_text_only_raises_omnillm_errors(fmt: str, text: str) -> None:
    for target in FORMATS:
        with contextlib.suppress(omnillm.OmniLLMError):
            omnillm.transcode_request(text, fmt, target)
        with contextlib.suppress(omnillm.OmniLLMError):
            omnillm.transcode_response(text.encode("utf-8", "surrogatepass"), fmt, target)
