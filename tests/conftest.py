"""Fixtures shared by the transport tests."""

from __future__ import annotations

from typing import Iterator, List

import pytest
from raw_server import RawServer


@pytest.fixture
def servers() -> Iterator[List[RawServer]]:
    """A list to put `RawServer` s in; each is closed after the test."""
    made: List[RawServer] = []
    yield made
    for server in made:
        server.close()
