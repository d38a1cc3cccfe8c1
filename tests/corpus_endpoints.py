"""Realistic wire bodies for the non-generation endpoint families, shaped after the official SDKs' types.

Each entry is a (name, body) pair; the tests decode, re-encode and compare them, validate
them against the SDKs' own types, and use them as seeds for fuzzing.
"""

from __future__ import annotations

import base64
import sys
from array import array
from typing import Any, Dict, List, Tuple

Body = Dict[str, Any]

VECTOR = [0.0023064255, -0.009327292, 0.015797347, -0.0077780345, 0.5, -1.25]


def float32_base64(values: List[float]) -> str:
    """Pack ``values`` as little-endian float32 with the stdlib ``array`` module (not our codec's struct)."""
    packed = array("f", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def float32_values(values: List[float]) -> List[float]:
    """``values`` rounded to float32, as a base64 round trip returns them."""
    return list(array("f", values))


OPEN_AI_EMBEDDINGS_REQUESTS: List[Tuple[str, Body]] = [
    (
        "single string, float",
        {
            "model": "text-embedding-3-small",
            "input": "The food was delicious and the waiter was friendly.",
            "encoding_format": "float",
        },
    ),
    (
        "batch with dimensions and user",
        {"model": "text-embedding-3-large", "input": ["first doc", "second doc"], "dimensions": 256, "user": "u-42"},
    ),
    ("one-element batch", {"model": "text-embedding-3-small", "input": ["only one"]}),
    ("token ids", {"model": "text-embedding-ada-002", "input": [1212, 318, 257, 1332, 13]}),
    ("token arrays", {"model": "text-embedding-3-small", "input": [[1212, 318], [257, 1332, 13]]}),
    ("base64", {"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "base64"}),
    ("vLLM extra option", {"model": "BAAI/bge-m3", "input": ["x"], "truncate_prompt_tokens": 512}),
]

OPEN_AI_EMBEDDINGS_RESPONSES: List[Tuple[str, Body]] = [
    (
        "float",
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": VECTOR}],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 8, "total_tokens": 8},
        },
    ),
    (
        "base64 batch",
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": 0, "embedding": float32_base64(VECTOR)},
                {"object": "embedding", "index": 1, "embedding": float32_base64([1.0, -2.0, 0.25])},
            ],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 4, "total_tokens": 4},
        },
    ),
    (
        "older Infinity shape",
        {
            "object": "embedding",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
            "model": "BAAI/bge-small-en-v1.5",
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
            "id": "infinity-7c1d",
            "created": 1717000000,
        },
    ),
    (
        "integral values",
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0, 1, -1]}],
            "model": "m",
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        },
    ),
]

GEMINI_EMBED_REQUESTS: List[Tuple[str, Body]] = [
    (
        "single embedContent",
        {
            "content": {"parts": [{"text": "What is the meaning of life?"}]},
            "taskType": "RETRIEVAL_QUERY",
            "outputDimensionality": 768,
        },
    ),
    (
        "single with model and title",
        {
            "model": "models/gemini-embedding-001",
            "content": {"parts": [{"text": "Body of the document"}]},
            "taskType": "RETRIEVAL_DOCUMENT",
            "title": "A title",
        },
    ),
    (
        "google-genai batch",
        {
            "requests": [
                {
                    "content": {"parts": [{"text": "doc one"}], "role": "user"},
                    "taskType": "RETRIEVAL_DOCUMENT",
                    "title": "T",
                    "outputDimensionality": 2,
                    "model": "models/gemini-embedding-001",
                },
                {
                    "content": {"parts": [{"text": "doc two"}], "role": "user"},
                    "taskType": "RETRIEVAL_DOCUMENT",
                    "title": "T",
                    "outputDimensionality": 2,
                    "model": "models/gemini-embedding-001",
                },
            ]
        },
    ),
    (
        "batch with a multi-part content",
        {
            "requests": [
                {"content": {"parts": [{"text": "x"}, {"text": "y"}]}, "model": "models/gemini-embedding-001"},
                {"content": {"parts": [{"text": "plain"}]}, "model": "models/gemini-embedding-001"},
            ]
        },
    ),
    (
        "batch with inline data",
        {
            "requests": [
                {
                    "content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]},
                    "model": "models/gemini-embedding-2",
                }
            ]
        },
    ),
]

GEMINI_EMBED_RESPONSES: List[Tuple[str, Body]] = [
    ("single", {"embedding": {"values": [0.013, -0.008, 0.021]}}),
    ("batch", {"embeddings": [{"values": [0.5, 0.25]}, {"values": [1, 2]}]}),
    (
        "batch with usage",
        {"embeddings": [{"values": [0.1]}], "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5}},
    ),
]

IMAGE_REQUESTS: List[Tuple[str, Body]] = [
    (
        "gpt-image",
        {
            "model": "gpt-image-1.5",
            "prompt": "A watercolor fox in the snow",
            "n": 1,
            "size": "1024x1536",
            "quality": "high",
            "background": "transparent",
            "output_format": "webp",
            "output_compression": 80,
            "moderation": "low",
        },
    ),
    (
        "classic subset",
        {
            "model": "dall-e-3",
            "prompt": "a lighthouse",
            "n": 1,
            "size": "1024x1024",
            "quality": "hd",
            "style": "vivid",
            "response_format": "url",
            "user": "u-1",
        },
    ),
    ("prompt only", {"prompt": "a cat"}),
    ("streaming options", {"model": "gpt-image-1.5", "prompt": "p", "stream": True, "partial_images": 2}),
]

IMAGE_RESPONSES: List[Tuple[str, Body]] = [
    (
        "gpt-image",
        {
            "created": 1741476542,
            "data": [{"b64_json": "iVBORw0KGgo=", "revised_prompt": None, "url": None}],
            "output_format": "png",
            "quality": "high",
            "size": "1024x1024",
            "background": "opaque",
            "usage": {
                "input_tokens": 50,
                "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
                "output_tokens": 4160,
                "total_tokens": 4210,
            },
        },
    ),
    (
        "url with revised prompt",
        {
            "created": 1700000000,
            "data": [{"url": "https://example.com/img.png", "revised_prompt": "A tall lighthouse at dusk"}],
        },
    ),
    ("no data", {"created": 1700000001}),
]

TRANSCRIPTION_RESPONSES: List[Tuple[str, Body]] = [
    ("json", {"text": "Hello there."}),
    (
        "json with token usage",
        {
            "text": "Hi.",
            "usage": {
                "type": "tokens",
                "input_tokens": 14,
                "output_tokens": 45,
                "total_tokens": 59,
                "input_token_details": {"text_tokens": 0, "audio_tokens": 14},
            },
            "logprobs": [{"token": "Hi", "logprob": -0.01, "bytes": [72, 105]}],
        },
    ),
    (
        "verbose",
        {
            "task": "transcribe",
            "language": "english",
            "duration": 8.47,
            "text": "The beach was a popular spot.",
            "segments": [
                {
                    "id": 0,
                    "seek": 0,
                    "start": 0.0,
                    "end": 3.32,
                    "text": " The beach was a popular spot.",
                    "tokens": [50364, 440, 7534],
                    "temperature": 0.0,
                    "avg_logprob": -0.286,
                    "compression_ratio": 1.25,
                    "no_speech_prob": 0.0089,
                }
            ],
            "words": [{"word": "The", "start": 0.0, "end": 0.24}, {"word": "beach", "start": 0.24, "end": 0.6}],
            "usage": {"type": "duration", "seconds": 9},
        },
    ),
    (
        "diarized",
        {
            "task": "transcribe",
            "duration": 4.2,
            "text": "Hi. Hello.",
            "segments": [
                {
                    "type": "transcript.text.segment",
                    "id": "seg_0",
                    "start": 0.0,
                    "end": 1.1,
                    "text": "Hi.",
                    "speaker": "A",
                },
                {
                    "type": "transcript.text.segment",
                    "id": "seg_1",
                    "start": 1.3,
                    "end": 2.0,
                    "text": "Hello.",
                    "speaker": "B",
                },
            ],
        },
    ),
]

TRANSCRIPTION_TEXT_BODIES: List[Tuple[str, str]] = [
    ("text", "Hello there, this is a plain transcript.\n"),
    ("srt", "1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n2\n00:00:02,500 --> 00:00:04,000\nGeneral Kenobi.\n\n"),
    ("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n\n"),
]

SPEECH_REQUESTS: List[Tuple[str, Body]] = [
    ("minimal", {"model": "tts-1", "input": "Hello world", "voice": "alloy"}),
    (
        "full",
        {
            "model": "gpt-4o-mini-tts",
            "input": "Today is a wonderful day.",
            "voice": "coral",
            "instructions": "Speak in a cheerful and positive tone.",
            "response_format": "wav",
            "speed": 1.25,
            "stream_format": "audio",
        },
    ),
    (
        "custom voice",
        {"model": "gpt-4o-mini-tts", "input": "x", "voice": {"id": "voice_1234"}, "response_format": "pcm"},
    ),
]

RERANK_REQUESTS: List[Tuple[str, Body]] = [
    (
        "cohere v2",
        {
            "model": "rerank-v3.5",
            "query": "capital of the US",
            "documents": [
                "Carson City is the capital of Nevada.",
                "Washington, D.C. is the capital of the United States.",
            ],
            "top_n": 1,
            "max_tokens_per_doc": 4096,
        },
    ),
    (
        "jina with objects",
        {
            "model": "jina-reranker-v2-base-multilingual",
            "query": "organic skincare",
            "documents": [{"text": "Organic skincare for sensitive skin"}, {"text": "New makeup trends"}],
            "top_n": 3,
            "return_documents": True,
        },
    ),
    ("vllm top_n 0", {"model": "BAAI/bge-reranker-v2-m3", "query": "q", "documents": ["a", "b"], "top_n": 0}),
    ("infinity without model", {"query": "q", "documents": ["a"], "return_documents": False}),
]

RERANK_RESPONSES: List[Tuple[str, Body]] = [
    (
        "cohere v2",
        {
            "id": "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
            "results": [{"index": 1, "relevance_score": 0.999}, {"index": 0, "relevance_score": 0.32}],
            "meta": {
                "api_version": {"version": "2"},
                "billed_units": {"search_units": 1},
                "tokens": {"input_tokens": 30, "output_tokens": 0},
            },
        },
    ),
    (
        "jina",
        {
            "model": "jina-reranker-v2-base-multilingual",
            "usage": {"total_tokens": 815, "prompt_tokens": 815},
            "results": [
                {"index": 0, "relevance_score": 0.878, "document": {"text": "Organic skincare for sensitive skin"}}
            ],
        },
    ),
    (
        "vllm",
        {
            "id": "rerank-abc",
            "model": "BAAI/bge-reranker-v2-m3",
            "usage": {"prompt_tokens": 42, "total_tokens": 42},
            "results": [{"index": 1, "document": {"text": "b"}, "relevance_score": 0.98}],
        },
    ),
    (
        "older infinity",
        {
            "object": "rerank",
            "data": [{"relevance_score": 0.7, "index": 0, "document": "a"}],
            "model": "mixedbread-ai/mxbai-rerank-xsmall-v1",
            "usage": {"prompt_tokens": 9, "total_tokens": 9},
            "id": "infinity-1",
            "created": 1717000000,
        },
    ),
]
