"""Cancellation reaches the socket: before the response headers, while a body is read, mid-stream.

`Hold` is a mock reply that keeps the provider from sending anything (not even the
status line) until the test releases it, as a provider does that sends its headers only
when generation ends. A helper thread cancels once the request is held. The tests then
check the order of events, not a duration: the call must have raised `CancelledError`
while the answer was still held. Without an abort of the header wait the call could
only return after the hold ended.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator

import pytest

import omnillm
from omnillm import LlmRequest, Message
from omnillm.client import Client
from omnillm.gateway import CancellationToken, Gateway, KeyConfig, Price
from omnillm.http import TransportRequest
from omnillm.testing import Fault, MockProvider, MockReply
from omnillm.transport import Timeout
from omnillm.transport.requests_transport import RequestsTransport
from omnillm.transport.urllib3_transport import Urllib3Transport

HOLD_S = 10.0  # the longest a hold lasts if the test never releases it
LIMIT = Timeout(connect=5.0, read=HOLD_S * 3)  # longer than the hold: only a cancel ends the wait early
REQUEST = LlmRequest(model="m-1", messages=[Message.user("hello")], max_output_tokens=50)


@pytest.fixture()
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="Bonjour tout le monde, comment allez-vous ?"), chunk_chars=4) as m:
        yield m


class Hold:
    """A mock reply source that holds the answer, before any byte of it is sent, until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()

    def __call__(self, recorded: Any, decoded: Any) -> MockReply:
        self.entered.set()
        self.release.wait(HOLD_S)
        self.done.set()
        return MockReply(text="too late")

    def cancel_when_held(self, token: CancellationToken) -> None:
        def run() -> None:
            self.entered.wait(HOLD_S)
            token.cancel("test")

        threading.Thread(target=run, daemon=True).start()

    def assert_still_held(self) -> None:
        held = not self.done.is_set()
        self.release.set()
        assert held, "the call returned only after the provider sent its answer"


def _cancel_when_received(mock: MockProvider, token: CancellationToken, count: int = 1) -> None:
    """Cancel ``token`` once the mock has recorded ``count`` requests (the request is then in flight)."""

    def run() -> None:
        received = threading.Event()
        while not received.wait(0.005):
            if len(mock.requests) >= count:
                received.set()
        token.cancel("test")

    threading.Thread(target=run, daemon=True).start()


def _client(mock: MockProvider, **kw: object) -> Client:
    return Client("openai", api_key="sk-test", base_url=mock.base_url + "/v1", environ={}, **kw)  # type: ignore[arg-type]


def test_execute_cancelled_while_waiting_for_headers(mock: MockProvider) -> None:
    hold = Hold()
    mock.queue(hold)
    token = CancellationToken()
    with _client(mock) as client:
        hold.cancel_when_held(token)
        with pytest.raises(omnillm.CancelledError):
            client.execute(REQUEST, cancel=token, timeout=LIMIT)
        hold.assert_still_held()
        # The aborted connection was discarded, not pooled: the next call opens a new one and works.
        assert client.call(REQUEST).text == "Bonjour tout le monde, comment allez-vous ?"
        assert mock.connections_opened == 2


def test_call_and_call_api_take_a_cancel_token(mock: MockProvider) -> None:
    with _client(mock) as client:
        for send in (client.call, client.call_api):
            hold = Hold()
            mock.queue(hold)
            token = CancellationToken()
            hold.cancel_when_held(token)
            with pytest.raises(omnillm.CancelledError):
                send(REQUEST, cancel=token, timeout=LIMIT)
            hold.assert_still_held()


def test_cancel_before_sending_sends_nothing(mock: MockProvider) -> None:
    token = CancellationToken()
    token.cancel()
    with _client(mock) as client, pytest.raises(omnillm.CancelledError):
        client.execute(REQUEST, cancel=token)
    assert mock.requests == []


def test_uncancelled_token_changes_nothing_and_keeps_the_connection(mock: MockProvider) -> None:
    token = CancellationToken()
    with _client(mock) as client:
        for _ in range(3):
            assert client.execute(REQUEST, cancel=token).status == 200
            with client.stream(REQUEST, cancel=token) as stream:
                assert "".join(getattr(e, "text", "") for e in stream).startswith("Bonjour")
        # A late cancel must not shut a connection that went back to the pool.
        token.cancel()
        assert client.call(REQUEST).text.startswith("Bonjour")
    assert mock.connections_opened == 1


def test_stream_cancelled_while_waiting_for_headers(mock: MockProvider) -> None:
    hold = Hold()
    mock.queue(hold)
    token = CancellationToken()
    with _client(mock) as client:
        hold.cancel_when_held(token)
        with pytest.raises(omnillm.CancelledError):
            client.stream(REQUEST, cancel=token, timeout=LIMIT)
        hold.assert_still_held()
        assert client.call(REQUEST).text.startswith("Bonjour")


def test_stream_cancelled_mid_body(mock: MockProvider) -> None:
    # Two bytes every second after the head: the stream cannot end on its own in time.
    mock.add_fault(Fault(trickle=(2, 1.0), times=1))
    token = CancellationToken()
    with _client(mock) as client:
        stream = client.stream(REQUEST, cancel=token, timeout=LIMIT)
        assert stream.status == 200
        canceller = threading.Thread(target=token.cancel)
        canceller.start()
        with pytest.raises(omnillm.CancelledError):
            for _ in stream:
                pass
        canceller.join()
        assert not stream.completed
        assert client.call(REQUEST).text.startswith("Bonjour")


def test_non_streamed_body_cancelled_mid_read(mock: MockProvider) -> None:
    mock.add_fault(Fault(trickle=(2, 1.0), times=1))
    token = CancellationToken()
    transport = Urllib3Transport()
    request = TransportRequest("GET", mock.base_url + "/v1/models")
    try:
        _cancel_when_received(mock, token)
        with pytest.raises(omnillm.CancelledError):
            transport.send(request, cancel=token, timeout=LIMIT)
    finally:
        transport.close()


def test_gateway_call_cancelled_while_waiting_for_headers(mock: MockProvider) -> None:
    hold = Hold()
    mock.queue(hold)
    token = CancellationToken()
    keys = [KeyConfig("openai", "sk-a", label="a", base_url=mock.base_url + "/v1")]
    with Gateway(keys, budget_limit_usd=1.0, prices={"m-1": Price.usd(1.0, 2.0)}) as gateway:
        hold.cancel_when_held(token)
        with pytest.raises(omnillm.CancelledError):
            gateway.call(REQUEST, cancel=token, timeout=LIMIT.read)
        hold.assert_still_held()
        status = gateway.pool_status()
        assert status.budget is not None and status.budget["reserved_micros"] == 0
        assert status.keys[0].in_flight == 0
        assert gateway.call(REQUEST).text.startswith("Bonjour")


def test_gateway_stream_cancelled_while_waiting_for_headers(mock: MockProvider) -> None:
    hold = Hold()
    mock.queue(hold)
    token = CancellationToken()
    keys = [KeyConfig("openai", "sk-a", label="a", base_url=mock.base_url + "/v1")]
    with Gateway(keys, budget_limit_usd=1.0, prices={"m-1": Price.usd(1.0, 2.0)}) as gateway:
        hold.cancel_when_held(token)
        with pytest.raises(omnillm.CancelledError), gateway.stream(REQUEST, cancel=token, timeout=LIMIT.read) as stream:
            list(stream)
        hold.assert_still_held()


def test_requests_transport_cancels_the_body_read(mock: MockProvider) -> None:
    """The documented limit: requests cannot abort the wait for headers, but it does abort the body."""
    requests = pytest.importorskip("requests")
    mock.add_fault(Fault(trickle=(2, 1.0), times=1))
    token = CancellationToken()
    with requests.Session() as session:
        client = Client("openai", api_key="sk-test", base_url=mock.base_url + "/v1", environ={}, session=session)
        assert isinstance(client.transport, RequestsTransport)
        _cancel_when_received(mock, token)
        with pytest.raises(omnillm.CancelledError):
            client.execute(REQUEST, cancel=token, timeout=LIMIT)


class _OldStyleTransport:
    """A user transport written before ``cancel`` existed: ``send(request, *, stream, timeout)``."""

    def __init__(self) -> None:
        self.inner = Urllib3Transport()
        self.streamed: list = []

    def send(self, request: TransportRequest, *, stream: bool = False, timeout: Any = None) -> Any:
        self.streamed.append(stream)
        return self.inner.send(request, stream=stream, timeout=timeout)

    def close(self) -> None:
        self.inner.close()


def test_a_transport_without_cancel_still_works_with_a_token(mock: MockProvider) -> None:
    transport = _OldStyleTransport()
    client = Client("openai", api_key="sk-test", base_url=mock.base_url + "/v1", environ={}, transport=transport)
    assert client.execute(REQUEST, cancel=CancellationToken()).status == 200
    assert client.execute(REQUEST).status == 200
    # With a token the body is read as a stream, so at least the body read can be interrupted.
    assert transport.streamed == [True, False]
    mock.add_fault(Fault(trickle=(2, 1.0), times=1))
    token = CancellationToken()
    _cancel_when_received(mock, token, count=3)
    with pytest.raises(omnillm.CancelledError):
        client.execute(REQUEST, cancel=token, timeout=LIMIT)
    transport.close()


def test_a_cancel_racing_the_end_of_a_stream_never_raises_in_the_cancelling_thread() -> None:
    """Seen once in a full run: the token fired as the stream's socket was being released,
    urllib3 refused the shutdown (ValueError) and ``token.cancel()`` raised it. The abort
    now falls back to closing the response."""
    from omnillm.transport.urllib3_transport import _aborter

    class Finished:
        closed = False

        def shutdown(self) -> None:
            raise ValueError("Cannot shutdown socket as self._sock_shutdown is not set")

        def close(self) -> None:
            self.closed = True

    response = Finished()
    token = CancellationToken()
    token.on_cancel(_aborter(response))
    token.cancel()  # must not raise
    assert response.closed and token.cancelled
