"""Wire format names: the protocols omnillm speaks."""

from __future__ import annotations

from enum import Enum
from typing import Union

from .errors import WireFormatError


class WireFormat(str, Enum):
    """A wire format. Plain strings with the same values are accepted everywhere."""

    OPEN_AI_RESPONSES = "open_ai_responses"
    OPEN_AI_CHAT_COMPLETIONS = "open_ai_chat_completions"
    ANTHROPIC_MESSAGES = "anthropic_messages"
    GEMINI_GENERATE_CONTENT = "gemini_generate_content"

    def __str__(self) -> str:
        return self.value


GENERATION_FORMATS = (
    WireFormat.OPEN_AI_RESPONSES,
    WireFormat.OPEN_AI_CHAT_COMPLETIONS,
    WireFormat.ANTHROPIC_MESSAGES,
    WireFormat.GEMINI_GENERATE_CONTENT,
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
