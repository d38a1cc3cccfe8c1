"""Every error omnillm raises: one base class, one module.

Messages name the protocol and the JSON path of the offending field, and never
contain a secret.
"""

from __future__ import annotations

from typing import List, Sequence


class OmniLLMError(Exception):
    """Base class of every error raised by omnillm."""


class WireFormatError(OmniLLMError, ValueError):
    """An unknown wire format name, or one that cannot serve the operation asked."""


class DecodeError(OmniLLMError, ValueError):
    """Malformed wire input: invalid JSON, a wrong type, a missing required field.

    ``protocol`` is the wire format being decoded and ``path`` the JSON path of the
    offending field (``messages[2].content[0].type``); both also lead the message.
    """

    def __init__(self, protocol: str, path: str, problem: str) -> None:
        self.protocol = protocol
        self.path = path
        self.problem = problem
        where = f"{protocol}: {path}" if path else protocol
        super().__init__(f"{where}: {problem}")


class EncodeError(OmniLLMError, ValueError):
    """A canonical object that cannot be expressed in the target wire format at all."""

    def __init__(self, protocol: str, path: str, problem: str) -> None:
        self.protocol = protocol
        self.path = path
        self.problem = problem
        where = f"{protocol}: {path}" if path else protocol
        super().__init__(f"{where}: {problem}")


class ConversionError(OmniLLMError):
    """A strict transcode would have lost information; ``loss_reasons`` says what."""

    def __init__(self, source: str, target: str, loss_reasons: Sequence[str]) -> None:
        self.source = source
        self.target = target
        self.loss_reasons: List[str] = list(loss_reasons)
        listed = "; ".join(self.loss_reasons)
        super().__init__(f"{source} -> {target} is lossy: {listed}")


__all__ = [
    "OmniLLMError",
    "WireFormatError",
    "DecodeError",
    "EncodeError",
    "ConversionError",
]
