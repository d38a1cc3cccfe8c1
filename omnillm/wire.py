"""Wire format names: the protocols omnillm speaks."""

from __future__ import annotations

from enum import Enum
from typing import Dict, Tuple, Union

from .errors import WireFormatError


class WireFormat(str, Enum):
    """A wire format. Plain strings with the same values are accepted everywhere."""

    # Generation (LlmRequest / LlmResponse)
    OPEN_AI_RESPONSES = "open_ai_responses"
    OPEN_AI_CHAT_COMPLETIONS = "open_ai_chat_completions"
    ANTHROPIC_MESSAGES = "anthropic_messages"
    GEMINI_GENERATE_CONTENT = "gemini_generate_content"
    BEDROCK_CONVERSE = "bedrock_converse"
    # Other endpoint families (ApiRequest / ApiResponse)
    OPEN_AI_EMBEDDINGS = "open_ai_embeddings"
    OPEN_AI_IMAGE_GENERATIONS = "open_ai_image_generations"
    OPEN_AI_AUDIO_TRANSCRIPTIONS = "open_ai_audio_transcriptions"
    OPEN_AI_AUDIO_SPEECH = "open_ai_audio_speech"
    OPEN_AI_RERANK = "open_ai_rerank"
    GEMINI_EMBED_CONTENT = "gemini_embed_content"

    def __str__(self) -> str:
        return self.value


class EndpointFamily(str, Enum):
    """What an API call does; each wire format serves exactly one family."""

    GENERATION = "generation"
    EMBEDDINGS = "embeddings"
    IMAGE_GENERATION = "image_generation"
    AUDIO_TRANSCRIPTION = "audio_transcription"
    AUDIO_SPEECH = "audio_speech"
    RERANK = "rerank"

    def __str__(self) -> str:
        return self.value


#: The endpoint family each wire format serves.
FAMILY_OF_FORMAT: Dict[WireFormat, EndpointFamily] = {
    WireFormat.OPEN_AI_RESPONSES: EndpointFamily.GENERATION,
    WireFormat.OPEN_AI_CHAT_COMPLETIONS: EndpointFamily.GENERATION,
    WireFormat.ANTHROPIC_MESSAGES: EndpointFamily.GENERATION,
    WireFormat.GEMINI_GENERATE_CONTENT: EndpointFamily.GENERATION,
    WireFormat.BEDROCK_CONVERSE: EndpointFamily.GENERATION,
    WireFormat.OPEN_AI_EMBEDDINGS: EndpointFamily.EMBEDDINGS,
    WireFormat.GEMINI_EMBED_CONTENT: EndpointFamily.EMBEDDINGS,
    WireFormat.OPEN_AI_IMAGE_GENERATIONS: EndpointFamily.IMAGE_GENERATION,
    WireFormat.OPEN_AI_AUDIO_TRANSCRIPTIONS: EndpointFamily.AUDIO_TRANSCRIPTION,
    WireFormat.OPEN_AI_AUDIO_SPEECH: EndpointFamily.AUDIO_SPEECH,
    WireFormat.OPEN_AI_RERANK: EndpointFamily.RERANK,
}


def endpoint_family(name: Union[str, EndpointFamily]) -> EndpointFamily:
    """Return the `EndpointFamily` named by ``name``; raise `WireFormatError` if unknown."""
    if isinstance(name, EndpointFamily):
        return name
    for family in EndpointFamily:
        if family.value == name:
            return family
    known = ", ".join(f.value for f in EndpointFamily)
    raise WireFormatError(f"unknown endpoint family {name!r}; known families: {known}")


#: Generation formats with a codec in ``omnillm.protocols`` (request, response, stream).
GENERATION_FORMATS: Tuple[WireFormat, ...] = (
    WireFormat.OPEN_AI_RESPONSES,
    WireFormat.OPEN_AI_CHAT_COMPLETIONS,
    WireFormat.ANTHROPIC_MESSAGES,
    WireFormat.GEMINI_GENERATE_CONTENT,
    WireFormat.BEDROCK_CONVERSE,
)

_BY_VALUE = {f.value: f for f in WireFormat}


def wire_format(name: Union[str, WireFormat]) -> WireFormat:
    """Return the `WireFormat` named by ``name``; raise `WireFormatError` if unknown."""
    if isinstance(name, WireFormat):
        return name
    if isinstance(name, str):
        found = _BY_VALUE.get(name)
        if found is not None:
            return found
    known = ", ".join(sorted(_BY_VALUE))
    raise WireFormatError(f"unknown wire format {name!r}; known formats: {known}")


def generation_format(name: Union[str, WireFormat]) -> WireFormat:
    """Like `wire_format`, but only a generation format with a codec is accepted."""
    fmt = wire_format(name)
    if fmt not in GENERATION_FORMATS:
        known = ", ".join(f.value for f in GENERATION_FORMATS)
        raise WireFormatError(f"{fmt.value} is not a generation wire format; generation formats: {known}")
    return fmt
