"""Every error omnillm raises: one base class, one module.

Messages name the protocol and the JSON path of the offending field, and never
contain a secret.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from .model import LlmResponse


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


class ConfigurationError(OmniLLMError, ValueError):
    """Invalid configuration: an unknown provider, a negative limit, a route no key serves."""


class UnsupportedError(OmniLLMError):
    """The operation is not available: a ``planned`` provider capability, an impossible bridge."""


class SchemaError(ConfigurationError):
    """A Python type with no JSON Schema form, found when a tool or an output type is defined."""


class ValidationError(OmniLLMError, ValueError):
    """A value that does not match its declared type.

    ``problems`` lists every ``(path, message)`` found, paths in JSON path form
    (``$.items[0].name``); `describe` renders them one per line.
    """

    def __init__(self, message: str, problems: Sequence[Tuple[str, str]]) -> None:
        self.problems: List[Tuple[str, str]] = list(problems)
        shown = "; ".join(f"{path}: {problem}" for path, problem in self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"{message}: {shown}{more}" if shown else message)

    def describe(self) -> str:
        """Every problem on its own line, ``path: problem``."""
        return "\n".join(f"{path}: {problem}" for path, problem in self.problems)


class ToolArgumentsError(ValidationError):
    """A tool call whose arguments do not fit the tool's parameters; ``tool`` names the tool.

    `describe` gives text fit to send back to the model as the tool's result, so it can
    correct the call.
    """

    def __init__(self, tool: str, problems: Sequence[Tuple[str, str]]) -> None:
        self.tool = tool
        super().__init__(f"invalid arguments for tool {tool!r}", problems)

    def describe(self) -> str:
        """The problems, introduced for the model: what to fix, one path per line."""
        lines = "\n".join(f"- {path}: {problem}" for path, problem in self.problems)
        return f"The arguments for {self.tool} are invalid; fix these and call it again:\n{lines}"


class StructuredOutputError(ValidationError):
    """A structured response that is not valid JSON or does not match its output type.

    ``raw_text`` is what the model wrote (empty when it wrote nothing) and ``response``
    the whole response, so nothing the call produced is lost.
    """

    def __init__(
        self,
        message: str,
        problems: Sequence[Tuple[str, str]] = (),
        *,
        raw_text: str = "",
        response: Optional[LlmResponse] = None,
    ) -> None:
        self.raw_text = raw_text
        self.response = response
        super().__init__(message, problems)


# --------------------------------------------------------------------------- provider errors


class ProviderError(OmniLLMError):
    """An error reported by a provider (an HTTP status or an error body) or on the way to it.

    ``status`` is the HTTP status (None when no response arrived), ``retryable`` whether
    trying again may succeed, ``provider`` the provider id, ``request_id`` the provider's
    request id, ``provider_message`` the provider's own message, ``error_type`` and
    ``code`` its error type and code, ``retry_after`` seconds to wait when it said so.
    None of them ever holds a credential.
    """

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        provider: Optional[str] = None,
        request_id: Optional[str] = None,
        provider_message: Optional[str] = None,
        error_type: Optional[str] = None,
        code: Optional[str] = None,
        retry_after: Optional[float] = None,
        retryable: Optional[bool] = None,
    ) -> None:
        self.status = status
        self.provider = provider
        self.request_id = request_id
        self.provider_message = provider_message
        self.error_type = error_type
        self.code = code
        self.retry_after = retry_after
        self.retryable = self.default_retryable if retryable is None else retryable
        self._message = message
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [p for p in (self.provider, f"HTTP {self.status}" if self.status is not None else None) if p]
        prefix = f"{' '.join(parts)}: " if parts else ""
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"{prefix}{self._message}{suffix}"

    def attribute(self, provider: Optional[str], request_id: Optional[str] = None) -> None:
        """Fill in the provider id (and request id) when the layer that raised this did not know them.

        A transport error has no provider; the client that sent the request names it.
        Fields already set are kept; the message is re-rendered to show the new ones.
        """
        changed = False
        if self.provider is None and provider:
            self.provider = provider
            changed = True
        if self.request_id is None and request_id:
            self.request_id = request_id
            changed = True
        if changed:
            self.args = (self._render(),)


class AuthenticationError(ProviderError):
    """The credentials were rejected (401)."""


class PermissionDeniedError(ProviderError):
    """The credentials lack permission for this model, region or feature (403)."""


class NotFoundError(ProviderError):
    """The model, deployment or resource does not exist (404)."""


class InvalidRequestError(ProviderError):
    """The provider rejected the request as malformed (400, 422)."""


class ContextWindowExceededError(InvalidRequestError):
    """The prompt (plus requested output) does not fit the model's context window."""


class ContentPolicyError(InvalidRequestError):
    """The provider refused the request under its content policy."""


class RateLimitError(ProviderError):
    """Too many requests or tokens (429), or no key of a gateway is free before the wait bound.

    ``retry_after`` is the delay the provider asked for, in seconds, when it said.
    A provider's "quota exhausted" (billing) answer is a `RateLimitError` with
    ``retryable=False``.
    """

    default_retryable = True


class OverloadedError(ProviderError):
    """The provider is temporarily overloaded (Anthropic 529, 503)."""

    default_retryable = True


class ServerError(ProviderError):
    """The provider failed (5xx)."""

    default_retryable = True


class TimeoutError(ProviderError, builtins.TimeoutError):
    """No response (or no next chunk) within the timeout or the overall deadline."""

    default_retryable = True


class ConnectionError(ProviderError, builtins.ConnectionError):
    """The connection could not be made or broke before a complete response."""

    default_retryable = True


class ResponseTooLargeError(ProviderError):
    """The response body passed the configured maximum size."""


# --------------------------------------------------------------------------- streams


class StreamError(OmniLLMError):
    """A stream failed: the provider sent an error, or it ended without its terminal event.

    ``partial`` holds everything received before the failure (text, tool calls with the
    arguments so far, usage), so no streamed delta is lost.
    """

    def __init__(self, message: str, partial: Optional[LlmResponse] = None, *, protocol: str = "") -> None:
        self.protocol = protocol
        self.partial = partial
        prefix = f"{protocol}: " if protocol else ""
        super().__init__(f"{prefix}{message}")


class ProviderStreamError(StreamError):
    """The provider sent an error event mid-stream (``error_type``, ``code`` from the wire)."""

    def __init__(
        self,
        message: str,
        partial: Optional[LlmResponse] = None,
        *,
        protocol: str = "",
        error_type: Optional[str] = None,
        code: Optional[str] = None,
        status: Optional[int] = None,
    ) -> None:
        self.error_type = error_type
        self.code = code
        self.status = status
        super().__init__(message, partial, protocol=protocol)


class TruncatedStreamError(StreamError):
    """The stream ended before the protocol's terminal event."""


class StreamInterruptedError(StreamError):
    """A stream failed after output had reached the caller; ``cause`` is the underlying error.

    Nothing is retried once the caller has seen a delta: ``partial`` carries what arrived.
    """

    def __init__(
        self,
        message: str,
        partial: Optional[LlmResponse] = None,
        *,
        cause: Optional[BaseException] = None,
        protocol: str = "",
    ) -> None:
        self.cause = cause
        super().__init__(message, partial, protocol=protocol)


# --------------------------------------------------------------------------- gateway


class BudgetExceededError(OmniLLMError):
    """A call's worst-case cost does not fit under a budget; refused before any network I/O.

    Amounts are integer micro-dollars: ``needed`` (the reservation asked for),
    ``available`` (limit minus spent and reserved), ``scope`` names the budget.
    """

    def __init__(self, message: str, *, scope: str = "gateway", needed: int = 0, available: int = 0) -> None:
        self.scope = scope
        self.needed = needed
        self.available = available
        super().__init__(message)


class CancelledError(OmniLLMError):
    """The call was cancelled through its `CancellationToken`."""


class NoKeyAvailableError(OmniLLMError):
    """No key can serve the request: none serves the model, or all are disabled or open."""

    def __init__(self, message: str, *, details: Any = None) -> None:
        self.details = details
        super().__init__(message)


class StateBackendError(OmniLLMError):
    """The shared state store (Redis) did not answer, and its backend is set to fail closed.

    The call is refused before any network I/O to the provider. ``backend`` names the
    store; ``retry_after`` is the number of seconds until the backend next tries the
    store again (None when unknown).
    """

    def __init__(self, message: str, *, backend: str = "", retry_after: Optional[float] = None) -> None:
        self.backend = backend
        self.retry_after = retry_after
        super().__init__(message)


__all__ = [
    "OmniLLMError",
    "WireFormatError",
    "DecodeError",
    "EncodeError",
    "ConversionError",
    "ConfigurationError",
    "UnsupportedError",
    "SchemaError",
    "ValidationError",
    "ToolArgumentsError",
    "StructuredOutputError",
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
    "StateBackendError",
]
