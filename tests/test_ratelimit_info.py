"""Rate-limit and Retry-After header parsing for OpenAI- and Anthropic-style responses."""

from __future__ import annotations

import email.utils
import math
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnillm.http import Headers
from omnillm.ratelimit_info import (
    RateLimitInfo,
    parse_duration,
    parse_rate_limit_headers,
    parse_retry_after,
    parse_rfc3339,
)

NOW = datetime(2026, 12, 1, 18, 0, 0, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0s", 0.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("150us", 0.00015),
        ("7m12.345s", 432.345),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "1x", "1s2", "-1s", "abc", "1 s", "nan", "inf"])
def test_malformed_durations_are_none(text: str) -> None:
    assert parse_duration(text) is None


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999))
def test_duration_parts_add_up(h: int, m: int, s: int, ms: int) -> None:
    assert parse_duration(f"{h}h{m}m{s}s{ms}ms") == pytest.approx(h * 3600 + m * 60 + s + ms / 1000)


def test_rfc3339_timestamps() -> None:
    assert parse_rfc3339("2026-12-01T18:00:00Z") == NOW
    assert parse_rfc3339("2026-12-01T19:00:30+01:00") == NOW + 30
    assert parse_rfc3339("2026-12-01T18:00:00.250Z") == pytest.approx(NOW + 0.25)
    assert parse_rfc3339("2026-12-01 18:00:00z") == NOW
    assert parse_rfc3339("2026-13-01T18:00:00Z") is None
    assert parse_rfc3339("yesterday") is None
    assert parse_rfc3339("2026-12-01T18:00:00") is None  # RFC 3339 requires an offset


def test_openai_headers() -> None:
    headers = Headers(
        {
            "X-RateLimit-Limit-Requests": "10000",
            "x-ratelimit-remaining-requests": "9999",
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-limit-tokens": "2000000",
            "x-ratelimit-remaining-tokens": "1999456",
            "x-ratelimit-reset-tokens": "16ms",
        }
    )
    info = parse_rate_limit_headers(headers, now_wall=NOW)
    assert info == RateLimitInfo(
        limit_requests=10000,
        remaining_requests=9999,
        reset_requests_s=pytest.approx(0.006),
        limit_tokens=2000000,
        remaining_tokens=1999456,
        reset_tokens_s=pytest.approx(0.016),
    )


def test_anthropic_headers_turn_reset_times_into_seconds() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-12-01T18:00:12Z",
        "anthropic-ratelimit-tokens-limit": "80000",
        "anthropic-ratelimit-tokens-remaining": "12000",
        "anthropic-ratelimit-tokens-reset": "2026-12-01T18:00:45Z",
        "anthropic-ratelimit-input-tokens-limit": "40000",
        "anthropic-ratelimit-input-tokens-remaining": "1000",
    }
    info = parse_rate_limit_headers(headers, now_wall=NOW)
    assert info == RateLimitInfo(50, 0, 12.0, 80000, 12000, 45.0)


def test_anthropic_input_tokens_stand_in_when_no_combined_headers() -> None:
    headers = Headers(
        [
            ("Anthropic-RateLimit-Input-Tokens-Limit", "40000"),
            ("anthropic-ratelimit-input-tokens-remaining", "39000"),
            ("anthropic-ratelimit-input-tokens-reset", "2026-12-01T18:01:00Z"),
        ]
    )
    info = parse_rate_limit_headers(headers, now_wall=NOW)
    assert info is not None
    assert (info.limit_tokens, info.remaining_tokens, info.reset_tokens_s) == (40000, 39000, 60.0)
    assert info.remaining_requests is None


def test_a_reset_in_the_past_is_zero_seconds() -> None:
    headers = {
        "anthropic-ratelimit-requests-remaining": "3",
        "anthropic-ratelimit-requests-reset": "2026-12-01T17:59:00Z",
    }
    info = parse_rate_limit_headers(headers, now_wall=NOW)
    assert info is not None and info.reset_requests_s == 0.0


def test_no_rate_limit_headers_gives_none() -> None:
    assert parse_rate_limit_headers({"content-type": "application/json"}, now_wall=NOW) is None
    assert parse_rate_limit_headers(Headers(), now_wall=NOW) is None


def test_malformed_values_are_dropped_not_raised() -> None:
    headers = {
        "x-ratelimit-limit-requests": "lots",
        "x-ratelimit-remaining-requests": "-3",
        "x-ratelimit-reset-requests": "soon",
        "x-ratelimit-remaining-tokens": "120.0",
    }
    info = parse_rate_limit_headers(headers, now_wall=NOW)
    assert info == RateLimitInfo(remaining_tokens=120)


def test_mapping_lookup_is_case_insensitive() -> None:
    info = parse_rate_limit_headers({"X-RateLimit-Remaining-Requests": "7"}, now_wall=NOW)
    assert info is not None and info.remaining_requests == 7


def test_retry_after_ms_wins() -> None:
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "30"}, NOW) == 1.5


def test_retry_after_seconds_and_fractions() -> None:
    assert parse_retry_after({"Retry-After": "30"}, NOW) == 30.0
    assert parse_retry_after(Headers({"retry-after": "0.25"}), NOW) == 0.25
    assert parse_retry_after({"retry-after": "0"}, NOW) == 0.0


def test_retry_after_http_date() -> None:
    date = email.utils.formatdate(NOW + 90, usegmt=True)
    assert parse_retry_after({"retry-after": date}, NOW) == pytest.approx(90.0)
    past = email.utils.formatdate(NOW - 90, usegmt=True)
    assert parse_retry_after({"retry-after": past}, NOW) == 0.0


def test_retry_after_fixed_http_date() -> None:
    assert parse_retry_after({"retry-after": "Tue, 01 Dec 2026 18:02:00 GMT"}, NOW) == 120.0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"retry-after": "later"},
        {"retry-after": "-5"},
        {"retry-after": "inf"},
        {"retry-after": "nan"},
        {"retry-after-ms": "soon"},
        {"retry-after-ms": "-1"},
    ],
)
def test_unusable_retry_after_is_none(headers: dict) -> None:
    assert parse_retry_after(headers, NOW) is None


def test_a_retry_after_too_large_for_a_float_is_infinite() -> None:
    assert parse_retry_after({"retry-after": "1e400"}, NOW) == math.inf
    assert parse_retry_after({"retry-after-ms": "9" * 400}, NOW) == math.inf
    assert parse_retry_after({"retry-after": "Infinity"}, NOW) is None


def test_bad_retry_after_ms_falls_back_to_retry_after() -> None:
    assert parse_retry_after({"retry-after-ms": "nan", "retry-after": "4"}, NOW) == 4.0


def test_retry_after_uses_wall_clock_when_not_given() -> None:
    far = email.utils.formatdate(4102444800, usegmt=True)  # 2100-01-01
    value = parse_retry_after({"retry-after": far})
    assert value is not None and value > 0 and math.isfinite(value)


def test_empty_property() -> None:
    assert RateLimitInfo().empty
    assert not RateLimitInfo(remaining_tokens=0).empty
