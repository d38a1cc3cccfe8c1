"""Property tests for the non-generation codecs: random and mutated bodies, only `OmniLLMError` escapes.

Whatever decodes must also encode into every format of its family (or fail with an
`OmniLLMError`), and re-encoding is a stable normal form: decoding what was encoded and
encoding it again gives the same body (exactness on realistic bodies is tested elsewhere).
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any, Dict, List, Tuple

from corpus_endpoints import (
    GEMINI_EMBED_REQUESTS,
    GEMINI_EMBED_RESPONSES,
    IMAGE_REQUESTS,
    IMAGE_RESPONSES,
    OPEN_AI_EMBEDDINGS_REQUESTS,
    OPEN_AI_EMBEDDINGS_RESPONSES,
    RERANK_REQUESTS,
    RERANK_RESPONSES,
    SPEECH_REQUESTS,
    TRANSCRIPTION_RESPONSES,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnillm.errors import OmniLLMError
from omnillm.http import MultipartField
from omnillm.protocols import endpoint_codec

SEEDS: List[Tuple[str, str, Dict[str, Any]]] = [
    (fmt, side, body)
    for fmt, side, corpus in (
        ("open_ai_embeddings", "request", OPEN_AI_EMBEDDINGS_REQUESTS),
        ("open_ai_embeddings", "response", OPEN_AI_EMBEDDINGS_RESPONSES),
        ("gemini_embed_content", "request", GEMINI_EMBED_REQUESTS),
        ("gemini_embed_content", "response", GEMINI_EMBED_RESPONSES),
        ("open_ai_image_generations", "request", IMAGE_REQUESTS),
        ("open_ai_image_generations", "response", IMAGE_RESPONSES),
        ("open_ai_audio_speech", "request", SPEECH_REQUESTS),
        ("open_ai_audio_transcriptions", "response", TRANSCRIPTION_RESPONSES),
        ("open_ai_rerank", "request", RERANK_REQUESTS),
        ("open_ai_rerank", "response", RERANK_RESPONSES),
    )
    for _, body in corpus
]

FAMILY_TARGETS = {
    "open_ai_embeddings": ["open_ai_embeddings", "gemini_embed_content"],
    "gemini_embed_content": ["open_ai_embeddings", "gemini_embed_content"],
}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


def _paths(value: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_paths(v, (*prefix, i)))
    return found


def _mutate(payload: Any, path: Tuple[Any, ...], delete: bool, replacement: Any) -> Any:
    if not path:
        return replacement
    doc = copy.deepcopy(payload)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return doc


def _exercise(fmt: str, side: str, doc: Any) -> None:
    module = endpoint_codec(fmt)
    try:
        decoded = getattr(module, f"decode_{side}")(copy.deepcopy(doc))
    except OmniLLMError:
        return
    encode = getattr(module, f"encode_{side}")
    once = encode(decoded)
    assert encode(getattr(module, f"decode_{side}")(copy.deepcopy(once))) == once
    for target in FAMILY_TARGETS.get(fmt, []):
        with contextlib.suppress(OmniLLMError):
            getattr(endpoint_codec(target), f"encode_{side}")(decoded)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_corpus_bodies_only_raise_omnillm_errors(data: st.DataObject) -> None:
    fmt, side, seed = data.draw(st.sampled_from(SEEDS))
    path = data.draw(st.sampled_from(_paths(seed)))
    delete = bool(path) and data.draw(st.booleans())
    doc = _mutate(seed, path, delete, None if delete else data.draw(json_values))
    _exercise(fmt, side, doc)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted({(fmt, side) for fmt, side, _ in SEEDS})), json_values)
def test_random_values_only_raise_omnillm_errors(target: Tuple[str, str], doc: Any) -> None:
    _exercise(target[0], target[1], doc)


fields = st.lists(
    st.builds(
        MultipartField,
        name=st.sampled_from(
            [
                "model",
                "file",
                "language",
                "prompt",
                "temperature",
                "stream",
                "include[]",
                "timestamp_granularities[]",
                "x",
            ]
        ),
        value=st.one_of(st.text(max_size=6), st.binary(max_size=6), st.sampled_from(["true", "0.5", "json", "1"])),
        filename=st.one_of(st.none(), st.just("a.wav")),
        content_type=st.one_of(st.none(), st.just("audio/wav")),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(fields)
def test_transcription_fields_only_raise_omnillm_errors(form: List[MultipartField]) -> None:
    module = endpoint_codec("open_ai_audio_transcriptions")
    try:
        decoded = module.decode_request(form)
    except OmniLLMError:
        return
    out = module.encode_request(decoded)
    assert sorted(f.name for f in out) == sorted(f.name for f in form)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_text_transcripts_always_decode_and_re_encode(text: str) -> None:
    module = endpoint_codec("open_ai_audio_transcriptions")
    assert module.encode_response(module.decode_response(text)) == text
