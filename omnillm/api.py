"""Canonical types for the endpoint families beside generation: embeddings, images, audio, rerank.

Generation keeps `LlmRequest` / `LlmResponse` (``omnillm.model``); every other endpoint
family has a request and a response dataclass here. `ApiRequest` and `ApiResponse` are
the unions of all of them, generation included, and `family_of` names the
`EndpointFamily` of any such value or class. Each non-generation type also carries its
family as the class attribute ``family``, so ``EmbeddingRequest.family`` reads naturally
and no wrapper object stands between the caller and the fields; `family_of` is the one
spelling that also covers ``LlmRequest`` / ``LlmResponse``.

As in ``omnillm.model``, every type has an ``extensions`` dict keyed by wire-format name
holding the wire fields without a canonical slot, so that decoding and re-encoding in the
same format gives the input back; encoding into another format reports them as losses.
Fields documented as shape hints only steer how the same format is written back (a
single string versus a one-element list) and carry no meaning of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Optional, Union

from .model import Extensions, LlmRequest, LlmResponse, OpaquePart
from .wire import EndpointFamily

EmbeddingInput = Union[str, List[int], OpaquePart]
"""One input to embed: text, a token-id array, or a wire item with no canonical shape
(a multi-part or multimodal Gemini ``Content``), kept verbatim as an `OpaquePart`."""

RerankDocument = Union[str, Dict[str, Any]]
"""A document to rerank: text, or a JSON object (``{"text": ...}`` or a server's richer shape)."""


@dataclass
class ApiUsage:
    """What a non-generation call consumed, as far as the provider says (``None``: not said).

    ``input_tokens`` are prompt tokens (OpenAI embeddings call them ``prompt_tokens``),
    ``seconds`` billed audio duration (transcription), ``search_units`` Cohere's billing
    unit for rerank.
    """

    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    seconds: Optional[float] = None
    search_units: Optional[int] = None
    extensions: Extensions = field(default_factory=dict)


# --------------------------------------------------------------------------- embeddings


@dataclass
class EmbeddingRequest:
    """Embed one or more inputs (text or token arrays) with one model.

    ``dimensions`` asks for shorter vectors, ``encoding_format`` is ``"float"`` or
    ``"base64"`` (the vectors come back as floats either way once decoded),
    ``task_type`` and ``title`` are Gemini's retrieval hints, ``user`` an end-user id.
    A bare string given as ``inputs`` is one input (never a list of its characters).
    ``batch`` is a shape hint: True when the inputs were sent as a list (or a Gemini
    batch) even if there is only one; None lets the encoder choose (a list when there
    is more than one input).
    """

    family: ClassVar[EndpointFamily] = EndpointFamily.EMBEDDINGS

    model: str
    inputs: List[EmbeddingInput] = field(default_factory=list)
    dimensions: Optional[int] = None
    encoding_format: Optional[str] = None
    task_type: Optional[str] = None
    title: Optional[str] = None
    user: Optional[str] = None
    batch: Optional[bool] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class Embedding:
    """One vector; ``index`` is the position of its input in the request."""

    index: int
    vector: List[float]
    extensions: Extensions = field(default_factory=dict)


@dataclass
class EmbeddingResponse:
    """The vectors of an `EmbeddingRequest`, in the order the provider returned them.

    ``encoding_format`` is a shape hint: ``"base64"`` when the wire carried packed
    float32 strings. ``batch`` says whether the wire held a list of embeddings (Gemini
    ``embeddings``) rather than one (``embedding``); None lets the encoder choose.
    """

    family: ClassVar[EndpointFamily] = EndpointFamily.EMBEDDINGS

    model: str = ""
    embeddings: List[Embedding] = field(default_factory=list)
    usage: Optional[ApiUsage] = None
    encoding_format: Optional[str] = None
    batch: Optional[bool] = None
    extensions: Extensions = field(default_factory=dict)

    @property
    def vectors(self) -> List[List[float]]:
        """The vectors ordered by ``index`` (input order)."""
        return [e.vector for e in sorted(self.embeddings, key=lambda e: e.index)]


# --------------------------------------------------------------------------- images


@dataclass
class ImageGenerationRequest:
    """Generate images from a text prompt.

    ``size`` is ``"1024x1024"``-style or ``"auto"``; ``quality``, ``style``,
    ``background``, ``output_format``, ``output_compression`` and ``moderation`` pass
    through as the provider spells them; ``response_format`` is ``"url"`` or
    ``"b64_json"`` (legacy models only). An empty ``model`` is not sent.
    """

    family: ClassVar[EndpointFamily] = EndpointFamily.IMAGE_GENERATION

    model: str
    prompt: str
    n: Optional[int] = None
    size: Optional[str] = None
    quality: Optional[str] = None
    style: Optional[str] = None
    background: Optional[str] = None
    output_format: Optional[str] = None
    output_compression: Optional[int] = None
    moderation: Optional[str] = None
    response_format: Optional[str] = None
    user: Optional[str] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class GeneratedImage:
    """One generated image: base64 ``b64_json`` data or a ``url``, and the prompt the model used."""

    b64_json: Optional[str] = None
    url: Optional[str] = None
    revised_prompt: Optional[str] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class ImageGenerationResponse:
    """The images of an `ImageGenerationRequest` and the settings the provider applied.

    ``model`` is empty when the wire format does not name it (OpenAI's does not).
    """

    family: ClassVar[EndpointFamily] = EndpointFamily.IMAGE_GENERATION

    created: int = 0
    images: List[GeneratedImage] = field(default_factory=list)
    model: str = ""
    background: Optional[str] = None
    output_format: Optional[str] = None
    quality: Optional[str] = None
    size: Optional[str] = None
    usage: Optional[ApiUsage] = None
    extensions: Extensions = field(default_factory=dict)


# --------------------------------------------------------------------------- transcription


@dataclass
class AudioTranscriptionRequest:
    """Turn recorded speech into text.

    ``audio`` is the encoded file's bytes, sent with ``filename`` (its extension tells
    the provider the container) and ``media_type``. ``response_format`` is ``json``,
    ``text``, ``srt``, ``verbose_json``, ``vtt`` (or ``diarized_json``);
    ``timestamp_granularities`` holds ``"word"`` and/or ``"segment"`` (verbose_json only).
    """

    family: ClassVar[EndpointFamily] = EndpointFamily.AUDIO_TRANSCRIPTION

    model: str
    audio: bytes = field(repr=False)
    filename: str = "audio"
    media_type: Optional[str] = None
    language: Optional[str] = None
    prompt: Optional[str] = None
    temperature: Optional[float] = None
    response_format: Optional[str] = None
    timestamp_granularities: Optional[List[str]] = None
    include: Optional[List[str]] = None
    stream: Optional[bool] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class TranscriptionSegment:
    """A stretch of the transcript with its start and end in seconds (and speaker, when diarized).

    Whisper-style segments also carry decoding statistics: ``seek`` (the offset, in
    frames, of the window the segment came from), its ``tokens``, the sampling
    ``temperature``, ``avg_logprob``, ``compression_ratio`` and ``no_speech_prob``
    (useful to drop hallucinated silence).
    """

    id: Union[int, str, None]
    start: float
    end: float
    text: str
    speaker: Optional[str] = None
    seek: Optional[int] = None
    tokens: Optional[List[int]] = None
    temperature: Optional[float] = None
    avg_logprob: Optional[float] = None
    compression_ratio: Optional[float] = None
    no_speech_prob: Optional[float] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class TranscriptionWord:
    """One word with its start and end in seconds."""

    word: str
    start: float
    end: float
    extensions: Extensions = field(default_factory=dict)


@dataclass
class AudioTranscriptionResponse:
    """The transcript: ``text`` always; segments, words, language and duration when asked for.

    ``response_format`` is a shape hint naming the wire form: ``text``, ``srt`` and
    ``vtt`` bodies are plain text, held whole in ``text``; ``json`` and
    ``verbose_json`` (``None`` means json) are JSON objects.
    """

    family: ClassVar[EndpointFamily] = EndpointFamily.AUDIO_TRANSCRIPTION

    text: str = ""
    model: str = ""
    language: Optional[str] = None
    duration: Optional[float] = None
    segments: Optional[List[TranscriptionSegment]] = None
    words: Optional[List[TranscriptionWord]] = None
    usage: Optional[ApiUsage] = None
    response_format: Optional[str] = None
    extensions: Extensions = field(default_factory=dict)


# --------------------------------------------------------------------------- speech


@dataclass
class AudioSpeechRequest:
    """Turn text into spoken audio.

    ``voice`` is a voice name or a custom voice object (``{"id": "voice_..."}``);
    ``response_format`` one of ``mp3``, ``opus``, ``aac``, ``flac``, ``wav``, ``pcm``;
    ``speed`` 0.25 to 4.0; ``instructions`` steer the delivery on newer models.
    """

    family: ClassVar[EndpointFamily] = EndpointFamily.AUDIO_SPEECH

    model: str
    input: str
    voice: Union[str, Dict[str, Any]]
    instructions: Optional[str] = None
    response_format: Optional[str] = None
    speed: Optional[float] = None
    stream_format: Optional[str] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class AudioSpeechResponse:
    """The encoded audio, exactly as received, and its media type (``audio/mpeg``)."""

    family: ClassVar[EndpointFamily] = EndpointFamily.AUDIO_SPEECH

    audio: bytes = field(default=b"", repr=False)
    media_type: str = "audio/mpeg"
    model: str = ""
    extensions: Extensions = field(default_factory=dict)


# --------------------------------------------------------------------------- rerank


@dataclass
class RerankRequest:
    """Order ``documents`` by relevance to ``query``.

    ``top_n`` limits how many results come back (None: all); ``return_documents`` asks
    the server to echo each document in its result.
    """

    family: ClassVar[EndpointFamily] = EndpointFamily.RERANK

    model: str
    query: str
    documents: List[RerankDocument] = field(default_factory=list)
    top_n: Optional[int] = None
    return_documents: Optional[bool] = None
    extensions: Extensions = field(default_factory=dict)


@dataclass
class RerankResult:
    """One ranked document: ``index`` into the request's documents, its score, and the echo."""

    index: int
    relevance_score: float
    document: Optional[RerankDocument] = None
    extensions: Extensions = field(default_factory=dict)

    @property
    def document_text(self) -> Optional[str]:
        """The echoed document's text (the string itself, or an object's ``text``)."""
        if isinstance(self.document, str):
            return self.document
        if isinstance(self.document, dict):
            text = self.document.get("text")
            return text if isinstance(text, str) else None
        return None


@dataclass
class RerankResponse:
    """Rerank results, most relevant first as the server sent them; scores compare only within one model."""

    family: ClassVar[EndpointFamily] = EndpointFamily.RERANK

    results: List[RerankResult] = field(default_factory=list)
    model: str = ""
    id: Optional[str] = None
    usage: Optional[ApiUsage] = None
    extensions: Extensions = field(default_factory=dict)


# --------------------------------------------------------------------------- unions

ApiRequest = Union[
    LlmRequest,
    EmbeddingRequest,
    ImageGenerationRequest,
    AudioTranscriptionRequest,
    AudioSpeechRequest,
    RerankRequest,
]
"""Any request omnillm can send: generation or another endpoint family."""

ApiResponse = Union[
    LlmResponse,
    EmbeddingResponse,
    ImageGenerationResponse,
    AudioTranscriptionResponse,
    AudioSpeechResponse,
    RerankResponse,
]
"""Any response omnillm can decode."""

_FAMILY_OF_TYPE: Dict[type, EndpointFamily] = {
    LlmRequest: EndpointFamily.GENERATION,
    LlmResponse: EndpointFamily.GENERATION,
    EmbeddingRequest: EndpointFamily.EMBEDDINGS,
    EmbeddingResponse: EndpointFamily.EMBEDDINGS,
    ImageGenerationRequest: EndpointFamily.IMAGE_GENERATION,
    ImageGenerationResponse: EndpointFamily.IMAGE_GENERATION,
    AudioTranscriptionRequest: EndpointFamily.AUDIO_TRANSCRIPTION,
    AudioTranscriptionResponse: EndpointFamily.AUDIO_TRANSCRIPTION,
    AudioSpeechRequest: EndpointFamily.AUDIO_SPEECH,
    AudioSpeechResponse: EndpointFamily.AUDIO_SPEECH,
    RerankRequest: EndpointFamily.RERANK,
    RerankResponse: EndpointFamily.RERANK,
}


def family_of_type(cls: type) -> Optional[EndpointFamily]:
    """The endpoint family of an `ApiRequest` or `ApiResponse` class or subclass (None for any other class)."""
    found = _FAMILY_OF_TYPE.get(cls)
    if found is None:
        for base in cls.__mro__[1:]:
            found = _FAMILY_OF_TYPE.get(base)
            if found is not None:
                break
    return found


def family_of(value: object) -> Optional[EndpointFamily]:
    """The endpoint family of an `ApiRequest` or `ApiResponse`, or of one of their classes (None for anything else).

    This is the spelling that works for every type. The non-generation types also carry
    their family as the class attribute ``family``; `LlmRequest` and `LlmResponse` do
    not (``omnillm.model`` imports nothing, to keep ``import omnillm`` cheap). An
    `EndpointFamily` is its own family, so code that takes "a request or its family"
    can ask this one function.
    """
    if isinstance(value, EndpointFamily):
        return value
    return family_of_type(value if isinstance(value, type) else type(value))


__all__ = [
    "ApiRequest",
    "ApiResponse",
    "ApiUsage",
    "AudioSpeechRequest",
    "AudioSpeechResponse",
    "AudioTranscriptionRequest",
    "AudioTranscriptionResponse",
    "Embedding",
    "EmbeddingInput",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "GeneratedImage",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "RerankDocument",
    "RerankRequest",
    "RerankResponse",
    "RerankResult",
    "TranscriptionSegment",
    "TranscriptionWord",
    "family_of",
]
