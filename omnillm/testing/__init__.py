"""Test tooling for users of omnillm: a mock provider server, fault injection, replay.

Importing this package starts nothing; `MockProvider` starts its server on ``start()``
or when used as a context manager.
"""

from __future__ import annotations

from .mock import MockProvider, MockReply
from .replay import RecordedExchange, ReplayFixture, ReplayMismatchError, ReplayTransport
from .sanitize import (
    DEFAULT_RULES,
    SanitizeRules,
    sanitize_json_value,
    sanitize_transport_request,
    sanitize_transport_response,
)
from .server import Fault, RecordedRequest, Reply

__all__ = [
    "DEFAULT_RULES",
    "Fault",
    "MockProvider",
    "MockReply",
    "RecordedExchange",
    "RecordedRequest",
    "ReplayFixture",
    "ReplayMismatchError",
    "ReplayTransport",
    "Reply",
    "SanitizeRules",
    "sanitize_json_value",
    "sanitize_transport_request",
    "sanitize_transport_response",
]
