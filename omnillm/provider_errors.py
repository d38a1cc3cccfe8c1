"""Provider error answers -> typed `ProviderError` subclasses.

One function, `error_from_response`, reads an HTTP error status together with the body
shapes the providers use (OpenAI / Azure / OpenAI-compatible ``{"error": {...}}``,
Anthropic ``{"type": "error", "error": {...}}``, Google RPC status, Bedrock's
``x-amzn-ErrorType``) and the retry headers (``retry-after-ms``, ``retry-after``, Google's
``RetryInfo``, then for a 429 the providers' rate-limit reset headers), and picks the
class a caller can act on.
Credentials passed in ``secrets`` are scrubbed from anything the provider echoed.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Callable, Dict, Iterable, Optional, Tuple, Type

from .errors import (
    AuthenticationError,
    ContentPolicyError,
    ContextWindowExceededError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    TimeoutError,
)
from .http import REDACTED, TransportResponse, request_id_of
from .ratelimit_info import parse_reset_delay, parse_retry_after

_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_CONTEXT_PATTERNS = re.compile(
    r"context (length|window)|prompt is too long|too many (input )?tokens|input is too long|"
    r"exceeds the maximum number of tokens|input token count .* exceeds|maximum context length",
    re.IGNORECASE,
)
_POLICY_CODES = frozenset({"content_policy_violation", "content_filter", "responsibleaipolicyviolation"})
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})

_BEDROCK_CLASSES: Dict[str, Tuple[Type[ProviderError], Optional[bool]]] = {
    "ValidationException": (InvalidRequestError, None),
    "ServiceQuotaExceededException": (RateLimitError, False),
    "AccessDeniedException": (PermissionDeniedError, None),
    "UnrecognizedClientException": (AuthenticationError, None),
    "ResourceNotFoundException": (NotFoundError, None),
    "ModelTimeoutException": (TimeoutError, True),
    "ThrottlingException": (RateLimitError, True),
    "ModelNotReadyException": (OverloadedError, True),
    "ModelErrorException": (ServerError, True),
    "InternalServerException": (ServerError, True),
    "ServiceUnavailableException": (OverloadedError, True),
}


def _by_status(status: int) -> Tuple[Type[ProviderError], Optional[bool]]:
    if status == 401:
        return AuthenticationError, None
    if status == 403:
        return PermissionDeniedError, None
    if status == 404:
        return NotFoundError, None
    if status in (400, 413, 422):
        return InvalidRequestError, None
    if status == 408:
        return TimeoutError, True
    if status == 409:
        return ProviderError, True  # the SDKs retry conflicts
    if status == 429:
        return RateLimitError, None
    if status in (503, 529):
        return OverloadedError, None
    if status == 504:
        return TimeoutError, True
    if status >= 500:
        return ServerError, None
    return ProviderError, False


def _details(body: Any) -> Tuple[Optional[str], Optional[str], Optional[str], Optional[str]]:
    """(message, type, code, request id) from any of the providers' error bodies."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]  # Gemini sometimes wraps the status in a one-item list
    if not isinstance(body, dict):
        return None, None, None, None
    request_id = body.get("request_id") if isinstance(body.get("request_id"), str) else None
    err = body.get("error")
    if isinstance(err, dict):
        message = err.get("message")
        kind = err.get("type") or err.get("status")
        code = err.get("code")
        inner = err.get("innererror")
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            code = inner["code"]
        return (
            message if isinstance(message, str) else None,
            kind if isinstance(kind, str) else None,
            str(code) if isinstance(code, (str, int)) and not isinstance(code, bool) else None,
            request_id,
        )
    if isinstance(err, str):
        return err, None, None, request_id
    message = body.get("message") or body.get("Message")
    kind = body.get("__type")
    return (
        message if isinstance(message, str) else None,
        kind.rsplit("#", 1)[-1] if isinstance(kind, str) else None,
        None,
        request_id,
    )


def _google_retry_delay(body: Any) -> Optional[float]:
    if isinstance(body, list) and body:
        body = body[0]
    err = body.get("error") if isinstance(body, dict) else None
    details = err.get("details") if isinstance(err, dict) else None
    if not isinstance(details, list):
        return None
    for d in details:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = d.get("retryDelay")
            if isinstance(delay, str) and delay.endswith("s"):
                try:
                    return max(0.0, float(delay[:-1]))
                except ValueError:
                    return None
    return None


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-trivial secret replaced by a placeholder."""
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def error_from_response(
    response: TransportResponse,
    *,
    provider: Optional[str] = None,
    secrets: Iterable[str] = (),
    now_wall: Callable[[], float] = time.time,
) -> ProviderError:
    """The typed error for an HTTP error ``response`` (status >= 400); never raises itself."""
    status = response.status
    raw = response.body
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = None
    message, kind, code, request_id = _details(body)
    secrets = [s for s in secrets if s]
    if message is None:
        ctype = response.content_type or "no content type"
        message = f"HTTP {status} with a body that is not a provider error ({ctype}, {len(raw)} bytes)"
    message = scrub(message, secrets)
    request_id = request_id or request_id_of(response.headers)
    cls, retryable = _by_status(status)
    amzn = response.headers.get("x-amzn-errortype")
    bedrock_name = (amzn.split(":", 1)[0] if amzn else None) or (kind if kind in _BEDROCK_CLASSES else None)
    if bedrock_name in _BEDROCK_CLASSES:
        cls, retryable = _BEDROCK_CLASSES[bedrock_name]
        kind = bedrock_name
    low_code = (code or "").lower()
    if issubclass(cls, InvalidRequestError) or status in (400, 413):
        if low_code in _CONTEXT_CODES or _CONTEXT_PATTERNS.search(message):
            cls = ContextWindowExceededError
        elif low_code in _POLICY_CODES or (kind or "").lower() in _POLICY_CODES:
            cls = ContentPolicyError
    if cls is RateLimitError and low_code in _QUOTA_CODES:
        retryable = False
    should = response.headers.get("x-should-retry")
    if should in ("true", "false"):
        retryable = should == "true"
    wall = now_wall()
    retry_after = parse_retry_after(response.headers, wall)
    if retry_after is None:
        retry_after = _google_retry_delay(body)
    if retry_after is None and cls is RateLimitError:
        retry_after = parse_reset_delay(response.headers, wall)
    return cls(
        scrub(message, secrets),
        status=status,
        provider=provider,
        request_id=request_id,
        provider_message=message,
        error_type=kind,
        code=code,
        retry_after=retry_after,
        retryable=retryable,
    )
