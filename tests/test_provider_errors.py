"""HTTP statuses and provider error bodies map to the typed error classes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Type

import pytest

import omnillm
from omnillm.http import Headers, TransportResponse
from omnillm.provider_errors import error_from_response

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"


def _response(status: int, body: Any, headers: Optional[Dict[str, str]] = None) -> TransportResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return TransportResponse(status, Headers({"content-type": "application/json", **(headers or {})}), raw)


def _real_errors() -> List[Path]:
    if not REAL.is_dir():
        return []
    return sorted(p for p in REAL.glob("*/errors/*.json") if not p.name.endswith(".meta.json"))


EXPECTED_BY_STATUS: Dict[int, Type[omnillm.ProviderError]] = {
    400: omnillm.InvalidRequestError,
    401: omnillm.AuthenticationError,
    403: omnillm.PermissionDeniedError,
    404: omnillm.NotFoundError,
    429: omnillm.RateLimitError,
    500: omnillm.ServerError,
    503: omnillm.OverloadedError,
    529: omnillm.OverloadedError,
}


@pytest.mark.parametrize("path", _real_errors(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_real_error_bodies_map_to_their_class(path: Path) -> None:
    meta = json.loads(path.with_name(path.name[: -len(".json")] + ".meta.json").read_text())
    status = meta.get("http_status")
    if not isinstance(status, int) or status < 400:
        pytest.skip("a mid-stream error event, not an HTTP error answer")
    body = json.loads(path.read_text())
    error = error_from_response(_response(status, body), provider=meta["protocol"])
    assert isinstance(error, omnillm.OmniLLMError)
    assert error.status == status and error.provider == meta["protocol"]
    expected = EXPECTED_BY_STATUS.get(status)
    if expected is not None:
        assert isinstance(error, expected), (type(error), status)
    assert error.provider_message, "the provider's own message is kept"
    assert error.retryable == (status in (429, 500, 502, 503, 529) and error.code != "insufficient_quota")


@pytest.mark.parametrize(
    ("status", "body", "headers", "cls", "retryable"),
    [
        (
            401,
            {"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}},
            {},
            omnillm.AuthenticationError,
            False,
        ),
        (
            403,
            {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}},
            {},
            omnillm.PermissionDeniedError,
            False,
        ),
        (
            404,
            {"type": "error", "error": {"type": "not_found_error", "message": "model: x"}},
            {},
            omnillm.NotFoundError,
            False,
        ),
        (422, {"error": {"message": "unprocessable"}}, {}, omnillm.InvalidRequestError, False),
        (
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 128000 tokens.",
                    "code": "context_length_exceeded",
                }
            },
            {},
            omnillm.ContextWindowExceededError,
            False,
        ),
        (
            400,
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "prompt is too long: 210000 tokens > 200000 maximum",
                },
            },
            {},
            omnillm.ContextWindowExceededError,
            False,
        ),
        (
            400,
            {
                "error": {
                    "message": "blocked",
                    "code": "content_filter",
                    "innererror": {"code": "ResponsibleAIPolicyViolation"},
                }
            },
            {},
            omnillm.ContentPolicyError,
            False,
        ),
        (
            429,
            {"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}},
            {},
            omnillm.RateLimitError,
            False,
        ),
        (
            529,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            {},
            omnillm.OverloadedError,
            True,
        ),
        (
            503,
            {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}},
            {},
            omnillm.OverloadedError,
            True,
        ),
        (502, b"<html>bad gateway</html>", {"content-type": "text/html"}, omnillm.ServerError, True),
        (504, {"type": "error", "error": {"type": "timeout_error", "message": "slow"}}, {}, omnillm.TimeoutError, True),
        (
            400,
            {"message": "Too many input tokens"},
            {"x-amzn-ErrorType": "ValidationException:http://internal"},
            omnillm.ContextWindowExceededError,
            False,
        ),
        (
            429,
            {"message": "Too many requests"},
            {"x-amzn-ErrorType": "ThrottlingException"},
            omnillm.RateLimitError,
            True,
        ),
        (424, {"message": "model failed"}, {"x-amzn-ErrorType": "ModelErrorException"}, omnillm.ServerError, True),
        (500, {"error": {"message": "boom"}}, {"x-should-retry": "false"}, omnillm.ServerError, False),
    ],
)
def test_status_and_body_shapes(
    status: int, body: Any, headers: Dict[str, str], cls: Type[omnillm.ProviderError], retryable: bool
) -> None:
    error = error_from_response(_response(status, body, headers), provider="p")
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.status == status


def test_retry_after_from_headers_and_google_retry_info() -> None:
    ms = error_from_response(_response(429, {"error": {"message": "slow down"}}, {"retry-after-ms": "1500"}))
    assert ms.retry_after == pytest.approx(1.5)
    seconds = error_from_response(_response(429, {"error": {"message": "slow down"}}, {"retry-after": "7"}))
    assert seconds.retry_after == 7
    google = {
        "error": {
            "code": 429,
            "message": "exhausted",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34.4s"}],
        }
    }
    assert error_from_response(_response(429, google)).retry_after == pytest.approx(34.4)


def test_request_id_from_headers_or_body() -> None:
    from_header = error_from_response(_response(500, {"error": {"message": "x"}}, {"x-request-id": "req_123"}))
    assert from_header.request_id == "req_123" and "req_123" in str(from_header)
    body = {"type": "error", "error": {"type": "api_error", "message": "x"}, "request_id": "req_body"}
    assert error_from_response(_response(500, body)).request_id == "req_body"


def test_echoed_secrets_are_scrubbed() -> None:
    secret = "sk-proj-CANARY0123456789"
    body = {"error": {"message": f"Incorrect API key provided: {secret}.", "code": "invalid_api_key"}}
    error = error_from_response(_response(401, body), provider="openai", secrets=[secret])
    assert secret not in str(error) and secret not in (error.provider_message or "")
    assert "Incorrect API key" in str(error)


# 2025-06-15T15:06:40Z
_WALL = 1_750_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-ratelimit-reset-requests": "6s"}, 6.0),
        ({"x-ratelimit-reset-tokens": "1m0.5s"}, 60.5),
        # Several windows, none said to be exhausted: the earliest one.
        ({"x-ratelimit-reset-requests": "20ms", "x-ratelimit-reset-tokens": "6m0s"}, 0.02),
        # The exhausted window decides, even when another resets sooner.
        (
            {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "45s",
                "x-ratelimit-remaining-tokens": "900",
                "x-ratelimit-reset-tokens": "1s",
            },
            45.0,
        ),
        ({"anthropic-ratelimit-requests-reset": "2025-06-15T15:07:00Z"}, 20.0),
        ({"anthropic-ratelimit-tokens-reset": "2025-06-15T15:06:50Z"}, 10.0),
        (
            {
                "anthropic-ratelimit-input-tokens-remaining": "0",
                "anthropic-ratelimit-input-tokens-reset": "2025-06-15T15:07:40Z",
                "anthropic-ratelimit-requests-remaining": "10",
                "anthropic-ratelimit-requests-reset": "2025-06-15T15:06:41Z",
            },
            60.0,
        ),
        # A reset in the past means no wait; a malformed one counts as absent.
        ({"anthropic-ratelimit-requests-reset": "2025-06-15T15:00:00Z"}, 0.0),
        ({"x-ratelimit-reset-requests": "soon"}, None),
        # retry-after / retry-after-ms win over the reset headers.
        ({"retry-after": "3", "x-ratelimit-reset-requests": "6s"}, 3.0),
        ({"retry-after-ms": "250", "anthropic-ratelimit-requests-reset": "2025-06-15T15:07:00Z"}, 0.25),
    ],
)
def test_rate_limit_retry_after_from_reset_headers(headers: Dict[str, str], expected: Optional[float]) -> None:
    body = {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}
    error = error_from_response(_response(429, body, headers), provider="openai", now_wall=lambda: _WALL)
    assert isinstance(error, omnillm.RateLimitError)
    assert error.retry_after == (pytest.approx(expected) if expected is not None else None)


def test_reset_headers_do_not_give_other_errors_a_delay() -> None:
    # A 500 carries the usual rate-limit headers of a successful answer: they are no retry advice.
    error = error_from_response(
        _response(500, {"error": {"message": "boom"}}, {"x-ratelimit-reset-requests": "6s"}),
        now_wall=lambda: _WALL,
    )
    assert isinstance(error, omnillm.ServerError) and error.retry_after is None


def test_google_retry_info_wins_over_reset_headers() -> None:
    body = {
        "error": {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "message": "quota",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}],
        }
    }
    error = error_from_response(_response(429, body, {"x-ratelimit-reset-requests": "1s"}), now_wall=lambda: _WALL)
    assert error.retry_after == 7.0


def test_attribute_fills_provider_and_request_id_once() -> None:
    error = omnillm.ConnectionError("could not connect to http://x/v1 (NewConnectionError)")
    assert error.provider is None and str(error) == "could not connect to http://x/v1 (NewConnectionError)"
    error.attribute("openai", "req_1")
    assert (error.provider, error.request_id) == ("openai", "req_1")
    assert str(error) == "openai: could not connect to http://x/v1 (NewConnectionError) (request id req_1)"
    error.attribute("anthropic", "req_2")  # already known: kept
    assert error.provider == "openai" and str(error).count("openai") == 1
