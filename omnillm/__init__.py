"""omnillm: provider-neutral LLM access, with honest protocol transcoding.

Importing this package loads only the standard library; codecs load on first use and
network libraries at the first network call.
"""

from __future__ import annotations

from .errors import (
    ConversionError,
    DecodeError,
    EncodeError,
    OmniLLMError,
    WireFormatError,
)
from .model import (
    AudioPart,
    BuiltinTool,
    CacheControl,
    Choice,
    FilePart,
    FunctionTool,
    ImagePart,
    LlmRequest,
    LlmResponse,
    Message,
    OpaquePart,
    OutputFormat,
    ReasoningConfig,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    Usage,
)
from .report import ConversionReport, Loss, LossLog
from .transcode import (
    transcode_request,
    transcode_request_report,
    transcode_response,
    transcode_response_report,
)
from .wire import WireFormat

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # errors
    "OmniLLMError",
    "DecodeError",
    "EncodeError",
    "ConversionError",
    "WireFormatError",
    # model
    "LlmRequest",
    "LlmResponse",
    "Message",
    "TextPart",
    "ImagePart",
    "AudioPart",
    "FilePart",
    "ToolCallPart",
    "ToolResultPart",
    "ReasoningPart",
    "RefusalPart",
    "OpaquePart",
    "FunctionTool",
    "BuiltinTool",
    "ToolChoice",
    "OutputFormat",
    "ReasoningConfig",
    "CacheControl",
    "Usage",
    "Choice",
    # transcoding
    "WireFormat",
    "ConversionReport",
    "Loss",
    "LossLog",
    "transcode_request",
    "transcode_request_report",
    "transcode_response",
    "transcode_response_report",
]
