"""A pytest plugin with a `MockProvider` fixture.

Enable it in a ``conftest.py``::

    pytest_plugins = ["omnillm.testing.pytest_plugin"]

then ask for ``omnillm_mock`` in a test: a started `MockProvider`, reset before each
test, stopped at the end of the session::

    def test_my_view(omnillm_mock):
        omnillm_mock.queue(MockReply(text="hi"))
        client = Client("openai", api_key="test", base_url=omnillm_mock.base_url + "/v1")
        ...
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .mock import MockProvider


@pytest.fixture(scope="session")
def _omnillm_mock_server() -> Iterator[MockProvider]:
    with MockProvider() as mock:
        yield mock


@pytest.fixture()
def omnillm_mock(_omnillm_mock_server: MockProvider) -> Iterator[MockProvider]:
    """A running `MockProvider`, with recorded requests, queued replies and faults cleared."""
    _omnillm_mock_server.reset()
    yield _omnillm_mock_server
    _omnillm_mock_server.reset()
