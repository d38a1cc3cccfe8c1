"""What a provider's response headers say about its rate limits, as a plain value.

The transport layer parses response headers into a `RateLimitInfo` (with
`parse_rate_limit_headers`) and a retry delay (with `parse_retry_after`); the gateway's
limiters use both to tighten their local view of a key. Pure functions: no I/O, and
the wall clock is a parameter.

Formats understood:

* OpenAI (and Azure OpenAI): ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``;
  resets are Go-style durations such as ``1s``, ``6m0s``, ``20ms``, ``1h2m3.5s``.
* Anthropic: ``anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}``; resets are
  RFC 3339 timestamps, turned into seconds from ``now_wall``. When the combined
  ``tokens`` headers are absent, the input-token headers stand in for them (the input
  limit is the one a request's prompt is checked against before it runs).
* ``retry-after-ms`` (milliseconds, preferred when present) and ``retry-after``
  (seconds, or an HTTP-date); without either, `parse_reset_delay` derives a delay from
  the reset headers above.

Gemini sends no rate-limit headers; its delay is in the error body (``RetryInfo``),
which the error decoder reads. A malformed header value is treated as absent: a
provider's bookkeeping header is advice, and a typo in it must not fail a call that
otherwise succeeded.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Dict, Mapping, Optional, Tuple, Union

from .http import Headers

HeaderSource = Union[Headers, Mapping[str, str]]
"""Anything with a case-insensitive (`Headers`) or lower-case-keyed ``get``."""


@dataclass(frozen=True)
class RateLimitInfo:
    """A provider's rate-limit state after one response; every field may be unknown (None).

    ``limit_*`` is the ceiling of the current window, ``remaining_*`` what is left of it and
    ``reset_*_s`` the seconds until it is fully replenished.
    """

    limit_requests: Optional[int] = None
    remaining_requests: Optional[int] = None
    reset_requests_s: Optional[float] = None
    limit_tokens: Optional[int] = None
    remaining_tokens: Optional[int] = None
    reset_tokens_s: Optional[float] = None

    @property
    def empty(self) -> bool:
        """True when no field is known."""
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)


# Go's time.Duration text form: an optional sign, then number+unit pairs.
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:\d{2})\Z",
)


def parse_duration(text: str) -> Optional[float]:
    """Seconds in a Go-style duration (``6m0s``, ``20ms``, ``1.5s``, ``0``), or None if malformed.

    A bare number is read as seconds, which is what some OpenAI-compatible servers send.
    """
    # Every OpenAI response carries two of these and the same few texts recur ("6ms",
    # "0s"): remember them (bounded; a pure function of the text).
    seconds = _DURATIONS.get(text, _UNSEEN)
    if seconds is _UNSEEN:
        seconds = _parse_duration(text)
        if len(_DURATIONS) >= _DURATIONS_MAX:
            _DURATIONS.clear()
        _DURATIONS[text] = seconds
    return seconds  # type: ignore[return-value]


_UNSEEN = object()
_DURATIONS: Dict[str, object] = {}
_DURATIONS_MAX = 1024


def _parse_duration(text: str) -> Optional[float]:
    value = text.strip()
    if not value:
        return None
    # Only text ending in a digit or a dot can be a finite number: "6ms" skips the
    # float() attempt and the exception it would raise on every OpenAI response.
    if value[-1].isdigit() or value[-1] == ".":
        try:
            bare = float(value)
        except ValueError:
            pass
        else:
            return bare if math.isfinite(bare) and bare >= 0 else None
    single = _DURATION_PART.fullmatch(value)
    if single is not None:  # one number and unit ("6ms", "0s"), what OpenAI sends: one regex pass
        return float(single.group(1)) * _UNIT_SECONDS[single.group(2)]
    position = 0
    total = 0.0
    for match in _DURATION_PART.finditer(value):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(value):
        return None
    return total


def parse_rfc3339(text: str) -> Optional[float]:
    """The POSIX timestamp of an RFC 3339 date-time (``2026-12-01T18:24:00Z``), or None."""
    match = _RFC3339.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = float(match.group(7)) if match.group(7) else 0.0
    zone = match.group(8)
    if zone in ("Z", "z"):
        offset = timedelta(0)
    else:
        sign = -1 if zone[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        # A leap second (:60) is folded into the next second.
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=timezone(offset))
    except ValueError:
        return None
    return moment.timestamp() + fraction + (1 if second == 60 else 0)


def _get(headers: HeaderSource, name: str) -> Optional[str]:
    if isinstance(headers, Headers):
        return headers.get(name)
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _int(headers: HeaderSource, name: str) -> Optional[int]:
    raw = _get(headers, name)
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        try:
            number = float(raw.strip())
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        value = int(number)
    return value if value >= 0 else None


def _openai_reset(headers: HeaderSource, name: str) -> Optional[float]:
    raw = _get(headers, name)
    return None if raw is None else parse_duration(raw)


def _anthropic_reset(headers: HeaderSource, name: str, now_wall: float) -> Optional[float]:
    raw = _get(headers, name)
    if raw is None:
        return None
    moment = parse_rfc3339(raw)
    if moment is None:
        # Some proxies forward a duration instead of a timestamp.
        return parse_duration(raw)
    return max(0.0, moment - now_wall)


def _anthropic_tokens(headers: HeaderSource, now_wall: float) -> Tuple[Optional[int], Optional[int], Optional[float]]:
    for kind in ("tokens", "input-tokens"):
        prefix = f"anthropic-ratelimit-{kind}"
        limit = _int(headers, f"{prefix}-limit")
        remaining = _int(headers, f"{prefix}-remaining")
        reset = _anthropic_reset(headers, f"{prefix}-reset", now_wall)
        if limit is not None or remaining is not None or reset is not None:
            return limit, remaining, reset
    return None, None, None


_FIELDS = tuple(f.name for f in fields(RateLimitInfo))
_NO_VALUES = (None,) * len(_FIELDS)


def parse_rate_limit_headers(headers: HeaderSource, now_wall: Optional[float] = None) -> Optional[RateLimitInfo]:
    """The rate-limit state in OpenAI- or Anthropic-style response headers, or None if there is none.

    ``now_wall`` is the current POSIX time (``time.time()`` when omitted); it turns
    Anthropic's absolute reset times into seconds from now.
    """
    openai = (
        _int(headers, "x-ratelimit-limit-requests"),
        _int(headers, "x-ratelimit-remaining-requests"),
        _openai_reset(headers, "x-ratelimit-reset-requests"),
        _int(headers, "x-ratelimit-limit-tokens"),
        _int(headers, "x-ratelimit-remaining-tokens"),
        _openai_reset(headers, "x-ratelimit-reset-tokens"),
    )
    if openai != _NO_VALUES:
        # In RateLimitInfo's field order: limit, remaining, reset for requests, then tokens.
        # Built without the frozen dataclass's per-field __setattr__ (this runs per response).
        info = object.__new__(RateLimitInfo)
        info.__dict__.update(zip(_FIELDS, openai))
        return info
    wall = time.time() if now_wall is None else now_wall
    limit_tokens, remaining_tokens, reset_tokens = _anthropic_tokens(headers, wall)
    anthropic = RateLimitInfo(
        limit_requests=_int(headers, "anthropic-ratelimit-requests-limit"),
        remaining_requests=_int(headers, "anthropic-ratelimit-requests-remaining"),
        reset_requests_s=_anthropic_reset(headers, "anthropic-ratelimit-requests-reset", wall),
        limit_tokens=limit_tokens,
        remaining_tokens=remaining_tokens,
        reset_tokens_s=reset_tokens,
    )
    return None if anthropic.empty else anthropic


_INFINITY_LITERALS = frozenset({"inf", "+inf", "infinity", "+infinity"})


def _delay(raw: str) -> Optional[float]:
    """A non-negative number of the header, inf for one too large to represent, else None."""
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        return None
    if math.isnan(value) or value < 0:
        return None
    if math.isinf(value):
        return None if text.lower() in _INFINITY_LITERALS else math.inf
    return value


def parse_retry_after(headers: HeaderSource, now_wall: Optional[float] = None) -> Optional[float]:
    """Seconds the provider asked to wait (``retry-after-ms`` first, then ``retry-after``), or None.

    ``retry-after`` may be seconds or an HTTP-date; a date is measured from ``now_wall``
    (``time.time()`` when omitted) and a date in the past means 0. A number too large
    for a float (``1e400``) is ``math.inf``: the server asked for a wait longer than any
    retry should honour (openai-python reads it the same way). Negative, NaN, literal
    infinity and malformed values count as absent.
    """
    raw_ms = _get(headers, "retry-after-ms")
    if raw_ms is not None:
        millis = _delay(raw_ms)
        if millis is not None:
            return millis / 1000.0
    raw = _get(headers, "retry-after")
    if raw is None:
        return None
    seconds = _delay(raw)
    if seconds is not None:
        return seconds
    try:
        moment = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        # RFC 9110 HTTP-dates are always GMT.
        moment = moment.replace(tzinfo=timezone.utc)
    wall = time.time() if now_wall is None else now_wall
    return max(0.0, moment.timestamp() - wall)


_OPENAI_WINDOWS = ("requests", "tokens")
_ANTHROPIC_WINDOWS = ("requests", "tokens", "input-tokens", "output-tokens")


def parse_reset_delay(headers: HeaderSource, now_wall: Optional[float] = None) -> Optional[float]:
    """Seconds until a rate-limit window the provider's reset headers describe frees up, or None.

    The fallback for a 429 without ``retry-after``: OpenAI-style
    ``x-ratelimit-reset-{requests,tokens}`` and Anthropic-style
    ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset``. When some
    windows say ``remaining`` is 0, the longest reset among those (every exhausted window
    must refill); otherwise the shortest reset given (the earliest moment anything frees
    up, a further 429 brings a fresh answer).
    """
    wall = time.time() if now_wall is None else now_wall
    windows = []
    for kind in _OPENAI_WINDOWS:
        reset = _openai_reset(headers, f"x-ratelimit-reset-{kind}")
        if reset is not None:
            windows.append((_int(headers, f"x-ratelimit-remaining-{kind}"), reset))
    for kind in _ANTHROPIC_WINDOWS:
        prefix = f"anthropic-ratelimit-{kind}"
        reset = _anthropic_reset(headers, f"{prefix}-reset", wall)
        if reset is not None:
            windows.append((_int(headers, f"{prefix}-remaining"), reset))
    if not windows:
        return None
    exhausted = [reset for remaining, reset in windows if remaining == 0]
    return max(exhausted) if exhausted else min(reset for _, reset in windows)


__all__ = [
    "RateLimitInfo",
    "parse_rate_limit_headers",
    "parse_reset_delay",
    "parse_retry_after",
    "parse_duration",
    "parse_rfc3339",
]
