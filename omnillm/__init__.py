"""omnillm: provider-neutral LLM access, with honest protocol transcoding.

Importing this package loads only the standard library, and only the canonical model,
the errors and the transcoding entry points; codecs load on first use, the client,
gateway and provider layers when first named (``omnillm.Gateway``), and network
libraries at the first network call.
"""

from __future__ import annotations

from typing import Any, List

from ._version import __version__
from .api import (
    ApiRequest,
    ApiResponse,
    ApiUsage,
    AudioSpeechRequest,
    AudioSpeechResponse,
    AudioTranscriptionRequest,
    AudioTranscriptionResponse,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    GeneratedImage,
    ImageGenerationRequest,
    ImageGenerationResponse,
    RerankRequest,
    RerankResponse,
    RerankResult,
    TranscriptionSegment,
    TranscriptionWord,
    family_of,
)
from .errors import (
    AuthenticationError,
    BudgetExceededError,
    CancelledError,
    ConfigurationError,
    ConnectionError,
    ContentPolicyError,
    ContextWindowExceededError,
    ConversionError,
    DecodeError,
    EncodeError,
    InvalidRequestError,
    NoKeyAvailableError,
    NotFoundError,
    OmniLLMError,
    OverloadedError,
    PermissionDeniedError,
    ProviderError,
    ProviderStreamError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    StreamError,
    StreamInterruptedError,
    TimeoutError,
    TruncatedStreamError,
    UnsupportedError,
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
from .wire import EndpointFamily, WireFormat

# Heavier layers load when first named: ``omnillm.Gateway`` imports the gateway, the
# client and the provider registry then, not at ``import omnillm``.
_LAZY = {
    # client and gateway
    "Client": ".client",
    "ResponseStream": ".client",
    "Exchange": ".client",
    "Gateway": ".gateway",
    "GatewayBuilder": ".gateway",
    "GatewayStream": ".gateway",
    "KeyConfig": ".gateway",
    "PoolConfig": ".gateway",
    "PoolStatus": ".gateway",
    "KeyStatus": ".gateway",
    "Target": ".gateway",
    "AttemptInfo": ".gateway",
    "RetryPolicy": ".gateway",
    "BreakerConfig": ".gateway",
    "CancellationToken": ".gateway",
    "Strategy": ".gateway",
    "WeightedRoundRobin": ".gateway",
    "LeastInFlight": ".gateway",
    "LowestLatency": ".gateway",
    "LowestCost": ".gateway",
    "Price": ".gateway",
    "PriceTable": ".gateway",
    "Pricing": ".gateway",
    "EMBEDDED_PRICES": ".gateway",
    "estimate_tokens": ".gateway",
    "StateBackend": ".gateway",
    "InMemoryState": ".gateway",
    # providers
    "embedded_provider_registry": ".providers",
    "ProviderRegistry": ".providers",
    "ProviderSpec": ".providers",
    "ProviderSettings": ".providers",
    "Endpoint": ".providers",
    "SupportLevel": ".providers",
    "AuthScheme": ".providers",
    "ApiKey": ".providers",
    "AwsCredentials": ".providers",
    "AccessToken": ".providers",
    "RefreshingToken": ".providers",
    "google_auth_token_provider": ".providers",
    "openai_compatible": ".providers",
    "format_support_matrix": ".providers",
    "load_dotenv": ".providers",
    # streaming
    "transcode_stream": ".streaming",
    "decode_stream": ".streaming",
    "encode_stream": ".streaming",
    "StreamAccumulator": ".stream",
    "StreamEvent": ".stream",
    "events_from_response": ".stream",
    "ResponseStarted": ".stream",
    "OutputItemAdded": ".stream",
    "TextDelta": ".stream",
    "RefusalDelta": ".stream",
    "ReasoningDelta": ".stream",
    "ReasoningSignatureDelta": ".stream",
    "ToolCallStarted": ".stream",
    "ToolCallArgumentsDelta": ".stream",
    "OutputItemDone": ".stream",
    "UsageUpdate": ".stream",
    "ResponseCompleted": ".stream",
    "ErrorEvent": ".stream",
    # HTTP-level data and the endpoint families over HTTP
    "TransportRequest": ".http",
    "TransportResponse": ".http",
    "Headers": ".http",
    "emit_transport_request": ".endpoints",
    "parse_transport_response": ".endpoints",
    "transcode_api_request": ".endpoints",
    "transcode_api_response": ".endpoints",
    "ApiConversionReport": ".endpoints",
    "RateLimitInfo": ".ratelimit_info",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'omnillm' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "__version__",
    # errors
    "OmniLLMError",
    "WireFormatError",
    "DecodeError",
    "EncodeError",
    "ConversionError",
    "ConfigurationError",
    "UnsupportedError",
    "ProviderError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "InvalidRequestError",
    "ContextWindowExceededError",
    "ContentPolicyError",
    "RateLimitError",
    "OverloadedError",
    "ServerError",
    "TimeoutError",
    "ConnectionError",
    "ResponseTooLargeError",
    "StreamError",
    "ProviderStreamError",
    "TruncatedStreamError",
    "StreamInterruptedError",
    "BudgetExceededError",
    "CancelledError",
    "NoKeyAvailableError",
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
    # endpoint families
    "EndpointFamily",
    "ApiRequest",
    "ApiResponse",
    "ApiUsage",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "Embedding",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "GeneratedImage",
    "AudioTranscriptionRequest",
    "AudioTranscriptionResponse",
    "TranscriptionSegment",
    "TranscriptionWord",
    "AudioSpeechRequest",
    "AudioSpeechResponse",
    "RerankRequest",
    "RerankResponse",
    "RerankResult",
    "family_of",
    # loaded on first use (see _LAZY)
    *_LAZY,
]
