"""Test tooling for users of omnillm: a mock provider server, fault injection, replay.

Importing this package starts nothing; `MockProvider` starts its server on ``start()``
or when used as a context manager.
"""

from __future__ import annotations

from .mock import MockProvider, MockReply
from .server import Fault, RecordedRequest, Reply

__all__ = ["Fault", "MockProvider", "MockReply", "RecordedRequest", "Reply"]
